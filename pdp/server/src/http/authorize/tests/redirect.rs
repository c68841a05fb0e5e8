//! R and C statements: what the authorization endpoint validates and where its answers go.

use crate::http::authorize::request::resolve_redirect;
use crate::http::testkit::*;

/// Asserts an error redirect to `base` with `error`, the client's state and the issuer.
fn assert_error_redirect(reply: &Reply, server: &TestAs, base: &str, error: &str) {
    let (location, params) = reply.redirect();
    assert_eq!(location, base);
    assert_eq!(params.get("error"), Some(error), "{reply:?}");
    assert_eq!(params.get("state"), Some("xyz"));
    assert_eq!(params.get("iss"), Some(server.issuer.as_str()));
    assert!(!params.contains("code"));
}

// === R: redirect-based flows ===

#[tokio::test]
async fn r1_redirect_uri_is_compared_exactly() {
    let server = TestAs::start().await;
    let mut browser = server.browser();
    for near_miss in [
        "https://app.example/cb/",
        "https://APP.example/cb",
        "https://app.example/CB",
        "https://app.example/cb?x=1",
        "https://app.example/c",
        "https://app.example/cb#",
        "https://app.example:443/cb",
        "https://app.example/other",
        "https://app.example/other?x=1&y=2",
        "https://app.example.evil.test/cb",
        "http://app.example/cb",
        "https://app.example/cb/../cb",
        "https://app.example/%63b",
    ] {
        let params = app_request(&[]);
        let mut params: Vec<(&str, &str)> = borrowed(&params);
        params.retain(|(n, _)| *n != "redirect_uri");
        params.push(("redirect_uri", near_miss));
        let reply = browser.get(&format!("/authorize?{}", form(&params))).await;
        reply.assert_page(400);
        assert!(
            !reply.body.contains("app.example"),
            "the page does not echo the URI: {near_miss}"
        );
    }
    // Both registered URIs work as sent, the registered query included.
    for exact in [APP_CB, APP_CB2] {
        let params = app_request(&[("redirect_uri", exact)]);
        browser.start(&borrowed(&params)).await;
    }
}

#[tokio::test]
async fn r1_loopback_redirect_uri_may_change_only_its_port() {
    let server = TestAs::start().await;
    let mut browser = server.browser();
    let request = |redirect: &'static str| {
        vec![
            ("response_type", "code".to_string()),
            ("client_id", NATIVE.to_string()),
            ("redirect_uri", redirect.to_string()),
            ("scope", "openid".to_string()),
            ("state", "xyz".to_string()),
            ("code_challenge", challenge()),
            ("code_challenge_method", "S256".to_string()),
        ]
    };
    // RFC 8252 §7.3: the port of a loopback IP literal may vary.
    for ok in [
        NATIVE_CB,
        "http://127.0.0.1:51234/native/cb",
        "http://127.0.0.1:1/native/cb",
    ] {
        browser.start(&borrowed(&request(ok))).await;
    }
    // Anything else must still match exactly; `localhost` is not an IP literal (R8).
    for bad in [
        "http://localhost:51234/native/cb",
        "http://127.0.0.2:51234/native/cb",
        "http://[::1]:51234/native/cb",
        "http://127.0.0.1:51234/native/cb2",
        "http://127.0.0.1:51234/native/cb?x",
        "http://127.0.0.1:99999/native/cb",
        "http://127.0.0.1:/native/cb",
        "http://127.0.0.1:5x/native/cb",
        "https://127.0.0.1:51234/native/cb",
        "http://user@127.0.0.1:51234/native/cb",
    ] {
        browser
            .get(&format!("/authorize?{}", form(&borrowed(&request(bad)))))
            .await
            .assert_page(400);
    }
}

#[tokio::test]
async fn r1_redirect_uri_may_be_omitted_only_when_one_is_registered() {
    let server = TestAs::start().await;
    let mut browser = server.browser();
    // The web client registered two: the parameter is required.
    let params = app_request(&[("redirect_uri", "")]);
    browser
        .get(&format!("/authorize?{}", form(&borrowed(&params))))
        .await
        .assert_page(400);

    // The native client registered one: the response goes there, and the token request must then
    // omit redirect_uri too (the code remembers what the request sent).
    let params = [
        ("response_type", "code".to_string()),
        ("client_id", NATIVE.to_string()),
        ("scope", "openid".to_string()),
        ("state", "xyz".to_string()),
        ("code_challenge", challenge()),
        ("code_challenge_method", "S256".to_string()),
    ];
    let reply = browser.authorize_and_approve(&borrowed(&params)).await;
    let (location, query) = reply.redirect();
    assert_eq!(location, NATIVE_CB);
    let code = query.get("code").unwrap();
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_id", NATIVE),
        ("code_verifier", VERIFIER),
    ];
    let headers = [(
        "Content-Type",
        "application/x-www-form-urlencoded".to_string(),
    )];
    let reply = send(
        server.addr,
        "POST",
        "/token",
        &headers,
        form(&fields).as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[tokio::test]
async fn r3_unknown_client_shows_error_without_redirect() {
    let server = TestAs::start().await;
    let mut browser = server.browser();
    let evil = "https://evil.example/steal";
    for overrides in [
        &[("client_id", "nobody"), ("redirect_uri", evil)][..],
        &[("client_id", ""), ("redirect_uri", evil)],
        &[("redirect_uri", evil)],
        // Another client's registered URI is not this client's.
        &[("redirect_uri", M2M_CB)],
        // Even a request that is otherwise invalid in every way.
        &[
            ("redirect_uri", evil),
            ("response_type", "token"),
            ("code_challenge", ""),
            ("scope", "nope"),
        ],
    ] {
        let params = app_request(overrides);
        let reply = browser
            .get(&format!("/authorize?{}", form(&borrowed(&params))))
            .await;
        reply.assert_page(400);
        assert!(!reply.body.contains("evil.example"));
        assert!(
            reply.all("set-cookie").is_empty(),
            "no pending request was created"
        );
    }
}

#[tokio::test]
async fn r3_malformed_request_shows_error_without_redirect() {
    let server = TestAs::start().await;
    let mut browser = server.browser();
    let valid = form(&borrowed(&app_request(&[])));
    for query in [
        format!("{valid}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb"),
        format!("{valid}&client_id=m2m"),
        format!("{valid}&state=again"),
        format!("{valid}&x=%zz"),
        format!("{valid}&x=%00"),
    ] {
        browser
            .get(&format!("/authorize?{query}"))
            .await
            .assert_page(400);
    }
    browser.get("/authorize").await.assert_page(400);
}

#[tokio::test]
async fn r5_every_authorization_response_carries_iss() {
    let server = TestAs::start().await;
    let mut browser = server.browser();
    // An error before login.
    let reply = browser
        .get(&format!(
            "/authorize?{}",
            form(&borrowed(&app_request(&[("scope", "admin")])))
        ))
        .await;
    assert_error_redirect(&reply, &server, APP_CB, "invalid_scope");
    // A denial.
    let (_, page) = browser.start(&borrowed(&app_request(&[]))).await;
    browser
        .login(&page, ALICE, ALICE_PASSWORD)
        .await
        .assert_page(200);
    let reply = browser.decide(&page, "deny").await;
    assert_error_redirect(&reply, &server, APP_CB, "access_denied");
    // A success.
    let reply = browser
        .authorize_and_approve(&borrowed(&app_request(&[])))
        .await;
    let (location, params) = reply.redirect();
    assert_eq!(location, APP_CB);
    assert!(params.get("code").is_some());
    assert_eq!(params.get("state"), Some("xyz"));
    assert_eq!(params.get("iss"), Some(server.issuer.as_str()));
    // The registered URI's own query is kept.
    let reply = browser
        .authorize_and_approve(&borrowed(&app_request(&[("redirect_uri", APP_CB2)])))
        .await;
    let (location, params) = reply.redirect();
    assert_eq!(location, "https://app.example/other");
    assert_eq!(params.get("x"), Some("1"));
    assert_eq!(params.get("iss"), Some(server.issuer.as_str()));
    // And the metadata says so.
    let metadata = send(
        server.addr,
        "GET",
        umagate_proto::paths::OAUTH_METADATA,
        &[],
        b"",
    )
    .await;
    let metadata: serde_json::Value = serde_json::from_str(&metadata.body).unwrap();
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );
}

#[tokio::test]
async fn r6_redirect_after_login_post_is_303() {
    let server = TestAs::start().await;
    let mut browser = server.browser();
    let (_, page) = browser.start(&borrowed(&app_request(&[]))).await;
    // The credentials post answers with the consent page, not a redirect...
    let consent = browser.login(&page, ALICE, ALICE_PASSWORD).await;
    consent.assert_page(200);
    // ...and the decision posted from it is answered 303, never 307 (which would re-post).
    let reply = browser.decide(&page, "approve").await;
    assert_eq!(reply.status, 303);
    // Denials and pre-login errors too.
    let (_, page) = browser.start(&borrowed(&app_request(&[]))).await;
    assert_eq!(browser.decide(&page, "deny").await.status, 303);
    let reply = browser
        .get(&format!(
            "/authorize?{}",
            form(&borrowed(&app_request(&[("scope", "admin")])))
        ))
        .await;
    assert_eq!(reply.status, 303);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn r7_authorization_endpoint_sends_no_cors_headers() {
    let server = TestAs::start().await;
    let origin = [("Origin", "https://evil.example".to_string())];
    let query = form(&borrowed(&app_request(&[])));
    let get = send(
        server.addr,
        "GET",
        &format!("/authorize?{query}"),
        &origin,
        b"",
    )
    .await;
    let preflight = send(server.addr, "OPTIONS", "/authorize", &origin, b"").await;
    let post = send(server.addr, "POST", "/authorize", &origin, b"").await;
    for reply in [get, preflight, post] {
        assert!(
            !reply
                .headers
                .iter()
                .any(|(n, _)| n.starts_with("access-control-")),
            "{reply:?}"
        );
    }
}

#[test]
fn r8_localhost_names_get_no_loopback_exception() {
    let client = |uri: &str| crate::store::ClientRecord {
        client_id: "c".into(),
        secret_hash: None,
        metadata: umagate_proto::registration::ClientMetadata {
            redirect_uris: vec![uri.into()],
            ..Default::default()
        },
        resource_server: false,
        dynamic: false,
        created_at: 0,
    };
    let v4 = client("http://127.0.0.1:8080/cb");
    assert_eq!(
        resolve_redirect(&v4, Some("http://127.0.0.1:9/cb")).as_deref(),
        Some("http://127.0.0.1:9/cb")
    );
    assert_eq!(
        resolve_redirect(&v4, Some("http://127.0.0.1/cb")).as_deref(),
        Some("http://127.0.0.1/cb")
    );
    assert_eq!(
        resolve_redirect(&v4, Some("http://localhost:8080/cb")),
        None
    );
    assert_eq!(
        resolve_redirect(&v4, Some("http://localhost.evil.test:8080/cb")),
        None
    );
    let v6 = client("http://[::1]/cb");
    assert_eq!(
        resolve_redirect(&v6, Some("http://[::1]:7/cb")).as_deref(),
        Some("http://[::1]:7/cb")
    );
    assert_eq!(resolve_redirect(&v6, Some("http://[::2]:7/cb")), None);
    let https = client("https://app.example/cb");
    assert_eq!(
        resolve_redirect(&https, Some("https://app.example:444/cb")),
        None
    );
    assert_eq!(
        resolve_redirect(&https, None).as_deref(),
        Some("https://app.example/cb")
    );
}

// === C: codes and PKCE ===

#[tokio::test]
async fn c1_pkce_required() {
    let server = TestAs::start().await;
    let mut browser = server.browser();
    for overrides in [
        &[("code_challenge", "")][..],
        &[("code_challenge", ""), ("code_challenge_method", "")],
    ] {
        let reply = browser
            .get(&format!(
                "/authorize?{}",
                form(&borrowed(&app_request(overrides)))
            ))
            .await;
        assert_error_redirect(&reply, &server, APP_CB, "invalid_request");
    }
    // Public clients too.
    let params = [
        ("response_type", "code"),
        ("client_id", NATIVE),
        ("redirect_uri", NATIVE_CB),
        ("scope", "openid"),
        ("state", "xyz"),
    ];
    let reply = browser.get(&format!("/authorize?{}", form(&params))).await;
    assert_error_redirect(&reply, &server, NATIVE_CB, "invalid_request");
}

#[tokio::test]
async fn c2_plain_pkce_refused() {
    let server = TestAs::start().await;
    let mut browser = server.browser();
    let verifier_as_challenge = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    for overrides in [
        &[("code_challenge_method", "plain")][..],
        &[("code_challenge_method", "")],
        &[("code_challenge_method", "s256")],
        &[("code_challenge", "too-short")],
        &[(
            "code_challenge",
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX=",
        )],
        &[
            ("code_challenge", verifier_as_challenge),
            ("code_challenge_method", "plain"),
        ],
    ] {
        let reply = browser
            .get(&format!(
                "/authorize?{}",
                form(&borrowed(&app_request(overrides)))
            ))
            .await;
        assert_error_redirect(&reply, &server, APP_CB, "invalid_request");
    }
}

#[tokio::test]
async fn c9_only_the_code_response_type_exists() {
    let server = TestAs::start().await;
    let mut browser = server.browser();
    for response_type in ["token", "code token", "id_token", "code id_token", "none"] {
        let params = app_request(&[("response_type", response_type)]);
        let reply = browser
            .get(&format!("/authorize?{}", form(&borrowed(&params))))
            .await;
        assert_error_redirect(&reply, &server, APP_CB, "unsupported_response_type");
    }
    let reply = browser
        .get(&format!(
            "/authorize?{}",
            form(&borrowed(&app_request(&[("response_type", "")])))
        ))
        .await;
    assert_error_redirect(&reply, &server, APP_CB, "invalid_request");
}

#[tokio::test]
async fn u6_scopes_must_be_registered_and_grants_too() {
    let server = TestAs::start().await;
    let mut browser = server.browser();
    for scope in ["admin", "read admin", "openid uma_protection"] {
        let reply = browser
            .get(&format!(
                "/authorize?{}",
                form(&borrowed(&app_request(&[("scope", scope)])))
            ))
            .await;
        assert_error_redirect(&reply, &server, APP_CB, "invalid_scope");
    }
    // Without `scope`, the client's registered scopes are asked for.
    let (consent, page) = browser
        .start(&borrowed(&app_request(&[("scope", "")])))
        .await;
    let consent_page = browser.login(&page, ALICE, ALICE_PASSWORD).await;
    assert!(consent.body.contains("Sign in"));
    assert!(
        consent_page.body.contains("<code>read</code>")
            && consent_page.body.contains("<code>write</code>")
    );
    assert!(!consent_page.body.contains("<code>openid</code>"));
    // A client that did not register authorization_code.
    let params = [
        ("response_type", "code".to_string()),
        ("client_id", M2M.to_string()),
        ("redirect_uri", M2M_CB.to_string()),
        ("state", "xyz".to_string()),
        ("code_challenge", challenge()),
        ("code_challenge_method", "S256".to_string()),
    ];
    let reply = browser
        .get(&format!("/authorize?{}", form(&borrowed(&params))))
        .await;
    assert_error_redirect(&reply, &server, M2M_CB, "unauthorized_client");
}

#[tokio::test]
async fn r4_errors_for_self_registered_clients_are_shown_not_redirected() {
    let server = TestAs::start().await;
    let mut app = server.state.store.client(APP).await.unwrap().unwrap();
    app.client_id = "self-registered".into();
    app.dynamic = true;
    assert!(server.state.store.insert_client(&app).await.unwrap());
    let mut browser = server.browser();
    for (name, value) in [
        ("response_type", "token"),
        ("code_challenge_method", "plain"),
        ("scope", "admin"),
    ] {
        let params = app_request(&[("client_id", "self-registered"), (name, value)]);
        let reply = browser
            .get(&format!("/authorize?{}", form(&borrowed(&params))))
            .await;
        reply.assert_page(400);
        assert_eq!(
            reply.header("location"),
            None,
            "{name}={value} was redirected"
        );
    }
    // The same error for a client the administrator registered is redirected, with `iss`.
    let params = app_request(&[("response_type", "token")]);
    let reply = browser
        .get(&format!("/authorize?{}", form(&borrowed(&params))))
        .await;
    assert_eq!(reply.status, 303);
    let (_, query) = reply.redirect();
    assert_eq!(query.get("error"), Some("unsupported_response_type"));
}
