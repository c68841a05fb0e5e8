//! Test helpers: servers on 127.0.0.1:0 (plain or TLS), a recording upstream, self-signed
//! certificates, the proxy's configuration and a client. The fake AS is in `fake_as`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const RS_ID: &str = "proxy";
pub const RS_SECRET: &str = "proxy-secret";

pub use crate::fake_as::{FakeAs, now};

/// Serves `handler` on 127.0.0.1:0 (over TLS with `tls`) with HTTP/1, HTTP/2 and upgrades.
pub async fn serve<F, Fut>(handler: F, tls: Option<tokio_rustls::TlsAcceptor>) -> SocketAddr
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let handler = handler.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                let service = service_fn(move |r| {
                    let handler = handler.clone();
                    async move { Ok::<_, Infallible>(handler(r).await) }
                });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                match tls {
                    None => {
                        let io = TokioIo::new(stream);
                        let _ = builder.serve_connection_with_upgrades(io, service).await;
                    }
                    Some(acceptor) => {
                        let Ok(stream) = acceptor.accept(stream).await else {
                            return;
                        };
                        let io = TokioIo::new(stream);
                        let _ = builder.serve_connection_with_upgrades(io, service).await;
                    }
                }
            });
        }
    });
    addr
}

pub fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::from(body))
        .unwrap()
}

/// What the recording upstream received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub target: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }
}

/// An upstream that records each request and answers 200 (or `101` to an upgrade, then echoes).
pub struct Upstream {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Recorded>>>,
    https: bool,
}

impl Upstream {
    pub async fn start() -> Self {
        Self::serve(None).await
    }

    /// Serves over TLS; the URL is `https://localhost:<port>`.
    pub async fn start_tls(acceptor: tokio_rustls::TlsAcceptor) -> Self {
        Self::serve(Some(acceptor)).await
    }

    async fn serve(tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let https = tls.is_some();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let addr = serve(
            move |mut r: Request<Incoming>| {
                let seen = s.clone();
                async move {
                    let upgrade = r.headers().contains_key("upgrade");
                    let on_upgrade = upgrade.then(|| hyper::upgrade::on(&mut r));
                    let (parts, body) = r.into_parts();
                    let body = body
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    seen.lock().unwrap().push(Recorded {
                        method: parts.method.to_string(),
                        target: parts.uri.to_string(),
                        headers: parts.headers,
                        body,
                    });
                    if let Some(on_upgrade) = on_upgrade {
                        tokio::spawn(async move {
                            let mut io = TokioIo::new(on_upgrade.await.unwrap());
                            let mut buf = [0u8; 64];
                            while let Ok(n) = io.read(&mut buf).await {
                                if n == 0 || io.write_all(&buf[..n]).await.is_err() {
                                    break;
                                }
                            }
                        });
                        return Response::builder()
                            .status(StatusCode::SWITCHING_PROTOCOLS)
                            .header("connection", "upgrade")
                            .header("upgrade", "websocket")
                            .body(Full::default())
                            .unwrap();
                    }
                    Response::builder()
                        .header("x-upstream", "yes")
                        .header("connection", "x-secret-hop")
                        .header("x-secret-hop", "leak")
                        .body(Full::from("upstream says hi"))
                        .unwrap()
                }
            },
            tls,
        )
        .await;
        Self { addr, seen, https }
    }

    pub fn seen(&self) -> Vec<Recorded> {
        self.seen.lock().unwrap().clone()
    }

    pub fn url(&self) -> String {
        match self.https {
            true => format!("https://localhost:{}", self.addr.port()),
            false => format!("http://{}", self.addr),
        }
    }
}

/// A proxy configuration with a protected photo route, a public route and `extra` appended.
pub fn config(issuer: &str, upstream: &str, extra: &str) -> String {
    format!(
        r#"
[listen]
http = ["127.0.0.1:0"]
admin = "127.0.0.1:0"

[as]
issuer = "{issuer}"
client_id = "{RS_ID}"
client_secret = "{RS_SECRET}"
realm = "photos"
jwks_min_refresh_secs = 60

[upstreams.photos]
url = "{upstream}"

[[routes]]
path = "/albums/{{album}}/photos/{{photo}}"
upstream = "photos"
resource_type = "photo"
resource_name = "album {{album}} photo {{photo}}"
owner = "alice"
scopes = {{ GET = ["view"], DELETE = ["delete"] }}

[[routes]]
path = "/users/{{user}}/notes"
upstream = "photos"
resource_type = "notes"
resource_name = "notes"
owner = "{{user}}"
scopes = {{ GET = ["read"] }}

[[routes]]
path = "/public/{{*rest}}"
upstream = "photos"
public = true
{extra}
"#
    )
}

/// Everything the proxy logs in this test binary goes to one buffer (a global subscriber:
/// thread-local ones miss events under parallel tests).
static LOGS: std::sync::OnceLock<Arc<Mutex<Vec<u8>>>> = std::sync::OnceLock::new();

#[derive(Clone)]
struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn init_logs() {
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = LogWriter(buffer.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::TRACE)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buffer
    });
}

/// What has been logged so far.
pub fn logs() -> String {
    init_logs();
    String::from_utf8_lossy(&LOGS.get().unwrap().lock().unwrap()).into_owned()
}

pub struct Setup {
    pub fake_as: FakeAs,
    pub upstream: Upstream,
    pub proxy: umagate_proxy::ProxyHandle,
}

impl Setup {
    pub async fn new() -> Self {
        Self::with(|c| c).await
    }

    pub async fn with(edit: impl FnOnce(String) -> String) -> Self {
        init_logs();
        let fake_as = FakeAs::start().await;
        let upstream = Upstream::start().await;
        let text = edit(config(&fake_as.issuer(), &upstream.url(), ""));
        let proxy = umagate_proxy::Proxy::bind(umagate_proxy::Config::from_toml(&text).unwrap())
            .await
            .unwrap();
        Self {
            fake_as,
            upstream,
            proxy,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.proxy.http_addrs()[0]
    }

    /// Sends raw bytes and reads until the proxy closes or `wanted` responses have been read.
    pub async fn raw(&self, bytes: &[u8]) -> String {
        raw(self.addr(), bytes).await
    }

    /// A GET with headers.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response<Bytes> {
        self.send("GET", path, headers, Bytes::new()).await
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Response<Bytes> {
        let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .build_http::<Full<Bytes>>();
        let mut builder = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr()));
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let response = client
            .request(builder.body(Full::new(body)).unwrap())
            .await
            .unwrap();
        let (parts, body) = response.into_parts();
        Response::from_parts(parts, body.collect().await.unwrap().to_bytes())
    }

    /// Makes the proxy register the photo `p` of album `a` and returns its id.
    pub async fn photo_id(&self, album: &str, photo: &str) -> String {
        let r = self
            .get(&format!("/albums/{album}/photos/{photo}"), &[])
            .await;
        assert_eq!(r.status(), 401);
        self.fake_as
            .resource_id(&format!("album {album} photo {photo}"))
    }
}

/// Writes `bytes` on a fresh connection and reads everything until the peer closes (bounded).
pub async fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut out),
    )
    .await;
    if read.is_err() {
        // The server kept the connection open: what was read so far is the answer.
    }
    String::from_utf8_lossy(&out).into_owned()
}

static FILES: AtomicUsize = AtomicUsize::new(0);

/// A self-signed certificate for `localhost`, written to temporary PEM files.
pub fn certificate() -> (
    std::path::PathBuf,
    std::path::PathBuf,
    rustls::pki_types::CertificateDer<'static>,
) {
    let rcgen::CertifiedKey { cert, key_pair } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let n = FILES.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("umagate-proxy-tls-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key_pair.serialize_pem()).unwrap();
    (cert_path, key_path, cert.der().clone())
}

/// A server-side TLS acceptor for a certificate written by [`certificate`].
pub fn acceptor(cert: &std::path::Path, key: &std::path::Path) -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    let certs = rustls::pki_types::CertificateDer::pem_file_iter(cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}
