//! Error responses: every error code umagate emits, its HTTP status, and the exact JSON body.
//!
//! One type, [`ErrorResponse`], serves the token endpoint (RFC 6749 §5.2 and UMA Grant §3.3.6),
//! the protection API (FedAuthz §6), introspection, revocation (RFC 7009 §2.2.1), dynamic client
//! registration (RFC 7591 §3.2.2) and the bearer-token errors of RFC 6750 §3.1. The UMA grant's
//! extra members (`ticket`, `required_claims`, `redirect_user`, `interval`) can only be set
//! through the constructors that the spec allows them on.

use std::fmt;

use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $text:literal => $status:ident,)*) => {
        /// An error code, written on the wire as its snake_case string.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, for exhaustive tests and documentation.
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as written in the `error` member.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $text,)* }
            }

            /// The HTTP status the code is sent with.
            pub fn status(self) -> StatusCode {
                match self { $(ErrorCode::$variant => StatusCode::$status,)* }
            }

            /// The code for `text`, if umagate knows it.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some(ErrorCode::$variant),)* _ => None }
            }
        }
    };
}

error_codes! {
    /// RFC 6749 §5.2: missing or repeated parameter, malformed request.
    InvalidRequest = "invalid_request" => BAD_REQUEST,
    /// RFC 6749 §5.2: client authentication failed (401; the endpoint adds `WWW-Authenticate`
    /// when the client used the `Authorization` header).
    InvalidClient = "invalid_client" => UNAUTHORIZED,
    /// RFC 6749 §5.2, UMA Grant §3.3.6: bad, expired, used or foreign grant (code, refresh token,
    /// permission ticket).
    InvalidGrant = "invalid_grant" => BAD_REQUEST,
    /// RFC 6749 §5.2: the client may not use this grant type.
    UnauthorizedClient = "unauthorized_client" => BAD_REQUEST,
    /// RFC 6749 §5.2: grant type not supported.
    UnsupportedGrantType = "unsupported_grant_type" => BAD_REQUEST,
    /// RFC 6749 §5.2, UMA Grant §3.3.6, FedAuthz §4.3: scope malformed or not available.
    InvalidScope = "invalid_scope" => BAD_REQUEST,
    /// RFC 6749 §4.1.2.1: the resource owner or the AS denied the request (sent in a redirect).
    AccessDenied = "access_denied" => FORBIDDEN,
    /// RFC 6749 §4.1.2.1: response type not supported (sent in a redirect).
    UnsupportedResponseType = "unsupported_response_type" => BAD_REQUEST,
    /// RFC 6749 §4.1.2.1: the AS failed.
    ServerError = "server_error" => INTERNAL_SERVER_ERROR,
    /// RFC 6749 §4.1.2.1: the AS is overloaded or in maintenance.
    TemporarilyUnavailable = "temporarily_unavailable" => SERVICE_UNAVAILABLE,
    /// RFC 6750 §3.1: the access token is expired, revoked, malformed or invalid.
    InvalidToken = "invalid_token" => UNAUTHORIZED,
    /// RFC 6750 §3.1: the token lacks the scope the endpoint needs.
    InsufficientScope = "insufficient_scope" => FORBIDDEN,
    /// UMA Grant §3.3.6: more claims are needed; carries `ticket` and `required_claims` and/or
    /// `redirect_user`.
    NeedInfo = "need_info" => FORBIDDEN,
    /// UMA Grant §3.3.6: the client is not authorized to have these permissions.
    RequestDenied = "request_denied" => FORBIDDEN,
    /// UMA Grant §3.3.6: the owner has been asked; carries `ticket` and optional `interval`.
    RequestSubmitted = "request_submitted" => FORBIDDEN,
    /// FedAuthz §4.3: a resource id in a permission request is not registered for this PAT.
    InvalidResourceId = "invalid_resource_id" => BAD_REQUEST,
    /// FedAuthz §3.2: the referenced resource cannot be found.
    NotFound = "not_found" => NOT_FOUND,
    /// FedAuthz §3.2: unsupported method on a resource registration URL (405 with `Allow`).
    UnsupportedMethodType = "unsupported_method_type" => METHOD_NOT_ALLOWED,
    /// RFC 7009 §2.2.1: the AS cannot revoke this type of token.
    UnsupportedTokenType = "unsupported_token_type" => BAD_REQUEST,
    /// RFC 7591 §3.2.2: a redirect URI (or claims redirect URI) is refused.
    InvalidRedirectUri = "invalid_redirect_uri" => BAD_REQUEST,
    /// RFC 7591 §3.2.2: some other client metadata value is refused.
    InvalidClientMetadata = "invalid_client_metadata" => BAD_REQUEST,
    /// RFC 7591 §3.2.2: the software statement is invalid.
    InvalidSoftwareStatement = "invalid_software_statement" => BAD_REQUEST,
    /// RFC 7591 §3.2.2: the software statement is not approved.
    UnapprovedSoftwareStatement = "unapproved_software_statement" => BAD_REQUEST,
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        ErrorCode::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format_args!(
                "unknown error code `{}`",
                crate::shorten(&text)
            ))
        })
    }
}

/// One claim the AS needs (UMA Grant §3.3.6 `required_claims`); every member is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequiredClaim {
    /// Claim token formats any one of which is acceptable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_token_format: Option<Vec<String>>,
    /// The expected interpretation of the claim value (may be a URI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_type: Option<String>,
    /// A human-readable name for the claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub friendly_name: Option<String>,
    /// Issuers any one of which is acceptable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<Vec<String>>,
    /// The claim's key (may be a URI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// An error response body. Build it with the constructor for its code.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawErrorResponse")]
pub struct ErrorResponse {
    error: ErrorCode,
    error_description: Option<String>,
    error_uri: Option<String>,
    /// The UMA grant's members, boxed: most errors have none.
    uma: Option<Box<UmaMembers>>,
}

/// The members only `need_info` and `request_submitted` carry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct UmaMembers {
    ticket: Option<Secret>,
    required_claims: Option<Vec<RequiredClaim>>,
    redirect_user: Option<String>,
    interval: Option<u32>,
}

/// The serialized shape, borrowed from an [`ErrorResponse`].
#[derive(Serialize)]
struct WireError<'a> {
    error: ErrorCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_uri: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket: Option<&'a Secret>,
    #[serde(skip_serializing_if = "Option::is_none")]
    required_claims: Option<&'a [RequiredClaim]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redirect_user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    interval: Option<u32>,
}

impl Serialize for ErrorResponse {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let uma = self.uma.as_deref();
        WireError {
            error: self.error,
            error_description: self.error_description.as_deref(),
            error_uri: self.error_uri.as_deref(),
            ticket: uma.and_then(|u| u.ticket.as_ref()),
            required_claims: uma.and_then(|u| u.required_claims.as_deref()),
            redirect_user: uma.and_then(|u| u.redirect_user.as_deref()),
            interval: uma.and_then(|u| u.interval),
        }
        .serialize(s)
    }
}

impl ErrorResponse {
    /// An error with a human-readable description (for developers, never secrets).
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        let mut e = Self::bare(code);
        e.error_description = Some(description.into());
        e
    }

    /// An error with only its code, e.g. `{"error":"invalid_grant"}`.
    pub fn bare(error: ErrorCode) -> Self {
        Self {
            error,
            error_description: None,
            error_uri: None,
            uma: None,
        }
    }

    /// `need_info` (UMA Grant §3.3.6) with a new ticket; `None` unless at least one of
    /// `required_claims` and `redirect_user` is given, as the spec requires.
    pub fn need_info(
        ticket: Secret,
        required_claims: Vec<RequiredClaim>,
        redirect_user: Option<String>,
    ) -> Option<Self> {
        if required_claims.is_empty() && redirect_user.is_none() {
            return None;
        }
        let mut e = Self::bare(ErrorCode::NeedInfo);
        e.uma = Some(Box::new(UmaMembers {
            ticket: Some(ticket),
            required_claims: (!required_claims.is_empty()).then_some(required_claims),
            redirect_user,
            interval: None,
        }));
        Some(e)
    }

    /// `request_submitted` (UMA Grant §3.3.6) with a new ticket and the polling interval.
    pub fn request_submitted(ticket: Secret, interval_secs: Option<u32>) -> Self {
        let mut e = Self::bare(ErrorCode::RequestSubmitted);
        e.uma = Some(Box::new(UmaMembers {
            ticket: Some(ticket),
            interval: interval_secs,
            ..UmaMembers::default()
        }));
        e
    }

    /// `request_denied` (UMA Grant §3.3.6): no other member.
    pub fn request_denied() -> Self {
        Self::bare(ErrorCode::RequestDenied)
    }

    /// Adds an `error_uri`.
    pub fn with_uri(mut self, uri: impl Into<String>) -> Self {
        self.error_uri = Some(uri.into());
        self
    }

    /// The error code.
    pub fn code(&self) -> ErrorCode {
        self.error
    }

    /// The HTTP status to send.
    pub fn status(&self) -> StatusCode {
        self.error.status()
    }

    /// The description, if any.
    pub fn description(&self) -> Option<&str> {
        self.error_description.as_deref()
    }

    /// The new ticket of `need_info` and `request_submitted`.
    pub fn ticket(&self) -> Option<&Secret> {
        self.uma.as_ref()?.ticket.as_ref()
    }

    /// The claims `need_info` asks for.
    pub fn required_claims(&self) -> &[RequiredClaim] {
        self.uma
            .as_ref()
            .and_then(|u| u.required_claims.as_deref())
            .unwrap_or(&[])
    }

    /// The claims interaction URI of `need_info`.
    pub fn redirect_user(&self) -> Option<&str> {
        self.uma.as_ref()?.redirect_user.as_deref()
    }

    /// The polling interval of `request_submitted`, in seconds.
    pub fn interval(&self) -> Option<u32> {
        self.uma.as_ref()?.interval
    }

    /// The JSON body.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| format!(r#"{{"error":"{}"}}"#, self.error))
    }
}

impl fmt::Debug for ErrorResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ErrorResponse({self})")
    }
}

impl fmt::Display for ErrorResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error_description {
            Some(d) => write!(f, "{}: {d}", self.error),
            None => write!(f, "{}", self.error),
        }
    }
}

impl std::error::Error for ErrorResponse {}

/// The wire shape, checked before it becomes an [`ErrorResponse`].
#[derive(Deserialize)]
struct RawErrorResponse {
    error: ErrorCode,
    error_description: Option<String>,
    error_uri: Option<String>,
    ticket: Option<Secret>,
    required_claims: Option<Vec<RequiredClaim>>,
    redirect_user: Option<String>,
    interval: Option<u32>,
}

impl TryFrom<RawErrorResponse> for ErrorResponse {
    type Error = String;

    fn try_from(raw: RawErrorResponse) -> Result<Self, String> {
        let uma_members = raw.ticket.is_some()
            || raw.required_claims.is_some()
            || raw.redirect_user.is_some()
            || raw.interval.is_some();
        let mut e = match raw.error {
            ErrorCode::NeedInfo => {
                let ticket = raw.ticket.ok_or("need_info without `ticket`")?;
                Self::need_info(
                    ticket,
                    raw.required_claims.unwrap_or_default(),
                    raw.redirect_user,
                )
                .ok_or("need_info without `required_claims` or `redirect_user`")?
            }
            ErrorCode::RequestSubmitted => {
                if raw.required_claims.is_some() || raw.redirect_user.is_some() {
                    return Err("request_submitted with need_info members".into());
                }
                let ticket = raw.ticket.ok_or("request_submitted without `ticket`")?;
                Self::request_submitted(ticket, raw.interval)
            }
            code if uma_members => return Err(format!("`{code}` with UMA grant members")),
            code => Self::bare(code),
        };
        e.error_description = raw.error_description;
        e.error_uri = raw.error_uri;
        Ok(e)
    }
}

#[cfg(test)]
mod tests;
