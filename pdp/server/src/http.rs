//! The AS's HTTP surface: one router, shared state, security headers, body limits.

mod admin;
mod authorize;
mod browser;
mod client_auth;
#[cfg(test)]
mod conformance;
mod discovery;
pub mod error;
mod introspect;
#[cfg(test)]
mod lessons;
mod owner;
mod protection;
#[cfg(test)]
mod quota_tests;
mod register;
#[cfg(test)]
pub(crate) mod testkit;
mod token;
#[cfg(test)]
pub(crate) mod umakit;
mod userinfo;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use umagate_proto::{ErrorCode, paths};

use crate::config::Config;
use crate::decide::runtime::PolicyRuntime;
use crate::keys::KeyRing;
use crate::store::Store;

/// What every handler shares.
pub struct AppState {
    /// The parsed configuration.
    pub config: Config,
    /// The issuer identifier (cached from the config).
    pub issuer: String,
    /// The database.
    pub store: Store,
    /// The signing keys.
    pub keys: KeyRing,
    /// The policy engine and the policies it has loaded.
    pub pdp: Arc<PolicyRuntime>,
}

/// Shared state handle.
pub type State = Arc<AppState>;

/// The peer's IP address when the server was started with connection info (`Server::serve`
/// does); `None` otherwise. Never fails.
pub struct PeerIp(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PeerIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let info = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        Ok(Self(info.map(|c| c.0.ip())))
    }
}

/// The time of this request, seconds since the Unix epoch: the one place the AS reads the clock.
#[expect(
    clippy::disallowed_methods,
    reason = "the HTTP edge is where the clock is read (style rule 7)"
)]
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The router with every endpoint.
pub fn router(state: State) -> Router {
    let max_body = state.config.server.max_body_bytes;
    Router::new()
        .route(paths::UMA_CONFIGURATION, get(discovery::metadata))
        .route(paths::OAUTH_METADATA, get(discovery::metadata))
        .route(paths::OPENID_CONFIGURATION, get(discovery::metadata))
        .route(paths::JWKS, get(discovery::jwks))
        .route(paths::TOKEN, post(token::token))
        .route(paths::INTROSPECT, post(introspect::introspect))
        .route(paths::REVOKE, post(introspect::revoke))
        .route(
            paths::AUTHORIZE,
            get(authorize::authorize).post(authorize::submit),
        )
        .route(
            paths::USERINFO,
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route(paths::REGISTER, post(register::register))
        .route(
            paths::CLAIMS_INTERACTION,
            get(authorize::claims::interaction),
        )
        .route(
            paths::RESOURCE_REGISTRATION,
            get(protection::list)
                .post(protection::create)
                .fallback(protection::collection_not_allowed),
        )
        .route(
            protection::RREG_SLASH,
            get(protection::list)
                .post(protection::create)
                .fallback(protection::collection_not_allowed),
        )
        .route(
            protection::RREG_ITEM,
            get(protection::read)
                .put(protection::update)
                .delete(protection::remove)
                .fallback(protection::item_not_allowed),
        )
        .route(
            paths::PERMISSION,
            post(protection::permission).fallback(protection::permission_not_allowed),
        )
        .nest("/admin", admin::router())
        .nest(
            "/owner",
            owner::router(state.config.policies.max_component_bytes),
        )
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

async fn not_found() -> error::ApiError {
    error::ApiError::new(ErrorCode::NotFound, "no such endpoint")
}

/// Headers every response carries (RFC 9700 §4.16, B1/B2).
async fn security_headers(request: Request<axum::body::Body>, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        (
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'; form-action 'self'; style-src 'self' 'unsafe-inline'",
        ),
        ("referrer-policy", "no-referrer"),
    ] {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    response
}
