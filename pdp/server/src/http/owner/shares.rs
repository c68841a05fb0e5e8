//! Shares: the owner grants a user (by username, subject or verified email) some scopes of one
//! resource, or of every resource of a type, maybe until a date. Revoking a share narrows every
//! live RPT for the owner's resources at once: introspection stops listing the share's scopes
//! (for an email share, whoever holds them — the AS cannot tell which party proved the email,
//! so it fails closed and the others ask again).

use axum::body::Bytes;
use axum::extract::{Path, State as Extract};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use umagate_proto::owner::{Share, ShareRequest};
use umagate_proto::permission::Permission;
use umagate_proto::resource::ResourceDescription;

use super::{LIST_LIMIT, Owner, body, invalid_request, not_found, owned, reply};
use crate::http::error::{ApiError, no_store};
use crate::http::{State, now};
use crate::secrets;
use crate::store::ShareRecord;

fn wire(s: ShareRecord) -> Share {
    Share {
        id: s.id,
        resource_id: s.resource_id,
        resource_type: s.resource_type,
        subject: s.party_subject,
        email: s.party_email,
        scopes: s.scopes,
        expires_at: s.expires_at,
        created_at: s.created_at,
    }
}

/// `GET /owner/shares`.
pub(super) async fn list(
    Extract(state): Extract<State>,
    owner: Owner,
) -> Result<Response, ApiError> {
    let shares = state.store.shares(&owner.subject).await?;
    let out: Vec<Share> = shares
        .into_iter()
        .take(usize::try_from(LIST_LIMIT).unwrap_or(usize::MAX))
        .map(wire)
        .collect();
    reply(StatusCode::OK, &out)
}

/// `POST /owner/shares` → 201 with the share.
pub(super) async fn create(
    Extract(state): Extract<State>,
    owner: Owner,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let now = now();
    let request: ShareRequest = body(&headers, &bytes)?;
    if request.scopes.is_empty() {
        return Err(invalid_request("scopes: at least one"));
    }
    if request.expires_at.is_some_and(|e| e <= now) {
        return Err(invalid_request("expires_at: must be in the future"));
    }
    let (resource_id, resource_type) = match (request.resource_id, request.resource_type) {
        (Some(id), None) => {
            let (_, description) = owned(&state, &owner, &id).await?;
            if let Some(s) = request
                .scopes
                .iter()
                .find(|s| !description.has_scope(s.as_str()))
            {
                return Err(invalid_request(format!(
                    "scope `{}` is not registered for this resource",
                    s.as_str()
                )));
            }
            (Some(id), None)
        }
        (None, Some(t)) if !t.is_empty() && t.len() <= 512 => (None, Some(t)),
        _ => {
            return Err(invalid_request(
                "exactly one of resource_id and resource_type",
            ));
        }
    };
    let (party_subject, party_email) = match (request.user, request.email) {
        (Some(user), None) => (Some(resolve_user(&state, &user).await?), None),
        (None, Some(email)) if email.contains('@') && email.len() <= 254 => {
            (None, Some(email.to_ascii_lowercase()))
        }
        _ => return Err(invalid_request("exactly one of user and email")),
    };
    let id = secrets::new_id().map_err(|e| ApiError::Internal(e.to_string()))?;
    let record = ShareRecord {
        id,
        owner: owner.subject.clone(),
        resource_id,
        resource_type,
        party_subject,
        party_email,
        scopes: request.scopes.iter().map(|s| s.to_string()).collect(),
        expires_at: request.expires_at,
        created_at: now,
        revoked_at: None,
    };
    if !state
        .store
        .insert_share(&record, state.config.uma.max_shares)
        .await?
    {
        return Err(invalid_request("too many shares; revoke some first"));
    }
    tracing::info!(target: "audit", owner = %owner.subject, share = %record.id, "share created");
    reply(StatusCode::CREATED, &wire(record))
}

/// A user named by subject or username (an email address names no user: use `email`).
async fn resolve_user(state: &State, user: &str) -> Result<String, ApiError> {
    match state.store.user_by_name(user).await? {
        Some(u) => Ok(u.subject),
        None => Err(invalid_request("user: no such user")),
    }
}

/// `DELETE /owner/shares/{id}` → 204; the share's scopes leave every affected live RPT.
pub(super) async fn revoke(
    Extract(state): Extract<State>,
    owner: Owner,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let now = now();
    let share = state
        .store
        .revoke_share(&owner.subject, &id, now)
        .await?
        .ok_or_else(|| not_found("share"))?;
    let narrowed = narrow_rpts(&state, &share, now).await?;
    tracing::info!(target: "audit", owner = %owner.subject, share = %share.id, narrowed, "share revoked");
    let mut response = StatusCode::NO_CONTENT.into_response();
    no_store(&mut response);
    Ok(response)
}

/// Removes the share's scopes from the live RPTs it could have granted; returns how many
/// RPTs changed.
async fn narrow_rpts(state: &State, share: &ShareRecord, now: i64) -> Result<usize, ApiError> {
    let mut changed = 0;
    for record in state.store.live_rpts_of(&share.owner, now).await? {
        if share
            .party_subject
            .as_ref()
            .is_some_and(|s| *s != record.subject)
        {
            continue;
        }
        let mut permissions: Vec<Permission> = serde_json::from_str(&record.permissions)
            .map_err(|e| ApiError::Internal(format!("RPT record: {e}")))?;
        let mut touched = false;
        for p in &mut permissions {
            if !covers(state, share, &p.resource_id).await? {
                continue;
            }
            let before = p.resource_scopes.len();
            p.resource_scopes
                .retain(|s| !share.scopes.iter().any(|x| x == s.as_str()));
            touched |= p.resource_scopes.len() != before;
        }
        if touched {
            let text = serde_json::to_string(&permissions)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            state.store.narrow_rpt(&record.jti, &text).await?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// Whether the share applies to the owner's resource `id`.
async fn covers(state: &State, share: &ShareRecord, id: &str) -> Result<bool, ApiError> {
    if share.resource_id.as_deref() == Some(id) {
        return Ok(true);
    }
    let Some(wanted) = &share.resource_type else {
        return Ok(false);
    };
    let Some(record) = state.store.owned_resource(&share.owner, id).await? else {
        return Ok(false);
    };
    let description = ResourceDescription::parse(record.description.as_bytes())
        .map_err(|e| ApiError::Internal(format!("stored resource {}: {e:?}", record.id)))?;
    Ok(description.resource_type.as_deref() == Some(wanted.as_str()))
}
