//! B statements, CSRF, login throttling and pending requests: the pages and their forms.

use crate::http::browser::throttle::MAX_FAILURES;
use crate::http::now;
use crate::http::testkit::*;
use crate::secrets;

/// The login page, the consent page and an error page.
async fn three_pages(server: &TestAs) -> Vec<Reply> {
    let mut browser = server.browser();
    let (login, page) = browser.start(&borrowed(&app_request(&[]))).await;
    let consent = browser.login(&page, ALICE, ALICE_PASSWORD).await;
    let error = browser.get("/authorize?client_id=nobody").await;
    vec![login, consent, error]
}

#[tokio::test]
async fn b1_pages_forbid_framing() {
    let server = TestAs::start().await;
    for page in three_pages(&server).await {
        assert_eq!(page.header("x-frame-options"), Some("DENY"));
        let csp = page.header("content-security-policy").unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert_eq!(
            page.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(page.header("cache-control"), Some("no-store"));
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    }
}

#[tokio::test]
async fn b2_pages_send_no_referrer_and_load_nothing() {
    let server = TestAs::start().await;
    for page in three_pages(&server).await {
        assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
        let body = page.body.to_ascii_lowercase();
        for forbidden in [
            "<script", "src=", "<link", "<img", "<iframe", "<object", "<embed", "url(", "@import",
        ] {
            assert!(!body.contains(forbidden), "{forbidden} in {body}");
        }
        // No event-handler attributes (` onclick=`, ` onload=`, ...).
        let handlers = body.match_indices(" on").filter(|(i, _)| {
            let name: String = body[i + 3..]
                .chars()
                .take_while(char::is_ascii_alphabetic)
                .collect();
            !name.is_empty() && body[i + 3 + name.len()..].starts_with('=')
        });
        assert_eq!(handlers.count(), 0, "{body}");
    }
}

#[tokio::test]
async fn b3_consent_for_one_request_cannot_approve_another() {
    let server = TestAs::start().await;
    let mut browser = server.browser();
    let (_, a) = browser.start(&borrowed(&app_request(&[]))).await;
    let (_, b) = browser
        .start(&borrowed(&app_request(&[
            ("scope", "openid"),
            ("state", "for-b"),
        ])))
        .await;
    assert_ne!(a.csrf, b.csrf, "each request has its own token");
    browser
        .login(&a, ALICE, ALICE_PASSWORD)
        .await
        .assert_page(200);
    // A's token with B's id, and B's token with A's id: refused, nothing consumed.
    for crossed in [
        PageForm {
            request: b.request.clone(),
            csrf: a.csrf.clone(),
        },
        PageForm {
            request: a.request.clone(),
            csrf: b.csrf.clone(),
        },
    ] {
        for action in ["approve", "deny", "login"] {
            browser.decide(&crossed, action).await.assert_page(403);
        }
    }
    // Each still works with its own token. B's consent page had not been shown to this session,
    // so it is shown first.
    let reply = browser.decide(&a, "approve").await;
    assert_eq!(reply.redirect().1.get("state"), Some("xyz"));
    browser.decide(&b, "approve").await.assert_page(200);
    let reply = browser.decide(&b, "approve").await;
    assert_eq!(reply.redirect().1.get("state"), Some("for-b"));
}

#[tokio::test]
async fn b4_request_started_in_one_browser_cannot_be_completed_in_another() {
    let server = TestAs::start().await;
    // The attacker starts a request and signs in as himself to get a consent page.
    server.add_user("mallory").await;
    let mut attacker = server.browser();
    let (_, planted) = attacker.start(&borrowed(&app_request(&[]))).await;
    attacker
        .login(&planted, "mallory", ALICE_PASSWORD)
        .await
        .assert_page(200);
    // The victim is signed in in her own browser.
    let mut victim = server.browser();
    let (_, own) = victim.start(&borrowed(&app_request(&[]))).await;
    victim
        .login(&own, ALICE, ALICE_PASSWORD)
        .await
        .assert_page(200);
    // The attacker's form, submitted from the victim's browser (her session, not his token).
    for action in ["approve", "deny", "login"] {
        victim.decide(&planted, action).await.assert_page(403);
    }
    // Even with the attacker's CSRF cookie planted in her jar, the consent page was shown to
    // another session, so nothing is approved: she is shown the consent page instead.
    for (name, value) in attacker
        .jar
        .iter()
        .filter(|(n, _)| n.starts_with("umagate_csrf_"))
    {
        victim.jar.insert(name.clone(), value.clone());
    }
    victim.decide(&planted, "approve").await.assert_page(200);
}

#[tokio::test]
async fn b5_consent_is_shown_every_time() {
    let server = TestAs::start().await;
    let mut browser = server.browser();
    browser
        .authorize_and_approve(&borrowed(&app_request(&[])))
        .await
        .redirect();
    assert!(browser.has_session());
    // Signed in and approved before: the consent page again, never a silent redirect.
    let (consent, page) = browser.start(&borrowed(&app_request(&[]))).await;
    assert!(consent.body.contains("Allow access?"));
    assert!(
        consent.body.contains("Example &lt;App&gt;"),
        "the client is named, escaped"
    );
    for scope in ["openid", "email", "profile", "read"] {
        assert!(
            consent.body.contains(&format!("<code>{scope}</code>")),
            "{scope}"
        );
    }
    assert!(
        consent.body.contains("https://app.example"),
        "the destination is named"
    );
    let reply = browser.decide(&page, "approve").await;
    assert!(reply.redirect().1.get("code").is_some());
}

#[tokio::test]
async fn csrf_token_must_match_cookie() {
    let server = TestAs::start().await;
    let mut browser = server.browser();
    let (_, page) = browser.start(&borrowed(&app_request(&[]))).await;
    let csrf_cookie = browser
        .jar
        .keys()
        .find(|n| n.starts_with("umagate_csrf_"))
        .unwrap()
        .clone();
    let other = secrets::new_handle().unwrap();
    // The field differs from the cookie.
    let wrong = PageForm {
        request: page.request.clone(),
        csrf: other.clone(),
    };
    browser
        .login(&wrong, ALICE, ALICE_PASSWORD)
        .await
        .assert_page(403);
    // The field is missing.
    let missing = PageForm {
        request: page.request.clone(),
        csrf: String::new(),
    };
    browser
        .login(&missing, ALICE, ALICE_PASSWORD)
        .await
        .assert_page(403);
    // Cookie and field agree, but on a token not bound to this request.
    let real = browser
        .jar
        .insert(csrf_cookie.clone(), other.clone())
        .unwrap();
    browser
        .login(&wrong, ALICE, ALICE_PASSWORD)
        .await
        .assert_page(403);
    // No cookie at all.
    browser.jar.remove(&csrf_cookie);
    browser
        .login(&page, ALICE, ALICE_PASSWORD)
        .await
        .assert_page(403);
    assert!(!browser.has_session(), "no login happened");
    // The genuine pair.
    browser.jar.insert(csrf_cookie, real);
    browser
        .login(&page, ALICE, ALICE_PASSWORD)
        .await
        .assert_page(200);
    assert!(browser.has_session());
}

#[tokio::test]
async fn csrf_and_session_cookies_have_safe_attributes() {
    let server = TestAs::start().await;
    let mut browser = server.browser();
    let (login, page) = browser.start(&borrowed(&app_request(&[]))).await;
    let csrf = login.header("set-cookie").unwrap();
    assert!(csrf.starts_with("umagate_csrf_"), "{csrf}");
    assert!(
        csrf.ends_with("; Max-Age=600; Path=/authorize; HttpOnly; SameSite=Strict"),
        "{csrf}"
    );
    let consent = browser.login(&page, ALICE, ALICE_PASSWORD).await;
    let session = consent.header("set-cookie").unwrap();
    let expected = format!(
        "; Max-Age={}; Path=/; HttpOnly; SameSite=Lax",
        server.state.config.tokens.session_secs
    );
    assert!(
        session.starts_with("umagate_session=") && session.ends_with(&expected),
        "{session}"
    );
    // The session is stored by digest only.
    let id = browser.jar["umagate_session"].clone();
    assert!(
        server
            .state
            .store
            .session(&id, now())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        server
            .state
            .store
            .session(&secrets::digest(&id), now())
            .await
            .unwrap()
            .is_some()
    );
    // Completing the request removes its CSRF cookie.
    let done = browser.decide(&page, "approve").await;
    assert!(done.header("set-cookie").unwrap().contains("=; Max-Age=0;"));
    assert!(!browser.jar.keys().any(|n| n.starts_with("umagate_csrf_")));
}

#[tokio::test]
async fn login_is_rate_limited() {
    let server = TestAs::start().await;
    server.add_user("carol").await;
    let mut browser = server.browser();
    let (_, page) = browser.start(&borrowed(&app_request(&[]))).await;
    for _ in 0..MAX_FAILURES {
        let reply = browser.login(&page, "carol", "wrong").await;
        reply.assert_page(200);
        assert_eq!(reply.notice(), Some("Incorrect username or password."));
    }
    // Now even the right password is not checked.
    let reply = browser.login(&page, "carol", ALICE_PASSWORD).await;
    reply.assert_page(429);
    let retry: i64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 300, "{retry}");
    assert!(!browser.has_session());
    // Other users are not affected, and unknown usernames are limited the same way.
    browser
        .login(&page, ALICE, ALICE_PASSWORD)
        .await
        .assert_page(200);
    let (_, page) = browser.start(&borrowed(&app_request(&[]))).await;
    for _ in 0..MAX_FAILURES {
        browser
            .login(&page, "nobody", "wrong")
            .await
            .assert_page(200);
    }
    browser
        .login(&page, "nobody", "wrong")
        .await
        .assert_page(429);
}

#[tokio::test]
async fn login_failures_do_not_reveal_whether_the_user_exists() {
    let server = TestAs::start().await;
    let mut browser = server.browser();
    let (_, page) = browser.start(&borrowed(&app_request(&[]))).await;
    let unknown = browser.login(&page, "zed", "wrong").await;
    let wrong = browser.login(&page, ALICE, "wrong").await;
    assert_eq!(
        (unknown.status, unknown.notice()),
        (wrong.status, wrong.notice())
    );
    assert_eq!(unknown.body.replace("zed", "alice"), wrong.body);
}

#[tokio::test]
async fn pages_escape_what_they_echo() {
    let server = TestAs::start().await;
    let mut browser = server.browser();
    let (login, page) = browser.start(&borrowed(&app_request(&[]))).await;
    assert!(login.body.contains("Example &lt;App&gt;") && !login.body.contains("<App>"));
    let attack = "\"><script>alert(1)</script>";
    let reply = browser.login(&page, attack, "x").await;
    assert!(!reply.body.contains(attack));
    assert!(
        reply
            .body
            .contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\"")
    );
}

#[tokio::test]
async fn pending_requests_are_single_use() {
    let server = TestAs::start().await;
    let mut browser = server.browser();
    let (_, page) = browser.start(&borrowed(&app_request(&[]))).await;
    browser
        .login(&page, ALICE, ALICE_PASSWORD)
        .await
        .assert_page(200);
    // The CSRF cookie is removed on completion; keep a copy to replay with.
    let jar = browser.jar.clone();
    browser.decide(&page, "approve").await.redirect();
    browser.jar = jar;
    for action in ["approve", "deny", "login"] {
        let reply = browser.decide(&page, action).await;
        reply.assert_page(400);
        assert_eq!(
            reply
                .notice()
                .map(|n| n.contains("expired or was already completed")),
            Some(true)
        );
    }
}

#[tokio::test]
async fn pending_requests_expire_and_are_consumed_once_under_concurrency() {
    let server = TestAs::start().await;
    let store = &server.state.store;
    let now = now();
    store
        .insert_pending_authorization("r", "c", Some("s"), "{}", now + 600, now)
        .await
        .unwrap();
    assert!(
        store
            .pending_authorization("r", now + 599)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .pending_authorization("r", now + 600)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .consume_pending_authorization("r", "c", "s", now + 600)
            .await
            .unwrap()
            .is_none()
    );
    // Bound to its token and session.
    assert!(
        store
            .consume_pending_authorization("r", "other", "s", now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .consume_pending_authorization("r", "c", "other", now)
            .await
            .unwrap()
            .is_none()
    );
    // N concurrent consumers, one winner.
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .consume_pending_authorization("r", "c", "s", now)
                    .await
                    .unwrap()
                    .is_some()
            })
        })
        .collect();
    let mut winners = 0;
    for a in attempts {
        winners += usize::from(a.await.unwrap());
    }
    assert_eq!(winners, 1);
    // Expired rows are swept when new requests arrive.
    store
        .insert_pending_authorization("r2", "c", None, "{}", now + 10, now)
        .await
        .unwrap();
    assert!(
        store
            .pending_authorization("r2", now)
            .await
            .unwrap()
            .is_some()
    );
    store
        .insert_pending_authorization("r3", "c", None, "{}", now + 1200, now + 11)
        .await
        .unwrap();
    assert!(
        store
            .pending_authorization("r2", now)
            .await
            .unwrap()
            .is_none()
    );
}
