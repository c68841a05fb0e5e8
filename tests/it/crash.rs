//! Nothing acknowledged is lost (security.md §4.3, invariants I1 and I3): `umagate serve` on
//! SQLite is driven through its public HTTP API by several client threads that issue tokens
//! (client credentials) and revoke some of them, recording every response they received; the
//! process is `SIGKILL`ed at a random point while requests are in flight, restarted on the same
//! database, and every acknowledged token must still introspect active, every acknowledged
//! revocation inactive. Requests that got no response are indeterminate and not checked. Several
//! kill/restart cycles run on the same database, each checking everything acknowledged so far.
//!
//! The HTTP client is a few lines over `std::net::TcpStream` (HTTP/1.1, `Connection: close`).

use std::collections::hash_map::RandomState;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use umagate_proto::paths;

const CLIENT_ID: &str = "crash-rs";
const CLIENT_SECRET: &str = "crash-test-secret";
/// Client threads issuing and revoking concurrently, so requests are in flight at the kill.
const WORKERS: usize = 4;
/// Kill/restart cycles on the same database.
const CYCLES: usize = 3;

// === a minimal HTTP/1.1 client ===

/// A response: status and body.
struct Response {
    status: u16,
    body: String,
}

/// Sends one request on a fresh connection and reads the whole response (`Connection: close`).
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    form: Option<&str>,
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(body) = form {
        let credentials = base64(format!("{CLIENT_ID}:{CLIENT_SECRET}").as_bytes());
        head.push_str(&format!(
            "Authorization: Basic {credentials}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if let Some(body) = form {
        stream.write_all(body.as_bytes())?;
    }
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, "incomplete HTTP response")
    })
}

/// Parses a complete response; `None` if it was cut short (no full head, short body).
fn parse_response(raw: &[u8]) -> Option<Response> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let mut chunked = false;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "content-length" && body.len() != value.parse::<usize>().ok()? {
            return None;
        }
        if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
        }
    }
    if chunked {
        body = dechunk(&body)?;
    }
    Some(Response {
        status,
        body: String::from_utf8(body).ok()?,
    })
}

/// Decodes a chunked body; `None` unless it ends with the last chunk.
fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = data.windows(2).position(|w| w == b"\r\n")?;
        let size_field = std::str::from_utf8(&data[..eol]).ok()?;
        let size = usize::from_str_radix(size_field.split(';').next()?.trim(), 16).ok()?;
        data = &data[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `application/x-www-form-urlencoded` value encoding.
fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn random_u64() -> u64 {
    RandomState::new().build_hasher().finish()
}

// === the server under test ===

/// A scratch directory: the configuration, the SQLite data and the server's logs.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

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

/// A running `umagate serve`; killed (SIGKILL) when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts the server on a free loopback port (another port if that one was taken in the
    /// meantime) and waits until it answers its metadata document.
    fn start(dir: &Path, run: usize) -> Self {
        Self::start_logging(dir, run, "warn")
    }

    /// Like `start`, with `RUST_LOG` set to `rust_log`.
    fn start_logging(dir: &Path, run: usize, rust_log: &str) -> Self {
        for attempt in 0..5 {
            // Bind :0 to learn a free port, then hand it to the server.
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let log = dir.join(format!("serve-{run}-{attempt}.log"));
            let out = File::create(&log).unwrap();
            let child = Command::new(env!("CARGO_BIN_EXE_umagate"))
                .arg("serve")
                .arg("--config")
                .arg(dir.join("umagate.toml"))
                .arg("--listen")
                .arg(addr.to_string())
                .env_remove("UMAGATE_DATABASE_URL")
                .env_remove("UMAGATE_ISSUER")
                .env("RUST_LOG", rust_log)
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .spawn()
                .expect("spawn umagate serve");
            let mut server = Self { child, addr, log };
            if server.wait_ready() {
                return server;
            }
            let text = std::fs::read_to_string(&server.log).unwrap_or_default();
            assert!(
                text.contains("cannot listen"),
                "umagate serve did not start:\n{text}"
            );
        }
        panic!("no free port for umagate serve after 5 attempts");
    }

    /// Polls the metadata document until it answers 200 (true) or the process exits (false);
    /// bounded.
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                eprintln!("umagate serve exited early: {status}");
                return false;
            }
            match request(self.addr, "GET", paths::OAUTH_METADATA, None) {
                Ok(r) if r.status == 200 => return true,
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        panic!("umagate serve not ready after 60 s:\n{text}");
    }
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
    let dir = std::env::temp_dir().join(format!(
        "umagate-crash-{}-{:016x}",
        std::process::id(),
        random_u64()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let scratch = Scratch(dir);
    write_config(&scratch.0);

    let ledger = Mutex::new(Ledger::default());
    for cycle in 0..CYCLES {
        let started = Instant::now();
        let mut server = Server::start(&scratch.0, cycle);
        let addr = server.addr;
        let acked = AtomicUsize::new(0);
        let killed = AtomicBool::new(false);
        // The kill lands at a random count of acknowledged operations, while every worker is
        // mid-request or about to send one.
        let kill_after = 200 + usize::try_from(random_u64() % 300).unwrap();
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
            server.child.kill().expect("SIGKILL umagate serve");
        });
        let status = server.child.wait().unwrap();
        assert!(
            !status.success(),
            "the server was killed, not stopped: {status}"
        );
        drop(server);
        let killed_at = started.elapsed();

        // Restart on the same database and check everything acknowledged so far.
        let server = Server::start(&scratch.0, cycle + 100);
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
    let dir = std::env::temp_dir().join(format!(
        "umagate-p4-{}-{:016x}",
        std::process::id(),
        random_u64()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let scratch = Scratch(dir);
    write_config(&scratch.0);
    let server = Server::start_logging(&scratch.0, 0, "trace");
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
