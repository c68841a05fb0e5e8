//! The admin API over a real router and store.

use crate::http::testkit::ConfiguredAs as TestAs;
use crate::secrets::digest;

const ADMIN: &str = "admin-token-for-tests";

async fn with_admin() -> TestAs {
    TestAs::start(|c| c.admin.token_sha256 = Some(digest(ADMIN))).await
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_routes_are_404_without_an_admin_token_configured() {
    let t = TestAs::start(|_| {}).await;
    for (method, path) in [
        ("GET", "/admin/users"),
        ("POST", "/admin/clients"),
        ("DELETE", "/admin/users/u-x"),
        ("POST", "/admin/keys/rotate"),
    ] {
        let r = t
            .request(
                method,
                path,
                &[("Authorization", &format!("Bearer {ADMIN}"))],
                "",
            )
            .await;
        assert_eq!(
            (r.status, r.error().as_str()),
            (404, "not_found"),
            "{method} {path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_routes_require_the_admin_token() {
    let t = with_admin().await;
    let r = t.request("GET", "/admin/users", &[], "").await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"umagate\"")
    );
    let r = t.get("/admin/clients", "not-the-token").await;
    assert_eq!((r.status, r.error().as_str()), (401, "invalid_token"));
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"umagate\", error=\"invalid_token\"")
    );
    let r = t
        .request(
            "POST",
            "/admin/keys/rotate",
            &[("Authorization", "Basic YWRtaW46eA==")],
            "",
        )
        .await;
    assert_eq!(r.status, 401);
    let r = t.get("/admin/keys", ADMIN).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

#[tokio::test(flavor = "multi_thread")]
async fn users_round_trip_without_their_hash() {
    let t = with_admin().await;
    let body = r#"{"username":"alice","password":"s3cret!","email":"alice@example.com","email_verified":true}"#;
    let r = t.post_json("/admin/users", ADMIN, body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let created = r.json();
    let subject = created["subject"].as_str().unwrap().to_string();
    assert_eq!(created["username"], "alice");
    assert_eq!(created["email_verified"], true);
    assert!(
        !r.body.contains("argon2") && !r.body.contains("s3cret"),
        "{}",
        r.body
    );

    let stored = t.state.store.user(&subject).await.unwrap().unwrap();
    assert!(crate::secrets::verify_password(
        "s3cret!",
        &stored.password_hash
    ));

    let r = t
        .post_json(
            "/admin/users",
            ADMIN,
            r#"{"username":"alice","password":"other"}"#,
        )
        .await;
    assert_eq!((r.status, r.error().as_str()), (409, "invalid_request"));

    let r = t.get("/admin/users", ADMIN).await;
    assert_eq!(r.json()["users"][0]["subject"], subject.as_str());
    assert!(!r.body.contains("argon2"), "{}", r.body);

    let r = t.delete(&format!("/admin/users/{subject}"), ADMIN).await;
    assert_eq!(r.status, 204);
    let r = t.delete(&format!("/admin/users/{subject}"), ADMIN).await;
    assert_eq!((r.status, r.error().as_str()), (404, "not_found"));
    assert_eq!(
        t.get("/admin/users", ADMIN).await.json()["users"],
        serde_json::json!([])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_user_bodies_are_invalid_request() {
    let t = with_admin().await;
    for body in [
        r#"{"username":"bob"}"#,
        r#"{"username":"bob","password":""}"#,
        r#"{"username":"","password":"x"}"#,
        r#"{"username":"bob","password":"x","admin":true}"#,
        r#"{"username":"bob","password":"x","password":"y"}"#,
        r#"["bob","x"]"#,
    ] {
        let r = t.post_json("/admin/users", ADMIN, body).await;
        assert_eq!(
            (r.status, r.error().as_str()),
            (400, "invalid_request"),
            "{body}"
        );
    }
    let auth = format!("Bearer {ADMIN}");
    let r = t
        .request(
            "POST",
            "/admin/users",
            &[("Authorization", &auth), ("Content-Type", "text/plain")],
            "{}",
        )
        .await;
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_request"));
}

#[tokio::test(flavor = "multi_thread")]
async fn clients_round_trip_and_the_secret_is_shown_once() {
    let t = with_admin().await;
    let body = r#"{"client_id":"photoz-rs","resource_server":true,"client_name":"Photoz"}"#;
    let r = t.post_json("/admin/clients", ADMIN, body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let created = r.json();
    assert_eq!(created["client_id"], "photoz-rs");
    assert_eq!(created["resource_server"], true);
    assert_eq!(
        created["grant_types"],
        serde_json::json!(["client_credentials"])
    );
    assert_eq!(created["client_secret_expires_at"], 0);
    let secret = created["client_secret"].as_str().unwrap().to_string();

    // The secret gets the resource server its PAT.
    let basic = base64_basic("photoz-rs", &secret);
    let r = t
        .request(
            "POST",
            "/token",
            &[
                ("Authorization", &basic),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["scope"], "uma_protection");

    let r = t.post_json("/admin/clients", ADMIN, body).await;
    assert_eq!((r.status, r.error().as_str()), (409, "invalid_request"));

    let r = t.get("/admin/clients", ADMIN).await;
    assert_eq!(r.json()["clients"][0]["client_id"], "photoz-rs");
    assert!(
        !r.body.contains(&secret)
            && !r.body.contains("argon2")
            && !r.body.contains("\"client_secret\""),
        "{}",
        r.body
    );

    assert_eq!(
        t.delete("/admin/clients/photoz-rs", ADMIN).await.status,
        204
    );
    let r = t.delete("/admin/clients/photoz-rs", ADMIN).await;
    assert_eq!((r.status, r.error().as_str()), (404, "not_found"));
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_clients_are_validated_like_registrations() {
    let t = with_admin().await;
    let public =
        r#"{"token_endpoint_auth_method":"none","redirect_uris":["https://app.example/cb"]}"#;
    let r = t.post_json("/admin/clients", ADMIN, public).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.json().get("client_secret").is_none());
    assert!(r.json()["client_id"].as_str().unwrap().starts_with("c-"));
    for (body, code) in [
        (
            r#"{"redirect_uris":["http://app.example/cb"]}"#,
            "invalid_redirect_uri",
        ),
        (
            r#"{"grant_types":["client_credentials"],"claims_redirect_uris":["javascript:x"]}"#,
            "invalid_redirect_uri",
        ),
        (
            r#"{"token_endpoint_auth_method":"none","resource_server":true,"grant_types":["refresh_token"]}"#,
            "invalid_client_metadata",
        ),
        (r#"{"grant_types":["password"]}"#, "invalid_client_metadata"),
        (
            r#"{"grant_types":"client_credentials"}"#,
            "invalid_client_metadata",
        ),
        (
            r#"{"client_id":"","grant_types":["client_credentials"]}"#,
            "invalid_request",
        ),
    ] {
        let r = t.post_json("/admin/clients", ADMIN, body).await;
        assert_eq!((r.status, r.error().as_str()), (400, code), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn key_rotation_keeps_the_old_key_published() {
    let t = with_admin().await;
    let before = t.request("GET", "/jwks", &[], "").await.json();
    let old = before["keys"][0]["kid"].as_str().unwrap().to_string();

    let r = t.post_json("/admin/keys/rotate", ADMIN, "").await;
    assert_eq!(r.status, 201, "{}", r.body);
    let new = r.json()["kid"].as_str().unwrap().to_string();
    assert_ne!(new, old);

    let jwks = t.request("GET", "/jwks", &[], "").await.json();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(
        kids.contains(&old.as_str()) && kids.contains(&new.as_str()),
        "{kids:?}"
    );
    assert_eq!(t.state.keys.signer().kid(), new);

    let keys = t.get("/admin/keys", ADMIN).await.json();
    let keys = keys["keys"].as_array().unwrap();
    let by_kid = |kid: &str| keys.iter().find(|k| k["kid"] == kid).unwrap().clone();
    assert_eq!(by_kid(&new)["status"], "signing");
    let retired = by_kid(&old);
    assert_eq!(retired["status"], "retired");
    let overlap = t.state.config.keys.rotation_overlap_secs;
    assert_eq!(
        retired["expires_at"].as_i64().unwrap() - retired["retired_at"].as_i64().unwrap(),
        overlap
    );
    assert!(
        !serde_json::to_string(keys).unwrap().contains("\"d\""),
        "no private key material"
    );
}

fn base64_basic(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}
