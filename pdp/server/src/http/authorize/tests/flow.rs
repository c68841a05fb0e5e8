//! The whole authorization code flow, through the token endpoint to userinfo.

use umagate_proto::claims::IdTokenClaims;
use umagate_proto::jwk::Jwks;

use crate::http::testkit::*;

#[tokio::test]
async fn full_code_flow_issues_tokens_and_id_token() {
    let server = TestAs::start().await;
    let mut browser = server.browser();
    let reply = browser
        .authorize_and_approve(&borrowed(&app_request(&[])))
        .await;
    let (_, query) = reply.redirect();
    let code = query.get("code").unwrap();
    assert_eq!(code.len(), 43, "256-bit code");
    let reply = server
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", APP_CB),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let tokens: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(
        tokens["token_type"]
            .as_str()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("bearer")
    );
    let access = tokens["access_token"].as_str().unwrap();
    assert!(
        tokens["refresh_token"].as_str().is_some(),
        "the client registered refresh_token"
    );
    assert_eq!(tokens["scope"], "openid email profile read");

    let jwks = send(server.addr, "GET", umagate_proto::paths::JWKS, &[], b"").await;
    let jwks: Jwks = serde_json::from_str(&jwks.body).unwrap();
    let id_token: IdTokenClaims =
        umagate_proto::jws::verify(tokens["id_token"].as_str().unwrap(), &jwks).unwrap();
    assert_eq!(id_token.iss, server.issuer);
    assert!(id_token.aud.contains(APP));
    assert_eq!(id_token.sub, "u-alice");
    assert_eq!(id_token.nonce.as_deref(), Some("n-0S6_WzA2Mj"));
    let auth_time = id_token.auth_time.unwrap();
    assert!(auth_time <= id_token.iat && id_token.iat - auth_time < 60);

    let headers = [("Authorization", format!("Bearer {access}"))];
    let info = send(server.addr, "GET", "/userinfo", &headers, b"").await;
    assert_eq!(info.status, 200, "{info:?}");
    let info: serde_json::Value = serde_json::from_str(&info.body).unwrap();
    assert_eq!(info["sub"], id_token.sub);
    assert_eq!(info["email"], "alice@example.com");
    assert_eq!(info["email_verified"], true);
    assert_eq!(info["preferred_username"], ALICE);

    // The code was single-use, and the exchange needed the verifier.
    let again = server
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", APP_CB),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_eq!(again.status, 400);
}

#[tokio::test]
async fn c6_codes_are_bound_to_the_redirect_uri_and_verifier_sent() {
    let server = TestAs::start().await;
    let mut browser = server.browser();
    let wrong_verifier = "x".repeat(43);
    for (redirect, verifier) in [(APP_CB2, VERIFIER), (APP_CB, wrong_verifier.as_str())] {
        let reply = browser
            .authorize_and_approve(&borrowed(&app_request(&[])))
            .await;
        let code = reply.redirect().1.get("code").unwrap().to_string();
        let fields = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ];
        let reply = server.token(&fields).await;
        assert_eq!(reply.status, 400, "{reply:?}");
        assert!(reply.body.contains("invalid_grant"));
    }
}
