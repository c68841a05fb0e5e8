//! Dynamic client registration (RFC 7591 §3, UMA Grant §2), as `registration.mode` allows:
//!
//! - `closed`: `403 access_denied` (and discovery omits `registration_endpoint`);
//! - `token`: `Authorization: Bearer <initial access token>` whose SHA-256 is one of
//!   `registration.initial_access_token_sha256` (missing → `401` with a bare challenge, wrong →
//!   `401 invalid_token`);
//! - `open`: anyone.
//!
//! The body is `application/json` client metadata, checked by [`ClientMetadata::parse`]
//! (`invalid_redirect_uri` for bad redirect or claims redirect URIs, D-DCR-ERR;
//! `invalid_client_metadata` for the rest). The AS picks the `client_id` and, for a confidential
//! client, a secret that is returned in this response only (`client_secret_expires_at` = 0,
//! never). Registration never makes a resource server, and refuses `uma_protection` in `scope`:
//! a PAT is for the resource servers an administrator trusts.

use axum::body::Bytes;
use axum::extract::State as Extract;
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use umagate_proto::registration::{ClientInformation, ClientMetadata};
use umagate_proto::{ErrorCode, UMA_PROTECTION_SCOPE};

use super::admin::{auth, blocking, is_json};
use super::error::{ApiError, json};
use super::{State, now};
use crate::config::RegistrationMode;
use crate::store::ClientRecord;

/// `POST /register`.
#[tracing::instrument(name = "pdp.register", skip_all)]
pub async fn register(
    Extract(state): Extract<State>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let now = now();
    let registration = &state.config.registration;
    match registration.mode {
        RegistrationMode::Closed => {
            return Err(ApiError::new(
                ErrorCode::AccessDenied,
                "dynamic registration is disabled",
            ));
        }
        RegistrationMode::Token => {
            auth::require(&headers, &registration.initial_access_token_sha256)?
        }
        RegistrationMode::Open => {}
    }
    if !is_json(&headers) {
        return Err(ApiError::new(
            ErrorCode::InvalidClientMetadata,
            "Content-Type must be application/json",
        ));
    }
    let metadata = ClientMetadata::parse(&body)?;
    if metadata
        .scope
        .as_ref()
        .is_some_and(|s| s.contains(UMA_PROTECTION_SCOPE))
    {
        return Err(ApiError::new(
            ErrorCode::InvalidClientMetadata,
            "scope `uma_protection` is only for resource servers an administrator registers",
        ));
    }
    let (mut client, secret) =
        blocking(move || ClientRecord::create(None, metadata, false, now)).await??;
    client.dynamic = true;
    if !state.store.insert_client(&client).await? {
        return Err(ApiError::Internal(format!(
            "generated client id `{}` exists",
            client.client_id
        )));
    }
    tracing::info!(
        target: "audit",
        client_id = %client.client_id,
        public = client.secret_hash.is_none(),
        grant_types = ?client.metadata.grant_types,
        "client registered dynamically"
    );
    let information = ClientInformation {
        client_id: client.client_id,
        client_secret_expires_at: secret.as_ref().map(|_| 0),
        client_secret: secret,
        client_id_issued_at: Some(now),
        metadata: client.metadata,
    };
    let body =
        serde_json::to_string(&information).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(json(StatusCode::CREATED, body))
}

#[cfg(test)]
mod tests {
    use crate::config::RegistrationMode;
    use crate::http::testkit::{ConfiguredAs as TestAs, Reply as TestResponse};
    use crate::secrets::digest;

    const IAT: &str = "initial-access-token";
    const CC: &str = r#"{"grant_types":["client_credentials"],"scope":"read write"}"#;

    async fn as_in(mode: RegistrationMode) -> TestAs {
        TestAs::start(|c| {
            c.registration.mode = mode;
            c.registration.initial_access_token_sha256 =
                vec![digest("other"), digest(IAT).to_uppercase()];
        })
        .await
    }

    async fn register(t: &TestAs, auth: Option<&str>, body: &str) -> TestResponse {
        let auth = auth.map(|a| format!("Bearer {a}"));
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(a) = &auth {
            headers.push(("Authorization", a));
        }
        t.request("POST", "/register", &headers, body).await
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn closed_mode_refuses_everyone() {
        let t = as_in(RegistrationMode::Closed).await;
        let r = register(&t, Some(IAT), CC).await;
        assert_eq!((r.status, r.error().as_str()), (403, "access_denied"));
        assert!(t.state.store.clients().await.unwrap().is_empty());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn token_mode_needs_an_initial_access_token() {
        let t = as_in(RegistrationMode::Token).await;
        let r = register(&t, None, CC).await;
        assert_eq!(r.status, 401);
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer realm=\"umagate\"")
        );
        let r = register(&t, Some("wrong"), CC).await;
        assert_eq!((r.status, r.error().as_str()), (401, "invalid_token"));
        assert!(t.state.store.clients().await.unwrap().is_empty());
        let r = register(&t, Some(IAT), CC).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn open_mode_registers_with_defaults_and_claims_redirect_uris() {
        let t = as_in(RegistrationMode::Open).await;
        let body = r#"{"redirect_uris":["https://client.example.org/cb"],
            "claims_redirect_uris":["https://client.example.org/claims_cb"],
            "client_name":"Example","resource_server":true,"client_id":"mine","extension":"ignored"}"#;
        let r = register(&t, None, body).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let info = r.json();
        let id = info["client_id"].as_str().unwrap();
        assert!(id.starts_with("c-") && id.len() == 24, "{id}");
        assert_eq!(
            info["claims_redirect_uris"],
            serde_json::json!(["https://client.example.org/claims_cb"])
        );
        assert_eq!(
            info["grant_types"],
            serde_json::json!(["authorization_code"])
        );
        assert_eq!(info["token_endpoint_auth_method"], "client_secret_basic");
        assert_eq!(info["client_secret_expires_at"], 0);
        assert!(info["client_id_issued_at"].as_i64().unwrap() > 0);
        assert!(info.get("resource_server").is_none() && info.get("extension").is_none());
        let stored = t.state.store.client(id).await.unwrap().unwrap();
        assert!(!stored.resource_server);
        assert!(
            stored.dynamic,
            "R4: self-registered clients are not trusted"
        );
        let secret = info["client_secret"].as_str().unwrap();
        assert!(crate::secrets::verify_client_secret(
            secret,
            stored.secret_hash.as_deref().unwrap()
        ));
        assert!(!stored.secret_hash.unwrap().contains(secret));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn public_clients_get_no_secret_and_no_client_credentials() {
        let t = as_in(RegistrationMode::Open).await;
        let body =
            r#"{"redirect_uris":["https://app.example/cb"],"token_endpoint_auth_method":"none"}"#;
        let r = register(&t, None, body).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert!(
            r.json().get("client_secret").is_none()
                && r.json().get("client_secret_expires_at").is_none()
        );
        let body = r#"{"grant_types":["client_credentials"],"token_endpoint_auth_method":"none"}"#;
        let r = register(&t, None, body).await;
        assert_eq!(
            (r.status, r.error().as_str()),
            (400, "invalid_client_metadata")
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn bad_metadata_is_refused_with_its_rfc_7591_code() {
        let t = as_in(RegistrationMode::Open).await;
        for (body, code) in [
            (
                r#"{"redirect_uris":["http://client.example.org/cb"]}"#,
                "invalid_redirect_uri",
            ),
            (
                r#"{"redirect_uris":["https://client.example.org/cb#frag"]}"#,
                "invalid_redirect_uri",
            ),
            (
                r#"{"grant_types":["client_credentials"],"claims_redirect_uris":["javascript:alert(1)"]}"#,
                "invalid_redirect_uri",
            ),
            (r#"{}"#, "invalid_redirect_uri"),
            (r#"{"grant_types":["password"]}"#, "invalid_client_metadata"),
            (
                r#"{"grant_types":["client_credentials"],"scope":"uma_protection"}"#,
                "invalid_client_metadata",
            ),
            (
                r#"{"grant_types":["client_credentials"],"grant_types":["client_credentials"]}"#,
                "invalid_client_metadata",
            ),
            ("not json", "invalid_client_metadata"),
        ] {
            let r = register(&t, None, body).await;
            assert_eq!((r.status, r.error().as_str()), (400, code), "{body}");
        }
        let r = t
            .request(
                "POST",
                "/register",
                &[("Content-Type", "application/x-www-form-urlencoded")],
                CC,
            )
            .await;
        assert_eq!(
            (r.status, r.error().as_str()),
            (400, "invalid_client_metadata")
        );
        assert!(t.state.store.clients().await.unwrap().is_empty());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_secret_works_at_the_token_endpoint_for_registered_grants_only() {
        use base64::Engine as _;
        let t = as_in(RegistrationMode::Open).await;
        let token = |id: String, secret: String| {
            let basic = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
            );
            let t = &t;
            async move {
                let headers = [
                    ("Authorization", basic.as_str()),
                    ("Content-Type", "application/x-www-form-urlencoded"),
                ];
                t.request("POST", "/token", &headers, "grant_type=client_credentials")
                    .await
            }
        };
        let info = register(&t, None, CC).await.json();
        let (id, secret) = (
            info["client_id"].as_str().unwrap(),
            info["client_secret"].as_str().unwrap(),
        );
        let r = token(id.into(), secret.into()).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["scope"], "read write");
        let r = token(id.into(), "wrong".into()).await;
        assert_eq!((r.status, r.error().as_str()), (401, "invalid_client"));

        let info = register(&t, None, r#"{"redirect_uris":["https://app.example/cb"]}"#)
            .await
            .json();
        let (id, secret) = (
            info["client_id"].as_str().unwrap(),
            info["client_secret"].as_str().unwrap(),
        );
        let r = token(id.into(), secret.into()).await;
        assert_eq!((r.status, r.error().as_str()), (400, "unauthorized_client"));
    }
}
