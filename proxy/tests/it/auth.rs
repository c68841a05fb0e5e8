//! Authorization: challenges, RPT checks, caches, AS failures.

use std::sync::atomic::Ordering;

use umagate_proto::jws::SigningKey;

use crate::support::{Setup, now};

fn challenge(r: &http::Response<bytes::Bytes>) -> String {
    let all: Vec<_> = r.headers().get_all("www-authenticate").iter().collect();
    assert_eq!(all.len(), 1, "exactly one WWW-Authenticate");
    all[0].to_str().unwrap().to_string()
}

#[tokio::test]
async fn tokenless_request_gets_the_exact_uma_challenge() {
    let s = Setup::new().await;
    let r = s.get("/albums/a1/photos/p1", &[]).await;
    assert_eq!(r.status(), 401);
    let issuer = s.fake_as.issuer();
    assert_eq!(
        challenge(&r),
        format!(r#"UMA realm="photos", as_uri="{issuer}", ticket="ticket-1""#)
    );
    assert!(s.upstream.seen().is_empty(), "nothing forwarded");
    let resources = s.fake_as.resources();
    assert_eq!(resources.len(), 1);
    assert_eq!(resources[0].owner, "alice");
    assert_eq!(resources[0].description["name"], "album a1 photo p1");
    assert_eq!(resources[0].description["type"], "photo");
    assert_eq!(
        resources[0].description["resource_scopes"],
        serde_json::json!(["delete", "view"])
    );
    let tickets = s.fake_as.tickets();
    assert_eq!(tickets[0].owner, "alice");
    assert_eq!(
        tickets[0].body,
        serde_json::json!([{"resource_id": resources[0].id, "resource_scopes": ["view"]}])
    );
    // Seen again: no second registration, a new ticket.
    let r = s.get("/albums/a1/photos/p1", &[]).await;
    assert!(challenge(&r).ends_with(r#"ticket="ticket-2""#));
    assert_eq!(s.fake_as.resources().len(), 1);
}

#[tokio::test]
async fn malformed_authorization_is_treated_as_tokenless() {
    let s = Setup::new().await;
    for value in ["Basic Ym9iOnB3", "Bearer", "Bearer  two  spaces", "UMA x"] {
        let r = s
            .get("/albums/a1/photos/p1", &[("authorization", value)])
            .await;
        assert_eq!(r.status(), 401, "{value}");
        assert!(challenge(&r).starts_with("UMA realm=\"photos\""));
    }
    assert!(s.upstream.seen().is_empty());
}

/// S-44 (RFC 6750 §5.3): an RPT in the query or a cookie is no credential at all.
#[tokio::test]
async fn s_44_rpts_in_the_query_or_a_cookie_are_ignored() {
    let s = Setup::new().await;
    let id = s.photo_id("a1", "p1").await;
    let rpt = s.fake_as.rpt(&id, &["view"]);
    let in_query = format!("/albums/a1/photos/p1?access_token={rpt}");
    let r = s.get(&in_query, &[]).await;
    assert_eq!(r.status(), 401);
    let cookie = format!("access_token={rpt}");
    let r = s.get("/albums/a1/photos/p1", &[("cookie", &cookie)]).await;
    assert_eq!(r.status(), 401);
    assert!(s.upstream.seen().is_empty());
}

#[tokio::test]
async fn sufficient_rpt_is_forwarded_with_identity_headers() {
    let s = Setup::new().await;
    let id = s.photo_id("a1", "p1").await;
    let rpt = s.fake_as.rpt(&id, &["view"]);
    let auth = format!("Bearer {rpt}");
    let r = s
        .get(
            "/albums/a1/photos/p1?size=big&x=%2F",
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(&r.body()[..], b"upstream says hi");
    assert!(
        !r.headers().contains_key("x-secret-hop"),
        "response hop-by-hop stripped"
    );
    let seen = s.upstream.seen();
    assert_eq!(seen.len(), 1);
    let got = &seen[0];
    assert_eq!(got.method, "GET");
    assert_eq!(got.target, "/albums/a1/photos/p1?size=big&x=%2F");
    assert_eq!(got.header("x-umagate-subject").as_deref(), Some("bob"));
    assert_eq!(got.header("x-umagate-client").as_deref(), Some("photo-app"));
    assert_eq!(got.header("x-umagate-scopes").as_deref(), Some("view"));
    assert_eq!(
        got.header("x-umagate-resource").as_deref(),
        Some(id.as_str())
    );
    assert_eq!(
        got.header("authorization"),
        None,
        "the RPT is not passed on"
    );
    // The second use is served from the verification cache.
    let r = s
        .get("/albums/a1/photos/p1", &[("authorization", &auth)])
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(s.fake_as.jwks_fetches(), 1);
}

#[tokio::test]
async fn rpt_for_another_resource_or_scope_gets_a_new_ticket() {
    let s = Setup::new().await;
    let p1 = s.photo_id("a1", "p1").await;
    let _p2 = s.photo_id("a1", "p2").await;
    let auth = format!("Bearer {}", s.fake_as.rpt(&p1, &["view"]));
    // Cached as good for p1 first: it must never answer for p2 (cache keyed per resource).
    assert_eq!(
        s.get("/albums/a1/photos/p1", &[("authorization", &auth)])
            .await
            .status(),
        200
    );
    let r = s
        .get("/albums/a1/photos/p2", &[("authorization", &auth)])
        .await;
    assert_eq!(r.status(), 401);
    assert!(challenge(&r).ends_with(r#"ticket="ticket-3""#));
    // Same resource, a scope the RPT lacks.
    let r = s
        .send(
            "DELETE",
            "/albums/a1/photos/p1",
            &[("authorization", &auth)],
            Default::default(),
        )
        .await;
    assert_eq!(r.status(), 401);
    let last = s.fake_as.tickets().pop().unwrap();
    assert_eq!(
        last.body[0]["resource_scopes"],
        serde_json::json!(["delete"])
    );
    assert_eq!(
        s.upstream.seen().len(),
        1,
        "only the first request was forwarded"
    );
}

#[tokio::test]
async fn invalid_rpts_are_challenged() {
    let s = Setup::new().await;
    let id = s.photo_id("a1", "p1").await;
    let f = &s.fake_as;
    let mut expired = f.claims(&id, &["view"]);
    expired.exp = now() - 1;
    let mut wrong_aud = f.claims(&id, &["view"]);
    wrong_aud.aud = umagate_proto::claims::Audience::One("other-rs".into());
    let mut wrong_iss = f.claims(&id, &["view"]);
    wrong_iss.iss = "http://127.0.0.1:1".into();
    let mut not_yet = f.claims(&id, &["view"]);
    not_yet.nbf = Some(now() + 600);
    let mut permission_expired = f.claims(&id, &["view"]);
    permission_expired.permissions[0].exp = Some(now() - 1);
    let forger = SigningKey::generate("k1").unwrap();
    let good = f.sign(&f.claims(&id, &["view"]));
    let mut tampered = good.clone();
    tampered.replace_range(good.len() - 4.., "AAAA");
    let tokens = [
        ("expired", f.sign(&expired)),
        ("wrong aud", f.sign(&wrong_aud)),
        ("wrong iss", f.sign(&wrong_iss)),
        ("nbf in the future", f.sign(&not_yet)),
        ("permission expired", f.sign(&permission_expired)),
        (
            "bad signature",
            forger.sign("JWT", &f.claims(&id, &["view"])).unwrap(),
        ),
        ("tampered", tampered),
        ("not a JWT", "opaque-token".into()),
    ];
    for (what, token) in tokens {
        let r = s
            .get(
                "/albums/a1/photos/p1",
                &[("authorization", &format!("Bearer {token}"))],
            )
            .await;
        assert_eq!(r.status(), 401, "{what}");
        challenge(&r);
    }
    assert!(s.upstream.seen().is_empty());
    let ok = s
        .get(
            "/albums/a1/photos/p1",
            &[("authorization", &format!("Bearer {good}"))],
        )
        .await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn unknown_kid_refreshes_the_jwks_once() {
    let s = Setup::new().await;
    let id = s.photo_id("a1", "p1").await;
    let first = format!("Bearer {}", s.fake_as.rpt(&id, &["view"]));
    assert_eq!(
        s.get("/albums/a1/photos/p1", &[("authorization", &first)])
            .await
            .status(),
        200
    );
    let before = s.fake_as.jwks_fetches();
    let rotated = SigningKey::generate("k2").unwrap();
    s.fake_as.publish(&rotated);
    let token = rotated
        .sign("JWT", &s.fake_as.claims(&id, &["view"]))
        .unwrap();
    let r = s
        .get(
            "/albums/a1/photos/p1",
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(s.fake_as.jwks_fetches(), before + 1);
    // Another unknown kid within the minimum interval: no fetch, refused.
    let stranger = SigningKey::generate("k3").unwrap();
    let token = stranger
        .sign("JWT", &s.fake_as.claims(&id, &["view"]))
        .unwrap();
    let r = s
        .get(
            "/albums/a1/photos/p1",
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await;
    assert_eq!(r.status(), 401);
    assert_eq!(s.fake_as.jwks_fetches(), before + 1);
}

#[tokio::test]
async fn a_withdrawn_key_stops_being_trusted() {
    let s = Setup::with(|c| {
        c.replace(
            "jwks_min_refresh_secs = 60",
            "jwks_min_refresh_secs = 60\njwks_max_age_secs = 0",
        )
    })
    .await;
    let id = s.photo_id("a1", "p1").await;
    let first = format!("Bearer {}", s.fake_as.rpt(&id, &["view"]));
    assert_eq!(
        s.get("/albums/a1/photos/p1", &[("authorization", &first)])
            .await
            .status(),
        200
    );
    let rotated = SigningKey::generate("k2").unwrap();
    *s.fake_as.state.keys.lock().unwrap() = vec![rotated.public_jwk()];
    let mut claims = s.fake_as.claims(&id, &["view"]);
    claims.jti = "another".into();
    let old_key = format!("Bearer {}", s.fake_as.sign(&claims));
    assert_eq!(
        s.get("/albums/a1/photos/p1", &[("authorization", &old_key)])
            .await
            .status(),
        401
    );
    let new_key = format!("Bearer {}", rotated.sign("JWT", &claims).unwrap());
    assert_eq!(
        s.get("/albums/a1/photos/p1", &[("authorization", &new_key)])
            .await
            .status(),
        200
    );
    assert_eq!(s.upstream.seen().len(), 2);
}

#[tokio::test]
async fn failing_as_means_403_with_warning_and_nothing_forwarded() {
    // An AS that answers discovery but fails everything else.
    let s = Setup::new().await;
    s.fake_as.state.failing.store(true, Ordering::SeqCst);
    let r = s
        .get("/albums/a1/photos/p1", &[("authorization", "Bearer abc")])
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.headers()["warning"],
        "199 - \"UMA Authorization Server Unreachable\""
    );
    assert!(!r.headers().contains_key("www-authenticate"));
    let body: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(s.upstream.seen().is_empty());
}

#[tokio::test]
async fn unreachable_as_means_403() {
    let fake = crate::support::FakeAs::start().await;
    let upstream = crate::support::Upstream::start().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let text = crate::support::config(&format!("http://{closed}"), &upstream.url(), "");
    let proxy = umagate_proxy::Proxy::bind(umagate_proxy::Config::from_toml(&text).unwrap())
        .await
        .unwrap();
    let s = Setup {
        fake_as: fake,
        upstream,
        proxy,
    };
    let r = s.get("/albums/a1/photos/p1", &[]).await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.headers()["warning"],
        "199 - \"UMA Authorization Server Unreachable\""
    );
    assert!(s.upstream.seen().is_empty());
    assert!(!s.proxy.is_ready());
}

#[tokio::test]
async fn a_silent_as_opens_the_breaker() {
    // An AS that accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    let upstream = crate::support::Upstream::start().await;
    let text = crate::support::config(&format!("http://{addr}"), &upstream.url(), "")
        .replace(
            "jwks_min_refresh_secs = 60",
            "jwks_min_refresh_secs = 60\nbreaker_ms = 60000",
        )
        .replace(
            "[upstreams.photos]",
            "[timeouts]\nas_call_ms = 200\n\n[upstreams.photos]",
        );
    let proxy = umagate_proxy::Proxy::bind(umagate_proxy::Config::from_toml(&text).unwrap())
        .await
        .unwrap();
    let s = Setup {
        fake_as: crate::support::FakeAs::start().await,
        upstream,
        proxy,
    };
    let first = s.get("/albums/a1/photos/p1", &[]).await;
    assert_eq!(first.status(), 403);
    let calls = accepted.load(Ordering::SeqCst);
    assert!(calls >= 1);
    let started = std::time::Instant::now();
    for _ in 0..3 {
        let r = s.get("/albums/a1/photos/p1", &[]).await;
        assert_eq!(r.status(), 403);
        assert_eq!(
            r.headers()["warning"],
            "199 - \"UMA Authorization Server Unreachable\""
        );
    }
    assert!(
        started.elapsed() < std::time::Duration::from_millis(200),
        "answered without waiting"
    );
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        calls,
        "no new call while the breaker is open"
    );
    assert!(s.upstream.seen().is_empty());
}

#[tokio::test]
async fn a_resource_deleted_at_the_as_is_registered_again() {
    let s = Setup::new().await;
    let old = s.photo_id("a1", "p1").await;
    s.fake_as.state.resources.lock().unwrap().clear();
    let r = s.get("/albums/a1/photos/p1", &[]).await;
    assert_eq!(r.status(), 401);
    let new = s.fake_as.resource_id("album a1 photo p1");
    assert_ne!(new, old);
    assert_eq!(
        s.fake_as.tickets().last().unwrap().body[0]["resource_id"],
        new.as_str()
    );
    // An RPT for the old id no longer matches the resource.
    let auth = format!("Bearer {}", s.fake_as.rpt(&old, &["view"]));
    assert_eq!(
        s.get("/albums/a1/photos/p1", &[("authorization", &auth)])
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn owner_from_the_path_names_the_owner_at_the_as() {
    let s = Setup::new().await;
    let r = s.get("/users/carol/notes", &[]).await;
    assert_eq!(r.status(), 401);
    assert_eq!(s.fake_as.resources()[0].owner, "carol");
    assert_eq!(s.fake_as.tickets()[0].owner, "carol");
}

#[tokio::test]
async fn a_refused_pat_is_fetched_again_once() {
    let s = Setup::new().await;
    assert_eq!(s.get("/albums/a1/photos/p1", &[]).await.status(), 401);
    let calls = s.fake_as.state.token_calls.load(Ordering::SeqCst);
    s.fake_as.state.pats.lock().unwrap().clear();
    let r = s.get("/albums/a1/photos/p1", &[]).await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        s.fake_as.state.token_calls.load(Ordering::SeqCst),
        calls + 1
    );
}

#[tokio::test]
async fn a_pat_is_renewed_before_it_expires() {
    let s = Setup::new().await;
    // A one-second PAT is due at once (renewal margin), so every use fetches a new one.
    s.fake_as.state.pat_lifetime.store(1, Ordering::SeqCst);
    s.fake_as.state.pats.lock().unwrap().clear();
    assert_eq!(s.get("/albums/a1/photos/p1", &[]).await.status(), 401);
    let calls = s.fake_as.state.token_calls.load(Ordering::SeqCst);
    assert_eq!(s.get("/albums/a1/photos/p1", &[]).await.status(), 401);
    assert!(s.fake_as.state.token_calls.load(Ordering::SeqCst) > calls);
    // A long-lived PAT is reused.
    s.fake_as.state.pat_lifetime.store(3600, Ordering::SeqCst);
    assert_eq!(s.get("/albums/a1/photos/p1", &[]).await.status(), 401);
    let calls = s.fake_as.state.token_calls.load(Ordering::SeqCst);
    assert_eq!(s.get("/albums/a1/photos/p1", &[]).await.status(), 401);
    assert_eq!(s.fake_as.state.token_calls.load(Ordering::SeqCst), calls);
}

#[tokio::test]
async fn registration_is_idempotent_across_proxy_restarts() {
    let s = Setup::new().await;
    s.photo_id("a1", "p1").await;
    let text = crate::support::config(&s.fake_as.issuer(), &s.upstream.url(), "");
    let second = umagate_proxy::Proxy::bind(umagate_proxy::Config::from_toml(&text).unwrap())
        .await
        .unwrap();
    let r = crate::support::raw(
        second.http_addrs()[0],
        b"GET /albums/a1/photos/p1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 401"), "{r}");
    assert_eq!(
        s.fake_as.resources().len(),
        1,
        "adopted, not registered twice"
    );
    second.shutdown().await;
}

fn introspection(c: String, secs: u64) -> String {
    c.replace(
        "jwks_min_refresh_secs = 60",
        &format!("jwks_min_refresh_secs = 60\nrpt_mode = \"introspection\"\nintrospection_cache_secs = {secs}"),
    )
}

#[tokio::test]
async fn introspection_mode_and_its_staleness_bound() {
    for (secs, after_revocation) in [(0, 401), (60, 200)] {
        let s = Setup::with(|c| introspection(c, secs)).await;
        let id = s.photo_id("a1", "p1").await;
        let active = serde_json::json!({
            "active": true, "sub": "bob", "client_id": "photo-app", "exp": now() + 600,
            "permissions": [{"resource_id": id, "resource_scopes": ["view"]}]
        });
        s.fake_as
            .state
            .active
            .lock()
            .unwrap()
            .insert("opaque-rpt".into(), active);
        let auth = [("authorization", "Bearer opaque-rpt")];
        assert_eq!(s.get("/albums/a1/photos/p1", &auth).await.status(), 200);
        assert_eq!(
            s.upstream.seen()[0].header("x-umagate-subject").as_deref(),
            Some("bob")
        );
        // The cached answer must not let the token reach another resource.
        assert_eq!(s.get("/albums/a1/photos/p2", &auth).await.status(), 401);
        s.fake_as.state.active.lock().unwrap().clear();
        assert_eq!(
            s.get("/albums/a1/photos/p1", &auth).await.status(),
            after_revocation,
            "cache {secs}s"
        );
    }
}
