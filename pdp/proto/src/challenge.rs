//! `WWW-Authenticate` challenges and the UMA "AS unreachable" fallback.
//!
//! - [`UmaChallenge`]: `UMA realm="…", as_uri="…", ticket="…"` (UMA Grant §3.2.1), built on one
//!   line with `, ` separators and `realm` first (requests-oauthlib-uma needs both), and parsed
//!   strictly per RFC 9110 §11 (auth-param syntax, quoted-string escapes, no duplicate or
//!   missing parameters, nothing trailing).
//! - [`BearerChallenge`]: RFC 6750 §3 challenges for the protection API's PAT errors.
//! - [`AS_UNREACHABLE_WARNING`]: the `Warning: 199` header of UMA Grant §3.2.2.
//!
//! Values come from configuration and the AS, never from the request; the builders still refuse
//! control characters so no value can split a header.

use std::fmt::Write;

use crate::error::{ErrorCode, ErrorResponse};

/// The `Warning` header value sent with a 403 when no ticket could be obtained.
pub const AS_UNREACHABLE_WARNING: &str = "199 - \"UMA Authorization Server Unreachable\"";

/// The JSON body sent with [`AS_UNREACHABLE_WARNING`].
pub fn as_unreachable_body() -> ErrorResponse {
    ErrorResponse::new(
        ErrorCode::TemporarilyUnavailable,
        "UMA authorization server unreachable",
    )
}

/// Why a challenge could not be built or parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChallengeError {
    /// A value contains a character a quoted-string cannot carry.
    #[error("`{0}` contains a control or non-ASCII character")]
    BadValue(&'static str),
    /// The scheme is not `UMA`.
    #[error("not a UMA challenge")]
    NotUma,
    /// The header does not follow the RFC 9110 challenge grammar.
    #[error("malformed challenge at byte {0}")]
    Syntax(usize),
    /// A parameter appears twice.
    #[error("parameter `{0}` appears more than once")]
    Duplicate(String),
    /// A required parameter is absent.
    #[error("parameter `{0}` is missing")]
    Missing(&'static str),
}

/// A UMA challenge (UMA Grant §3.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UmaChallenge {
    /// The protection realm (not spec-required, but clients need one).
    pub realm: String,
    /// The issuer URI of the AS.
    pub as_uri: String,
    /// The permission ticket.
    pub ticket: String,
}

impl UmaChallenge {
    /// The header value, e.g. `UMA realm="example", as_uri="https://as.example.com", ticket="…"`.
    pub fn to_header_value(&self) -> Result<String, ChallengeError> {
        let mut out = String::from("UMA ");
        push_param(&mut out, "realm", &self.realm)?;
        out.push_str(", ");
        push_param(&mut out, "as_uri", &self.as_uri)?;
        out.push_str(", ");
        push_param(&mut out, "ticket", &self.ticket)?;
        Ok(out)
    }

    /// Parses one UMA challenge. `realm` may be absent (empty then); `as_uri` and `ticket` are
    /// required and non-empty; unknown parameters are ignored.
    pub fn parse(value: &str) -> Result<Self, ChallengeError> {
        let params = parse_challenge(value)?;
        let get = |name: &'static str| {
            params
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let required = |name: &'static str| match get(name) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(ChallengeError::Missing(name)),
        };
        Ok(Self {
            realm: get("realm").unwrap_or_default(),
            as_uri: required("as_uri")?,
            ticket: required("ticket")?,
        })
    }
}

/// An RFC 6750 §3 bearer challenge.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BearerChallenge {
    /// The protection realm.
    pub realm: Option<String>,
    /// `invalid_request`, `invalid_token` or `insufficient_scope`; none when no credentials
    /// were sent (RFC 6750 §3.1).
    pub error: Option<ErrorCode>,
    /// The scope needed, with `insufficient_scope`.
    pub scope: Option<String>,
}

impl BearerChallenge {
    /// The header value, e.g. `Bearer realm="umagate", error="invalid_token"`.
    pub fn to_header_value(&self) -> Result<String, ChallengeError> {
        let mut params = Vec::new();
        if let Some(realm) = &self.realm {
            params.push(("realm", realm.as_str()));
        }
        if let Some(error) = self.error {
            params.push(("error", error.as_str()));
        }
        if let Some(scope) = &self.scope {
            params.push(("scope", scope.as_str()));
        }
        let mut out = String::from("Bearer");
        for (i, (name, value)) in params.into_iter().enumerate() {
            out.push_str(if i == 0 { " " } else { ", " });
            push_param(&mut out, name, value)?;
        }
        Ok(out)
    }
}

fn push_param(out: &mut String, name: &'static str, value: &str) -> Result<(), ChallengeError> {
    if !value.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
        return Err(ChallengeError::BadValue(name));
    }
    let _ = write!(out, "{name}=\"");
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(())
}

/// Parses `UMA` 1*SP #auth-param into (name, value) pairs.
fn parse_challenge(value: &str) -> Result<Vec<(String, String)>, ChallengeError> {
    let mut p = Parser {
        s: value.as_bytes(),
        i: 0,
    };
    let scheme = p.token().ok_or(ChallengeError::Syntax(0))?;
    if !scheme.eq_ignore_ascii_case("UMA") {
        return Err(ChallengeError::NotUma);
    }
    if !p.eat(b' ') {
        return Err(ChallengeError::Syntax(p.i));
    }
    let mut params: Vec<(String, String)> = Vec::new();
    loop {
        p.ows();
        if p.eat(b',') {
            continue; // empty list element (RFC 9110 §5.6.1)
        }
        if p.done() {
            break;
        }
        let name = p.token().ok_or(ChallengeError::Syntax(p.i))?;
        p.ows();
        if !p.eat(b'=') {
            return Err(ChallengeError::Syntax(p.i));
        }
        p.ows();
        let value = if p.peek() == Some(b'"') {
            p.quoted()?
        } else {
            p.token().ok_or(ChallengeError::Syntax(p.i))?
        };
        if params.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            return Err(ChallengeError::Duplicate(crate::shorten(&name)));
        }
        params.push((name, value));
        p.ows();
        if !p.done() && !p.eat(b',') {
            return Err(ChallengeError::Syntax(p.i));
        }
    }
    Ok(params)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }
    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        self.i += usize::from(hit);
        hit
    }
    fn ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }
    /// RFC 9110 §5.6.2 token.
    fn token(&mut self) -> Option<String> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        {
            self.i += 1;
        }
        let token = self.s.get(start..self.i)?;
        (!token.is_empty()).then(|| String::from_utf8_lossy(token).into_owned())
    }
    /// RFC 9110 §5.6.4 quoted-string, without obs-text.
    fn quoted(&mut self) -> Result<String, ChallengeError> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let b = self.peek().ok_or(ChallengeError::Syntax(self.i))?;
            self.i += 1;
            match b {
                b'"' => return Ok(out),
                b'\\' => {
                    let escaped = self
                        .peek()
                        .filter(|c| *c == b'\t' || *c == b' ' || c.is_ascii_graphic());
                    out.push(char::from(escaped.ok_or(ChallengeError::Syntax(self.i))?));
                    self.i += 1;
                }
                b'\t' | b' ' => out.push(char::from(b)),
                b if b.is_ascii_graphic() => out.push(char::from(b)),
                _ => return Err(ChallengeError::Syntax(self.i - 1)),
            }
        }
    }
}

#[cfg(test)]
mod tests;
