//! Client → proxy → 401 → AS → RPT → proxy → upstream, over real loopback sockets, with the real
//! AS and the real proxy in this process and a recording upstream: RPT upgrade through the
//! proxy, revocation seen by a proxy in introspection mode, and an AS outage.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use umagate_proto::claims::{Audience, IdTokenClaims};
use umagate_server::Server;
use umagate_server::config::Config;
use umagate_server::store::ShareRecord;

use crate::wire::{Response, Scratch, base64, call, form};

const UMA: &str = "urn:ietf:params:oauth:grant-type:uma-ticket";
const ID_TOKEN: &str = "http://openid.net/specs/openid-connect-core-1_0.html#IDToken";

/// What the upstream received: (method, path, subject header).
type Seen = Arc<Mutex<Vec<(String, String, Option<String>)>>>;

/// The AS, the proxy and the upstream, on a runtime of their own.
struct Stack {
    runtime: tokio::runtime::Runtime,
    _scratch: Scratch,
    issuer: String,
    as_addr: SocketAddr,
    as_task: Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    )>,
    proxy: SocketAddr,
    seen: Seen,
    id_token: String,
}

impl Stack {
    fn start(rpt_mode: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let scratch = Scratch::new("e2e");
        let seen: Seen = Arc::default();
        let (issuer, as_addr, as_task, proxy, id_token) = runtime.block_on(async {
            let as_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let as_addr = as_listener.local_addr().unwrap();
            let issuer = format!("http://{as_addr}");
            let config = Config::parse(&format!(
                r#"[server]
issuer = "{issuer}"
data_dir = {data:?}
[[clients]]
client_id = "app"
secret = "app-secret"
grant_types = ["{UMA}"]
[[clients]]
client_id = "gw"
secret = "gw-secret"
resource_server = true
grant_types = ["client_credentials"]
[[users]]
username = "alice"
password = "alice-password"
[[users]]
username = "bob"
password = "bob-password"
"#,
                data = scratch.0.join("as").display().to_string()
            ))
            .unwrap();
            let server = Server::start(config, umagate_server::http::now())
                .await
                .unwrap();
            let state = server.state().clone();
            let store = &state.store;
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
            let now = umagate_server::http::now();
            // Alice shares every album with bob.
            let share = ShareRecord {
                id: "share-albums".into(),
                owner: alice.clone(),
                resource_id: None,
                resource_type: Some("album".into()),
                party_subject: Some(bob.clone()),
                party_email: None,
                scopes: vec!["view".into()],
                expires_at: None,
                created_at: now,
                revoked_at: None,
            };
            assert!(store.insert_share(&share, 10).await.unwrap());
            let claims = IdTokenClaims {
                iss: issuer.clone(),
                sub: bob,
                aud: Audience::One("app".into()),
                exp: now + 600,
                iat: now,
                auth_time: Some(now),
                nonce: None,
                azp: None,
                email: None,
                email_verified: None,
                name: None,
                preferred_username: Some("bob".into()),
                other: Default::default(),
            };
            let id_token = state.keys.signer().sign("JWT", &claims).unwrap();
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let task = tokio::spawn(async move {
                let _ = server
                    .serve(as_listener, async move {
                        let _ = stopped.await;
                    })
                    .await;
            });
            let as_task = (stop, task);

            let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let upstream_addr = upstream.local_addr().unwrap();
            tokio::spawn(record(upstream, seen.clone()));

            let proxy_config = umagate_proxy::Config::from_toml(&format!(
                r#"[listen]
http = ["127.0.0.1:0"]
[as]
issuer = "{issuer}"
client_id = "gw"
client_secret = "gw-secret"
realm = "albums"
rpt_mode = "{rpt_mode}"
introspection_cache_secs = 0
[upstreams.api]
url = "http://{upstream_addr}"
[[routes]]
path = "/albums/{{album}}"
upstream = "api"
resource_type = "album"
resource_name = "album {{album}}"
owner = "{alice}"
scopes = {{ GET = ["view"] }}
"#
            ))
            .unwrap();
            let proxy = umagate_proxy::Proxy::bind(proxy_config).await.unwrap();
            let proxy_addr = proxy.http_addrs()[0];
            // The handle lives as long as the runtime.
            tokio::spawn(async move {
                let _proxy = proxy;
                std::future::pending::<()>().await;
            });
            (issuer, as_addr, as_task, proxy_addr, id_token)
        });
        Self {
            runtime,
            _scratch: scratch,
            issuer,
            as_addr,
            as_task: Some(as_task),
            proxy,
            seen,
            id_token,
        }
    }

    fn get(&self, path: &str, rpt: Option<&str>) -> Response {
        let auth = rpt.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        call(self.proxy, "GET", path, &headers, b"").unwrap()
    }

    fn token(&self, fields: &[(&str, &str)]) -> Value {
        let basic = format!("Basic {}", base64(b"app:app-secret"));
        let headers = [
            ("Authorization", basic.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ];
        call(
            self.as_addr,
            "POST",
            "/token",
            &headers,
            form(fields).as_bytes(),
        )
        .unwrap()
        .json()
    }

    /// 401 from the proxy, then the UMA grant with bob's ID token (and `extra`): the token answer.
    fn rpt_for(&self, path: &str, extra: &[(&str, &str)]) -> Value {
        let challenge = self.get(path, None);
        assert_eq!(challenge.status, 401, "{}", challenge.body);
        let header = challenge.header("www-authenticate").unwrap().to_string();
        assert!(
            header.starts_with(&format!(
                "UMA realm=\"albums\", as_uri=\"{}\", ticket=\"",
                self.issuer
            )),
            "{header}"
        );
        let ticket = header
            .rsplit_once("ticket=\"")
            .unwrap()
            .1
            .trim_end_matches('"')
            .to_string();
        let mut fields = vec![
            ("grant_type", UMA),
            ("ticket", ticket.as_str()),
            ("claim_token", self.id_token.as_str()),
            ("claim_token_format", ID_TOKEN),
        ];
        fields.extend_from_slice(extra);
        self.token(&fields)
    }

    fn forwarded(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

/// A minimal upstream: records each request line and the subject header, answers 200.
async fn record(listener: tokio::net::TcpListener, seen: Seen) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            return;
        };
        let seen = seen.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            let mut raw = Vec::new();
            loop {
                let Ok(n) = conn.read(&mut buf).await else {
                    return;
                };
                if n == 0 {
                    return;
                }
                raw.extend_from_slice(&buf[..n]);
                while let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&raw[..end]).to_string();
                    raw.drain(..end + 4);
                    let mut lines = head.lines();
                    let mut first = lines.next().unwrap_or_default().split(' ');
                    let (method, path) = (
                        first.next().unwrap_or_default(),
                        first.next().unwrap_or_default(),
                    );
                    let subject = lines
                        .filter_map(|l| l.split_once(':'))
                        .find(|(n, _)| n.eq_ignore_ascii_case("x-umagate-subject"))
                        .map(|(_, v)| v.trim().to_string());
                    seen.lock()
                        .unwrap()
                        .push((method.into(), path.into(), subject));
                    let body = "{\"ok\":true}";
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if conn.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            }
        });
    }
}

#[test]
fn an_rpt_is_upgraded_through_the_proxy_and_the_old_one_stops_working() {
    let stack = Stack::start("introspection");
    let first = stack.rpt_for("/albums/holiday", &[]);
    let rpt1 = first["access_token"].as_str().unwrap().to_string();
    assert_eq!(stack.get("/albums/holiday", Some(&rpt1)).status, 200);
    let seen = stack.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].1, "/albums/holiday");
    assert!(
        seen[0].2.as_deref().is_some_and(|s| s.starts_with("u-")),
        "{seen:?}"
    );

    // The RPT for holiday does not open work: a new ticket, upgraded with the old RPT.
    let upgraded = stack.rpt_for("/albums/work", &[("rpt", &rpt1)]);
    assert_eq!(upgraded["upgraded"], true, "{upgraded}");
    let rpt2 = upgraded["access_token"].as_str().unwrap().to_string();
    for album in ["/albums/holiday", "/albums/work"] {
        assert_eq!(stack.get(album, Some(&rpt2)).status, 200, "{album}");
    }
    // D-UPGRADE-REVOKE: the old string is revoked; the proxy (introspecting) refuses it.
    let before = stack.forwarded();
    let stale = stack.get("/albums/holiday", Some(&rpt1));
    assert_eq!(stale.status, 401);
    assert!(
        stale
            .header("www-authenticate")
            .unwrap()
            .contains("ticket=\"")
    );
    assert_eq!(
        stack.forwarded(),
        before,
        "nothing forwarded with a revoked RPT"
    );
}

#[test]
fn a_revoked_rpt_is_refused_by_a_proxy_in_introspection_mode() {
    let stack = Stack::start("introspection");
    let rpt = stack.rpt_for("/albums/holiday", &[])["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(stack.get("/albums/holiday", Some(&rpt)).status, 200);
    let basic = format!("Basic {}", base64(b"app:app-secret"));
    let headers = [
        ("Authorization", basic.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let revoked = call(
        stack.as_addr,
        "POST",
        "/revoke",
        &headers,
        form(&[("token", &rpt)]).as_bytes(),
    )
    .unwrap();
    assert_eq!(revoked.status, 200);
    let before = stack.forwarded();
    assert_eq!(
        stack.get("/albums/holiday", Some(&rpt)).status,
        401,
        "introspection_cache_secs = 0"
    );
    assert_eq!(stack.forwarded(), before);
}

#[test]
fn with_the_as_down_the_proxy_answers_403_with_the_warning_and_forwards_nothing() {
    let mut stack = Stack::start("jwt");
    let rpt = stack.rpt_for("/albums/holiday", &[])["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(stack.get("/albums/holiday", Some(&rpt)).status, 200);
    // The AS goes away: it stops, closing its connections, and the port refuses new ones.
    if let Some((stop, task)) = stack.as_task.take() {
        let _ = stop.send(());
        let _ = stack.runtime.block_on(task);
    }
    let before = stack.forwarded();
    let outage = stack.get("/albums/work", None);
    assert_eq!(outage.status, 403, "{}", outage.body);
    assert_eq!(
        outage.header("warning"),
        Some("199 - \"UMA Authorization Server Unreachable\"")
    );
    assert!(outage.header("www-authenticate").is_none());
    assert!(outage.json().get("error").is_some());
    assert_eq!(stack.forwarded(), before);
    // An RPT verified locally (JWT mode, JWKS cached) still opens what it grants.
    assert_eq!(stack.get("/albums/holiday", Some(&rpt)).status, 200);
}
