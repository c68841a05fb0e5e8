//! Endpoint paths, relative to the issuer. The router and the discovery document both use these
//! constants, so an endpoint cannot be advertised at one path and served at another.

/// UMA discovery (UMA Grant §2).
pub const UMA_CONFIGURATION: &str = crate::discovery::UMA_CONFIGURATION_PATH;
/// RFC 8414 discovery.
pub const OAUTH_METADATA: &str = crate::discovery::OAUTH_METADATA_PATH;
/// OIDC discovery.
pub const OPENID_CONFIGURATION: &str = crate::discovery::OPENID_CONFIGURATION_PATH;
/// Authorization endpoint (RFC 6749 §3.1).
pub const AUTHORIZE: &str = "/authorize";
/// Token endpoint (RFC 6749 §3.2).
pub const TOKEN: &str = "/token";
/// Revocation endpoint (RFC 7009).
pub const REVOKE: &str = "/revoke";
/// Introspection endpoint (RFC 7662, FedAuthz §5).
pub const INTROSPECT: &str = "/introspect";
/// Dynamic client registration (RFC 7591).
pub const REGISTER: &str = "/register";
/// Published signing keys.
pub const JWKS: &str = "/jwks";
/// OIDC userinfo.
pub const USERINFO: &str = "/userinfo";
/// Resource registration (FedAuthz §3), advertised without a trailing slash (D-RREG-SLASH).
pub const RESOURCE_REGISTRATION: &str = "/rreg";
/// Permission endpoint (FedAuthz §4).
pub const PERMISSION: &str = "/perm";
/// Claims interaction endpoint (UMA Grant §3.3.2).
pub const CLAIMS_INTERACTION: &str = "/claims";

#[cfg(test)]
mod tests {
    #[test]
    fn paths_are_canonical_and_distinct() {
        let all = [
            super::UMA_CONFIGURATION,
            super::OAUTH_METADATA,
            super::OPENID_CONFIGURATION,
            super::AUTHORIZE,
            super::TOKEN,
            super::REVOKE,
            super::INTROSPECT,
            super::REGISTER,
            super::JWKS,
            super::USERINFO,
            super::RESOURCE_REGISTRATION,
            super::PERMISSION,
            super::CLAIMS_INTERACTION,
        ];
        let rules = crate::path::PathRules::default();
        for (i, p) in all.iter().enumerate() {
            assert_eq!(crate::path::canonicalize(p, &rules).unwrap().as_str(), *p);
            assert!(!p.ends_with('/'));
            assert!(!all[..i].contains(p), "{p} twice");
        }
    }
}
