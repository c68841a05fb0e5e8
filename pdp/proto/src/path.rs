//! The path canonicalizer shared by the authorization server and the edge proxy.
//!
//! The proxy makes its authorization decision on the [`CanonicalPath`] and forwards *that same
//! string* upstream, so the authorizer and the backend can never disagree about which resource a
//! request names. Every construct that parsers are known to read differently is either
//! normalized to one spelling or rejected; nothing is guessed.
//!
//! # Rules
//!
//! | Input | Result | Why |
//! |---|---|---|
//! | empty, `*`, absolute-form, anything not starting with `/` | rejected | only origin-form paths name a resource here |
//! | more than [`MAX_PATH_LEN`] bytes or [`MAX_SEGMENTS`] segments | rejected | bounds the work done per request |
//! | raw `#` | rejected | a fragment is never sent to a server (Envoy CVE-2021-32779) |
//! | raw `\` | rejected | some servers read it as `/` |
//! | raw control character (0x00–0x1F, 0x7F), space, non-ASCII byte | rejected | not allowed in a URI; truncation, smuggling and log injection |
//! | any other raw character outside RFC 3986 `pchar` / `/` (`"` `<` `>` `^` `` ` `` `{` `}` `\|` `[` `]`, and `?` in a bare path) | rejected | not allowed in a path; parsers disagree on them |
//! | `%` not followed by two hex digits | rejected | malformed escape; parsers disagree |
//! | `%XX` of an unreserved byte (ALPHA, DIGIT, `-` `.` `_` `~`) | normalized: decoded, *before* dot-segment handling | RFC 3986 §6.2.2.2; `%2e%2e` must count as `..` |
//! | any other kept `%xx` | normalized: hex digits upper-cased | RFC 3986 §6.2.2.1 |
//! | `%2F` (encoded `/`) | rejected, unless [`PathRules::allow_encoded_slash`]: then kept as `%2F`, data inside one segment, never a separator | Envoy CVE-2021-29492, Caddy `/public/..%2fadmin` |
//! | `%5C` (encoded `\`) | rejected | a backend may decode it into a separator |
//! | `%25` (encoded `%`) | rejected | double encoding: a backend that decodes twice sees another path |
//! | `%00`–`%1F`, `%7F` | rejected | NUL truncation, header and log injection |
//! | `%3B` (encoded `;`) | rejected | a backend may decode it into a parameter delimiter |
//! | escapes of bytes ≥ 0x80 that are not valid UTF-8 (overlong `%C0%AE`, lone continuation bytes, surrogates) | rejected | overlong forms smuggle `.` and `/` past a filter |
//! | valid UTF-8 escapes (`%c3%a9`) | normalized: kept encoded, upper-case hex | |
//! | raw `;` path parameter | [`PathParams::Reject`]: rejected; [`PathParams::Strip`]: removed from the first `;` to the end of its segment, before dot handling | Tomcat `..;/`, CVE-2026-73551 `..;foo=bar` |
//! | `.` and `..` segments | normalized: removed as in RFC 3986 §5.2.4 | Envoy CVE-2019-9901 |
//! | `..` that would climb above `/` | rejected, not clamped | such a request is hostile; clamping would hide it |
//! | empty segment (`//`, also one left by stripping `;x`) | [`EmptySegments::Merge`]: collapsed to one `/` (before dot handling); [`EmptySegments::Reject`]: rejected | backends disagree on `//` |
//! | trailing slash | kept (`/a/` ≠ `/a`); a path ending in a dot segment keeps a trailing slash (`/a/b/..` → `/a/`) | `/a/` and `/a` may be different resources |
//! | letter case | preserved (only hex digits of kept escapes are upper-cased); no Unicode normalization | paths are case-sensitive |
//!
//! # Guarantees
//!
//! A [`CanonicalPath`] returned by [`canonicalize`]:
//!
//! - starts with `/` and is ASCII only;
//! - has no `.` or `..` segment, no `//`, and no raw `;`;
//! - has no `#`, `?`, `\`, space or control character;
//! - has every `%` followed by two upper-case hex digits, none of which encodes an unreserved
//!   byte, `%`, `\`, `;` or a control byte, and encodes `/` only under `allow_encoded_slash`;
//! - is a fixed point: `canonicalize(out, rules) == Ok(out)` with the same `rules`;
//! - never names anything above the root.

use std::fmt;

use serde::Deserialize;

/// Longest raw path accepted, in bytes.
pub const MAX_PATH_LEN: usize = 8192;

/// Most segments accepted in a raw path (one per raw `/`).
pub const MAX_SEGMENTS: usize = 256;

/// How `;` path parameters are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PathParams {
    /// Any raw `;` rejects the path (the default).
    #[default]
    Reject,
    /// Tomcat semantics: remove everything from the first `;` to the end of each segment.
    Strip,
}

/// How empty segments (`//`) are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmptySegments {
    /// Collapse runs of `/` into one (the default).
    #[default]
    Merge,
    /// Reject a path with an empty segment; a trailing slash is not an empty segment.
    Reject,
}

/// The knobs of [`canonicalize`]; the default is the strictest setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields, default)]
pub struct PathRules {
    /// How `;` path parameters are treated.
    pub params: PathParams,
    /// How empty segments are treated.
    pub empty_segments: EmptySegments,
    /// Keep `%2F` as data inside a segment instead of rejecting it. Enable only for backends
    /// that never decode `%2F` into a separator.
    pub allow_encoded_slash: bool,
}

/// A path that satisfies every guarantee listed in the [module docs](self).
///
/// The only way to obtain one is [`canonicalize`] (or [`canonicalize_target`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CanonicalPath(String);

impl CanonicalPath {
    /// The canonical path, starting with `/`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The canonical path as an owned string.
    #[must_use]
    pub fn into_string(self) -> String {
        self.0
    }

    /// The segments between the `/`s, still percent-encoded.
    ///
    /// The root `/` yields one empty segment and a trailing slash yields a final empty segment;
    /// no other segment is empty. Joining `"/"` with the segments separated by `/` gives back
    /// [`as_str`](Self::as_str).
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.strip_prefix('/').unwrap_or(&self.0).split('/')
    }
}

impl fmt::Display for CanonicalPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for CanonicalPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Why a path or request target was rejected. Offsets are byte offsets into the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[expect(
    missing_docs,
    reason = "the `offset` fields are documented on the enum"
)]
pub enum PathError {
    /// The path is empty.
    #[error("path is empty")]
    Empty,
    /// The path does not start with `/` (`*`, absolute-form, relative path).
    #[error("path is not in origin form (it must start with `/`)")]
    NotOriginForm,
    /// The path is longer than [`MAX_PATH_LEN`] bytes.
    #[error("path is {len} bytes long, more than the limit of {MAX_PATH_LEN}")]
    TooLong { len: usize },
    /// The path has more than [`MAX_SEGMENTS`] segments.
    #[error("path has more than {MAX_SEGMENTS} segments")]
    TooManySegments,
    /// A raw `#`.
    #[error("path contains a fragment delimiter (`#`) at byte {offset}")]
    Fragment { offset: usize },
    /// A raw `\`.
    #[error("path contains a backslash at byte {offset}")]
    Backslash { offset: usize },
    /// A raw control character (0x00–0x1F, 0x7F).
    #[error("path contains a control character at byte {offset}")]
    ControlChar { offset: usize },
    /// A raw space.
    #[error("path contains a space at byte {offset}")]
    Space { offset: usize },
    /// A raw non-ASCII byte.
    #[error("path contains a non-ASCII byte at byte {offset}")]
    NonAscii { offset: usize },
    /// Another raw ASCII character that RFC 3986 does not allow in a path.
    #[error("path contains a character not allowed in a path (`{ch}`) at byte {offset}")]
    InvalidChar { ch: char, offset: usize },
    /// A `%` not followed by two hex digits.
    #[error("path contains a malformed percent escape at byte {offset}")]
    MalformedEscape { offset: usize },
    /// `%2F` while [`PathRules::allow_encoded_slash`] is off.
    #[error("path contains an encoded slash (`%2F`) at byte {offset}")]
    EncodedSlash { offset: usize },
    /// `%5C`.
    #[error("path contains an encoded backslash (`%5C`) at byte {offset}")]
    EncodedBackslash { offset: usize },
    /// `%25`.
    #[error("path contains an encoded percent sign (`%25`, double encoding) at byte {offset}")]
    EncodedPercent { offset: usize },
    /// `%00`–`%1F` or `%7F`.
    #[error("path contains an encoded control character at byte {offset}")]
    EncodedControl { offset: usize },
    /// `%3B`.
    #[error("path contains an encoded semicolon (`%3B`) at byte {offset}")]
    EncodedSemicolon { offset: usize },
    /// Escapes of bytes ≥ 0x80 that are not valid UTF-8.
    #[error("path contains percent-encoded bytes that are not valid UTF-8 at byte {offset}")]
    InvalidUtf8 { offset: usize },
    /// A raw `;` under [`PathParams::Reject`].
    #[error("path contains a `;` path parameter at byte {offset}")]
    PathParam { offset: usize },
    /// An empty segment under [`EmptySegments::Reject`].
    #[error("path contains an empty segment (`//`)")]
    EmptySegment,
    /// A `..` that would climb above the root.
    #[error("path climbs above the root with `..`")]
    AboveRoot,
    /// A `#` in the query of a request target.
    #[error("query contains a fragment delimiter (`#`) at byte {offset}")]
    QueryFragment { offset: usize },
    /// A control character in the query of a request target.
    #[error("query contains a control character at byte {offset}")]
    QueryControlChar { offset: usize },
    /// A space in the query of a request target.
    #[error("query contains a space at byte {offset}")]
    QuerySpace { offset: usize },
    /// A non-ASCII byte in the query of a request target.
    #[error("query contains a non-ASCII byte at byte {offset}")]
    QueryNonAscii { offset: usize },
}

/// Canonicalizes an origin-form path (no query) under `rules`; see the [module docs](self).
///
/// # Errors
///
/// Returns the [`PathError`] of the first rule the path breaks.
pub fn canonicalize(raw_path: &str, rules: &PathRules) -> Result<CanonicalPath, PathError> {
    check_shape(raw_path)?;
    let normalized = normalize(raw_path, rules)?;
    resolve(&normalized, rules).map(CanonicalPath)
}

/// Splits an origin-form request-target at the first `?` and canonicalizes the path; the query is
/// returned unchanged but must itself contain no `#`, control characters, space or non-ASCII.
///
/// # Errors
///
/// Returns the [`PathError`] of the path, or of the first bad byte of the query (offsets are into
/// `target`).
pub fn canonicalize_target<'a>(
    target: &'a str,
    rules: &PathRules,
) -> Result<(CanonicalPath, Option<&'a str>), PathError> {
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let canonical = canonicalize(path, rules)?;
    if let Some(query) = query {
        check_query(query, path.len() + 1)?;
    }
    Ok((canonical, query))
}

fn check_query(query: &str, base: usize) -> Result<(), PathError> {
    for (i, b) in query.bytes().enumerate() {
        let offset = base + i;
        match b {
            b'#' => return Err(PathError::QueryFragment { offset }),
            b' ' => return Err(PathError::QuerySpace { offset }),
            0x00..=0x1F | 0x7F => return Err(PathError::QueryControlChar { offset }),
            0x80.. => return Err(PathError::QueryNonAscii { offset }),
            _ => {}
        }
    }
    Ok(())
}

fn check_shape(raw: &str) -> Result<(), PathError> {
    if raw.is_empty() {
        return Err(PathError::Empty);
    }
    if raw.len() > MAX_PATH_LEN {
        return Err(PathError::TooLong { len: raw.len() });
    }
    if !raw.starts_with('/') {
        return Err(PathError::NotOriginForm);
    }
    if raw.bytes().filter(|&b| b == b'/').count() > MAX_SEGMENTS {
        return Err(PathError::TooManySegments);
    }
    Ok(())
}

/// Validates every byte and escape, decodes unreserved escapes and upper-cases the others.
fn normalize(raw: &str, rules: &PathRules) -> Result<String, PathError> {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut run = Utf8Run::default();
    let mut pos = 0;
    while let Some(&b) = bytes.get(pos) {
        if b == b'%' {
            let byte = escape_at(bytes, pos)?;
            if byte >= 0x80 {
                run.push(byte, pos);
                push_hex(&mut out, byte);
            } else {
                run.finish()?;
                push_escaped(&mut out, byte, pos, rules)?;
            }
            pos += 3;
        } else {
            run.finish()?;
            check_raw(b, pos, rules)?;
            out.push(char::from(b));
            pos += 1;
        }
    }
    run.finish()?;
    Ok(out)
}

/// A run of consecutive escapes of bytes ≥ 0x80, which must be valid UTF-8.
#[derive(Default)]
struct Utf8Run {
    bytes: Vec<u8>,
    start: usize,
}

impl Utf8Run {
    fn push(&mut self, byte: u8, offset: usize) {
        if self.bytes.is_empty() {
            self.start = offset;
        }
        self.bytes.push(byte);
    }

    fn finish(&mut self) -> Result<(), PathError> {
        let result =
            std::str::from_utf8(&self.bytes)
                .map(drop)
                .map_err(|e| PathError::InvalidUtf8 {
                    offset: self.start + 3 * e.valid_up_to(),
                });
        self.bytes.clear();
        result
    }
}

fn escape_at(bytes: &[u8], pos: usize) -> Result<u8, PathError> {
    let digit = |i: usize| bytes.get(pos + i).and_then(|&b| char::from(b).to_digit(16));
    match (digit(1), digit(2)) {
        (Some(hi), Some(lo)) => {
            u8::try_from(hi * 16 + lo).map_err(|_| PathError::MalformedEscape { offset: pos })
        }
        _ => Err(PathError::MalformedEscape { offset: pos }),
    }
}

fn push_escaped(
    out: &mut String,
    byte: u8,
    offset: usize,
    rules: &PathRules,
) -> Result<(), PathError> {
    match byte {
        _ if is_unreserved(byte) => out.push(char::from(byte)),
        b'/' if rules.allow_encoded_slash => push_hex(out, byte),
        b'/' => return Err(PathError::EncodedSlash { offset }),
        b'\\' => return Err(PathError::EncodedBackslash { offset }),
        b'%' => return Err(PathError::EncodedPercent { offset }),
        b';' => return Err(PathError::EncodedSemicolon { offset }),
        0x00..=0x1F | 0x7F => return Err(PathError::EncodedControl { offset }),
        _ => push_hex(out, byte),
    }
    Ok(())
}

fn push_hex(out: &mut String, byte: u8) {
    let digit = |n: u8| {
        char::from_digit(u32::from(n), 16)
            .unwrap_or('0')
            .to_ascii_uppercase()
    };
    out.push('%');
    out.push(digit(byte >> 4));
    out.push(digit(byte & 0x0F));
}

fn check_raw(b: u8, offset: usize, rules: &PathRules) -> Result<(), PathError> {
    match b {
        _ if is_unreserved(b) => Ok(()),
        b'/' | b':' | b'@' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b','
        | b'=' => Ok(()),
        b';' if rules.params == PathParams::Strip => Ok(()),
        b';' => Err(PathError::PathParam { offset }),
        b'#' => Err(PathError::Fragment { offset }),
        b'\\' => Err(PathError::Backslash { offset }),
        b' ' => Err(PathError::Space { offset }),
        0x00..=0x1F | 0x7F => Err(PathError::ControlChar { offset }),
        0x80.. => Err(PathError::NonAscii { offset }),
        _ => Err(PathError::InvalidChar {
            ch: char::from(b),
            offset,
        }),
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Strips parameters, merges or rejects empty segments, then resolves dot segments.
fn resolve(normalized: &str, rules: &PathRules) -> Result<String, PathError> {
    let body = normalized.strip_prefix('/').unwrap_or(normalized);
    let mut segments: Vec<&str> = body.split('/').map(|s| strip_params(s, rules)).collect();
    // The final segment may be empty: that is the trailing slash.
    let last = segments.pop().unwrap_or_default();
    if segments.contains(&"") && rules.empty_segments == EmptySegments::Reject {
        return Err(PathError::EmptySegment);
    }
    segments.retain(|s| !s.is_empty());
    segments.push(last);
    resolve_dots(&segments)
}

fn resolve_dots(segments: &[&str]) -> Result<String, PathError> {
    let mut stack: Vec<&str> = Vec::new();
    for &segment in segments {
        match segment {
            "" | "." => {}
            ".." => {
                stack.pop().ok_or(PathError::AboveRoot)?;
            }
            _ => stack.push(segment),
        }
    }
    let mut out = format!("/{}", stack.join("/"));
    let directory = matches!(segments.last(), Some(&("" | "." | "..")));
    if directory && !stack.is_empty() {
        out.push('/');
    }
    Ok(out)
}

fn strip_params<'a>(segment: &'a str, rules: &PathRules) -> &'a str {
    match rules.params {
        PathParams::Strip => segment.split_once(';').map_or(segment, |(head, _)| head),
        PathParams::Reject => segment,
    }
}

#[cfg(test)]
mod tests;
