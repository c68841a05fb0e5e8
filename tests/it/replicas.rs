//! Two AS replicas on one PostgreSQL (issue 5): two `umagate serve` processes share a fresh
//! database; tickets, owner approvals and revocations made on one are honoured by the other, and
//! 50 concurrent presentations of one ticket, spread over both, yield exactly one RPT (Grant
//! §5.5, U1). Needs `UMAGATE_TEST_POSTGRES_URL` (`scripts/test` sets it): without it the test
//! fails, it is never skipped.

use std::net::SocketAddr;
use std::sync::Barrier;

use serde_json::{Value, json};
use sqlx::Connection;
use umagate_proto::claims::{Audience, IdTokenClaims};
use umagate_server::keys::KeyRing;
use umagate_server::secrets;
use umagate_server::store::{Store, TokenKind, TokenRecord};

use crate::wire::{Response, Scratch, Server, base64, call, form};

const ISSUER: &str = "https://as.replicas.test";
const RS: &str = "replica-rs";
const APP: &str = "replica-app";
const SECRET: &str = "replica-secret-0123456789";
const ID_TOKEN: &str = "http://openid.net/specs/openid-connect-core-1_0.html#IDToken";
const PRESENTATIONS: usize = 50;

/// A fresh database in the test cluster, dropped at the end.
struct Database {
    admin_url: String,
    name: String,
    url: String,
}

impl Database {
    fn create(runtime: &tokio::runtime::Runtime) -> Self {
        let admin_url = std::env::var("UMAGATE_TEST_POSTGRES_URL")
            .expect("UMAGATE_TEST_POSTGRES_URL must name a PostgreSQL cluster (scripts/test)");
        let name = format!("umagate_replicas_{:016x}", crate::wire::random_u64());
        runtime.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .unwrap();
        });
        let (base, _) = admin_url.rsplit_once('/').unwrap();
        let url = format!("{base}/{name}");
        Self {
            admin_url,
            name,
            url,
        }
    }

    fn drop_with(&self, runtime: &tokio::runtime::Runtime) {
        runtime.block_on(async {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin_url).await {
                let _ = sqlx::query(&format!("DROP DATABASE {} WITH (FORCE)", self.name))
                    .execute(&mut conn)
                    .await;
            }
        });
    }
}

fn write_config(dir: &std::path::Path, url: &str) {
    let config = format!(
        r#"[server]
issuer = "{ISSUER}"
data_dir = {data:?}

[database]
url = "{url}"

[[clients]]
client_id = "{RS}"
secret = "{SECRET}"
resource_server = true
grant_types = ["client_credentials"]

[[clients]]
client_id = "{APP}"
secret = "{SECRET}"
grant_types = ["urn:ietf:params:oauth:grant-type:uma-ticket"]

[[users]]
username = "alice"
password = "alice-password"

[[users]]
username = "bob"
password = "bob-password"
email = "bob@example.com"
email_verified = true
"#,
        data = dir.join("data").display().to_string(),
    );
    std::fs::write(dir.join("umagate.toml"), config).unwrap();
}

fn basic(client: &str) -> String {
    format!("Basic {}", base64(format!("{client}:{SECRET}").as_bytes()))
}

fn post_form(addr: SocketAddr, path: &str, client: &str, fields: &[(&str, &str)]) -> Response {
    let auth = basic(client);
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    call(addr, "POST", path, &headers, form(fields).as_bytes()).unwrap()
}

fn json_call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    owner: Option<&str>,
    body: &Value,
) -> Response {
    let auth = format!("Bearer {token}");
    let mut headers = vec![
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    if let Some(owner) = owner {
        headers.push(("X-Umagate-Owner", owner));
    }
    let bytes = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    call(addr, method, path, &headers, &bytes).unwrap()
}

/// The UMA grant for `ticket` with bob's ID token.
fn grant(addr: SocketAddr, ticket: &str, id_token: &str) -> Response {
    post_form(
        addr,
        "/token",
        APP,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:uma-ticket"),
            ("ticket", ticket),
            ("claim_token", id_token),
            ("claim_token_format", ID_TOKEN),
        ],
    )
}

#[test]
fn two_replicas_share_tickets_approvals_and_revocations_and_a_ticket_is_redeemed_once() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = Database::create(&runtime);
    let scratch = Scratch::new("replicas");
    write_config(&scratch.0, &db.url);
    // One after the other: the second finds the declared users the first created.
    let server_a = Server::start(&scratch.0, "a", "warn");
    let server_b = Server::start(&scratch.0, "b", "warn");
    let (a, b) = (server_a.addr, server_b.addr);

    // Setup through the store both replicas use: subjects, an owner token for alice, and an
    // ID token for bob signed with the AS's key (what its login would issue).
    let now = umagate_server::http::now();
    let (alice, bob, owner_token, id_token) = runtime.block_on(async {
        let store = Store::open(&db.url, 2).await.unwrap();
        let alice = store
            .user_by_username("alice")
            .await
            .unwrap()
            .unwrap()
            .subject;
        let bob = store
            .user_by_username("bob")
            .await
            .unwrap()
            .unwrap()
            .subject;
        let owner_token = secrets::new_handle().unwrap();
        store
            .insert_token(&TokenRecord {
                token_hash: secrets::digest(&owner_token),
                kind: TokenKind::Access,
                family_id: secrets::new_handle().unwrap(),
                client_id: APP.into(),
                subject: Some(alice.clone()),
                scope: "uma_owner".into(),
                issued_at: now,
                expires_at: now + 3600,
                used_at: None,
                revoked_at: None,
            })
            .await
            .unwrap();
        let keys = KeyRing::load_or_create(&store, now).await.unwrap();
        let claims = IdTokenClaims {
            iss: ISSUER.into(),
            sub: bob.clone(),
            aud: Audience::One(APP.into()),
            exp: now + 600,
            iat: now,
            auth_time: Some(now),
            nonce: None,
            azp: None,
            email: Some("bob@example.com".into()),
            email_verified: Some(true),
            name: None,
            preferred_username: Some("bob".into()),
            other: Default::default(),
        };
        let id_token = keys.signer().sign("JWT", &claims).unwrap();
        (alice, bob, owner_token, id_token)
    });

    // The resource server's PAT from A; the resource registered on B.
    let pat =
        post_form(a, "/token", RS, &[("grant_type", "client_credentials")]).json()["access_token"]
            .as_str()
            .unwrap()
            .to_string();
    let album = json!({"name": "Album", "type": "album", "resource_scopes": ["view"]});
    let created = json_call(b, "POST", "/rreg", &pat, Some(&alice), &album);
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["_id"].as_str().unwrap().to_string();
    let permission = json!({"resource_id": id, "resource_scopes": ["view"]});
    let ticket = |on: SocketAddr| {
        let reply = json_call(on, "POST", "/perm", &pat, Some(&alice), &permission);
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.json()["ticket"].as_str().unwrap().to_string()
    };

    // "Ask me" set on B; a ticket from A presented on B is submitted to alice.
    let ask = json!({"target": {"all": true}, "ask_owner": true});
    assert_eq!(
        json_call(b, "PUT", "/owner/bindings", &owner_token, None, &ask).status,
        200
    );
    let submitted = grant(b, &ticket(a), &id_token);
    assert_eq!(
        submitted.json()["error"],
        "request_submitted",
        "{}",
        submitted.body
    );
    assert_eq!(submitted.header("cache-control"), Some("no-store"));
    let polled = submitted.json()["ticket"].as_str().unwrap().to_string();
    // Alice approves on A; the poll on A gets the RPT.
    let pending = json_call(
        a,
        "GET",
        "/owner/requests?status=pending",
        &owner_token,
        None,
        &Value::Null,
    )
    .json();
    assert_eq!(pending[0]["subject"], bob.as_str());
    let request_id = pending[0]["id"].as_str().unwrap();
    let approved = json_call(
        a,
        "POST",
        &format!("/owner/requests/{request_id}/approve"),
        &owner_token,
        None,
        &Value::Null,
    );
    assert_eq!(approved.status, 200, "{}", approved.body);
    let reply = grant(a, &polled, &id_token);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let rpt = reply.json()["access_token"].as_str().unwrap().to_string();

    // Introspected on B, revoked on B, inactive on A.
    let introspect = |on: SocketAddr| {
        let auth = format!("Bearer {pat}");
        let headers = [
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("X-Umagate-Owner", alice.as_str()),
        ];
        call(
            on,
            "POST",
            "/introspect",
            &headers,
            form(&[("token", &rpt)]).as_bytes(),
        )
        .unwrap()
        .json()
    };
    assert_eq!(introspect(b)["active"], true);
    assert_eq!(post_form(b, "/revoke", APP, &[("token", &rpt)]).status, 200);
    assert_eq!(introspect(a), json!({"active": false}));

    // A share made on A; one ticket presented 50 times at once over both: one RPT.
    let share = json!({"resource_id": id, "user": "bob", "scopes": ["view"]});
    assert_eq!(
        json_call(a, "POST", "/owner/shares", &owner_token, None, &share).status,
        201
    );
    let contested = ticket(b);
    let barrier = Barrier::new(PRESENTATIONS);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..PRESENTATIONS)
            .map(|i| {
                let (barrier, contested, id_token) = (&barrier, &contested, &id_token);
                scope.spawn(move || {
                    barrier.wait();
                    grant(if i % 2 == 0 { a } else { b }, contested, id_token).status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let won = statuses.iter().filter(|s| **s == 200).count();
    let lost = statuses.iter().filter(|s| **s == 400).count();
    assert_eq!((won, lost), (1, PRESENTATIONS - 1), "{statuses:?}");

    drop((server_a, server_b));
    db.drop_with(&runtime);
}
