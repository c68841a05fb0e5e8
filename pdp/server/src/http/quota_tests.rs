//! D2 (security.md): per-client and per-user quotas bound outstanding codes, tokens, tickets,
//! RPTs and PCTs; past a quota the request is refused with a clear error and nothing is issued.

use serde_json::json;

use crate::http::testkit::*;
use crate::http::umakit::*;

async fn code(server: &TestAs) -> Reply {
    server
        .browser()
        .authorize_and_approve(&borrowed(&app_request(&[])))
        .await
}

async fn redeem(server: &TestAs, code: &str) -> Reply {
    server
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", APP_CB),
            ("code_verifier", VERIFIER),
        ])
        .await
}

#[tokio::test]
async fn d2_unredeemed_codes_per_user_and_client_are_bounded() {
    let server = TestAs::start_with(|c| c.quotas.codes_per_user_client = 2).await;
    for _ in 0..2 {
        let (_, query) = code(&server).await.redirect();
        assert!(query.get("code").is_some());
    }
    let (_, query) = code(&server).await.redirect();
    assert_eq!(query.get("error"), Some("temporarily_unavailable"));
    assert!(query.get("code").is_none());
}

#[tokio::test]
async fn d2_live_grants_per_user_and_client_are_bounded_and_refresh_is_not_a_new_grant() {
    let server = TestAs::start_with(|c| c.quotas.tokens_per_user_client = 2).await;
    let (_, query) = code(&server).await.redirect();
    let first = redeem(&server, query.get("code").unwrap()).await;
    assert_eq!(first.status, 200, "{}", first.body);
    // One grant holds an access token and a refresh token: the quota is full.
    let (_, query) = code(&server).await.redirect();
    let refused = redeem(&server, query.get("code").unwrap()).await;
    assert_eq!(
        (refused.status, refused.error().as_str()),
        (400, "invalid_grant")
    );
    // Refreshing replaces the refresh token: allowed at the quota.
    let refresh = first.json()["refresh_token"].as_str().unwrap().to_string();
    let refreshed = server
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
}

#[tokio::test]
async fn d2_outstanding_tickets_per_owner_and_rpts_per_party_are_bounded() {
    let uma = Uma::start_with(|c| {
        c.quotas.tickets_per_owner = 2;
        c.quotas.rpts_per_party_client = 1;
    })
    .await;
    let album = uma.register(ALBUM).await;
    uma.share(&album, &["view"], None).await;
    let perm = json!({"resource_id": album, "resource_scopes": ["view"]}).to_string();
    let first = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    let _second = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    let refused = uma.call("POST", "/perm", &perm).await;
    assert_eq!(
        (refused.status, refused.error().as_str()),
        (400, "invalid_request")
    );
    // Consuming one frees room.
    assert_eq!(uma.grant_as_bob(&first).await.status, 200);
    let third = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    // Bob already holds one live RPT through this client: the second is refused.
    let reply = uma.grant_as_bob(&third).await;
    assert_eq!(
        (reply.status, reply.error().as_str()),
        (400, "invalid_grant"),
        "{}",
        reply.body
    );
}
