//! Requests waiting for the owner (`request_submitted`): list, approve (all that was asked, or
//! fewer scopes, maybe until a date), deny. The client's next poll with its ticket gets the
//! RPT or `request_denied`.

use axum::body::Bytes;
use axum::extract::{Path, State as Extract};
use axum::response::Response;
use http::{HeaderMap, StatusCode, Uri};
use umagate_proto::owner::{AccessRequest, Approval, RequestedPermission};

use super::{LIST_LIMIT, Owner, body, invalid_request, not_found, query, reply};
use crate::http::error::ApiError;
use crate::http::{State, now};
use crate::store::{AccessRequestRecord, status};

fn permissions(json: &str) -> Result<Vec<RequestedPermission>, ApiError> {
    serde_json::from_str(json).map_err(|e| ApiError::Internal(format!("stored request: {e}")))
}

fn wire(r: AccessRequestRecord) -> Result<AccessRequest, ApiError> {
    Ok(AccessRequest {
        permissions: permissions(&r.permissions)?,
        granted: r.granted.as_deref().map(permissions).transpose()?,
        id: r.id,
        subject: r.subject,
        client_id: r.client_id,
        resource_server: r.rs_client_id,
        status: r.status,
        expires_at: r.grant_expires_at,
        created_at: r.created_at,
    })
}

/// `GET /owner/requests[?status=pending|approved|denied]`, newest first.
pub(super) async fn list(
    Extract(state): Extract<State>,
    owner: Owner,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q = query(&uri)?;
    let wanted = match q.get("status") {
        None => None,
        Some(s @ (status::PENDING | status::APPROVED | status::DENIED)) => Some(s),
        Some(_) => return Err(invalid_request("status: pending, approved or denied")),
    };
    let records = state
        .store
        .access_requests(&owner.subject, wanted, LIST_LIMIT)
        .await?;
    let out = records
        .into_iter()
        .map(wire)
        .collect::<Result<Vec<_>, _>>()?;
    reply(StatusCode::OK, &out)
}

/// The owner's request `id`, or 404.
async fn find(state: &State, owner: &Owner, id: &str) -> Result<AccessRequestRecord, ApiError> {
    state
        .store
        .access_request(id)
        .await?
        .filter(|r| r.owner == owner.subject)
        .ok_or_else(|| not_found("request"))
}

/// `POST /owner/requests/{id}/approve` with an optional [`Approval`] body.
pub(super) async fn approve(
    Extract(state): Extract<State>,
    owner: Owner,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let now = now();
    let approval: Approval = if bytes.is_empty() {
        Approval::default()
    } else {
        body(&headers, &bytes)?
    };
    let request = find(&state, &owner, &id).await?;
    let asked = permissions(&request.permissions)?;
    let granted = match approval.permissions {
        None => asked,
        Some(subset) => {
            for p in &subset {
                let within = asked.iter().any(|a| {
                    a.resource_id == p.resource_id
                        && p.resource_scopes
                            .iter()
                            .all(|s| a.resource_scopes.contains(s))
                });
                if !within {
                    return Err(invalid_request(format!(
                        "permissions: {} was not asked for with those scopes",
                        p.resource_id
                    )));
                }
            }
            subset
        }
    };
    if approval.expires_at.is_some_and(|e| e <= now) {
        return Err(invalid_request("expires_at: must be in the future"));
    }
    let text = serde_json::to_string(&granted).map_err(|e| ApiError::Internal(e.to_string()))?;
    decide(
        &state,
        &owner,
        &request,
        status::APPROVED,
        Some(&text),
        approval.expires_at,
        now,
    )
    .await
}

/// `POST /owner/requests/{id}/deny`.
pub(super) async fn deny(
    Extract(state): Extract<State>,
    owner: Owner,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let request = find(&state, &owner, &id).await?;
    decide(&state, &owner, &request, status::DENIED, None, None, now()).await
}

async fn decide(
    state: &State,
    owner: &Owner,
    request: &AccessRequestRecord,
    decision: &str,
    granted: Option<&str>,
    expires_at: Option<i64>,
    now: i64,
) -> Result<Response, ApiError> {
    if !state
        .store
        .decide_access_request(
            &owner.subject,
            &request.id,
            decision,
            granted,
            expires_at,
            now,
        )
        .await?
    {
        return Err(ApiError::new(
            umagate_proto::ErrorCode::InvalidRequest,
            "the request was already decided",
        ));
    }
    tracing::info!(target: "audit", owner = %owner.subject, request = %request.id, decision, "request decided");
    let updated = find(state, owner, &request.id).await?;
    reply(StatusCode::OK, &wire(updated)?)
}
