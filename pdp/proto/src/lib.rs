//! Wire types of UMA 2.0 (Grant and Federated Authorization), OAuth 2.0 and the OpenID Connect
//! parts umagate uses, plus the one path canonicalizer shared by the authorization server and the
//! edge proxy.
//!
//! Everything here is pure data and parsing: no I/O, no clock reads. Every type that arrives from
//! outside has a strict parser that refuses what the specs forbid (duplicated parameters,
//! duplicate JSON members, wrong member types) with an error that names the problem; a parser of
//! a request returns the [`ErrorResponse`] the server should send.
//!
//! | module | what it holds |
//! |---|---|
//! | [`error`] | every error code, its status, the exact error bodies (RFC 6749/6750/7009/7591, UMA) |
//! | [`form`], [`json`] | strict form and JSON parsing |
//! | [`scope`] | RFC 6749 §3.3 scope tokens and lists |
//! | [`resource`] | FedAuthz §3 resource descriptions and responses |
//! | [`permission`] | FedAuthz §4 permission requests, tickets; granted permissions |
//! | [`token`] | token requests (by `grant_type`), responses, PKCE, revocation (RFC 7009) |
//! | [`introspection`] | RFC 7662 with the UMA `permissions` extension |
//! | [`authorize`] | authorization and claims interaction requests, redirect parameters |
//! | [`discovery`] | RFC 8414 / UMA / OIDC metadata |
//! | [`registration`] | RFC 7591 client metadata with `claims_redirect_uris` |
//! | [`jwk`], [`claims`] | JWKS; ID token, RPT and userinfo claims |
//! | [`jws`] | ES256 compact JWS: signing and strict verification |
//! | [`owner`] | umagate's owner API: shares, pending requests, policies, bindings, decision log |
//! | [`challenge`] | `WWW-Authenticate: UMA`/`Bearer` and the `Warning: 199` fallback |
//! | [`paths`] | endpoint paths shared by the router and the discovery document |
//! | [`path`] | the request path canonicalizer |

pub mod authorize;
pub mod challenge;
pub mod claims;
pub mod discovery;
pub mod error;
pub mod form;
pub mod introspection;
pub mod json;
pub mod jwk;
pub mod jws;
pub mod owner;
pub mod path;
pub mod paths;
pub mod permission;
pub mod registration;
pub mod resource;
pub mod scope;
pub mod secret;
pub mod token;
mod uri;

pub use error::{ErrorCode, ErrorResponse};
pub use secret::Secret;

/// The grant type of the UMA grant (UMA Grant §3.3.1).
pub const UMA_TICKET_GRANT: &str = "urn:ietf:params:oauth:grant-type:uma-ticket";
/// The scope that makes an access token a PAT (FedAuthz §1.3).
pub const UMA_PROTECTION_SCOPE: &str = "uma_protection";

/// At most 64 characters of untrusted text, escaped, for error messages.
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 64;
    let mut out: String = text
        .chars()
        .take(MAX)
        .flat_map(char::escape_debug)
        .collect();
    if text.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}
