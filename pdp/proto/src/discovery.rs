//! Authorization server metadata: RFC 8414, the UMA additions (UMA Grant §2, FedAuthz §2) and
//! the OpenID Connect Discovery fields that common clients require.
//!
//! One struct serves `/.well-known/uma2-configuration`, `/.well-known/oauth-authorization-server`
//! and `/.well-known/openid-configuration`. The UMA document is found by appending the
//! well-known path to the issuer (UMA Grant §2, D-WK), see [`uma_configuration_url`].
//! `token_introspection_endpoint` repeats `introspection_endpoint` for the Keycloak Java client.

use serde::{Deserialize, Serialize};

use crate::json::JsonError;

/// The UMA discovery path, appended to the issuer (UMA Grant §2).
pub const UMA_CONFIGURATION_PATH: &str = "/.well-known/uma2-configuration";
/// The RFC 8414 discovery path.
pub const OAUTH_METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
/// The OIDC discovery path.
pub const OPENID_CONFIGURATION_PATH: &str = "/.well-known/openid-configuration";

/// Where the UMA discovery document of `issuer` lives (UMA Grant §2: concatenation).
pub fn uma_configuration_url(issuer: &str) -> String {
    format!("{}{UMA_CONFIGURATION_PATH}", issuer.trim_end_matches('/'))
}

/// Checks an issuer identifier (RFC 8414 §2): `https` (or `http` on a loopback address, for
/// development), no query, fragment, userinfo or trailing slash.
pub fn check_issuer(issuer: &str) -> Result<(), String> {
    crate::uri::issuer(issuer).map(drop)
}

macro_rules! metadata {
    ($(#[$meta:meta])* pub struct $name:ident {
        required { $($(#[$rdoc:meta])* $req:ident: $rty:ty,)* }
        optional { $($(#[$odoc:meta])* $opt:ident: $oty:ty,)* }
    }) => {
        $(#[$meta])*
        pub struct $name {
            $($(#[$rdoc])* pub $req: $rty,)*
            $($(#[$odoc])* #[serde(default, skip_serializing_if = "Option::is_none")] pub $opt: Option<$oty>,)*
        }
    };
}

metadata! {
    /// Discovery metadata. Unknown members are ignored when parsing (RFC 8414 §3.2).
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ServerMetadata {
        required {
            /// The issuer identifier; `https`, no query or fragment (RFC 8414 §2).
            issuer: String,
            /// RFC 8414 §2: REQUIRED.
            response_types_supported: Vec<String>,
        }
        optional {
            /// RFC 8414 §2.
            authorization_endpoint: String,
            /// RFC 8414 §2; the UMA grant uses it.
            token_endpoint: String,
            /// RFC 8414 §2; where RPT and ID token signing keys are published.
            jwks_uri: String,
            /// RFC 7591 endpoint; accepts `claims_redirect_uris` (UMA Grant §2).
            registration_endpoint: String,
            /// RFC 8414 §2.
            scopes_supported: Vec<String>,
            /// RFC 8414 §2.
            response_modes_supported: Vec<String>,
            /// RFC 8414 §2; lists the UMA grant type.
            grant_types_supported: Vec<String>,
            /// RFC 8414 §2.
            token_endpoint_auth_methods_supported: Vec<String>,
            /// RFC 8414 §2.
            token_endpoint_auth_signing_alg_values_supported: Vec<String>,
            /// RFC 8414 §2.
            service_documentation: String,
            /// RFC 8414 §2.
            ui_locales_supported: Vec<String>,
            /// RFC 8414 §2.
            op_policy_uri: String,
            /// RFC 8414 §2.
            op_tos_uri: String,
            /// RFC 7009 endpoint.
            revocation_endpoint: String,
            /// RFC 8414 §2.
            revocation_endpoint_auth_methods_supported: Vec<String>,
            /// RFC 7662 endpoint, with the UMA extension (FedAuthz §5).
            introspection_endpoint: String,
            /// The same URI under the name the Keycloak Java client reads.
            token_introspection_endpoint: String,
            /// RFC 8414 §2; may include `Bearer` (the PAT).
            introspection_endpoint_auth_methods_supported: Vec<String>,
            /// RFC 8414 §2; umagate publishes `["S256"]`.
            code_challenge_methods_supported: Vec<String>,
            /// RFC 9207 §3.
            authorization_response_iss_parameter_supported: bool,
            /// OIDC Discovery.
            userinfo_endpoint: String,
            /// OIDC Discovery.
            subject_types_supported: Vec<String>,
            /// OIDC Discovery.
            id_token_signing_alg_values_supported: Vec<String>,
            /// OIDC Discovery.
            claims_supported: Vec<String>,
            /// UMA Grant §2: the static claims interaction endpoint.
            claims_interaction_endpoint: String,
            /// UMA Grant §2: supported UMA profiles and extensions.
            uma_profiles_supported: Vec<String>,
            /// FedAuthz §2: REQUIRED in a UMA document.
            permission_endpoint: String,
            /// FedAuthz §2: REQUIRED in a UMA document; no trailing slash (D-RREG-SLASH).
            resource_registration_endpoint: String,
        }
    }
}

impl ServerMetadata {
    /// Parses a metadata document and checks that its issuer is well formed and equals
    /// `expected_issuer` (RFC 8414 §3.3: otherwise the data must not be used).
    pub fn parse(body: &[u8], expected_issuer: &str) -> Result<Self, JsonError> {
        let metadata: Self = crate::json::object_from_slice(body)?;
        crate::uri::issuer(&metadata.issuer).map_err(JsonError::new)?;
        if metadata.issuer != expected_issuer {
            return Err(JsonError::new(
                "the metadata's issuer differs from the expected issuer",
            ));
        }
        Ok(metadata)
    }

    /// Checks the members a UMA authorization server must publish (FedAuthz §2).
    pub fn check_uma(&self) -> Result<(), JsonError> {
        let missing = [
            ("token_endpoint", self.token_endpoint.is_none()),
            ("permission_endpoint", self.permission_endpoint.is_none()),
            (
                "resource_registration_endpoint",
                self.resource_registration_endpoint.is_none(),
            ),
        ];
        match missing.iter().find(|(_, absent)| *absent) {
            Some((name, _)) => Err(JsonError::new(format!("UMA metadata lacks `{name}`"))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYCLOAK_SHAPED: &str = r#"{
        "issuer":"https://as.example.com/realms/r1",
        "authorization_endpoint":"https://as.example.com/realms/r1/authorize",
        "token_endpoint":"https://as.example.com/realms/r1/token",
        "jwks_uri":"https://as.example.com/realms/r1/jwks",
        "response_types_supported":["code"],
        "grant_types_supported":["authorization_code","urn:ietf:params:oauth:grant-type:uma-ticket"],
        "introspection_endpoint":"https://as.example.com/realms/r1/introspect",
        "permission_endpoint":"https://as.example.com/realms/r1/perm",
        "resource_registration_endpoint":"https://as.example.com/realms/r1/rreg",
        "policy_endpoint":"https://as.example.com/realms/r1/uma-policy",
        "end_session_endpoint":"https://as.example.com/realms/r1/logout"
    }"#;

    #[test]
    fn uma_document_parses_and_ignores_vendor_members() {
        let m = ServerMetadata::parse(
            KEYCLOAK_SHAPED.as_bytes(),
            "https://as.example.com/realms/r1",
        )
        .unwrap();
        m.check_uma().unwrap();
        assert_eq!(
            m.permission_endpoint.as_deref(),
            Some("https://as.example.com/realms/r1/perm")
        );
    }

    #[test]
    fn issuer_must_match_and_be_well_formed() {
        assert!(
            ServerMetadata::parse(KEYCLOAK_SHAPED.as_bytes(), "https://evil.example.com").is_err()
        );
        let bad = r#"{"issuer":"https://as.example.com/?x","response_types_supported":["code"]}"#;
        assert!(ServerMetadata::parse(bad.as_bytes(), "https://as.example.com/?x").is_err());
    }

    #[test]
    fn uma_members_are_required_for_uma() {
        let m = ServerMetadata::parse(
            br#"{"issuer":"https://as.example.com","response_types_supported":["code"],"token_endpoint":"https://as.example.com/token"}"#,
            "https://as.example.com",
        )
        .unwrap();
        assert!(
            m.check_uma()
                .unwrap_err()
                .to_string()
                .contains("permission_endpoint")
        );
        assert!(
            ServerMetadata::parse(
                br#"{"issuer":"https://as.example.com"}"#,
                "https://as.example.com"
            )
            .is_err()
        );
    }

    #[test]
    fn well_known_url_is_appended() {
        assert_eq!(
            uma_configuration_url("https://as.example.com/realms/r1"),
            "https://as.example.com/realms/r1/.well-known/uma2-configuration"
        );
        assert_eq!(
            uma_configuration_url("https://as.example.com/"),
            "https://as.example.com/.well-known/uma2-configuration"
        );
    }

    #[test]
    fn serializes_only_present_members() {
        let m = ServerMetadata {
            issuer: "https://as.example.com".into(),
            response_types_supported: vec!["code".into()],
            code_challenge_methods_supported: Some(vec!["S256".into()]),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"issuer":"https://as.example.com","response_types_supported":["code"],"code_challenge_methods_supported":["S256"]}"#
        );
    }
}
