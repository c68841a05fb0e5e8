use super::*;
use umagate_proto::path::canonicalize;

fn path(p: &str) -> CanonicalPath {
    canonicalize(p, &PathRules::default()).unwrap()
}

#[test]
fn templates_bind_whole_segments() {
    let t = Template::parse("/albums/{album}/photos/{photo}").unwrap();
    let v = t.matches(&path("/albums/a1/photos/p%C3%A9")).unwrap();
    assert_eq!(v.expand("{album}:{photo}"), "a1:p%C3%A9");
    assert!(t.matches(&path("/albums/a1/photos/p1/")).is_none());
    assert!(t.matches(&path("/albums/a1/photos")).is_none());
    assert!(t.matches(&path("/albums/a1/photos/p1/x")).is_none());
    assert!(
        t.matches(&path("/Albums/a1/photos/p1")).is_none(),
        "case-sensitive"
    );
    let rest = Template::parse("/files/{*rest}").unwrap();
    assert_eq!(
        rest.matches(&path("/files/a/b")).unwrap().expand("{rest}"),
        "a/b"
    );
    assert!(rest.matches(&path("/files")).is_none());
    let root = Template::parse("/").unwrap();
    assert!(root.matches(&path("/")).is_some());
    assert!(root.matches(&path("/x")).is_none());
}

#[test]
fn expansion_is_one_pass() {
    let vars = Vars(vec![("a".into(), "{b}".into()), ("b".into(), "x".into())]);
    assert_eq!(vars.expand("{a}-{b}-{c}-{"), "{b}-x-{c}-{");
}

#[test]
fn bad_templates_are_refused() {
    for bad in [
        "albums",
        "/a/{*r}/b",
        "/a/x{y}",
        "/a/{}",
        "/a/{a}/{a}",
        "/a/../b",
        "/a//b",
        "/a/%2F",
        "/a/{a-b}",
    ] {
        assert!(Template::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(template_vars("a {x} b {y}").unwrap(), vec!["x", "y"]);
    assert!(template_vars("a {x").is_err());
    assert!(template_vars("a }x{").is_err());
}

#[test]
fn first_matching_route_wins_and_methods_are_exact() {
    let config = Config::from_toml(crate::config::tests::MINIMAL).unwrap();
    let table = RouteTable::build(&config).unwrap();
    let p = path("/albums/a/photos/b");
    let (route, _) = table.find("any.host", &Method::GET, &p).unwrap();
    assert_eq!(route.index, 0);
    assert!(table.find("h", &Method::PUT, &p).is_none());
    let lower = Method::from_bytes(b"get").unwrap();
    assert!(table.find("h", &lower, &p).is_none());
    assert_eq!(
        table
            .find("h", &Method::GET, &path("/public/x"))
            .unwrap()
            .0
            .index,
        1
    );
    assert!(table.find("h", &Method::POST, &path("/public/x")).is_none());
}
