//! `umagate policy` as a policy author uses it, on the example policies built from source
//! (`scripts/build-policies`) and on the engine's fixtures.

use std::path::PathBuf;

use crate::cli::umagate;

fn repo(path: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .display()
        .to_string()
}

/// A component built by `scripts/build-policies`; missing means the set-up was skipped.
fn built(name: &str) -> String {
    let path = repo(&format!("target/policies/{name}"));
    assert!(
        std::path::Path::new(&path).exists(),
        "{path} is missing: run scripts/build-policies (scripts/test does)"
    );
    path
}

const EMAIL_DOMAIN_CASES: &str = "policies-sdk/examples/email-domain.cases.json";

#[test]
fn email_domain_policy_passes_its_table_in_every_language() {
    for lang in ["rust", "c", "python", "js"] {
        let component = built(&format!("{lang}-email-domain.wasm"));
        let (code, out, err) = umagate(&["policy", "test", &component, &repo(EMAIL_DOMAIN_CASES)]);
        assert_eq!(code, 0, "{lang}:\n{out}{err}");
        assert!(out.ends_with("10 passed, 0 failed\n"), "{lang}:\n{out}");
    }
}

#[test]
fn rust_sdk_examples_pass_their_tables() {
    for name in ["business-hours", "approval-threshold"] {
        let component = built(&format!("rust-{name}.wasm"));
        let cases = repo(&format!("policies-sdk/examples/{name}/cases.json"));
        let (code, out, err) = umagate(&["policy", "test", &component, &cases]);
        assert_eq!(code, 0, "{name}:\n{out}{err}");
        assert!(out.contains(" passed, 0 failed"), "{name}:\n{out}");
    }
}

#[test]
fn wat_examples_pass_their_tables() {
    for name in ["owner-only", "demo-photos"] {
        let (code, out, err) = umagate(&[
            "policy",
            "test",
            &repo(&format!("policies-sdk/examples/wat/{name}.wat")),
            &repo(&format!("policies-sdk/examples/wat/{name}.cases.json")),
        ]);
        assert_eq!(code, 0, "{name}: {out}{err}");
        assert!(out.ends_with("5 passed, 0 failed\n"), "{name}: {out}");
    }
}

#[test]
fn a_wrong_expectation_fails_with_a_readable_diff() {
    let cases = r#"{"defaults": {"resource": {"id":"d","owner":"alice","scopes":["read"]},
                                 "context": {"now":0,"client_id":"c"}},
                    "cases": [{"name":"bob reads","input":{"scopes":["read"],"party":{"subject":"bob"}},
                               "expect":{"read":"permit"}}]}"#;
    let path = std::env::temp_dir().join(format!("umagate-cases-{}.json", std::process::id()));
    std::fs::write(&path, cases).unwrap();
    let (code, out, _) = umagate(&[
        "policy",
        "test",
        &repo("policies-sdk/examples/wat/owner-only.wat"),
        path.to_str().unwrap(),
    ]);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL  bob reads"), "{out}");
    assert!(
        out.contains("scope `read`: expected permit, got deny (not the owner)"),
        "{out}"
    );
    assert!(out.ends_with("0 passed, 1 failed\n"), "{out}");
}

#[test]
fn check_reports_imports_size_and_compile_time() {
    let (code, out, err) = umagate(&["policy", "check", &built("python-email-domain.wasm")]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("matches umagate:policy/policy@0.2.0"), "{out}");
    assert!(out.contains("wasi:io/"), "python imports WASI: {out}");
    assert!(out.contains("wasi:         sealed"), "{out}");
    assert!(out.contains("compile time:"), "{out}");
    let (code, out, _) = umagate(&["policy", "check", &built("c-email-domain.wasm")]);
    assert_eq!(code, 0);
    assert!(
        !out.contains("wasi:"),
        "C policy must import no WASI: {out}"
    );
}

#[test]
fn eval_prints_the_decision_explanation_and_time() {
    let input = r#"{"resource":{"id":"d","owner":"alice","scopes":["read","write"]},
                    "scopes":["read","write"],"party":{"subject":"alice"},
                    "context":{"now":0,"client_id":"c"}}"#;
    let path = std::env::temp_dir().join(format!("umagate-input-{}.json", std::process::id()));
    std::fs::write(&path, input).unwrap();
    let (code, out, err) = umagate(&[
        "policy",
        "eval",
        &repo("policies-sdk/examples/wat/owner-only.wat"),
        "--input",
        path.to_str().unwrap(),
    ]);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("read: permit\nwrite: permit\nexplanation: owner-only\n"),
        "{out}"
    );
    assert!(out.contains("time: "), "{out}");
}

#[test]
fn hostile_policies_are_reported_not_crashed_on() {
    let (code, _, err) = umagate(&[
        "policy",
        "check",
        &repo("pdp/engine/fixtures/hostile/forbidden-import.wat"),
    ]);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("imports `evil:net/socket@0.1.0`"), "{err}");
    let cases = repo("policies-sdk/examples/wat/owner-only.cases.json");
    let (code, out, _) = umagate(&[
        "policy",
        "test",
        &repo("pdp/engine/fixtures/hostile/infinite-loop.wat"),
        &cases,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("unexpected failure: policy exceeded its time limit"),
        "{out}"
    );
}

#[test]
fn bad_input_gets_one_line_and_exit_2() {
    let cases = repo("policies-sdk/examples/wat/owner-only.cases.json");
    let wat = repo("policies-sdk/examples/wat/owner-only.wat");
    for args in [
        vec!["policy", "check", "/nonexistent/policy.wasm"],
        vec!["policy", "check", cases.as_str()],
        vec!["policy", "test", wat.as_str(), wat.as_str()],
        vec!["policy", "eval", wat.as_str(), "--input", cases.as_str()],
    ] {
        let (code, out, err) = umagate(&args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
    }
}
