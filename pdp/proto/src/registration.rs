//! Dynamic client registration (RFC 7591) with the UMA `claims_redirect_uris` member
//! (UMA Grant §2).
//!
//! Validation: every redirect and claims redirect URI follows RFC 9700 (see
//! `uri::redirect_uri`), a bad one is `invalid_redirect_uri` (D-DCR-ERR); grant types,
//! response types and auth methods umagate does not implement are `invalid_client_metadata`
//! rather than silently dropped, so a client never believes it registered something it did not.
//! Unknown members are ignored (RFC 7591 §2).

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, ErrorResponse};
use crate::scope::Scopes;
use crate::secret::Secret;

/// Most redirect URIs of each kind per client.
pub const MAX_REDIRECT_URIS: usize = 16;

/// The grant types a client may register.
pub const GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "client_credentials",
    "refresh_token",
    crate::UMA_TICKET_GRANT,
];
/// The token endpoint authentication methods a client may register.
pub const AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post", "none"];

/// Client metadata (RFC 7591 §2), as requested and as registered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientMetadata {
    /// OAuth redirect URIs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirect_uris: Vec<String>,
    /// UMA claims redirection URIs (UMA Grant §2, §3.3.2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims_redirect_uris: Vec<String>,
    /// `client_secret_basic` (default), `client_secret_post` or `none` (public client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    /// Grant types the client will use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grant_types: Vec<String>,
    /// Response types the client will use (`code` only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_types: Vec<String>,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// Home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    /// Logo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    /// The scopes the client may request: its `RegisteredScopes` (UMA Grant §3.3.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scopes>,
    /// Contact emails.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
    /// Terms of service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
    /// Privacy policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    /// Software identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_id: Option<String>,
    /// Software version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_version: Option<String>,
}

impl ClientMetadata {
    /// Parses and validates a registration request body.
    pub fn parse(body: &[u8]) -> Result<Self, ErrorResponse> {
        let metadata: Self = crate::json::object_from_slice(body)
            .map_err(|e| ErrorResponse::new(ErrorCode::InvalidClientMetadata, e.to_string()))?;
        metadata.validate()?;
        Ok(metadata)
    }

    /// Checks the metadata against RFC 7591, RFC 9700 and what umagate implements.
    pub fn validate(&self) -> Result<(), ErrorResponse> {
        let bad_uri = |m: String| ErrorResponse::new(ErrorCode::InvalidRedirectUri, m);
        let bad = |m: String| ErrorResponse::new(ErrorCode::InvalidClientMetadata, m);
        for list in [&self.redirect_uris, &self.claims_redirect_uris] {
            if list.len() > MAX_REDIRECT_URIS {
                return Err(bad_uri(format!(
                    "more than {MAX_REDIRECT_URIS} redirect URIs"
                )));
            }
            for uri in list {
                crate::uri::redirect_uri(uri).map_err(bad_uri)?;
            }
        }
        if let Some(method) = &self.token_endpoint_auth_method
            && !AUTH_METHODS.contains(&method.as_str())
        {
            return Err(bad(format!(
                "unsupported auth method `{}`",
                crate::shorten(method)
            )));
        }
        if let Some(g) = self
            .grant_types
            .iter()
            .find(|g| !GRANT_TYPES.contains(&g.as_str()))
        {
            return Err(bad(format!(
                "unsupported grant type `{}`",
                crate::shorten(g)
            )));
        }
        if let Some(r) = self.response_types.iter().find(|r| r.as_str() != "code") {
            return Err(bad(format!(
                "unsupported response type `{}`",
                crate::shorten(r)
            )));
        }
        if self.uses_grant("authorization_code") && self.redirect_uris.is_empty() {
            return Err(bad_uri(
                "authorization_code needs at least one redirect URI".into(),
            ));
        }
        for (name, uri) in [
            ("client_uri", &self.client_uri),
            ("logo_uri", &self.logo_uri),
            ("tos_uri", &self.tos_uri),
            ("policy_uri", &self.policy_uri),
        ] {
            if let Some(uri) = uri {
                crate::uri::web_uri(uri).map_err(|e| bad(format!("`{name}`: {e}")))?;
            }
        }
        Ok(())
    }

    /// Whether the client registered `grant` (RFC 7591 §2: default `authorization_code`).
    pub fn uses_grant(&self, grant: &str) -> bool {
        if self.grant_types.is_empty() {
            grant == "authorization_code"
        } else {
            self.grant_types.iter().any(|g| g == grant)
        }
    }

    /// Whether this is a public client (`token_endpoint_auth_method` = `none`).
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method.as_deref() == Some("none")
    }
}

/// The registration response (RFC 7591 §3.2.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInformation {
    /// The new client's id.
    pub client_id: String,
    /// Its secret (confidential clients only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Secret>,
    /// When the id was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id_issued_at: Option<i64>,
    /// When the secret expires; `0` = never. Required when a secret is issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
    /// The registered metadata.
    #[serde(flatten)]
    pub metadata: ClientMetadata,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7591_example_with_uma_claims_redirect_uris() {
        let body = r#"{
      "redirect_uris":["https://client.example.org/callback","https://client.example.org/callback2"],
      "claims_redirect_uris":["https://client.example.org/claims_cb"],
      "client_name":"My Example Client",
      "token_endpoint_auth_method":"client_secret_basic",
      "grant_types":["authorization_code","urn:ietf:params:oauth:grant-type:uma-ticket"],
      "scope":"read print",
      "logo_uri":"https://client.example.org/logo.png",
      "jwks_uri":"https://client.example.org/my_public_keys.jwks",
      "example_extension_parameter":"example_value"
     }"#;
        let m = ClientMetadata::parse(body.as_bytes()).unwrap();
        assert_eq!(
            m.claims_redirect_uris,
            ["https://client.example.org/claims_cb"]
        );
        assert!(m.uses_grant(crate::UMA_TICKET_GRANT));
        assert!(m.scope.as_ref().unwrap().contains("print"));
        let info = ClientInformation {
            client_id: "s6BhdRkqt3".into(),
            client_secret: Some(Secret::from("cf136dc3c1fc93f31185e5885805d")),
            client_id_issued_at: Some(2893256800),
            client_secret_expires_at: Some(0),
            metadata: m,
        };
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["client_id"], "s6BhdRkqt3");
        assert_eq!(
            json["claims_redirect_uris"][0],
            "https://client.example.org/claims_cb"
        );
        assert_eq!(json["client_secret_expires_at"], 0);
    }

    #[test]
    fn bad_redirect_uris_are_invalid_redirect_uri() {
        for body in [
            r#"{"redirect_uris":["http://client.example.org/cb"]}"#,
            r#"{"redirect_uris":["https://client.example.org/cb#x"]}"#,
            r#"{"claims_redirect_uris":["javascript:alert(1)"],"grant_types":["client_credentials"]}"#,
            r#"{"claims_redirect_uris":["/relative"],"grant_types":["client_credentials"]}"#,
            r#"{"grant_types":["authorization_code"]}"#,
            r#"{}"#,
        ] {
            let e = ClientMetadata::parse(body.as_bytes()).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidRedirectUri, "{body}");
        }
    }

    #[test]
    fn unsupported_metadata_is_invalid_client_metadata() {
        for body in [
            r#"{"grant_types":["password"]}"#,
            r#"{"grant_types":["client_credentials"],"response_types":["token"]}"#,
            r#"{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt"}"#,
            r#"{"grant_types":["client_credentials"],"scope":"a  b"}"#,
            r#"{"grant_types":["client_credentials"],"logo_uri":"data:image/png,xx"}"#,
            r#"{"grant_types":"client_credentials"}"#,
            r#"{"grant_types":["client_credentials"],"grant_types":["refresh_token"]}"#,
            r#"[]"#,
        ] {
            let e = ClientMetadata::parse(body.as_bytes()).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidClientMetadata, "{body}");
        }
    }
}
