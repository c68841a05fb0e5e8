//! The sandbox as an owner's hostile policy meets it: every abnormal end is a deny with the
//! right reason, and the engine keeps serving other evaluations meanwhile.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code fails loudly"
)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use umagate_core::policy::{Outcome, PolicyInput};
use umagate_engine::{Failure, Limits, LoadError, LoadedPolicy, PolicyEngine};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/hostile")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn input(scopes: &[&str]) -> PolicyInput {
    serde_json::from_value(serde_json::json!({
        "resource": {"id": "r1", "owner": "alice", "scopes": ["view", "edit", "delete"],
                     "attributes": {"share-domain": "example.com"}},
        "scopes": scopes,
        "party": {"subject": "bob", "claims": {"email": "bob@example.com", "email_verified": true}},
        "context": {"now": 1785398400, "client_id": "demo-client"}
    }))
    .unwrap()
}

fn engine() -> PolicyEngine {
    PolicyEngine::new(Limits::default()).unwrap()
}

fn load(engine: &PolicyEngine, name: &str) -> LoadedPolicy {
    engine
        .load(&fixture(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Evaluates `name` and checks it denied every scope with `expected`.
fn assert_contained(engine: &PolicyEngine, name: &str, expected: fn(&Failure) -> bool) {
    let policy = load(engine, name);
    let input = input(&["view", "edit"]);
    let eval = engine.evaluate(&policy, &input);
    let failure = eval
        .failure
        .as_ref()
        .unwrap_or_else(|| panic!("{name}: no failure reported"));
    assert!(expected(failure), "{name}: unexpected failure {failure:?}");
    assert_eq!(eval.decision.scopes.len(), 2, "{name}");
    for outcome in eval.decision.scopes.values() {
        assert!(
            matches!(outcome, Outcome::Deny(reason) if *reason == failure.to_string()),
            "{name}: {outcome:?}"
        );
    }
}

#[test]
fn benign_policy_permits() {
    let engine = engine();
    let policy = load(&engine, "permit-all.wat");
    let eval = engine.evaluate(&policy, &input(&["view", "edit"]));
    assert_eq!(eval.failure, None);
    assert!(eval.decision.permits_all(), "{:?}", eval.decision);
    assert_eq!(eval.decision.explanation, "permit-all");
    let eval = engine.evaluate(&policy, &input(&[]));
    assert_eq!(eval.decision.scopes.keys().collect::<Vec<_>>(), [""]);
}

#[test]
fn infinite_loop_times_out() {
    let engine = engine();
    let started = Instant::now();
    assert_contained(&engine, "infinite-loop.wat", |f| *f == Failure::Timeout);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "deadline not enforced"
    );
}

#[test]
fn memory_bomb_hits_the_cap() {
    assert_contained(&engine(), "memory-bomb.wat", |f| *f == Failure::MemoryLimit);
}

#[test]
fn huge_initial_memory_is_refused() {
    // 320 MiB: beyond what the engine reserves per memory, so refused at load.
    let engine = engine();
    let bytes = fixture("huge-initial-memory.wat");
    assert!(matches!(
        engine.load(&bytes),
        Err(LoadError::ExceedsLimits(_))
    ));
    // 94 MiB: loadable, but over the 64 MiB cap, so refused when instantiated.
    let text = String::from_utf8(bytes).unwrap().replace(
        "(memory (export \"memory\") 5000)",
        "(memory (export \"memory\") 1500)",
    );
    let policy = engine.load(text.as_bytes()).unwrap();
    let eval = engine.evaluate(&policy, &input(&["view"]));
    assert_eq!(eval.failure, Some(Failure::MemoryLimit));
    assert!(!eval.decision.permits_all());
}

#[test]
fn deep_recursion_overflows_the_stack() {
    assert_contained(&engine(), "deep-recursion.wat", |f| {
        *f == Failure::StackOverflow
    });
}

#[test]
fn trap_is_a_deny() {
    assert_contained(
        &engine(),
        "trap.wat",
        |f| matches!(f, Failure::Trap(m) if m.contains("unreachable")),
    );
}

#[test]
fn huge_output_is_refused() {
    assert_contained(&engine(), "huge-output.wat", |f| {
        matches!(f, Failure::OutputTooLarge(_))
    });
}

#[test]
fn undecided_or_foreign_scopes_are_invalid_output() {
    assert_contained(
        &engine(),
        "bad-output.wat",
        |f| matches!(f, Failure::InvalidOutput(m) if m.contains("not-requested")),
    );
}

#[test]
fn invalid_utf8_is_invalid_output() {
    assert_contained(&engine(), "invalid-utf8.wat", |f| {
        matches!(f, Failure::InvalidOutput(_))
    });
}

#[test]
fn log_flood_is_capped() {
    let engine = engine();
    let policy = load(&engine, "log-flood.wat");
    let eval = engine.evaluate(&policy, &input(&["view"]));
    // 100 000 host calls may or may not fit in the deadline on a loaded machine; either way the
    // log stays bounded and the decision is the policy's own or a deny.
    assert!(
        matches!(eval.failure, None | Some(Failure::Timeout)),
        "{:?}",
        eval.failure
    );
    assert_eq!(eval.decision.permits_all(), eval.failure.is_none());
    let limits = Limits::default();
    assert!(eval.logs.len() <= limits.max_log_lines);
    assert!(eval.logs.iter().map(|l| l.message.len()).sum::<usize>() <= limits.max_log_bytes);
    assert_eq!(
        eval.logs.len(),
        limits.max_log_bytes / 1024,
        "lines kept until the byte budget ran out"
    );
    assert!(eval.logs_dropped > 0);
}

#[test]
fn forbidden_import_is_refused_at_load() {
    match engine().load(&fixture("forbidden-import.wat")) {
        Err(LoadError::ForbiddenImport(name)) => assert!(!name.starts_with("umagate:"), "{name}"),
        other => panic!("expected ForbiddenImport, got {other:?}"),
    }
}

#[test]
fn not_a_component_is_refused() {
    let engine = engine();
    assert!(
        matches!(engine.load(b"\0asm\x01\0\0\0"), Err(LoadError::Invalid(m)) if m.contains("core module"))
    );
    assert!(matches!(
        engine.load(b"garbage"),
        Err(LoadError::Invalid(_))
    ));
    let small = PolicyEngine::new(Limits {
        max_component_bytes: 100,
        ..Limits::default()
    })
    .unwrap();
    assert!(matches!(
        small.load(&fixture("permit-all.wat")),
        Err(LoadError::TooLarge { .. })
    ));
}

#[test]
fn wrong_world_is_refused() {
    let other_world = r#"(component
      (core module $m (func (export "f") (result i32) i32.const 1))
      (core instance $i (instantiate $m))
      (func (export "decide") (result bool) (canon lift (core func $i "f"))))"#;
    assert!(matches!(
        engine().load(other_world.as_bytes()),
        Err(LoadError::WrongWorld(_))
    ));
}

#[test]
fn invalid_input_is_denied_before_the_policy_runs() {
    let engine = engine();
    let policy = load(&engine, "permit-all.wat");
    let eval = engine.evaluate(&policy, &input(&["view", "not-registered"]));
    assert!(matches!(eval.failure, Some(Failure::InvalidInput(_))));
    assert!(!eval.decision.permits_all());
}

/// A benign evaluation started beside 16 hostile ones still completes, correctly.
#[test]
fn benign_evaluation_completes_beside_sixteen_hostile_ones() {
    let engine = Arc::new(engine());
    let hostile = [
        "infinite-loop.wat",
        "memory-bomb.wat",
        "deep-recursion.wat",
        "huge-output.wat",
    ];
    let policies: Vec<LoadedPolicy> = hostile.iter().map(|n| load(&engine, n)).collect();
    let benign = load(&engine, "permit-all.wat");
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let (engine, policy) = (engine.clone(), policies[i % policies.len()].clone());
            std::thread::spawn(move || engine.evaluate(&policy, &input(&["view"])))
        })
        .collect();
    let eval = engine.evaluate(&benign, &input(&["view", "edit"]));
    assert_eq!(eval.failure, None);
    assert!(eval.decision.permits_all());
    for t in threads {
        let hostile = t.join().unwrap();
        assert!(
            hostile.failure.is_some(),
            "a hostile policy was not contained"
        );
        assert!(!hostile.decision.permits_all());
    }
}

#[test]
fn saturated_engine_denies_instead_of_queueing_forever() {
    let limits = Limits {
        max_concurrent: 1,
        timeout: Duration::from_millis(30),
        ..Limits::default()
    };
    let engine = Arc::new(PolicyEngine::new(limits).unwrap());
    let looping = load(&engine, "infinite-loop.wat");
    let benign = load(&engine, "permit-all.wat");
    let busy = {
        let engine = engine.clone();
        std::thread::spawn(move || engine.evaluate(&looping, &input(&["view"])))
    };
    // Whichever runs second either waits out the first (30 ms) or is refused; never both run.
    let eval = engine.evaluate(&benign, &input(&["view"]));
    let first = busy.join().unwrap();
    assert_eq!(first.failure, Some(Failure::Timeout));
    assert!(
        eval.failure.is_none() || eval.failure == Some(Failure::Overloaded),
        "{:?}",
        eval.failure
    );
}

#[test]
fn compiled_artifacts_are_cached_on_disk_and_verified() {
    let dir = std::env::temp_dir().join(format!("umagate-engine-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let bytes = fixture("permit-all.wat");
    let first = PolicyEngine::with_cache_dir(Limits::default(), dir.clone()).unwrap();
    assert!(!first.load(&bytes).unwrap().info().cached);
    let second = PolicyEngine::with_cache_dir(Limits::default(), dir.clone()).unwrap();
    let policy = second.load(&bytes).unwrap();
    assert!(policy.info().cached, "artifact not reused");
    assert!(
        second
            .evaluate(&policy, &input(&["view"]))
            .decision
            .permits_all()
    );
    // A tampered artifact is not deserialized: it is recompiled.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let mut data = std::fs::read(&path).unwrap();
        let last = data.len() - 1;
        data[last] ^= 0xff;
        std::fs::write(&path, data).unwrap();
    }
    let third = PolicyEngine::with_cache_dir(Limits::default(), dir.clone()).unwrap();
    let policy = third.load(&bytes).unwrap();
    assert!(!policy.info().cached, "tampered artifact was used");
    assert!(
        third
            .evaluate(&policy, &input(&["view"]))
            .decision
            .permits_all()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fresh_instances_share_no_state_but_warm_ones_do() {
    let engine = engine();
    let policy = load(&engine, "stateful.wat");
    for _ in 0..3 {
        assert!(
            engine
                .evaluate(&policy, &input(&["view"]))
                .decision
                .permits_all(),
            "state leaked"
        );
    }
    let mut warm = engine.warm(&policy);
    assert!(warm.evaluate(&input(&["view"])).decision.permits_all());
    assert!(
        !warm.evaluate(&input(&["view"])).decision.permits_all(),
        "warm instance should keep state"
    );
}
