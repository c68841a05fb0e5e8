//! URI rules shared by the wire types: what an icon URI, an issuer and a redirect URI may be.

use url::{Host, Url};

/// Longest URI accepted anywhere.
pub(crate) const MAX_URI_LEN: usize = 2048;

/// An absolute `http`/`https` URI without a fragment (icons, documentation links).
pub(crate) fn web_uri(text: &str) -> Result<Url, String> {
    let url = absolute(text)?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(format!(
            "`{}` is not an http or https URI",
            crate::shorten(text)
        ));
    }
    Ok(url)
}

/// An issuer (RFC 8414 §2): `https`, or `http` on a loopback address for development; no query,
/// no fragment, no userinfo, no trailing slash.
pub(crate) fn issuer(text: &str) -> Result<Url, String> {
    let url = absolute(text)?;
    let secure = url.scheme() == "https" || (url.scheme() == "http" && is_loopback(&url));
    if !secure {
        return Err("issuer must be https (http only on a loopback address)".into());
    }
    if url.query().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err("issuer must have no query and no userinfo".into());
    }
    if text.ends_with('/') {
        return Err("issuer must not end with `/`".into());
    }
    Ok(url)
}

/// A redirect URI a client may register (RFC 9700 §2.1, §2.6; RFC 8252 §7): absolute, no
/// fragment, no userinfo, no `*`; `https`, `http` only on a loopback IP literal, or a
/// private-use scheme with a dot (`com.example.app:/cb`); never `javascript:`, `data:` or
/// `vbscript:`.
pub(crate) fn redirect_uri(text: &str) -> Result<Url, String> {
    let url = absolute(text)?;
    if text.contains('*') {
        return Err(format!(
            "redirect URI `{}` contains `*`",
            crate::shorten(text)
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "redirect URI `{}` contains userinfo",
            crate::shorten(text)
        ));
    }
    let ok = match url.scheme() {
        "https" => true,
        "http" => is_loopback_ip(&url),
        "javascript" | "data" | "vbscript" | "file" | "ftp" | "ws" | "wss" => false,
        private => private.contains('.'),
    };
    if !ok {
        return Err(format!(
            "redirect URI `{}` must be https, http on a loopback IP, or a private-use scheme",
            crate::shorten(text)
        ));
    }
    Ok(url)
}

fn absolute(text: &str) -> Result<Url, String> {
    if text.len() > MAX_URI_LEN {
        return Err(format!("URI longer than {MAX_URI_LEN} bytes"));
    }
    let url = Url::parse(text)
        .map_err(|e| format!("`{}` is not an absolute URI: {e}", crate::shorten(text)))?;
    if url.fragment().is_some() || text.contains('#') {
        return Err(format!("`{}` has a fragment", crate::shorten(text)));
    }
    Ok(url)
}

fn is_loopback_ip(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

fn is_loopback(url: &Url) -> bool {
    is_loopback_ip(url) || url.host_str() == Some("localhost")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r2_r8_redirect_uri_rules() {
        for good in [
            "https://client.example.com/cb",
            "https://client.example.com/cb?x=1",
            "http://127.0.0.1:8080/cb",
            "http://[::1]/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert!(redirect_uri(good).is_ok(), "{good}");
        }
        for bad in [
            "/relative",
            "https://client.example.com/cb#frag",
            "https://client.example.com/cb#",
            "http://client.example.com/cb",
            "http://localhost/cb",
            "http://localhost.evil.test/cb",
            "JavaScript:alert(1)",
            "data:text/html,x",
            "vbscript:x",
            "https://user@client.example.com/cb",
            "https://*.example.com/cb",
            "myapp:/cb",
        ] {
            assert!(redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn issuer_rules() {
        assert!(issuer("https://as.example.com").is_ok());
        assert!(issuer("https://as.example.com/realms/r1").is_ok());
        assert!(issuer("http://127.0.0.1:8080").is_ok());
        assert!(issuer("http://localhost:8080").is_ok());
        for bad in [
            "https://as.example.com/",
            "https://as.example.com?x=1",
            "https://as.example.com#f",
            "http://as.example.com",
            "as.example.com",
        ] {
            assert!(issuer(bad).is_err(), "{bad}");
        }
    }
}
