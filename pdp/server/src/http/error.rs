//! The one mapping from errors to HTTP responses for the AS (style rule 4).
//!
//! Protocol errors go out as their RFC body and status with `Cache-Control: no-store` and
//! `Pragma: no-cache`; `invalid_client` after Basic authentication carries
//! `WWW-Authenticate: Basic` (RFC 6749 §5.2); bearer-token errors carry their RFC 6750 challenge.
//! Internal failures are logged with their cause and answered `server_error` without it.

use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};
use umagate_proto::challenge::BearerChallenge;
use umagate_proto::{ErrorCode, ErrorResponse};

use crate::store::StoreError;

/// Everything a handler can fail with.
#[derive(Debug)]
pub enum ApiError {
    /// A protocol error with its body.
    Protocol(ErrorResponse),
    /// `invalid_client` after the client tried `Authorization: Basic`.
    BasicClient(ErrorResponse),
    /// A bearer-token problem on a protected endpoint (RFC 6750 §3).
    Bearer(BearerChallenge, Option<ErrorResponse>),
    /// A failure of ours; the cause is logged, not sent.
    Internal(String),
}

impl ApiError {
    /// A protocol error with a description.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self::Protocol(ErrorResponse::new(code, description))
    }
}

impl From<ErrorResponse> for ApiError {
    fn from(e: ErrorResponse) -> Self {
        Self::Protocol(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

/// `Cache-Control: no-store` and `Pragma: no-cache`, for every token-bearing response (T8).
pub fn no_store(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
}

/// A JSON response with `no_store`.
pub fn json(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    no_store(&mut response);
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Protocol(e) => json(e.status(), e.to_json()),
            Self::BasicClient(e) => {
                let mut r = json(StatusCode::UNAUTHORIZED, e.to_json());
                r.headers_mut().insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"umagate\""),
                );
                r
            }
            Self::Bearer(challenge, body) => {
                let status = match challenge.error {
                    Some(ErrorCode::InsufficientScope) => StatusCode::FORBIDDEN,
                    Some(ErrorCode::InvalidRequest) => StatusCode::BAD_REQUEST,
                    _ => StatusCode::UNAUTHORIZED,
                };
                let mut r = match body {
                    Some(b) => json(status, b.to_json()),
                    None => {
                        let mut r = status.into_response();
                        no_store(&mut r);
                        r
                    }
                };
                if let Ok(Ok(value)) = challenge.to_header_value().map(HeaderValue::try_from) {
                    r.headers_mut().insert(WWW_AUTHENTICATE, value);
                }
                r
            }
            Self::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorResponse::bare(ErrorCode::ServerError).to_json(),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(r: &Response, name: http::HeaderName) -> Option<&str> {
        r.headers().get(name).and_then(|v| v.to_str().ok())
    }

    #[test]
    fn protocol_errors_carry_their_status_and_no_store() {
        for code in [
            ErrorCode::InvalidRequest,
            ErrorCode::InvalidGrant,
            ErrorCode::NeedInfo,
            ErrorCode::NotFound,
        ] {
            let r = ApiError::Protocol(ErrorResponse::bare(code)).into_response();
            assert_eq!(r.status(), code.status());
            assert_eq!(header(&r, CACHE_CONTROL), Some("no-store"));
            assert_eq!(header(&r, PRAGMA), Some("no-cache"));
            assert_eq!(header(&r, CONTENT_TYPE), Some("application/json"));
        }
    }

    #[test]
    fn basic_client_failures_challenge_basic() {
        let r =
            ApiError::BasicClient(ErrorResponse::bare(ErrorCode::InvalidClient)).into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            header(&r, WWW_AUTHENTICATE),
            Some("Basic realm=\"umagate\"")
        );
    }

    #[test]
    fn bearer_failures_use_rfc_6750_statuses() {
        let missing = BearerChallenge {
            realm: Some("umagate".into()),
            ..Default::default()
        };
        let r = ApiError::Bearer(missing, None).into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            header(&r, WWW_AUTHENTICATE),
            Some("Bearer realm=\"umagate\"")
        );
        let scope = BearerChallenge {
            realm: None,
            error: Some(ErrorCode::InsufficientScope),
            scope: Some("uma_protection".into()),
        };
        assert_eq!(
            ApiError::Bearer(scope, None).into_response().status(),
            StatusCode::FORBIDDEN
        );
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let r = ApiError::Internal("db password is hunter2".into()).into_response();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
