//! A UMA test bed shared by the grant and owner API tests: an AS with alice (owner), bob
//! (requesting party), two UMA clients, alice's PAT, and helpers for each step of the flow.

use serde_json::Value;
use umagate_proto::UMA_TICKET_GRANT;
use umagate_proto::claims::{Audience, IdTokenClaims};
use umagate_proto::registration::ClientMetadata;
use umagate_proto::scope::Scopes;

use crate::http::now;
use crate::http::testkit::*;
use crate::secrets;
use crate::store::{BindingRecord, ClientRecord, ShareRecord, TokenKind, TokenRecord, UserRecord};

pub const ALICE_SUB: &str = "u-alice";
pub const BOB_SUB: &str = "u-bob";
/// The UMA client (confidential, pre-registered for `print`).
pub const CLIENT: &str = "uma-app";
pub const CLIENT_SECRET: &str = "uma-app-secret-0123456789abcdef";
/// The UMA client's one claims redirect URI (with a query of its own).
pub const CLIENT_CLAIMS_CB: &str = "https://client.example/claims?from=as";
/// Another UMA client (two claims redirect URIs).
pub const OTHER: &str = "uma-other";
pub const ID_TOKEN: &str = "http://openid.net/specs/openid-connect-core-1_0.html#IDToken";
pub const ALBUM: &str =
    r#"{"name":"Album","type":"album","resource_scopes":["view","print","edit"]}"#;

/// An AS with alice (owner), bob (requesting party), two UMA clients and alice's PAT.
pub struct Uma {
    pub server: TestAs,
    pub pat: String,
}

impl Uma {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// [`Uma::start`] with the configuration changed by `configure`.
    pub async fn start_with(configure: impl FnOnce(&mut crate::config::Config)) -> Self {
        let server = TestAs::start_with(configure).await;
        let store = &server.state.store;
        for (id, claims_redirect_uris) in [
            (CLIENT, vec![CLIENT_CLAIMS_CB.to_string()]),
            (
                OTHER,
                vec![
                    format!("{CLIENT_CLAIMS_CB}/1"),
                    format!("{CLIENT_CLAIMS_CB}/2"),
                ],
            ),
        ] {
            let metadata = ClientMetadata {
                grant_types: vec![UMA_TICKET_GRANT.into()],
                scope: Some(Scopes::parse("print").unwrap()),
                claims_redirect_uris,
                ..ClientMetadata::default()
            };
            let client = ClientRecord {
                client_id: id.into(),
                secret_hash: Some(secrets::hash_generated_secret(CLIENT_SECRET)),
                metadata,
                resource_server: false,
                dynamic: false,
                created_at: 0,
            };
            assert!(store.insert_client(&client).await.unwrap());
        }
        let bob = UserRecord {
            subject: BOB_SUB.into(),
            username: "bob".into(),
            email: Some("bob@example.com".into()),
            email_verified: true,
            password_hash: hashes().1.clone(),
            created_at: 0,
        };
        assert!(store.insert_user(&bob).await.unwrap());
        let pat = secrets::new_handle().unwrap();
        store
            .insert_token(&TokenRecord {
                token_hash: secrets::digest(&pat),
                kind: TokenKind::Access,
                family_id: secrets::new_handle().unwrap(),
                client_id: RS.into(),
                subject: Some(ALICE_SUB.into()),
                scope: "uma_protection".into(),
                issued_at: now(),
                expires_at: now() + 3600,
                used_at: None,
                revoked_at: None,
            })
            .await
            .unwrap();
        Self { server, pat }
    }

    pub async fn call(&self, method: &str, path: &str, body: &str) -> Reply {
        let headers = [
            ("Authorization", format!("Bearer {}", self.pat)),
            ("Content-Type", "application/json".to_string()),
        ];
        send(self.server.addr, method, path, &headers, body.as_bytes()).await
    }

    pub async fn register(&self, body: &str) -> String {
        let reply = self.call("POST", "/rreg", body).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.json()["_id"].as_str().unwrap().to_string()
    }

    /// A ticket from the permission endpoint for `permissions` (JSON).
    pub async fn ticket(&self, permissions: Value) -> String {
        let reply = self.call("POST", "/perm", &permissions.to_string()).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.json()["ticket"].as_str().unwrap().to_string()
    }

    /// `POST /token` with the UMA grant as `client`.
    pub async fn grant(&self, client: &str, fields: &[(&str, &str)]) -> Reply {
        let mut all = vec![("grant_type", UMA_TICKET_GRANT)];
        all.extend_from_slice(fields);
        self.server
            .post_as(client, CLIENT_SECRET, "/token", &all)
            .await
    }

    /// An ID token of this AS for `subject`, issued to `audience`, expiring in `ttl` seconds.
    pub fn id_token(&self, subject: &str, audience: &str, ttl: i64) -> String {
        self.id_token_with(subject, audience, ttl, Default::default())
    }

    /// [`Uma::id_token`] with extra claims.
    pub fn id_token_with(
        &self,
        subject: &str,
        audience: &str,
        ttl: i64,
        other: serde_json::Map<String, Value>,
    ) -> String {
        let claims = IdTokenClaims {
            iss: self.server.issuer.clone(),
            sub: subject.into(),
            aud: Audience::One(audience.into()),
            exp: now() + ttl,
            iat: now(),
            auth_time: Some(now()),
            nonce: None,
            azp: None,
            email: Some("bob@example.com".into()),
            email_verified: Some(true),
            name: None,
            preferred_username: Some("bob".into()),
            other: other.into_iter().collect(),
        };
        self.server
            .state
            .keys
            .signer()
            .sign("JWT", &claims)
            .unwrap()
    }

    pub async fn share(&self, resource: &str, scopes: &[&str], expires_at: Option<i64>) {
        let share = ShareRecord {
            id: secrets::new_handle().unwrap(),
            owner: ALICE_SUB.into(),
            resource_id: Some(resource.into()),
            resource_type: None,
            party_subject: Some(BOB_SUB.into()),
            party_email: None,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            expires_at,
            created_at: now(),
            revoked_at: None,
        };
        assert!(
            self.server
                .state
                .store
                .insert_share(&share, 100)
                .await
                .unwrap()
        );
    }

    /// Binds one of alice's targets (`resource`, `type` or `all`) to a policy version, or to
    /// "ask me" with `None`.
    pub async fn bind_for_alice(&self, kind: &str, target: &str, policy: Option<(String, i64)>) {
        let binding = BindingRecord {
            owner: ALICE_SUB.into(),
            target_kind: kind.into(),
            target: target.into(),
            policy,
            created_at: now(),
        };
        self.server.state.store.bind(&binding).await.unwrap();
    }

    /// The UMA grant for `ticket` with bob's ID token pushed.
    pub async fn grant_as_bob(&self, ticket: &str) -> Reply {
        let id_token = self.id_token(BOB_SUB, CLIENT, 300);
        self.grant(
            CLIENT,
            &[
                ("ticket", ticket),
                ("claim_token", &id_token),
                ("claim_token_format", ID_TOKEN),
            ],
        )
        .await
    }

    /// A call to the owner API with `token`; a non-empty body is sent as JSON.
    pub async fn owner(&self, token: &str, method: &str, path: &str, body: &str) -> Reply {
        let mut headers = vec![("Authorization", format!("Bearer {token}"))];
        if !body.is_empty() {
            headers.push(("Content-Type", "application/json".to_string()));
        }
        send(self.server.addr, method, path, &headers, body.as_bytes()).await
    }

    pub async fn introspect(&self, token: &str) -> Value {
        let headers = [
            ("Authorization", format!("Bearer {}", self.pat)),
            (
                "Content-Type",
                "application/x-www-form-urlencoded".to_string(),
            ),
        ];
        let body = form(&[("token", token)]);
        let reply = send(
            self.server.addr,
            "POST",
            "/introspect",
            &headers,
            body.as_bytes(),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()
    }
}

/// An access token of `subject` (client `app`) with `scope`.
pub async fn user_token(server: &TestAs, subject: &str, scope: &str) -> String {
    let token = secrets::new_handle().unwrap();
    server
        .state
        .store
        .insert_token(&TokenRecord {
            token_hash: secrets::digest(&token),
            kind: TokenKind::Access,
            family_id: secrets::new_handle().unwrap(),
            client_id: APP.into(),
            subject: Some(subject.into()),
            scope: scope.into(),
            issued_at: now(),
            expires_at: now() + 3600,
            used_at: None,
            revoked_at: None,
        })
        .await
        .unwrap();
    token
}
