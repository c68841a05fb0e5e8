//! The owner API (`/owner/…`): what a resource owner manages about their own resources — shares,
//! requests waiting for approval, policy components and their bindings, the decision log.
//!
//! Authentication: `Authorization: Bearer` with an access token of the owner (a subject) that
//! was granted [`OWNER_SCOPE`] (the user consents to it like to any scope). Everything is scoped
//! to that subject: another owner's share, request, policy or resource is `404 not_found`, and
//! nothing can name another owner.

mod policies;
mod requests;
mod shares;
#[cfg(test)]
mod tests;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts, State as Extract};
use axum::response::Response;
use axum::routing::{get, post, put};
use http::request::Parts;
use http::{StatusCode, Uri};
use umagate_proto::form::Form;
use umagate_proto::owner::{DecisionLine, OWNER_SCOPE};
use umagate_proto::resource::ResourceDescription;
use umagate_proto::{ErrorCode, ErrorResponse};

use super::admin::auth;
use super::error::{ApiError, json};
use super::protection::{bearer_error, scoped_access_token};
use super::{State, now};
use crate::store::ResourceRecord;

/// Most items one listing returns.
const LIST_LIMIT: i64 = 500;

/// The owner API's routes, nested under `/owner`.
pub(super) fn router(max_component_bytes: usize) -> Router<State> {
    Router::new()
        .route("/resources", get(resources))
        .route(
            "/resources/{id}/attributes",
            get(attributes).put(set_attributes),
        )
        .route("/shares", get(shares::list).post(shares::create))
        .route("/shares/{id}", axum::routing::delete(shares::revoke))
        .route("/requests", get(requests::list))
        .route("/requests/{id}/approve", post(requests::approve))
        .route("/requests/{id}/deny", post(requests::deny))
        .route(
            "/policies",
            get(policies::list)
                .post(policies::upload)
                .layer(DefaultBodyLimit::max(max_component_bytes)),
        )
        .route("/policies/{id}/versions", get(policies::versions))
        .route(
            "/policies/{id}/versions/{version}/dry-run",
            post(policies::dry_run),
        )
        .route(
            "/bindings",
            put(policies::bind)
                .get(policies::bindings)
                .delete(policies::unbind),
        )
        .route("/decisions", get(decisions))
        .route("/settings", get(settings).put(set_settings))
}

/// The authenticated owner.
pub(super) struct Owner {
    subject: String,
}

impl FromRequestParts<State> for Owner {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self, ApiError> {
        let Some(token) = auth::bearer_token(&parts.headers)? else {
            return Err(bearer_error(
                ErrorCode::InvalidToken,
                None,
                "an owner access token is required",
            ));
        };
        let record = scoped_access_token(state, token, now(), OWNER_SCOPE).await?;
        let subject = record.subject.ok_or_else(|| {
            bearer_error(
                ErrorCode::InvalidToken,
                None,
                "the access token has no resource owner",
            )
        })?;
        Ok(Self { subject })
    }
}

/// `404 not_found`.
fn not_found(what: &str) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("no such {what}"))
}

fn invalid_request(description: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, description)
}

/// A JSON response of `value`.
fn reply(status: StatusCode, value: &impl serde::Serialize) -> Result<Response, ApiError> {
    let body = serde_json::to_string(value).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(json(status, body))
}

/// A strict JSON object body (D-CT: `application/json` or 400).
fn body<T: serde::de::DeserializeOwned>(
    headers: &http::HeaderMap,
    bytes: &[u8],
) -> Result<T, ApiError> {
    if !super::admin::is_json(headers) {
        return Err(invalid_request("Content-Type must be application/json"));
    }
    umagate_proto::json::object_from_slice(bytes).map_err(|e| {
        ApiError::Protocol(ErrorResponse::new(ErrorCode::InvalidRequest, e.to_string()))
    })
}

/// The query string, parsed strictly (duplicates refused).
fn query(uri: &Uri) -> Result<Form, ApiError> {
    Ok(Form::parse(uri.query().unwrap_or_default().as_bytes())?)
}

/// The owner's resource `id` with its description, or 404.
async fn owned(
    state: &State,
    owner: &Owner,
    id: &str,
) -> Result<(ResourceRecord, ResourceDescription), ApiError> {
    let record = state
        .store
        .owned_resource(&owner.subject, id)
        .await?
        .ok_or_else(|| not_found("resource"))?;
    let description = ResourceDescription::parse(record.description.as_bytes())
        .map_err(|e| ApiError::Internal(format!("stored resource {}: {e:?}", record.id)))?;
    Ok((record, description))
}

/// `GET /owner/resources`: the owner's registered resources, with the resource server.
async fn resources(Extract(state): Extract<State>, owner: Owner) -> Result<Response, ApiError> {
    let records = state
        .store
        .owned_resources(&owner.subject, LIST_LIMIT)
        .await?;
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        let mut description: serde_json::Value = serde_json::from_str(&r.description)
            .map_err(|e| ApiError::Internal(format!("stored resource {}: {e}", r.id)))?;
        if let Some(map) = description.as_object_mut() {
            map.insert("_id".into(), r.id.clone().into());
            map.insert("resource_server".into(), r.client_id.clone().into());
        }
        out.push(description);
    }
    reply(StatusCode::OK, &out)
}

/// `GET /owner/resources/{id}/attributes`: what the owner's policies see as the resource's
/// attributes (`{}` when none were set).
async fn attributes(
    Extract(state): Extract<State>,
    owner: Owner,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    owned(&state, &owner, &id).await?;
    let text = state
        .store
        .attributes(&owner.subject, &id)
        .await?
        .unwrap_or_else(|| "{}".into());
    Ok(json(StatusCode::OK, text))
}

/// `PUT /owner/resources/{id}/attributes` with a JSON object: replaces the attributes (at most
/// 64, names of 1 to 128 characters, each value at most 16 KiB as JSON).
async fn set_attributes(
    Extract(state): Extract<State>,
    owner: Owner,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: http::HeaderMap,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    use umagate_core::policy::{MAX_ATTRIBUTES, MAX_VALUE_BYTES};
    owned(&state, &owner, &id).await?;
    let map: serde_json::Map<String, serde_json::Value> = body(&headers, &bytes)?;
    if map.len() > MAX_ATTRIBUTES {
        return Err(invalid_request(format!(
            "at most {MAX_ATTRIBUTES} attributes"
        )));
    }
    for (name, value) in &map {
        if name.is_empty() || name.len() > 128 {
            return Err(invalid_request("attribute names: 1 to 128 characters"));
        }
        if value.to_string().len() > MAX_VALUE_BYTES {
            return Err(invalid_request(format!(
                "attribute `{name}`: at most {MAX_VALUE_BYTES} bytes"
            )));
        }
    }
    let text = serde_json::Value::Object(map).to_string();
    state
        .store
        .set_attributes(&owner.subject, &id, &text)
        .await?;
    Ok(json(StatusCode::OK, text))
}

/// `GET /owner/settings`: `{"webhook_url": …}`.
async fn settings(Extract(state): Extract<State>, owner: Owner) -> Result<Response, ApiError> {
    let url = state.store.webhook(&owner.subject).await?;
    reply(StatusCode::OK, &serde_json::json!({ "webhook_url": url }))
}

/// `PUT /owner/settings` with `{"webhook_url": "http://…"}` (or `null` to clear).
async fn set_settings(
    Extract(state): Extract<State>,
    owner: Owner,
    headers: http::HeaderMap,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Settings {
        webhook_url: Option<String>,
    }
    let settings: Settings = body(&headers, &bytes)?;
    if let Some(url) = &settings.webhook_url {
        crate::webhook::parse(url).map_err(|e| invalid_request(format!("webhook_url: {e}")))?;
    }
    state
        .store
        .set_webhook(&owner.subject, settings.webhook_url.as_deref())
        .await?;
    reply(
        StatusCode::OK,
        &serde_json::json!({ "webhook_url": settings.webhook_url }),
    )
}

/// `GET /owner/decisions[?resource_id=…][&limit=…]`: the decision log, newest first.
async fn decisions(
    Extract(state): Extract<State>,
    owner: Owner,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q = query(&uri)?;
    let limit = match q.get("limit") {
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=LIST_LIMIT).contains(l))
            .ok_or_else(|| invalid_request(format!("limit: 1 to {LIST_LIMIT}")))?,
        None => 100,
    };
    let lines = state
        .store
        .decisions(&owner.subject, q.get("resource_id"), limit)
        .await?;
    let out: Vec<DecisionLine> = lines
        .into_iter()
        .map(|d| DecisionLine {
            resource_id: d.resource_id,
            client_id: d.client_id,
            subject: d.subject,
            outcome: d.outcome,
            scopes: serde_json::from_str(&d.scopes).unwrap_or_default(),
            explanation: d.explanation,
            created_at: d.created_at,
        })
        .collect();
    reply(StatusCode::OK, &out)
}
