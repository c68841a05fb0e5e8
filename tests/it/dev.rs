//! `umagate dev` end to end: the binary runs the AS, the proxy and the demo API on free loopback
//! ports, and the README's walkthrough (`docs/walkthrough.sh`, shown verbatim in README.md) runs
//! against it with curl — 401 with a ticket, need_info, claims, RPT, 200 through the proxy, an
//! owner approval, a denial and a share.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::wire::{Scratch, call};

/// A running `umagate dev`, killed on drop.
struct Dev(Child);

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn the_readme_walkthrough_runs_against_umagate_dev() {
    let scratch = Scratch::new("dev");
    let dir = scratch.0.join("data");
    let (as_port, proxy_port, api_port) = (free_port(), free_port(), free_port());
    let log = scratch.0.join("dev.log");
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_umagate"))
        .args(["dev", "--dir"])
        .arg(&dir)
        .args(["--as-port", &as_port.to_string()])
        .args(["--proxy-port", &proxy_port.to_string()])
        .args(["--api-port", &api_port.to_string()])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("spawn umagate dev");
    let mut dev = Dev(child);
    let proxy = SocketAddr::from((Ipv4Addr::LOCALHOST, proxy_port));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = dev.0.try_wait().unwrap() {
            panic!(
                "umagate dev exited: {status}\n{}",
                std::fs::read_to_string(&log).unwrap()
            );
        }
        if call(proxy, "GET", "/public/hello", &[], b"").is_ok_and(|r| r.status == 200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "umagate dev not ready:\n{}",
            std::fs::read_to_string(&log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let banner = std::fs::read_to_string(&log).unwrap();
    assert!(banner.contains("demo-client / demo-secret"), "{banner}");

    let walkthrough = repo("docs/walkthrough.sh");
    let run = Command::new("bash")
        .arg("-euo")
        .arg("pipefail")
        .arg(&walkthrough)
        .env("AS", format!("http://127.0.0.1:{as_port}"))
        .env("PROXY", format!("http://127.0.0.1:{proxy_port}"))
        .env("DEV_DIR", &dir)
        .env("UMAGATE", env!("CARGO_BIN_EXE_umagate"))
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "walkthrough failed:\n{stdout}\n{stderr}\n--- umagate dev:\n{}",
        std::fs::read_to_string(&log).unwrap()
    );
    for step in [
        "ok: HTTP/1.1 401",
        "ok: \"error\":\"need_info\"",
        "ok: HTTP/1.1 200",
        "ok: \"error\":\"request_submitted\"",
        "ok: \"status\":\"approved\"",
        "ok: \"status\":\"denied\"",
        "ok: \"error\":\"request_denied\"",
    ] {
        assert!(stdout.contains(step), "missing {step}:\n{stdout}");
    }
    assert_eq!(stdout.matches("ok: HTTP/1.1 204").count(), 2, "{stdout}");
    drop(dev);
}

#[test]
fn the_readme_shows_the_walkthrough_verbatim() {
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    let script = std::fs::read_to_string(repo("docs/walkthrough.sh")).unwrap();
    assert!(
        readme.contains(&format!("```bash\n{script}```")),
        "README.md must show docs/walkthrough.sh verbatim in a ```bash block"
    );
}
