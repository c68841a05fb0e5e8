//! Transports and timeouts: HTTPS with ALPN (HTTP/2 and HTTP/1.1), cleartext HTTP/2, slow
//! clients, failing and slow upstreams.

use std::sync::Arc;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{Setup, certificate};

async fn tls_connect(
    addr: std::net::SocketAddr,
    der: rustls::pki_types::CertificateDer<'static>,
    alpn: &[u8],
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    connector.connect(name, tcp).await.unwrap()
}

async fn h2_get<IO>(io: IO, uri: &str, auth: Option<&str>) -> http::Response<Bytes>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(io))
            .await
            .unwrap();
    tokio::spawn(conn);
    let mut builder = Request::get(uri);
    if let Some(auth) = auth {
        builder = builder.header("authorization", auth);
    }
    let response = sender
        .send_request(builder.body(Full::<Bytes>::default()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    http::Response::from_parts(parts, body.collect().await.unwrap().to_bytes())
}

#[tokio::test]
async fn https_serves_http2_and_http1_by_alpn() {
    let (cert, key, der) = certificate();
    let listen = format!(
        "admin = \"127.0.0.1:0\"\nhttps = [{{ addr = \"127.0.0.1:0\", cert = \"{}\", key = \"{}\" }}]",
        cert.display(),
        key.display()
    );
    let s = Setup::with(|c| c.replace("admin = \"127.0.0.1:0\"", &listen)).await;
    let addr = s.proxy.https_addrs()[0];
    let tls = tls_connect(addr, der.clone(), b"h2").await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let r = h2_get(tls, "https://localhost/public/a?q=1", None).await;
    assert_eq!(r.status(), 200);
    let got = &s.upstream.seen()[0];
    assert_eq!(got.target, "/public/a?q=1");
    assert_eq!(got.header("host").as_deref(), Some("localhost"));
    assert_eq!(got.header("x-forwarded-proto").as_deref(), Some("https"));
    // Protected over HTTP/2: challenged the same way.
    let tls = tls_connect(addr, der.clone(), b"h2").await;
    let r = h2_get(tls, "https://localhost/albums/a1/photos/p1", None).await;
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("UMA realm=\"photos\"")
    );
    // HTTP/1.1 over TLS.
    let mut tls = tls_connect(addr, der, b"http/1.1").await;
    tls.write_all(b"GET /public/b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    let _ = tls.read_to_string(&mut out).await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert_eq!(s.upstream.seen().len(), 2);
}

#[tokio::test]
async fn bad_tls_files_are_a_bind_error() {
    let (cert, _, _) = certificate();
    let listen = format!(
        "admin = \"127.0.0.1:0\"\nhttps = [{{ addr = \"127.0.0.1:0\", cert = \"{}\", key = \"{}\" }}]",
        cert.display(),
        cert.display()
    );
    let text = crate::support::config("http://127.0.0.1:1", "http://127.0.0.1:2", "")
        .replace("admin = \"127.0.0.1:0\"", &listen);
    let e = umagate_proxy::Proxy::bind(umagate_proxy::Config::from_toml(&text).unwrap())
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("TLS"), "{e}");
}

#[tokio::test]
async fn cleartext_http2_with_an_rpt() {
    let s = Setup::new().await;
    let id = s.photo_id("a1", "p1").await;
    let auth = format!("Bearer {}", s.fake_as.rpt(&id, &["view"]));
    let tcp = TcpStream::connect(s.addr()).await.unwrap();
    let r = h2_get(
        tcp,
        &format!("http://{}/albums/a1/photos/p1", s.addr()),
        Some(&auth),
    )
    .await;
    assert_eq!(r.status(), 200);
    let got = &s.upstream.seen()[0];
    assert_eq!(got.header("x-umagate-subject").as_deref(), Some("bob"));
    assert_eq!(got.header("host"), Some(s.addr().to_string()));
}

#[tokio::test]
async fn slow_clients_are_cut_off_at_the_header_timeout() {
    let s = Setup::with(|c| {
        c.replace(
            "[upstreams.photos]",
            "[timeouts]\nheader_read_ms = 200\n\n[upstreams.photos]",
        )
    })
    .await;
    let mut stream = TcpStream::connect(s.addr()).await.unwrap();
    stream
        .write_all(b"GET /public/a HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut out = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut out),
    )
    .await;
    assert!(read.is_ok(), "the connection was not closed");
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    assert!(s.upstream.seen().is_empty());
}

#[tokio::test]
async fn failing_and_slow_upstreams() {
    // Nothing listens: 502.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let s = Setup::with(|c| {
        c.replace(
            "[upstreams.photos]\nurl = \"",
            &format!("[upstreams.dead]\nurl = \"http://{closed}\"\n\n[upstreams.photos]\nurl = \""),
        )
        .replace(
            "path = \"/public/{*rest}\"\nupstream = \"photos\"",
            "path = \"/public/{*rest}\"\nupstream = \"dead\"",
        )
    })
    .await;
    let r = s.get("/public/a", &[]).await;
    assert_eq!(r.status(), 502);
    // Accepts but never answers: 504 after upstream_response_ms.
    let hang = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hang_addr = hang.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = hang.accept().await {
            held.push(stream);
        }
    });
    let s = Setup::with(|c| {
        c.replace("[upstreams.photos]\nurl = \"", &format!("[timeouts]\nupstream_response_ms = 200\n\n[upstreams.slow]\nurl = \"http://{hang_addr}\"\n\n[upstreams.photos]\nurl = \""))
            .replace("path = \"/public/{*rest}\"\nupstream = \"photos\"", "path = \"/public/{*rest}\"\nupstream = \"slow\"")
    })
    .await;
    let r = s.get("/public/a", &[]).await;
    assert_eq!(r.status(), 504);
}

/// An AS and an upstream over TLS with a private CA: the proxy trusts exactly `ca_files`.
async fn tls_setup(trust: bool) -> Setup {
    let (cert, key, _) = certificate();
    let fake_as = crate::support::FakeAs::start_tls(crate::support::acceptor(&cert, &key)).await;
    let upstream = crate::support::Upstream::start_tls(crate::support::acceptor(&cert, &key)).await;
    let trust = if trust {
        format!(
            "[client_tls]\nsystem_roots = false\nca_files = [\"{}\"]\n\n",
            cert.display()
        )
    } else {
        let (other, _, _) = certificate();
        format!(
            "[client_tls]\nsystem_roots = false\nca_files = [\"{}\"]\n\n",
            other.display()
        )
    };
    let text = crate::support::config(&fake_as.issuer(), &upstream.url(), "")
        .replace("[upstreams.photos]", &format!("{trust}[upstreams.photos]"));
    let proxy = umagate_proxy::Proxy::bind(umagate_proxy::Config::from_toml(&text).unwrap())
        .await
        .unwrap();
    Setup {
        fake_as,
        upstream,
        proxy,
    }
}

#[tokio::test]
async fn https_authorization_server_and_upstream() {
    let s = tls_setup(true).await;
    assert!(s.fake_as.issuer().starts_with("https://localhost:"));
    let r = s.get("/albums/a1/photos/p1", &[]).await;
    assert_eq!(r.status(), 401);
    let issuer = s.fake_as.issuer();
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains(&format!("as_uri=\"{issuer}\""))
    );
    let id = s.fake_as.resource_id("album a1 photo p1");
    let auth = format!("Bearer {}", s.fake_as.rpt(&id, &["view"]));
    let r = s
        .get("/albums/a1/photos/p1", &[("authorization", &auth)])
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        s.upstream.seen()[0].header("x-umagate-subject").as_deref(),
        Some("bob")
    );
}

#[tokio::test]
async fn untrusted_certificates_fail_closed() {
    let s = tls_setup(false).await;
    let r = s.get("/albums/a1/photos/p1", &[]).await;
    assert_eq!(r.status(), 403, "the AS's certificate is not trusted");
    assert!(s.fake_as.resources().is_empty());
    let r = s.get("/public/a", &[]).await;
    assert_eq!(r.status(), 502, "the upstream's certificate is not trusted");
    assert!(s.upstream.seen().is_empty());
}

#[tokio::test]
async fn connections_per_ip_are_capped() {
    let s = Setup::with(|c| {
        c.replace(
            "[upstreams.photos]",
            "[limits]\nmax_connections_per_ip = 1\n\n[upstreams.photos]",
        )
    })
    .await;
    let mut held = TcpStream::connect(s.addr()).await.unwrap();
    held.write_all(b"GET /public/a HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 12];
    held.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"HTTP/1.1 200");
    // A second connection from the same address is closed unanswered.
    let r = crate::support::raw(
        s.addr(),
        b"GET /public/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(r, "");
    drop(held);
    let mut answered = String::new();
    for _ in 0..100 {
        answered = crate::support::raw(
            s.addr(),
            b"GET /public/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        if !answered.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
}
