//! The input and output of the decision function (design: "one decision function").
//!
//! [`PolicyInput`] is what a policy may look at about one permission request: the resource and
//! its owner-set attributes, the requested scopes, the requesting party's *verified* claims, and
//! a server-owned [`Context`] that claims can never overwrite (the clock, the client, the
//! authentication time). [`Decision`] holds one [`Outcome`] per requested scope. Every way a
//! decision can fail — a policy's trap, a malformed answer — collapses into
//! [`Decision::deny_all`], so callers can only fail closed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use umagate_proto::error::RequiredClaim;

/// Most scopes in one request or registered on one resource.
pub const MAX_SCOPES: usize = umagate_proto::scope::MAX_SCOPES;
/// Most attributes or claims in one input.
pub const MAX_ATTRIBUTES: usize = 64;
/// Largest serialized size of one attribute or claim value.
pub const MAX_VALUE_BYTES: usize = 16 * 1024;

/// A permission request as a policy sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    /// The resource asked for.
    pub resource: ResourceFacts,
    /// The requested scopes: distinct, each registered on the resource. Empty means access to
    /// the resource with no scope, decided as the scope `""`.
    pub scopes: Vec<String>,
    /// The requesting party.
    #[serde(default)]
    pub party: Party,
    /// Server-owned facts.
    pub context: Context,
}

/// The resource, as registered by its resource server, with its owner's attributes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceFacts {
    /// The resource id.
    pub id: String,
    /// The registered type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// The registered name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The owner's subject identifier.
    pub owner: String,
    /// Every registered scope.
    pub scopes: Vec<String>,
    /// Attributes the owner set.
    #[serde(default)]
    pub attributes: BTreeMap<String, serde_json::Value>,
}

/// The requesting party as verified by the AS.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    /// Subject identifier, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The issuer that vouched for the subject and claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Verified claims.
    #[serde(default)]
    pub claims: BTreeMap<String, serde_json::Value>,
}

/// Facts only the server knows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// Request time, seconds since the Unix epoch, read once at the edge.
    pub now: i64,
    /// When the requesting party authenticated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The authenticated client.
    pub client_id: String,
}

/// Why a [`PolicyInput`] was refused before any policy saw it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// A requested scope is not registered on the resource.
    #[error("requested scope `{0}` is not registered on the resource")]
    UnknownScope(String),
    /// A scope is requested or registered twice.
    #[error("scope `{0}` is listed twice")]
    DuplicateScope(String),
    /// Too many scopes, attributes or claims, or a value too large.
    #[error("{0}")]
    TooLarge(String),
}

impl PolicyInput {
    /// The scopes a decision must cover: the requested ones, or `""` when none was requested.
    pub fn decided_scopes(&self) -> Vec<&str> {
        if self.scopes.is_empty() {
            vec![""]
        } else {
            self.scopes.iter().map(String::as_str).collect()
        }
    }

    /// Checks the invariants the policy world promises its policies.
    pub fn validate(&self) -> Result<(), InputError> {
        for list in [&self.scopes, &self.resource.scopes] {
            if list.len() > MAX_SCOPES {
                return Err(InputError::TooLarge(format!(
                    "more than {MAX_SCOPES} scopes"
                )));
            }
            // At most MAX_SCOPES entries: a quadratic scan beats allocating a set.
            if let Some(s) = list
                .iter()
                .enumerate()
                .find_map(|(i, s)| list[..i].contains(s).then_some(s))
            {
                return Err(InputError::DuplicateScope(s.clone()));
            }
        }
        if let Some(s) = self
            .scopes
            .iter()
            .find(|s| !self.resource.scopes.contains(s))
        {
            return Err(InputError::UnknownScope(s.clone()));
        }
        for map in [&self.resource.attributes, &self.party.claims] {
            if map.len() > MAX_ATTRIBUTES {
                return Err(InputError::TooLarge(format!(
                    "more than {MAX_ATTRIBUTES} attributes or claims"
                )));
            }
            if let Some(name) = map
                .iter()
                .find(|(_, v)| json_len(v) > MAX_VALUE_BYTES)
                .map(|(n, _)| n)
            {
                return Err(InputError::TooLarge(format!(
                    "value of `{name}` exceeds {MAX_VALUE_BYTES} bytes"
                )));
            }
        }
        Ok(())
    }
}

/// The length of `value` written as JSON, without building the text.
fn json_len(value: &serde_json::Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail; if it somehow did, count the value as too large.
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

/// What a policy decided for one scope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "detail")]
pub enum Outcome {
    /// Grant.
    Permit,
    /// Refuse, with the reason for the decision log.
    Deny(String),
    /// More claims would help; becomes UMA `need_info`.
    NeedInfo(Vec<RequiredClaim>),
    /// Ask the owner; becomes UMA `request_submitted`. The text tells the owner why.
    AskOwner(String),
}

impl Outcome {
    /// The outcome's name: `permit`, `deny`, `need_info` or `ask_owner`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Permit => "permit",
            Self::Deny(_) => "deny",
            Self::NeedInfo(_) => "need_info",
            Self::AskOwner(_) => "ask_owner",
        }
    }
}

/// A decision: one outcome per decided scope, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Outcome by scope.
    pub scopes: BTreeMap<String, Outcome>,
    /// A sentence for the decision log.
    pub explanation: String,
}

impl Decision {
    /// Denies every scope `input` asks for, with `reason` — the answer to every failure.
    pub fn deny_all(input: &PolicyInput, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self {
            scopes: input
                .decided_scopes()
                .into_iter()
                .map(|s| (s.to_string(), Outcome::Deny(reason.clone())))
                .collect(),
            explanation: reason,
        }
    }

    /// Whether every decided scope is permitted.
    pub fn permits_all(&self) -> bool {
        !self.scopes.is_empty() && self.scopes.values().all(|o| *o == Outcome::Permit)
    }
}

#[cfg(test)]
mod tests;
