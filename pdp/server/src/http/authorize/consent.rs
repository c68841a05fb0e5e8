//! `action=approve|deny`: the user's decision on a pending request.
//!
//! A decision counts only from the session the consent page was shown to: without a live
//! session the login page comes back, and if the browser's session is not the one the page was
//! shown to (the user signed in again elsewhere) the consent page is shown again to the current
//! one rather than acting on a page the user may not have seen (B5). The pending request is then
//! consumed atomically — a second submission, or a concurrent one, finds nothing — and the
//! browser is sent back with `303 See Other`: a code bound to the client, the redirect URI
//! parameter and the PKCE challenge (C6), or `access_denied`.

use axum::response::Response;
use http::{HeaderMap, StatusCode};
use umagate_proto::{ErrorCode, ErrorResponse};

use super::cookie::Cookies;
use super::{Failure, Pending, State, current_session, handle, html, pages, show_consent};
use crate::http::token::allowed_scopes;
use crate::secrets;
use crate::store::{AuthCode, Quota};

pub(super) async fn decide(
    state: &State,
    headers: &HeaderMap,
    pending: &Pending<'_>,
    approve: bool,
    persist: bool,
    now: i64,
) -> Result<Response, Failure> {
    let Some(session) = current_session(state, headers, now).await? else {
        let page = pages::login(
            &pending.view(&state.issuer),
            None,
            Some("Your session has ended. Sign in again to continue."),
        );
        return Ok(html::response(StatusCode::OK, page, &[]));
    };
    if pending.session_hash.as_deref() != Some(session.hash.as_str()) {
        return show_consent(state, pending, &session, &[], now).await;
    }
    let consumed = state
        .store
        .consume_pending_authorization(
            &pending.request_hash,
            &secrets::digest(pending.csrf),
            &session.hash,
            now,
        )
        .await?;
    if consumed.is_none() {
        return Err(Failure::gone());
    }
    let params = &pending.params;
    let client = &pending.client;
    let back = params.back(&state.issuer);
    let clear = [Cookies::for_issuer(&state.issuer).clear_csrf(pending.id)];
    let subject = &session.user.subject;
    if let Some(gathering) = &params.claims {
        return super::claims::finish(state, pending, gathering, &session, approve, persist, now)
            .await;
    }
    if !approve {
        tracing::info!(target: "audit", %subject, client = %client.client_id, "authorization denied by the user");
        return Ok(back.error(
            &ErrorResponse::new(ErrorCode::AccessDenied, "the user denied the request"),
            &clear,
        ));
    }
    // The client may have changed since the request was validated.
    if !client.metadata.uses_grant("authorization_code") {
        let e = ErrorResponse::new(
            ErrorCode::UnauthorizedClient,
            "the client has not registered the authorization_code grant",
        );
        return Ok(back.error(&e, &clear));
    }
    let allowed = allowed_scopes(client);
    if let Some(bad) = params.scope.iter().find(|s| !allowed.contains(s)) {
        let e = ErrorResponse::new(
            ErrorCode::InvalidScope,
            format!("scope `{bad}` is no longer allowed for this client"),
        );
        return Ok(back.error(&e, &clear));
    }
    // D2: a client cannot pile up unredeemed codes for one user.
    if state
        .store
        .quota_reached(
            Quota::Codes,
            &client.client_id,
            subject,
            state.config.quotas.codes_per_user_client,
            now,
        )
        .await?
    {
        let e = ErrorResponse::new(
            ErrorCode::TemporarilyUnavailable,
            "too many unredeemed authorization codes for this user and client",
        );
        return Ok(back.error(&e, &clear));
    }
    let code = handle()?;
    state
        .store
        .insert_code(&AuthCode {
            code_hash: secrets::digest(&code),
            family_id: handle()?,
            client_id: client.client_id.clone(),
            subject: subject.clone(),
            redirect_uri: params.redirect_uri.clone().unwrap_or_default(),
            scope: params.scope.join(" "),
            code_challenge: params.code_challenge.clone(),
            nonce: params.nonce.clone(),
            auth_time: session.record.auth_time,
            expires_at: now + state.config.tokens.code_secs,
        })
        .await?;
    tracing::info!(target: "audit", %subject, client = %client.client_id, scope = %params.scope.join(" "), "authorization approved");
    Ok(back.code(&code, &clear))
}
