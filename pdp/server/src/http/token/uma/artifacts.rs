//! What the grant hands out besides RPTs: PCTs, new tickets bound to the client, and the
//! owner's pending requests.

use umagate_proto::Secret;
use umagate_proto::owner::RequestedPermission;

use crate::decide::Carried;
use crate::http::State;
use crate::http::error::ApiError;
use crate::secrets;
use crate::store::{AccessRequestRecord, ClientRecord, PctRecord, TicketRecord, status};

pub(super) async fn issue_pct(
    state: &State,
    client: &ClientRecord,
    carried: &Carried,
    party_id: String,
    now: i64,
) -> Result<Secret, ApiError> {
    let pct = secrets::new_handle().map_err(|e| ApiError::Internal(e.to_string()))?;
    let party = serde_json::to_string(carried).map_err(|e| ApiError::Internal(e.to_string()))?;
    state
        .store
        .insert_pct(&PctRecord {
            token_hash: secrets::digest(&pct),
            client_id: client.client_id.clone(),
            subject: party_id,
            party,
            issued_at: now,
            expires_at: now.saturating_add(state.config.uma.pct_secs),
            revoked_at: None,
        })
        .await?;
    Ok(Secret::new(pct))
}

/// A new ticket for the same permissions, bound to `client`, carrying the party (Grant §3.3.6:
/// it differs from the presented one, which is consumed).
pub(super) async fn reissue(
    state: &State,
    client: &ClientRecord,
    ticket: &TicketRecord,
    carried: &Carried,
    request_id: Option<String>,
    now: i64,
) -> Result<Secret, ApiError> {
    let fresh = secrets::new_handle().map_err(|e| ApiError::Internal(e.to_string()))?;
    let party = serde_json::to_string(carried).map_err(|e| ApiError::Internal(e.to_string()))?;
    // A ticket polling the owner must outlive a few polling intervals (Grant §5.5).
    state
        .store
        .insert_ticket(
            &TicketRecord {
                ticket_hash: secrets::digest(&fresh),
                client_id: ticket.client_id.clone(),
                owner: ticket.owner.clone(),
                permissions: ticket.permissions.clone(),
                created_at: now,
                expires_at: now.saturating_add(state.config.uma.ticket_secs),
                consumed_at: None,
                presenter: Some(client.client_id.clone()),
                party: Some(party),
                request_id,
            },
            now,
        )
        .await?;
    Ok(Secret::new(fresh))
}

/// Stores a pending request for the owner; `None` when the owner has too many pending.
pub(super) async fn submit(
    state: &State,
    client: &ClientRecord,
    ticket: &TicketRecord,
    asked: &[(String, Vec<String>)],
    party_id: String,
    now: i64,
) -> Result<Option<String>, ApiError> {
    let id = secrets::new_id().map_err(|e| ApiError::Internal(e.to_string()))?;
    let permissions: Vec<RequestedPermission> = asked
        .iter()
        .map(|(r, s)| RequestedPermission {
            resource_id: r.clone(),
            resource_scopes: s.clone(),
        })
        .collect();
    let record = AccessRequestRecord {
        id: id.clone(),
        owner: ticket.owner.clone(),
        rs_client_id: ticket.client_id.clone(),
        client_id: client.client_id.clone(),
        subject: party_id,
        permissions: serde_json::to_string(&permissions)
            .map_err(|e| ApiError::Internal(e.to_string()))?,
        status: status::PENDING.into(),
        granted: None,
        grant_expires_at: None,
        created_at: now,
        decided_at: None,
    };
    if !state
        .store
        .insert_access_request(&record, state.config.uma.max_pending_requests)
        .await?
    {
        tracing::warn!(target: "audit", owner = %ticket.owner, "too many pending requests; denied");
        return Ok(None);
    }
    tracing::info!(target: "audit", owner = %ticket.owner, request = %id, client = %client.client_id, "request submitted to the owner");
    crate::webhook::notify(state, &record);
    Ok(Some(id))
}
