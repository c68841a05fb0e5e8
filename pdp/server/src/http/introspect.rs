//! Token introspection (RFC 7662) and revocation (RFC 7009).
//!
//! Introspection answers only authenticated resource servers (RFC 7662 §4: callers must be
//! authenticated and specifically authorized), and tells them nothing about a token that is not
//! active: `{"active":false}`. Revocation answers 200 whether or not the token existed or
//! belonged to the caller (RFC 7009 §2.2; D-REVOKE-FOREIGN), and only ever revokes the caller's
//! own tokens; revoking a refresh token revokes its whole grant.

use axum::extract::State as Extract;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use umagate_proto::ErrorCode;
use umagate_proto::introspection::{ActiveToken, IntrospectionResponse};
use umagate_proto::scope::Scopes;
use umagate_proto::token::TokenLookupRequest;

use super::State;
use super::client_auth::ClientForm;
use super::error::{ApiError, json, no_store};
use crate::secrets;
use crate::store::TokenKind;

/// `POST /introspect`.
pub async fn introspect(
    Extract(state): Extract<State>,
    ClientForm {
        now,
        form,
        client: caller,
    }: ClientForm,
) -> Result<Response, ApiError> {
    if !caller.resource_server {
        return Err(ApiError::new(
            ErrorCode::UnauthorizedClient,
            "only resource servers may introspect tokens",
        ));
    }
    let request = TokenLookupRequest::from_form(&form)?;
    let record = state
        .store
        .token(&secrets::digest(request.token.expose()))
        .await?;
    let response = match record {
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
    };
    Ok(json(StatusCode::OK, response.to_json()))
}

/// `POST /revoke`.
pub async fn revoke(
    Extract(state): Extract<State>,
    ClientForm {
        now,
        form,
        client: caller,
    }: ClientForm,
) -> Result<Response, ApiError> {
    let request = TokenLookupRequest::from_form(&form)?;
    let hash = secrets::digest(request.token.expose());
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
    let mut response = StatusCode::OK.into_response();
    no_store(&mut response);
    Ok(response)
}
