//! Test kit for the AS's HTTP tests: a real AS on an ephemeral port over a temporary SQLite
//! file, and a minimal browser — raw HTTP/1.1 over a TCP stream with a cookie jar.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use umagate_proto::form::Form;
use umagate_proto::registration::ClientMetadata;
use umagate_proto::scope::Scopes;

use crate::config::Config;
use crate::decide::runtime::PolicyRuntime;
use crate::http::{AppState, State, now, router};
use crate::keys::KeyRing;
use crate::secrets;
use crate::store::{ClientRecord, Store, UserRecord};

/// The confidential web client: two redirect URIs, refresh tokens, scopes `read write`.
pub const APP: &str = "app";
pub const APP_SECRET: &str = "app-secret-0123456789";
pub const APP_CB: &str = "https://app.example/cb";
pub const APP_CB2: &str = "https://app.example/other?x=1";
/// A public native client with one loopback redirect URI.
pub const NATIVE: &str = "native";
pub const NATIVE_CB: &str = "http://127.0.0.1/native/cb";
/// A trusted resource server (client credentials, introspection); its secret is stored in the
/// generated-secret form.
pub const RS: &str = "rs";
pub const RS_SECRET: &str = "rs-secret-0123456789abcdef";
/// A client registered for client credentials only.
pub const M2M: &str = "m2m";
pub const M2M_CB: &str = "https://m2m.example/cb";
/// The user.
pub const ALICE: &str = "alice";
pub const ALICE_PASSWORD: &str = "correct horse battery staple";
/// A PKCE pair.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

pub fn challenge() -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()))
}

/// argon2 hashes are slow to make; every server shares one set.
pub fn hashes() -> &'static (String, String) {
    static HASHES: OnceLock<(String, String)> = OnceLock::new();
    HASHES.get_or_init(|| {
        (
            secrets::hash_password(APP_SECRET).unwrap(),
            secrets::hash_password(ALICE_PASSWORD).unwrap(),
        )
    })
}

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An AS serving on 127.0.0.1.
pub struct TestAs {
    pub state: State,
    pub addr: SocketAddr,
    pub issuer: String,
    server: JoinHandle<()>,
    _dir: TempDir,
}

impl Drop for TestAs {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn client(id: &str, secret_hash: Option<String>, metadata: ClientMetadata) -> ClientRecord {
    ClientRecord {
        client_id: id.into(),
        secret_hash,
        metadata,
        resource_server: false,
        dynamic: false,
        created_at: 0,
    }
}

impl TestAs {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// [`TestAs::start`] with the configuration changed by `configure`.
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let issuer = format!("http://{addr}");
        let dir = TempDir(
            std::env::temp_dir().join(format!("umagate-authz-{}", secrets::new_handle().unwrap())),
        );
        let store = Store::open(&format!("sqlite://{}/x.db", dir.0.display()), 4)
            .await
            .unwrap();
        let (secret_hash, password_hash) = hashes().clone();
        let app = ClientMetadata {
            redirect_uris: vec![APP_CB.into(), APP_CB2.into()],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            scope: Some(Scopes::parse("read write").unwrap()),
            client_name: Some("Example <App>".into()),
            ..ClientMetadata::default()
        };
        let native = ClientMetadata {
            redirect_uris: vec![NATIVE_CB.into()],
            token_endpoint_auth_method: Some("none".into()),
            ..ClientMetadata::default()
        };
        let m2m = ClientMetadata {
            redirect_uris: vec![M2M_CB.into()],
            grant_types: vec!["client_credentials".into()],
            ..ClientMetadata::default()
        };
        let rs = ClientMetadata {
            grant_types: vec!["client_credentials".into()],
            ..ClientMetadata::default()
        };
        let mut rs = client(RS, Some(secrets::hash_generated_secret(RS_SECRET)), rs);
        rs.resource_server = true;
        for c in [
            client(APP, Some(secret_hash), app),
            client(NATIVE, None, native),
            client(M2M, None, m2m),
            rs,
        ] {
            c.metadata.validate().unwrap();
            assert!(store.insert_client(&c).await.unwrap());
        }
        let alice = UserRecord {
            subject: "u-alice".into(),
            username: ALICE.into(),
            email: Some("alice@example.com".into()),
            email_verified: true,
            password_hash: password_hash.clone(),
            created_at: 0,
        };
        assert!(store.insert_user(&alice).await.unwrap());
        let keys = KeyRing::load_or_create(&store, now()).await.unwrap();
        let mut config = Config::default();
        config.server.issuer = Some(issuer.clone());
        configure(&mut config);
        let pdp = Arc::new(PolicyRuntime::new(&config.policies, None));
        let state: State = Arc::new(AppState {
            config,
            issuer: issuer.clone(),
            store,
            keys,
            pdp,
        });
        let app = router(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            state,
            addr,
            issuer,
            server,
            _dir: dir,
        }
    }

    /// The SQLite database file.
    pub fn db_path(&self) -> PathBuf {
        self._dir.0.join("x.db")
    }

    /// Adds a user with alice's password.
    pub async fn add_user(&self, username: &str) {
        let user = UserRecord {
            subject: format!("u-{username}"),
            username: username.into(),
            email: None,
            email_verified: false,
            password_hash: hashes().1.clone(),
            created_at: 0,
        };
        assert!(self.state.store.insert_user(&user).await.unwrap());
    }

    pub fn browser(&self) -> Browser {
        Browser {
            addr: self.addr,
            jar: BTreeMap::new(),
        }
    }

    /// `POST /token` as the confidential client (client_secret_basic).
    pub async fn token(&self, fields: &[(&str, &str)]) -> Reply {
        self.post_as(APP, APP_SECRET, "/token", fields).await
    }

    /// `POST path` with a form body, authenticated as `client_id` with client_secret_basic.
    pub async fn post_as(
        &self,
        client_id: &str,
        secret: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Reply {
        let basic = format!("Basic {}", STANDARD.encode(format!("{client_id}:{secret}")));
        let headers = [
            ("Authorization", basic),
            ("Content-Type", "application/x-www-form-urlencoded".into()),
        ];
        send(self.addr, "POST", path, &headers, form(fields).as_bytes()).await
    }
}

// === HTTP ===

/// A response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// The `error` member of a JSON error body.
    pub fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The `Location` of a redirect, split into the URI without query and the query parameters.
    pub fn redirect(&self) -> (String, Form) {
        assert_eq!(self.status, 303, "expected a 303 redirect: {self:?}");
        let location = self.header("location").expect("Location");
        let (base, query) = location.split_once('?').unwrap_or((location, ""));
        (base.to_string(), Form::parse(query.as_bytes()).unwrap())
    }

    /// The value of a hidden form field.
    pub fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no field {name} in {}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').unwrap() + start;
        self.body[start..end].to_string()
    }

    /// The text of the error paragraph.
    pub fn notice(&self) -> Option<&str> {
        let start = self.body.find("<p class=\"error\">")? + "<p class=\"error\">".len();
        Some(&self.body[start..start + self.body[start..].find("</p>")?])
    }

    /// Asserts an HTML page with the given status, not a redirect.
    pub fn assert_page(&self, status: u16) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(self.header("location"), None);
    }
}

/// Form-encodes `fields`.
pub fn form(fields: &[(&str, &str)]) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// One HTTP/1.1 exchange on a new connection.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request =
        format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if matches!(method, "POST" | "PUT") || !body.is_empty() {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"))
    {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body: String::from_utf8(body).unwrap(),
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = std::str::from_utf8(&raw[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        raw = &raw[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

// === the browser ===

/// A user agent with a cookie jar (paths and expiry beyond `Max-Age=0` are ignored).
pub struct Browser {
    addr: SocketAddr,
    pub jar: BTreeMap<String, String>,
}

/// The request id and CSRF token of a login or consent page.
#[derive(Clone, Debug)]
pub struct PageForm {
    pub request: String,
    pub csrf: String,
}

impl Browser {
    async fn exchange(
        &mut self,
        method: &str,
        target: &str,
        mut headers: Vec<(&str, String)>,
        body: &[u8],
    ) -> Reply {
        if !self.jar.is_empty() {
            let cookies: Vec<String> = self.jar.iter().map(|(n, v)| format!("{n}={v}")).collect();
            headers.push(("Cookie", cookies.join("; ")));
        }
        let reply = send(self.addr, method, target, &headers, body).await;
        for set in reply.all("set-cookie") {
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_string(), value.to_string());
            }
        }
        reply
    }

    pub async fn get(&mut self, target: &str) -> Reply {
        self.exchange("GET", target, Vec::new(), b"").await
    }

    pub async fn post(&mut self, target: &str, fields: &[(&str, &str)]) -> Reply {
        let headers = vec![(
            "Content-Type",
            "application/x-www-form-urlencoded".to_string(),
        )];
        self.exchange("POST", target, headers, form(fields).as_bytes())
            .await
    }

    /// `GET /authorize` with `params`; expects a page and returns its form.
    pub async fn start(&mut self, params: &[(&str, &str)]) -> (Reply, PageForm) {
        let reply = self.get(&format!("/authorize?{}", form(params))).await;
        reply.assert_page(200);
        let page = PageForm {
            request: reply.hidden("request"),
            csrf: reply.hidden("csrf"),
        };
        (reply, page)
    }

    pub async fn login(&mut self, page: &PageForm, username: &str, password: &str) -> Reply {
        let fields = [
            ("request", page.request.as_str()),
            ("csrf", page.csrf.as_str()),
            ("username", username),
            ("password", password),
            ("action", "login"),
        ];
        self.post("/authorize", &fields).await
    }

    pub async fn decide(&mut self, page: &PageForm, action: &str) -> Reply {
        self.post(
            "/authorize",
            &[
                ("request", page.request.as_str()),
                ("csrf", page.csrf.as_str()),
                ("action", action),
            ],
        )
        .await
    }

    /// Authorize → login as alice → approve; returns the redirect.
    pub async fn authorize_and_approve(&mut self, params: &[(&str, &str)]) -> Reply {
        let (_, page) = self.start(params).await;
        let consent = self.login(&page, ALICE, ALICE_PASSWORD).await;
        consent.assert_page(200);
        self.decide(&page, "approve").await
    }

    /// Whether the jar holds a session cookie.
    pub fn has_session(&self) -> bool {
        self.jar.contains_key("umagate_session")
    }
}

/// The standard request of the web client, with some parameters replaced (`""` removes one).
pub fn app_request(overrides: &[(&'static str, &'static str)]) -> Vec<(&'static str, String)> {
    let mut params: Vec<(&'static str, String)> = vec![
        ("response_type", "code".into()),
        ("client_id", APP.into()),
        ("redirect_uri", APP_CB.into()),
        ("scope", "openid email profile read".into()),
        ("state", "xyz".into()),
        ("nonce", "n-0S6_WzA2Mj".into()),
        ("code_challenge", challenge()),
        ("code_challenge_method", "S256".into()),
    ];
    for (name, value) in overrides {
        params.retain(|(n, _)| n != name);
        if !value.is_empty() {
            params.push((name, value.to_string()));
        }
    }
    params
}

/// Borrows a parameter list.
pub fn borrowed<'a>(params: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    params.iter().map(|(n, v)| (*n, v.as_str())).collect()
}

// === an AS started from a configuration ===

/// An AS started the way `umagate serve` starts it (`Server::start`) from the default
/// configuration changed by a closure, on 127.0.0.1; stopped and its database removed on drop.
pub struct ConfiguredAs {
    pub addr: SocketAddr,
    pub state: State,
    server: JoinHandle<()>,
    _dir: TempDir,
}

impl ConfiguredAs {
    /// Starts an AS with the default configuration changed by `configure`.
    pub async fn start(configure: impl FnOnce(&mut Config)) -> Self {
        let dir = TempDir(
            std::env::temp_dir().join(format!("umagate-test-{}", secrets::new_handle().unwrap())),
        );
        let mut config = Config::default();
        config.database.url = Some(format!("sqlite://{}/as.db", dir.0.display()));
        config.database.max_connections = 4;
        configure(&mut config);
        let server = crate::Server::start(config, now()).await.unwrap();
        let state = server.state().clone();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            state,
            server,
            _dir: dir,
        }
    }

    /// Sends one request; `headers` are `(name, value)` pairs, `body` is sent as is.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Reply {
        let headers: Vec<(&str, String)> =
            headers.iter().map(|(n, v)| (*n, v.to_string())).collect();
        send(self.addr, method, path, &headers, body.as_bytes()).await
    }

    /// `GET path` with a bearer token.
    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.request(
            "GET",
            path,
            &[("Authorization", &format!("Bearer {token}"))],
            "",
        )
        .await
    }

    /// `POST path` with a bearer token and a JSON body.
    pub async fn post_json(&self, path: &str, token: &str, body: &str) -> Reply {
        let auth = format!("Bearer {token}");
        self.request(
            "POST",
            path,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body,
        )
        .await
    }

    /// `DELETE path` with a bearer token.
    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.request(
            "DELETE",
            path,
            &[("Authorization", &format!("Bearer {token}"))],
            "",
        )
        .await
    }
}

impl Drop for ConfiguredAs {
    fn drop(&mut self) {
        self.server.abort();
    }
}
