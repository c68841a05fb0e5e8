//! Token introspection (RFC 7662) with the UMA `permissions` extension (FedAuthz §5), and
//! revocation (RFC 7009).
//!
//! Introspection answers only authenticated resource servers (RFC 7662 §4: callers must be
//! authenticated and specifically authorized), and tells them nothing about a token that is not
//! active: `{"active":false}`. A caller authenticates either with its PAT (`Authorization:
//! Bearer`, FedAuthz §5: an active access token with `uma_protection`) or, as before, with client
//! credentials as a client flagged `resource_server`.
//!
//! - An RPT ([`crate::rpt`]) is active only for the resource server it was issued for (`aud`)
//!   and, when the PAT has an owner, only for that owner (D-INTROSPECT-SCOPE); the answer lists
//!   `permissions` and never `scope` (FedAuthz §5.1.1), without the permissions whose resource
//!   has been deregistered since (D-RESOURCE-DELETE) — none left, inactive.
//! - An opaque access token is reported with its `scope` to a caller using client credentials,
//!   as plain RFC 7662 introspection; a PAT caller asks the UMA-extended endpoint, which reports
//!   anything that is not an RPT as inactive (uma-spec.md §3.5).
//!
//! Revocation answers 200 whether or not the token existed or belonged to the caller (RFC 7009
//! §2.2; D-REVOKE-FOREIGN), and only ever revokes the caller's own tokens: an RPT issued to it
//! (`azp`), or an opaque token; revoking a refresh token revokes its whole grant.

use axum::extract::{FromRequest, Request, State as Extract};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use umagate_proto::ErrorCode;
use umagate_proto::form::Form;
use umagate_proto::introspection::{ActiveToken, IntrospectionResponse};
use umagate_proto::scope::Scopes;
use umagate_proto::token::TokenLookupRequest;

use super::admin::auth;
use super::client_auth::ClientForm;
use super::error::{ApiError, json, no_store};
use super::{State, now};
use crate::rpt;
use crate::secrets;
use crate::store::TokenKind;

#[cfg(test)]
mod tests;

/// Who asks for an introspection, and how it authenticated.
struct Caller {
    /// The time of this request.
    now: i64,
    /// The parsed body.
    form: Form,
    /// The resource server: the PAT's client, or the authenticated client.
    client_id: String,
    /// How it authenticated.
    by: By,
}

enum By {
    /// A PAT, with its owner (`None` for a subject-less client credentials PAT).
    Pat { owner: Option<String> },
    /// Client credentials.
    Client,
}

/// Authenticates the caller of `POST /introspect`: `Authorization: Bearer` is a PAT, anything
/// else is client authentication (RFC 6749 §2.3) of a resource server.
async fn caller(state: &State, request: Request) -> Result<Caller, ApiError> {
    let Some(pat) = auth::bearer_token(request.headers())?.map(str::to_string) else {
        let ClientForm {
            now, form, client, ..
        } = ClientForm::from_request(request, state).await?;
        if !client.resource_server {
            return Err(ApiError::new(
                ErrorCode::UnauthorizedClient,
                "only resource servers may introspect tokens",
            ));
        }
        return Ok(Caller {
            now,
            form,
            client_id: client.client_id,
            by: By::Client,
        });
    };
    let now = now();
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, state.config.server.max_body_bytes)
        .await
        .map_err(|_| {
            ApiError::new(
                ErrorCode::InvalidRequest,
                "request body too large or unreadable",
            )
        })?;
    let form = super::token::form_body(&parts.uri, &parts.headers, &body)?;
    if form.get("client_secret").is_some() {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "use one authentication method, not two",
        ));
    }
    let record = super::protection::pat_record(state, &pat, now).await?;
    Ok(Caller {
        now,
        form,
        client_id: record.client_id,
        by: By::Pat {
            owner: record.subject,
        },
    })
}

/// `POST /introspect`.
pub async fn introspect(
    Extract(state): Extract<State>,
    request: Request,
) -> Result<Response, ApiError> {
    let Caller {
        now,
        form,
        client_id: caller,
        by,
    } = caller(&state, request).await?;
    let request = TokenLookupRequest::from_form(&form)?;
    let token = request.token.expose();
    let response = if rpt::looks_like_jwt(token) {
        introspect_rpt(&state, token, &caller, &by, now).await?
    } else if matches!(by, By::Pat { .. }) {
        // The UMA-extended endpoint never reports a non-RPT as active (uma-spec.md §3.5).
        IntrospectionResponse::Inactive
    } else {
        match state.store.token(&secrets::digest(token)).await? {
            Some(t) if t.kind == TokenKind::Access && t.is_active(now) => {
                IntrospectionResponse::Active(Box::new(ActiveToken {
                    scope: Scopes::parse(&t.scope).ok(),
                    client_id: Some(t.client_id.clone()),
                    token_type: Some("Bearer".into()),
                    exp: Some(t.expires_at),
                    iat: Some(t.issued_at),
                    sub: t.subject.clone(),
                    iss: Some(state.issuer.clone()),
                    ..ActiveToken::default()
                }))
            }
            _ => IntrospectionResponse::Inactive,
        }
    };
    Ok(json(StatusCode::OK, response.to_json()))
}

/// The introspection of a JWT presented by resource server `caller`: active only for an RPT in
/// force, issued for `caller` (and the PAT's owner, if any), with at least one permission left.
async fn introspect_rpt(
    state: &State,
    token: &str,
    caller: &str,
    by: &By,
    now: i64,
) -> Result<IntrospectionResponse, ApiError> {
    let Some((claims, record)) = rpt::verify(state, token, now).await? else {
        return Ok(IntrospectionResponse::Inactive);
    };
    let owner_ok = match by {
        By::Pat { owner: Some(owner) } => *owner == record.owner,
        By::Pat { owner: None } | By::Client => true,
    };
    if !owner_ok || !claims.aud.contains(caller) || record.rs_client_id != caller {
        return Ok(IntrospectionResponse::Inactive);
    }
    let permissions = rpt::live_permissions(&state.store, &claims, &record, now).await?;
    if permissions.is_empty() {
        return Ok(IntrospectionResponse::Inactive);
    }
    Ok(IntrospectionResponse::Active(Box::new(ActiveToken {
        scope: None,
        permissions: Some(permissions),
        client_id: Some(claims.azp),
        token_type: Some("Bearer".into()),
        exp: Some(claims.exp),
        iat: Some(claims.iat),
        nbf: claims.nbf,
        sub: Some(claims.sub),
        aud: Some(claims.aud),
        iss: Some(claims.iss),
        jti: Some(claims.jti),
        ..ActiveToken::default()
    })))
}

/// `POST /revoke`.
pub async fn revoke(
    Extract(state): Extract<State>,
    ClientForm {
        now,
        form,
        client: caller,
        ..
    }: ClientForm,
) -> Result<Response, ApiError> {
    let request = TokenLookupRequest::from_form(&form)?;
    if rpt::looks_like_jwt(request.token.expose()) {
        rpt::revoke(&state, request.token.expose(), &caller.client_id, now).await?;
        return Ok(ok_no_store());
    }
    let hash = secrets::digest(request.token.expose());
    // PCTs (Grant §3.7, `token_type_hint=pct`) share the handle format; whatever the hint says,
    // a PCT of this client is revoked (RFC 7009 §2.1: the hint only speeds up the lookup).
    if state
        .store
        .revoke_pct(&hash, &caller.client_id, now)
        .await?
    {
        return Ok(ok_no_store());
    }
    if let Some(token) = state.store.token(&hash).await?
        && token.client_id == caller.client_id
    {
        match token.kind {
            TokenKind::Refresh => {
                state.store.revoke_family(&token.family_id, now).await?;
            }
            TokenKind::Access => {
                state
                    .store
                    .revoke_token(&hash, &caller.client_id, now)
                    .await?;
            }
        }
    }
    Ok(ok_no_store())
}

/// `200` with `Cache-Control: no-store`.
fn ok_no_store() -> Response {
    let mut response = StatusCode::OK.into_response();
    no_store(&mut response);
    response
}
