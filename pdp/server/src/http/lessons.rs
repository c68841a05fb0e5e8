//! Regression tests for the published flaws of other UMA servers (reference/anchors.md §5): one
//! test per lesson that applies to the AS, named `lesson_NN_…` after the row. Lessons about the
//! proxy, the path canonicalizer and the sandbox are tested where that code lives (see
//! docs/conformance.md).

use serde_json::json;

use crate::http::now;
use crate::http::testkit::*;
use crate::http::umakit::*;
use crate::secrets;
use crate::store::{ClientRecord, TokenKind, TokenRecord};

const CAROL_SUB: &str = "u-carol";
/// A second resource server.
const RS2: &str = "rs2";

/// The bed with carol (another owner) and a second RS; returns alice's and carol's owner
/// tokens, carol's PAT at RS and alice's PAT at RS2.
async fn bed() -> (Uma, String, String, String, String) {
    let uma = Uma::start().await;
    uma.server.add_user("carol").await;
    let store = &uma.server.state.store;
    let mut rs2 = ClientRecord {
        client_id: RS2.into(),
        secret_hash: Some(secrets::hash_generated_secret(RS_SECRET)),
        metadata: Default::default(),
        resource_server: true,
        dynamic: false,
        created_at: 0,
    };
    rs2.metadata.grant_types = vec!["client_credentials".into()];
    assert!(store.insert_client(&rs2).await.unwrap());
    let pat = |client: &'static str, subject: &'static str| async move {
        let token = secrets::new_handle().unwrap();
        store
            .insert_token(&TokenRecord {
                token_hash: secrets::digest(&token),
                kind: TokenKind::Access,
                family_id: secrets::new_handle().unwrap(),
                client_id: client.into(),
                subject: Some(subject.into()),
                scope: "uma_protection".into(),
                issued_at: now(),
                expires_at: now() + 3600,
                used_at: None,
                revoked_at: None,
            })
            .await
            .unwrap();
        token
    };
    let carol_pat = pat(RS, CAROL_SUB).await;
    let alice_rs2 = pat(RS2, ALICE_SUB).await;
    let alice = user_token(&uma.server, ALICE_SUB, "uma_owner").await;
    let carol = user_token(&uma.server, CAROL_SUB, "uma_owner").await;
    (uma, alice, carol, carol_pat, alice_rs2)
}

async fn with_pat(uma: &Uma, pat: &str, method: &str, path: &str, body: &str) -> Reply {
    let headers = [
        ("Authorization", format!("Bearer {pat}")),
        ("Content-Type", "application/json".to_string()),
    ];
    send(uma.server.addr, method, path, &headers, body.as_bytes()).await
}

#[tokio::test]
async fn lesson_01_02_an_owner_binds_shares_and_approves_only_their_own_resources() {
    let (uma, alice, carol, carol_pat, _) = bed().await;
    let alices = uma.register(ALBUM).await;
    let carols = with_pat(&uma, &carol_pat, "POST", "/rreg", ALBUM)
        .await
        .json()["_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Carol cannot bind, share or set attributes on alice's resource, even alongside her own.
    for (method, path, body) in [
        (
            "PUT",
            "/owner/bindings".to_string(),
            json!({"target": {"resource_id": alices}, "ask_owner": true}),
        ),
        (
            "POST",
            "/owner/shares".to_string(),
            json!({"resource_id": alices, "user": "bob", "scopes": ["view"]}),
        ),
        (
            "PUT",
            format!("/owner/resources/{alices}/attributes"),
            json!({"a": 1}),
        ),
    ] {
        let reply = uma.owner(&carol, method, &path, &body.to_string()).await;
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.body);
    }
    let own = json!({"target": {"resource_id": carols}, "ask_owner": true}).to_string();
    assert_eq!(
        uma.owner(&carol, "PUT", "/owner/bindings", &own)
            .await
            .status,
        200
    );
    // Alice's resources are untouched: still decided by default deny.
    assert!(
        uma.owner(&alice, "GET", "/owner/bindings", "")
            .await
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    let ticket = uma
        .ticket(json!({"resource_id": alices, "resource_scopes": ["view"]}))
        .await;
    assert_eq!(uma.grant_as_bob(&ticket).await.error(), "request_denied");
}

#[tokio::test]
async fn lesson_03_every_protection_route_needs_a_pat_with_uma_protection() {
    let (uma, _, _, _, _) = bed().await;
    let id = uma.register(ALBUM).await;
    let not_a_pat = user_token(&uma.server, ALICE_SUB, "openid uma_owner").await;
    let item = format!("/rreg/{id}");
    let perm = json!({"resource_id": id, "resource_scopes": ["view"]}).to_string();
    for (method, path, body) in [
        ("GET", "/rreg", ""),
        ("POST", "/rreg", ALBUM),
        ("GET", item.as_str(), ""),
        ("PUT", item.as_str(), ALBUM),
        ("DELETE", item.as_str(), ""),
        ("POST", "/perm", perm.as_str()),
    ] {
        let reply = with_pat(&uma, &not_a_pat, method, path, body).await;
        assert_eq!(
            (reply.status, reply.error().as_str()),
            (403, "insufficient_scope"),
            "{method} {path}"
        );
        let none = send(uma.server.addr, method, path, &[], body.as_bytes()).await;
        assert_eq!(none.status, 401, "{method} {path} without a token");
    }
}

#[tokio::test]
async fn lesson_04_17_another_resource_servers_or_owners_resource_id_is_not_found() {
    let (uma, _, _, carol_pat, alice_rs2) = bed().await;
    let id = uma.register(ALBUM).await;
    let item = format!("/rreg/{id}");
    for pat in [&carol_pat, &alice_rs2] {
        for (method, body) in [("GET", ""), ("PUT", ALBUM), ("DELETE", "")] {
            let reply = with_pat(&uma, pat, method, &item, body).await;
            assert_eq!(
                (reply.status, reply.error().as_str()),
                (404, "not_found"),
                "{method}"
            );
        }
        let perm = json!({"resource_id": id, "resource_scopes": ["view"]}).to_string();
        let reply = with_pat(&uma, pat, "POST", "/perm", &perm).await;
        assert_eq!(reply.error(), "invalid_resource_id");
    }
    assert_eq!(
        uma.call("GET", &item, "").await.status,
        200,
        "still there for its own pair"
    );
}

#[tokio::test]
async fn lesson_06_08_resources_are_named_by_id_only_and_same_names_never_merge() {
    let (uma, _, _, carol_pat, _) = bed().await;
    let alices = uma.register(ALBUM).await;
    let carols = with_pat(&uma, &carol_pat, "POST", "/rreg", ALBUM)
        .await
        .json()["_id"]
        .as_str()
        .unwrap()
        .to_string();
    // A name is not an id.
    let by_name = json!({"resource_id": "Album", "resource_scopes": ["view"]}).to_string();
    assert_eq!(
        uma.call("POST", "/perm", &by_name).await.error(),
        "invalid_resource_id"
    );
    // Bob may view alice's "Album"; carol's same-named one stays closed to him.
    uma.share(&alices, &["view"], None).await;
    let ticket = with_pat(
        &uma,
        &carol_pat,
        "POST",
        "/perm",
        &json!({"resource_id": carols, "resource_scopes": ["view"]}).to_string(),
    )
    .await
    .json()["ticket"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(uma.grant_as_bob(&ticket).await.error(), "request_denied");
    let ticket = uma
        .ticket(json!({"resource_id": alices, "resource_scopes": ["view"]}))
        .await;
    let rpt = uma.grant_as_bob(&ticket).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        uma.introspect(&rpt).await["permissions"],
        json!([{"resource_id": alices, "resource_scopes": ["view"]}])
    );
}

#[tokio::test]
async fn lesson_07_a_grant_on_one_resource_of_a_type_never_covers_another_of_that_type() {
    let (uma, _, _, _, _) = bed().await;
    let shared = uma.register(ALBUM).await;
    let other = uma.register(ALBUM).await;
    uma.share(&shared, &["view"], None).await;
    let ticket = uma
        .ticket(json!([{"resource_id": shared, "resource_scopes": ["view"]},
                       {"resource_id": other, "resource_scopes": ["view"]}]))
        .await;
    assert_eq!(
        uma.grant_as_bob(&ticket).await.error(),
        "request_denied",
        "D-PARTIAL: no partial RPT"
    );
    let ticket = uma
        .ticket(json!({"resource_id": other, "resource_scopes": ["view"]}))
        .await;
    assert_eq!(uma.grant_as_bob(&ticket).await.error(), "request_denied");
}

#[tokio::test]
async fn lesson_09_pushed_claims_cannot_overwrite_the_servers_context() {
    let (uma, _, _, _, _) = bed().await;
    let album = uma.register(ALBUM).await;
    // An ID token of this AS whose extra claims mimic the context.
    let mut claims: serde_json::Map<String, serde_json::Value> = serde_json::Map::new();
    for (k, v) in [
        ("now", json!(0)),
        ("client_id", json!("evil")),
        ("context", json!({"now": 0})),
    ] {
        claims.insert(k.into(), v);
    }
    let token = uma.id_token_with(BOB_SUB, CLIENT, 300, claims);
    let state = &uma.server.state;
    let client = state.store.client(CLIENT).await.unwrap().unwrap();
    let claim_token = umagate_proto::token::ClaimToken {
        token: umagate_proto::Secret::new(token),
        format: ID_TOKEN.into(),
    };
    let carried = crate::http::token::claims::verify_id_token(state, &client, &claim_token, now())
        .await
        .unwrap()
        .unwrap();
    let record = state
        .store
        .owned_resource(ALICE_SUB, &album)
        .await
        .unwrap()
        .unwrap();
    let description =
        umagate_proto::resource::ResourceDescription::parse(record.description.as_bytes()).unwrap();
    let facts = crate::decide::resource_facts(state, &record, &description)
        .await
        .unwrap();
    let asked = crate::decide::Asked {
        resource: &record,
        description: &description,
        scopes: &["view".to_string()],
        carried: &carried,
        client_id: CLIENT,
        request: None,
    };
    let input = crate::decide::policy_input(&asked, &["view".to_string()], facts, 1_234);
    assert_eq!(input.context.now, 1_234);
    assert_eq!(input.context.client_id, CLIENT);
    assert_eq!(
        input.context.auth_time, carried.auth_time,
        "the token's own, verified"
    );
    assert_eq!(
        input.party.claims.get("now"),
        Some(&json!(0)),
        "kept among the party's claims: {:?}",
        input.party.claims
    );
}

#[tokio::test]
async fn lesson_14_introspection_answers_only_the_resource_server_the_rpt_is_for() {
    let (uma, _, _, _, alice_rs2) = bed().await;
    let album = uma.register(ALBUM).await;
    uma.share(&album, &["view"], None).await;
    let ticket = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    let rpt = uma.grant_as_bob(&ticket).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let headers = [
        ("Authorization", format!("Bearer {alice_rs2}")),
        (
            "Content-Type",
            "application/x-www-form-urlencoded".to_string(),
        ),
    ];
    let body = form(&[("token", &rpt)]);
    let reply = send(
        uma.server.addr,
        "POST",
        "/introspect",
        &headers,
        body.as_bytes(),
    )
    .await;
    assert_eq!(reply.json(), json!({"active": false}));
    assert_eq!(
        uma.introspect(&rpt).await["active"],
        true,
        "and yes for its own RS"
    );
}

#[tokio::test]
async fn lesson_16_introspection_verifies_the_rpt_signature() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (uma, _, _, _, _) = bed().await;
    let album = uma.register(ALBUM).await;
    uma.share(&album, &["view"], None).await;
    let ticket = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    let rpt = uma.grant_as_bob(&ticket).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let parts: Vec<&str> = rpt.split('.').collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["permissions"][0]["resource_scopes"] = json!(["view", "edit"]);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );
    assert_eq!(uma.introspect(&forged).await, json!({"active": false}));
}

#[tokio::test]
async fn lesson_18_19_client_supplied_state_is_never_deserialized_only_looked_up() {
    use base64::Engine as _;
    let (uma, _, _, _, _) = bed().await;
    let album = uma.register(ALBUM).await;
    uma.share(&album, &["view"], None).await;
    // Serialized "tickets", PCTs and RPTs of the shape an attacker would forge.
    let blob = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        json!({"resource_id": album, "resource_scopes": ["view"], "owner": ALICE_SUB, "party": {"subject": BOB_SUB}}).to_string(),
    );
    assert_eq!(
        uma.grant(CLIENT, &[("ticket", &blob)]).await.error(),
        "invalid_grant"
    );
    let ticket = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    let reply = uma
        .grant(
            CLIENT,
            &[("ticket", &ticket), ("pct", &blob), ("rpt", &blob)],
        )
        .await;
    assert_eq!(
        reply.error(),
        "need_info",
        "a forged PCT identifies nobody: {}",
        reply.body
    );
    // The claims endpoint, the sibling entry point.
    let mut browser = uma.server.browser();
    let target = format!(
        "/claims?{}",
        form(&[("client_id", CLIENT), ("ticket", &blob)])
    );
    let reply = browser.get(&target).await;
    assert_eq!(reply.status, 303);
    assert!(
        reply
            .header("location")
            .unwrap()
            .contains("error=invalid_request")
    );
}

#[tokio::test]
async fn lesson_20_lookups_are_parameterized() {
    let (uma, alice, _, _, _) = bed().await;
    let album = uma.register(ALBUM).await;
    for id in ["x' OR '1'='1", "x\" OR 1=1 --", "%' --"] {
        let perm = json!({"resource_id": id, "resource_scopes": ["view"]}).to_string();
        assert_eq!(
            uma.call("POST", "/perm", &perm).await.error(),
            "invalid_resource_id",
            "{id}"
        );
        let share = json!({"resource_id": album, "user": format!("bob{id}"), "scopes": ["view"]});
        assert_eq!(
            uma.owner(&alice, "POST", "/owner/shares", &share.to_string())
                .await
                .status,
            400
        );
    }
    let log = uma
        .owner(
            &alice,
            "GET",
            "/owner/decisions?resource_id=%27%20OR%20%271%27%3D%271",
            "",
        )
        .await;
    assert_eq!(log.json(), json!([]));
}
