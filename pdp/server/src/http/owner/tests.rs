//! The owner API over a real router: authentication, isolation between owners, shares (and
//! their revocation reaching live RPTs), approvals, policies and bindings, the decision log.

use serde_json::json;

use crate::http::testkit::*;
use crate::http::umakit::*;

const CAROL_SUB: &str = "u-carol";

/// The UMA bed plus owner tokens for alice and for carol (another owner).
async fn bed() -> (Uma, String, String) {
    let uma = Uma::start().await;
    uma.server.add_user("carol").await;
    let alice = user_token(&uma.server, ALICE_SUB, "uma_owner").await;
    let carol = user_token(&uma.server, CAROL_SUB, "uma_owner").await;
    (uma, alice, carol)
}

fn fixture(name: &str) -> Vec<u8> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/fixtures/hostile");
    std::fs::read(root.join(name)).unwrap()
}

#[tokio::test]
async fn the_owner_api_needs_an_owner_token_with_uma_owner() {
    let (uma, _, _) = bed().await;
    let none = send(uma.server.addr, "GET", "/owner/shares", &[], b"").await;
    assert_eq!(none.status, 401);
    let openid = user_token(&uma.server, ALICE_SUB, "openid").await;
    let reply = uma.owner(&openid, "GET", "/owner/shares", "").await;
    assert_eq!(
        (reply.status, reply.error().as_str()),
        (403, "insufficient_scope")
    );
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .contains("scope=\"uma_owner\"")
    );
    let reply = uma.owner(&uma.pat, "GET", "/owner/shares", "").await;
    assert_eq!(reply.status, 403, "a PAT is not an owner token");
}

#[tokio::test]
async fn client_credentials_never_yield_uma_owner() {
    let (uma, _, _) = bed().await;
    let reply = uma
        .server
        .post_as(
            RS,
            RS_SECRET,
            "/token",
            &[("grant_type", "client_credentials"), ("scope", "uma_owner")],
        )
        .await;
    assert_eq!(
        (reply.status, reply.error().as_str()),
        (400, "invalid_scope"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn a_share_grants_and_its_revocation_removes_the_permission_from_live_rpts_at_once() {
    let (uma, alice, _) = bed().await;
    let album = uma.register(ALBUM).await;
    let other = uma.register(ALBUM).await;
    let mut ids = Vec::new();
    for resource in [&album, &other] {
        let body = json!({"resource_id": resource, "user": "bob", "scopes": ["view", "print"]});
        let created = uma
            .owner(&alice, "POST", "/owner/shares", &body.to_string())
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.json()["subject"], BOB_SUB);
        ids.push(created.json()["id"].as_str().unwrap().to_string());
    }
    let listed = uma.owner(&alice, "GET", "/owner/shares", "").await.json();
    assert_eq!(listed.as_array().unwrap().len(), 2);

    let ticket = uma
        .ticket(json!([{"resource_id": album, "resource_scopes": ["view"]},
                       {"resource_id": other, "resource_scopes": ["view"]}]))
        .await;
    let reply = uma.grant_as_bob(&ticket).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let rpt = reply.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        uma.introspect(&rpt).await["permissions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let revoked = uma
        .owner(&alice, "DELETE", &format!("/owner/shares/{}", ids[0]), "")
        .await;
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    let after = uma.introspect(&rpt).await;
    assert_eq!(
        after["permissions"],
        json!([{"resource_id": other, "resource_scopes": ["view"]}]),
        "{after}"
    );
    uma.owner(&alice, "DELETE", &format!("/owner/shares/{}", ids[1]), "")
        .await;
    assert_eq!(
        uma.introspect(&rpt).await,
        json!({"active": false}),
        "nothing left"
    );
    // And the next request is refused.
    let ticket = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    assert_eq!(uma.grant_as_bob(&ticket).await.error(), "request_denied");
}

#[tokio::test]
async fn a_type_share_by_verified_email_covers_every_resource_of_the_type() {
    let (uma, alice, _) = bed().await;
    let first = uma.register(ALBUM).await;
    let second = uma.register(ALBUM).await;
    let body = json!({"resource_type": "album", "email": "Bob@Example.com", "scopes": ["view"]})
        .to_string();
    assert_eq!(
        uma.owner(&alice, "POST", "/owner/shares", &body)
            .await
            .status,
        201
    );
    for album in [first, second] {
        let ticket = uma
            .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
            .await;
        assert_eq!(uma.grant_as_bob(&ticket).await.status, 200);
    }
}

#[tokio::test]
async fn an_owner_cannot_share_bind_or_see_another_owners_resources() {
    let (uma, alice, carol) = bed().await;
    let album = uma.register(ALBUM).await;
    let share = json!({"resource_id": album, "user": "bob", "scopes": ["view"]}).to_string();
    let reply = uma.owner(&carol, "POST", "/owner/shares", &share).await;
    assert_eq!((reply.status, reply.error().as_str()), (404, "not_found"));
    let bind = json!({"target": {"resource_id": album}, "ask_owner": true}).to_string();
    assert_eq!(
        uma.owner(&carol, "PUT", "/owner/bindings", &bind)
            .await
            .status,
        404
    );
    assert_eq!(
        uma.owner(&carol, "GET", "/owner/resources", "")
            .await
            .json(),
        json!([])
    );

    let created = uma
        .owner(&alice, "POST", "/owner/shares", &share)
        .await
        .json();
    let path = format!("/owner/shares/{}", created["id"].as_str().unwrap());
    assert_eq!(uma.owner(&carol, "DELETE", &path, "").await.status, 404);
    assert_eq!(
        uma.owner(&carol, "GET", "/owner/shares", "").await.json(),
        json!([])
    );
    assert_eq!(
        uma.owner(&alice, "GET", "/owner/resources", "")
            .await
            .json()[0]["_id"],
        album
    );
}

#[tokio::test]
async fn bad_share_bodies_are_refused_whole() {
    let (uma, alice, _) = bed().await;
    let album = uma.register(ALBUM).await;
    for body in [
        json!({"resource_id": album, "user": "bob", "scopes": []}),
        json!({"resource_id": album, "user": "bob", "scopes": ["delete"]}),
        json!({"resource_id": album, "resource_type": "album", "user": "bob", "scopes": ["view"]}),
        json!({"resource_id": album, "user": "bob", "email": "b@x", "scopes": ["view"]}),
        json!({"resource_id": album, "user": "nobody", "scopes": ["view"]}),
        json!({"resource_id": album, "user": "bob", "scopes": ["view"], "expires_at": 1}),
        json!({"resource_id": album, "user": "bob", "scopes": ["view"], "extra": 1}),
    ] {
        let reply = uma
            .owner(&alice, "POST", "/owner/shares", &body.to_string())
            .await;
        assert_eq!(
            (reply.status, reply.error().as_str()),
            (400, "invalid_request"),
            "{body}: {}",
            reply.body
        );
    }
    assert_eq!(
        uma.owner(&alice, "GET", "/owner/shares", "").await.json(),
        json!([])
    );
}

#[tokio::test]
async fn ask_me_then_the_owner_approves_fewer_scopes_until_a_date_and_the_poll_gets_the_rpt() {
    let (uma, alice, carol) = bed().await;
    let album = uma.register(ALBUM).await;
    let bind = json!({"target": {"resource_id": album}, "ask_owner": true}).to_string();
    let bound = uma.owner(&alice, "PUT", "/owner/bindings", &bind).await;
    assert_eq!(bound.status, 200, "{}", bound.body);

    let ticket = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view", "print"]}))
        .await;
    let submitted = uma.grant_as_bob(&ticket).await;
    assert_eq!(submitted.error(), "request_submitted", "{}", submitted.body);
    let polled = submitted.json()["ticket"].as_str().unwrap().to_string();

    let pending = uma
        .owner(&alice, "GET", "/owner/requests?status=pending", "")
        .await
        .json();
    assert_eq!(pending.as_array().unwrap().len(), 1, "{pending}");
    assert_eq!(pending[0]["subject"], BOB_SUB);
    assert_eq!(pending[0]["client_id"], CLIENT);
    let id = pending[0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        uma.owner(&carol, "POST", &format!("/owner/requests/{id}/approve"), "")
            .await
            .status,
        404
    );

    // The approval narrows to view only; the RPT then holds view, and the client asked for
    // print too, so D-PARTIAL (off) refuses: the owner approves everything instead.
    let everything = uma
        .owner(&alice, "POST", &format!("/owner/requests/{id}/approve"), "")
        .await;
    assert_eq!(everything.status, 200, "{}", everything.body);
    assert_eq!(everything.json()["status"], "approved");
    let again = uma
        .owner(&alice, "POST", &format!("/owner/requests/{id}/deny"), "")
        .await;
    assert_eq!(again.status, 400, "decided once");

    let reply = uma.grant(CLIENT, &[("ticket", &polled)]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let rpt = reply.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        uma.introspect(&rpt).await["permissions"][0]["resource_scopes"],
        json!(["view", "print"])
    );

    // A second request, approved for fewer scopes until a date.
    let ticket = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    let polled = uma.grant_as_bob(&ticket).await.json()["ticket"]
        .as_str()
        .unwrap()
        .to_string();
    let pending = uma
        .owner(&alice, "GET", "/owner/requests?status=pending", "")
        .await
        .json();
    let id = pending[0]["id"].as_str().unwrap();
    let until = crate::http::now() + 600;
    let subset = json!({"permissions": [{"resource_id": album, "resource_scopes": ["view"]}], "expires_at": until});
    let approved = uma
        .owner(
            &alice,
            "POST",
            &format!("/owner/requests/{id}/approve"),
            &subset.to_string(),
        )
        .await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    let reply = uma.grant(CLIENT, &[("ticket", &polled)]).await;
    let rpt = reply.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(uma.introspect(&rpt).await["permissions"][0]["exp"], until);
}

#[tokio::test]
async fn approving_more_than_was_asked_is_refused() {
    let (uma, alice, _) = bed().await;
    let album = uma.register(ALBUM).await;
    let bind = json!({"target": {"all": true}, "ask_owner": true}).to_string();
    assert_eq!(
        uma.owner(&alice, "PUT", "/owner/bindings", &bind)
            .await
            .status,
        200
    );
    let ticket = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    assert_eq!(uma.grant_as_bob(&ticket).await.error(), "request_submitted");
    let pending = uma.owner(&alice, "GET", "/owner/requests", "").await.json();
    let id = pending[0]["id"].as_str().unwrap();
    let wider =
        json!({"permissions": [{"resource_id": album, "resource_scopes": ["view", "edit"]}]});
    let reply = uma
        .owner(
            &alice,
            "POST",
            &format!("/owner/requests/{id}/approve"),
            &wider.to_string(),
        )
        .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
}

#[tokio::test]
async fn a_policy_is_uploaded_checked_bound_dry_run_logged_and_unbound() {
    let (uma, alice, carol) = bed().await;
    let album = uma.register(ALBUM).await;
    let upload = |token: String, name: &'static str, bytes: Vec<u8>| {
        let addr = uma.server.addr;
        async move {
            let headers = [
                ("Authorization", format!("Bearer {token}")),
                ("Content-Type", "application/wasm".to_string()),
            ];
            send(
                addr,
                "POST",
                &format!("/owner/policies?name={name}"),
                &headers,
                &bytes,
            )
            .await
        }
    };
    let refused = upload(alice.clone(), "bad", b"not a component".to_vec()).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let refused = upload(alice.clone(), "forbidden", fixture("forbidden-import.wat")).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(
        uma.owner(&alice, "GET", "/owner/policies", "").await.json(),
        json!([])
    );

    let stored = upload(alice.clone(), "permit", fixture("permit-all.wat")).await;
    assert_eq!(stored.status, 201, "{}", stored.body);
    let policy_id = stored.json()["policy"]["policy_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(stored.json()["policy"]["version"], 1);
    let second = upload(alice.clone(), "permit", fixture("permit-all.wat")).await;
    assert_eq!(second.json()["policy"]["version"], 2);
    let versions = uma
        .owner(
            &alice,
            "GET",
            &format!("/owner/policies/{policy_id}/versions"),
            "",
        )
        .await;
    assert_eq!(versions.json().as_array().unwrap().len(), 2);
    assert_eq!(
        uma.owner(
            &carol,
            "GET",
            &format!("/owner/policies/{policy_id}/versions"),
            ""
        )
        .await
        .status,
        404
    );

    let dry = json!({"resource_id": album, "scopes": ["view"], "subject": BOB_SUB});
    let path = format!("/owner/policies/{policy_id}/versions/1/dry-run");
    let ran = uma.owner(&alice, "POST", &path, &dry.to_string()).await;
    assert_eq!(ran.status, 200, "{}", ran.body);
    assert_eq!(
        ran.json()["scopes"]["view"]["outcome"],
        "permit",
        "{}",
        ran.body
    );
    assert_eq!(
        uma.owner(&carol, "POST", &path, &dry.to_string())
            .await
            .status,
        404
    );

    let carol_bind = json!({"target": {"all": true}, "policy_id": policy_id}).to_string();
    assert_eq!(
        uma.owner(&carol, "PUT", "/owner/bindings", &carol_bind)
            .await
            .status,
        404,
        "not carol's policy"
    );
    let bind = json!({"target": {"resource_type": "album"}, "policy_id": policy_id, "version": 1})
        .to_string();
    let bound = uma.owner(&alice, "PUT", "/owner/bindings", &bind).await;
    assert_eq!(
        bound.json(),
        json!({"target": {"resource_type": "album"}, "policy_id": policy_id, "version": 1, "ask_owner": false})
    );

    let ticket = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    assert_eq!(uma.grant_as_bob(&ticket).await.status, 200);
    let log = uma
        .owner(
            &alice,
            "GET",
            &format!("/owner/decisions?resource_id={album}"),
            "",
        )
        .await
        .json();
    assert_eq!(log[0]["outcome"], "permit", "{log}");
    assert_eq!(log[0]["subject"], BOB_SUB);
    assert!(
        log[0]["explanation"]
            .as_str()
            .unwrap()
            .contains("permit-all"),
        "{log}"
    );
    assert_eq!(
        uma.owner(&carol, "GET", "/owner/decisions", "")
            .await
            .json(),
        json!([])
    );

    let unbound = uma
        .owner(&alice, "DELETE", "/owner/bindings?resource_type=album", "")
        .await;
    assert_eq!(unbound.status, 204);
    assert_eq!(
        uma.owner(&alice, "DELETE", "/owner/bindings?resource_type=album", "")
            .await
            .status,
        404
    );
    let ticket = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    assert_eq!(uma.grant_as_bob(&ticket).await.error(), "request_denied");
}

#[tokio::test]
async fn attributes_are_the_owners_bounded_and_go_with_the_resource() {
    let (uma, alice, carol) = bed().await;
    let album = uma.register(ALBUM).await;
    let path = format!("/owner/resources/{album}/attributes");
    assert_eq!(uma.owner(&alice, "GET", &path, "").await.json(), json!({}));
    let attributes = json!({"share-domain": "example.com", "ask-scopes": ["edit"]});
    let set = uma
        .owner(&alice, "PUT", &path, &attributes.to_string())
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(uma.owner(&alice, "GET", &path, "").await.json(), attributes);
    assert_eq!(uma.owner(&carol, "GET", &path, "").await.status, 404);
    assert_eq!(uma.owner(&carol, "PUT", &path, "{}").await.status, 404);
    let too_many: serde_json::Map<String, serde_json::Value> =
        (0..65).map(|i| (format!("a{i}"), json!(i))).collect();
    let reply = uma
        .owner(
            &alice,
            "PUT",
            &path,
            &serde_json::Value::Object(too_many).to_string(),
        )
        .await;
    assert_eq!(reply.status, 400);
    let huge = json!({"big": "x".repeat(17 * 1024)});
    assert_eq!(
        uma.owner(&alice, "PUT", &path, &huge.to_string())
            .await
            .status,
        400
    );
    assert_eq!(
        uma.owner(&alice, "PUT", &path, "[1]").await.status,
        400,
        "an object"
    );
    assert_eq!(
        uma.owner(&alice, "GET", &path, "").await.json(),
        attributes,
        "unchanged"
    );

    assert_eq!(
        uma.call("DELETE", &format!("/rreg/{album}"), "")
            .await
            .status,
        204
    );
    let stored = uma
        .server
        .state
        .store
        .attributes(ALICE_SUB, &album)
        .await
        .unwrap();
    assert_eq!(stored, None, "removed with the resource");
}

#[tokio::test]
async fn the_owners_webhook_hears_of_each_submitted_request_without_secrets() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let uma = Uma::start_with(|c| c.uma.webhook_allow_private = true).await;
    uma.server.add_user("carol").await;
    let alice = user_token(&uma.server, ALICE_SUB, "uma_owner").await;
    let hook = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/uma-hook?o=alice", hook.local_addr().unwrap());
    for bad in [
        "https://hooks.example/",
        "http://u:p@hooks.example/",
        "nope",
    ] {
        let body = json!({"webhook_url": bad}).to_string();
        assert_eq!(
            uma.owner(&alice, "PUT", "/owner/settings", &body)
                .await
                .status,
            400,
            "{bad}"
        );
    }
    let set = uma
        .owner(
            &alice,
            "PUT",
            "/owner/settings",
            &json!({"webhook_url": url}).to_string(),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(
        uma.owner(&alice, "GET", "/owner/settings", "").await.json()["webhook_url"],
        url.as_str()
    );

    let album = uma.register(ALBUM).await;
    let ask = json!({"target": {"all": true}, "ask_owner": true}).to_string();
    assert_eq!(
        uma.owner(&alice, "PUT", "/owner/bindings", &ask)
            .await
            .status,
        200
    );
    let ticket = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    let submitted = uma.grant_as_bob(&ticket).await;
    assert_eq!(submitted.error(), "request_submitted");
    let polled = submitted.json()["ticket"].as_str().unwrap().to_string();

    let accept = tokio::time::timeout(std::time::Duration::from_secs(10), hook.accept());
    let (mut conn, _) = accept.await.expect("the webhook was called").unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while !raw.windows(4).any(|w| w == b"\r\n\r\n") || !raw.ends_with(b"}") {
        let n = conn.read(&mut buf).await.unwrap();
        assert!(
            n > 0,
            "connection closed early: {}",
            String::from_utf8_lossy(&raw)
        );
        raw.extend_from_slice(&buf[..n]);
    }
    conn.write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
        .await
        .unwrap();
    let text = String::from_utf8(raw).unwrap();
    assert!(
        text.starts_with("POST /uma-hook?o=alice HTTP/1.1\r\n"),
        "{text}"
    );
    let body: serde_json::Value =
        serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let pending = uma.owner(&alice, "GET", "/owner/requests", "").await.json();
    assert_eq!(body["event"], "request_submitted");
    assert_eq!(body["request_id"], pending[0]["id"]);
    assert_eq!(body["resource_ids"], json!([album]));
    assert_eq!(body["subject"], BOB_SUB);
    assert!(
        !text.contains(&ticket) && !text.contains(&polled),
        "no ticket in the notice"
    );
}
