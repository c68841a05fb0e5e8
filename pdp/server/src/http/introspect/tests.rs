//! Introspection and revocation of RPTs over a real router, each test named after the statement
//! it checks (uma-spec.md §1.2, §3.5, §4.9, §8). RPTs are minted with `rpt::mint` directly.

use serde_json::{Value, json};
use umagate_proto::claims::{Audience, RptClaims};
use umagate_proto::jwk::Jwks;
use umagate_proto::jws::{self, SigningKey};
use umagate_proto::paths;
use umagate_proto::permission::Permission;
use umagate_proto::registration::ClientMetadata;

use crate::http::now;
use crate::http::testkit::*;
use crate::rpt::{self, Minted};
use crate::secrets;
use crate::store::{ClientRecord, TokenKind, TokenRecord};

const ALICE_SUB: &str = "u-alice";
const BOB_SUB: &str = "u-bob";
/// A second trusted resource server.
const RS2: &str = "rs2";
const PHOTO: &str = r#"{"name":"Photo album","resource_scopes":["view","print"]}"#;
const DOC: &str = r#"{"name":"Document","resource_scopes":["read"]}"#;

/// Stores an access token for `client` / `subject` with `scope` and returns it.
async fn issue(server: &TestAs, client: &str, subject: Option<&str>, scope: &str) -> String {
    let token = secrets::new_handle().unwrap();
    let now = now();
    let record = TokenRecord {
        token_hash: secrets::digest(&token),
        kind: TokenKind::Access,
        family_id: secrets::new_handle().unwrap(),
        client_id: client.into(),
        subject: subject.map(str::to_string),
        scope: scope.into(),
        issued_at: now - 10,
        expires_at: now + 3600,
        used_at: None,
        revoked_at: None,
    };
    server.state.store.insert_token(&record).await.unwrap();
    token
}

/// A PAT of `rs` for `owner`.
async fn pat(server: &TestAs, rs: &str, owner: Option<&str>) -> String {
    issue(server, rs, owner, "uma_protection").await
}

/// Registers a second trusted resource server.
async fn add_rs2(server: &TestAs) {
    let rs2 = ClientRecord {
        client_id: RS2.into(),
        secret_hash: Some(secrets::hash_generated_secret(RS_SECRET)),
        metadata: ClientMetadata {
            grant_types: vec!["client_credentials".into()],
            ..ClientMetadata::default()
        },
        resource_server: true,
        dynamic: false,
        created_at: 0,
    };
    assert!(server.state.store.insert_client(&rs2).await.unwrap());
}

/// Registers `body` under `pat` and returns its `_id`.
async fn register(server: &TestAs, pat: &str, body: &str) -> String {
    let headers = [
        ("Authorization", format!("Bearer {pat}")),
        ("Content-Type", "application/json".to_string()),
    ];
    let reply = send(server.addr, "POST", "/rreg", &headers, body.as_bytes()).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()["_id"].as_str().unwrap().to_string()
}

fn permission(resource_id: &str, scopes: &[&str]) -> Permission {
    serde_json::from_value(json!({"resource_id": resource_id, "resource_scopes": scopes})).unwrap()
}

/// What an RPT of the web client for bob at RS, for alice's resources, is minted with.
fn minted(permissions: Vec<Permission>) -> Minted {
    Minted {
        client_id: APP.into(),
        subject: BOB_SUB.into(),
        rs_client_id: RS.into(),
        owner: ALICE_SUB.into(),
        permissions,
        lifetime_secs: 300,
    }
}

async fn mint(server: &TestAs, minted: Minted) -> String {
    rpt::mint(&server.state, minted, now()).await.unwrap().0
}

/// `POST /introspect` with a PAT.
async fn introspect_with_pat(server: &TestAs, pat: &str, token: &str) -> Reply {
    let headers = [
        ("Authorization", format!("Bearer {pat}")),
        (
            "Content-Type",
            "application/x-www-form-urlencoded".to_string(),
        ),
    ];
    let body = form(&[("token", token)]);
    send(
        server.addr,
        "POST",
        "/introspect",
        &headers,
        body.as_bytes(),
    )
    .await
}

/// The JSON of a 200 introspection response.
fn answer(reply: &Reply) -> Value {
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    reply.json()
}

fn inactive() -> Value {
    json!({"active": false})
}

#[tokio::test]
async fn u11_introspection_of_an_rpt_lists_permissions_and_no_scope() {
    let server = TestAs::start().await;
    let alice = pat(&server, RS, Some(ALICE_SUB)).await;
    let photo = register(&server, &alice, PHOTO).await;
    let (token, record) = rpt::mint(
        &server.state,
        minted(vec![permission(&photo, &["view"])]),
        now(),
    )
    .await
    .unwrap();
    let body = answer(&introspect_with_pat(&server, &alice, &token).await);
    assert_eq!(body["active"], true);
    assert!(body.get("scope").is_none(), "{body}");
    assert_eq!(
        body["permissions"],
        json!([{"resource_id": photo, "resource_scopes": ["view"]}])
    );
    assert_eq!(body["client_id"], APP);
    assert_eq!(body["sub"], BOB_SUB);
    assert_eq!(body["aud"], RS);
    assert_eq!(body["iss"], server.issuer.as_str());
    assert_eq!(body["jti"], record.jti.as_str());
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["iat"], record.issued_at);
    assert_eq!(body["exp"], record.expires_at);
    // The same answer to the resource server authenticating with client credentials.
    let reply = server
        .post_as(RS, RS_SECRET, "/introspect", &[("token", &token)])
        .await;
    assert_eq!(answer(&reply), body);
}

#[tokio::test]
async fn d_introspect_scope_other_rs_sees_inactive() {
    let server = TestAs::start().await;
    add_rs2(&server).await;
    server.add_user("bob").await;
    let alice = pat(&server, RS, Some(ALICE_SUB)).await;
    let photo = register(&server, &alice, PHOTO).await;
    let token = mint(&server, minted(vec![permission(&photo, &["view"])])).await;
    // Another resource server, by PAT or by client credentials.
    let rs2_alice = pat(&server, RS2, Some(ALICE_SUB)).await;
    let body = answer(&introspect_with_pat(&server, &rs2_alice, &token).await);
    assert_eq!(body, inactive());
    let reply = server
        .post_as(RS2, RS_SECRET, "/introspect", &[("token", &token)])
        .await;
    assert_eq!(answer(&reply), inactive());
    // The right resource server under another owner's PAT.
    let rs_bob = pat(&server, RS, Some(BOB_SUB)).await;
    assert_eq!(
        answer(&introspect_with_pat(&server, &rs_bob, &token).await),
        inactive()
    );
    // A PAT introspecting a token that is not an RPT (here, a PAT) sees it inactive; plain
    // introspection with client credentials still reports it.
    assert_eq!(
        answer(&introspect_with_pat(&server, &alice, &rs_bob).await),
        inactive()
    );
    let reply = server
        .post_as(RS, RS_SECRET, "/introspect", &[("token", &rs_bob)])
        .await;
    let plain = answer(&reply);
    assert_eq!(plain["active"], true);
    assert_eq!(plain["scope"], "uma_protection");
    assert!(plain.get("permissions").is_none());
    // And the owner's PAT still sees the RPT.
    assert_eq!(
        answer(&introspect_with_pat(&server, &alice, &token).await)["active"],
        true
    );
}

#[tokio::test]
async fn d_resource_delete_drops_permissions() {
    let server = TestAs::start().await;
    let alice = pat(&server, RS, Some(ALICE_SUB)).await;
    let photo = register(&server, &alice, PHOTO).await;
    let doc = register(&server, &alice, DOC).await;
    let token = mint(
        &server,
        minted(vec![
            permission(&photo, &["view", "print"]),
            permission(&doc, &["read"]),
        ]),
    )
    .await;
    let body = answer(&introspect_with_pat(&server, &alice, &token).await);
    assert_eq!(body["permissions"].as_array().unwrap().len(), 2);
    let headers = [("Authorization", format!("Bearer {alice}"))];
    let reply = send(
        server.addr,
        "DELETE",
        &format!("/rreg/{photo}"),
        &headers,
        b"",
    )
    .await;
    assert_eq!(reply.status, 204, "{reply:?}");
    let body = answer(&introspect_with_pat(&server, &alice, &token).await);
    assert_eq!(
        body["permissions"],
        json!([{"resource_id": doc, "resource_scopes": ["read"]}])
    );
    let reply = send(
        server.addr,
        "DELETE",
        &format!("/rreg/{doc}"),
        &headers,
        b"",
    )
    .await;
    assert_eq!(reply.status, 204, "{reply:?}");
    assert_eq!(
        answer(&introspect_with_pat(&server, &alice, &token).await),
        inactive()
    );
    // An RPT naming a resource the owner never registered is inactive from the start.
    let token = mint(&server, minted(vec![permission("no-such-id", &["view"])])).await;
    assert_eq!(
        answer(&introspect_with_pat(&server, &alice, &token).await),
        inactive()
    );
}

#[tokio::test]
async fn revoked_and_expired_rpts_are_inactive() {
    let server = TestAs::start().await;
    let alice = pat(&server, RS, Some(ALICE_SUB)).await;
    let photo = register(&server, &alice, PHOTO).await;
    let perms = || vec![permission(&photo, &["view"])];
    // Revoked.
    let (token, record) = rpt::mint(&server.state, minted(perms()), now())
        .await
        .unwrap();
    assert!(
        server
            .state
            .store
            .revoke_rpt(&record.jti, APP, now())
            .await
            .unwrap()
    );
    assert_eq!(
        answer(&introspect_with_pat(&server, &alice, &token).await),
        inactive()
    );
    // Expired: issued ten minutes ago for five.
    let (token, _) = rpt::mint(&server.state, minted(perms()), now() - 600)
        .await
        .unwrap();
    assert_eq!(
        answer(&introspect_with_pat(&server, &alice, &token).await),
        inactive()
    );
    assert!(
        rpt::verify(&server.state, &token, now())
            .await
            .unwrap()
            .is_none()
    );
    // A permission past its own `exp` is dropped; with none left the RPT is inactive.
    let mut expired = permission(&photo, &["print"]);
    expired.exp = Some(now() - 1);
    let token = mint(
        &server,
        minted(vec![expired.clone(), permission(&photo, &["view"])]),
    )
    .await;
    let body = answer(&introspect_with_pat(&server, &alice, &token).await);
    assert_eq!(
        body["permissions"],
        json!([{"resource_id": photo, "resource_scopes": ["view"]}])
    );
    let token = mint(&server, minted(vec![expired])).await;
    assert_eq!(
        answer(&introspect_with_pat(&server, &alice, &token).await),
        inactive()
    );
}

#[tokio::test]
async fn rpt_signature_and_claims_verify_against_jwks() {
    let server = TestAs::start().await;
    let now = now();
    let (token, record) = rpt::mint(
        &server.state,
        minted(vec![permission("r1", &["view"])]),
        now,
    )
    .await
    .unwrap();
    // The header: ES256, the signer's kid, typ JWT.
    let header: Value = {
        use base64::Engine as _;
        let part = token.split('.').next().unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    let kid = server.state.keys.signer().kid().to_string();
    assert_eq!(header, json!({"alg": "ES256", "kid": kid, "typ": "JWT"}));
    // The claims verify against the published JWKS.
    let reply = send(server.addr, "GET", paths::JWKS, &[], b"").await;
    assert_eq!(reply.status, 200);
    let jwks: Jwks = serde_json::from_str(&reply.body).unwrap();
    let claims: RptClaims = jws::verify(&token, &jwks).unwrap();
    assert_eq!(claims.iss, server.issuer);
    assert_eq!(claims.sub, BOB_SUB);
    assert_eq!(claims.aud, Audience::One(RS.into()));
    assert_eq!(claims.azp, APP);
    assert_eq!((claims.iat, claims.exp, claims.nbf), (now, now + 300, None));
    assert!(claims.jti.len() >= 22, "{}", claims.jti);
    assert_eq!(claims.permissions, vec![permission("r1", &["view"])]);
    // The record keeps the jti and the bindings, never the token.
    let stored = server.state.store.rpt(&claims.jti).await.unwrap().unwrap();
    assert_eq!(stored, record);
    assert_eq!(
        (
            stored.client_id.as_str(),
            stored.subject.as_str(),
            stored.rs_client_id.as_str(),
            stored.owner.as_str()
        ),
        (APP, BOB_SUB, RS, ALICE_SUB)
    );
    let db = std::fs::read(server.db_path()).unwrap_or_default();
    let wal = std::fs::read(server.db_path().with_extension("db-wal")).unwrap_or_default();
    let needle = token.split('.').nth(2).unwrap().as_bytes();
    for file in [&db, &wal] {
        assert!(!file.windows(needle.len()).any(|w| w == needle));
    }
    assert!(
        rpt::verify(&server.state, &token, now)
            .await
            .unwrap()
            .is_some()
    );
    // A changed payload, another key under the same kid, another issuer: not an RPT.
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let forged = {
        let mut c = claims.clone();
        c.aud = Audience::One(RS2.into());
        let signed = server.state.keys.signer().sign("JWT", &c).unwrap();
        signed.split('.').nth(1).unwrap().to_string()
    };
    parts[1] = forged;
    let tampered = parts.join(".");
    let other_key = SigningKey::generate(kid)
        .unwrap()
        .sign("JWT", &claims)
        .unwrap();
    let mut foreign = claims.clone();
    foreign.iss = "https://elsewhere.example".into();
    let foreign = server.state.keys.signer().sign("JWT", &foreign).unwrap();
    let mut mismatched = claims.clone();
    mismatched.sub = "u-mallory".into();
    let mismatched = server.state.keys.signer().sign("JWT", &mismatched).unwrap();
    for bad in [&tampered, &other_key, &foreign, &mismatched, "a.b.c"] {
        assert!(
            rpt::verify(&server.state, bad, now)
                .await
                .unwrap()
                .is_none(),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn introspection_accepts_the_pat_of_the_rs() {
    let server = TestAs::start().await;
    let alice = pat(&server, RS, Some(ALICE_SUB)).await;
    let photo = register(&server, &alice, PHOTO).await;
    let token = mint(&server, minted(vec![permission(&photo, &["view"])])).await;
    // The owner's PAT, and the resource server's subject-less PAT (client credentials).
    for pat in [alice.clone(), pat(&server, RS, None).await] {
        let body = answer(&introspect_with_pat(&server, &pat, &token).await);
        assert_eq!(body["active"], true, "{body}");
    }
    // An unknown PAT: 401 with a bearer challenge.
    let reply = introspect_with_pat(&server, "not-a-pat", &token).await;
    assert_eq!(reply.status, 401, "{reply:?}");
    assert_eq!(reply.error(), "invalid_token");
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    // An access token without uma_protection: 403 insufficient_scope.
    let plain = issue(&server, APP, Some(ALICE_SUB), "read").await;
    let reply = introspect_with_pat(&server, &plain, &token).await;
    assert_eq!(
        (reply.status, reply.error().as_str()),
        (403, "insufficient_scope")
    );
    // A PAT and a client secret together: 400.
    let headers = [
        ("Authorization", format!("Bearer {alice}")),
        (
            "Content-Type",
            "application/x-www-form-urlencoded".to_string(),
        ),
    ];
    let body = form(&[("token", &token), ("client_secret", RS_SECRET)]);
    let reply = send(
        server.addr,
        "POST",
        "/introspect",
        &headers,
        body.as_bytes(),
    )
    .await;
    assert_eq!(
        (reply.status, reply.error().as_str()),
        (400, "invalid_request")
    );
    // No credentials at all: still invalid_client, as before.
    let headers = [(
        "Content-Type",
        "application/x-www-form-urlencoded".to_string(),
    )];
    let body = form(&[("token", &token)]);
    let reply = send(
        server.addr,
        "POST",
        "/introspect",
        &headers,
        body.as_bytes(),
    )
    .await;
    assert_eq!(reply.error(), "invalid_client", "{reply:?}");
}

#[tokio::test]
async fn revoking_an_rpt_by_its_client_and_not_by_others() {
    let server = TestAs::start().await;
    let alice = pat(&server, RS, Some(ALICE_SUB)).await;
    let photo = register(&server, &alice, PHOTO).await;
    let (token, record) = rpt::mint(
        &server.state,
        minted(vec![permission(&photo, &["view"])]),
        now(),
    )
    .await
    .unwrap();
    // Another client: 200, nothing revoked (D-REVOKE-FOREIGN).
    let reply = server
        .post_as(RS, RS_SECRET, "/revoke", &[("token", &token)])
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(
        answer(&introspect_with_pat(&server, &alice, &token).await)["active"],
        true
    );
    let stored = server.state.store.rpt(&record.jti).await.unwrap().unwrap();
    assert_eq!(stored.revoked_at, None);
    // Its client (azp): 200, revoked, inactive; revoking again is still 200.
    for hint in ["access_token", "requesting_party_token"] {
        let reply = server
            .post_as(
                APP,
                APP_SECRET,
                "/revoke",
                &[("token", &token), ("token_type_hint", hint)],
            )
            .await;
        assert_eq!(reply.status, 200, "{reply:?}");
    }
    let stored = server.state.store.rpt(&record.jti).await.unwrap().unwrap();
    assert!(stored.revoked_at.is_some());
    assert_eq!(
        answer(&introspect_with_pat(&server, &alice, &token).await),
        inactive()
    );
    // A JWT that is no RPT of this AS: 200, nothing happens.
    let reply = server
        .post_as(APP, APP_SECRET, "/revoke", &[("token", "a.b.c")])
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
}
