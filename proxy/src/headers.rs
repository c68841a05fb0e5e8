//! Header hygiene between the client, the proxy and the upstream.
//!
//! The order is fixed (security.md §5.3): strip hop-by-hop headers and every header the client
//! names in `Connection` → strip every copy of the headers the proxy asserts (any name that
//! reads as `x-umagate-*` once `_` and `.` are read as `-`, in any case: CGI/WSGI/PHP backends
//! fold them together, the Traefik CVE-2026-88011 lesson) and of the path-override headers →
//! decide on `X-Forwarded-*` (kept and extended only from a trusted hop, replaced otherwise) →
//! add the proxy's own headers last, so nothing the client sends, `Connection` included, can
//! remove or pre-empt them.

use std::net::IpAddr;

use http::header::{CONNECTION, HOST, UPGRADE};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Version};

use crate::rpt::Grant;

/// The hop-by-hop headers of RFC 9110 §7.6.1 and their common non-standard relatives.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Headers that make some backends or frameworks read another path or method than the one
/// authorized (security.md §5.2 rule 5); never forwarded.
const OVERRIDES: &[&str] = &[
    "x-original-url",
    "x-rewrite-url",
    "x-forwarded-uri",
    "x-forwarded-prefix",
    "x-forwarded-path",
    "x-envoy-original-path",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

/// Forwarding headers; trusted only from configured hops.
const FORWARDING: &[&str] = &[
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-real-ip",
    "forwarded",
];

/// The prefix of every header the proxy asserts to the upstream.
pub const RESERVED_PREFIX: &str = "x-umagate-";
/// The requesting party.
pub const SUBJECT: &str = "x-umagate-subject";
/// The client.
pub const CLIENT: &str = "x-umagate-client";
/// The granted scopes on the resource, space-separated.
pub const SCOPES: &str = "x-umagate-scopes";
/// The resource id.
pub const RESOURCE: &str = "x-umagate-resource";

/// A header name as a backend that folds `_` and `.` into `-` reads it (names are lower case).
fn folded(name: &HeaderName) -> String {
    name.as_str().replace(['_', '.'], "-")
}

/// Removes hop-by-hop headers and those named in `Connection`.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<String> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    for name in HOP_BY_HOP
        .iter()
        .copied()
        .chain(named.iter().map(String::as_str))
    {
        headers.remove(name);
    }
}

/// Where a request came from, for `X-Forwarded-*`.
#[derive(Clone, Debug)]
pub struct Peer {
    /// The TCP peer.
    pub ip: IpAddr,
    /// Whether it is a configured trusted hop.
    pub trusted: bool,
    /// `http` or `https`, as received by the proxy.
    pub scheme: &'static str,
}

/// Cleans a client request's headers for the upstream (see the module docs for the order).
pub fn sanitize_request(headers: &mut HeaderMap, peer: &Peer, host: &str) {
    strip_hop_by_hop(headers);
    let names: Vec<HeaderName> = headers.keys().cloned().collect();
    for name in names {
        let folded = folded(&name);
        let reserved = folded.starts_with(RESERVED_PREFIX) || OVERRIDES.contains(&folded.as_str());
        let forwarding = FORWARDING.contains(&folded.as_str());
        let alias = folded != name.as_str();
        if reserved || (forwarding && (alias || !peer.trusted)) {
            headers.remove(&name);
        }
    }
    let prior = if peer.trusted {
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        String::new()
    };
    let xff = if prior.is_empty() {
        peer.ip.to_string()
    } else {
        format!("{prior}, {}", peer.ip)
    };
    set(headers, "x-forwarded-for", &xff);
    if !headers.contains_key("x-forwarded-proto") {
        set(headers, "x-forwarded-proto", peer.scheme);
    }
    if !headers.contains_key("x-forwarded-host") {
        set(headers, "x-forwarded-host", host);
    }
}

fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// Adds the identity headers for an authorized request; `false` if a value cannot be a header
/// (then the request must not be forwarded).
pub fn add_identity(headers: &mut HeaderMap, grant: &Grant, resource_id: &str) -> bool {
    let values = [
        (SUBJECT, grant.subject.clone()),
        (CLIENT, grant.client.clone()),
        (SCOPES, grant.scopes.join(" ")),
        (RESOURCE, resource_id.to_string()),
    ];
    for (name, value) in values {
        match HeaderValue::from_str(&value) {
            Ok(v) => {
                headers.insert(name, v);
            }
            Err(_) => return false,
        }
    }
    true
}

/// Whether an HTTP/1.1 request asks to switch protocols (`Upgrade` named in `Connection`).
pub fn wants_upgrade<B>(request: &Request<B>) -> bool {
    request.version() == Version::HTTP_11
        && request.headers().contains_key(UPGRADE)
        && request
            .headers()
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
}

/// The request's host, lower case, without port, for routing, and the authority as sent, for
/// the upstream's `Host`: from `Host` (HTTP/1.1) or `:authority` (HTTP/2). Refuses several
/// `Host` headers, an absolute-form HTTP/1 target, userinfo, and an HTTP/2 `Host` that differs
/// from `:authority`.
pub fn request_host<B>(request: &Request<B>) -> Result<(String, HeaderValue), &'static str> {
    let mut hosts = request.headers().get_all(HOST).iter();
    let header = hosts.next();
    if hosts.next().is_some() {
        return Err("more than one Host header");
    }
    let header = header
        .map(|h| h.to_str().map_err(|_| "malformed Host header"))
        .transpose()?;
    let authority = request.uri().authority().map(|a| a.as_str());
    let value = match (request.version(), authority, header) {
        (Version::HTTP_2, Some(a), Some(h)) if !a.eq_ignore_ascii_case(h) => {
            return Err("Host differs from :authority");
        }
        (Version::HTTP_2, Some(a), _) => a,
        (_, Some(_), _) => return Err("absolute-form request targets are not accepted"),
        (_, None, Some(h)) => h,
        (_, None, None) => return Err("no Host header"),
    };
    let authority: http::uri::Authority = value.parse().map_err(|_| "malformed Host header")?;
    if authority.as_str().contains('@') || authority.host().is_empty() {
        return Err("malformed Host header");
    }
    let value = HeaderValue::from_str(authority.as_str()).map_err(|_| "malformed Host header")?;
    Ok((authority.host().to_ascii_lowercase(), value))
}

#[cfg(test)]
mod tests;
