//! The UMA grant over a real router (Grant §3.3; uma-spec.md §4, §8): each test names the
//! statement it checks.

use serde_json::json;
use umagate_proto::{UMA_TICKET_GRANT, jws::SigningKey};

use crate::http::now;
use crate::http::testkit::*;
use crate::secrets;
use crate::store::status;

use crate::http::umakit::*;

fn assert_uma_error(reply: &Reply, status: u16, error: &str) {
    assert_eq!(
        (reply.status, reply.error().as_str()),
        (status, error),
        "{}",
        reply.body
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn unidentified_party_gets_need_info_with_a_new_ticket_and_the_id_token_claim() {
    let uma = Uma::start().await;
    let album = uma.register(ALBUM).await;
    let ticket = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    let reply = uma.grant(CLIENT, &[("ticket", &ticket)]).await;
    assert_uma_error(&reply, 403, "need_info");
    let body = reply.json();
    let fresh = body["ticket"].as_str().unwrap();
    assert_ne!(fresh, ticket, "Grant §3.3.6: the new ticket differs");
    assert_eq!(
        body["required_claims"],
        json!([{"claim_token_format": [ID_TOKEN], "friendly_name": "subject",
                "issuer": [uma.server.issuer], "name": "sub"}])
    );
    assert_eq!(
        body["redirect_user"],
        format!("{}/claims", uma.server.issuer),
        "the claims interaction endpoint"
    );
}

#[tokio::test]
async fn u1_a_ticket_is_consumed_when_presented() {
    let uma = Uma::start().await;
    let album = uma.register(ALBUM).await;
    let ticket = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    assert_uma_error(
        &uma.grant(CLIENT, &[("ticket", &ticket)]).await,
        403,
        "need_info",
    );
    assert_uma_error(
        &uma.grant(CLIENT, &[("ticket", &ticket)]).await,
        400,
        "invalid_grant",
    );
    assert_uma_error(
        &uma.grant(CLIENT, &[("ticket", "bm90LWEtdGlja2V0")]).await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn a_shared_resource_yields_an_rpt_whose_permissions_introspect() {
    let uma = Uma::start().await;
    let album = uma.register(ALBUM).await;
    uma.share(&album, &["view"], None).await;
    let ticket = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    let reply = uma.grant_as_bob(&ticket).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.json();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body.get("scope").is_none(), "Grant §3.3.5: no scope member");
    assert!(body.get("upgraded").is_none());
    let rpt = body["access_token"].as_str().unwrap();
    let introspected = uma.introspect(rpt).await;
    assert_eq!(introspected["active"], true);
    assert_eq!(
        introspected["permissions"],
        json!([{"resource_id": album, "resource_scopes": ["view"]}])
    );
}

#[tokio::test]
async fn claims_gathered_for_need_info_carry_to_the_next_ticket() {
    let uma = Uma::start().await;
    let album = uma.register(ALBUM).await;
    uma.share(&album, &["view"], None).await;
    let ticket = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    let first = uma.grant(CLIENT, &[("ticket", &ticket)]).await;
    let fresh = first.json()["ticket"].as_str().unwrap().to_string();
    let reply = uma.grant_as_bob(&fresh).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn u4_an_identified_party_with_no_share_or_policy_is_denied() {
    let uma = Uma::start().await;
    let album = uma.register(ALBUM).await;
    let ticket = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    let reply = uma.grant_as_bob(&ticket).await;
    assert_uma_error(&reply, 403, "request_denied");
    assert_eq!(reply.json().as_object().unwrap().len(), 1, "{}", reply.body);
}

#[tokio::test]
async fn deny_overrides_permit_across_scopes() {
    let uma = Uma::start().await;
    let album = uma.register(ALBUM).await;
    uma.share(&album, &["view"], None).await;
    let ticket = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view", "edit"]}))
        .await;
    let reply = uma.grant_as_bob(&ticket).await;
    assert_uma_error(&reply, 403, "request_denied");
}

#[tokio::test]
async fn u5_claim_tokens_for_another_client_expired_or_forged_get_need_info() {
    let uma = Uma::start().await;
    let album = uma.register(ALBUM).await;
    uma.share(&album, &["view"], None).await;
    let forged = SigningKey::generate("forged")
        .unwrap()
        .sign("JWT", &json!({"iss": uma.server.issuer, "sub": BOB_SUB, "aud": CLIENT, "exp": now() + 300, "iat": now()}))
        .unwrap();
    for (token, format) in [
        (uma.id_token(BOB_SUB, OTHER, 300), ID_TOKEN),
        (uma.id_token(BOB_SUB, CLIENT, -1), ID_TOKEN),
        (forged, ID_TOKEN),
        (
            uma.id_token(BOB_SUB, CLIENT, 300),
            "urn:example:unknown-format",
        ),
        (uma.id_token("u-nobody", CLIENT, 300), ID_TOKEN),
    ] {
        let ticket = uma
            .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
            .await;
        let reply = uma
            .grant(
                CLIENT,
                &[
                    ("ticket", &ticket),
                    ("claim_token", &token),
                    ("claim_token_format", format),
                ],
            )
            .await;
        assert_uma_error(&reply, 403, "need_info");
        assert!(reply.json()["required_claims"][0]["claim_token_format"].is_array());
    }
}

#[tokio::test]
async fn a_ticket_handed_to_one_client_is_refused_from_another() {
    let uma = Uma::start().await;
    let album = uma.register(ALBUM).await;
    let ticket = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    let fresh = uma.grant(CLIENT, &[("ticket", &ticket)]).await.json()["ticket"]
        .as_str()
        .unwrap()
        .to_string();
    assert_uma_error(
        &uma.grant(OTHER, &[("ticket", &fresh)]).await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn ask_me_submits_a_request_the_owner_approves_with_fewer_scopes() {
    let uma = Uma::start().await;
    let album = uma.register(ALBUM).await;
    let store = &uma.server.state.store;
    uma.bind_for_alice("all", "", None).await;
    let ticket = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view", "edit"]}))
        .await;
    let reply = uma.grant_as_bob(&ticket).await;
    assert_uma_error(&reply, 403, "request_submitted");
    assert_eq!(reply.json()["interval"], 5);
    let polled = reply.json()["ticket"].as_str().unwrap().to_string();

    // Still pending: request_submitted again, with yet another ticket, and no second request.
    let again = uma.grant(CLIENT, &[("ticket", &polled)]).await;
    assert_uma_error(&again, 403, "request_submitted");
    let pending = store
        .access_requests(ALICE_SUB, Some(status::PENDING), 10)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].subject, BOB_SUB);

    let granted = json!([{"resource_id": album, "resource_scopes": ["view"]}]).to_string();
    assert!(
        store
            .decide_access_request(
                ALICE_SUB,
                &pending[0].id,
                status::APPROVED,
                Some(&granted),
                None,
                now()
            )
            .await
            .unwrap()
    );
    // Approved fewer scopes than asked: edit is refused, so the whole request is denied…
    let next = again.json()["ticket"].as_str().unwrap().to_string();
    assert_uma_error(
        &uma.grant(CLIENT, &[("ticket", &next)]).await,
        403,
        "request_denied",
    );
}

#[tokio::test]
async fn an_approved_request_yields_the_rpt_on_the_next_poll_and_a_denied_one_request_denied() {
    let uma = Uma::start().await;
    let album = uma.register(ALBUM).await;
    let store = &uma.server.state.store;
    uma.bind_for_alice("resource", &album, None).await;
    for decision in [status::APPROVED, status::DENIED] {
        let ticket = uma
            .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
            .await;
        let reply = uma.grant_as_bob(&ticket).await;
        assert_uma_error(&reply, 403, "request_submitted");
        let polled = reply.json()["ticket"].as_str().unwrap().to_string();
        let pending = store
            .access_requests(ALICE_SUB, Some(status::PENDING), 10)
            .await
            .unwrap();
        let granted = json!([{"resource_id": album, "resource_scopes": ["view"]}]).to_string();
        assert!(
            store
                .decide_access_request(
                    ALICE_SUB,
                    &pending[0].id,
                    decision,
                    Some(&granted),
                    Some(now() + 3600),
                    now()
                )
                .await
                .unwrap()
        );
        let reply = uma.grant(CLIENT, &[("ticket", &polled)]).await;
        if decision == status::APPROVED {
            assert_eq!(reply.status, 200, "{}", reply.body);
            let rpt = reply.json()["access_token"].as_str().unwrap().to_string();
            let perms = &uma.introspect(&rpt).await["permissions"];
            assert_eq!(perms[0]["resource_scopes"], json!(["view"]));
            assert!(
                perms[0]["exp"].as_i64().unwrap() <= now() + 3600,
                "the approval's expiry"
            );
        } else {
            assert_uma_error(&reply, 403, "request_denied");
        }
    }
}

#[tokio::test]
async fn d_upgrade_revoke_an_rpt_of_the_same_client_and_party_is_merged_and_revoked() {
    let uma = Uma::start().await;
    let album = uma.register(ALBUM).await;
    let other = uma.register(ALBUM).await;
    uma.share(&album, &["view"], None).await;
    uma.share(&other, &["view"], None).await;
    let id_token = uma.id_token(BOB_SUB, CLIENT, 300);
    let claims = [
        ("claim_token", id_token.as_str()),
        ("claim_token_format", ID_TOKEN),
    ];
    let ticket = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    let mut fields = vec![("ticket", ticket.as_str())];
    fields.extend_from_slice(&claims);
    let first = uma.grant(CLIENT, &fields).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    let ticket = uma
        .ticket(json!({"resource_id": other, "resource_scopes": ["view"]}))
        .await;
    let mut fields = vec![("ticket", ticket.as_str()), ("rpt", first.as_str())];
    fields.extend_from_slice(&claims);
    let reply = uma.grant(CLIENT, &fields).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["upgraded"], true);
    let second = reply.json()["access_token"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    assert_eq!(
        uma.introspect(&first).await,
        json!({"active": false}),
        "old RPT revoked"
    );
    let perms = uma.introspect(&second).await["permissions"].clone();
    assert_eq!(perms.as_array().unwrap().len(), 2, "{perms}");

    // D-RPT-PARAM: another client's RPT is ignored, not merged, not revoked.
    let ticket = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    let other_token = uma.id_token(BOB_SUB, OTHER, 300);
    let reply = uma
        .grant(
            OTHER,
            &[
                ("ticket", &ticket),
                ("rpt", &second),
                ("claim_token", &other_token),
                ("claim_token_format", ID_TOKEN),
            ],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.json().get("upgraded").is_none());
    assert_eq!(uma.introspect(&second).await["active"], true);
}

#[tokio::test]
async fn invalid_scope_when_a_requested_scope_is_on_no_ticket_resource() {
    let uma = Uma::start().await;
    let album = uma.register(ALBUM).await;
    let ticket = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    let reply = uma
        .grant(CLIENT, &[("ticket", &ticket), ("scope", "delete")])
        .await;
    assert_uma_error(&reply, 400, "invalid_scope");
}

#[tokio::test]
async fn a_pre_registered_requested_scope_is_added_to_the_assessment() {
    let uma = Uma::start().await;
    let album = uma.register(ALBUM).await;
    uma.share(&album, &["view", "print"], None).await;
    let ticket = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    let id_token = uma.id_token(BOB_SUB, CLIENT, 300);
    let reply = uma
        .grant(
            CLIENT,
            &[
                ("ticket", &ticket),
                ("scope", "print"),
                ("claim_token", &id_token),
                ("claim_token_format", ID_TOKEN),
            ],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let rpt = reply.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        uma.introspect(&rpt).await["permissions"][0]["resource_scopes"],
        json!(["view", "print"])
    );
}

#[tokio::test]
async fn a_client_not_registered_for_the_grant_is_unauthorized() {
    let uma = Uma::start().await;
    let album = uma.register(ALBUM).await;
    let ticket = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    let reply = uma
        .server
        .token(&[("grant_type", UMA_TICKET_GRANT), ("ticket", &ticket)])
        .await;
    assert_uma_error(&reply, 400, "unauthorized_client");
}

#[tokio::test]
async fn a_bound_wasm_policy_decides_and_its_failure_denies() {
    let uma = Uma::start().await;
    let album = uma.register(ALBUM).await;
    let store = &uma.server.state.store;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/fixtures/hostile");
    for (fixture, expected) in [("permit-all.wat", 200), ("trap.wat", 403)] {
        let bytes = std::fs::read(root.join(fixture)).unwrap();
        let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &bytes);
        let stored = store
            .insert_policy_version(
                ALICE_SUB,
                fixture,
                &secrets::new_handle().unwrap(),
                "digest",
                &encoded,
                bytes.len() as i64,
                crate::store::PolicyQuota {
                    policies: 10,
                    versions: 10,
                },
                now(),
            )
            .await
            .unwrap();
        let crate::store::PolicyInsert::Stored { policy_id, version } = stored else {
            panic!("{stored:?}")
        };
        uma.bind_for_alice("type", "album", Some((policy_id.clone(), version)))
            .await;
        let ticket = uma
            .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
            .await;
        let reply = uma.grant_as_bob(&ticket).await;
        assert_eq!(reply.status, expected, "{fixture}: {}", reply.body);
        let log = store.decisions(ALICE_SUB, Some(&album), 10).await.unwrap();
        let line = log
            .iter()
            .find(|l| {
                l.explanation
                    .contains(&format!("policy {policy_id} v{version}"))
            })
            .unwrap_or_else(|| panic!("{log:?}"));
        assert_eq!(
            line.outcome,
            if expected == 200 { "permit" } else { "deny" }
        );
    }
}

#[tokio::test]
async fn a_pending_request_is_polled_only_by_its_own_party() {
    let uma = Uma::start().await;
    uma.server.add_user("carol").await;
    let album = uma.register(ALBUM).await;
    let store = &uma.server.state.store;
    uma.bind_for_alice("all", "", None).await;
    let ticket = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    let polled = uma.grant_as_bob(&ticket).await.json()["ticket"]
        .as_str()
        .unwrap()
        .to_string();
    // Carol pushes her own ID token with bob's polling ticket: her own request, not bob's.
    let carol = uma.id_token("u-carol", CLIENT, 300);
    let reply = uma
        .grant(
            CLIENT,
            &[
                ("ticket", &polled),
                ("claim_token", &carol),
                ("claim_token_format", ID_TOKEN),
            ],
        )
        .await;
    assert_uma_error(&reply, 403, "request_submitted");
    let pending = store
        .access_requests(ALICE_SUB, Some(status::PENDING), 10)
        .await
        .unwrap();
    let mut subjects: Vec<&str> = pending.iter().map(|r| r.subject.as_str()).collect();
    subjects.sort_unstable();
    assert_eq!(subjects, [BOB_SUB, "u-carol"]);
}
