//! The protection API over a real router, each test named after the statement it checks
//! (uma-spec.md §3, §8).

use serde_json::{Value, json};

use crate::http::testkit::*;
use crate::http::{now, protection};
use crate::secrets;
use crate::store::{TokenKind, TokenRecord};

const ALICE_SUB: &str = "u-alice";
const PHOTO: &str = r#"{"name":"Photo album","type":"http://photoz.example.com/dev/scopes/album","resource_scopes":["view","print"]}"#;

/// Stores an access token for `client` / `subject` with `scope` and returns it.
async fn issue(server: &TestAs, client: &str, subject: Option<&str>, scope: &str) -> String {
    issue_with(
        server,
        client,
        subject,
        scope,
        TokenKind::Access,
        3600,
        None,
    )
    .await
}

async fn issue_with(
    server: &TestAs,
    client: &str,
    subject: Option<&str>,
    scope: &str,
    kind: TokenKind,
    lifetime: i64,
    revoked_at: Option<i64>,
) -> String {
    let token = secrets::new_handle().unwrap();
    let now = now();
    let record = TokenRecord {
        token_hash: secrets::digest(&token),
        kind,
        family_id: secrets::new_handle().unwrap(),
        client_id: client.into(),
        subject: subject.map(str::to_string),
        scope: scope.into(),
        issued_at: now - 10,
        expires_at: now + lifetime,
        used_at: None,
        revoked_at,
    };
    server.state.store.insert_token(&record).await.unwrap();
    token
}

/// A PAT of the trusted resource server for alice.
async fn alice_pat(server: &TestAs) -> String {
    issue(server, RS, Some(ALICE_SUB), "uma_protection").await
}

/// One request with an optional bearer token, JSON body.
async fn call(server: &TestAs, method: &str, path: &str, pat: Option<&str>, body: &str) -> Reply {
    let mut headers = Vec::new();
    if let Some(pat) = pat {
        headers.push(("Authorization", format!("Bearer {pat}")));
    }
    if !body.is_empty() {
        headers.push(("Content-Type", "application/json".to_string()));
    }
    send(server.addr, method, path, &headers, body.as_bytes()).await
}

/// Registers `body` and returns its `_id`.
async fn register(server: &TestAs, pat: &str, body: &str) -> String {
    let reply = call(server, "POST", "/rreg", Some(pat), body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()["_id"].as_str().unwrap().to_string()
}

fn assert_error(reply: &Reply, status: u16, error: &str) {
    assert_eq!(
        (reply.status, reply.error().as_str()),
        (status, error),
        "{reply:?}"
    );
}

#[tokio::test]
async fn u8_protection_api_requires_a_pat_with_uma_protection() {
    let server = TestAs::start().await;
    let id = register(&server, &alice_pat(&server).await, PHOTO).await;
    let item = format!("/rreg/{id}");
    let perm = format!(r#"{{"resource_id":"{id}","resource_scopes":["view"]}}"#);
    let endpoints: Vec<(&str, &str, &str)> = vec![
        ("GET", "/rreg", ""),
        ("POST", "/rreg", PHOTO),
        ("GET", &item, ""),
        ("PUT", &item, PHOTO),
        ("DELETE", &item, ""),
        ("POST", "/perm", &perm),
    ];
    let no_scope = issue(&server, RS, Some(ALICE_SUB), "openid read").await;
    let expired = issue_with(
        &server,
        RS,
        Some(ALICE_SUB),
        "uma_protection",
        TokenKind::Access,
        -1,
        None,
    )
    .await;
    let revoked = issue_with(
        &server,
        RS,
        Some(ALICE_SUB),
        "uma_protection",
        TokenKind::Access,
        3600,
        Some(now() - 1),
    )
    .await;
    let refresh = issue_with(
        &server,
        RS,
        Some(ALICE_SUB),
        "uma_protection",
        TokenKind::Refresh,
        3600,
        None,
    )
    .await;
    for (method, path, body) in endpoints {
        let reply = call(&server, method, path, None, body).await;
        assert_eq!(reply.status, 401, "{method} {path}");
        assert_eq!(
            reply.header("www-authenticate"),
            Some(r#"Bearer realm="umagate""#)
        );
        let basic = send(
            server.addr,
            method,
            path,
            &[("Authorization", "Basic cnM6cnM=".into())],
            body.as_bytes(),
        )
        .await;
        assert_eq!(basic.status, 401, "Basic is no PAT: {method} {path}");
        for bad in ["not-a-token", &expired, &revoked, &refresh] {
            let reply = call(&server, method, path, Some(bad), body).await;
            assert_error(&reply, 401, "invalid_token");
            assert_eq!(
                reply.header("www-authenticate"),
                Some(r#"Bearer realm="umagate", error="invalid_token""#)
            );
        }
        let reply = call(&server, method, path, Some(&no_scope), body).await;
        assert_error(&reply, 403, "insufficient_scope");
        assert_eq!(
            reply.header("www-authenticate"),
            Some(r#"Bearer realm="umagate", error="insufficient_scope", scope="uma_protection""#)
        );
        let pat = alice_pat(&server).await;
        let in_query = call(
            &server,
            method,
            &format!("{path}?access_token={pat}"),
            None,
            body,
        )
        .await;
        assert_error(&in_query, 400, "invalid_request");
    }
    // A PAT from the token endpoint (client credentials, D-PAT-DEFAULT) works.
    let reply = server
        .post_as(
            RS,
            RS_SECRET,
            "/token",
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let pat = reply.json()["access_token"].as_str().unwrap().to_string();
    let reply = send(
        server.addr,
        "GET",
        "/rreg",
        &[
            ("Authorization", format!("Bearer {pat}")),
            ("X-Umagate-Owner", ALICE_SUB.into()),
        ],
        b"",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json(), json!([id]), "the same (RS, owner) pair");
}

#[tokio::test]
async fn u10_create_returns_201_location_and_id() {
    let server = TestAs::start().await;
    let pat = alice_pat(&server).await;
    let body = r#"{"_id":"chosen-by-rs","name":"Photo album","resource_scopes":["view"],"name#fr":"Album","x-ext":1}"#;
    let reply = call(&server, "POST", "/rreg", Some(&pat), body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let created = reply.json();
    let id = created["_id"].as_str().unwrap().to_string();
    assert_ne!(
        id, "chosen-by-rs",
        "a client-supplied _id is ignored (D-ID)"
    );
    assert_eq!(id.len(), 22);
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(
        reply.header("location"),
        Some(format!("/rreg/{id}").as_str())
    );
    assert_eq!(
        created,
        json!({"_id": id, "name": "Photo album", "resource_scopes": ["view"], "name#fr": "Album"})
    );
    let read = call(&server, "GET", &format!("/rreg/{id}"), Some(&pat), "").await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.json(), created);
    // Stored without `_id`, scoped to the pair.
    let record = server
        .state
        .store
        .resource(RS, ALICE_SUB, &id)
        .await
        .unwrap()
        .unwrap();
    assert!(!record.description.contains("_id"));
    // Ids differ.
    assert_ne!(register(&server, &pat, PHOTO).await, id);
}

#[tokio::test]
async fn u10_foreign_ids_are_404() {
    let server = TestAs::start().await;
    server.add_user("carol").await;
    let alice = alice_pat(&server).await;
    let id = register(&server, &alice, PHOTO).await;
    let carol_rs = issue(&server, RS, Some("u-carol"), "uma_protection").await;
    let alice_rs2 = issue(&server, "rs2", Some(ALICE_SUB), "uma_protection").await;
    for other in [&carol_rs, &alice_rs2] {
        for (method, body) in [("GET", ""), ("PUT", PHOTO), ("DELETE", "")] {
            let reply = call(&server, method, &format!("/rreg/{id}"), Some(other), body).await;
            assert_error(&reply, 404, "not_found");
        }
        let list = call(&server, "GET", "/rreg", Some(other), "").await;
        assert_eq!((list.status, list.json()), (200, json!([])));
        let perm = format!(r#"{{"resource_id":"{id}","resource_scopes":[]}}"#);
        let reply = call(&server, "POST", "/perm", Some(other), &perm).await;
        assert_error(&reply, 400, "invalid_resource_id");
    }
    for (method, body) in [("GET", ""), ("PUT", PHOTO), ("DELETE", "")] {
        let reply = call(&server, method, "/rreg/unknown-id", Some(&alice), body).await;
        assert_error(&reply, 404, "not_found");
    }
    // Still there, unchanged, for its owner.
    let reply = call(&server, "GET", &format!("/rreg/{id}"), Some(&alice), "").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["name"], "Photo album");
}

#[tokio::test]
async fn u10_unsupported_methods_are_405_with_allow() {
    let server = TestAs::start().await;
    let pat = alice_pat(&server).await;
    let id = register(&server, &pat, PHOTO).await;
    let item = format!("/rreg/{id}");
    for (method, path, allow) in [
        ("PATCH", item.as_str(), "GET, HEAD, PUT, DELETE"),
        ("POST", item.as_str(), "GET, HEAD, PUT, DELETE"),
        ("PUT", "/rreg", "GET, HEAD, POST"),
        ("DELETE", "/rreg", "GET, HEAD, POST"),
        ("PUT", "/rreg/", "GET, HEAD, POST"),
        ("DELETE", "/rreg/", "GET, HEAD, POST"),
        ("PATCH", "/rreg", "GET, HEAD, POST"),
        ("GET", "/perm", "POST"),
        ("PUT", "/perm", "POST"),
    ] {
        for token in [None, Some(pat.as_str())] {
            let reply = call(&server, method, path, token, PHOTO).await;
            assert_eq!(reply.status, 405, "{method} {path}");
            assert_eq!(reply.header("allow"), Some(allow), "{method} {path}");
            assert_eq!(reply.json(), json!({"error": "unsupported_method_type"}));
        }
    }
    // Nothing changed.
    let list = call(&server, "GET", "/rreg", Some(&pat), "").await;
    assert_eq!(list.json(), json!([id]));
}

#[tokio::test]
async fn u10_duplicate_members_and_bad_bodies_are_400() {
    let server = TestAs::start().await;
    let pat = alice_pat(&server).await;
    let id = register(&server, &pat, PHOTO).await;
    let item = format!("/rreg/{id}");
    for bad in [
        r#"{"resource_scopes":["view"],"resource_scopes":["print"]}"#,
        r#"{"resource_scopes":["view"],"name":"a","name":"b"}"#,
        r#"{"name":"no scopes"}"#,
        r#"{"resource_scopes":"view"}"#,
        r#"{"resource_scopes":[1]}"#,
        r#"{"resource_scopes":["view","view"]}"#,
        r#"{"resource_scopes":["a b"]}"#,
        r#"{"resource_scopes":["view"],"icon_uri":"javascript:alert(1)"}"#,
        r#"[{"resource_scopes":["view"]}]"#,
        r#"{"resource_scopes":["view"]"#,
        "",
        "null",
    ] {
        for (method, path) in [("POST", "/rreg"), ("PUT", item.as_str())] {
            let reply = send(
                server.addr,
                method,
                path,
                &[
                    ("Authorization", format!("Bearer {pat}")),
                    ("Content-Type", "application/json".into()),
                ],
                bad.as_bytes(),
            )
            .await;
            assert_error(&reply, 400, "invalid_request");
        }
    }
    // D-CT: a JSON body under another or no Content-Type is refused, never 415.
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        for (method, path) in [("POST", "/rreg"), ("PUT", item.as_str())] {
            let mut headers = vec![("Authorization", format!("Bearer {pat}"))];
            if let Some(ct) = content_type {
                headers.push(("Content-Type", ct.to_string()));
            }
            let reply = send(server.addr, method, path, &headers, PHOTO.as_bytes()).await;
            assert_error(&reply, 400, "invalid_request");
        }
    }
    // Parameters on the media type are fine; D-EMPTY-SCOPES: `[]` is accepted.
    let reply = send(
        server.addr,
        "POST",
        "/rreg",
        &[
            ("Authorization", format!("Bearer {pat}")),
            ("Content-Type", "application/json; charset=utf-8".into()),
        ],
        br#"{"resource_scopes":[]}"#,
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    // Nothing was registered or changed by the refused requests.
    let list = call(&server, "GET", "/rreg", Some(&pat), "").await;
    assert_eq!(list.json().as_array().unwrap().len(), 2);
    let read = call(&server, "GET", &item, Some(&pat), "").await;
    assert_eq!(read.json()["name"], "Photo album");
}

#[tokio::test]
async fn d_id_put_body_id_must_match() {
    let server = TestAs::start().await;
    let pat = alice_pat(&server).await;
    let id = register(&server, &pat, PHOTO).await;
    let other = register(&server, &pat, PHOTO).await;
    let item = format!("/rreg/{id}");
    let mismatched = format!(r#"{{"_id":"{other}","resource_scopes":["view"]}}"#);
    let reply = call(&server, "PUT", &item, Some(&pat), &mismatched).await;
    assert_error(&reply, 400, "invalid_request");
    let matching = format!(r#"{{"_id":"{id}","resource_scopes":["view"],"name":"Renamed"}}"#);
    let reply = call(&server, "PUT", &item, Some(&pat), &matching).await;
    assert_eq!((reply.status, reply.json()), (200, json!({"_id": id})));
    let read = call(&server, "GET", &item, Some(&pat), "").await;
    assert_eq!(
        read.json(),
        json!({"_id": id, "name": "Renamed", "resource_scopes": ["view"]})
    );
    // The other resource is untouched.
    let read = call(&server, "GET", &format!("/rreg/{other}"), Some(&pat), "").await;
    assert_eq!(read.json()["name"], "Photo album");
}

#[tokio::test]
async fn d_rreg_slash_both_forms_work() {
    let server = TestAs::start().await;
    let pat = alice_pat(&server).await;
    let first = register(&server, &pat, PHOTO).await;
    let reply = call(&server, "POST", "/rreg/", Some(&pat), PHOTO).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let second = reply.json()["_id"].as_str().unwrap().to_string();
    assert_eq!(
        reply.header("location"),
        Some(format!("/rreg/{second}").as_str())
    );
    for path in ["/rreg", "/rreg/"] {
        let list = call(&server, "GET", path, Some(&pat), "").await;
        assert_eq!(list.status, 200, "{path}");
        let mut ids: Vec<String> = serde_json::from_str(&list.body).unwrap();
        ids.sort();
        let mut expected = vec![first.clone(), second.clone()];
        expected.sort();
        assert_eq!(ids, expected, "{path}");
    }
    // Discovery advertises the endpoints without a trailing slash.
    let meta = send(
        server.addr,
        "GET",
        "/.well-known/uma2-configuration",
        &[],
        b"",
    )
    .await
    .json();
    assert_eq!(
        meta["resource_registration_endpoint"],
        format!("{}/rreg", server.issuer)
    );
    assert_eq!(
        meta["permission_endpoint"],
        format!("{}/perm", server.issuer)
    );
    assert!(meta.get("uma_profiles_supported").is_none());
}

#[tokio::test]
async fn u9_permission_request_for_unknown_resource_or_scope() {
    let server = TestAs::start().await;
    let pat = alice_pat(&server).await;
    let id = register(&server, &pat, PHOTO).await;
    let empty = register(&server, &pat, r#"{"resource_scopes":[]}"#).await;
    let perm = |rid: &str, scopes: &str| {
        format!(r#"{{"resource_id":"{rid}","resource_scopes":{scopes}}}"#)
    };
    let cases: Vec<(String, &str)> = vec![
        (perm("nope", r#"["view"]"#), "invalid_resource_id"),
        (perm(&id, r#"["delete"]"#), "invalid_scope"),
        (perm(&empty, r#"["view"]"#), "invalid_scope"),
        (
            format!(
                "[{},{}]",
                perm(&id, r#"["view"]"#),
                perm(&id, r#"["view","crop"]"#)
            ),
            "invalid_scope",
        ),
        (
            format!("[{},{}]", perm(&id, r#"["crop"]"#), perm("nope", "[]")),
            "invalid_resource_id",
        ),
        // D-PERM-MALFORMED.
        ("[]".into(), "invalid_request"),
        (r#"{"resource_id":"x"}"#.into(), "invalid_request"),
        (r#"{"resource_scopes":[]}"#.into(), "invalid_request"),
        (perm(&id, "null"), "invalid_request"),
        (
            r#"{"resource_id":null,"resource_scopes":[]}"#.into(),
            "invalid_request",
        ),
        (r#"{"resource_id":"#.into(), "invalid_request"),
        (r#""x""#.into(), "invalid_request"),
        (
            format!(r#"{{"resource_id":"{id}","resource_id":"{id}","resource_scopes":[]}}"#),
            "invalid_request",
        ),
    ];
    for (body, error) in cases {
        let reply = call(&server, "POST", "/perm", Some(&pat), &body).await;
        assert_error(&reply, 400, error);
    }
    let reply = send(
        server.addr,
        "POST",
        "/perm",
        &[
            ("Authorization", format!("Bearer {pat}")),
            ("Content-Type", "text/plain".into()),
        ],
        perm(&id, "[]").as_bytes(),
    )
    .await;
    assert_error(&reply, 400, "invalid_request");
    // Zero scopes and registered scopes are fine.
    for body in [
        perm(&id, "[]"),
        perm(&id, r#"["view","print"]"#),
        perm(&empty, "[]"),
    ] {
        let reply = call(&server, "POST", "/perm", Some(&pat), &body).await;
        assert_eq!(reply.status, 201, "{body}: {}", reply.body);
    }
}

#[tokio::test]
async fn permission_request_returns_one_ticket_stored_hashed() {
    let server = TestAs::start().await;
    let pat = alice_pat(&server).await;
    let album = register(&server, &pat, PHOTO).await;
    let doc = register(&server, &pat, r#"{"resource_scopes":["read","write"]}"#).await;
    let body = json!([
        {"resource_id": album, "resource_scopes": ["view"]},
        {"resource_id": doc, "resource_scopes": ["read", "write"], "claims": {"ignored": true}},
    ]);
    let before = now();
    let reply = call(&server, "POST", "/perm", Some(&pat), &body.to_string()).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let answer = reply.json();
    let object = answer.as_object().unwrap();
    assert_eq!(object.len(), 1, "one ticket, nothing else: {answer}");
    let ticket = answer["ticket"].as_str().unwrap().to_string();
    assert_eq!(ticket.len(), 43, "256 bits, base64url without padding");
    assert!(
        ticket
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    let store = &server.state.store;
    assert!(
        store.ticket(&ticket).await.unwrap().is_none(),
        "not stored in clear"
    );
    let record = store
        .ticket(&secrets::digest(&ticket))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (record.client_id.as_str(), record.owner.as_str()),
        (RS, ALICE_SUB)
    );
    let permissions: Value = serde_json::from_str(&record.permissions).unwrap();
    assert_eq!(
        permissions,
        json!([
            {"resource_id": album, "resource_scopes": ["view"]},
            {"resource_id": doc, "resource_scopes": ["read", "write"]},
        ])
    );
    assert!(record.created_at >= before);
    assert_eq!(
        record.expires_at - record.created_at,
        crate::config::UmaConfig::default().ticket_secs
    );
    assert_eq!(record.consumed_at, None);
    // A single object works too, and every request gets a new ticket.
    let single = json!({"resource_id": album, "resource_scopes": []}).to_string();
    let again = call(&server, "POST", "/perm", Some(&pat), &single).await;
    assert_eq!(again.status, 201);
    assert_ne!(again.json()["ticket"].as_str().unwrap(), ticket);
    // Single use.
    let digest = secrets::digest(&ticket);
    let consumed = store.consume_ticket(&digest, now()).await.unwrap().unwrap();
    assert!(consumed.consumed_at.is_some());
    assert_eq!(store.consume_ticket(&digest, now()).await.unwrap(), None);
}

#[tokio::test]
async fn fedauthz_3_2_full_crud_round_trip() {
    let server = TestAs::start().await;
    let pat = alice_pat(&server).await;
    // Create.
    let reply = call(&server, "POST", "/rreg/", Some(&pat), PHOTO).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let id = reply.json()["_id"].as_str().unwrap().to_string();
    let location = reply.header("location").unwrap().to_string();
    // Read.
    let read = call(&server, "GET", &location, Some(&pat), "").await;
    assert_eq!(read.status, 200);
    let mut expected: Value = serde_json::from_str(PHOTO).unwrap();
    expected["_id"] = json!(id);
    assert_eq!(read.json(), expected);
    // List.
    let list = call(&server, "GET", "/rreg", Some(&pat), "").await;
    assert_eq!((list.status, list.json()), (200, json!([id])));
    // Update: a complete replacement, omitted members removed.
    let replacement = r#"{"resource_scopes":["view"],"description":"Holiday photos"}"#;
    let reply = call(&server, "PUT", &location, Some(&pat), replacement).await;
    assert_eq!((reply.status, reply.json()), (200, json!({"_id": id})));
    let read = call(&server, "GET", &location, Some(&pat), "").await;
    assert_eq!(
        read.json(),
        json!({"_id": id, "resource_scopes": ["view"], "description": "Holiday photos"})
    );
    // The permission endpoint sees the new scopes.
    let print = json!({"resource_id": id, "resource_scopes": ["print"]}).to_string();
    let reply = call(&server, "POST", "/perm", Some(&pat), &print).await;
    assert_error(&reply, 400, "invalid_scope");
    // Delete.
    let reply = call(&server, "DELETE", &location, Some(&pat), "").await;
    assert_eq!(reply.status, 204);
    assert!(reply.body.is_empty());
    for (method, body) in [("GET", ""), ("PUT", PHOTO), ("DELETE", "")] {
        let reply = call(&server, method, &location, Some(&pat), body).await;
        assert_error(&reply, 404, "not_found");
    }
    let list = call(&server, "GET", "/rreg", Some(&pat), "").await;
    assert_eq!(list.json(), json!([]));
    let view = json!({"resource_id": id, "resource_scopes": []}).to_string();
    let reply = call(&server, "POST", "/perm", Some(&pat), &view).await;
    assert_error(&reply, 400, "invalid_resource_id");
}

#[tokio::test]
async fn trusted_rs_may_name_the_owner() {
    let server = TestAs::start().await;
    server.add_user("carol").await;
    let subjectless = issue(&server, RS, None, "uma_protection").await;
    let as_owner = |pat: &str, owner: Option<&str>| {
        let mut headers = vec![
            ("Authorization", format!("Bearer {pat}")),
            ("Content-Type", "application/json".to_string()),
        ];
        if let Some(owner) = owner {
            headers.push(("X-Umagate-Owner", owner.to_string()));
        }
        headers
    };
    let reply = send(
        server.addr,
        "POST",
        "/rreg",
        &as_owner(&subjectless, Some(ALICE_SUB)),
        PHOTO.as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let id = reply.json()["_id"].as_str().unwrap().to_string();
    // The resource is alice's at this RS: her own PAT sees it, carol (named) does not.
    let list = call(&server, "GET", "/rreg", Some(&alice_pat(&server).await), "").await;
    assert_eq!(list.json(), json!([id]));
    let carol = send(
        server.addr,
        "GET",
        &format!("/rreg/{id}"),
        &as_owner(&subjectless, Some("u-carol")),
        b"",
    )
    .await;
    assert_error(&carol, 404, "not_found");
    let perm = json!({"resource_id": id, "resource_scopes": ["view"]}).to_string();
    let reply = send(
        server.addr,
        "POST",
        "/perm",
        &as_owner(&subjectless, Some(ALICE_SUB)),
        perm.as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    // Refused: no owner at all, an unknown owner, a username instead of a subject, a PAT with a
    // subject naming an owner (even itself), an untrusted client naming one, two headers.
    let alice = alice_pat(&server).await;
    let untrusted = issue(&server, M2M, None, "uma_protection").await;
    let mut two = as_owner(&subjectless, Some(ALICE_SUB));
    two.push(("X-Umagate-Owner", "u-carol".into()));
    for headers in [
        as_owner(&subjectless, None),
        as_owner(&subjectless, Some("u-nobody")),
        as_owner(&subjectless, Some(ALICE)),
        as_owner(&alice, Some("u-carol")),
        as_owner(&alice, Some(ALICE_SUB)),
        as_owner(&untrusted, Some(ALICE_SUB)),
        two,
    ] {
        let reply = send(server.addr, "GET", "/rreg", &headers, b"").await;
        assert_error(&reply, 400, "invalid_request");
    }
}

#[test]
fn route_paths_extend_the_advertised_endpoint() {
    use umagate_proto::paths::RESOURCE_REGISTRATION;
    assert_eq!(protection::RREG_SLASH, format!("{RESOURCE_REGISTRATION}/"));
    assert_eq!(
        protection::RREG_ITEM,
        format!("{RESOURCE_REGISTRATION}/{{id}}")
    );
}
