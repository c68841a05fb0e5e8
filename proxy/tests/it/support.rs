//! Test doubles: a fake authorization server (discovery, JWKS, `/token`, `/rreg`, `/perm`,
//! `/introspect`), a recording upstream, and helpers to start the proxy and talk to it.
//!
//! The fake AS is a stand-in for the real one in `pdp/server`, with the same wire behaviour the
//! proxy relies on; the end-to-end run against the real AS lives in the workspace's tests.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use umagate_proto::claims::{Audience, RptClaims};
use umagate_proto::jwk::Jwks;
use umagate_proto::jws::SigningKey;
use umagate_proto::permission::Permission;
use umagate_proto::scope::ScopeToken;

pub const RS_ID: &str = "proxy";
pub const RS_SECRET: &str = "proxy-secret";

/// Serves `handler` on 127.0.0.1:0 with HTTP/1 and upgrades; returns the address.
async fn serve<F, Fut>(handler: F) -> SocketAddr
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
            tokio::spawn(async move {
                let service = service_fn(move |r| {
                    let handler = handler.clone();
                    async move { Ok::<_, Infallible>(handler(r).await) }
                });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let _ = builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::from(body))
        .unwrap()
}

/// One registered resource at the fake AS.
#[derive(Clone, Debug)]
pub struct Registered {
    pub id: String,
    pub owner: String,
    pub description: serde_json::Value,
}

/// One ticket request received by the fake AS.
#[derive(Clone, Debug)]
pub struct TicketRequest {
    pub owner: String,
    pub body: serde_json::Value,
    #[allow(dead_code, reason = "kept for debugging output")]
    pub ticket: String,
}

#[derive(Default)]
pub struct AsState {
    pub issuer: Mutex<String>,
    pub keys: Mutex<Vec<umagate_proto::jwk::Jwk>>,
    pub jwks_fetches: AtomicUsize,
    pub token_calls: AtomicUsize,
    pub pats: Mutex<Vec<String>>,
    pub resources: Mutex<Vec<Registered>>,
    pub tickets: Mutex<Vec<TicketRequest>>,
    pub active: Mutex<HashMap<String, serde_json::Value>>,
    pub failing: AtomicBool,
    pub introspections: AtomicUsize,
    /// The PAT lifetime in seconds (0: an hour).
    pub pat_lifetime: AtomicUsize,
}

/// The fake AS.
pub struct FakeAs {
    pub addr: SocketAddr,
    pub key: SigningKey,
    pub state: Arc<AsState>,
}

impl FakeAs {
    pub async fn start() -> Self {
        let key = SigningKey::generate("k1").unwrap();
        let state = Arc::new(AsState::default());
        state.keys.lock().unwrap().push(key.public_jwk());
        let s = state.clone();
        let addr = serve(move |r| fake_as(s.clone(), r)).await;
        *state.issuer.lock().unwrap() = format!("http://{addr}");
        Self { addr, key, state }
    }

    pub fn issuer(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn publish(&self, key: &SigningKey) {
        self.state.keys.lock().unwrap().push(key.public_jwk());
    }

    pub fn resources(&self) -> Vec<Registered> {
        self.state.resources.lock().unwrap().clone()
    }

    pub fn resource_id(&self, name: &str) -> String {
        self.resources()
            .into_iter()
            .find(|r| r.description["name"] == name)
            .map(|r| r.id)
            .unwrap_or_else(|| panic!("no resource named {name}"))
    }

    pub fn tickets(&self) -> Vec<TicketRequest> {
        self.state.tickets.lock().unwrap().clone()
    }

    pub fn jwks_fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    /// Claims of an RPT for `resource_id` with `scopes`, valid for an hour.
    pub fn claims(&self, resource_id: &str, scopes: &[&str]) -> RptClaims {
        let now = now();
        RptClaims {
            iss: self.issuer(),
            sub: "bob".into(),
            aud: Audience::One(RS_ID.into()),
            azp: "photo-app".into(),
            exp: now + 3600,
            iat: now,
            nbf: None,
            jti: format!("jti-{now}"),
            permissions: vec![Permission {
                resource_id: resource_id.into(),
                resource_scopes: scopes
                    .iter()
                    .map(|s| ScopeToken::new(*s).unwrap())
                    .collect(),
                exp: None,
                iat: None,
                nbf: None,
            }],
        }
    }

    pub fn sign(&self, claims: &RptClaims) -> String {
        self.key.sign("JWT", claims).unwrap()
    }

    pub fn rpt(&self, resource_id: &str, scopes: &[&str]) -> String {
        self.sign(&self.claims(resource_id, scopes))
    }
}

#[expect(
    clippy::disallowed_methods,
    reason = "tests sign tokens relative to the wall clock"
)]
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::to_string)
}

async fn fake_as(state: Arc<AsState>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let issuer = state.issuer.lock().unwrap().clone();
    let path = parts.uri.path().to_string();
    if state.failing.load(Ordering::SeqCst) && path != "/.well-known/uma2-configuration" {
        return json(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"error":"server_error"}"#.into(),
        );
    }
    let pat_ok = bearer(&parts.headers).is_some_and(|b| state.pats.lock().unwrap().contains(&b));
    let owner = parts
        .headers
        .get("x-umagate-owner")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    match (parts.method.as_str(), path.as_str()) {
        ("GET", "/.well-known/uma2-configuration") => json(
            StatusCode::OK,
            serde_json::json!({
                "issuer": issuer,
                "response_types_supported": ["code"],
                "token_endpoint": format!("{issuer}/token"),
                "jwks_uri": format!("{issuer}/jwks"),
                "introspection_endpoint": format!("{issuer}/introspect"),
                "permission_endpoint": format!("{issuer}/perm"),
                "resource_registration_endpoint": format!("{issuer}/rreg"),
            })
            .to_string(),
        ),
        ("GET", "/jwks") => {
            state.jwks_fetches.fetch_add(1, Ordering::SeqCst);
            let keys = Jwks {
                keys: state.keys.lock().unwrap().clone(),
            };
            json(StatusCode::OK, serde_json::to_string(&keys).unwrap())
        }
        ("POST", "/token") => {
            let expected = format!(
                "Basic {}",
                base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    format!("{RS_ID}:{RS_SECRET}")
                )
            );
            let form = String::from_utf8_lossy(&body);
            if parts
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                != Some(expected.as_str())
                || !form.contains("grant_type=client_credentials")
            {
                return json(
                    StatusCode::UNAUTHORIZED,
                    r#"{"error":"invalid_client"}"#.into(),
                );
            }
            let n = state.token_calls.fetch_add(1, Ordering::SeqCst);
            let pat = format!("pat-{n}");
            let lifetime = match state.pat_lifetime.load(Ordering::SeqCst) {
                0 => 3600,
                n => n,
            };
            state.pats.lock().unwrap().push(pat.clone());
            json(
                StatusCode::OK,
                serde_json::json!({"access_token": pat, "token_type": "Bearer", "expires_in": lifetime, "scope": "uma_protection"}).to_string(),
            )
        }
        _ if !pat_ok => json(
            StatusCode::UNAUTHORIZED,
            r#"{"error":"invalid_token"}"#.into(),
        ),
        ("POST", "/rreg") => {
            let mut description: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let mut resources = state.resources.lock().unwrap();
            let id = format!("res-{}", resources.len() + 1);
            resources.push(Registered {
                id: id.clone(),
                owner,
                description: description.clone(),
            });
            description["_id"] = id.into();
            json(StatusCode::CREATED, description.to_string())
        }
        ("GET", "/rreg") => {
            let ids: Vec<String> = state
                .resources
                .lock()
                .unwrap()
                .iter()
                .filter(|r| r.owner == owner)
                .map(|r| r.id.clone())
                .collect();
            json(StatusCode::OK, serde_json::to_string(&ids).unwrap())
        }
        ("GET", p) if p.starts_with("/rreg/") => {
            let id = &p["/rreg/".len()..];
            let resources = state.resources.lock().unwrap();
            match resources.iter().find(|r| r.id == id && r.owner == owner) {
                Some(r) => {
                    let mut d = r.description.clone();
                    d["_id"] = r.id.clone().into();
                    json(StatusCode::OK, d.to_string())
                }
                None => json(StatusCode::NOT_FOUND, r#"{"error":"not_found"}"#.into()),
            }
        }
        ("POST", "/perm") => {
            let mut tickets = state.tickets.lock().unwrap();
            let ticket = format!("ticket-{}", tickets.len() + 1);
            tickets.push(TicketRequest {
                owner,
                body: serde_json::from_slice(&body).unwrap(),
                ticket: ticket.clone(),
            });
            json(
                StatusCode::CREATED,
                serde_json::json!({ "ticket": ticket }).to_string(),
            )
        }
        ("POST", "/introspect") => {
            state.introspections.fetch_add(1, Ordering::SeqCst);
            let form = String::from_utf8_lossy(&body).to_string();
            let token = form.strip_prefix("token=").unwrap_or_default();
            match state.active.lock().unwrap().get(token) {
                Some(active) => json(StatusCode::OK, active.to_string()),
                None => json(StatusCode::OK, r#"{"active":false}"#.into()),
            }
        }
        _ => json(StatusCode::NOT_FOUND, r#"{"error":"not_found"}"#.into()),
    }
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
}

impl Upstream {
    pub async fn start() -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let addr = serve(move |mut r: Request<Incoming>| {
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
        })
        .await;
        Self { addr, seen }
    }

    pub fn seen(&self) -> Vec<Recorded> {
        self.seen.lock().unwrap().clone()
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
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
