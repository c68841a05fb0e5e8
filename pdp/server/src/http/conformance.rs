//! Spec statements and project decisions (uma-spec.md §3–§5, §8) not already checked by the
//! endpoint's own tests, one test each, named after the statement. docs/conformance.md maps
//! every statement to its test.

use serde_json::json;

use crate::http::testkit::*;
use crate::http::umakit::*;

#[tokio::test]
async fn d_wk_uma_discovery_is_appended_to_the_issuer_and_lists_the_uma_endpoints() {
    let uma = Uma::start().await;
    let reply = send(
        uma.server.addr,
        "GET",
        "/.well-known/uma2-configuration",
        &[],
        b"",
    )
    .await;
    assert_eq!(reply.status, 200);
    let issuer = &uma.server.issuer;
    let doc = reply.json();
    assert_eq!(doc["issuer"], issuer.as_str());
    for (member, path) in [
        ("token_endpoint", "/token"),
        ("permission_endpoint", "/perm"),
        ("resource_registration_endpoint", "/rreg"),
        ("introspection_endpoint", "/introspect"),
        ("claims_interaction_endpoint", "/claims"),
        ("jwks_uri", "/jwks"),
    ] {
        assert_eq!(doc[member], format!("{issuer}{path}"), "{member}");
    }
    let grants = doc["grant_types_supported"].as_array().unwrap();
    assert!(grants.contains(&json!("urn:ietf:params:oauth:grant-type:uma-ticket")));
}

#[tokio::test]
async fn d_introspect_get_is_405_with_allow_post() {
    let uma = Uma::start().await;
    let reply = send(uma.server.addr, "GET", "/introspect?token=x", &[], b"").await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("POST"));
}

#[tokio::test]
async fn d_perm_malformed_and_d_ct_permission_requests_are_invalid_request() {
    let uma = Uma::start().await;
    let id = uma.register(ALBUM).await;
    for body in [
        "[]".to_string(),
        "{}".to_string(),
        json!({"resource_id": id}).to_string(),
        json!({"resource_scopes": ["view"]}).to_string(),
        json!({"resource_id": id, "resource_scopes": null}).to_string(),
        json!({"resource_id": id, "resource_scopes": "view"}).to_string(),
        r#"{"resource_id":"a","resource_id":"b","resource_scopes":[]}"#.to_string(),
        "not json".to_string(),
    ] {
        let reply = uma.call("POST", "/perm", &body).await;
        assert_eq!(
            (reply.status, reply.error().as_str()),
            (400, "invalid_request"),
            "{body}"
        );
    }
    let headers = [
        ("Authorization", format!("Bearer {}", uma.pat)),
        ("Content-Type", "text/plain".to_string()),
    ];
    let body = json!({"resource_id": id, "resource_scopes": ["view"]}).to_string();
    let reply = send(uma.server.addr, "POST", "/perm", &headers, body.as_bytes()).await;
    assert_eq!(
        (reply.status, reply.error().as_str()),
        (400, "invalid_request"),
        "D-CT"
    );
}

#[tokio::test]
async fn fedauthz_4_zero_scope_permissions_get_a_ticket_and_need_a_resource_level_permit() {
    let uma = Uma::start().await;
    let empty = uma.register(r#"{"resource_scopes":[]}"#).await;
    let ticket = uma
        .ticket(json!({"resource_id": empty, "resource_scopes": []}))
        .await;
    assert_eq!(
        uma.grant_as_bob(&ticket).await.error(),
        "request_denied",
        "U4: default deny"
    );
}

#[tokio::test]
async fn grant_3_3_1_claim_token_and_format_go_together() {
    let uma = Uma::start().await;
    let id = uma.register(ALBUM).await;
    for fields in [
        vec![("claim_token", "abc")],
        vec![("claim_token_format", ID_TOKEN)],
    ] {
        let ticket = uma
            .ticket(json!({"resource_id": id, "resource_scopes": ["view"]}))
            .await;
        let mut all = vec![("ticket", ticket.as_str())];
        all.extend(fields);
        let reply = uma.grant(CLIENT, &all).await;
        assert_eq!(
            (reply.status, reply.error().as_str()),
            (400, "invalid_request")
        );
    }
    let reply = uma.grant(CLIENT, &[]).await;
    assert_eq!(reply.error(), "invalid_request", "ticket is required");
}

#[tokio::test]
async fn grant_3_3_6_error_bodies_are_exact() {
    let uma = Uma::start().await;
    let id = uma.register(ALBUM).await;
    // request_denied: the code only.
    let ticket = uma
        .ticket(json!({"resource_id": id, "resource_scopes": ["view"]}))
        .await;
    let denied = uma.grant_as_bob(&ticket).await;
    assert_eq!(denied.json(), json!({"error": "request_denied"}));
    assert_eq!(denied.header("content-type"), Some("application/json"));
    // invalid_grant: 400, no ticket member.
    let reply = uma.grant(CLIENT, &[("ticket", &ticket)]).await;
    assert_eq!(reply.status, 400);
    assert!(reply.json().get("ticket").is_none());
    // request_submitted: ticket and interval only.
    let owner = user_token(&uma.server, ALICE_SUB, "uma_owner").await;
    let ask = json!({"target": {"all": true}, "ask_owner": true}).to_string();
    assert_eq!(
        uma.owner(&owner, "PUT", "/owner/bindings", &ask)
            .await
            .status,
        200
    );
    let ticket = uma
        .ticket(json!({"resource_id": id, "resource_scopes": ["view"]}))
        .await;
    let submitted = uma.grant_as_bob(&ticket).await.json();
    let keys: Vec<&str> = submitted
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["error", "interval", "ticket"]);
}
