//! The request pipeline, one phase after the other (pingora's phase chart):
//!
//! 1. framing verdict (HTTP/1) → 400 (header values with control characters never get here:
//!    hyper refuses them on the wire and `http::HeaderValue` cannot hold them);
//! 2. host and canonical path (`canonicalize_target`) → 400;
//! 3. route on (host, method, canonical path) → 404 when nothing matches (default deny);
//! 4. protected routes: resource id (registered on first sight), bearer RPT check, else a
//!    ticket and `401 WWW-Authenticate: UMA …`, or `403` + `Warning` when the AS cannot be
//!    asked — a protected request is never forwarded without a verified, sufficient RPT;
//! 5. header hygiene and identity headers, then forwarding of the canonical path.
//!
//! The clock is read once per request, here, and passed down. One access log line per request
//! goes to the `access` target: no token, no query string.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::header::{AUTHORIZATION, UPGRADE};
use http::{HeaderValue, Request, Response, Version};
use hyper::body::Incoming;
use umagate_proto::Secret;
use umagate_proto::challenge::UmaChallenge;
use umagate_proto::path::canonicalize_target;
use umagate_proto::permission::PermissionRequest;
use umagate_proto::scope::ScopeToken;

use crate::Shared;
use crate::as_client::AsError;
use crate::error::{Body, Reject};
use crate::forward::Outbound;
use crate::framing::Verdicts;
use crate::headers::{self, Peer};
use crate::metrics::Outcome;
use crate::resources::ResourceKey;
use crate::route::{Protection, Vars};
use crate::rpt::{self, Grant};

/// What the handler knows about the connection a request arrived on.
#[derive(Clone, Debug)]
pub struct Connection {
    /// The TCP peer.
    pub peer: SocketAddr,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// The framing verdicts of this connection.
    pub verdicts: Arc<Verdicts>,
}

/// What the access log says about a request beyond its outcome.
#[derive(Default)]
struct Notes {
    host: String,
    path: String,
    route: Option<usize>,
    upstream: Option<String>,
    subject: Option<String>,
}

/// Handles one request; never fails (every failure is a response).
pub async fn handle(
    shared: Arc<Shared>,
    conn: Connection,
    request: Request<Incoming>,
) -> Response<Body> {
    let started = Instant::now();
    let now = crate::clock::now();
    let method = request.method().clone();
    let version = request.version();
    let mut notes = Notes::default();
    let (response, outcome) = match process(&shared, &conn, now, request, &mut notes).await {
        Ok(done) => done,
        Err(reject) => (reject.respond(), reject.outcome()),
    };
    let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    shared.metrics.record(outcome, elapsed);
    tracing::info!(
        target: "access",
        peer = %conn.peer.ip(),
        method = %method,
        version = ?version,
        host = %notes.host,
        path = %notes.path,
        route = ?notes.route,
        upstream = notes.upstream.as_deref().unwrap_or("-"),
        subject = notes.subject.as_deref().unwrap_or("-"),
        status = response.status().as_u16(),
        outcome = outcome.as_str(),
        elapsed_ms = elapsed,
    );
    response
}

async fn process(
    shared: &Shared,
    conn: &Connection,
    now: i64,
    mut request: Request<Incoming>,
    notes: &mut Notes,
) -> Result<(Response<Body>, Outcome), Reject> {
    if request.version() <= Version::HTTP_11
        && let Some(problem) = conn.verdicts.next()
    {
        return Err(Reject::BadRequest(problem.into()));
    }
    let live = shared.live();
    let (host, authority) =
        headers::request_host(&request).map_err(|m| Reject::BadRequest(m.into()))?;
    notes.host.clone_from(&host);
    let target = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let (path, query) = canonicalize_target(&target, &live.config.path)
        .map_err(|e| Reject::BadRequest(e.to_string()))?;
    notes.path = path.as_str().to_string();
    let (route, vars) = live
        .routes
        .find(&host, request.method(), &path)
        .ok_or(Reject::NoRoute)?;
    notes.route = Some(route.index);
    notes.upstream = Some(route.upstream_name.clone());
    let upgrade = headers::wants_upgrade(&request);
    let upgrade_value = request.headers().get(UPGRADE).cloned();
    let (outcome, identity) = match &route.protection {
        None => (Outcome::Public, None),
        Some(protection) => {
            let (grant, resource_id) = authorize(shared, now, &request, protection, &vars).await?;
            notes.subject = Some(grant.subject.clone());
            (Outcome::Authorized, Some((grant, resource_id)))
        }
    };
    let peer = Peer {
        ip: conn.peer.ip(),
        trusted: live.trusted.iter().any(|c| c.contains(conn.peer.ip())),
        scheme: conn.scheme,
    };
    let headers = request.headers_mut();
    headers::sanitize_request(headers, &peer, authority.to_str().unwrap_or(&host));
    if let Some((grant, resource_id)) = &identity {
        headers.remove(AUTHORIZATION);
        if !headers::add_identity(headers, grant, resource_id) {
            return Err(Reject::Internal("the identity cannot be sent as headers"));
        }
    }
    if let (true, Some(value)) = (upgrade, upgrade_value) {
        headers.insert(UPGRADE, value);
    }
    let path_and_query = match query {
        Some(q) => format!("{path}?{q}"),
        None => path.into_string(),
    };
    let out = Outbound {
        request,
        upstream: route.upstream.clone(),
        path_and_query,
        host: authority,
        upgrade,
        max_request_body: live.config.limits.max_request_body_bytes,
        max_response_body: live.config.limits.max_response_body_bytes,
    };
    let response = shared.upstreams.forward(out).await?;
    Ok((response, outcome))
}

/// The grant and resource id of a sufficient RPT, or the challenge (or 403) to answer with.
async fn authorize(
    shared: &Shared,
    now: i64,
    request: &Request<Incoming>,
    protection: &Protection,
    vars: &Vars,
) -> Result<(Grant, String), Reject> {
    let key = ResourceKey {
        owner: vars.expand(&protection.owner),
        resource_type: protection.resource_type.clone(),
        name: vars.expand(&protection.name),
    };
    if HeaderValue::from_str(&key.owner).is_err() {
        return Err(Reject::BadRequest(
            "the owner named by the path is not valid".into(),
        ));
    }
    let needed = protection
        .scopes
        .get(request.method())
        .cloned()
        .unwrap_or_default();
    let resource_id = shared
        .resources
        .resolve(&shared.as_client, now, &key, &protection.resource_scopes)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "resource registration failed");
            Reject::AsUnreachable
        })?;
    if let Some(token) = rpt::bearer(request.headers()) {
        match shared
            .rpt
            .check(&shared.as_client, now, token, &resource_id, &needed)
            .await
        {
            Ok(Some(grant)) => return Ok((grant, resource_id)),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "RPT check could not reach the authorization server")
            }
        }
    }
    let mut ticket = ticket(shared, now, &key.owner, &resource_id, &needed).await;
    if matches!(&ticket, Err(e) if e.is_invalid_resource_id()) {
        // The resource was deleted at the AS since it was cached: register it again, once.
        shared.resources.forget(&key);
        let resource_id = shared
            .resources
            .resolve(&shared.as_client, now, &key, &protection.resource_scopes)
            .await;
        ticket = match resource_id {
            Ok(id) => self::ticket(shared, now, &key.owner, &id, &needed).await,
            Err(e) => Err(e),
        };
    }
    match ticket {
        Ok(ticket) => Err(Reject::Challenge(UmaChallenge {
            realm: shared.realm.clone(),
            as_uri: shared.as_client.issuer().to_string(),
            ticket: ticket.expose().to_string(),
        })),
        Err(e) => {
            tracing::warn!(error = %e, "no permission ticket");
            Err(Reject::AsUnreachable)
        }
    }
}

async fn ticket(
    shared: &Shared,
    now: i64,
    owner: &str,
    resource_id: &str,
    needed: &[ScopeToken],
) -> Result<Secret, AsError> {
    let permission = PermissionRequest {
        resource_id: resource_id.to_string(),
        resource_scopes: needed.to_vec(),
    };
    shared.as_client.ticket(now, owner, &[permission]).await
}
