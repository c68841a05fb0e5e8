//! The token, introspection and revocation endpoints over a real router, each test named after
//! the security statement it checks (security.md §1).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::http::testkit::*;
use crate::secrets;
use crate::store::{AuthCode, TokenKind};

fn json(reply: &Reply) -> Value {
    serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("{e}: {}", reply.body))
}

fn error(reply: &Reply) -> String {
    json(reply)["error"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

const CC: &[(&str, &str)] = &[("grant_type", "client_credentials")];

async fn pat(server: &TestAs) -> String {
    let reply = server.post_as(RS, RS_SECRET, "/token", CC).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    json(&reply)["access_token"].as_str().unwrap().to_string()
}

/// Runs the whole browser flow and returns the token response.
async fn code_flow(server: &TestAs) -> Value {
    let reply = server
        .browser()
        .authorize_and_approve(&borrowed(&app_request(&[])))
        .await;
    let (_, query) = reply.redirect();
    let code = query.get("code").unwrap().to_string();
    let reply = server
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", APP_CB),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    json(&reply)
}

#[tokio::test]
async fn t1_token_endpoint_takes_form_posts_only() {
    let server = TestAs::start().await;
    let basic = format!("Basic {}", STANDARD.encode(format!("{RS}:{RS_SECRET}")));
    let json_body = [
        ("Authorization", basic.clone()),
        ("Content-Type", "application/json".into()),
    ];
    let reply = send(
        server.addr,
        "POST",
        "/token",
        &json_body,
        br#"{"grant_type":"client_credentials"}"#,
    )
    .await;
    assert_eq!(
        (reply.status, error(&reply).as_str()),
        (400, "invalid_request")
    );
    let form_type = [
        ("Authorization", basic),
        ("Content-Type", "application/x-www-form-urlencoded".into()),
    ];
    let reply = send(
        server.addr,
        "POST",
        "/token?grant_type=client_credentials",
        &form_type,
        b"",
    )
    .await;
    assert_eq!(
        (reply.status, error(&reply).as_str()),
        (400, "invalid_request"),
        "no parameters in the query"
    );
    let reply = send(server.addr, "GET", "/token", &[], b"").await;
    assert_eq!(reply.status, 405, "D-TOKEN-GET");
    assert_eq!(reply.header("allow"), Some("POST"));
}

#[tokio::test]
async fn t2_repeated_parameters_are_invalid_request() {
    let server = TestAs::start().await;
    let reply = server
        .post_as(
            RS,
            RS_SECRET,
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ],
        )
        .await;
    assert_eq!(
        (reply.status, error(&reply).as_str()),
        (400, "invalid_request")
    );
}

#[tokio::test]
async fn t3_one_authentication_method_and_only_the_registered_one() {
    let server = TestAs::start().await;
    let reply = server
        .post_as(
            RS,
            RS_SECRET,
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_secret", RS_SECRET),
            ],
        )
        .await;
    assert_eq!(
        (reply.status, error(&reply).as_str()),
        (400, "invalid_request"),
        "Basic and body secret together"
    );
    // RS registered client_secret_basic (the default); client_secret_post is refused.
    let headers = [(
        "Content-Type",
        "application/x-www-form-urlencoded".to_string(),
    )];
    let body = form(&[
        ("grant_type", "client_credentials"),
        ("client_id", RS),
        ("client_secret", RS_SECRET),
    ]);
    let reply = send(server.addr, "POST", "/token", &headers, body.as_bytes()).await;
    assert_eq!(
        (reply.status, error(&reply).as_str()),
        (401, "invalid_client")
    );
    // A wrong secret over Basic is 401 with a Basic challenge (RFC 6749 §5.2).
    let reply = server.post_as(RS, "wrong", "/token", CC).await;
    assert_eq!(
        (reply.status, error(&reply).as_str()),
        (401, "invalid_client")
    );
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Basic realm=\"umagate\"")
    );
}

#[tokio::test]
async fn t4_p3_secrets_and_tokens_are_stored_only_as_digests() {
    let server = TestAs::start().await;
    let token = pat(&server).await;
    let tokens = code_flow(&server).await;
    let record = server.state.store.client(RS).await.unwrap().unwrap();
    assert_eq!(
        record.secret_hash,
        Some(secrets::hash_generated_secret(RS_SECRET))
    );
    let app = server.state.store.client(APP).await.unwrap().unwrap();
    assert!(app.secret_hash.unwrap().starts_with("$argon2id$"));
    // P3: the database file holds no token, code or secret in the clear.
    // WAL mode: recent rows may still be in the write-ahead log beside the database.
    let mut db = std::fs::read(server.db_path()).unwrap();
    db.extend(std::fs::read(server.db_path().with_extension("db-wal")).unwrap_or_default());
    let contains = |needle: &str| db.windows(needle.len()).any(|w| w == needle.as_bytes());
    for secret in [
        token.as_str(),
        tokens["access_token"].as_str().unwrap(),
        tokens["refresh_token"].as_str().unwrap(),
        RS_SECRET,
        APP_SECRET,
    ] {
        assert!(!contains(secret), "plaintext secret in the database");
    }
    assert!(
        contains(&secrets::digest(&token)),
        "the digest is what is stored"
    );
}

#[tokio::test]
async fn t5_client_secret_guessing_is_throttled() {
    let server = TestAs::start().await;
    for _ in 0..crate::http::browser::throttle::CLIENT_MAX_FAILURES {
        let reply = server.post_as(M2M, "guess", "/token", CC).await;
        assert_eq!(reply.status, 401);
    }
    // Past the limit even the right secret is not checked until the window ends…
    let reply = server.post_as(APP, APP_SECRET, "/token", CC).await;
    assert_ne!(
        error(&reply),
        "",
        "another client is unaffected: {}",
        reply.body
    );
    let reply = server.post_as(M2M, "guess", "/token", CC).await;
    assert!(
        json(&reply)["error_description"]
            .as_str()
            .unwrap()
            .contains("too many failed attempts"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn t7_public_clients_cannot_use_client_credentials_or_introspection() {
    let server = TestAs::start().await;
    let headers = [(
        "Content-Type",
        "application/x-www-form-urlencoded".to_string(),
    )];
    let body = form(&[("grant_type", "client_credentials"), ("client_id", NATIVE)]);
    let reply = send(server.addr, "POST", "/token", &headers, body.as_bytes()).await;
    assert_eq!(
        (reply.status, error(&reply).as_str()),
        (400, "unauthorized_client")
    );
    let body = form(&[("token", "anything"), ("client_id", NATIVE)]);
    let reply = send(
        server.addr,
        "POST",
        "/introspect",
        &headers,
        body.as_bytes(),
    )
    .await;
    assert_eq!(
        (reply.status, error(&reply).as_str()),
        (400, "unauthorized_client")
    );
    // Only resource servers introspect (RFC 7662 §4).
    let reply = server
        .post_as(APP, APP_SECRET, "/introspect", &[("token", "anything")])
        .await;
    assert_eq!(
        (reply.status, error(&reply).as_str()),
        (400, "unauthorized_client")
    );
}

#[tokio::test]
async fn t8_token_and_error_responses_are_not_cached() {
    let server = TestAs::start().await;
    for reply in [
        server.post_as(RS, RS_SECRET, "/token", CC).await,
        server.post_as(RS, "wrong", "/token", CC).await,
    ] {
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        assert_eq!(reply.header("pragma"), Some("no-cache"));
    }
}

#[tokio::test]
async fn d_pat_default_resource_servers_get_uma_protection() {
    let server = TestAs::start().await;
    for fields in [
        CC.to_vec(),
        vec![("grant_type", "client_credentials"), ("scope", "openid")],
    ] {
        let reply = server.post_as(RS, RS_SECRET, "/token", &fields).await;
        assert_eq!(json(&reply)["scope"], "uma_protection", "{}", reply.body);
    }
    let reply = server
        .post_as(
            RS,
            RS_SECRET,
            "/token",
            &[("grant_type", "client_credentials"), ("scope", "admin")],
        )
        .await;
    assert_eq!(
        (reply.status, error(&reply).as_str()),
        (400, "invalid_scope")
    );
}

#[tokio::test]
async fn c3_c4_token_request_without_or_with_a_malformed_verifier_fails() {
    let server = TestAs::start().await;
    for verifier in [
        None,
        Some("short"),
        Some("a+b-not-unreserved-characters-at-all-in-here-xx"),
    ] {
        let reply = server
            .browser()
            .authorize_and_approve(&borrowed(&app_request(&[])))
            .await;
        let (_, query) = reply.redirect();
        let code = query.get("code").unwrap().to_string();
        let mut fields = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", APP_CB),
        ];
        if let Some(v) = verifier {
            fields.push(("code_verifier", v));
        }
        let reply = server.token(&fields).await;
        assert_eq!(
            (reply.status, error(&reply).as_str()),
            (400, "invalid_request"),
            "{verifier:?}"
        );
    }
}

#[tokio::test]
async fn c5_replayed_code_revokes_the_tokens_it_gave() {
    let server = TestAs::start().await;
    let reply = server
        .browser()
        .authorize_and_approve(&borrowed(&app_request(&[])))
        .await;
    let (_, query) = reply.redirect();
    let code = query.get("code").unwrap().to_string();
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", APP_CB),
        ("code_verifier", VERIFIER),
    ];
    let first = json(&server.token(&fields).await);
    let replay = server.token(&fields).await;
    assert_eq!(
        (replay.status, error(&replay).as_str()),
        (400, "invalid_grant")
    );
    let access = first["access_token"].as_str().unwrap();
    let seen = server
        .post_as(RS, RS_SECRET, "/introspect", &[("token", access)])
        .await;
    assert_eq!(
        json(&seen),
        serde_json::json!({"active": false}),
        "tokens from a replayed code are revoked"
    );
    let refresh = first["refresh_token"].as_str().unwrap();
    let reply = server
        .token(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .await;
    assert_eq!(error(&reply), "invalid_grant");
}

#[tokio::test]
async fn c7_expired_codes_are_refused_at_redemption() {
    let server = TestAs::start().await;
    let now = crate::http::now();
    let code = secrets::new_handle().unwrap();
    let expired = AuthCode {
        code_hash: secrets::digest(&code),
        family_id: "f".into(),
        client_id: APP.into(),
        subject: "u-alice".into(),
        redirect_uri: APP_CB.into(),
        scope: "read".into(),
        code_challenge: challenge(),
        nonce: None,
        auth_time: now - 120,
        expires_at: now - 60,
    };
    server.state.store.insert_code(&expired).await.unwrap();
    let reply = server
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", APP_CB),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_eq!(
        (reply.status, error(&reply).as_str()),
        (400, "invalid_grant")
    );
    assert_eq!(
        crate::config::Config::default().tokens.code_secs,
        60,
        "C7: 60 s by default"
    );
}

#[tokio::test]
async fn f1_refresh_tokens_are_bound_to_their_client() {
    let server = TestAs::start().await;
    let tokens = code_flow(&server).await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let reply = server
        .post_as(
            RS,
            RS_SECRET,
            "/token",
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    // …and that attempt did not burn the token for its owner.
    let reply = server
        .token(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn f2_f4_rotation_never_widens_and_reuse_revokes_the_family() {
    let server = TestAs::start().await;
    let tokens = code_flow(&server).await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let wider = server
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("scope", "read write admin"),
        ])
        .await;
    assert_eq!(error(&wider), "invalid_scope", "F4");
    let rotated = json(
        &server
            .token(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh),
                ("scope", "read"),
            ])
            .await,
    );
    assert_eq!(rotated["scope"], "read");
    let reuse = server
        .token(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .await;
    assert_eq!(error(&reuse), "invalid_grant");
    let newest = rotated["refresh_token"].as_str().unwrap();
    let after = server
        .token(&[("grant_type", "refresh_token"), ("refresh_token", newest)])
        .await;
    assert_eq!(
        error(&after),
        "invalid_grant",
        "F2: the whole family is revoked"
    );
    let seen = server
        .post_as(
            RS,
            RS_SECRET,
            "/introspect",
            &[("token", rotated["access_token"].as_str().unwrap())],
        )
        .await;
    assert_eq!(json(&seen)["active"], false);
}

#[tokio::test]
async fn f5_refresh_rechecks_that_the_user_exists() {
    let server = TestAs::start().await;
    let tokens = code_flow(&server).await;
    server
        .state
        .store
        .delete_user("u-alice", crate::http::now())
        .await
        .unwrap();
    let reply = server
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(error(&reply), "invalid_grant");
}

#[tokio::test]
async fn p2_tokens_carry_256_random_bits() {
    let server = TestAs::start().await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..20 {
        let token = pat(&server).await;
        assert_eq!(token.len(), 43, "32 bytes, base64url");
        assert!(seen.insert(token));
    }
    let record = server
        .state
        .store
        .token(&secrets::digest(seen.iter().next().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.kind, TokenKind::Access);
}

#[tokio::test]
async fn introspection_reports_active_tokens_and_nothing_about_others() {
    let server = TestAs::start().await;
    let token = pat(&server).await;
    let seen = json(
        &server
            .post_as(RS, RS_SECRET, "/introspect", &[("token", &token)])
            .await,
    );
    assert_eq!(seen["active"], true);
    assert_eq!(seen["client_id"], RS);
    assert_eq!(seen["scope"], "uma_protection");
    assert_eq!(seen["iss"], server.issuer);
    for unknown in ["nope", "", "x y"] {
        let reply = server
            .post_as(RS, RS_SECRET, "/introspect", &[("token", unknown)])
            .await;
        if reply.status == 200 {
            assert_eq!(json(&reply), serde_json::json!({"active": false}));
        } else {
            assert_eq!(error(&reply), "invalid_request", "{unknown:?}");
        }
    }
}

#[tokio::test]
async fn revocation_is_silent_for_foreign_tokens_and_effective_for_own() {
    let server = TestAs::start().await;
    let token = pat(&server).await;
    let tokens = code_flow(&server).await;
    // D-REVOKE-FOREIGN: the app cannot revoke the resource server's token, and learns nothing.
    let reply = server
        .post_as(APP, APP_SECRET, "/revoke", &[("token", &token)])
        .await;
    assert_eq!((reply.status, reply.body.as_str()), (200, ""));
    assert_eq!(
        json(
            &server
                .post_as(RS, RS_SECRET, "/introspect", &[("token", &token)])
                .await
        )["active"],
        true
    );
    let reply = server
        .post_as(RS, RS_SECRET, "/revoke", &[("token", &token)])
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        json(
            &server
                .post_as(RS, RS_SECRET, "/introspect", &[("token", &token)])
                .await
        )["active"],
        false
    );
    // Revoking a refresh token revokes its access tokens too.
    let reply = server
        .post_as(
            APP,
            APP_SECRET,
            "/revoke",
            &[
                ("token", tokens["refresh_token"].as_str().unwrap()),
                ("token_type_hint", "refresh_token"),
            ],
        )
        .await;
    assert_eq!(reply.status, 200);
    let seen = server
        .post_as(
            RS,
            RS_SECRET,
            "/introspect",
            &[("token", tokens["access_token"].as_str().unwrap())],
        )
        .await;
    assert_eq!(json(&seen)["active"], false);
}

#[tokio::test]
async fn f6_refresh_tokens_end_at_the_absolute_limit_however_often_rotated() {
    let server = TestAs::start().await;
    let now = crate::http::now();
    let limit = crate::config::TokenConfig::default().refresh_absolute_secs;
    for (family, started, expected) in [("f-young", now - 60, 200), ("f-old", now - limit, 400)] {
        let refresh = secrets::new_handle().unwrap();
        server
            .state
            .store
            .start_family(family, started)
            .await
            .unwrap();
        server
            .state
            .store
            .insert_token(&crate::store::TokenRecord {
                token_hash: secrets::digest(&refresh),
                kind: TokenKind::Refresh,
                family_id: family.into(),
                client_id: APP.into(),
                subject: Some("u-alice".into()),
                scope: "read".into(),
                issued_at: now - 30,
                expires_at: now + 3600,
                used_at: None,
                revoked_at: None,
            })
            .await
            .unwrap();
        let reply = server
            .token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
            .await;
        assert_eq!(reply.status, expected, "{family}: {}", reply.body);
    }
    assert_eq!(limit, 90 * 86_400, "F6: 90 days by default");
}

#[tokio::test]
async fn d1_guessing_codes_and_refresh_tokens_is_throttled() {
    let server = TestAs::start().await;
    let tokens = code_flow(&server).await;
    for _ in 0..crate::http::browser::throttle::GRANT_MAX_FAILURES {
        let guess = secrets::new_handle().unwrap();
        let reply = server
            .token(&[("grant_type", "refresh_token"), ("refresh_token", &guess)])
            .await;
        assert_eq!(error(&reply), "invalid_grant");
    }
    // Past the limit even a valid refresh token is not looked at until the window ends.
    let valid = tokens["refresh_token"].as_str().unwrap();
    let reply = server
        .token(&[("grant_type", "refresh_token"), ("refresh_token", valid)])
        .await;
    assert_eq!(error(&reply), "invalid_grant");
    assert!(
        json(&reply)["error_description"]
            .as_str()
            .unwrap()
            .contains("too many invalid grants")
    );
    // …and it was not burnt: another client's limit is separate, and the token is still stored unused.
    let record = server
        .state
        .store
        .token(&secrets::digest(valid))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.used_at, None);
}
