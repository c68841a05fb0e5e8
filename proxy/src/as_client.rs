//! Calls to the authorization server: discovery, the PAT, resource registration, the permission
//! endpoint, introspection and the JWKS.
//!
//! The AS location is configuration only: discovery is read from the configured issuer and the
//! document must name that same issuer (RFC 8414 §3.3); nothing from a request or a response
//! header ever selects where the proxy sends its PAT. Every call has a deadline
//! (`timeouts.as_call_ms`) and a bounded response body, and every failure is an [`AsError`] that
//! the caller turns into "fail closed" (no forwarding). The PAT comes from client credentials,
//! is refreshed before it expires, and is fetched anew once if the AS answers 401.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio_rustls::TlsConnector;
use umagate_proto::Secret;
use umagate_proto::discovery::{ServerMetadata, uma_configuration_url};
use umagate_proto::introspection::IntrospectionResponse;
use umagate_proto::jwk::Jwks;
use umagate_proto::permission::{PermissionRequest, PermissionTicketResponse};
use umagate_proto::resource::{ResourceDescription, ResourceIdResponse};
use umagate_proto::token::TokenResponse;

use crate::config::AuthServer;
use crate::metrics::Metrics;
use crate::tls_client::HttpsConnector;

/// The header in which the proxy (a trusted RS with a subject-less PAT) names the owner.
pub const OWNER_HEADER: &str = "x-umagate-owner";
/// Largest AS response body read.
const MAX_AS_BODY: usize = 1024 * 1024;
/// A PAT is renewed this long before it expires.
const PAT_MARGIN_SECS: i64 = 30;

/// Why a call to the AS failed.
#[derive(Debug, thiserror::Error)]
pub enum AsError {
    /// No connection, a timeout, or a broken response.
    #[error("authorization server unreachable: {0}")]
    Unreachable(String),
    /// An unexpected status.
    #[error("authorization server answered {0}: {1}")]
    Status(StatusCode, String),
    /// A response that does not parse.
    #[error("authorization server sent a malformed response: {0}")]
    Malformed(String),
}

impl AsError {
    /// Whether the AS refused a resource id it does not know (FedAuthz §4.3).
    pub fn is_invalid_resource_id(&self) -> bool {
        match self {
            Self::Status(status, body) => {
                *status == StatusCode::BAD_REQUEST && body.contains("\"invalid_resource_id\"")
            }
            _ => false,
        }
    }
}

#[derive(Debug)]
struct Endpoints {
    token: Uri,
    rreg: String,
    perm: Uri,
    introspect: Option<Uri>,
    jwks: Option<Uri>,
}

#[derive(Debug, Clone)]
struct Pat {
    token: Secret,
    refresh_at: i64,
}

/// A client of one authorization server.
pub struct AsClient {
    client: Client<HttpsConnector, Full<Bytes>>,
    config: AuthServer,
    basic: HeaderValue,
    timeout: Duration,
    endpoints: RwLock<Option<Arc<Endpoints>>>,
    pat: tokio::sync::Mutex<Option<Pat>>,
    metrics: Arc<Metrics>,
    /// Until when calls fail at once after the AS could not be reached (the breaker).
    open_until: std::sync::Mutex<Option<tokio::time::Instant>>,
    breaker: Duration,
}

fn uri(text: &str, what: &str) -> Result<Uri, AsError> {
    text.parse()
        .map_err(|_| AsError::Malformed(format!("`{what}` is not a URI")))
}

/// RFC 6749 §2.3.1: the client id and secret are form-encoded before Basic encoding.
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl AsClient {
    /// A client for the AS in `config`.
    pub fn new(
        config: &AuthServer,
        timeout: Duration,
        metrics: Arc<Metrics>,
        tls: TlsConnector,
    ) -> Self {
        let credentials = format!(
            "{}:{}",
            form_encode(&config.client_id),
            form_encode(&config.client_secret)
        );
        let mut basic = HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(credentials)))
            .unwrap_or_else(|_| HeaderValue::from_static("Basic"));
        basic.set_sensitive(true);
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(timeout));
        connector.set_nodelay(true);
        Self {
            client: Client::builder(TokioExecutor::new())
                .build(HttpsConnector::new(connector, tls)),
            config: config.clone(),
            basic,
            timeout,
            endpoints: RwLock::new(None),
            pat: tokio::sync::Mutex::new(None),
            metrics,
            open_until: std::sync::Mutex::new(None),
            breaker: Duration::from_millis(config.breaker_ms),
        }
    }

    /// The issuer (the challenge's `as_uri`).
    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// Sends one request within the deadline and reads a bounded body. After a transport
    /// failure or a timeout, calls fail at once for `as.breaker_ms`, so that a down AS costs
    /// requests no more than one deadline per interval.
    async fn send(&self, request: Request<Full<Bytes>>) -> Result<(StatusCode, Bytes), AsError> {
        let now = tokio::time::Instant::now();
        let open = self.open_until.lock().ok().and_then(|o| *o);
        if open.is_some_and(|until| now < until) {
            Metrics::inc(&self.metrics.as_errors);
            return Err(AsError::Unreachable(
                "recently unreachable; not retried yet".into(),
            ));
        }
        let result = tokio::time::timeout(self.timeout, async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| AsError::Unreachable(e.to_string()))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_AS_BODY)
                .collect()
                .await
                .map_err(|e| AsError::Unreachable(e.to_string()))?
                .to_bytes();
            Ok((status, body))
        })
        .await
        .unwrap_or_else(|_| Err(AsError::Unreachable("timed out".into())));
        if result.is_err() {
            Metrics::inc(&self.metrics.as_errors);
            if let Ok(mut open) = self.open_until.lock() {
                *open = Some(tokio::time::Instant::now() + self.breaker);
            }
        }
        result
    }

    async fn endpoints(&self) -> Result<Arc<Endpoints>, AsError> {
        if let Some(e) = self.endpoints.read().ok().and_then(|e| e.clone()) {
            return Ok(e);
        }
        let url = uri(&uma_configuration_url(&self.config.issuer), "issuer")?;
        let request = Request::get(url)
            .header(ACCEPT, "application/json")
            .body(Full::default())
            .map_err(|e| AsError::Malformed(e.to_string()))?;
        let body = want(self.send(request).await?, StatusCode::OK)?;
        let metadata = ServerMetadata::parse(&body, &self.config.issuer)
            .and_then(|m| m.check_uma().map(|()| m))
            .map_err(|e| AsError::Malformed(e.to_string()))?;
        let endpoints = Arc::new(Endpoints {
            token: uri(
                metadata.token_endpoint.as_deref().unwrap_or_default(),
                "token_endpoint",
            )?,
            rreg: metadata.resource_registration_endpoint.unwrap_or_default(),
            perm: uri(
                metadata.permission_endpoint.as_deref().unwrap_or_default(),
                "permission_endpoint",
            )?,
            introspect: metadata
                .introspection_endpoint
                .as_deref()
                .map(|u| uri(u, "introspection_endpoint"))
                .transpose()?,
            jwks: metadata
                .jwks_uri
                .as_deref()
                .map(|u| uri(u, "jwks_uri"))
                .transpose()?,
        });
        if let Ok(mut slot) = self.endpoints.write() {
            *slot = Some(endpoints.clone());
        }
        Ok(endpoints)
    }

    /// The current PAT, fetched with client credentials when absent, due or `stale`.
    async fn pat(&self, now: i64, stale: Option<&Secret>) -> Result<Secret, AsError> {
        let mut slot = self.pat.lock().await;
        if let Some(pat) = slot.as_ref() {
            let replaced = stale.is_some_and(|s| s == &pat.token);
            if now < pat.refresh_at && !replaced {
                return Ok(pat.token.clone());
            }
        }
        let endpoints = self.endpoints().await?;
        let request = Request::post(endpoints.token.clone())
            .header(AUTHORIZATION, self.basic.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(Full::from(
                "grant_type=client_credentials&scope=uma_protection",
            ))
            .map_err(|e| AsError::Malformed(e.to_string()))?;
        let body = want(self.send(request).await?, StatusCode::OK)?;
        let token: TokenResponse =
            serde_json::from_slice(&body).map_err(|e| AsError::Malformed(e.to_string()))?;
        let lifetime = token
            .expires_in
            .and_then(|s| i64::try_from(s).ok())
            .unwrap_or(300);
        let refresh_in = (lifetime - PAT_MARGIN_SECS).max(lifetime / 2);
        let pat = Pat {
            token: token.access_token,
            refresh_at: now.saturating_add(refresh_in),
        };
        let out = pat.token.clone();
        *slot = Some(pat);
        Ok(out)
    }

    /// Fetches the PAT and the discovery document, for readiness.
    pub async fn warm_up(&self, now: i64) -> Result<(), AsError> {
        self.pat(now, None).await.map(drop)
    }

    /// A protection API call with the PAT, retried once with a fresh PAT after a 401.
    async fn with_pat(
        &self,
        now: i64,
        method: Method,
        target: Uri,
        owner: Option<&str>,
        body: Option<(&'static str, Bytes)>,
    ) -> Result<(StatusCode, Bytes), AsError> {
        let mut stale = None;
        for _ in 0..2 {
            let pat = self.pat(now, stale.as_ref()).await?;
            let mut bearer = HeaderValue::from_str(&format!("Bearer {}", pat.expose()))
                .map_err(|_| AsError::Malformed("the PAT is not a header value".into()))?;
            bearer.set_sensitive(true);
            let mut builder = Request::builder()
                .method(method.clone())
                .uri(target.clone())
                .header(AUTHORIZATION, bearer)
                .header(ACCEPT, "application/json");
            if let Some(owner) = owner {
                builder = builder.header(OWNER_HEADER, owner);
            }
            let body = match &body {
                Some((content_type, bytes)) => {
                    builder = builder.header(CONTENT_TYPE, *content_type);
                    Full::new(bytes.clone())
                }
                None => Full::default(),
            };
            let request = builder
                .body(body)
                .map_err(|e| AsError::Malformed(e.to_string()))?;
            let (status, bytes) = self.send(request).await?;
            if status != StatusCode::UNAUTHORIZED {
                return Ok((status, bytes));
            }
            stale = Some(pat);
        }
        Err(AsError::Status(
            StatusCode::UNAUTHORIZED,
            "the PAT was refused twice".into(),
        ))
    }

    fn rreg(&self, endpoints: &Endpoints, id: Option<&str>) -> Result<Uri, AsError> {
        let base = endpoints.rreg.trim_end_matches('/');
        match id {
            Some(id) => uri(
                &format!("{base}/{}", form_encode(id)),
                "resource_registration_endpoint",
            ),
            None => uri(base, "resource_registration_endpoint"),
        }
    }

    /// Registers a resource for `owner`; returns its `_id`.
    pub async fn register(
        &self,
        now: i64,
        owner: &str,
        description: &ResourceDescription,
    ) -> Result<String, AsError> {
        let endpoints = self.endpoints().await?;
        let body =
            serde_json::to_vec(description).map_err(|e| AsError::Malformed(e.to_string()))?;
        let target = self.rreg(&endpoints, None)?;
        let response = self
            .with_pat(
                now,
                Method::POST,
                target,
                Some(owner),
                Some(("application/json", body.into())),
            )
            .await?;
        let body = want(response, StatusCode::CREATED)?;
        let id: ResourceIdResponse =
            serde_json::from_slice(&body).map_err(|e| AsError::Malformed(e.to_string()))?;
        Ok(id.id)
    }

    /// The ids of `owner`'s resources registered by this proxy.
    pub async fn list(&self, now: i64, owner: &str) -> Result<Vec<String>, AsError> {
        let endpoints = self.endpoints().await?;
        let target = self.rreg(&endpoints, None)?;
        let response = self
            .with_pat(now, Method::GET, target, Some(owner), None)
            .await?;
        let body = want(response, StatusCode::OK)?;
        serde_json::from_slice(&body).map_err(|e| AsError::Malformed(e.to_string()))
    }

    /// One registered resource.
    pub async fn read(
        &self,
        now: i64,
        owner: &str,
        id: &str,
    ) -> Result<ResourceDescription, AsError> {
        let endpoints = self.endpoints().await?;
        let target = self.rreg(&endpoints, Some(id))?;
        let response = self
            .with_pat(now, Method::GET, target, Some(owner), None)
            .await?;
        let body = want(response, StatusCode::OK)?;
        ResourceDescription::parse(&body).map_err(|e| AsError::Malformed(format!("{e:?}")))
    }

    /// Replaces a registered resource's description.
    pub async fn update(
        &self,
        now: i64,
        owner: &str,
        id: &str,
        description: &ResourceDescription,
    ) -> Result<(), AsError> {
        let endpoints = self.endpoints().await?;
        let target = self.rreg(&endpoints, Some(id))?;
        let body =
            serde_json::to_vec(description).map_err(|e| AsError::Malformed(e.to_string()))?;
        let response = self
            .with_pat(
                now,
                Method::PUT,
                target,
                Some(owner),
                Some(("application/json", body.into())),
            )
            .await?;
        want(response, StatusCode::OK).map(drop)
    }

    /// A permission ticket for `permissions` of `owner`'s resources.
    pub async fn ticket(
        &self,
        now: i64,
        owner: &str,
        permissions: &[PermissionRequest],
    ) -> Result<Secret, AsError> {
        let endpoints = self.endpoints().await?;
        let body =
            serde_json::to_vec(permissions).map_err(|e| AsError::Malformed(e.to_string()))?;
        let response = self
            .with_pat(
                now,
                Method::POST,
                endpoints.perm.clone(),
                Some(owner),
                Some(("application/json", body.into())),
            )
            .await?;
        let body = want(response, StatusCode::CREATED)?;
        let ticket: PermissionTicketResponse =
            serde_json::from_slice(&body).map_err(|e| AsError::Malformed(e.to_string()))?;
        Ok(ticket.ticket)
    }

    /// Introspects `token` with the PAT (FedAuthz §5).
    pub async fn introspect(
        &self,
        now: i64,
        token: &str,
    ) -> Result<IntrospectionResponse, AsError> {
        let endpoints = self.endpoints().await?;
        let target = endpoints
            .introspect
            .clone()
            .ok_or_else(|| AsError::Malformed("no `introspection_endpoint` in discovery".into()))?;
        let body = Bytes::from(format!("token={}", form_encode(token)));
        let response = self
            .with_pat(
                now,
                Method::POST,
                target,
                None,
                Some(("application/x-www-form-urlencoded", body)),
            )
            .await?;
        let body = want(response, StatusCode::OK)?;
        IntrospectionResponse::parse(&body).map_err(|e| AsError::Malformed(e.to_string()))
    }

    /// The published signing keys.
    pub async fn jwks(&self) -> Result<Jwks, AsError> {
        let endpoints = self.endpoints().await?;
        let target = endpoints
            .jwks
            .clone()
            .ok_or_else(|| AsError::Malformed("no `jwks_uri` in discovery".into()))?;
        let request = Request::get(target)
            .header(ACCEPT, "application/json")
            .body(Full::default())
            .map_err(|e| AsError::Malformed(e.to_string()))?;
        Metrics::inc(&self.metrics.jwks_fetches);
        let body = want(self.send(request).await?, StatusCode::OK)?;
        Jwks::parse(&body).map_err(|e| AsError::Malformed(e.to_string()))
    }
}

/// The body of a response with the `wanted` status, or the error.
fn want((status, body): (StatusCode, Bytes), wanted: StatusCode) -> Result<Bytes, AsError> {
    if status == wanted {
        return Ok(body);
    }
    let text: String = String::from_utf8_lossy(&body).chars().take(200).collect();
    Err(AsError::Status(status, text))
}

#[cfg(test)]
mod tests {
    #[test]
    fn form_encoding_of_credentials() {
        assert_eq!(super::form_encode("a b:c%"), "a%20b%3Ac%25");
        assert_eq!(super::form_encode("proxy-1.x_y~"), "proxy-1.x_y~");
    }
}
