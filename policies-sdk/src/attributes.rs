//! Named JSON values: resource attributes and party claims.
//!
//! umagate passes the attributes and the claims as one JSON object each
//! (`{"email":"alice@example.com","email_verified":true}`). [`Attributes`] splits it into named
//! JSON texts (`"alice@example.com"`, `true`, `42`, `["staff"]`), parses each value when first
//! read and offers typed look-ups.

use core::fmt;
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde_json::Value;

/// A list of named JSON values, such as [`Resource::attributes`](crate::Resource::attributes)
/// or [`Party::claims`](crate::Party::claims).
///
/// Look-ups go by exact name. If a name occurs more than once, the first entry wins. Each value
/// is parsed on first use, so values a policy never reads cost nothing.
///
/// ```
/// use umagate_policies_sdk::Attributes;
///
/// let claims = Attributes::new()
///     .with("email", "alice@example.com")
///     .with("email_verified", true)
///     .with_json("groups", r#"["staff","admin"]"#);
/// assert_eq!(claims.get_str("email"), Some("alice@example.com"));
/// assert_eq!(claims.get_bool("email_verified"), Some(true));
/// assert_eq!(claims.get_as::<Vec<String>>("groups").unwrap().unwrap(), ["staff", "admin"]);
/// assert_eq!(claims.get_str("missing"), None);
/// ```
#[derive(Clone, Default)]
pub struct Attributes {
    /// The JSON object as received; entries point into it.
    source: String,
    entries: Vec<Entry>,
}

#[derive(Clone)]
struct Entry {
    name: Text,
    json: Text,
    /// `json` parsed on first use; `None` inside when it is not valid JSON.
    value: OnceLock<Option<Value>>,
}

/// A name or JSON text: a span of [`Attributes::source`], or its own string (added by a builder,
/// or a name that had escapes).
#[derive(Clone)]
enum Text {
    Span(usize, usize),
    Owned(String),
}

/// A value that is present but cannot be read as the requested type.
///
/// Its message names the attribute, e.g.
/// ``attribute `share-domain`: invalid type: integer `3`, expected a string``.
#[derive(Debug)]
pub struct AttributeError {
    name: String,
    source: serde_json::Error,
}

// === impl Attributes ===

impl Attributes {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a value (builder style, for tests). Anything that converts into a
    /// [`JsonValue`](crate::JsonValue) works: `&str`, `String`, `bool`, integers, floats,
    /// vectors of those, or `serde_json::json!({...})`.
    pub fn with(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        let value = value.into();
        self.entries.push(Entry {
            name: Text::Owned(name.into()),
            json: Text::Owned(value.to_string()),
            value: OnceLock::from(Some(value)),
        });
        self
    }

    /// Adds a value given as JSON text, exactly as umagate would pass it.
    pub fn with_json(mut self, name: impl Into<String>, json: impl Into<String>) -> Self {
        self.push_json(name.into(), json.into());
        self
    }

    /// The members of a JSON object, in order (repeated names kept: the first wins on look-up),
    /// each value kept as its JSON text, in place. `None` if `object` is not one JSON object.
    pub(crate) fn from_json_object(object: String) -> Option<Self> {
        let entries = split_object(&object)?;
        Some(Self {
            source: object,
            entries,
        })
    }

    fn push_json(&mut self, name: String, json: String) {
        self.entries.push(Entry {
            name: Text::Owned(name),
            json: Text::Owned(json),
            value: OnceLock::new(),
        });
    }

    fn text<'a>(&'a self, text: &'a Text) -> &'a str {
        match text {
            // Spans are made only at character boundaries of `source` (see `split_object`).
            Text::Span(start, end) => self.source.get(*start..*end).unwrap_or_default(),
            Text::Owned(text) => text,
        }
    }

    fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|entry| self.text(&entry.name) == name)
    }

    /// The entry's JSON text.
    fn json<'a>(&'a self, entry: &'a Entry) -> &'a str {
        self.text(&entry.json)
    }

    /// The entry's value, parsed on first use; `None` if it is not valid JSON.
    fn value<'a>(&'a self, entry: &'a Entry) -> Option<&'a Value> {
        entry
            .value
            .get_or_init(|| serde_json::from_str(self.json(entry)).ok())
            .as_ref()
    }

    /// Whether a value with this name is present (even if it is not valid JSON).
    pub fn contains(&self, name: &str) -> bool {
        self.entry(name).is_some()
    }

    /// The parsed value, or `None` when it is absent or not valid JSON.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.entry(name).and_then(|entry| self.value(entry))
    }

    /// The value's JSON text as received, e.g. `"\"alice@example.com\""`.
    pub fn get_json(&self, name: &str) -> Option<&str> {
        self.entry(name).map(|entry| self.json(entry))
    }

    /// The value if it is a JSON string. A string without escapes (the usual case) is read
    /// straight from the JSON text, without parsing or allocating.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        let entry = self.entry(name)?;
        plain_json_str(self.json(entry)).or_else(|| self.value(entry).and_then(Value::as_str))
    }

    /// The value if it is `true` or `false`.
    pub fn get_bool(&self, name: &str) -> Option<bool> {
        let entry = self.entry(name)?;
        match self.json(entry) {
            "true" => Some(true),
            "false" => Some(false),
            _ => self.value(entry).and_then(Value::as_bool),
        }
    }

    /// Reads the value as a string, borrowed: the same answers as
    /// [`get_as::<String>`](Attributes::get_as) (`Ok(None)` when absent, the same error when
    /// present but not a JSON string), without allocating for a string without escapes.
    ///
    /// ```
    /// use umagate_policies_sdk::Attributes;
    ///
    /// let attributes = Attributes::new().with("domain", "example.com").with("n", 3);
    /// assert_eq!(attributes.get_as_str("domain").unwrap(), Some("example.com"));
    /// assert_eq!(attributes.get_as_str("missing").unwrap(), None);
    /// assert_eq!(
    ///     attributes.get_as_str("n").unwrap_err().to_string(),
    ///     attributes.get_as::<String>("n").unwrap_err().to_string(),
    /// );
    /// ```
    pub fn get_as_str(&self, name: &str) -> Result<Option<&str>, AttributeError> {
        let Some(entry) = self.entry(name) else {
            return Ok(None);
        };
        if let Some(text) = plain_json_str(self.json(entry)) {
            return Ok(Some(text));
        }
        if let Some(text) = self.value(entry).and_then(Value::as_str) {
            return Ok(Some(text));
        }
        // Not a JSON string: report exactly what `get_as::<String>` would.
        let source = match serde_json::from_str::<String>(self.json(entry)) {
            Err(source) => source,
            Ok(_) => serde::de::Error::custom("expected a JSON string"),
        };
        Err(AttributeError {
            name: name.to_owned(),
            source,
        })
    }

    /// The value if it is a JSON number that fits an `i64`.
    pub fn get_i64(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(Value::as_i64)
    }

    /// The value if it is a JSON number.
    pub fn get_f64(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(Value::as_f64)
    }

    /// Reads the value as any type that implements [`serde::Deserialize`].
    ///
    /// Returns `Ok(None)` when the value is absent, and an error when it is present but
    /// not valid JSON or not of type `T`. Policies should usually deny in that case.
    pub fn get_as<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, AttributeError> {
        let Some(entry) = self.entry(name) else {
            return Ok(None);
        };
        serde_json::from_str(self.json(entry))
            .map(Some)
            .map_err(|source| AttributeError {
                name: name.to_owned(),
                source,
            })
    }

    /// Every `(name, json text)` pair, in the order received.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .map(|entry| (self.text(&entry.name), self.json(entry)))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Nesting accepted inside a member value (serde_json's own recursion limit).
const MAX_DEPTH: usize = 128;

/// Splits the JSON object `source` into its members, in order: each name (a span of `source`,
/// or decoded if it has escapes) and the span of its value's JSON text. `None` if `source` is
/// not one JSON object. Values are only delimited here (strings, brackets, literals, number
/// characters); each is parsed in full when read, so a malformed value reads as invalid JSON.
fn split_object(source: &str) -> Option<Vec<Entry>> {
    let b = source.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    let mut entries = Vec::new();
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            let (end, escaped) = scan_string(b, i)?;
            let name = if escaped {
                Text::Owned(serde_json::from_str(source.get(i..end)?).ok()?)
            } else {
                Text::Span(i + 1, end - 1)
            };
            i = skip_ws(b, end);
            if b.get(i) != Some(&b':') {
                return None;
            }
            let start = skip_ws(b, i + 1);
            let end = scan_value(b, start, 0)?;
            entries.push(Entry {
                name,
                json: Text::Span(start, end),
                value: OnceLock::new(),
            });
            i = skip_ws(b, end);
            match b.get(i) {
                Some(b',') => i = skip_ws(b, i + 1),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (skip_ws(b, i) == b.len()).then_some(entries)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The end (past the closing quote) of the JSON string at `b[i]`, and whether it has escapes.
/// Every delimiter is ASCII, so the ends are character boundaries.
fn scan_string(b: &[u8], i: usize) -> Option<(usize, bool)> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1;
    let mut escaped = false;
    loop {
        match *b.get(j)? {
            b'"' => return Some((j + 1, escaped)),
            // The escaped character is skipped too, so `\"` does not end the string.
            b'\\' => {
                escaped = true;
                j += 2;
            }
            c if c < 0x20 => return None,
            _ => j += 1,
        }
    }
}

/// The end of the JSON value at `b[i]`.
fn scan_value(b: &[u8], i: usize, depth: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => scan_string(b, i).map(|(end, _)| end),
        open @ (b'{' | b'[') => {
            if depth >= MAX_DEPTH {
                return None;
            }
            let close = if open == b'{' { b'}' } else { b']' };
            let mut i = skip_ws(b, i + 1);
            if b.get(i) == Some(&close) {
                return Some(i + 1);
            }
            loop {
                if open == b'{' {
                    i = skip_ws(b, scan_string(b, i)?.0);
                    if b.get(i) != Some(&b':') {
                        return None;
                    }
                    i = skip_ws(b, i + 1);
                }
                i = skip_ws(b, scan_value(b, i, depth + 1)?);
                match b.get(i) {
                    Some(b',') => i = skip_ws(b, i + 1),
                    Some(&c) if c == close => return Some(i + 1),
                    _ => return None,
                }
            }
        }
        b't' => b[i..].starts_with(b"true").then_some(i + 4),
        b'f' => b[i..].starts_with(b"false").then_some(i + 5),
        b'n' => b[i..].starts_with(b"null").then_some(i + 4),
        b'-' | b'0'..=b'9' => {
            let len = b[i..]
                .iter()
                .take_while(|c| matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                .count();
            Some(i + len)
        }
        _ => None,
    }
}

/// The contents of `json` if it is a JSON string without escapes (`"abc"`): then they are the
/// string itself. `None` for anything else, which then takes the parser's way.
fn plain_json_str(json: &str) -> Option<&str> {
    let inner = json.strip_prefix('"')?.strip_suffix('"')?;
    // RFC 8259: unescaped string characters are U+0020 and up, except `"` and `\`.
    inner
        .bytes()
        .all(|b| b >= 0x20 && b != b'"' && b != b'\\')
        .then_some(inner)
}

/// Equal when the names and JSON texts are, in order.
impl PartialEq for Attributes {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

/// Shows `{name: json, ...}` in order.
impl fmt::Debug for Attributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

// === impl AttributeError ===

impl AttributeError {
    /// The name of the value that could not be read.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for AttributeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "attribute `{}`: {}", self.name, self.source)
    }
}

/// The cause is part of the message, so `source` is empty.
impl std::error::Error for AttributeError {}
