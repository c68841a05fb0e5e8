//! The UMA grant at the token endpoint (Grant §3.3): a ticket (with claims, a PCT, an RPT to
//! upgrade, extra scopes) in; an RPT, `need_info`, `request_denied` or `request_submitted` out.
//!
//! 1. The ticket is consumed first, atomically (Grant §5.5): whatever happens next, it is gone.
//!    A ticket this AS handed to a client is valid only from that client.
//! 2. The requesting party: a pushed claim token (verified, see [`super::claims`]) replaces
//!    what the ticket carried, which replaces what a PCT carries (D-PCT-FOREIGN: a PCT of
//!    another client, revoked or unknown, is ignored).
//! 3. The assessment ([`umagate_core::assess`], D-ASSESS) runs twice: once to learn `Req(r)`
//!    for every resource, then with the decisions [`crate::decide::decide`] made for exactly
//!    those scopes. Every resource's result goes to the owner's decision log.
//! 4. A grant mints an RPT (merging an `rpt` of the same client, party, resource server and
//!    owner: D-RPT-PARAM, D-UPGRADE-REVOKE); `need_info` and `request_submitted` carry a new
//!    ticket bound to the client and the party; `request_submitted` stores the owner's request.

use std::collections::BTreeMap;

use umagate_core::assess::{AssessInput, AssessOptions, Assessment, TicketPermission, assess};
use umagate_core::policy::Decision;
use umagate_proto::owner::RequestedPermission;
use umagate_proto::permission::Permission;
use umagate_proto::resource::ResourceDescription;
use umagate_proto::scope::ScopeToken;
use umagate_proto::token::{TokenResponse, UmaTicketRequest};
use umagate_proto::{ErrorCode, Secret, UMA_TICKET_GRANT};

use self::artifacts::{issue_pct, reissue, submit};
use super::claims::{self, PartyFrom};
use crate::decide::{self, Asked, Carried, Decided};
use crate::http::State;
use crate::http::error::ApiError;
use crate::rpt::{self, Minted};
use crate::secrets;
use crate::store::{ClientRecord, DecisionRecord, Quota, ResourceRecord, TicketRecord, status};

mod artifacts;
mod log;
#[cfg(test)]
mod tests;

/// A resource of the ticket with what is registered about it now.
struct Held {
    record: ResourceRecord,
    description: ResourceDescription,
}

/// The UMA grant.
pub async fn uma_ticket(
    state: &State,
    client: &ClientRecord,
    request: UmaTicketRequest,
    now: i64,
) -> Result<TokenResponse, ApiError> {
    if !client.metadata.uses_grant(UMA_TICKET_GRANT) {
        return Err(ApiError::new(
            ErrorCode::UnauthorizedClient,
            "the uma-ticket grant is not registered for this client",
        ));
    }
    let invalid = |why: &str| ApiError::new(ErrorCode::InvalidGrant, why);
    let ticket = state
        .store
        .consume_ticket(&secrets::digest(request.ticket.expose()), now)
        .await?
        .ok_or_else(|| invalid("the ticket is unknown, expired or already used"))?;
    if ticket
        .presenter
        .as_deref()
        .is_some_and(|p| p != client.client_id)
    {
        return Err(invalid("the ticket was issued to another client"));
    }
    let carried = match claims::establish(state, client, &request, &ticket, now).await? {
        PartyFrom::Known(carried) => carried,
        PartyFrom::Invalid(reason) => {
            tracing::info!(target: "audit", client = %client.client_id, %reason, "claim token refused");
            let fresh = reissue(state, client, &ticket, &Carried::default(), None, now).await?;
            return Err(refusal(
                &Assessment::NeedInfo(vec![decide::identity_claim(state)]),
                Some(fresh),
                state,
            ));
        }
    };
    // What the resource server asked for, as stored with the ticket.
    let ticketed: Vec<RequestedPermission> = serde_json::from_str(&ticket.permissions)
        .map_err(|e| ApiError::Internal(format!("stored ticket: {e}")))?;
    let held = held_resources(state, &ticket, &ticketed).await?;
    let input = assess_input(client, &request, ticketed, &held);
    let options = AssessOptions {
        partial: state.config.uma.partial_rpt,
    };

    // Pass 1: which scopes each resource is asked for (no decision yet).
    let mut asked: Vec<(String, Vec<String>)> = Vec::new();
    let first = assess(&input, options, |id, req| {
        asked.push((id.to_string(), req.to_vec()));
        Decision {
            scopes: BTreeMap::new(),
            explanation: String::new(),
        }
    });
    if let Assessment::InvalidScope(_) = first {
        return Err(first
            .error_response(None, None, None)
            .map(ApiError::from)
            .unwrap_or_else(|| invalid("invalid scope")));
    }

    // Pass 2: the decisions for exactly those scopes.
    let pending = match &ticket.request_id {
        Some(id) => state.store.access_request(id).await?,
        None => None,
    };
    let mut decided: BTreeMap<String, Decided> = BTreeMap::new();
    for (id, scopes) in &asked {
        let Some(h) = held.iter().find(|h| &h.record.id == id) else {
            continue;
        };
        let d = decide::decide(
            state,
            &Asked {
                resource: &h.record,
                description: &h.description,
                scopes,
                carried: &carried,
                client_id: &client.client_id,
                request: pending.as_ref(),
            },
            now,
        )
        .await?;
        decided.insert(id.clone(), d);
    }
    let assessment = assess(&input, options, |id, _| {
        decided
            .get(id)
            .map(|d| d.decision.clone())
            .unwrap_or_else(|| Decision {
                scopes: BTreeMap::new(),
                explanation: "the resource is no longer registered".into(),
            })
    });
    let log_lines = log::lines(state, client, &ticket, &carried, &decided, now)?;

    let party_id = carried.party_id(&state.issuer);
    // A grant writes its log lines with the RPT, in one transaction; anything else now.
    let granting = matches!(assessment, Assessment::Grant(_)) && party_id.is_some();
    if !granting {
        state.store.log_decisions(&log_lines).await?;
    }
    match (&assessment, party_id) {
        (Assessment::Grant(granted), Some(party_id)) => {
            let permissions = granted
                .iter()
                .map(|g| {
                    permission(
                        g.resource_id.clone(),
                        &g.scopes,
                        decided.get(&g.resource_id),
                    )
                })
                .collect::<Vec<_>>();
            grant(
                state,
                client,
                &request,
                &ticket,
                &carried,
                party_id,
                permissions,
                log_lines,
                now,
            )
            .await
        }
        (Assessment::Grant(_), None) => Err(umagate_proto::ErrorResponse::request_denied().into()),
        (Assessment::AskOwner { .. }, party_id) => {
            let request_id = match (&pending, party_id) {
                // The pending request this ticket polls, if it is this party's and client's
                // (a claim token may have changed who is asking).
                (Some(p), Some(who))
                    if p.status == status::PENDING
                        && p.subject == who
                        && p.client_id == client.client_id =>
                {
                    Some(p.id.clone())
                }
                (_, Some(party_id)) => {
                    submit(state, client, &ticket, &asked, party_id, now).await?
                }
                (_, None) => None,
            };
            let Some(request_id) = request_id else {
                return Err(umagate_proto::ErrorResponse::request_denied().into());
            };
            let fresh = reissue(state, client, &ticket, &carried, Some(request_id), now).await?;
            Err(refusal(&assessment, Some(fresh), state))
        }
        (Assessment::NeedInfo(_), _) => {
            let fresh = reissue(state, client, &ticket, &carried, None, now).await?;
            Err(refusal(&assessment, Some(fresh), state))
        }
        _ => Err(refusal(&assessment, None, state)),
    }
}

/// The error for a refusal; `need_info` also points at the claims interaction endpoint
/// (`redirect_user`), where the requesting party can sign in instead of pushing a token.
fn refusal(assessment: &Assessment, ticket: Option<Secret>, state: &State) -> ApiError {
    let redirect_user = format!(
        "{}{}",
        state.issuer,
        umagate_proto::paths::CLAIMS_INTERACTION
    );
    assessment
        .error_response(
            ticket,
            Some(redirect_user),
            Some(state.config.uma.interval_secs),
        )
        .map(ApiError::from)
        .unwrap_or_else(|| ApiError::Internal("a grant has no error response".into()))
}

/// The ticket's resources as registered now; a resource deregistered since is left out (its
/// permission then has no decision, which denies it).
async fn held_resources(
    state: &State,
    ticket: &TicketRecord,
    permissions: &[RequestedPermission],
) -> Result<Vec<Held>, ApiError> {
    let mut held = Vec::with_capacity(permissions.len());
    for p in permissions {
        if held.iter().any(|h: &Held| h.record.id == p.resource_id) {
            continue;
        }
        let Some(record) = state
            .store
            .resource(&ticket.client_id, &ticket.owner, &p.resource_id)
            .await?
        else {
            continue;
        };
        let description = ResourceDescription::parse(record.description.as_bytes())
            .map_err(|e| ApiError::Internal(format!("stored resource {}: {e:?}", record.id)))?;
        held.push(Held {
            record,
            description,
        });
    }
    Ok(held)
}

fn assess_input(
    client: &ClientRecord,
    request: &UmaTicketRequest,
    permissions: Vec<RequestedPermission>,
    held: &[Held],
) -> AssessInput {
    let available = |id: &str| -> Vec<String> {
        held.iter()
            .find(|h| h.record.id == id)
            .map(|h| scopes_of(&h.description.resource_scopes))
            .unwrap_or_default()
    };
    AssessInput {
        permissions: permissions
            .into_iter()
            .map(|p| TicketPermission {
                available_scopes: available(&p.resource_id),
                resource_id: p.resource_id,
                ticket_scopes: p.resource_scopes,
            })
            .collect(),
        registered_scopes: client
            .metadata
            .scope
            .iter()
            .flat_map(|s| s.iter())
            .map(|s| s.to_string())
            .collect(),
        requested_scopes: request
            .scope
            .as_ref()
            .map(|s| s.iter().map(|t| t.to_string()).collect()),
    }
}

fn scopes_of(tokens: &[ScopeToken]) -> Vec<String> {
    tokens.iter().map(|s| s.to_string()).collect()
}

/// A granted permission, ending when the earliest share or approval behind its scopes ends.
fn permission(resource_id: String, scopes: &[String], decided: Option<&Decided>) -> Permission {
    let exp = decided.and_then(|d| {
        let keys: Vec<&str> = if scopes.is_empty() {
            vec![""]
        } else {
            scopes.iter().map(String::as_str).collect()
        };
        keys.iter().filter_map(|s| d.until.get(*s).copied()).min()
    });
    Permission {
        resource_id,
        // The scopes come from registered descriptions, so they parse; fail closed if not.
        resource_scopes: scopes
            .iter()
            .filter_map(|s| ScopeToken::new(s.as_str()).ok())
            .collect(),
        exp,
        iat: None,
        nbf: None,
    }
}

/// Mints the RPT (upgrading `rpt` when it qualifies) and a PCT when the party consented.
#[allow(clippy::too_many_arguments, reason = "the grant's parts")]
async fn grant(
    state: &State,
    client: &ClientRecord,
    request: &UmaTicketRequest,
    ticket: &TicketRecord,
    carried: &Carried,
    party_id: String,
    mut permissions: Vec<Permission>,
    log_lines: Vec<DecisionRecord>,
    now: i64,
) -> Result<TokenResponse, ApiError> {
    let quotas = &state.config.quotas;
    if state
        .store
        .quota_reached(
            Quota::Rpts,
            &client.client_id,
            &party_id,
            quotas.rpts_per_party_client,
            now,
        )
        .await?
    {
        state.store.log_decisions(&log_lines).await?;
        return Err(ApiError::new(
            ErrorCode::InvalidGrant,
            "too many live RPTs for this requesting party and client: revoke some first",
        ));
    }
    let mut upgraded = None;
    if let Some(old) = &request.rpt
        && let Some((claims, record)) = rpt::verify(state, old.expose(), now).await?
        && record.client_id == client.client_id
        && record.subject == party_id
        && record.rs_client_id == ticket.client_id
        && record.owner == ticket.owner
    {
        let old_permissions = rpt::live_permissions(&state.store, &claims, &record, now).await?;
        merge(&mut permissions, old_permissions);
        state
            .store
            .revoke_rpt(&record.jti, &client.client_id, now)
            .await?;
        upgraded = Some(true);
    }
    let (token, record) = rpt::sign(
        state,
        Minted {
            client_id: client.client_id.clone(),
            subject: party_id.clone(),
            rs_client_id: ticket.client_id.clone(),
            owner: ticket.owner.clone(),
            permissions,
            lifetime_secs: state.config.uma.rpt_secs,
        },
        now,
    )
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    state.store.record_grant(&log_lines, Some(&record)).await?;
    let mut response = TokenResponse::bearer(Secret::new(token));
    response.expires_in = u64::try_from(state.config.uma.rpt_secs).ok();
    response.upgraded = upgraded;
    // A PCT is a convenience: past the quota the RPT is still issued, without a new one. The
    // quota is counted only when a PCT would be issued.
    if carried.persist
        && request.pct.is_none()
        && !state
            .store
            .quota_reached(
                Quota::Pcts,
                &client.client_id,
                &party_id,
                quotas.pcts_per_party_client,
                now,
            )
            .await?
    {
        response.pct = Some(issue_pct(state, client, carried, party_id, now).await?);
    }
    Ok(response)
}

/// Adds the old RPT's permissions to the new ones (scopes united per resource; the earlier
/// expiry wins when both have one, none when either has none).
fn merge(into: &mut Vec<Permission>, old: Vec<Permission>) {
    for p in old {
        match into.iter_mut().find(|n| n.resource_id == p.resource_id) {
            Some(n) => {
                for s in p.resource_scopes {
                    if !n.resource_scopes.contains(&s) {
                        n.resource_scopes.push(s);
                    }
                }
                n.exp = match (n.exp, p.exp) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (Some(a), None) | (None, Some(a)) => Some(a),
                    (None, None) => None,
                };
            }
            None => into.push(p),
        }
    }
}
