//! The claims interaction endpoint (UMA Grant §3.3.2–§3.3.3; spec notes §4.7, D-CLAIMS-ERR): the
//! client sends the requesting party here with its ticket; the party signs in at the AS and
//! confirms who they are; the client gets a new ticket that carries the party's verified
//! identity, and, if the party ticked "remember", the grant will also return a PCT.
//!
//! - The client and the claims redirect URI are checked first, and an unknown client, a URI it
//!   did not register (exact string match), or a missing URI when it registered several or none
//!   is shown here, never redirected (S-03). A client's `redirect_uris` are never used.
//! - The ticket is consumed on presentation (Grant §5.5); an unknown, used or expired ticket, or
//!   one handed to another client, redirects back with `error=invalid_request` (D-CLAIMS-ERR).
//! - The pages are the authorization endpoint's: same session, CSRF double submit bound to this
//!   one pending interaction (S-02), login throttling, `303` back. `state` is echoed iff sent.

use axum::extract::{RawQuery, State as Extract};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use umagate_core::policy::Party;
use umagate_proto::authorize::{ClaimsInteractionRequest, redirect_with};
use umagate_proto::form::Form;
use umagate_proto::{ErrorCode, ErrorResponse};

use super::cookie::Cookies;
use super::{Back, Failure, Params, Pending, Session, see_other};
use crate::decide::Carried;
use crate::http::{State, now};
use crate::secrets;
use crate::store::{ClientRecord, TicketRecord};

#[cfg(test)]
mod tests;

/// What the consumed ticket held, to mint the next one from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gathering {
    rs_client_id: String,
    owner: String,
    permissions: String,
    request_id: Option<String>,
}

/// `GET /claims`.
#[tracing::instrument(name = "pdp.claims", skip_all)]
pub async fn interaction(
    Extract(state): Extract<State>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let now = now();
    start(&state, query.as_deref().unwrap_or_default(), &headers, now)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn start(
    state: &State,
    query: &str,
    headers: &HeaderMap,
    now: i64,
) -> Result<Response, Failure> {
    let unusable = || {
        Failure::bad_request(
            "Invalid request",
            "The application sent you here with a request this server cannot accept.",
        )
    };
    let form = Form::parse(query.as_bytes()).map_err(|_| unusable())?;
    let request = ClaimsInteractionRequest::from_form(&form).map_err(|_| unusable())?;
    let Some(client) = state.store.client(&request.client_id).await? else {
        return Err(Failure::bad_request(
            "Unknown application",
            "The application that sent you here is not registered with this server.",
        ));
    };
    let Some(redirect_to) = claims_redirect(&client, request.claims_redirect_uri.as_deref()) else {
        tracing::warn!(target: "audit", client = %client.client_id, "claims interaction with an unregistered claims_redirect_uri");
        return Err(Failure::bad_request(
            "Invalid redirect address",
            "The application asked to send you back to an address it has not registered, so this server will not send you there.",
        ));
    };
    let back = Back {
        redirect_to: &redirect_to,
        state: request.state.as_deref(),
        issuer: &state.issuer,
    };
    let ticket = state
        .store
        .consume_ticket(&secrets::digest(request.ticket.expose()), now)
        .await?
        .filter(|t| t.presenter.as_deref().is_none_or(|p| p == client.client_id));
    let Some(ticket) = ticket else {
        let e = ErrorResponse::new(
            ErrorCode::InvalidRequest,
            "the ticket is unknown, expired or already used",
        );
        return Ok(back.error(&e, &[]));
    };
    let params = Params {
        client_id: client.client_id.clone(),
        redirect_to: redirect_to.clone(),
        redirect_uri: None,
        scope: Vec::new(),
        state: request.state,
        code_challenge: String::new(),
        nonce: None,
        claims: Some(Gathering {
            rs_client_id: ticket.client_id,
            owner: ticket.owner,
            permissions: ticket.permissions,
            request_id: ticket.request_id,
        }),
    };
    super::request::first_page(state, &client, &params, headers, now).await
}

/// The claims redirect URI: the one sent if registered (exact match), else the only one
/// registered; `None` otherwise (Grant §3.3.2).
fn claims_redirect(client: &ClientRecord, requested: Option<&str>) -> Option<String> {
    let registered = &client.metadata.claims_redirect_uris;
    match requested {
        Some(uri) => registered.iter().any(|r| r == uri).then(|| uri.to_string()),
        None => match registered.as_slice() {
            [only] => Some(only.clone()),
            _ => None,
        },
    }
}

/// The party's answer: a new ticket carrying their identity back to the client, or
/// `access_denied` (D-CLAIMS-ERR).
pub(super) async fn finish(
    state: &State,
    pending: &Pending<'_>,
    gathering: &Gathering,
    session: &Session,
    approve: bool,
    persist: bool,
    now: i64,
) -> Result<Response, Failure> {
    let params = &pending.params;
    let back = params.back(&state.issuer);
    let clear = [Cookies::for_issuer(&state.issuer).clear_csrf(pending.id)];
    let user = &session.user;
    if !approve {
        tracing::info!(target: "audit", subject = %user.subject, client = %pending.client.client_id, "claims interaction declined");
        let e = ErrorResponse::new(ErrorCode::AccessDenied, "the requesting party declined");
        return Ok(back.error(&e, &clear));
    }
    let mut claims = std::collections::BTreeMap::new();
    claims.insert(
        "preferred_username".to_string(),
        user.username.clone().into(),
    );
    if let Some(email) = &user.email {
        claims.insert("email".to_string(), email.clone().into());
        claims.insert("email_verified".to_string(), user.email_verified.into());
    }
    let carried = Carried {
        party: Party {
            subject: Some(user.subject.clone()),
            issuer: Some(state.issuer.clone()),
            claims,
        },
        auth_time: Some(session.record.auth_time),
        persist,
    };
    let fresh = secrets::new_handle().map_err(Failure::internal)?;
    let party = serde_json::to_string(&carried).map_err(Failure::internal)?;
    state
        .store
        .insert_ticket(
            &TicketRecord {
                ticket_hash: secrets::digest(&fresh),
                client_id: gathering.rs_client_id.clone(),
                owner: gathering.owner.clone(),
                permissions: gathering.permissions.clone(),
                created_at: now,
                expires_at: now.saturating_add(state.config.uma.ticket_secs),
                consumed_at: None,
                presenter: Some(pending.client.client_id.clone()),
                party: Some(party),
                request_id: gathering.request_id.clone(),
            },
            now,
        )
        .await?;
    tracing::info!(target: "audit", subject = %user.subject, client = %pending.client.client_id, persist, "claims gathered");
    // Grant §3.3.3: the new ticket, and `state` iff the client sent one; nothing else about
    // the party.
    let mut out = vec![("ticket", fresh.as_str())];
    if let Some(s) = params.state.as_deref() {
        out.push(("state", s));
    }
    match redirect_with(&params.redirect_to, &out) {
        Some(location) => Ok(see_other(&location, &clear)),
        None => Err(Failure::Page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "The application's return address could not be used.",
        )),
    }
}
