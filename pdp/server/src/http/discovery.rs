//! Discovery documents (RFC 8414, UMA Grant §2, OIDC Discovery) and the published keys.
//!
//! The three well-known documents are the same metadata: every endpoint the router serves, built
//! from the same path constants, and nothing it does not serve.

use axum::extract::State as Extract;
use axum::response::Response;
use http::StatusCode;
use umagate_proto::discovery::ServerMetadata;
use umagate_proto::owner::OWNER_SCOPE;
use umagate_proto::{UMA_PROTECTION_SCOPE, UMA_TICKET_GRANT, paths};

use super::State;
use super::error::json;
use crate::config::RegistrationMode;

/// The metadata document.
pub fn metadata_for(state: &State) -> ServerMetadata {
    let issuer = state.issuer.clone();
    let at = |path: &str| Some(format!("{issuer}{path}"));
    let list = |items: &[&str]| Some(items.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    ServerMetadata {
        authorization_endpoint: at(paths::AUTHORIZE),
        token_endpoint: at(paths::TOKEN),
        userinfo_endpoint: at(paths::USERINFO),
        jwks_uri: at(paths::JWKS),
        registration_endpoint: (state.config.registration.mode != RegistrationMode::Closed)
            .then(|| format!("{issuer}{}", paths::REGISTER)),
        scopes_supported: list(&[
            "openid",
            "email",
            "profile",
            UMA_PROTECTION_SCOPE,
            OWNER_SCOPE,
        ]),
        response_types_supported: vec!["code".into()],
        response_modes_supported: list(&["query"]),
        grant_types_supported: list(&[
            "authorization_code",
            "client_credentials",
            "refresh_token",
            UMA_TICKET_GRANT,
        ]),
        claims_interaction_endpoint: at(paths::CLAIMS_INTERACTION),
        token_endpoint_auth_methods_supported: list(&[
            "client_secret_basic",
            "client_secret_post",
            "none",
        ]),
        revocation_endpoint: at(paths::REVOKE),
        revocation_endpoint_auth_methods_supported: list(&[
            "client_secret_basic",
            "client_secret_post",
            "none",
        ]),
        introspection_endpoint: at(paths::INTROSPECT),
        token_introspection_endpoint: at(paths::INTROSPECT),
        introspection_endpoint_auth_methods_supported: list(&[
            "client_secret_basic",
            "client_secret_post",
        ]),
        code_challenge_methods_supported: list(&["S256"]),
        permission_endpoint: at(paths::PERMISSION),
        resource_registration_endpoint: at(paths::RESOURCE_REGISTRATION),
        authorization_response_iss_parameter_supported: Some(true),
        subject_types_supported: list(&["public"]),
        id_token_signing_alg_values_supported: list(&[umagate_proto::jws::ES256]),
        claims_supported: list(&[
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "email",
            "email_verified",
            "preferred_username",
        ]),
        issuer,
        ..ServerMetadata::default()
    }
}

/// `GET /.well-known/*`.
pub async fn metadata(Extract(state): Extract<State>) -> Response {
    json(
        StatusCode::OK,
        serde_json::to_string(&metadata_for(&state)).unwrap_or_default(),
    )
}

/// `GET /jwks`.
pub async fn jwks(Extract(state): Extract<State>) -> Response {
    json(
        StatusCode::OK,
        serde_json::to_string(&state.keys.jwks()).unwrap_or_default(),
    )
}
