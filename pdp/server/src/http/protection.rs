//! The UMA protection API (FedAuthz §3, §4): resource registration at `/rreg` and the
//! permission endpoint at `/perm`, each behind a PAT.
//!
//! - PAT (FedAuthz §1.3): `Authorization: Bearer` only (RFC 6750 §2.1; a token in the query is
//!   refused, §2.3); an active access token whose scope has `uma_protection`. No credentials →
//!   401 with the realm only; unknown, expired, revoked → 401 `invalid_token`; no
//!   `uma_protection` → 403 `insufficient_scope` (D-PAT-SCOPE).
//! - Binding: the resource server is the PAT's client, the owner its subject. A subject-less
//!   PAT (client credentials) of a client flagged `resource_server` names the owner per request
//!   in `X-Umagate-Owner`, who must be a user; a PAT with a subject may not name one (400).
//! - Every lookup is scoped to (resource server, owner): anything else is `404 not_found`.
//! - Bodies must be `application/json` (D-CT: 400 `invalid_request`); a client-supplied `_id` is
//!   ignored on create and must equal the path on update (D-ID).
//! - Unsupported methods → 405 with `Allow` and `{"error":"unsupported_method_type"}`.
//! - A permission request yields one ticket for all its permissions (FedAuthz §4.2): 256 random
//!   bits, base64url (D-TKT-FMT), stored as its SHA-256 with the permissions, for
//!   `[uma] ticket_secs` (default 300 s).

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, State as Extract};
use axum::response::{IntoResponse, Response};
use http::header::{ALLOW, LOCATION};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode};
use umagate_proto::challenge::BearerChallenge;
use umagate_proto::permission::{PermissionRequest, PermissionTicketResponse};
use umagate_proto::resource::{ResourceDescription, ResourceIdResponse};
use umagate_proto::{ErrorCode, ErrorResponse, Secret, UMA_PROTECTION_SCOPE, paths};

use super::admin::{auth, is_json};
use super::error::{ApiError, json, no_store};
use super::{State, now};
use crate::secrets;
use crate::store::{Quota, ResourceRecord, TicketRecord, TokenKind, TokenRecord};

#[cfg(test)]
mod tests;

/// The collection with a trailing slash (D-RREG-SLASH: both forms work).
pub(super) const RREG_SLASH: &str = "/rreg/";
/// One registered resource.
pub(super) const RREG_ITEM: &str = "/rreg/{id}";

/// Most resources one (resource server, owner) pair may register.
pub const MAX_RESOURCES: i64 = 10_000;
/// The request header in which a trusted resource server with a subject-less PAT names the owner.
pub const OWNER_HEADER: &str = "x-umagate-owner";
/// The realm of the bearer challenges.
const REALM: &str = "umagate";

/// A request's PAT binding: the resource server and the owner every lookup is scoped to.
#[derive(Debug)]
pub(super) struct Pat {
    client_id: String,
    owner: String,
}

/// An RFC 6750 error with its challenge.
pub(super) fn bearer_error(code: ErrorCode, scope: Option<&str>, description: &str) -> ApiError {
    ApiError::Bearer(
        BearerChallenge {
            realm: Some(REALM.into()),
            error: Some(code),
            scope: scope.map(str::to_string),
        },
        Some(ErrorResponse::new(code, description)),
    )
}

fn invalid_request(description: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, description)
}

impl FromRequestParts<State> for Pat {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self, ApiError> {
        let now = now();
        let in_query = parts.uri.query().is_some_and(|q| {
            q.split('&')
                .any(|pair| pair.split('=').next() == Some("access_token"))
        });
        if in_query {
            return Err(bearer_error(
                ErrorCode::InvalidRequest,
                None,
                "send the PAT in the Authorization header, not the query",
            ));
        }
        let Some(token) = auth::bearer_token(&parts.headers)? else {
            let bare = BearerChallenge {
                realm: Some(REALM.into()),
                ..BearerChallenge::default()
            };
            return Err(ApiError::Bearer(bare, None));
        };
        let record = pat_record(state, token, now).await?;
        let owner = owner(state, &parts.headers, &record.client_id, record.subject).await?;
        Ok(Self {
            client_id: record.client_id,
            owner,
        })
    }
}

/// The stored PAT behind `token`: an active access token with `uma_protection`, or the RFC 6750
/// error (401 `invalid_token`, 403 `insufficient_scope`, D-PAT-SCOPE).
pub(super) async fn pat_record(
    state: &State,
    token: &str,
    now: i64,
) -> Result<TokenRecord, ApiError> {
    scoped_access_token(state, token, now, UMA_PROTECTION_SCOPE).await
}

/// The stored access token behind `token` if it is active and was granted `scope`, or the
/// RFC 6750 error (401 `invalid_token`, 403 `insufficient_scope`).
pub(super) async fn scoped_access_token(
    state: &State,
    token: &str,
    now: i64,
    scope: &str,
) -> Result<TokenRecord, ApiError> {
    let record = match state.store.token(&secrets::digest(token)).await? {
        Some(t) if t.kind == TokenKind::Access && t.is_active(now) => t,
        _ => {
            return Err(bearer_error(
                ErrorCode::InvalidToken,
                None,
                "the access token is invalid, expired or revoked",
            ));
        }
    };
    if !record.scope.split(' ').any(|s| s == scope) {
        return Err(bearer_error(
            ErrorCode::InsufficientScope,
            Some(scope),
            &format!("the token was not granted `{scope}`"),
        ));
    }
    Ok(record)
}

/// The owner of a request: the PAT's subject, or for a subject-less PAT of a trusted resource
/// server, the user named in [`OWNER_HEADER`].
async fn owner(
    state: &State,
    headers: &HeaderMap,
    client_id: &str,
    subject: Option<String>,
) -> Result<String, ApiError> {
    let mut values = headers.get_all(OWNER_HEADER).iter();
    let named = values.next();
    if values.next().is_some() {
        return Err(invalid_request("more than one X-Umagate-Owner header"));
    }
    let Some(named) = named else {
        return subject.ok_or_else(|| {
            invalid_request("this PAT has no resource owner: name one in X-Umagate-Owner")
        });
    };
    if subject.is_some() {
        return Err(invalid_request(
            "a PAT issued for a resource owner cannot name another one",
        ));
    }
    let trusted = state
        .store
        .client(client_id)
        .await?
        .is_some_and(|c| c.resource_server);
    if !trusted {
        return Err(invalid_request(
            "only a trusted resource server may name the resource owner",
        ));
    }
    let named = named
        .to_str()
        .map_err(|_| invalid_request("malformed X-Umagate-Owner header"))?;
    match state.store.user(named).await? {
        Some(user) => Ok(user.subject),
        None => Err(invalid_request("X-Umagate-Owner names no known user")),
    }
}

/// `405` with `Allow` and `{"error":"unsupported_method_type"}` (FedAuthz §3.2, RFC 9110
/// §15.5.6).
fn method_not_allowed(allow: &'static str) -> Response {
    let mut response =
        ApiError::Protocol(ErrorResponse::bare(ErrorCode::UnsupportedMethodType)).into_response();
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}

/// Any other method on `/rreg` and `/rreg/`.
pub async fn collection_not_allowed() -> Response {
    method_not_allowed("GET, HEAD, POST")
}

/// Any other method on `/rreg/{id}`.
pub async fn item_not_allowed() -> Response {
    method_not_allowed("GET, HEAD, PUT, DELETE")
}

/// Any other method on `/perm`.
pub async fn permission_not_allowed() -> Response {
    method_not_allowed("POST")
}

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such resource")
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string(value).map_err(|e| ApiError::Internal(e.to_string()))
}

/// A create or update body: JSON only (D-CT), parsed strictly, without the members the AS
/// assigns (`_id` is returned separately for the D-ID check).
fn description_body(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(ResourceDescription, Option<String>), ApiError> {
    if !is_json(headers) {
        return Err(invalid_request("Content-Type must be application/json"));
    }
    let mut description = ResourceDescription::parse(body)?;
    let id = description.id.take();
    description.user_access_policy_uri = None;
    Ok((description, id))
}

/// The stored description of a resource, with its `_id`.
fn stored(record: &ResourceRecord) -> Result<ResourceDescription, ApiError> {
    let mut description = ResourceDescription::parse(record.description.as_bytes())
        .map_err(|e| ApiError::Internal(format!("stored resource {}: {e:?}", record.id)))?;
    description.id = Some(record.id.clone());
    Ok(description)
}

/// `POST /rreg` (and `/rreg/`): register a resource (FedAuthz §3.2.1).
#[tracing::instrument(name = "pdp.rreg.create", skip_all)]
pub async fn create(
    Extract(state): Extract<State>,
    pat: Pat,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let now = now();
    let (mut description, _ignored_id) = description_body(&headers, &body)?;
    let id = secrets::new_id().map_err(|e| ApiError::Internal(e.to_string()))?;
    let record = ResourceRecord {
        id: id.clone(),
        client_id: pat.client_id,
        owner: pat.owner,
        description: to_json(&description)?,
        created_at: now,
        updated_at: now,
    };
    if !state.store.insert_resource(&record, MAX_RESOURCES).await? {
        return Err(invalid_request(format!(
            "at most {MAX_RESOURCES} resources per resource server and owner"
        )));
    }
    tracing::info!(target: "audit", client_id = %record.client_id, resource = %id, "resource registered");
    let location = HeaderValue::try_from(format!("{}/{id}", paths::RESOURCE_REGISTRATION))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    description.id = Some(id);
    let mut response = json(StatusCode::CREATED, to_json(&description)?);
    response.headers_mut().insert(LOCATION, location);
    Ok(response)
}

/// `GET /rreg` (and `/rreg/`): this owner's resource ids at this resource server (§3.2.5).
#[tracing::instrument(name = "pdp.rreg.list", skip_all)]
pub async fn list(Extract(state): Extract<State>, pat: Pat) -> Result<Response, ApiError> {
    let ids = state.store.resource_ids(&pat.client_id, &pat.owner).await?;
    Ok(json(StatusCode::OK, to_json(&ids)?))
}

/// `GET /rreg/{id}`: the registered description with its `_id` (§3.2.2).
#[tracing::instrument(name = "pdp.rreg.read", skip_all)]
pub async fn read(
    Extract(state): Extract<State>,
    pat: Pat,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Ok(Path(id)) = id else {
        return Err(not_found());
    };
    let record = state
        .store
        .resource(&pat.client_id, &pat.owner, &id)
        .await?
        .ok_or_else(not_found)?;
    Ok(json(StatusCode::OK, to_json(&stored(&record)?)?))
}

/// `PUT /rreg/{id}`: replace the description (§3.2.3); a body `_id` must equal the path (D-ID).
#[tracing::instrument(name = "pdp.rreg.update", skip_all)]
pub async fn update(
    Extract(state): Extract<State>,
    pat: Pat,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Ok(Path(id)) = id else {
        return Err(not_found());
    };
    let (description, body_id) = description_body(&headers, &body)?;
    if body_id.is_some_and(|b| b != id) {
        return Err(invalid_request("the body's `_id` differs from the path"));
    }
    let text = to_json(&description)?;
    if !state
        .store
        .update_resource(&pat.client_id, &pat.owner, &id, &text, now())
        .await?
    {
        return Err(not_found());
    }
    let response = ResourceIdResponse {
        id,
        user_access_policy_uri: None,
    };
    Ok(json(StatusCode::OK, to_json(&response)?))
}

/// `DELETE /rreg/{id}`: deregister (§3.2.4) → `204`.
#[tracing::instrument(name = "pdp.rreg.delete", skip_all)]
pub async fn remove(
    Extract(state): Extract<State>,
    pat: Pat,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Ok(Path(id)) = id else {
        return Err(not_found());
    };
    if !state
        .store
        .delete_resource(&pat.client_id, &pat.owner, &id)
        .await?
    {
        return Err(not_found());
    }
    tracing::info!(target: "audit", client_id = %pat.client_id, resource = %id, "resource deregistered");
    let mut response = StatusCode::NO_CONTENT.into_response();
    no_store(&mut response);
    Ok(response)
}

/// `POST /perm`: one ticket for the requested permissions (FedAuthz §4).
#[tracing::instrument(name = "pdp.perm", skip_all)]
pub async fn permission(
    Extract(state): Extract<State>,
    pat: Pat,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let now = now();
    if !is_json(&headers) {
        return Err(invalid_request("Content-Type must be application/json"));
    }
    let requests = PermissionRequest::parse_body(&body)?;
    // Every resource first (`invalid_resource_id` wins over `invalid_scope`), then every scope.
    let mut resources = Vec::with_capacity(requests.len());
    for request in &requests {
        let record = state
            .store
            .resource(&pat.client_id, &pat.owner, &request.resource_id)
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidResourceId,
                    format!("no such resource: {}", request.resource_id),
                )
            })?;
        resources.push(stored(&record)?);
    }
    for (request, resource) in requests.iter().zip(&resources) {
        if let Some(scope) = request
            .resource_scopes
            .iter()
            .find(|s| !resource.has_scope(s.as_str()))
        {
            return Err(ApiError::new(
                ErrorCode::InvalidScope,
                format!(
                    "scope `{}` is not registered for resource {}",
                    scope.as_str(),
                    request.resource_id
                ),
            ));
        }
    }
    // D2: outstanding tickets per (resource server, owner) are bounded.
    if state
        .store
        .quota_reached(
            Quota::Tickets,
            &pat.client_id,
            &pat.owner,
            state.config.quotas.tickets_per_owner,
            now,
        )
        .await?
    {
        return Err(invalid_request(
            "too many outstanding tickets for this resource owner; retry later",
        ));
    }
    let ticket = secrets::new_handle().map_err(|e| ApiError::Internal(e.to_string()))?;
    let record = TicketRecord {
        ticket_hash: secrets::digest(&ticket),
        client_id: pat.client_id,
        owner: pat.owner,
        permissions: to_json(&requests)?,
        created_at: now,
        expires_at: now.saturating_add(state.config.uma.ticket_secs),
        consumed_at: None,
        presenter: None,
        party: None,
        request_id: None,
    };
    state.store.insert_ticket(&record, now).await?;
    let body = PermissionTicketResponse {
        ticket: Secret::new(ticket),
    };
    Ok(json(StatusCode::CREATED, to_json(&body)?))
}
