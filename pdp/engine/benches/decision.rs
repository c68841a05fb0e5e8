//! Decision cost: the same policy logic natively in Rust, in Cedar, and as the Rust SDK
//! component in the engine (warm and fresh instance), plus artifact load and compile times and
//! the cost of the Python and JavaScript components. Run with
//! `scripts/build-policies && cargo bench -p umagate-engine --features bench`.
//!
//! The logic: permit `view` when the requesting party's verified email is in the owner's shared
//! domain. Every contender starts from the same [`PolicyInput`], so conversions count.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "benchmark code"
)]
#![allow(missing_docs, reason = "criterion macros generate undocumented items")]

use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};

use cedar_policy::{
    Authorizer, Context, Entities, Entity, EntityUid, PolicySet, Request, RestrictedExpression,
};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use umagate_core::policy::{Outcome, PolicyInput};
use umagate_engine::{Limits, PolicyEngine};

fn input() -> PolicyInput {
    serde_json::from_value(serde_json::json!({
        "resource": {"id": "album-1", "owner": "alice", "scopes": ["view", "comment", "delete"],
                     "attributes": {"share-domain": "example.com"}},
        "scopes": ["view"],
        "party": {"subject": "bob", "claims": {"email": "bob@example.com", "email_verified": true}},
        "context": {"now": 1785398400, "client_id": "demo-client"}
    }))
    .unwrap()
}

fn component(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/policies")
        .join(name);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/build-policies)", path.display()))
}

/// The logic written directly in Rust.
fn native(input: &PolicyInput) -> bool {
    let claims = &input.party.claims;
    let verified = claims.get("email_verified") == Some(&serde_json::Value::Bool(true));
    let domain = input
        .resource
        .attributes
        .get("share-domain")
        .and_then(|d| d.as_str());
    let email_domain = claims
        .get("email")
        .and_then(|e| e.as_str())
        .and_then(|e| e.rsplit_once('@'))
        .map(|(_, d)| d);
    verified
        && domain.is_some()
        && email_domain.is_some_and(|d| Some(d.to_ascii_lowercase().as_str()) == domain)
        && input.scopes.iter().all(|s| s == "view")
}

/// The owner's policy in Cedar (a domain literal, as an owner would write it).
const CEDAR_POLICY: &str = r#"permit(principal, action == Action::"view", resource)
when { principal.email_verified && principal.email like "*@example.com" };"#;

fn cedar(policies: &PolicySet, input: &PolicyInput) -> bool {
    let principal = EntityUid::from_str(&format!(
        "User::{:?}",
        input.party.subject.as_deref().unwrap_or("")
    ))
    .unwrap();
    let resource = EntityUid::from_str(&format!("Resource::{:?}", input.resource.id)).unwrap();
    let action = EntityUid::from_str(r#"Action::"view""#).unwrap();
    let claims = &input.party.claims;
    let attrs = [
        (
            "email".to_string(),
            RestrictedExpression::new_string(claims["email"].as_str().unwrap_or("").into()),
        ),
        (
            "email_verified".to_string(),
            RestrictedExpression::new_bool(claims["email_verified"] == true),
        ),
    ];
    let user = Entity::new(
        principal.clone(),
        attrs.into_iter().collect(),
        Default::default(),
    )
    .unwrap();
    let entities =
        Entities::from_entities([user, Entity::with_uid(resource.clone())], None).unwrap();
    let request = Request::new(principal, action, resource, Context::empty(), None).unwrap();
    Authorizer::new()
        .is_authorized(&request, policies, &entities)
        .decision()
        == cedar_policy::Decision::Allow
}

fn decisions(c: &mut Criterion) {
    let input = input();
    let policies = PolicySet::from_str(CEDAR_POLICY).unwrap();
    assert!(
        native(&input) && cedar(&policies, &input),
        "contenders disagree"
    );
    let engine = PolicyEngine::new(Limits::default()).unwrap();
    let rust = engine.load(&component("rust-email-domain.wasm")).unwrap();
    let permits =
        |e: &umagate_engine::Evaluation| e.decision.scopes.get("view") == Some(&Outcome::Permit);
    assert!(
        permits(&engine.evaluate(&rust, &input)),
        "component disagrees"
    );

    let mut group = c.benchmark_group("decision");
    group.bench_function("native_rust", |b| {
        b.iter(|| native(std::hint::black_box(&input)))
    });
    group.bench_function("cedar", |b| {
        b.iter(|| cedar(&policies, std::hint::black_box(&input)))
    });
    let mut warm = engine.warm(&rust);
    group.bench_function("wasm_rust_sdk_warm", |b| {
        b.iter(|| warm.evaluate(std::hint::black_box(&input)))
    });
    group.bench_function("wasm_rust_sdk_fresh", |b| {
        b.iter(|| engine.evaluate(&rust, std::hint::black_box(&input)))
    });
    // The host's own cost: a hand-written policy that only echoes the scopes back.
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/hostile/permit-all.wat");
    let floor = engine.load(&std::fs::read(fixture).unwrap()).unwrap();
    let mut floor_warm = engine.warm(&floor);
    group.bench_function("wasm_wat_permit_all_warm", |b| {
        b.iter(|| floor_warm.evaluate(std::hint::black_box(&input)))
    });
    group.finish();
}

fn loading(c: &mut Criterion) {
    let bytes = component("rust-email-domain.wasm");
    let dir = std::env::temp_dir().join(format!("umagate-bench-cache-{}", std::process::id()));
    PolicyEngine::with_cache_dir(Limits::default(), dir.clone())
        .unwrap()
        .load(&bytes)
        .unwrap();
    let mut group = c.benchmark_group("load");
    group.sample_size(20);
    group.bench_function("cached_artifact", |b| {
        b.iter_batched(
            || PolicyEngine::with_cache_dir(Limits::default(), dir.clone()).unwrap(),
            |engine| assert!(engine.load(&bytes).unwrap().info().cached),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("compile_rust_sdk_component", |b| {
        b.iter_batched(
            || PolicyEngine::new(Limits::default()).unwrap(),
            |engine| engine.load(&bytes).unwrap(),
            BatchSize::PerIteration,
        )
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The interpreter-based components: too slow to compile for criterion's sampling, so one
/// compile each, then criterion for the fresh-instance decision.
fn interpreters(c: &mut Criterion) {
    let input = input();
    let limits = Limits {
        timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let engine = PolicyEngine::new(limits).unwrap();
    let mut group = c.benchmark_group("interpreters");
    group.sample_size(20);
    for name in [
        "python-email-domain.wasm",
        "js-email-domain.wasm",
        "c-email-domain.wasm",
    ] {
        let bytes = component(name);
        let started = Instant::now();
        let policy = engine.load(&bytes).unwrap();
        println!(
            "{name}: {} bytes, compiled in {:.0} ms",
            bytes.len(),
            started.elapsed().as_secs_f64() * 1e3
        );
        assert_eq!(engine.evaluate(&policy, &input).failure, None);
        group.bench_function(format!("{name}_fresh"), |b| {
            b.iter(|| engine.evaluate(&policy, &input))
        });
    }
    group.finish();
}

criterion_group!(benches, decisions, loading, interpreters);
criterion_main!(benches);
