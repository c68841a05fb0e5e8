use super::*;

pub(crate) const MINIMAL: &str = r#"
[listen]
http = ["127.0.0.1:0"]

[as]
issuer = "http://127.0.0.1:8000"
client_id = "proxy"
client_secret = "s3cret"

[upstreams.photos]
url = "http://127.0.0.1:9000"

[[routes]]
path = "/albums/{album}/photos/{photo}"
upstream = "photos"
resource_type = "photo"
resource_name = "album {album} photo {photo}"
owner = "alice"
scopes = { GET = ["view"], DELETE = ["delete"] }

[[routes]]
path = "/public/{*rest}"
upstream = "photos"
public = true
methods = ["GET"]
"#;

fn error_of(text: &str) -> String {
    Config::from_toml(text).unwrap_err().to_string()
}

#[test]
fn minimal_config_loads_with_defaults() {
    let c = Config::from_toml(MINIMAL).unwrap();
    assert_eq!(c.auth_server.realm, "umagate");
    assert_eq!(c.auth_server.rpt_mode, RptMode::Jwt);
    assert_eq!(c.auth_server.introspection_cache_secs, 30);
    assert_eq!(c.timeouts.header_read_ms, 10_000);
    assert_eq!(c.limits.max_request_body_bytes, 10 * 1024 * 1024);
    assert!(!c.path.allow_encoded_slash);
    assert!(!format!("{c:?}").contains("s3cret"));
}

#[test]
fn errors_name_the_key() {
    let cases = [
        (
            MINIMAL.replace(
                "client_id = \"proxy\"",
                "client_id = \"proxy\"\nclient_secert = \"x\"",
            ),
            "client_secert",
        ),
        (
            MINIMAL.replace(
                "upstream = \"photos\"\nresource_type",
                "upstream = \"nope\"\nresource_type",
            ),
            "routes[0].upstream",
        ),
        (
            MINIMAL.replace("album {album} photo", "album {albun} photo"),
            "routes[0].resource_name",
        ),
        (
            MINIMAL.replace("GET = [\"view\"]", "get = [\"view\"]"),
            "routes[0].scopes.get",
        ),
        (
            MINIMAL.replace("http://127.0.0.1:8000", "http://as.example/"),
            "as.issuer",
        ),
        (
            MINIMAL.replace("http://127.0.0.1:9000", "ftp://x"),
            "upstreams.photos.url",
        ),
        (
            MINIMAL.replace("/albums/{album}", "/albums/../{album}"),
            "routes[0].path",
        ),
        (
            MINIMAL.replace("owner = \"alice\"\n", ""),
            "routes[0].owner",
        ),
        (
            MINIMAL.replace(
                "methods = [\"GET\"]",
                "methods = [\"GET\"]\nscopes = { GET = [\"x\"] }",
            ),
            "routes[1].scopes",
        ),
        (
            MINIMAL.replace(
                "http = [\"127.0.0.1:0\"]",
                "http = [\"127.0.0.1:0\"]\ntrusted_hops = [\"10.0.0.0/40\"]",
            ),
            "listen.trusted_hops[0]",
        ),
        (
            format!("{MINIMAL}\n[timeouts]\nas_call_ms = 0\n"),
            "timeouts.as_call_ms",
        ),
        (MINIMAL.replace("http = [\"127.0.0.1:0\"]", ""), "listen"),
    ];
    for (text, key) in cases {
        let e = error_of(&text);
        assert!(e.contains(key), "{key}: {e}");
    }
}

#[test]
fn the_documented_example_loads() {
    let doc = include_str!("../../../docs/proxy.md");
    let start = doc.find("```toml\n").unwrap() + "```toml\n".len();
    let end = start + doc[start..].find("```").unwrap();
    let c = Config::from_toml(&doc[start..end]).unwrap();
    assert_eq!(c.routes.len(), 2);
    assert_eq!(c.resources.len(), 1);
    assert_eq!(c.listen.https.len(), 1);
}
