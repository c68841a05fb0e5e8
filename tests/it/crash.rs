//! Nothing acknowledged is lost (security.md §4.3, invariants I1 and I3): `umagate serve` on
//! SQLite is driven through its public HTTP API by several client threads that issue tokens
//! (client credentials) and revoke some of them, recording every response they received; the
//! process is `SIGKILL`ed at a random point while requests are in flight, restarted on the same
//! database, and every acknowledged token must still introspect active, every acknowledged
//! revocation inactive. Requests that got no response are indeterminate and not checked. Several
//! kill/restart cycles run on the same database, each checking everything acknowledged so far.
//!
//! The HTTP client and the server harness are `crate::wire`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use umagate_proto::paths;

use crate::wire::{
    Response, Scratch, Server, base64, call, form_encode, parse_response, random_u64,
};

const CLIENT_ID: &str = "crash-rs";
const CLIENT_SECRET: &str = "crash-test-secret";
/// Client threads issuing and revoking concurrently, so requests are in flight at the kill.
const WORKERS: usize = 4;
/// Kill/restart cycles on the same database.
const CYCLES: usize = 3;

/// One request as the crash test's resource server (client_secret_basic for form posts).
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    form: Option<&str>,
) -> std::io::Result<Response> {
    let basic = format!(
        "Basic {}",
        base64(format!("{CLIENT_ID}:{CLIENT_SECRET}").as_bytes())
    );
    let mut headers = Vec::new();
    if form.is_some() {
        headers.push(("Authorization", basic.as_str()));
        headers.push(("Content-Type", "application/x-www-form-urlencoded"));
    }
    call(
        addr,
        method,
        path,
        &headers,
        form.unwrap_or_default().as_bytes(),
    )
}

// === the server under test ===

/// Writes `umagate.toml` in `dir`: SQLite under `dir/data`, one confidential resource server.
fn write_config(dir: &Path) {
    let data_dir = dir.join("data");
    std::fs::write(
        dir.join("umagate.toml"),
        format!(
            "[server]\ndata_dir = {data_dir:?}\n\n[[clients]]\nclient_id = \"{CLIENT_ID}\"\nsecret = \"{CLIENT_SECRET}\"\n\
             resource_server = true\ngrant_types = [\"client_credentials\"]\n",
            data_dir = data_dir.display().to_string(),
        ),
    )
    .unwrap();
}

// === the workload ===

/// Every response the clients received, across all cycles.
#[derive(Default)]
struct Ledger {
    /// Tokens whose issuing response (200) was received.
    issued: Vec<String>,
    /// Tokens whose revocation response (200) was received.
    revoked: Vec<String>,
    /// Tokens a revocation was sent for without a response: either outcome is allowed.
    revoke_unknown: Vec<String>,
    /// Token requests sent without a response (their tokens, if any, are unknown to us).
    issue_unknown: usize,
}

impl Ledger {
    fn active(&self) -> Vec<String> {
        self.issued
            .iter()
            .filter(|t| !self.revoked.contains(t) && !self.revoke_unknown.contains(t))
            .cloned()
            .collect()
    }
}

/// One client thread: issue a token, sometimes revoke an earlier one of its own; until a request
/// fails after the kill.
fn worker(addr: SocketAddr, ledger: &Mutex<Ledger>, acked: &AtomicUsize, killed: &AtomicBool) {
    let mut mine: Vec<String> = Vec::new();
    let mut seed = random_u64() | 1;
    let mut next_random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    loop {
        let revoke = !mine.is_empty() && next_random() % 3 == 0;
        if revoke {
            let token =
                mine.swap_remove(usize::try_from(next_random() % mine.len() as u64).unwrap());
            match request(
                addr,
                "POST",
                paths::REVOKE,
                Some(&format!("token={}", form_encode(&token))),
            ) {
                Ok(r) => {
                    assert_eq!(r.status, 200, "revocation refused: {}", r.body);
                    ledger.lock().unwrap().revoked.push(token);
                    acked.fetch_add(1, Ordering::SeqCst);
                }
                Err(e) => {
                    ledger.lock().unwrap().revoke_unknown.push(token);
                    assert!(
                        killed.load(Ordering::SeqCst),
                        "revocation failed before the kill: {e}"
                    );
                    return;
                }
            }
        } else {
            match request(
                addr,
                "POST",
                paths::TOKEN,
                Some("grant_type=client_credentials"),
            ) {
                Ok(r) => {
                    assert_eq!(r.status, 200, "token request refused: {}", r.body);
                    let json: serde_json::Value = serde_json::from_str(&r.body).unwrap();
                    let token = json["access_token"]
                        .as_str()
                        .expect("access_token")
                        .to_string();
                    ledger.lock().unwrap().issued.push(token.clone());
                    mine.push(token);
                    acked.fetch_add(1, Ordering::SeqCst);
                }
                Err(e) => {
                    ledger.lock().unwrap().issue_unknown += 1;
                    assert!(
                        killed.load(Ordering::SeqCst),
                        "token request failed before the kill: {e}"
                    );
                    return;
                }
            }
        }
    }
}

/// Introspects `tokens` in parallel; returns those whose `active` differs from `expected`.
fn introspect_all(addr: SocketAddr, tokens: &[String], expected: bool) -> Vec<String> {
    let chunk = tokens.len().div_ceil(WORKERS).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = tokens
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .filter(|token| {
                            let form = format!("token={}", form_encode(token));
                            let r = request(addr, "POST", paths::INTROSPECT, Some(&form))
                                .expect("introspect");
                            assert_eq!(r.status, 200, "introspection refused: {}", r.body);
                            let json: serde_json::Value = serde_json::from_str(&r.body).unwrap();
                            json["active"].as_bool() != Some(expected)
                        })
                        .cloned()
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

#[test]
fn f3_sigkill_loses_no_acknowledged_token_or_revocation() {
    let scratch = Scratch::new("crash");
    write_config(&scratch.0);

    let ledger = Mutex::new(Ledger::default());
    for cycle in 0..CYCLES {
        let started = Instant::now();
        let mut server = Server::start(&scratch.0, &cycle.to_string(), "warn");
        let addr = server.addr;
        let acked = AtomicUsize::new(0);
        let killed = AtomicBool::new(false);
        // The kill lands at a random count of acknowledged operations, while every worker is
        // mid-request or about to send one.
        let kill_after = 200 + usize::try_from(random_u64() % 300).unwrap();
        let mut status = None;
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..WORKERS)
                .map(|_| scope.spawn(|| worker(addr, &ledger, &acked, &killed)))
                .collect();
            let deadline = Instant::now() + Duration::from_secs(300);
            // A worker that failed ends its thread: stop waiting, its panic fails the test.
            while acked.load(Ordering::SeqCst) < kill_after
                && !workers.iter().any(|w| w.is_finished())
            {
                assert!(
                    Instant::now() < deadline,
                    "workload stalled at {} operations",
                    acked.load(Ordering::SeqCst)
                );
                std::thread::sleep(Duration::from_millis(1));
            }
            killed.store(true, Ordering::SeqCst);
            status = Some(server.kill());
        });
        let status = status.unwrap();
        assert!(
            !status.success(),
            "the server was killed, not stopped: {status}"
        );
        drop(server);
        let killed_at = started.elapsed();

        // Restart on the same database and check everything acknowledged so far.
        let server = Server::start(&scratch.0, &format!("{cycle}-restart"), "warn");
        let book = ledger.lock().unwrap();
        let active = book.active();
        let lost = introspect_all(server.addr, &active, true);
        let resurrected = introspect_all(server.addr, &book.revoked, false);
        eprintln!(
            "cycle {cycle}: killed after {} acknowledged operations ({killed_at:.1?}); so far {} tokens issued, {} revoked, \
             {} token and {} revocation requests unanswered; checked in {:.1?}",
            acked.load(Ordering::SeqCst),
            book.issued.len(),
            book.revoked.len(),
            book.issue_unknown,
            book.revoke_unknown.len(),
            started.elapsed() - killed_at,
        );
        assert!(
            lost.is_empty(),
            "cycle {cycle}: {} of {} acknowledged tokens are not active after the restart",
            lost.len(),
            active.len()
        );
        assert!(
            resurrected.is_empty(),
            "cycle {cycle}: {} of {} acknowledged revocations are undone after the restart",
            resurrected.len(),
            book.revoked.len()
        );
        assert!(
            book.issued.len() > kill_after / 2,
            "the workload issued too little to mean anything"
        );
    }
}

#[test]
fn the_http_helpers_parse_what_servers_send() {
    let r = parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").unwrap();
    assert_eq!((r.status, r.body.as_str()), (200, "{}"));
    assert!(
        parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n{}").is_none(),
        "short body"
    );
    let r = parse_response(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    )
    .unwrap();
    assert_eq!(r.body, "{}");
    assert_eq!(
        base64(b"crash-rs:crash-test-secret"),
        "Y3Jhc2gtcnM6Y3Jhc2gtdGVzdC1zZWNyZXQ="
    );
    assert_eq!(
        [base64(b"a"), base64(b"ab"), base64(b"abc")],
        ["YQ==", "YWI=", "YWJj"]
    );
    assert_eq!(form_encode("a+b/c=d e"), "a%2Bb%2Fc%3Dd%20e");
}

/// P4: with every log level on, no token, secret or password reaches the server's log.
#[test]
fn p4_logs_carry_no_secret() {
    let scratch = Scratch::new("p4");
    write_config(&scratch.0);
    let server = Server::start(&scratch.0, "trace", "trace");
    let issued = request(
        server.addr,
        "POST",
        paths::TOKEN,
        Some("grant_type=client_credentials"),
    )
    .unwrap();
    assert_eq!(issued.status, 200);
    let body = issued.body.clone();
    let token = body
        .split('"')
        .skip_while(|p| *p != "access_token")
        .nth(2)
        .unwrap()
        .to_string();
    let form = format!("token={token}");
    assert_eq!(
        request(server.addr, "POST", paths::INTROSPECT, Some(&form))
            .unwrap()
            .status,
        200
    );
    assert_eq!(
        request(server.addr, "POST", paths::REVOKE, Some(&form))
            .unwrap()
            .status,
        200
    );
    let log_path = server.log.clone();
    drop(server);
    let log = std::fs::read_to_string(log_path).unwrap();
    assert!(
        log.len() > 100,
        "trace logging produced almost nothing:\n{log}"
    );
    assert!(!log.contains(&token), "the access token is in the log");
    assert!(
        !log.contains(CLIENT_SECRET),
        "the client secret is in the log"
    );
}
