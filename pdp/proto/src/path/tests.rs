use proptest::prelude::*;

use super::*;

const STRICT: PathRules = PathRules {
    params: PathParams::Reject,
    empty_segments: EmptySegments::Merge,
    allow_encoded_slash: false,
};
const STRIP: PathRules = PathRules {
    params: PathParams::Strip,
    ..STRICT
};
const NO_EMPTY: PathRules = PathRules {
    empty_segments: EmptySegments::Reject,
    ..STRICT
};
const STRIP_NO_EMPTY: PathRules = PathRules {
    params: PathParams::Strip,
    ..NO_EMPTY
};
const SLASH: PathRules = PathRules {
    allow_encoded_slash: true,
    ..STRICT
};

fn all_rules() -> Vec<PathRules> {
    let mut rules = Vec::new();
    for params in [PathParams::Reject, PathParams::Strip] {
        for empty_segments in [EmptySegments::Merge, EmptySegments::Reject] {
            for allow_encoded_slash in [false, true] {
                rules.push(PathRules {
                    params,
                    empty_segments,
                    allow_encoded_slash,
                });
            }
        }
    }
    rules
}

fn canon(raw: &str, rules: &PathRules) -> Result<String, PathError> {
    canonicalize(raw, rules).map(CanonicalPath::into_string)
}

#[test]
fn default_rules_are_strict() {
    assert_eq!(PathRules::default(), STRICT);
}

#[test]
fn normalized() {
    let cases: &[(&str, PathRules, &str)] = &[
        // Plain paths, trailing slashes and case are kept.
        ("/", STRICT, "/"),
        ("/a", STRICT, "/a"),
        ("/a/", STRICT, "/a/"),
        ("/A/b/C", STRICT, "/A/b/C"),
        ("/a:b@c!$&'()*+,=", STRICT, "/a:b@c!$&'()*+,="),
        ("/a-b_c~d.e", STRICT, "/a-b_c~d.e"),
        // Dot segments (Envoy CVE-2019-9901).
        ("/info/../private", STRICT, "/private"),
        ("/a/./b", STRICT, "/a/b"),
        ("/a/b/..", STRICT, "/a/"),
        ("/a/.", STRICT, "/a/"),
        ("/a/..", STRICT, "/"),
        ("/.", STRICT, "/"),
        ("/a/b/../../c", STRICT, "/c"),
        ("/a/b/../c/./d/", STRICT, "/a/c/d/"),
        ("/...", STRICT, "/..."),
        ("/..a/.b/a..", STRICT, "/..a/.b/a.."),
        // Unreserved escapes are decoded before dot handling.
        ("/a/%2E%2e/b", STRICT, "/b"),
        ("/a/%2e/b", STRICT, "/a/b"),
        ("/%61", STRICT, "/a"),
        ("/%41%7e%2D%5f%30", STRICT, "/A~-_0"),
        ("/a%2eb", STRICT, "/a.b"),
        // Other escapes are kept with upper-case hex.
        ("/caf%c3%a9", STRICT, "/caf%C3%A9"),
        ("/%e2%82%ac/%F0%9F%98%80", STRICT, "/%E2%82%AC/%F0%9F%98%80"),
        ("/a%3fb%23c", STRICT, "/a%3Fb%23c"),
        ("/%20%3c%3E%22%7b", STRICT, "/%20%3C%3E%22%7B"),
        ("/a%3d%40", STRICT, "/a%3D%40"),
        // Empty segments are merged.
        ("/a//b", STRICT, "/a/b"),
        ("//a", STRICT, "/a"),
        ("/a//", STRICT, "/a/"),
        ("///", STRICT, "/"),
        ("/a//..", STRICT, "/"),
        ("/a/.//b", STRICT, "/a/b"),
        // A trailing slash is not an empty segment.
        ("/a/", NO_EMPTY, "/a/"),
        ("/", NO_EMPTY, "/"),
        ("/a/b/..", NO_EMPTY, "/a/"),
        // Tomcat path parameters are stripped.
        ("/a;x=1/b", STRIP, "/a/b"),
        ("/user/..;foo=bar/admin", STRIP, "/admin"),
        ("/a/..;/b", STRIP, "/b"),
        ("/a/%2e%2e;x/b", STRIP, "/b"),
        ("/a;x", STRIP, "/a"),
        ("/a/;x", STRIP, "/a/"),
        ("/;x/a", STRIP, "/a"),
        ("/a;x;y=;/b;", STRIP, "/a/b"),
        ("/a/;x", STRIP_NO_EMPTY, "/a/"),
        // An allowed encoded slash is data, never a separator.
        ("/a%2fb", SLASH, "/a%2Fb"),
        ("/a/%2F/..", SLASH, "/a/"),
        ("/a%2F..%2Fb", SLASH, "/a%2F..%2Fb"),
        ("/%2F", SLASH, "/%2F"),
    ];
    for (raw, rules, expected) in cases {
        assert_eq!(
            canon(raw, rules),
            Ok((*expected).to_owned()),
            "{raw:?} {rules:?}"
        );
        assert_eq!(
            canon(expected, rules),
            Ok((*expected).to_owned()),
            "{expected:?}"
        );
    }
}

#[test]
fn rejected() {
    use PathError as E;
    let cases: &[(&str, PathRules, PathError)] = &[
        // Origin form only.
        ("", STRICT, E::Empty),
        ("*", STRICT, E::NotOriginForm),
        ("http://example.com/a", STRICT, E::NotOriginForm),
        ("a/b", STRICT, E::NotOriginForm),
        // Caddy `/public/..%2fadmin`, Envoy CVE-2021-29492.
        ("/public/..%2fadmin", STRICT, E::EncodedSlash { offset: 10 }),
        ("/a%2F..%2Fb", STRIP, E::EncodedSlash { offset: 2 }),
        ("/a;%2F", STRIP, E::EncodedSlash { offset: 3 }),
        // CVE-2026-73551 and Tomcat `..;/`.
        ("/user/..;foo=bar/admin", STRICT, E::PathParam { offset: 8 }),
        ("/a/..;/b", STRICT, E::PathParam { offset: 5 }),
        ("/a;b", SLASH, E::PathParam { offset: 2 }),
        // Climbing above the root is rejected, not clamped.
        ("/%2e%2e/etc", STRICT, E::AboveRoot),
        ("/..", STRICT, E::AboveRoot),
        ("/../", STRICT, E::AboveRoot),
        ("/a/../..", STRICT, E::AboveRoot),
        ("/a/../../b", STRICT, E::AboveRoot),
        ("/./..", STRICT, E::AboveRoot),
        ("/..;x/a", STRIP, E::AboveRoot),
        ("/a//../..", STRICT, E::AboveRoot),
        // Envoy CVE-2021-32779.
        ("/app1/admin#foo", STRICT, E::Fragment { offset: 11 }),
        ("/#", STRICT, E::Fragment { offset: 1 }),
        // Encoded control characters and the like.
        ("/a%00b", STRICT, E::EncodedControl { offset: 2 }),
        ("/a%1F", STRICT, E::EncodedControl { offset: 2 }),
        ("/a%7f", STRICT, E::EncodedControl { offset: 2 }),
        ("/a%0d%0a", STRICT, E::EncodedControl { offset: 2 }),
        ("/a%5cb", SLASH, E::EncodedBackslash { offset: 2 }),
        ("/a%255c", SLASH, E::EncodedPercent { offset: 2 }),
        ("/%252e%252e/", STRICT, E::EncodedPercent { offset: 1 }),
        ("/a%3bb", STRIP, E::EncodedSemicolon { offset: 2 }),
        // Escapes of bytes >= 0x80 must be valid UTF-8.
        ("/%c0%ae%c0%ae/", STRICT, E::InvalidUtf8 { offset: 1 }),
        ("/%c0%af", STRICT, E::InvalidUtf8 { offset: 1 }),
        ("/%e0%80%ae", STRICT, E::InvalidUtf8 { offset: 1 }),
        ("/%80", STRICT, E::InvalidUtf8 { offset: 1 }),
        ("/%c3", STRICT, E::InvalidUtf8 { offset: 1 }),
        ("/%c3/%a9", STRICT, E::InvalidUtf8 { offset: 1 }),
        ("/%c3%41", STRICT, E::InvalidUtf8 { offset: 1 }),
        ("/a%c3%a9%a9", STRICT, E::InvalidUtf8 { offset: 8 }),
        ("/%ed%a0%80", STRICT, E::InvalidUtf8 { offset: 1 }),
        ("/%f4%90%80%80", STRICT, E::InvalidUtf8 { offset: 1 }),
        ("/%ff", STRICT, E::InvalidUtf8 { offset: 1 }),
        // Malformed escapes.
        ("/a%", STRICT, E::MalformedEscape { offset: 2 }),
        ("/a%2", STRICT, E::MalformedEscape { offset: 2 }),
        ("/a%zz", STRICT, E::MalformedEscape { offset: 2 }),
        ("/a%2g", STRICT, E::MalformedEscape { offset: 2 }),
        ("/a%%41", STRICT, E::MalformedEscape { offset: 2 }),
        ("/a%+1", STRICT, E::MalformedEscape { offset: 2 }),
        ("/a%-1", STRICT, E::MalformedEscape { offset: 2 }),
        ("/a%\u{e9}", STRICT, E::MalformedEscape { offset: 2 }),
        // Raw bytes outside `pchar` / `/`.
        ("/..\\", STRICT, E::Backslash { offset: 3 }),
        ("/a\\..\\b", STRIP, E::Backslash { offset: 2 }),
        ("/a b", STRICT, E::Space { offset: 2 }),
        ("/a\tb", STRICT, E::ControlChar { offset: 2 }),
        ("/a\0", STRICT, E::ControlChar { offset: 2 }),
        ("/a\r\n", STRICT, E::ControlChar { offset: 2 }),
        ("/a\x7f", STRICT, E::ControlChar { offset: 2 }),
        ("/caf\u{e9}", STRICT, E::NonAscii { offset: 4 }),
        ("/\u{ff0e}\u{ff0e}/", STRICT, E::NonAscii { offset: 1 }),
        ("/a?b", STRICT, E::InvalidChar { ch: '?', offset: 2 }),
        // Empty segments under `EmptySegments::Reject`.
        ("/a//b", NO_EMPTY, E::EmptySegment),
        ("//", NO_EMPTY, E::EmptySegment),
        ("//a", NO_EMPTY, E::EmptySegment),
        ("/a//", NO_EMPTY, E::EmptySegment),
        ("/;x/a", STRIP_NO_EMPTY, E::EmptySegment),
        ("/a/;x/b", STRIP_NO_EMPTY, E::EmptySegment),
        // Regression (found by `agrees_with_reference_model`): empty segments are checked before
        // dot segments, so the error does not depend on where the `..` is.
        ("/..//a", NO_EMPTY, E::EmptySegment),
        ("/a//../..", NO_EMPTY, E::EmptySegment),
    ];
    for (raw, rules, expected) in cases {
        assert_eq!(
            canon(raw, rules),
            Err(expected.clone()),
            "{raw:?} {rules:?}"
        );
    }
}

#[test]
fn rejects_every_char_outside_pchar() {
    for ch in ['"', '<', '>', '^', '`', '{', '}', '|', '[', ']', '?'] {
        let raw = format!("/a{ch}b");
        for rules in all_rules() {
            assert_eq!(
                canon(&raw, &rules),
                Err(PathError::InvalidChar { ch, offset: 2 })
            );
        }
    }
}

#[test]
fn accepts_exactly_pchar_and_slash() {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-._~!$&'()*+,=:@/".contains(c);
    for b in 0..=0x7F_u8 {
        let raw = format!("/x{}", char::from(b));
        let ok = canon(&raw, &STRICT).is_ok();
        assert_eq!(ok, allowed(char::from(b)), "{b:#04x}");
    }
}

#[test]
fn length_limit() {
    let max = format!("/{}", "a".repeat(MAX_PATH_LEN - 1));
    assert_eq!(canon(&max, &STRICT), Ok(max.clone()));
    let over = format!("{max}a");
    assert_eq!(
        canon(&over, &STRICT),
        Err(PathError::TooLong {
            len: MAX_PATH_LEN + 1
        })
    );
}

#[test]
fn segment_limit() {
    let max = "/a".repeat(MAX_SEGMENTS);
    assert_eq!(canon(&max, &STRICT), Ok(max.clone()));
    let over = format!("{max}/");
    assert_eq!(canon(&over, &STRICT), Err(PathError::TooManySegments));
    // Merged slashes still count: the limit is on the raw input.
    let slashes = "/".repeat(MAX_SEGMENTS + 1);
    assert_eq!(canon(&slashes, &STRICT), Err(PathError::TooManySegments));
}

#[test]
fn targets() {
    let ok: &[(&str, &str, Option<&str>)] = &[
        ("/a/../b?x=1&y=%2F", "/b", Some("x=1&y=%2F")),
        ("/a", "/a", None),
        ("/a?", "/a", Some("")),
        ("/a?b?c", "/a", Some("b?c")),
        ("/%61?%61", "/a", Some("%61")),
        ("/?a/../b", "/", Some("a/../b")),
    ];
    for (target, path, query) in ok {
        let (canonical, q) = canonicalize_target(target, &STRICT).unwrap();
        assert_eq!((canonical.as_str(), q), (*path, *query), "{target:?}");
    }
    use PathError as E;
    let bad: &[(&str, PathError)] = &[
        ("*", E::NotOriginForm),
        ("http://h/a?x", E::NotOriginForm),
        ("", E::Empty),
        ("?a", E::Empty),
        ("/a#x?y", E::Fragment { offset: 2 }),
        ("/a?x#f", E::QueryFragment { offset: 4 }),
        ("/a?x y", E::QuerySpace { offset: 4 }),
        ("/a?\n", E::QueryControlChar { offset: 3 }),
        ("/a?\x7f", E::QueryControlChar { offset: 3 }),
        ("/a?\u{e9}", E::QueryNonAscii { offset: 3 }),
        ("/../a?x", E::AboveRoot),
    ];
    for (target, expected) in bad {
        assert_eq!(
            canonicalize_target(target, &STRICT),
            Err(expected.clone()),
            "{target:?}"
        );
    }
}

#[test]
fn error_messages_are_short_lowercase_and_do_not_echo_input() {
    let huge = format!("/{}", "x".repeat(MAX_PATH_LEN * 4));
    let inputs = [
        huge.as_str(),
        "",
        "*",
        "/a#",
        "/a\\",
        "/a\0",
        "/a b",
        "/\u{e9}",
        "/a^",
        "/%zz",
        "/%2F",
        "/%5C",
        "/%25",
        "/%00",
        "/%3B",
        "/%C0%AE",
        "/;",
        "/..",
    ];
    for raw in inputs {
        let message = canonicalize(raw, &STRICT).unwrap_err().to_string();
        assert!(message.len() < 120, "{message}");
        assert!(
            message.starts_with(|c: char| c.is_ascii_lowercase()),
            "{message}"
        );
        assert!(!message.ends_with('.'), "{message}");
    }
    assert_eq!(
        canonicalize("/public/..%2fadmin", &STRICT)
            .unwrap_err()
            .to_string(),
        "path contains an encoded slash (`%2F`) at byte 10"
    );
}

#[test]
fn canonical_path_accessors() {
    let path = canonicalize("/a/%62/../c/", &STRICT).unwrap();
    assert_eq!(path.as_str(), "/a/c/");
    assert_eq!(path.to_string(), "/a/c/");
    assert_eq!(path.as_ref(), "/a/c/");
    assert_eq!(path.segments().collect::<Vec<_>>(), ["a", "c", ""]);
    assert_eq!(path.clone().into_string(), "/a/c/");
    let root = canonicalize("/", &STRICT).unwrap();
    assert_eq!(root.segments().collect::<Vec<_>>(), [""]);
    let plain = canonicalize("/a%2Fb/c", &SLASH).unwrap();
    assert_eq!(plain.segments().collect::<Vec<_>>(), ["a%2Fb", "c"]);
}

#[test]
fn rules_deserialize_from_config() {
    let parse = serde_json::from_str::<PathRules>;
    assert_eq!(parse("{}").unwrap(), STRICT);
    assert_eq!(
        parse(r#"{"params":"strip","empty_segments":"reject","allow_encoded_slash":true}"#)
            .unwrap(),
        PathRules {
            params: PathParams::Strip,
            empty_segments: EmptySegments::Reject,
            allow_encoded_slash: true,
        }
    );
    assert_eq!(parse(r#"{"params":"strip"}"#).unwrap(), STRIP);
    assert!(parse(r#"{"params":"Strip"}"#).is_err());
    assert!(parse(r#"{"empty_segments":"keep"}"#).is_err());
    assert!(parse(r#"{"allow_encoded_slashes":true}"#).is_err());
}

/// Asserts every output guarantee of the module docs.
fn assert_guarantees(out: &str, rules: &PathRules) {
    assert!(out.starts_with('/'), "{out:?}");
    assert!(out.is_ascii(), "{out:?}");
    assert!(!out.contains("//"), "{out:?}");
    assert!(!out.contains(';'), "{out:?}");
    assert!(!out.contains(['#', '?', '\\', ' ']), "{out:?}");
    assert!(!out.bytes().any(|b| b.is_ascii_control()), "{out:?}");
    let body = out.strip_prefix('/').unwrap_or(out);
    assert!(body.split('/').all(|s| s != "." && s != ".."), "{out:?}");
    let mut rest = out;
    while let Some((_, tail)) = rest.split_once('%') {
        let hex = tail.get(..2).unwrap_or_default();
        assert!(
            hex.len() == 2
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()),
            "{out:?}"
        );
        let byte = u8::from_str_radix(hex, 16).unwrap();
        assert!(!is_unreserved(byte), "{out:?}");
        assert!(
            !matches!(byte, b'%' | b'\\' | b';' | 0..=0x1F | 0x7F),
            "{out:?}"
        );
        assert!(byte != b'/' || rules.allow_encoded_slash, "{out:?}");
        rest = tail;
    }
    assert_eq!(canon(out, rules).as_deref(), Ok(out), "not idempotent");
}

const ALPHABET: &[&str] = &[
    "a", "B", "~x", ".", "..", "%2e", "%2E%2e", "%41", "", "..;p", ";q", "%2F", "%c3%a9", "%25",
];

fn alphabet_segments() -> impl Strategy<Value = Vec<Vec<&'static str>>> {
    let segment = prop::collection::vec(prop::sample::select(ALPHABET), 1..3);
    prop::collection::vec(segment, 1..8)
}

fn join(segments: &[Vec<&str>]) -> String {
    let segments: Vec<String> = segments.iter().map(|s| s.concat()).collect();
    format!("/{}", segments.join("/"))
}

#[derive(Debug, PartialEq)]
enum ModelError {
    Invalid,
    EmptySegment,
    AboveRoot,
}

/// Reference model for paths built from [`ALPHABET`]: decode each token, strip parameters,
/// drop or reject empty segments, then resolve dot segments with a stack.
fn model(segments: &[Vec<&str>], rules: &PathRules) -> Result<String, ModelError> {
    let invalid = |t: &&str| match *t {
        "%25" => true,
        "%2F" => !rules.allow_encoded_slash,
        t => t.contains(';') && rules.params == PathParams::Reject,
    };
    if segments.iter().flatten().any(invalid) {
        return Err(ModelError::Invalid);
    }
    let decoded: Vec<String> = segments
        .iter()
        .map(|s| s.iter().map(|t| decode(t)).collect::<String>())
        .map(|s| s.split(';').next().unwrap_or_default().to_owned())
        .collect();
    let mut kept = Vec::new();
    for (i, segment) in decoded.iter().enumerate() {
        if segment.is_empty() && i + 1 < decoded.len() {
            if rules.empty_segments == EmptySegments::Reject {
                return Err(ModelError::EmptySegment);
            }
            continue;
        }
        kept.push(segment.as_str());
    }
    let mut stack = Vec::new();
    for segment in &kept {
        match *segment {
            "" | "." => {}
            ".." => {
                stack.pop().ok_or(ModelError::AboveRoot)?;
            }
            s => stack.push(s),
        }
    }
    let directory = matches!(kept.last(), Some(&("" | "." | "..")));
    let slash = if directory && !stack.is_empty() {
        "/"
    } else {
        ""
    };
    Ok(format!("/{}{slash}", stack.join("/")))
}

fn decode(token: &str) -> &str {
    match token {
        "%2e" => ".",
        "%2E%2e" => "..",
        "%41" => "A",
        "%c3%a9" => "%C3%A9",
        t => t,
    }
}

fn rules_strategy() -> impl Strategy<Value = PathRules> {
    prop::sample::select(all_rules())
}

fn arbitrary_path() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "/[ -~]{0,40}",
        "/((%[0-9a-fA-F]{2})|[aZ09.;/~%:@=_-]){0,30}",
        "(/(\\.|\\.\\.|%2[eE]|%2[fF]|%[c-fC-F][0-9a-fA-F]|%[89ab][0-9a-f]|;x|a|)){1,8}",
        alphabet_segments().prop_map(|s| join(&s)),
    ]
}

proptest! {
    #[test]
    fn idempotent_and_guaranteed_for_arbitrary_input(raw in arbitrary_path()) {
        for rules in all_rules() {
            if let Ok(out) = canon(&raw, &rules) {
                assert_guarantees(&out, &rules);
            }
            if let Ok((path, query)) = canonicalize_target(&raw, &rules) {
                assert_guarantees(path.as_str(), &rules);
                let query = query.unwrap_or_default();
                prop_assert!(query.is_ascii() && !query.contains(['#', ' ']));
                prop_assert!(!query.bytes().any(|b| b.is_ascii_control()));
            }
        }
    }

    #[test]
    fn agrees_with_reference_model(segments in alphabet_segments(), rules in rules_strategy()) {
        let raw = join(&segments);
        let actual = canon(&raw, &rules);
        match model(&segments, &rules) {
            Ok(expected) => prop_assert_eq!(actual, Ok(expected)),
            Err(ModelError::AboveRoot) => prop_assert_eq!(actual, Err(PathError::AboveRoot)),
            Err(ModelError::EmptySegment) => {
                prop_assert_eq!(actual, Err(PathError::EmptySegment));
            }
            Err(ModelError::Invalid) => prop_assert!(matches!(
                actual,
                Err(PathError::EncodedSlash { .. }
                    | PathError::EncodedPercent { .. }
                    | PathError::PathParam { .. })
            ), "{:?}", actual),
        }
    }

    #[test]
    fn stays_below_a_safe_prefix(
        prefix in prop::collection::vec(
            prop::sample::select(&["a", "B", "~x", "%41", "c%c3%a9", "x:y", "%2e%41"][..]),
            1..4,
        ),
        suffix in prop::collection::vec(
            prop::sample::select(&["a", ".", "%2e", "%41", "", ";q", "%2F", "%c3%a9", "%25"][..]),
            0..6,
        ),
        rules in rules_strategy(),
    ) {
        let prefix = format!("/{}", prefix.join("/"));
        let canonical_prefix = canon(&prefix, &rules).unwrap();
        let raw = format!("{prefix}{}", suffix.iter().map(|s| format!("/{s}")).collect::<String>());
        if let Ok(out) = canon(&raw, &rules) {
            prop_assert!(
                out == canonical_prefix || out.starts_with(&format!("{canonical_prefix}/")),
                "{raw:?} -> {out:?} escapes {canonical_prefix:?}"
            );
        }
    }

    #[test]
    fn segments_round_trip(raw in arbitrary_path()) {
        if let Ok(path) = canonicalize(&raw, &STRIP) {
            let joined = format!("/{}", path.segments().collect::<Vec<_>>().join("/"));
            prop_assert_eq!(joined.as_str(), path.as_str());
        }
    }
}
