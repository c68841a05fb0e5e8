//! Request hygiene: framing, paths, spoofed and hop-by-hop headers, forwarding headers,
//! upgrades, limits — each test checks what the upstream received.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::Setup;

fn status(raw: &str) -> &str {
    raw.get(9..12).unwrap_or("")
}

#[tokio::test]
async fn framing_ambiguities_are_refused() {
    let s = Setup::new().await;
    let cases: [&[u8]; 5] = [
        b"POST /public/a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST /public/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n",
        b"POST /public/a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
        b"POST /public/a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy",
        b"POST /public/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ];
    for case in cases {
        let r = s.raw(case).await;
        assert_eq!(status(&r), "400", "{}: {r}", String::from_utf8_lossy(case));
    }
    // A smuggling attempt after a clean keep-alive request is refused too.
    let r = s
        .raw(b"GET /public/ok HTTP/1.1\r\nHost: x\r\n\r\nPOST /public/b HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /albums/a1/photos/p1 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(r.contains("HTTP/1.1 400"), "{r}");
    let seen = s.upstream.seen();
    assert_eq!(seen.len(), 1, "only the clean request was forwarded");
    assert_eq!(seen[0].target, "/public/ok");
}

#[tokio::test]
async fn control_characters_in_headers_and_paths_are_refused() {
    let s = Setup::new().await;
    for case in [
        &b"GET /public/a HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\nConnection: close\r\n\r\n"[..],
        b"GET /public/a%00b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /public/a%0d%0aX-Injected:%201 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ] {
        let r = s.raw(case).await;
        assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    }
    assert!(s.upstream.seen().is_empty());
}

#[tokio::test]
async fn path_tricks_are_refused_or_resolved_before_the_decision() {
    let s = Setup::new().await;
    let refused = [
        "/public/a%2Fb",
        "/public/..%2F..%2Falbums/a1/photos/p1",
        "/public/..;/albums/a1/photos/p1",
        "/public/a;jsessionid=1",
        "/public/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/public/a%5Cb",
        "/public/a%252F",
        "/public/%c0%ae%c0%ae/x",
    ];
    for path in refused {
        let r = s
            .raw(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
            .await;
        assert!(r.starts_with("HTTP/1.1 400"), "{path}: {r}");
    }
    // Traversal that resolves inside the root is decided on the resolved path: protected.
    let r = s
        .get("/public/%2e%2e/albums/a1/./photos/x/../p1", &[])
        .await;
    assert_eq!(r.status(), 401);
    // Absolute-form targets are not accepted.
    let r = s
        .raw(b"GET http://evil/public/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    assert!(s.upstream.seen().is_empty());
    // A path that needs normalizing is forwarded in its canonical form.
    let r = s.get("/public//a/./b/../%7Ec%3a", &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(s.upstream.seen()[0].target, "/public/a/~c%3A");
}

#[tokio::test]
async fn encoded_slashes_can_be_allowed_by_configuration() {
    let s = Setup::with(|c| {
        c.replace(
            "[upstreams.photos]",
            "[path]\nallow_encoded_slash = true\n\n[upstreams.photos]",
        )
    })
    .await;
    assert_eq!(s.get("/public/a%2fb", &[]).await.status(), 200);
    assert_eq!(s.upstream.seen()[0].target, "/public/a%2Fb");
}

#[tokio::test]
async fn unmatched_routes_are_denied() {
    let s = Setup::new().await;
    let r = s.get("/admin", &[]).await;
    assert_eq!(r.status(), 404);
    let body: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
    assert_eq!(body["error"], "not_found");
    // A protected path with a method that has no scopes, and a lower-case method.
    assert_eq!(
        s.send("PUT", "/albums/a1/photos/p1", &[], Default::default())
            .await
            .status(),
        404
    );
    let r = s
        .raw(b"get /albums/a1/photos/p1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    assert!(r.starts_with("HTTP/1.1 404"), "{r}");
    assert!(s.upstream.seen().is_empty());
}

#[tokio::test]
async fn public_routes_are_forwarded_without_authorization() {
    let s = Setup::new().await;
    let r = s
        .send(
            "POST",
            "/public/upload?x=1",
            &[("content-type", "text/plain")],
            "hello".into(),
        )
        .await;
    assert_eq!(r.status(), 200);
    let got = &s.upstream.seen()[0];
    assert_eq!(
        (got.method.as_str(), got.target.as_str()),
        ("POST", "/public/upload?x=1")
    );
    assert_eq!(&got.body[..], b"hello");
    assert_eq!(got.header("x-umagate-subject"), None);
}

#[tokio::test]
async fn spoofed_identity_headers_never_reach_the_upstream() {
    let s = Setup::new().await;
    let id = s.photo_id("a1", "p1").await;
    let auth = format!("Bearer {}", s.fake_as.rpt(&id, &["view"]));
    let spoofed = [
        ("authorization", auth.as_str()),
        ("x-umagate-subject", "mallory"),
        ("X-UMAGATE-CLIENT", "evil"),
        ("X_Umagate_Subject", "mallory"),
        ("x.umagate.subject", "mallory"),
        ("x-umagate-scopes", "admin"),
        ("x_umagate_scopes", "admin"),
        ("x-umagate-extra", "1"),
        ("x-original-url", "/admin"),
        ("x-http-method-override", "DELETE"),
    ];
    assert_eq!(s.get("/albums/a1/photos/p1", &spoofed).await.status(), 200);
    assert_eq!(s.get("/public/x", &spoofed[1..]).await.status(), 200);
    let seen = s.upstream.seen();
    let protected = &seen[0];
    assert_eq!(protected.all("x-umagate-subject"), vec!["bob"]);
    assert_eq!(protected.all("x-umagate-client"), vec!["photo-app"]);
    assert_eq!(protected.all("x-umagate-scopes"), vec!["view"]);
    for got in &seen {
        for name in [
            "x_umagate_subject",
            "x.umagate.subject",
            "x_umagate_scopes",
            "x-umagate-extra",
            "x-original-url",
            "x-http-method-override",
        ] {
            assert!(!got.headers.contains_key(name), "{name} forwarded");
        }
    }
    assert_eq!(
        seen[1].header("x-umagate-subject"),
        None,
        "public route: nothing asserted"
    );
}

#[tokio::test]
async fn hop_by_hop_abuse_cannot_strip_or_inject() {
    let s = Setup::new().await;
    let id = s.photo_id("a1", "p1").await;
    let auth = format!("Bearer {}", s.fake_as.rpt(&id, &["view"]));
    let headers = [
        ("authorization", auth.as_str()),
        ("connection", "x-umagate-subject, x-forwarded-for, x-custom"),
        ("x-custom", "dropped"),
        ("keep-alive", "timeout=5"),
        ("proxy-authorization", "Basic eA=="),
        ("te", "trailers"),
        ("x-kept", "kept"),
    ];
    assert_eq!(s.get("/albums/a1/photos/p1", &headers).await.status(), 200);
    let got = &s.upstream.seen()[0];
    assert_eq!(got.header("x-umagate-subject").as_deref(), Some("bob"));
    assert_eq!(got.header("x-forwarded-for").as_deref(), Some("127.0.0.1"));
    assert_eq!(got.header("x-kept").as_deref(), Some("kept"));
    for name in ["x-custom", "keep-alive", "proxy-authorization", "te"] {
        assert!(!got.headers.contains_key(name), "{name} forwarded");
    }
    // Naming `Host` in `Connection` does not leave the upstream without one.
    let r = s
        .get(
            "/public/h",
            &[
                ("connection", "host, content-type"),
                ("host", "photos.example"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        s.upstream.seen()[1].header("host").as_deref(),
        Some("photos.example")
    );
    assert!(
        got.header("connection")
            .is_none_or(|c| !c.contains("x-umagate"))
    );
}

#[tokio::test]
async fn forwarded_headers_from_an_untrusted_peer_are_replaced() {
    let s = Setup::new().await;
    let spoof = [
        ("x-forwarded-for", "1.2.3.4"),
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-proto", "https"),
        ("x_forwarded_for", "5.6.7.8"),
        ("forwarded", "for=1.2.3.4"),
        ("x-real-ip", "1.2.3.4"),
        ("host", "photos.example"),
    ];
    assert_eq!(s.get("/public/a", &spoof).await.status(), 200);
    let got = &s.upstream.seen()[0];
    assert_eq!(got.all("x-forwarded-for"), vec!["127.0.0.1"]);
    assert_eq!(
        got.header("x-forwarded-host").as_deref(),
        Some("photos.example")
    );
    assert_eq!(got.header("x-forwarded-proto").as_deref(), Some("http"));
    assert_eq!(got.header("host").as_deref(), Some("photos.example"));
    for name in ["x_forwarded_for", "forwarded", "x-real-ip"] {
        assert!(!got.headers.contains_key(name), "{name} forwarded");
    }
}

#[tokio::test]
async fn forwarded_headers_from_a_trusted_hop_are_extended() {
    let s = Setup::with(|c| {
        c.replace(
            "admin = \"127.0.0.1:0\"",
            "admin = \"127.0.0.1:0\"\ntrusted_hops = [\"127.0.0.0/8\"]",
        )
    })
    .await;
    let headers = [
        ("x-forwarded-for", "1.2.3.4"),
        ("x-forwarded-proto", "https"),
        ("x_forwarded_for", "6.6.6.6"),
    ];
    assert_eq!(s.get("/public/a", &headers).await.status(), 200);
    let got = &s.upstream.seen()[0];
    assert_eq!(
        got.header("x-forwarded-for").as_deref(),
        Some("1.2.3.4, 127.0.0.1")
    );
    assert_eq!(got.header("x-forwarded-proto").as_deref(), Some("https"));
    assert!(
        !got.headers.contains_key("x_forwarded_for"),
        "aliases are never trusted"
    );
}

#[tokio::test]
async fn upgrades_are_forwarded_only_after_authorization() {
    let s = Setup::new().await;
    let id = s.photo_id("a1", "p1").await;
    // Without an RPT: challenged; the bytes after the request never reach the upstream.
    let r = s
        .raw(b"GET /albums/a1/photos/p1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nGET /admin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    assert!(r.starts_with("HTTP/1.1 401"), "{r}");
    assert!(s.upstream.seen().is_empty(), "nothing forwarded");
    // With one: the upstream's 101 is relayed and bytes flow both ways.
    let rpt = s.fake_as.rpt(&id, &["view"]);
    let mut stream = tokio::net::TcpStream::connect(s.addr()).await.unwrap();
    let request = format!(
        "GET /albums/a1/photos/p1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {rpt}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let mut head = String::new();
    while !head.contains("\r\n\r\n") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed early: {head}");
        head.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    stream.write_all(b"ping").await.unwrap();
    let mut echo = [0u8; 4];
    stream.read_exact(&mut echo).await.unwrap();
    assert_eq!(&echo, b"ping");
    let got = &s.upstream.seen()[0];
    assert_eq!(got.header("upgrade").as_deref(), Some("websocket"));
    assert_eq!(got.header("x-umagate-subject").as_deref(), Some("bob"));
}

#[tokio::test]
async fn request_bodies_over_the_limit_are_refused() {
    let s = Setup::with(|c| {
        c.replace(
            "[upstreams.photos]",
            "[limits]\nmax_request_body_bytes = 4\n\n[upstreams.photos]",
        )
    })
    .await;
    let r = s.send("POST", "/public/a", &[], "too long".into()).await;
    assert_eq!(r.status(), 413);
    assert!(s.upstream.seen().is_empty());
    assert_eq!(
        s.send("POST", "/public/a", &[], "ok".into()).await.status(),
        200
    );
}

#[tokio::test]
async fn oversized_header_blocks_are_refused() {
    let s = Setup::with(|c| {
        c.replace(
            "[upstreams.photos]",
            "[limits]\nmax_headers = 10\nmax_header_bytes = 8192\n\n[upstreams.photos]",
        )
    })
    .await;
    let many: String = (0..20).map(|i| format!("X-H{i}: v\r\n")).collect();
    let r = s
        .raw(
            format!("GET /public/a HTTP/1.1\r\nHost: x\r\n{many}Connection: close\r\n\r\n")
                .as_bytes(),
        )
        .await;
    assert!(r.starts_with("HTTP/1.1 431"), "{r}");
    let big = "a".repeat(9000);
    let r = s
        .raw(
            format!(
                "GET /public/a HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .await;
    assert!(r.starts_with("HTTP/1.1 431"), "{r}");
    assert!(s.upstream.seen().is_empty());
}
