//! The token endpoint (RFC 6749 §4–§6, UMA Grant §3.3) and the revocation endpoint (RFC 7009).
//!
//! A request is one [`TokenRequest`], chosen by `grant_type`, parsed from a strict [`Form`]:
//! duplicated parameters are refused, empty values count as absent, unknown parameters are
//! ignored. The password grant and the implicit flow do not exist here (RFC 9700 §2.1.2, §2.4).

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, ErrorResponse};
use crate::form::Form;
use crate::scope::Scopes;
use crate::secret::Secret;

/// Longest opaque artifact (code, ticket, token) accepted in a parameter.
pub const MAX_ARTIFACT_LEN: usize = 8192;

/// The `claim_token_format` URIs for an OpenID Connect ID token. The spec's example uses
/// `http`, the OIDC document lives at `https`, and RFC 8693 registers a URN; all are accepted.
pub const ID_TOKEN_FORMATS: &[&str] = &[
    "http://openid.net/specs/openid-connect-core-1_0.html#IDToken",
    "https://openid.net/specs/openid-connect-core-1_0.html#IDToken",
    "urn:ietf:params:oauth:token-type:id_token",
];
/// The `claim_token_format` of a generic signed JWT (RFC 8693 §3).
pub const JWT_FORMAT: &str = "urn:ietf:params:oauth:token-type:jwt";

/// A token request, by grant type.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenRequest {
    /// `authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.5).
    AuthorizationCode {
        /// The code from the authorization response.
        code: Secret,
        /// Required when the authorization request carried one.
        redirect_uri: Option<String>,
        /// The PKCE verifier.
        code_verifier: Option<CodeVerifier>,
    },
    /// `client_credentials` (RFC 6749 §4.4).
    ClientCredentials {
        /// The scopes asked for.
        scope: Option<Scopes>,
    },
    /// `refresh_token` (RFC 6749 §6).
    RefreshToken {
        /// The refresh token.
        refresh_token: Secret,
        /// A narrower scope, if asked for.
        scope: Option<Scopes>,
    },
    /// `urn:ietf:params:oauth:grant-type:uma-ticket` (UMA Grant §3.3.1).
    UmaTicket(UmaTicketRequest),
}

/// The parameters of the UMA grant (UMA Grant §3.3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UmaTicketRequest {
    /// The most recent permission ticket.
    pub ticket: Secret,
    /// Pushed claims, if any.
    pub claim_token: Option<ClaimToken>,
    /// A persisted claims token.
    pub pct: Option<Secret>,
    /// An RPT to upgrade.
    pub rpt: Option<Secret>,
    /// Extra scopes, considered only if the client is pre-registered for them.
    pub scope: Option<Scopes>,
}

/// A pushed claim token and its format (both or neither, UMA Grant §3.3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimToken {
    /// The token, as sent.
    pub token: Secret,
    /// The format identifier, as sent.
    pub format: String,
}

impl ClaimToken {
    /// Whether the format names an OpenID Connect ID token.
    pub fn is_id_token(&self) -> bool {
        ID_TOKEN_FORMATS.contains(&self.format.as_str())
    }
}

/// A token request with the client credentials sent in the body (`client_secret_post`, or the
/// `client_id` of a public client). Credentials from the `Authorization` header are the
/// server's business.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRequestForm {
    /// The grant.
    pub grant: TokenRequest,
    /// `client_id`, if sent in the body.
    pub client_id: Option<String>,
    /// `client_secret`, if sent in the body.
    pub client_secret: Option<Secret>,
}

impl TokenRequestForm {
    /// Parses a token request body.
    pub fn parse(body: &[u8]) -> Result<Self, ErrorResponse> {
        Self::from_form(&Form::parse(body)?)
    }

    /// Builds a token request from a parsed form.
    pub fn from_form(form: &Form) -> Result<Self, ErrorResponse> {
        let grant = match form.require("grant_type")? {
            "authorization_code" => TokenRequest::AuthorizationCode {
                code: artifact(form, "code")?,
                redirect_uri: form.get("redirect_uri").map(str::to_string),
                code_verifier: form
                    .get("code_verifier")
                    .map(CodeVerifier::new)
                    .transpose()?,
            },
            "client_credentials" => TokenRequest::ClientCredentials {
                scope: scope(form)?,
            },
            "refresh_token" => TokenRequest::RefreshToken {
                refresh_token: artifact(form, "refresh_token")?,
                scope: scope(form)?,
            },
            crate::UMA_TICKET_GRANT => TokenRequest::UmaTicket(UmaTicketRequest {
                ticket: artifact(form, "ticket")?,
                claim_token: claim_token(form)?,
                pct: optional_artifact(form, "pct")?,
                rpt: optional_artifact(form, "rpt")?,
                scope: scope(form)?,
            }),
            other => {
                return Err(ErrorResponse::new(
                    ErrorCode::UnsupportedGrantType,
                    format!("grant type `{}` is not supported", crate::shorten(other)),
                ));
            }
        };
        Ok(Self {
            grant,
            client_id: form.get("client_id").map(str::to_string),
            client_secret: form.get("client_secret").map(Secret::from),
        })
    }
}

fn artifact(form: &Form, name: &str) -> Result<Secret, ErrorResponse> {
    let value = form.require(name)?;
    check_artifact(name, value)?;
    Ok(Secret::from(value))
}

fn optional_artifact(form: &Form, name: &str) -> Result<Option<Secret>, ErrorResponse> {
    form.contains(name)
        .then(|| artifact(form, name))
        .transpose()
}

fn check_artifact(name: &str, value: &str) -> Result<(), ErrorResponse> {
    if value.len() > MAX_ARTIFACT_LEN || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ErrorResponse::new(
            ErrorCode::InvalidRequest,
            format!("parameter `{name}` is malformed"),
        ));
    }
    Ok(())
}

fn scope(form: &Form) -> Result<Option<Scopes>, ErrorResponse> {
    form.get("scope")
        .map(|s| {
            Scopes::parse(s).map_err(|e| ErrorResponse::new(ErrorCode::InvalidScope, e.to_string()))
        })
        .transpose()
}

fn claim_token(form: &Form) -> Result<Option<ClaimToken>, ErrorResponse> {
    match (form.get("claim_token"), form.get("claim_token_format")) {
        (None, None) => Ok(None),
        (Some(token), Some(format)) => {
            check_artifact("claim_token", token)?;
            check_artifact("claim_token_format", format)?;
            Ok(Some(ClaimToken {
                token: Secret::from(token),
                format: format.to_string(),
            }))
        }
        _ => Err(ErrorResponse::new(
            ErrorCode::InvalidRequest,
            "`claim_token` and `claim_token_format` must be sent together",
        )),
    }
}

/// A PKCE code verifier (RFC 7636 §4.1): 43 to 128 characters of `[A-Za-z0-9-._~]`.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeVerifier(Secret);

impl CodeVerifier {
    /// Validates a verifier.
    pub fn new(text: &str) -> Result<Self, ErrorResponse> {
        let unreserved =
            |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        if !(43..=128).contains(&text.len()) || !text.bytes().all(unreserved) {
            return Err(ErrorResponse::new(
                ErrorCode::InvalidRequest,
                "`code_verifier` must be 43 to 128 characters of [A-Za-z0-9-._~]",
            ));
        }
        Ok(Self(Secret::from(text)))
    }

    /// The verifier itself.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl std::fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeVerifier(..)")
    }
}

/// A successful token response (RFC 6749 §5.1, UMA Grant §3.3.5), sent with
/// `Cache-Control: no-store` and `Pragma: no-cache`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The access token, PAT or RPT.
    pub access_token: Secret,
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// A refresh token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    /// Granted scopes when they differ from the request; never set for an RPT (UMA Grant §3.3.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scopes>,
    /// An OpenID Connect ID token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<Secret>,
    /// A persisted claims token (UMA Grant §3.3.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pct: Option<Secret>,
    /// `true` when the RPT includes the permissions of the `rpt` sent (UMA Grant §3.3.5.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgraded: Option<bool>,
}

impl TokenResponse {
    /// A bearer token response with nothing else set.
    pub fn bearer(access_token: Secret) -> Self {
        Self {
            access_token,
            token_type: "Bearer".into(),
            expires_in: None,
            refresh_token: None,
            scope: None,
            id_token: None,
            pct: None,
            upgraded: None,
        }
    }
}

/// A token type hint (RFC 7009 §2.1, RFC 7662 §2.1, UMA Grant §3.7 adds `pct`). Hints are
/// advisory: a server that cannot find the token under the hint searches every type.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenTypeHint {
    /// `access_token` (PATs and RPTs are access tokens).
    AccessToken,
    /// `refresh_token`.
    RefreshToken,
    /// `pct`.
    Pct,
    /// Any other value, e.g. Keycloak's `requesting_party_token`.
    Other(String),
}

impl TokenTypeHint {
    fn parse(text: &str) -> Self {
        match text {
            "access_token" => Self::AccessToken,
            "refresh_token" => Self::RefreshToken,
            "pct" => Self::Pct,
            other => Self::Other(other.to_string()),
        }
    }
}

/// A revocation (RFC 7009 §2.1) or introspection (RFC 7662 §2.1) request: the token and a hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenLookupRequest {
    /// The token to revoke or introspect.
    pub token: Secret,
    /// The caller's hint about its type.
    pub token_type_hint: Option<TokenTypeHint>,
}

impl TokenLookupRequest {
    /// Builds the request from a parsed form.
    pub fn from_form(form: &Form) -> Result<Self, ErrorResponse> {
        Ok(Self {
            token: artifact(form, "token")?,
            token_type_hint: form.get("token_type_hint").map(TokenTypeHint::parse),
        })
    }
}

#[cfg(test)]
mod tests;
