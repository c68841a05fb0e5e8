//! Browser-facing requests: the authorization endpoint (RFC 6749 §4.1, RFC 7636, RFC 9207) and
//! the UMA claims interaction endpoint (UMA Grant §3.3.2), and the redirect back to the client.
//!
//! Only `response_type=code` exists, and PKCE with `S256` is required (RFC 9700 §2.1.1; a
//! missing `code_challenge_method` would mean `plain`, so it must be sent). Whether an error may
//! be redirected to the client depends on the client and redirect URI being valid first; that
//! check is the server's, which is why `client_id` and `redirect_uri` are read separately.

use url::Url;

use crate::error::{ErrorCode, ErrorResponse};
use crate::form::Form;
use crate::scope::Scopes;
use crate::secret::Secret;

/// Longest `state` or `nonce` accepted.
pub const MAX_STATE_LEN: usize = 512;

/// An authorization request (RFC 6749 §4.1.1 with PKCE and OIDC `nonce`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationRequest {
    /// The client.
    pub client_id: String,
    /// The redirect URI, compared exactly with the registered ones.
    pub redirect_uri: Option<String>,
    /// Requested scopes.
    pub scope: Option<Scopes>,
    /// Opaque client state, echoed back.
    pub state: Option<String>,
    /// The PKCE S256 challenge: 43 base64url characters.
    pub code_challenge: String,
    /// OIDC nonce, copied into the ID token.
    pub nonce: Option<String>,
}

impl AuthorizationRequest {
    /// Parses the query of an authorization request.
    pub fn from_form(form: &Form) -> Result<Self, ErrorResponse> {
        match form.require("response_type")? {
            "code" => {}
            _ => {
                return Err(ErrorResponse::new(
                    ErrorCode::UnsupportedResponseType,
                    "only `response_type=code` is supported",
                ));
            }
        }
        let challenge = form.get("code_challenge").ok_or_else(|| {
            ErrorResponse::new(
                ErrorCode::InvalidRequest,
                "PKCE `code_challenge` is required",
            )
        })?;
        if form.get("code_challenge_method") != Some("S256") {
            return Err(ErrorResponse::new(
                ErrorCode::InvalidRequest,
                "`code_challenge_method` must be `S256`",
            ));
        }
        let base64url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        if challenge.len() != 43 || !challenge.bytes().all(base64url) {
            return Err(ErrorResponse::new(
                ErrorCode::InvalidRequest,
                "`code_challenge` must be 43 base64url characters",
            ));
        }
        Ok(Self {
            client_id: form.require("client_id")?.to_string(),
            redirect_uri: form.get("redirect_uri").map(str::to_string),
            scope: form
                .get("scope")
                .map(|s| {
                    Scopes::parse(s)
                        .map_err(|e| ErrorResponse::new(ErrorCode::InvalidScope, e.to_string()))
                })
                .transpose()?,
            state: bounded(form, "state")?,
            code_challenge: challenge.to_string(),
            nonce: bounded(form, "nonce")?,
        })
    }
}

/// A claims interaction request (UMA Grant §3.3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimsInteractionRequest {
    /// The client.
    pub client_id: String,
    /// The most recent permission ticket; presenting it consumes it.
    pub ticket: Secret,
    /// Required unless the client registered exactly one claims redirect URI.
    pub claims_redirect_uri: Option<String>,
    /// Opaque client state, echoed back.
    pub state: Option<String>,
}

impl ClaimsInteractionRequest {
    /// Parses the query of a claims interaction request.
    pub fn from_form(form: &Form) -> Result<Self, ErrorResponse> {
        Ok(Self {
            client_id: form.require("client_id")?.to_string(),
            ticket: Secret::from(form.require("ticket")?),
            claims_redirect_uri: form.get("claims_redirect_uri").map(str::to_string),
            state: bounded(form, "state")?,
        })
    }
}

fn bounded(form: &Form, name: &str) -> Result<Option<String>, ErrorResponse> {
    match form.get(name) {
        Some(v) if v.len() > MAX_STATE_LEN => Err(ErrorResponse::new(
            ErrorCode::InvalidRequest,
            format!("`{name}` is longer than {MAX_STATE_LEN} bytes"),
        )),
        v => Ok(v.map(str::to_string)),
    }
}

/// Appends response parameters to a registered redirect URI, keeping its own query
/// (RFC 6749 §3.1.2, UMA Grant §3.3.2). Returns `None` if the URI does not parse.
pub fn redirect_with(redirect_uri: &str, params: &[(&str, &str)]) -> Option<String> {
    let mut url = Url::parse(redirect_uri).ok()?;
    url.query_pairs_mut().extend_pairs(params);
    Some(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn auth(query: &str) -> Result<AuthorizationRequest, ErrorResponse> {
        AuthorizationRequest::from_form(&Form::parse(query.as_bytes())?)
    }

    #[test]
    fn rfc_6749_4_1_1_example_with_pkce() {
        let r = auth(&format!(
            "response_type=code&client_id=s6BhdRkqt3&state=xyz&redirect_uri=https%3A%2F%2Fclient%2Eexample%2Ecom%2Fcb&code_challenge={CHALLENGE}&code_challenge_method=S256"
        ))
        .unwrap();
        assert_eq!(r.client_id, "s6BhdRkqt3");
        assert_eq!(
            r.redirect_uri.as_deref(),
            Some("https://client.example.com/cb")
        );
        assert_eq!(r.state.as_deref(), Some("xyz"));
    }

    #[test]
    fn pkce_and_response_type_are_enforced() {
        let base = "client_id=c&redirect_uri=https%3A%2F%2Fc%2Fcb";
        let cases = [
            (
                format!("response_type=token&{base}"),
                ErrorCode::UnsupportedResponseType,
            ),
            (
                format!("response_type=code&{base}"),
                ErrorCode::InvalidRequest,
            ),
            (
                format!("response_type=code&{base}&code_challenge={CHALLENGE}"),
                ErrorCode::InvalidRequest,
            ),
            (
                format!(
                    "response_type=code&{base}&code_challenge={CHALLENGE}&code_challenge_method=plain"
                ),
                ErrorCode::InvalidRequest,
            ),
            (
                format!(
                    "response_type=code&{base}&code_challenge=short&code_challenge_method=S256"
                ),
                ErrorCode::InvalidRequest,
            ),
            (
                format!("response_type=code&code_challenge={CHALLENGE}&code_challenge_method=S256"),
                ErrorCode::InvalidRequest,
            ),
            (
                format!(
                    "response_type=code&{base}&code_challenge={CHALLENGE}&code_challenge_method=S256&state={}",
                    "s".repeat(MAX_STATE_LEN + 1)
                ),
                ErrorCode::InvalidRequest,
            ),
        ];
        for (query, code) in cases {
            assert_eq!(auth(&query).unwrap_err().code(), code, "{query}");
        }
    }

    #[test]
    fn grant_3_3_2_claims_interaction_example() {
        let form = Form::parse(
            b"client_id=some_client_id&ticket=016f84e8-f9b9-11e0-bd6f-0021cc6004de&claims_redirect_uri=https%3A%2F%2Fclient%2Eexample%2Ecom%2Fredirect_claims&state=abc",
        )
        .unwrap();
        let r = ClaimsInteractionRequest::from_form(&form).unwrap();
        assert_eq!(
            r.claims_redirect_uri.as_deref(),
            Some("https://client.example.com/redirect_claims")
        );
        assert_eq!(r.ticket.expose(), "016f84e8-f9b9-11e0-bd6f-0021cc6004de");
        let missing = Form::parse(b"client_id=c").unwrap();
        assert!(ClaimsInteractionRequest::from_form(&missing).is_err());
    }

    #[test]
    fn grant_3_3_3_redirect_back_keeps_the_query() {
        assert_eq!(
            redirect_with(
                "https://client.example.com/redirect_claims",
                &[
                    ("ticket", "cHJpdmFjeSBpcyBjb250ZXh0LCBjb250cm9s"),
                    ("state", "abc")
                ]
            )
            .unwrap(),
            "https://client.example.com/redirect_claims?ticket=cHJpdmFjeSBpcyBjb250ZXh0LCBjb250cm9s&state=abc"
        );
        assert_eq!(
            redirect_with("https://c.example/cb?k=v", &[("code", "a b&c")]).unwrap(),
            "https://c.example/cb?k=v&code=a+b%26c"
        );
        assert!(redirect_with("not a uri", &[]).is_none());
    }
}
