//! The userinfo endpoint (OIDC Core §5.3): the signed-in user's claims, for an access token
//! granted with `openid`.
//!
//! The token comes only from the `Authorization: Bearer` header (RFC 6750 §2.1); tokens in the
//! query or the body are not looked at (RFC 6750 §2.3, P7). Claims follow the token's scopes:
//! `sub` always, `email` and `email_verified` with `email`, `preferred_username` with `profile`.
//! Errors are RFC 6750 §3 challenges: no credentials → 401 with the realm only; a malformed
//! header → 400 `invalid_request`; an unknown, expired, revoked or refresh token → 401
//! `invalid_token`; no `openid` → 403 `insufficient_scope`.

use axum::extract::State as Extract;
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use umagate_proto::challenge::BearerChallenge;
use umagate_proto::claims::UserInfo;
use umagate_proto::{ErrorCode, ErrorResponse};

use super::error::{ApiError, json};
use super::{State, now};
use crate::secrets;
use crate::store::TokenKind;

/// The realm of the bearer challenges.
const REALM: &str = "umagate";

/// `GET|POST /userinfo`.
#[tracing::instrument(name = "pdp.userinfo", skip_all)]
pub async fn userinfo(
    Extract(state): Extract<State>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let now = now();
    let token = bearer_token(&headers)?;
    let invalid = || {
        challenge(
            ErrorCode::InvalidToken,
            None,
            "the access token is invalid, expired or revoked",
        )
    };
    let record = match state.store.token(&secrets::digest(token)).await? {
        Some(t) if t.kind == TokenKind::Access && t.is_active(now) => t,
        _ => return Err(invalid()),
    };
    let Some(subject) = record.subject.as_deref() else {
        return Err(invalid());
    };
    let has = |scope: &str| record.scope.split(' ').any(|s| s == scope);
    if !has("openid") {
        return Err(challenge(
            ErrorCode::InsufficientScope,
            Some("openid"),
            "the access token was not granted `openid`",
        ));
    }
    let user = state.store.user(subject).await?.ok_or_else(invalid)?;
    let email = has("email").then_some(user.email).flatten();
    let info = UserInfo {
        sub: user.subject,
        email_verified: email.as_ref().map(|_| user.email_verified),
        email,
        name: None,
        preferred_username: has("profile").then_some(user.username),
    };
    let body = serde_json::to_string(&info).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(json(StatusCode::OK, body))
}

/// The bearer token of the `Authorization` header; none is `401` with the realm only.
fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    super::admin::auth::bearer_token(headers)?.ok_or_else(|| {
        ApiError::Bearer(
            BearerChallenge {
                realm: Some(REALM.into()),
                ..BearerChallenge::default()
            },
            None,
        )
    })
}

fn challenge(code: ErrorCode, scope: Option<&str>, description: &str) -> ApiError {
    ApiError::Bearer(
        BearerChallenge {
            realm: Some(REALM.into()),
            error: Some(code),
            scope: scope.map(str::to_string),
        },
        Some(ErrorResponse::new(code, description)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&'static str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(http::header::AUTHORIZATION, HeaderValue::from_static(v));
        }
        h
    }

    fn status(r: Result<&str, ApiError>) -> Option<StatusCode> {
        use axum::response::IntoResponse;
        r.err().map(|e| e.into_response().status())
    }

    #[test]
    fn bearer_tokens_come_from_one_header_only() {
        assert_eq!(
            bearer_token(&headers(&["Bearer abc-DEF_1.2~3+4/5=="])).ok(),
            Some("abc-DEF_1.2~3+4/5==")
        );
        assert_eq!(bearer_token(&headers(&["bearer abc"])).ok(), Some("abc"));
        assert_eq!(
            status(bearer_token(&headers(&[]))),
            Some(StatusCode::UNAUTHORIZED)
        );
        assert_eq!(
            status(bearer_token(&headers(&["Basic YTpi"]))),
            Some(StatusCode::UNAUTHORIZED)
        );
        for bad in [
            &["Bearer"][..],
            &["Bearer "],
            &["Bearer a b"],
            &["Bearer a\"b"],
            &["Bearer =="],
            &["Bearer a", "Bearer a"],
        ] {
            assert_eq!(
                status(bearer_token(&headers(bad))),
                Some(StatusCode::BAD_REQUEST),
                "{bad:?}"
            );
        }
    }
}
