//! The AS driven by a third-party OAuth 2.0 / OIDC client (Python Authlib, installed by
//! scripts/setup into .tools/venv) over real HTTP: discovery, authorization code with PKCE through
//! the login and consent pages, ID token verification against `jwks_uri`, userinfo, refresh
//! rotation with reuse detection, client credentials, introspection and revocation.

use std::path::PathBuf;
use std::process::Command;

use umagate_server::Server;
use umagate_server::config::Config;

const CONFIG: &str = r#"
[[clients]]
client_id = "webapp"
secret = "webapp-secret"
redirect_uris = ["http://127.0.0.1:9/cb"]
grant_types = ["authorization_code", "refresh_token"]

[[clients]]
client_id = "rs"
secret = "rs-secret"
resource_server = true
grant_types = ["client_credentials"]

[[users]]
username = "alice"
password = "alice"
email = "alice@example.com"
email_verified = true
"#;

/// Starts an AS on 127.0.0.1:0 with `config_text` in a fresh SQLite file; returns its issuer.
fn start_as(runtime: &tokio::runtime::Runtime, config_text: &str, name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("umagate-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let mut config = Config::parse(config_text).unwrap();
        config.server.issuer = Some(issuer.clone());
        config.server.data_dir = dir;
        let server = Server::start(config, umagate_server::http::now())
            .await
            .unwrap();
        tokio::spawn(server.serve(listener, std::future::pending()));
        issuer
    })
}

#[test]
fn a_third_party_oauth_client_completes_every_flow() {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup",
        python.display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let issuer = start_as(&runtime, CONFIG, "authlib");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oauth/authlib_flow.py");
    let out = Command::new(python)
        .arg(script)
        .arg(&issuer)
        .env("AUTHLIB_INSECURE_TRANSPORT", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "authlib flow failed:\n{stdout}\n{stderr}"
    );
    for step in [
        "ok discovery",
        "ok authorize",
        "ok token (id_token verified against jwks_uri)",
        "ok userinfo",
        "ok refresh rotation and reuse detection",
        "ok client_credentials PAT",
        "ok introspection and revocation",
    ] {
        assert!(stdout.contains(step), "missing `{step}`:\n{stdout}");
    }
}
