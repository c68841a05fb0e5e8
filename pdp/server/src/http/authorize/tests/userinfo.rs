//! `/userinfo` (OIDC Core §5.3) with tokens put straight into the store.

use crate::http::now;
use crate::http::testkit::*;
use crate::secrets;
use crate::store::{TokenKind, TokenRecord};

/// Stores a token for alice (or for no one) and returns it.
async fn token(
    server: &TestAs,
    kind: TokenKind,
    subject: Option<&str>,
    scope: &str,
    change: impl FnOnce(&mut TokenRecord),
) -> String {
    let token = secrets::new_handle().unwrap();
    let now = now();
    let mut record = TokenRecord {
        token_hash: secrets::digest(&token),
        kind,
        family_id: secrets::new_handle().unwrap(),
        client_id: APP.into(),
        subject: subject.map(str::to_string),
        scope: scope.into(),
        issued_at: now,
        expires_at: now + 3600,
        used_at: None,
        revoked_at: None,
    };
    change(&mut record);
    server.state.store.insert_token(&record).await.unwrap();
    token
}

async fn userinfo(
    server: &TestAs,
    method: &str,
    target: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Reply {
    send(server.addr, method, target, headers, body).await
}

fn bearer(token: &str) -> [(&'static str, String); 1] {
    [("Authorization", format!("Bearer {token}"))]
}

#[tokio::test]
async fn p7_userinfo_takes_the_token_from_the_authorization_header_only() {
    let server = TestAs::start().await;
    let t = token(
        &server,
        TokenKind::Access,
        Some("u-alice"),
        "openid",
        |_| {},
    )
    .await;
    for reply in [
        userinfo(&server, "GET", "/userinfo", &[], b"").await,
        userinfo(
            &server,
            "GET",
            &format!("/userinfo?access_token={t}"),
            &[],
            b"",
        )
        .await,
        userinfo(
            &server,
            "POST",
            "/userinfo",
            &[("Content-Type", "application/x-www-form-urlencoded".into())],
            format!("access_token={t}").as_bytes(),
        )
        .await,
        userinfo(
            &server,
            "GET",
            "/userinfo",
            &[("Authorization", format!("Basic {t}"))],
            b"",
        )
        .await,
    ] {
        assert_eq!(reply.status, 401, "{reply:?}");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer realm=\"umagate\"")
        );
    }
    // Both methods work with the header.
    for method in ["GET", "POST"] {
        assert_eq!(
            userinfo(&server, method, "/userinfo", &bearer(&t), b"")
                .await
                .status,
            200
        );
    }
}

#[tokio::test]
async fn userinfo_rejects_invalid_expired_revoked_and_refresh_tokens() {
    let server = TestAs::start().await;
    let alice = Some("u-alice");
    let tokens = [
        secrets::new_handle().unwrap(),
        token(&server, TokenKind::Access, alice, "openid", |t| {
            t.expires_at = now() - 1
        })
        .await,
        token(&server, TokenKind::Access, alice, "openid", |t| {
            t.revoked_at = Some(now())
        })
        .await,
        token(&server, TokenKind::Refresh, alice, "openid", |_| {}).await,
        token(&server, TokenKind::Access, None, "openid", |_| {}).await,
        token(
            &server,
            TokenKind::Access,
            Some("u-deleted"),
            "openid",
            |_| {},
        )
        .await,
    ];
    for t in tokens {
        let reply = userinfo(&server, "GET", "/userinfo", &bearer(&t), b"").await;
        assert_eq!(reply.status, 401, "{reply:?}");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer realm=\"umagate\", error=\"invalid_token\"")
        );
        assert!(!reply.body.contains(&t));
    }
    let reply = userinfo(
        &server,
        "GET",
        "/userinfo",
        &[("Authorization", "Bearer a b".into())],
        b"",
    )
    .await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn userinfo_requires_the_openid_scope() {
    let server = TestAs::start().await;
    let t = token(
        &server,
        TokenKind::Access,
        Some("u-alice"),
        "read email profile",
        |_| {},
    )
    .await;
    let reply = userinfo(&server, "GET", "/userinfo", &bearer(&t), b"").await;
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Bearer realm=\"umagate\", error=\"insufficient_scope\", scope=\"openid\"")
    );
}

#[tokio::test]
async fn userinfo_claims_follow_the_granted_scopes() {
    let server = TestAs::start().await;
    for (scope, expected) in [
        ("openid", serde_json::json!({"sub": "u-alice"})),
        (
            "openid email",
            serde_json::json!({"sub": "u-alice", "email": "alice@example.com", "email_verified": true}),
        ),
        (
            "openid profile read",
            serde_json::json!({"sub": "u-alice", "preferred_username": "alice"}),
        ),
    ] {
        let t = token(&server, TokenKind::Access, Some("u-alice"), scope, |_| {}).await;
        let reply = userinfo(&server, "GET", "/userinfo", &bearer(&t), b"").await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("content-type"), Some("application/json"));
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&reply.body).unwrap(),
            expected,
            "{scope}"
        );
    }
    // A user without an email gets no email claims even with `email`.
    server.add_user("bob").await;
    let t = token(
        &server,
        TokenKind::Access,
        Some("u-bob"),
        "openid email",
        |_| {},
    )
    .await;
    let reply = userinfo(&server, "GET", "/userinfo", &bearer(&t), b"").await;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&reply.body).unwrap(),
        serde_json::json!({"sub": "u-bob"})
    );
}
