//! `GET /authorize`: validate the request, keep it as a pending request, show the first page.

use axum::response::Response;
use http::{HeaderMap, StatusCode};
use umagate_proto::authorize::{AuthorizationRequest, MAX_STATE_LEN};
use umagate_proto::form::Form;
use umagate_proto::scope::Scopes;
use umagate_proto::{ErrorCode, ErrorResponse};

use super::cookie::Cookies;
use super::pages::{self, View};
use super::{Back, Failure, PENDING_SECS, Params, State, current_session, handle, html};
use crate::http::token::allowed_scopes;
use crate::secrets;
use crate::store::ClientRecord;

/// Validates the request in `query` and answers with the login or consent page, an error page
/// (client or redirect URI invalid), or an error redirect (anything else invalid).
pub(super) async fn start(
    state: &State,
    query: &str,
    headers: &HeaderMap,
    now: i64,
) -> Result<Response, Failure> {
    // Stage 1, shown here and never redirected (R3): the request must parse, the client must
    // exist and the redirect URI must be one it registered.
    let form = Form::parse(query.as_bytes()).map_err(|_| {
        Failure::bad_request(
            "Invalid request",
            "The authorization request is malformed: a parameter is repeated or badly encoded.",
        )
    })?;
    let client = match form.get("client_id") {
        Some(id) => state.store.client(id).await?,
        None => None,
    };
    let Some(client) = client else {
        return Err(Failure::bad_request(
            "Unknown application",
            "The application that sent you here is not registered with this server.",
        ));
    };
    let requested_redirect = form.get("redirect_uri");
    let Some(redirect_to) = resolve_redirect(&client, requested_redirect) else {
        tracing::warn!(target: "audit", client = %client.client_id, "authorization request with an unregistered redirect_uri");
        return Err(Failure::bad_request(
            "Invalid redirect address",
            "The application asked to send you back to an address it has not registered, so this server will not send you there.",
        ));
    };

    // Stage 2, redirected to the client with `state` and `iss` — unless the client registered
    // itself (RFC 7591): before the user has signed in, an untrusted client's errors are shown
    // here, so the AS never redirects to an address anyone could register (R4).
    let client_state = form.get("state").filter(|s| s.len() <= MAX_STATE_LEN);
    let back = Back {
        redirect_to: &redirect_to,
        state: client_state,
        issuer: &state.issuer,
    };
    let back = |e: &ErrorResponse| -> Result<Response, Failure> {
        if client.dynamic {
            tracing::warn!(target: "audit", client = %client.client_id, error = %e, "error for a dynamically registered client shown at the AS");
            return Err(Failure::bad_request(
                "Invalid request",
                "The application sent an authorization request this server cannot accept.",
            ));
        }
        Ok(back.error(e, &[]))
    };
    let request = match AuthorizationRequest::from_form(&form) {
        Ok(request) => request,
        Err(e) => return back(&e),
    };
    if !client.metadata.uses_grant("authorization_code") {
        let e = ErrorResponse::new(
            ErrorCode::UnauthorizedClient,
            "the client has not registered the authorization_code grant",
        );
        return back(&e);
    }
    let scope = match granted_scope(&client, request.scope.as_ref()) {
        Ok(scope) => scope,
        Err(e) => return back(&e),
    };
    let params = Params {
        client_id: client.client_id.clone(),
        redirect_to: redirect_to.clone(),
        redirect_uri: request.redirect_uri,
        scope,
        state: request.state,
        code_challenge: request.code_challenge,
        nonce: request.nonce,
        claims: None,
    };

    first_page(state, &client, &params, headers, now).await
}

/// Keeps `params` as a pending request and shows the login page, or the consent page to a
/// signed-in user.
pub(super) async fn first_page(
    state: &State,
    client: &ClientRecord,
    params: &Params,
    headers: &HeaderMap,
    now: i64,
) -> Result<Response, Failure> {
    let session = current_session(state, headers, now).await?;
    let (id, csrf) = (handle()?, handle()?);
    let json = serde_json::to_string(params).map_err(Failure::internal)?;
    state
        .store
        .insert_pending_authorization(
            &secrets::digest(&id),
            &secrets::digest(&csrf),
            session.as_ref().map(|s| s.hash.as_str()),
            &json,
            now + PENDING_SECS,
            now,
        )
        .await?;
    let cookie = Cookies::for_issuer(&state.issuer).set_csrf(&id, &csrf, PENDING_SECS);
    let view = View::new(&state.issuer, &id, &csrf, client);
    let page = match &session {
        Some(session) => pages::consent(&view, params, &session.user),
        None => pages::login(&view, None, None),
    };
    Ok(html::response(StatusCode::OK, page, &[cookie]))
}

/// Where responses for this request may go: the `redirect_uri` parameter if it is registered
/// (R1: compared as strings, byte for byte), or the only registered URI if the parameter was
/// omitted (RFC 6749 §3.1.2.3). `None` means the request must not be redirected anywhere.
pub(super) fn resolve_redirect(client: &ClientRecord, requested: Option<&str>) -> Option<String> {
    let registered = &client.metadata.redirect_uris;
    match requested {
        Some(uri)
            if registered
                .iter()
                .any(|r| r == uri || loopback_port_variant(r, uri)) =>
        {
            Some(uri.to_string())
        }
        Some(_) => None,
        None => match registered.as_slice() {
            [only] => Some(only.clone()),
            _ => None,
        },
    }
}

/// RFC 8252 §7.3 (the R1 exception): a native client's loopback redirect URI on an IP literal
/// matches with any port, everything else (scheme, host, path, query) equal byte for byte.
/// `localhost` is not an IP literal and gets no exception (RFC 8252 §8.3).
fn loopback_port_variant(registered: &str, requested: &str) -> bool {
    fn split(uri: &str) -> Option<(&str, Option<&str>, &str)> {
        let rest = uri.strip_prefix("http://")?;
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let (host, port) = match authority.rfind(':') {
            Some(i) if !authority[i..].contains(']') => {
                (&authority[..i], Some(&authority[i + 1..]))
            }
            _ => (authority, None),
        };
        if !matches!(host, "127.0.0.1" | "[::1]") {
            return None;
        }
        if let Some(port) = port
            && (port.is_empty()
                || !port.bytes().all(|b| b.is_ascii_digit())
                || port.parse::<u16>().is_err())
        {
            return None;
        }
        Some((host, port, tail))
    }
    match (split(registered), split(requested)) {
        (Some((host_a, _, tail_a)), Some((host_b, _, tail_b))) => {
            host_a == host_b && tail_a == tail_b
        }
        _ => false,
    }
}

/// The scopes to ask the user for: those requested, or the client's registered ones if none were
/// (RFC 6749 §3.3), each allowed for the client (UMA Grant §3.3.4; unknown = `invalid_scope`).
pub(super) fn granted_scope(
    client: &ClientRecord,
    requested: Option<&Scopes>,
) -> Result<Vec<String>, ErrorResponse> {
    let scope: Vec<String> = match requested {
        Some(requested) => requested.iter().map(|s| s.to_string()).collect(),
        None => client
            .metadata
            .scope
            .iter()
            .flat_map(|s| s.iter())
            .map(|s| s.to_string())
            .collect(),
    };
    if scope.is_empty() {
        return Err(ErrorResponse::new(
            ErrorCode::InvalidScope,
            "no scope was requested and the client registered none",
        ));
    }
    let allowed = allowed_scopes(client);
    if let Some(bad) = scope.iter().find(|s| !allowed.contains(s)) {
        return Err(ErrorResponse::new(
            ErrorCode::InvalidScope,
            format!("scope `{bad}` is not allowed for this client"),
        ));
    }
    Ok(scope)
}
