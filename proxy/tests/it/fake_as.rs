//! The fake authorization server: discovery, JWKS, `/token` (client credentials → PAT),
//! `/rreg`, `/perm`, `/introspect`, with switches to make it fail. A test double of the real AS
//! in `pdp/server` with the wire behaviour the proxy relies on; the end-to-end run against the
//! real AS lives in the workspace's tests.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use umagate_proto::claims::{Audience, RptClaims};
use umagate_proto::jwk::Jwks;
use umagate_proto::jws::SigningKey;
use umagate_proto::permission::Permission;
use umagate_proto::scope::ScopeToken;

use crate::support::{RS_ID, RS_SECRET, json, serve};

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
    pub registered: AtomicUsize,
}

/// The fake AS.
pub struct FakeAs {
    #[allow(dead_code, reason = "for debugging")]
    pub addr: SocketAddr,
    pub key: SigningKey,
    pub state: Arc<AsState>,
}

impl FakeAs {
    pub async fn start() -> Self {
        Self::serve(None).await
    }

    /// Serves over TLS; the issuer is `https://localhost:<port>`.
    pub async fn start_tls(acceptor: tokio_rustls::TlsAcceptor) -> Self {
        Self::serve(Some(acceptor)).await
    }

    async fn serve(tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let key = SigningKey::generate("k1").unwrap();
        let state = Arc::new(AsState::default());
        state.keys.lock().unwrap().push(key.public_jwk());
        let s = state.clone();
        let issuer = |addr: SocketAddr| match tls {
            Some(_) => format!("https://localhost:{}", addr.port()),
            None => format!("http://{addr}"),
        };
        let tls_clone = tls.clone();
        let addr = serve(move |r| fake_as(s.clone(), r), tls_clone).await;
        *state.issuer.lock().unwrap() = issuer(addr);
        Self { addr, key, state }
    }

    pub fn issuer(&self) -> String {
        self.state.issuer.lock().unwrap().clone()
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
            let id = format!(
                "res-{}",
                state.registered.fetch_add(1, Ordering::SeqCst) + 1
            );
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
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let known = state
                .resources
                .lock()
                .unwrap()
                .iter()
                .any(|r| r.id == body[0]["resource_id"]);
            let declared = body[0]["resource_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("declared"));
            if !known && !declared {
                return json(
                    StatusCode::BAD_REQUEST,
                    r#"{"error":"invalid_resource_id"}"#.into(),
                );
            }
            let mut tickets = state.tickets.lock().unwrap();
            let ticket = format!("ticket-{}", tickets.len() + 1);
            tickets.push(TicketRequest {
                owner,
                body,
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
