//! Static bearer tokens (RFC 6750 §2.1): the admin token and DCR's initial access tokens.
//!
//! Only SHA-256 digests of the tokens are configured. The presented token's digest is compared
//! with every configured one in constant time, without stopping at a match.

use axum::extract::FromRequestParts;
use http::HeaderMap;
use http::header::AUTHORIZATION;
use http::request::Parts;
use umagate_proto::challenge::BearerChallenge;
use umagate_proto::{ErrorCode, ErrorResponse};

use crate::http::State;
use crate::http::error::ApiError;
use crate::secrets;

/// The realm of every bearer challenge the AS sends.
const REALM: &str = "umagate";

/// The bearer token of a request (RFC 6750 §2.1; never from the query or body): `None` without
/// `Authorization: Bearer`; more than one `Authorization` header, or a bearer value that is not
/// a token68 (also an empty one), is `400 invalid_request`. The one parser for the admin API,
/// DCR's initial access tokens, userinfo and the protection API.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(challenge(
            ErrorCode::InvalidRequest,
            "more than one Authorization header",
        ));
    }
    let value = value
        .to_str()
        .map_err(|_| challenge(ErrorCode::InvalidRequest, "malformed Authorization header"))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    let token = token.trim_start_matches(' ');
    if !is_token68(token) {
        return Err(challenge(
            ErrorCode::InvalidRequest,
            "malformed bearer token",
        ));
    }
    Ok(Some(token))
}

/// `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="` (RFC 6750 §2.1).
fn is_token68(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// Whether `token`'s SHA-256 hex equals one of `digests` (hex, any case), in constant time.
pub(crate) fn matches_digest<'a>(
    token: &str,
    digests: impl IntoIterator<Item = &'a String>,
) -> bool {
    let presented = secrets::digest(token);
    digests.into_iter().fold(false, |matched, expected| {
        matched | secrets::equal(&presented, &expected.trim().to_ascii_lowercase())
    })
}

/// Requires a bearer token whose digest is one of `digests`: `401` with a bare challenge when
/// none is presented (RFC 6750 §3.1), `401 invalid_token` when it does not match.
pub(crate) fn require<'a>(
    headers: &HeaderMap,
    digests: impl IntoIterator<Item = &'a String>,
) -> Result<(), ApiError> {
    let Some(token) = bearer_token(headers)? else {
        let bare = BearerChallenge {
            realm: Some(REALM.into()),
            ..Default::default()
        };
        return Err(ApiError::Bearer(bare, None));
    };
    if matches_digest(token, digests) {
        Ok(())
    } else {
        Err(challenge(
            ErrorCode::InvalidToken,
            "the token is not valid here",
        ))
    }
}

fn challenge(code: ErrorCode, description: &str) -> ApiError {
    let challenge = BearerChallenge {
        realm: Some(REALM.into()),
        error: Some(code),
        scope: None,
    };
    ApiError::Bearer(challenge, Some(ErrorResponse::new(code, description)))
}

/// Proof that the request carries the admin token; extract it first in every admin handler.
pub(super) struct Admin;

impl FromRequestParts<State> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &State) -> Result<Self, ApiError> {
        let Some(digest) = &state.config.admin.token_sha256 else {
            return Err(ApiError::new(ErrorCode::NotFound, "no such endpoint"));
        };
        require(&parts.headers, [digest]).inspect_err(|_| {
            tracing::warn!(target: "audit", method = %parts.method, path = %parts.uri.path(), "admin request refused");
        })?;
        Ok(Admin)
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn bearer_tokens_are_parsed_per_rfc_6750() {
        assert_eq!(bearer_token(&headers(&[])).unwrap(), None);
        assert_eq!(bearer_token(&headers(&["Basic YTpi"])).unwrap(), None);
        assert_eq!(
            bearer_token(&headers(&["Bearer abc.DEF-_~+/=="])).unwrap(),
            Some("abc.DEF-_~+/==")
        );
        assert_eq!(bearer_token(&headers(&["bearer x"])).unwrap(), Some("x"));
        for bad in [
            &["Bearer a b"][..],
            &["Bearer "],
            &["Bearer =="],
            &["Bearer a", "Bearer a"],
        ] {
            assert!(bearer_token(&headers(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn digests_match_in_any_case_and_only_exactly() {
        let d = secrets::digest("t0k3n");
        assert!(matches_digest("t0k3n", &[d.to_ascii_uppercase()]));
        assert!(matches_digest("t0k3n", &["00".repeat(32), d.clone()]));
        assert!(!matches_digest("t0k3n!", &[d]));
        assert!(!matches_digest("t0k3n", &Vec::<String>::new()));
    }
}
