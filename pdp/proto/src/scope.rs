//! Scopes: RFC 6749 §3.3 scope tokens and the space-separated `scope` parameter.
//!
//! Resource scopes registered by a resource server (FedAuthz §3.1) must be requestable through
//! the `scope` parameter, so they follow the same grammar:
//! `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )` (no space, `"` or `\`), here at most
//! [`MAX_SCOPE_LEN`] bytes. URIs such as `http://photoz.example.com/dev/actions/print` qualify.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest scope token accepted.
pub const MAX_SCOPE_LEN: usize = 256;
/// Most scope tokens in one `scope` parameter or one resource description.
pub const MAX_SCOPES: usize = 64;

/// One scope token.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ScopeToken(String);

impl ScopeToken {
    /// Validates a scope token.
    pub fn new(text: impl Into<String>) -> Result<Self, ScopeError> {
        let text = text.into();
        if text.is_empty() {
            return Err(ScopeError::Empty);
        }
        if text.len() > MAX_SCOPE_LEN {
            return Err(ScopeError::TooLong);
        }
        if !text
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
        {
            return Err(ScopeError::BadCharacter(crate::shorten(&text)));
        }
        Ok(Self(text))
    }

    /// The scope as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ScopeToken {
    type Error = ScopeError;
    fn try_from(text: String) -> Result<Self, ScopeError> {
        Self::new(text)
    }
}

impl From<ScopeToken> for String {
    fn from(s: ScopeToken) -> String {
        s.0
    }
}

impl fmt::Display for ScopeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a scope or scope list was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeError {
    /// An empty token (also two spaces in a row, or a leading/trailing space).
    #[error("empty scope token")]
    Empty,
    /// Longer than [`MAX_SCOPE_LEN`].
    #[error("scope token longer than {MAX_SCOPE_LEN} bytes")]
    TooLong,
    /// A character outside the RFC 6749 §3.3 grammar.
    #[error("scope `{0}` contains a character RFC 6749 §3.3 does not allow")]
    BadCharacter(String),
    /// More than [`MAX_SCOPES`] tokens.
    #[error("more than {MAX_SCOPES} scopes")]
    TooMany,
    /// The same token twice in a list where that is an error.
    #[error("scope `{0}` is listed more than once")]
    Duplicate(String),
}

/// A set of scopes in first-seen order, written on the wire as one space-separated string.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Scopes(Vec<ScopeToken>);

impl Scopes {
    /// Parses a `scope` parameter (RFC 6749 §3.3): tokens separated by single spaces. A repeated
    /// token is kept once.
    pub fn parse(text: &str) -> Result<Self, ScopeError> {
        let mut scopes = Vec::new();
        for part in text.split(' ') {
            let token = ScopeToken::new(part)?;
            if !scopes.contains(&token) {
                if scopes.len() == MAX_SCOPES {
                    return Err(ScopeError::TooMany);
                }
                scopes.push(token);
            }
        }
        Ok(Self(scopes))
    }

    /// Builds a set from tokens, refusing duplicates and more than [`MAX_SCOPES`].
    pub fn from_tokens(tokens: Vec<ScopeToken>) -> Result<Self, ScopeError> {
        if tokens.len() > MAX_SCOPES {
            return Err(ScopeError::TooMany);
        }
        for (i, t) in tokens.iter().enumerate() {
            if tokens[..i].contains(t) {
                return Err(ScopeError::Duplicate(t.0.clone()));
            }
        }
        Ok(Self(tokens))
    }

    /// Whether `scope` is in the set.
    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s.as_str() == scope)
    }

    /// The tokens in order.
    pub fn iter(&self) -> impl Iterator<Item = &ScopeToken> {
        self.0.iter()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of scopes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl TryFrom<String> for Scopes {
    type Error = ScopeError;
    fn try_from(text: String) -> Result<Self, ScopeError> {
        Self::parse(&text)
    }
}

impl From<Scopes> for String {
    fn from(s: Scopes) -> String {
        s.to_string()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(s.as_str())?;
        }
        Ok(())
    }
}

/// A JSON array of scope tokens without duplicates (FedAuthz `resource_scopes`).
pub(crate) mod scope_array {
    use serde::{Deserialize, Deserializer};

    use super::{ScopeToken, Scopes};

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<ScopeToken>, D::Error> {
        let tokens = Vec::<ScopeToken>::deserialize(d)?;
        Scopes::from_tokens(tokens)
            .map(|s| s.0)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc_6749_scope_lists() {
        let s = Scopes::parse("view http://photoz.example.com/dev/actions/print view").unwrap();
        assert_eq!(s.len(), 2);
        assert!(s.contains("http://photoz.example.com/dev/actions/print"));
        assert_eq!(
            s.to_string(),
            "view http://photoz.example.com/dev/actions/print"
        );
    }

    #[test]
    fn refuses_malformed_lists() {
        for bad in [
            "",
            " view",
            "view ",
            "a  b",
            "a\tb",
            "sa\"y",
            "back\\slash",
            "caf\u{e9}",
        ] {
            assert!(Scopes::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            ScopeToken::new("x".repeat(MAX_SCOPE_LEN + 1)),
            Err(ScopeError::TooLong)
        );
        let many: Vec<String> = (0..=MAX_SCOPES).map(|i| format!("s{i}")).collect();
        assert_eq!(Scopes::parse(&many.join(" ")), Err(ScopeError::TooMany));
    }

    #[test]
    fn from_tokens_refuses_duplicates() {
        let t = ScopeToken::new("view").unwrap();
        assert_eq!(
            Scopes::from_tokens(vec![t.clone(), t]),
            Err(ScopeError::Duplicate("view".into()))
        );
    }
}
