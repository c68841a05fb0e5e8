//! The claims interaction endpoint over a real router (Grant §3.3.2–§3.3.3, S-02, S-03,
//! D-CLAIMS-ERR) and what it leads to at the token endpoint (PCT issue, use, revocation).

use serde_json::json;
use umagate_proto::form::Form;

use crate::http::testkit::*;
use crate::http::umakit::*;

/// A ticket for alice's album (shared with bob for `view`) that `client` got back from a
/// `need_info` — the way a real client reaches the claims interaction endpoint.
async fn need_info_ticket(uma: &Uma, client: &str) -> (String, String) {
    let album = uma.register(ALBUM).await;
    uma.share(&album, &["view"], None).await;
    let ticket = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    let reply = uma.grant(client, &[("ticket", &ticket)]).await;
    assert_eq!(reply.error(), "need_info", "{}", reply.body);
    (album, reply.json()["ticket"].as_str().unwrap().to_string())
}

fn claims_target(params: &[(&str, &str)]) -> String {
    format!("/claims?{}", form(params))
}

/// Splits a `Location` into the URI before `?` and its parameters.
fn location(reply: &Reply) -> (String, Form) {
    assert_eq!(reply.status, 303, "{}", reply.body);
    let location = reply.header("location").unwrap();
    let (base, query) = location.split_once('?').unwrap();
    (base.to_string(), Form::parse(query.as_bytes()).unwrap())
}

/// GET /claims, sign in as bob, confirm (ticking "remember" if `persist`).
async fn gather(uma: &Uma, ticket: &str, state: Option<&str>, persist: bool) -> Reply {
    let mut browser = uma.server.browser();
    let mut params = vec![("client_id", CLIENT), ("ticket", ticket)];
    if let Some(s) = state {
        params.push(("state", s));
    }
    let page = browser.get(&claims_target(&params)).await;
    page.assert_page(200);
    let form = PageForm {
        request: page.hidden("request"),
        csrf: page.hidden("csrf"),
    };
    let consent = browser.login(&form, "bob", ALICE_PASSWORD).await;
    consent.assert_page(200);
    assert!(
        consent.body.contains("Confirm who you are"),
        "{}",
        consent.body
    );
    let mut fields = vec![
        ("request", form.request.as_str()),
        ("csrf", form.csrf.as_str()),
        ("action", "approve"),
    ];
    if persist {
        fields.push(("persist", "yes"));
    }
    browser.post("/authorize", &fields).await
}

#[tokio::test]
async fn grant_3_3_3_the_party_signs_in_and_the_client_gets_a_new_ticket_that_yields_the_rpt() {
    let uma = Uma::start().await;
    let (_, ticket) = need_info_ticket(&uma, CLIENT).await;
    let back = gather(&uma, &ticket, Some("st-1"), false).await;
    let (base, params) = location(&back);
    assert_eq!(
        base, "https://client.example/claims",
        "the registered URI, its query kept"
    );
    assert_eq!(params.get("from"), Some("as"));
    assert_eq!(params.get("state"), Some("st-1"));
    let fresh = params.get("ticket").unwrap().to_string();
    assert_ne!(fresh, ticket);
    assert!(
        params.get("email").is_none(),
        "nothing about the party goes to the client"
    );

    let reply = uma.grant(CLIENT, &[("ticket", &fresh)]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply.json().get("pct").is_none(),
        "no PCT without the party's consent"
    );
}

#[tokio::test]
async fn state_is_echoed_only_if_sent() {
    let uma = Uma::start().await;
    let (_, ticket) = need_info_ticket(&uma, CLIENT).await;
    let (_, params) = location(&gather(&uma, &ticket, None, false).await);
    assert!(params.get("state").is_none());
}

#[tokio::test]
async fn u1_the_ticket_is_consumed_at_the_claims_endpoint_and_a_used_one_redirects_invalid_request()
{
    let uma = Uma::start().await;
    let (_, ticket) = need_info_ticket(&uma, CLIENT).await;
    let mut browser = uma.server.browser();
    let target = claims_target(&[("client_id", CLIENT), ("ticket", &ticket), ("state", "s")]);
    browser.get(&target).await.assert_page(200);
    assert_eq!(
        uma.grant(CLIENT, &[("ticket", &ticket)]).await.error(),
        "invalid_grant"
    );
    let (base, params) = location(&browser.get(&target).await);
    assert_eq!(base, "https://client.example/claims");
    assert_eq!(params.get("error"), Some("invalid_request"));
    assert_eq!(params.get("state"), Some("s"));
}

#[tokio::test]
async fn s_03_an_unregistered_or_ambiguous_claims_redirect_uri_is_never_redirected_to() {
    let uma = Uma::start().await;
    let (_, ticket) = need_info_ticket(&uma, CLIENT).await;
    let mut browser = uma.server.browser();
    for params in [
        vec![
            ("client_id", CLIENT),
            ("ticket", ticket.as_str()),
            ("claims_redirect_uri", "https://evil.example/cb"),
        ],
        vec![
            ("client_id", CLIENT),
            ("ticket", ticket.as_str()),
            ("claims_redirect_uri", "https://client.example/claims"),
        ],
        vec![("client_id", OTHER), ("ticket", ticket.as_str())],
        vec![
            ("client_id", APP),
            ("ticket", ticket.as_str()),
            ("claims_redirect_uri", APP_CB),
        ],
        vec![("client_id", "nobody"), ("ticket", ticket.as_str())],
        vec![("ticket", ticket.as_str())],
    ] {
        let reply = browser.get(&claims_target(&params)).await;
        reply.assert_page(400);
        assert!(reply.header("location").is_none(), "{params:?}");
    }
    // None of those consumed the ticket.
    assert_eq!(
        uma.grant(CLIENT, &[("ticket", &ticket)]).await.error(),
        "need_info"
    );
}

#[tokio::test]
async fn d_claims_err_declining_redirects_access_denied_with_state() {
    let uma = Uma::start().await;
    let (_, ticket) = need_info_ticket(&uma, CLIENT).await;
    let mut browser = uma.server.browser();
    let page = browser
        .get(&claims_target(&[
            ("client_id", CLIENT),
            ("ticket", &ticket),
            ("state", "s2"),
        ]))
        .await;
    let form = PageForm {
        request: page.hidden("request"),
        csrf: page.hidden("csrf"),
    };
    browser
        .login(&form, "bob", ALICE_PASSWORD)
        .await
        .assert_page(200);
    let (_, params) = location(&browser.decide(&form, "deny").await);
    assert_eq!(params.get("error"), Some("access_denied"));
    assert_eq!(params.get("state"), Some("s2"));
    assert!(params.get("ticket").is_none());
}

#[tokio::test]
async fn s_02_a_post_without_the_csrf_cookie_of_this_interaction_is_refused() {
    let uma = Uma::start().await;
    let (_, ticket) = need_info_ticket(&uma, CLIENT).await;
    let mut victim = uma.server.browser();
    let page = victim
        .get(&claims_target(&[
            ("client_id", CLIENT),
            ("ticket", &ticket),
        ]))
        .await;
    let form = PageForm {
        request: page.hidden("request"),
        csrf: page.hidden("csrf"),
    };
    // Another browser (the attacker's) replays the victim's form fields.
    let mut attacker = uma.server.browser();
    let reply = attacker.login(&form, "bob", ALICE_PASSWORD).await;
    reply.assert_page(403);
}

#[tokio::test]
async fn a_pct_is_issued_with_consent_used_bound_to_its_client_and_revocable() {
    let uma = Uma::start().await;
    let (album, ticket) = need_info_ticket(&uma, CLIENT).await;
    let (_, params) = location(&gather(&uma, &ticket, None, true).await);
    let reply = uma
        .grant(CLIENT, &[("ticket", params.get("ticket").unwrap())])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let pct = reply.json()["pct"].as_str().unwrap().to_string();
    assert!(pct.len() >= 43, "256-bit handle");

    // Later: a new ticket with only the PCT suffices.
    let fresh = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    let reply = uma
        .grant(CLIENT, &[("ticket", &fresh), ("pct", &pct)])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply.json().get("pct").is_none(),
        "the PCT sent stays the PCT"
    );

    // D-PCT-FOREIGN: another client's use of it is ignored (identity needed again).
    let fresh = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    assert_eq!(
        uma.grant(OTHER, &[("ticket", &fresh), ("pct", &pct)])
            .await
            .error(),
        "need_info"
    );

    // Revoked with token_type_hint=pct (only by its client): then ignored.
    let revoke = |client: &'static str| {
        let pct = pct.clone();
        let server = &uma.server;
        async move {
            server
                .post_as(
                    client,
                    CLIENT_SECRET,
                    "/revoke",
                    &[("token", &pct), ("token_type_hint", "pct")],
                )
                .await
        }
    };
    assert_eq!(revoke(OTHER).await.status, 200);
    let fresh = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    assert_eq!(
        uma.grant(CLIENT, &[("ticket", &fresh), ("pct", &pct)])
            .await
            .status,
        200,
        "another client cannot revoke it"
    );
    assert_eq!(revoke(CLIENT).await.status, 200);
    let fresh = uma
        .ticket(json!({"resource_id": album, "resource_scopes": ["view"]}))
        .await;
    assert_eq!(
        uma.grant(CLIENT, &[("ticket", &fresh), ("pct", &pct)])
            .await
            .error(),
        "need_info"
    );
}
