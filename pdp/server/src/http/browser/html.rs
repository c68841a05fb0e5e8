//! The HTML of the browser-facing pages: one escaping function, one page shell, one response
//! builder. No template engine and no scripts: every page is a string built here, and every
//! value that did not come from this file goes through [`escape`] first.
//!
//! Responses carry `Content-Type: text/html; charset=utf-8` and `Cache-Control: no-store`; the
//! router adds the framing, referrer and content-security headers (RFC 9700 §4.16, B1/B2). The
//! pages load nothing: no images, fonts, stylesheets or scripts, from us or anyone else.

use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA, SET_COOKIE};
use http::{HeaderValue, StatusCode};

/// Escapes text for an HTML text node or a double- or single-quoted attribute value.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;\
background:#f3f4f6;color:#111827;font:16px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif}\
main{width:100%;max-width:26rem;margin:1rem;padding:2rem;background:#fff;border-radius:.75rem;\
box-shadow:0 1px 3px rgba(0,0,0,.12)}\
h1{margin:0 0 1rem;font-size:1.35rem}\
p{margin:.5rem 0}\
.muted{color:#6b7280;font-size:.9rem}\
.error{padding:.6rem .8rem;border-radius:.4rem;background:#fef2f2;color:#991b1b}\
label{display:block;margin:1rem 0 .25rem;font-weight:600}\
input[type=text],input[type=password]{width:100%;padding:.55rem .65rem;border:1px solid #d1d5db;\
border-radius:.4rem;font:inherit}\
ul{padding-left:1.2rem}\
li{margin:.3rem 0}\
code{font-size:.85em;color:#4b5563}\
.actions{display:flex;gap:.75rem;margin-top:1.5rem}\
button{flex:1;padding:.6rem;border:1px solid #1d4ed8;border-radius:.4rem;font:inherit;\
cursor:pointer;background:#1d4ed8;color:#fff}\
button.secondary{background:#fff;color:#1d4ed8}";

/// A complete document: `title` is text (escaped here), `body` is markup built by the caller
/// with every value escaped.
pub(crate) fn document(title: &str, body: &str) -> String {
    let title = escape(title);
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n<title>{title}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{title}</h1>\n{body}</main>\n</body>\n</html>\n"
    )
}

/// An HTML response that no cache keeps, with `Set-Cookie` headers.
pub(crate) fn response(status: StatusCode, document: String, cookies: &[String]) -> Response {
    let mut response = (status, document).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    for cookie in cookies {
        if let Ok(value) = HeaderValue::try_from(cookie.as_str()) {
            headers.append(SET_COOKIE, value);
        }
    }
    response
}

/// An error page: a title and a sentence, nothing taken from the request.
pub(crate) fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!("<p class=\"error\">{}</p>\n", escape(message));
    response(status, document(title, &body), &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralizes_markup_and_attribute_breakouts() {
        assert_eq!(escape("plain text é"), "plain text é");
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(escape(r#"" onmouseover="x"#), "&quot; onmouseover=&quot;x");
        assert_eq!(escape("' autofocus '"), "&#39; autofocus &#39;");
        assert_eq!(escape("a & b &amp;"), "a &amp; b &amp;amp;");
        assert_eq!(escape(""), "");
        for nasty in [
            "<img src=x onerror=alert(1)>",
            "\"><svg/onload=alert(1)>",
            "'';!--\"<XSS>=&{()}",
        ] {
            let out = escape(nasty);
            assert!(!out.contains(['<', '>', '"', '\'']), "{out}");
        }
    }

    #[test]
    fn document_escapes_its_title_and_loads_nothing() {
        let page = document("<b>hi</b>", "<p>body</p>\n");
        assert!(page.contains("<title>&lt;b&gt;hi&lt;/b&gt;</title>"));
        assert!(!page.contains("<script"));
        assert!(!page.contains("src="));
        assert!(!page.contains("<link"));
        assert!(!page.contains("http://") && !page.contains("https://"));
    }

    #[test]
    fn responses_are_html_and_not_cached() {
        let r = error_page(StatusCode::BAD_REQUEST, "Error", "<nope>");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(r.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
        let r = response(StatusCode::OK, String::new(), &["a=b".into(), "c=d".into()]);
        assert_eq!(r.headers().get_all(SET_COOKIE).iter().count(), 2);
    }
}
