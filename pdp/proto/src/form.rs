//! Strict `application/x-www-form-urlencoded` parsing for OAuth requests (RFC 6749 §3.1, §3.2).
//!
//! - a parameter that appears more than once is refused, whatever its values (RFC 6749 §3.1);
//! - a parameter sent without a value is treated as omitted (RFC 6749 §3.1, §3.2);
//! - unrecognised parameters are kept but ignored by the typed parsers (RFC 6749 §3.1);
//! - `+` is a space; a `%` not followed by two hex digits, bytes that do not form UTF-8, and
//!   control characters in a name or value are refused rather than repaired.

use std::collections::BTreeMap;

use crate::error::{ErrorCode, ErrorResponse};

/// Most parameters a form may carry; OAuth requests use about ten.
pub const MAX_PARAMETERS: usize = 64;

/// A parsed form: non-empty values by parameter name.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Form {
    values: BTreeMap<String, String>,
}

impl std::fmt::Debug for Form {
    // Forms carry secrets (client_secret, codes, tokens): show the names only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.values.keys()).finish()
    }
}

impl Form {
    /// Parses a form body or a query string (without the leading `?`).
    pub fn parse(input: &[u8]) -> Result<Self, ErrorResponse> {
        let mut seen = BTreeMap::new();
        let mut count = 0usize;
        for pair in input.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            count += 1;
            if count > MAX_PARAMETERS {
                return Err(invalid("too many parameters"));
            }
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            let name = decode(name)?;
            let value = decode(value)?;
            if name.is_empty() {
                return Err(invalid("a parameter has an empty name"));
            }
            if seen.insert(name.clone(), value).is_some() {
                return Err(invalid(format!(
                    "parameter `{}` appears more than once",
                    crate::shorten(&name)
                )));
            }
        }
        seen.retain(|_, v: &mut String| !v.is_empty());
        Ok(Self { values: seen })
    }

    /// The value of `name`, if present and non-empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The value of `name`, or `invalid_request` naming the missing parameter.
    pub fn require(&self, name: &str) -> Result<&str, ErrorResponse> {
        self.get(name)
            .ok_or_else(|| invalid(format!("parameter `{name}` is missing")))
    }

    /// Whether `name` is present with a non-empty value.
    pub fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// The parameter names present, in sorted order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }
}

fn invalid(description: impl Into<String>) -> ErrorResponse {
    ErrorResponse::new(ErrorCode::InvalidRequest, description)
}

/// Percent-decodes one name or value, with `+` as space, refusing anything malformed.
pub(crate) fn decode(raw: &[u8]) -> Result<String, ErrorResponse> {
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.next().and_then(|h| hex(*h));
                let lo = bytes.next().and_then(|l| hex(*l));
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                    _ => return Err(invalid("malformed percent-encoding")),
                }
            }
            _ => out.push(b),
        }
    }
    let text = String::from_utf8(out).map_err(|_| invalid("parameter is not valid UTF-8"))?;
    if text.chars().any(char::is_control) {
        return Err(invalid("parameter contains a control character"));
    }
    Ok(text)
}

fn hex(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_and_percent() {
        let f = Form::parse(b"a=x+y%20z&b=%E2%9C%93&c").unwrap();
        assert_eq!(f.get("a"), Some("x y z"));
        assert_eq!(f.get("b"), Some("\u{2713}"));
        assert_eq!(f.get("c"), None, "no value means omitted");
    }

    #[test]
    fn empty_values_are_omitted() {
        let f = Form::parse(b"scope=&ticket=t").unwrap();
        assert!(!f.contains("scope"));
        assert_eq!(
            f.require("scope").unwrap_err().code(),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn duplicates_are_refused_even_when_one_is_empty() {
        for body in [&b"a=1&a=2"[..], b"a=1&a=", b"a=&a=", b"a=1&%61=2"] {
            let e = Form::parse(body).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidRequest);
            assert!(e.description().unwrap_or("").contains("more than once"));
        }
    }

    #[test]
    fn malformed_input_is_refused() {
        for body in [
            &b"a=%"[..],
            b"a=%4",
            b"a=%zz",
            b"a=%FF",
            b"a=%00",
            b"a=x%0Ay",
            b"=x",
            b"a=\xff",
        ] {
            assert!(Form::parse(body).is_err(), "{body:?}");
        }
    }

    #[test]
    fn parameter_count_is_bounded() {
        let body: Vec<String> = (0..=MAX_PARAMETERS).map(|i| format!("p{i}=1")).collect();
        assert!(Form::parse(body.join("&").as_bytes()).is_err());
    }

    #[test]
    fn debug_shows_no_values() {
        let f = Form::parse(b"client_secret=hunter2").unwrap();
        assert!(!format!("{f:?}").contains("hunter2"));
    }
}
