//! Every answer the proxy makes itself, mapped to HTTP in one place ([`Reject::respond`]).
//!
//! | reject | status | notes |
//! |---|---|---|
//! | [`Reject::BadRequest`] | 400 | ambiguous or malformed request; the connection is closed |
//! | [`Reject::NoRoute`] | 404 | default deny: no route matches (host, method, path) |
//! | [`Reject::Challenge`] | 401 | exactly one `WWW-Authenticate: UMA realm, as_uri, ticket` (D-CHALLENGE) |
//! | [`Reject::AsUnreachable`] | 403 | `Warning: 199 - "UMA Authorization Server Unreachable"` (UMA Grant §3.2.2) |
//! | [`Reject::TooLarge`] | 413 | the request body is over `limits.max_request_body_bytes` |
//! | [`Reject::UpstreamFailed`] | 502 | the upstream could not be reached or broke off; never retried |
//! | [`Reject::UpstreamTimeout`] | 504 | no response headers within `timeouts.upstream_response_ms` |
//! | [`Reject::Internal`] | 500 | the proxy cannot build what it must send (e.g. a subject that is not a header value) |
//!
//! Every body is a JSON error object; every answer is `Cache-Control: no-store`. Upstream error
//! bodies are never relayed in place of these (they may contain tokens).

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONNECTION, CONTENT_TYPE, WARNING, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use umagate_proto::challenge::{AS_UNREACHABLE_WARNING, UmaChallenge, as_unreachable_body};
use umagate_proto::{ErrorCode, ErrorResponse};

use crate::metrics::Outcome;

/// Any error a body can carry.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body type of every response the proxy sends.
pub type Body = UnsyncBoxBody<Bytes, BoxError>;

/// A complete body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// Why the proxy answers a request itself.
#[derive(Debug)]
pub enum Reject {
    /// Malformed or ambiguous.
    BadRequest(String),
    /// No route.
    NoRoute,
    /// A UMA challenge with a fresh ticket.
    Challenge(UmaChallenge),
    /// No ticket could be obtained.
    AsUnreachable,
    /// The request body is too large.
    TooLarge,
    /// The upstream failed.
    UpstreamFailed,
    /// The upstream did not answer in time.
    UpstreamTimeout,
    /// Something the proxy must send cannot be built; nothing is forwarded.
    Internal(&'static str),
}

impl Reject {
    /// The outcome counted for this answer.
    pub fn outcome(&self) -> Outcome {
        match self {
            Self::BadRequest(_) | Self::TooLarge => Outcome::BadRequest,
            Self::NoRoute => Outcome::NoRoute,
            Self::Challenge(_) => Outcome::Challenged,
            Self::AsUnreachable => Outcome::AsUnreachable,
            Self::UpstreamFailed | Self::UpstreamTimeout => Outcome::UpstreamError,
            Self::Internal(_) => Outcome::Internal,
        }
    }

    /// The response.
    pub fn respond(&self) -> Response<Body> {
        let (status, error) = match self {
            Self::BadRequest(why) => (
                StatusCode::BAD_REQUEST,
                ErrorResponse::new(ErrorCode::InvalidRequest, why.clone()),
            ),
            Self::NoRoute => (
                StatusCode::NOT_FOUND,
                ErrorResponse::new(ErrorCode::NotFound, "no route for this request"),
            ),
            Self::Challenge(_) => (
                StatusCode::UNAUTHORIZED,
                ErrorResponse::new(
                    ErrorCode::AccessDenied,
                    "a requesting party token is needed: ask the authorization server with the ticket",
                ),
            ),
            Self::AsUnreachable => (StatusCode::FORBIDDEN, as_unreachable_body()),
            Self::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorResponse::new(ErrorCode::InvalidRequest, "the request body is too large"),
            ),
            Self::UpstreamFailed => (
                StatusCode::BAD_GATEWAY,
                ErrorResponse::new(ErrorCode::ServerError, "the upstream failed"),
            ),
            Self::UpstreamTimeout => (
                StatusCode::GATEWAY_TIMEOUT,
                ErrorResponse::new(ErrorCode::TemporarilyUnavailable, "the upstream timed out"),
            ),
            Self::Internal(why) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorResponse::new(ErrorCode::ServerError, *why),
            ),
        };
        let mut response = Response::new(full(error.to_json()));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match self {
            Self::Challenge(challenge) => match challenge
                .to_header_value()
                .ok()
                .and_then(|v| HeaderValue::from_str(&v).ok())
            {
                Some(value) => {
                    headers.insert(WWW_AUTHENTICATE, value);
                }
                // A ticket that cannot be carried is no ticket: fall back to §3.2.2.
                None => return Self::AsUnreachable.respond(),
            },
            Self::AsUnreachable => {
                headers.insert(WARNING, HeaderValue::from_static(AS_UNREACHABLE_WARNING));
            }
            Self::BadRequest(_) => {
                headers.insert(CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_of(reject: Reject) -> (StatusCode, http::HeaderMap) {
        let r = reject.respond();
        (r.status(), r.headers().clone())
    }

    #[test]
    fn one_status_per_reject() {
        let challenge = UmaChallenge {
            realm: "r".into(),
            as_uri: "http://127.0.0.1:1".into(),
            ticket: "t1".into(),
        };
        let (s, h) = status_of(Reject::Challenge(challenge));
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(h.get_all(WWW_AUTHENTICATE).iter().count(), 1);
        assert_eq!(
            h[WWW_AUTHENTICATE],
            r#"UMA realm="r", as_uri="http://127.0.0.1:1", ticket="t1""#
        );
        let (s, h) = status_of(Reject::AsUnreachable);
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert_eq!(h[WARNING], AS_UNREACHABLE_WARNING);
        assert!(!h.contains_key(WWW_AUTHENTICATE));
        let bad = UmaChallenge {
            realm: "r".into(),
            as_uri: "a".into(),
            ticket: "t\n".into(),
        };
        assert_eq!(status_of(Reject::Challenge(bad)).0, StatusCode::FORBIDDEN);
        assert_eq!(
            status_of(Reject::BadRequest("x".into())).0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(status_of(Reject::NoRoute).0, StatusCode::NOT_FOUND);
        assert_eq!(status_of(Reject::TooLarge).0, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(status_of(Reject::UpstreamFailed).0, StatusCode::BAD_GATEWAY);
        assert_eq!(
            status_of(Reject::Internal("x")).0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            status_of(Reject::UpstreamTimeout).0,
            StatusCode::GATEWAY_TIMEOUT
        );
    }
}
