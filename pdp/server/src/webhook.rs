//! Owners' webhooks: when a request is submitted for an owner's approval, the AS POSTs a small
//! JSON notice to the URL the owner set (`PUT /owner/settings`).
//!
//! The notice names the request, the resources, the client and the requesting party — never a
//! token or ticket. Delivery is best effort: one attempt in the background, bounded by a
//! five-second timeout, its failure logged; the grant never waits for it. Plain `http://` only
//! for now (no TLS client in the AS yet). The URL's host must not resolve to a loopback,
//! private, link-local or unspecified address unless `[uma] webhook_allow_private` is set, so an
//! owner cannot make the AS call into its own network.

use std::net::IpAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::http::State;
use crate::store::AccessRequestRecord;

/// The whole delivery: resolve, connect, send, read the status line.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Longest URL accepted.
pub const MAX_URL_LEN: usize = 512;

/// A checked webhook URL: host, port and path of an `http://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    host: String,
    port: u16,
    path: String,
}

/// Checks a webhook URL's shape (not where it resolves).
pub fn parse(url: &str) -> Result<Target, String> {
    if url.len() > MAX_URL_LEN {
        return Err(format!("at most {MAX_URL_LEN} characters"));
    }
    let parsed = url::Url::parse(url).map_err(|e| e.to_string())?;
    if parsed.scheme() != "http" {
        return Err("only http:// webhooks are supported".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() || parsed.fragment().is_some() {
        return Err("no credentials or fragment in the URL".into());
    }
    let host = parsed.host_str().ok_or("a host is required")?.to_string();
    let mut path = parsed.path().to_string();
    if let Some(q) = parsed.query() {
        path.push('?');
        path.push_str(q);
    }
    Ok(Target {
        host,
        port: parsed.port().unwrap_or(80),
        path,
    })
}

/// Whether the AS may call this address.
fn allowed(ip: IpAddr, allow_private: bool) -> bool {
    if allow_private {
        return true;
    }
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast())
        }
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            let unique_local = segments[0] & 0xfe00 == 0xfc00;
            let link_local = segments[0] & 0xffc0 == 0xfe80;
            let mapped = v6
                .to_ipv4_mapped()
                .is_some_and(|v4| !allowed(IpAddr::V4(v4), false));
            !(v6.is_loopback() || v6.is_unspecified() || unique_local || link_local || mapped)
        }
    }
}

/// Notifies the owner's webhook, if they set one, in the background.
pub fn notify(state: &State, request: &AccessRequestRecord) {
    let state = state.clone();
    let request = request.clone();
    tokio::spawn(async move {
        let url = match state.store.webhook(&request.owner).await {
            Ok(Some(url)) => url,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "webhook lookup failed");
                return;
            }
        };
        let allow_private = state.config.uma.webhook_allow_private;
        match tokio::time::timeout(TIMEOUT, deliver(&url, &request, allow_private)).await {
            Ok(Ok(status)) => {
                tracing::info!(target: "audit", owner = %request.owner, request = %request.id, status, "webhook delivered");
            }
            Ok(Err(e)) => {
                tracing::warn!(owner = %request.owner, request = %request.id, error = %e, "webhook failed");
            }
            Err(_) => {
                tracing::warn!(owner = %request.owner, request = %request.id, "webhook timed out");
            }
        }
    });
}

/// One POST; returns the response status.
async fn deliver(
    url: &str,
    request: &AccessRequestRecord,
    allow_private: bool,
) -> Result<u16, String> {
    let target = parse(url)?;
    let addrs: Vec<_> = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .map_err(|e| format!("resolving the host: {e}"))?
        .collect();
    let addr = addrs
        .iter()
        .find(|a| allowed(a.ip(), allow_private))
        .ok_or("the host resolves to no public address")?;
    let resources: Vec<String> =
        serde_json::from_str::<Vec<serde_json::Value>>(&request.permissions)
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p["resource_id"].as_str().map(str::to_string))
            .collect();
    let body = serde_json::json!({
        "event": "request_submitted",
        "request_id": request.id,
        "resource_ids": resources,
        "client_id": request.client_id,
        "subject": request.subject,
        "created_at": request.created_at,
    })
    .to_string();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         User-Agent: umagate\r\nConnection: close\r\n\r\n",
        target.path,
        target.host,
        body.len()
    );
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connecting: {e}"))?;
    stream
        .write_all(head.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    stream
        .write_all(body.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut first = [0u8; 64];
    let n = stream.read(&mut first).await.map_err(|e| e.to_string())?;
    let line = String::from_utf8_lossy(&first[..n]);
    line.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| "no HTTP status in the answer".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_urls_without_credentials() {
        assert_eq!(
            parse("http://hooks.example/uma?o=1").unwrap(),
            Target {
                host: "hooks.example".into(),
                port: 80,
                path: "/uma?o=1".into()
            }
        );
        for bad in [
            "https://hooks.example/",
            "ftp://hooks.example/",
            "http://user:pw@hooks.example/",
            "http://hooks.example/#x",
            "not a url",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse(&format!("http://h.example/{}", "a".repeat(600))).is_err());
    }

    #[test]
    fn internal_addresses_are_refused_unless_allowed() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(!allowed(ip, false), "{ip}");
            assert!(allowed(ip, true));
        }
        assert!(allowed("93.184.216.34".parse().unwrap(), false));
    }
}
