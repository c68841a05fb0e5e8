//! The two cookies of the browser flow, and reading cookies from a request.
//!
//! - The session cookie: `HttpOnly; SameSite=Lax; Path=/`, living as long as the session. Lax,
//!   so that a client's top-level redirect to the authorization endpoint finds the user signed in.
//! - One CSRF cookie per pending authorization request: `HttpOnly; SameSite=Strict`, ten minutes,
//!   its value repeated in the request's forms (double submit) and its digest stored with the
//!   request. The name carries a short digest of the request id, so several tabs signing in at
//!   once do not overwrite each other's token.
//!
//! With an `https` issuer the cookies are `Secure` and named with the `__Host-` prefix, which
//! browsers accept only from the host itself, over TLS, with `Path=/` and no `Domain`, so a
//! sibling subdomain cannot plant a CSRF token. Over plain `http` (a loopback development issuer)
//! neither is possible; the CSRF cookie is then limited to the authorization endpoint's path.

use http::HeaderMap;
use http::header::COOKIE;

use crate::secrets;

/// Cookie names and attributes for one issuer.
#[derive(Clone, Debug)]
pub(crate) struct Cookies {
    secure: bool,
    /// `Path` of the CSRF cookie when the issuer is not `https`.
    authorize_path: String,
}

impl Cookies {
    /// The cookies of the AS whose issuer identifier is `issuer`.
    pub(crate) fn for_issuer(issuer: &str) -> Self {
        let secure = issuer.starts_with("https://");
        Self {
            secure,
            authorize_path: format!("{}{}", base_path(issuer), umagate_proto::paths::AUTHORIZE),
        }
    }

    fn prefix(&self) -> &'static str {
        if self.secure { "__Host-" } else { "" }
    }

    fn attributes(&self, same_site: &str, path: &str, max_age: i64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("Max-Age={max_age}; Path={path}; HttpOnly; SameSite={same_site}{secure}")
    }

    fn csrf_path(&self) -> &str {
        if self.secure {
            "/"
        } else {
            &self.authorize_path
        }
    }

    /// The session cookie's name.
    pub(crate) fn session_name(&self) -> String {
        format!("{}umagate_session", self.prefix())
    }

    /// `Set-Cookie` for a session.
    pub(crate) fn set_session(&self, session_id: &str, max_age: i64) -> String {
        format!(
            "{}={session_id}; {}",
            self.session_name(),
            self.attributes("Lax", "/", max_age)
        )
    }

    /// The name of the CSRF cookie of the pending request `request_id`.
    pub(crate) fn csrf_name(&self, request_id: &str) -> String {
        let tag: String = secrets::digest(request_id).chars().take(16).collect();
        format!("{}umagate_csrf_{tag}", self.prefix())
    }

    /// `Set-Cookie` for the CSRF token of `request_id`.
    pub(crate) fn set_csrf(&self, request_id: &str, token: &str, max_age: i64) -> String {
        format!(
            "{}={token}; {}",
            self.csrf_name(request_id),
            self.attributes("Strict", self.csrf_path(), max_age)
        )
    }

    /// `Set-Cookie` that removes the CSRF cookie of `request_id`.
    pub(crate) fn clear_csrf(&self, request_id: &str) -> String {
        format!(
            "{}=; {}",
            self.csrf_name(request_id),
            self.attributes("Strict", self.csrf_path(), 0)
        )
    }
}

/// The path part of an issuer identifier (`""` for `https://as.example.com`, `/as` for
/// `https://example.com/as`): the AS's endpoints live below it.
pub(crate) fn base_path(issuer: &str) -> &str {
    let after_scheme = issuer.split_once("://").map_or(issuer, |(_, rest)| rest);
    after_scheme.find('/').map_or("", |i| &after_scheme[i..])
}

/// Every value of the cookie `name` in the request's `Cookie` headers (a browser may send the
/// same name twice, for different paths).
pub(crate) fn values<'a>(headers: &'a HeaderMap, name: &str) -> Vec<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(n, _)| *n == name)
        .map(|(_, v)| v.trim_matches('"'))
        .collect()
}

/// Whether `value` looks like one of our handles (43 base64url characters), so that nothing
/// else is ever looked up or compared.
pub(crate) fn is_handle(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn http_issuer_cookies_are_plain_and_scoped() {
        let c = Cookies::for_issuer("http://127.0.0.1:8080");
        assert_eq!(c.session_name(), "umagate_session");
        assert_eq!(
            c.set_session("s", 60),
            "umagate_session=s; Max-Age=60; Path=/; HttpOnly; SameSite=Lax"
        );
        let csrf = c.set_csrf("r", "t", 600);
        assert!(csrf.starts_with("umagate_csrf_"), "{csrf}");
        assert!(
            csrf.ends_with("=t; Max-Age=600; Path=/authorize; HttpOnly; SameSite=Strict"),
            "{csrf}"
        );
        assert_ne!(c.csrf_name("r1"), c.csrf_name("r2"));
        let with_path = Cookies::for_issuer("http://127.0.0.1:8080/as");
        assert!(
            with_path
                .set_csrf("r", "t", 1)
                .contains("Path=/as/authorize;")
        );
    }

    #[test]
    fn https_issuer_cookies_are_host_prefixed_and_secure() {
        let c = Cookies::for_issuer("https://as.example.com");
        assert_eq!(
            c.set_session("s", 5),
            "__Host-umagate_session=s; Max-Age=5; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
        let csrf = c.set_csrf("r", "t", 600);
        assert!(csrf.starts_with("__Host-umagate_csrf_"), "{csrf}");
        // `__Host-` cookies must have `Path=/`, or browsers drop them.
        assert!(
            csrf.ends_with("=t; Max-Age=600; Path=/; HttpOnly; SameSite=Strict; Secure"),
            "{csrf}"
        );
        assert!(c.clear_csrf("r").contains("=; Max-Age=0;"));
    }

    #[test]
    fn cookie_values_are_read_from_every_header() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; b=2"));
        headers.append(COOKIE, HeaderValue::from_static("b=3;c"));
        assert_eq!(values(&headers, "b"), ["2", "3"]);
        assert_eq!(values(&headers, "a"), ["1"]);
        assert!(values(&headers, "c").is_empty());
        assert!(values(&headers, "A").is_empty());
    }

    #[test]
    fn handles_are_recognized() {
        assert!(is_handle(&secrets::new_handle().unwrap()));
        assert!(!is_handle("short"));
        assert!(!is_handle(&"=".repeat(43)));
        assert!(!is_handle(&format!("{}!", "a".repeat(42))));
    }
}
