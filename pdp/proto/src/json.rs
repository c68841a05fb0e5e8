//! Strict JSON parsing: what `serde_json` accepts, minus duplicate object members.
//!
//! RFC 8259 leaves duplicate member names undefined and parsers disagree on which copy wins; an
//! authorization server that sees `{"resource_scopes":["read"],"resource_scopes":["admin"]}`
//! must refuse it rather than guess (FedAuthz §3.2: "parameter more than once"). Parsing is two
//! passes over the same bytes: a structural pass that rejects duplicates at any depth, then the
//! typed pass. Bodies are size-limited by the caller, and `serde_json` bounds nesting depth.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};

/// Why a JSON body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JsonError(String);

impl JsonError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Parses `bytes` as `T` after checking that no object, at any depth, repeats a member name.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonError> {
    check_structure(bytes)?;
    serde_json::from_slice(bytes).map_err(|e| JsonError::new(e.to_string()))
}

/// Parses `bytes` into a JSON value, refusing duplicate members.
pub fn value_from_slice(bytes: &[u8]) -> Result<serde_json::Value, JsonError> {
    check_structure(bytes)?;
    serde_json::from_slice(bytes).map_err(|e| JsonError::new(e.to_string()))
}

/// Parses `bytes` as `T`, which must be written as a JSON object at the top level (serde would
/// otherwise also accept a struct written as a positional array).
pub fn object_from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonError> {
    let value = value_from_slice(bytes)?;
    object_from_value(value)
}

/// Converts a parsed value into `T`, requiring a JSON object.
pub fn object_from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, JsonError> {
    if !value.is_object() {
        return Err(JsonError::new("expected a JSON object"));
    }
    serde_json::from_value(value).map_err(|e| JsonError::new(e.to_string()))
}

fn check_structure(bytes: &[u8]) -> Result<(), JsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    <NoDuplicates as serde::Deserialize>::deserialize(&mut de)
        .map_err(|e| JsonError::new(e.to_string()))?;
    de.end().map_err(|e| JsonError::new(e.to_string()))
}

/// A value that only exists to walk the document and refuse duplicate members.
struct NoDuplicates;

impl<'de> serde::Deserialize<'de> for NoDuplicates {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NoDuplicatesVisitor)
    }
}

struct NoDuplicatesVisitor;

impl<'de> Visitor<'de> for NoDuplicatesVisitor {
    type Value = NoDuplicates;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_unit<E: de::Error>(self) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NoDuplicates, A::Error> {
        while seq.next_element::<NoDuplicates>()?.is_some() {}
        Ok(NoDuplicates)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NoDuplicates, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate member `{}`",
                    crate::shorten(&key)
                )));
            }
            map.next_value::<NoDuplicates>()?;
            seen.insert(key);
        }
        Ok(NoDuplicates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_members_are_refused_at_any_depth() {
        let err = value_from_slice(br#"{"a":1,"a":2}"#).unwrap_err();
        assert!(err.to_string().contains("duplicate member `a`"), "{err}");
        let err = value_from_slice(br#"{"x":[{"b":{"c":1,"c":1}}]}"#).unwrap_err();
        assert!(err.to_string().contains("duplicate member `c`"), "{err}");
    }

    #[test]
    fn same_name_in_sibling_objects_is_fine() {
        let v = value_from_slice(br#"[{"a":1},{"a":2}]"#).unwrap();
        assert_eq!(v[1]["a"], 2);
    }

    #[test]
    fn trailing_data_and_positional_structs_are_refused() {
        assert!(value_from_slice(br#"{"a":1} {"a":2}"#).is_err());
        #[derive(serde::Deserialize, Debug)]
        struct S {
            _a: u8,
        }
        assert!(object_from_slice::<S>(b"[1]").is_err());
        assert!(from_slice::<S>(br#"{"_a":1}"#).is_ok());
    }
}
