//! The command line as an operator uses it.

use std::process::Command;

/// Runs the binary; returns (exit code, stdout, stderr).
pub(crate) fn umagate(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_umagate"))
        .args(args)
        .output()
        .expect("run umagate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn path_prints_the_canonical_target() {
    let (code, out, _) = umagate(&["path", "/albums/%61/./x/../photos//1?size=big"]);
    assert_eq!(code, 0);
    assert_eq!(out, "/albums/a/photos/1?size=big\n");
}

#[test]
fn path_refuses_traversal_and_encoded_slashes() {
    for target in [
        "/public/..%2fadmin",
        "/../etc/passwd",
        "/user/..;x=1/admin",
        "/a#frag",
    ] {
        let (code, out, err) = umagate(&["path", target]);
        assert_eq!(code, 2, "{target}");
        assert!(out.is_empty(), "{target}");
        assert!(err.starts_with("refused: "), "{target}: {err}");
    }
}

#[test]
fn path_rules_are_selectable() {
    let (code, out, _) = umagate(&["path", "--strip-params", "/user/..;x=1/admin"]);
    assert_eq!((code, out.as_str()), (0, "/admin\n"));
    let (code, _, _) = umagate(&["path", "--reject-empty-segments", "/a//b"]);
    assert_eq!(code, 2);
}

#[test]
fn version_and_help_work() {
    let (code, out, _) = umagate(&["--version"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("umagate "), "{out}");
    let (code, _, err) = umagate(&["no-such-command"]);
    assert_eq!(code, 2);
    assert!(err.contains("unrecognized subcommand"), "{err}");
}

#[test]
fn proxy_refuses_a_bad_configuration_naming_the_key() {
    let path = std::env::temp_dir().join(format!("umagate-proxy-bad-{}.toml", std::process::id()));
    std::fs::write(&path, "[listen]\nhttp = [\"127.0.0.1:0\"]\n[as]\nissuer = \"http://127.0.0.1:1\"\nclient_id = \"p\"\nclient_secret = \"s\"\nbogus = 1\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_umagate"))
        .args(["proxy", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bogus"), "{err}");
}
