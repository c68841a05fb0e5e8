//! Named JSON values: resource attributes and party claims.
//!
//! umagate passes every attribute and claim as JSON text (`"alice@example.com"`, `true`, `42`,
//! `["staff"]`). [`Attributes`] parses each value when first read and offers typed look-ups.

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
    entries: Vec<Entry>,
}

#[derive(Clone)]
struct Entry {
    name: String,
    json: String,
    /// `json` parsed on first use; `None` inside when it is not valid JSON.
    value: OnceLock<Option<Value>>,
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
            name: name.into(),
            json: value.to_string(),
            value: OnceLock::from(Some(value)),
        });
        self
    }

    /// Adds a value given as JSON text, exactly as umagate would pass it.
    pub fn with_json(mut self, name: impl Into<String>, json: impl Into<String>) -> Self {
        self.push_json(name.into(), json.into());
        self
    }

    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Vec::with_capacity(capacity),
        }
    }

    pub(crate) fn push_json(&mut self, name: String, json: String) {
        let value = OnceLock::new();
        self.entries.push(Entry { name, json, value });
    }

    fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|entry| entry.name == name)
    }

    /// Whether a value with this name is present (even if it is not valid JSON).
    pub fn contains(&self, name: &str) -> bool {
        self.entry(name).is_some()
    }

    /// The parsed value, or `None` when it is absent or not valid JSON.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.entry(name).and_then(Entry::value)
    }

    /// The value's JSON text as received, e.g. `"\"alice@example.com\""`.
    pub fn get_json(&self, name: &str) -> Option<&str> {
        self.entry(name).map(|entry| entry.json.as_str())
    }

    /// The value if it is a JSON string. A string without escapes (the usual case) is read
    /// straight from the JSON text, without parsing or allocating.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        let entry = self.entry(name)?;
        plain_json_str(&entry.json).or_else(|| entry.value().and_then(Value::as_str))
    }

    /// The value if it is `true` or `false`.
    pub fn get_bool(&self, name: &str) -> Option<bool> {
        let entry = self.entry(name)?;
        match entry.json.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => entry.value().and_then(Value::as_bool),
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
        if let Some(text) = plain_json_str(&entry.json) {
            return Ok(Some(text));
        }
        if let Some(text) = entry.value().and_then(Value::as_str) {
            return Ok(Some(text));
        }
        // Not a JSON string: report exactly what `get_as::<String>` would.
        let source = match serde_json::from_str::<String>(&entry.json) {
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
        serde_json::from_str(&entry.json)
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
            .map(|entry| (entry.name.as_str(), entry.json.as_str()))
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

impl Entry {
    /// `json` parsed (on first use), or `None` if it is not valid JSON.
    fn value(&self) -> Option<&Value> {
        self.value
            .get_or_init(|| serde_json::from_str(&self.json).ok())
            .as_ref()
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
