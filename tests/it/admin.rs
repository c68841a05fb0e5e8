//! `umagate admin`: users, clients and keys managed on a store the way an operator does it.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// A temporary database, removed on drop.
struct Db(PathBuf);

impl Db {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("umagate-it-admin-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self(dir)
    }

    fn url(&self) -> String {
        format!("sqlite://{}/umagate.db", self.0.display())
    }

    /// Runs `umagate admin --database-url <db> <args>` with `stdin`; returns (code, stdout, stderr).
    fn admin(&self, args: &[&str], stdin: &str) -> (i32, String, String) {
        let url = self.url();
        let mut child = Command::new(env!("CARGO_BIN_EXE_umagate"))
            .args(["admin", "--database-url", &url])
            .args(args)
            .env_remove("UMAGATE_DATABASE_URL")
            .env_remove("UMAGATE_LISTEN")
            .env_remove("UMAGATE_ISSUER")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run umagate");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The value of `key` in `key  value` output.
fn field<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(key).map(str::trim))
        .unwrap_or_else(|| panic!("no `{key}` in {out}"))
}

#[test]
fn admin_user_add_list_delete() {
    let db = Db::new("users");
    let (code, out, err) = db.admin(
        &[
            "user",
            "add",
            "alice",
            "--email",
            "alice@example.com",
            "--email-verified",
        ],
        "correct horse\n",
    );
    assert_eq!(code, 0, "{err}");
    let subject = field(&out, "subject").to_string();
    assert!(subject.starts_with("u-"), "{out}");
    assert!(!out.contains("correct horse") && !err.contains("correct horse"));

    let (code, _, err) = db.admin(&["user", "add", "alice"], "other\n");
    assert_eq!(code, 1, "a taken username is a failure");
    assert_eq!(err.trim(), "error: username `alice` is taken");
    let (code, _, err) = db.admin(&["user", "add", "bob"], "");
    assert_eq!(code, 2, "no password is bad input: {err}");

    let (code, out, _) = db.admin(&["user", "list"], "");
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("SUBJECT") && lines[1].starts_with(&subject),
        "{out}"
    );
    assert!(
        lines[1].contains("alice@example.com") && lines[1].contains("yes"),
        "{out}"
    );
    assert!(!out.contains("argon2"));

    let (code, out, _) = db.admin(&["user", "delete", "alice"], "");
    assert_eq!(code, 0);
    assert!(out.contains(&subject), "{out}");
    let (code, _, err) = db.admin(&["user", "delete", &subject], "");
    assert_eq!(
        (code, err.trim()),
        (1, format!("error: no user `{subject}`").as_str())
    );
    let (_, out, _) = db.admin(&["user", "list"], "");
    assert_eq!(out.lines().count(), 1, "{out}");
}

#[test]
fn admin_client_add_list_delete_and_keys() {
    let db = Db::new("clients");
    let (code, out, err) = db.admin(
        &[
            "client",
            "add",
            "photoz-rs",
            "--resource-server",
            "--scope",
            "read write",
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(field(&out, "client_id"), "photoz-rs");
    assert_eq!(field(&out, "client_secret").len(), 43, "{out}");

    let args = [
        "client",
        "add",
        "app",
        "--public",
        "--redirect-uri",
        "https://app.example/cb",
        "--claims-redirect-uri",
        "https://app.example/claims",
    ];
    let (code, out, err) = db.admin(&args, "");
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.contains("client_secret"),
        "public clients have no secret: {out}"
    );

    let (code, _, err) = db.admin(
        &[
            "client",
            "add",
            "evil",
            "--redirect-uri",
            "http://evil.example/cb",
        ],
        "",
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.starts_with("error: ") && err.lines().count() == 1,
        "{err}"
    );
    let (code, _, _) = db.admin(&["client", "add", "photoz-rs", "--resource-server"], "");
    assert_eq!(code, 1, "an existing id is a failure");

    let (code, out, _) = db.admin(&["client", "list"], "");
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[1].starts_with("app ") && lines[1].contains("none"),
        "{out}"
    );
    assert!(
        lines[2].starts_with("photoz-rs ")
            && lines[2].contains("client_credentials")
            && lines[2].contains("read write"),
        "{out}"
    );

    assert_eq!(db.admin(&["client", "delete", "app"], "").0, 0);
    assert_eq!(db.admin(&["client", "delete", "app"], "").0, 1);
    let (_, out, _) = db.admin(&["client", "list"], "");
    assert_eq!(out.lines().count(), 2, "{out}");

    let (code, out, _) = db.admin(&["keys", "rotate"], "");
    assert_eq!(code, 0);
    let first = out
        .trim()
        .strip_prefix("new signing key ")
        .unwrap()
        .to_string();
    let (code, out, _) = db.admin(&["keys", "rotate"], "");
    assert_eq!(code, 0);
    assert!(out.contains("stay published until"), "{out}");
    let (_, out, _) = db.admin(&["keys", "list"], "");
    let retired = out.lines().find(|l| l.starts_with(&first)).unwrap();
    assert!(retired.contains("retired"), "{out}");
    assert_eq!(
        out.lines().filter(|l| l.contains("signing")).count(),
        1,
        "{out}"
    );
}

#[test]
fn admin_token_issue_mints_a_token_for_a_user_and_client() {
    let db = Db::new("token");
    let (code, _, err) = db.admin(&["user", "add", "alice"], "alice-password-1\n");
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = db.admin(
        &[
            "client",
            "add",
            "console",
            "--redirect-uri",
            "https://console.example/cb",
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = db.admin(
        &[
            "token",
            "issue",
            "alice",
            "--client",
            "console",
            "--scope",
            "uma_owner",
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let token = out.trim();
    assert!(token.len() >= 43, "a 256-bit handle: {out}");
    assert!(!err.contains(token), "printed once, on stdout");
    // The store keeps only its digest, bound to alice and the client.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let record = runtime.block_on(async {
        let store = umagate_server::store::Store::open(&db.url(), 1)
            .await
            .unwrap();
        store
            .token(&umagate_server::secrets::digest(token))
            .await
            .unwrap()
            .unwrap()
    });
    assert_eq!(
        (record.client_id.as_str(), record.scope.as_str()),
        ("console", "uma_owner")
    );
    assert!(record.subject.unwrap().starts_with("u-"));
    for bad in [
        vec![
            "token",
            "issue",
            "nobody",
            "--client",
            "console",
            "--scope",
            "uma_owner",
        ],
        vec![
            "token",
            "issue",
            "alice",
            "--client",
            "nobody",
            "--scope",
            "uma_owner",
        ],
    ] {
        assert_eq!(db.admin(&bad, "").0, 1, "{bad:?}");
    }
    let bad_ttl = [
        "token", "issue", "alice", "--client", "console", "--scope", "x", "--ttl", "0",
    ];
    assert_eq!(db.admin(&bad_ttl, "").0, 2);
}
