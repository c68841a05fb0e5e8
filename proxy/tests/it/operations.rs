//! Operations: admin endpoints, readiness, metrics, reload, shutdown.

use crate::support::{Setup, config, raw};

async fn admin(s: &Setup, path: &str) -> String {
    let addr = s.proxy.admin_addr().unwrap();
    raw(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let s = Setup::new().await;
    assert!(admin(&s, "/healthz").await.starts_with("HTTP/1.1 200"));
    // Readiness follows the warm-up; a challenged request proves the AS answers.
    assert_eq!(s.get("/albums/a1/photos/p1", &[]).await.status(), 401);
    let mut ready = admin(&s, "/readyz").await;
    for _ in 0..200 {
        if ready.starts_with("HTTP/1.1 200") {
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        ready = admin(&s, "/readyz").await;
    }
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    assert!(s.proxy.is_ready());
    assert_eq!(s.get("/nothing", &[]).await.status(), 404);
    let metrics = admin(&s, "/metrics").await;
    assert!(
        metrics.contains("umagate_proxy_requests_total{outcome=\"challenged\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("umagate_proxy_requests_total{outcome=\"no_route\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("umagate_proxy_resources_registered_total 1"),
        "{metrics}"
    );
    // The data listener does not serve the admin endpoints.
    assert_eq!(s.get("/metrics", &[]).await.status(), 404);
}

#[tokio::test]
async fn reload_swaps_routes_and_keeps_the_last_good_config() {
    let s = Setup::new().await;
    assert_eq!(s.get("/extra/x", &[]).await.status(), 404);
    let base = config(&s.fake_as.issuer(), &s.upstream.url(), "");
    let added = format!(
        "{base}\n[[routes]]\npath = \"/extra/{{x}}\"\nupstream = \"photos\"\npublic = true\n"
    );
    s.proxy
        .reload(umagate_proxy::Config::from_toml(&added).unwrap())
        .unwrap();
    assert_eq!(s.get("/extra/x", &[]).await.status(), 200);
    // A reload that changes what cannot change is refused; the running routes stay.
    let moved = added.replace("realm = \"photos\"", "realm = \"other\"");
    let e = s
        .proxy
        .reload(umagate_proxy::Config::from_toml(&moved).unwrap())
        .unwrap_err();
    assert!(e.to_string().contains("`as`"), "{e}");
    assert_eq!(s.get("/extra/x", &[]).await.status(), 200);
    assert!(
        umagate_proxy::Config::from_toml(&added.replace("public = true\n", "public = maybe\n"))
            .is_err()
    );
}

#[tokio::test]
async fn reload_from_a_file_keeps_the_last_good_one() {
    let s = Setup::new().await;
    let base = config(&s.fake_as.issuer(), &s.upstream.url(), "");
    let path =
        std::env::temp_dir().join(format!("umagate-proxy-reload-{}.toml", std::process::id()));
    let added = format!(
        "{base}\n[[routes]]\npath = \"/file/{{x}}\"\nupstream = \"photos\"\npublic = true\n"
    );
    std::fs::write(&path, &added).unwrap();
    s.proxy.reload_file(&path).unwrap();
    assert_eq!(s.get("/file/x", &[]).await.status(), 200);
    std::fs::write(&path, "not toml [").unwrap();
    assert!(s.proxy.reload_file(&path).is_err());
    assert_eq!(s.get("/file/x", &[]).await.status(), 200);
    let metrics = admin(&s, "/metrics").await;
    assert!(
        metrics.contains("umagate_proxy_reload_failures_total 1"),
        "{metrics}"
    );
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn shutdown_stops_accepting() {
    let s = Setup::new().await;
    let addr = s.addr();
    assert_eq!(s.get("/public/a", &[]).await.status(), 200);
    let Setup { proxy, .. } = s;
    proxy.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn declared_resources_are_not_registered() {
    let s = Setup::with(|c| {
        format!("{c}\n[[resources]]\nid = \"declared-1\"\nowner = \"alice\"\nresource_type = \"photo\"\nname = \"album a1 photo p1\"\n")
    })
    .await;
    assert_eq!(s.get("/albums/a1/photos/p1", &[]).await.status(), 401);
    assert!(s.fake_as.resources().is_empty());
    assert_eq!(s.fake_as.tickets()[0].body[0]["resource_id"], "declared-1");
    let auth = format!("Bearer {}", s.fake_as.rpt("declared-1", &["view"]));
    assert_eq!(
        s.get("/albums/a1/photos/p1", &[("authorization", &auth)])
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn access_logs_carry_no_tokens_or_queries() {
    let s = Setup::new().await;
    let id = s.photo_id("logcheck", "p1").await;
    let rpt = s.fake_as.rpt(&id, &["view"]);
    let auth = format!("Bearer {rpt}");
    let r = s
        .get(
            "/albums/logcheck/photos/p1?secret=query-value",
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.status(), 200);
    let logs = crate::support::logs();
    let line = logs
        .lines()
        .find(|l| l.contains("/albums/logcheck/photos/p1") && l.contains("authorized"))
        .unwrap_or_else(|| panic!("no access line in {logs}"));
    assert!(line.contains("access"), "{line}");
    // Nothing any test did put a token, a secret or a query into the logs.
    for secret in [
        "eyJ",
        "query-value",
        "pat-",
        "ticket-",
        crate::support::RS_SECRET,
        "Bearer",
    ] {
        assert!(!logs.contains(secret), "{secret} logged");
    }
}
