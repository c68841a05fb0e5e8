//! Fuzzes the path canonicalizer: whatever it accepts must satisfy the output guarantees listed
//! in `umagate_proto::path`, under every rule combination.

#![no_main]

use libfuzzer_sys::fuzz_target;
use umagate_proto::path::{
    EmptySegments, PathParams, PathRules, canonicalize, canonicalize_target,
};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    for params in [PathParams::Reject, PathParams::Strip] {
        for empty_segments in [EmptySegments::Merge, EmptySegments::Reject] {
            for allow_encoded_slash in [false, true] {
                let rules = PathRules {
                    params,
                    empty_segments,
                    allow_encoded_slash,
                };
                check(input, &rules);
            }
        }
    }
});

fn check(input: &str, rules: &PathRules) {
    if let Ok(path) = canonicalize(input, rules) {
        assert_guarantees(input, path.as_str(), rules);
    }
    if let Ok((path, query)) = canonicalize_target(input, rules) {
        assert_guarantees(input, path.as_str(), rules);
        let query = query.unwrap_or_default();
        assert!(query.is_ascii(), "{input:?}: query not ASCII");
        assert!(!query.contains(['#', ' ']), "{input:?}: bad query byte");
        assert!(
            !query.bytes().any(|b| b.is_ascii_control()),
            "{input:?}: control in query"
        );
    }
}

fn assert_guarantees(input: &str, out: &str, rules: &PathRules) {
    assert!(
        out.starts_with('/'),
        "{input:?} -> {out:?}: not origin form"
    );
    assert!(out.is_ascii(), "{input:?} -> {out:?}: not ASCII");
    assert!(!out.contains("//"), "{input:?} -> {out:?}: empty segment");
    assert!(!out.contains(';'), "{input:?} -> {out:?}: path parameter");
    assert!(
        !out.contains(['#', '?', '\\', ' ']),
        "{input:?} -> {out:?}: forbidden char"
    );
    assert!(
        !out.bytes().any(|b| b.is_ascii_control()),
        "{input:?} -> {out:?}: control char"
    );
    let body = out.strip_prefix('/').unwrap_or(out);
    assert!(
        body.split('/').all(|s| s != "." && s != ".."),
        "{input:?} -> {out:?}: dot segment"
    );
    assert_escapes(input, out, rules);
    let again = canonicalize(out, rules);
    assert_eq!(
        again.as_ref().map(|p| p.as_str()),
        Ok(out),
        "{input:?} -> {out:?}: not idempotent"
    );
}

fn assert_escapes(input: &str, out: &str, rules: &PathRules) {
    let mut rest = out;
    while let Some((_, tail)) = rest.split_once('%') {
        let hex = tail.get(..2).unwrap_or_default();
        assert!(
            hex.len() == 2
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()),
            "{input:?} -> {out:?}: bad escape"
        );
        let byte = u8::from_str_radix(hex, 16).unwrap_or_default();
        let unreserved = byte.is_ascii_alphanumeric() || b"-._~".contains(&byte);
        assert!(!unreserved, "{input:?} -> {out:?}: escaped unreserved byte");
        assert!(
            !matches!(byte, b'%' | b'\\' | b';' | 0..=0x1F | 0x7F),
            "{input:?} -> {out:?}: forbidden escape"
        );
        assert!(
            byte != b'/' || rules.allow_encoded_slash,
            "{input:?} -> {out:?}: encoded slash"
        );
        rest = tail;
    }
}
