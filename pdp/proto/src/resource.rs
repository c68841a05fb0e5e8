//! Resource registration (FedAuthz §3): resource descriptions and the endpoint's responses.
//!
//! Parsing rules, beyond the spec's types:
//! - the body is one JSON object without duplicate members;
//! - `resource_scopes` is required: an array (possibly empty, D-EMPTY-SCOPES) of distinct
//!   RFC 6749 scope tokens, at most [`crate::scope::MAX_SCOPES`];
//! - `icon_uri` is an absolute `http`/`https` URI (it ends up in the owner's console);
//! - `name`, `type` and `description` are bounded and contain no control characters;
//! - internationalized variants `name#<tag>` and `description#<tag>` (RFC 7591 §2.2) are kept;
//!   every other unknown member is ignored (FedAuthz §1.1);
//! - `_id` is read so the server can refuse a PUT whose body names another resource (D-ID); it
//!   is ignored on create.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, ErrorResponse};
use crate::scope::ScopeToken;

/// Longest `name` or `type`.
pub const MAX_NAME_LEN: usize = 512;
/// Longest `description`.
pub const MAX_DESCRIPTION_LEN: usize = 4096;
/// Most internationalized variants of `name` and `description` together.
pub const MAX_LOCALIZED: usize = 32;

/// A resource description (FedAuthz §3.1), as registered and as read back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawResource")]
pub struct ResourceDescription {
    /// The AS-assigned id: set in responses; in requests only checked on update.
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The scopes available for this resource.
    pub resource_scopes: Vec<ScopeToken>,
    /// A human-readable description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// An icon for the resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon_uri: Option<String>,
    /// A human-readable name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A string (often a URI) identifying the kind of resource.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// Internationalized `name#<tag>` / `description#<tag>` members.
    #[serde(flatten)]
    pub localized: BTreeMap<String, String>,
    /// Where the resource server may send the owner to set policy (FedAuthz §3.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_access_policy_uri: Option<String>,
}

impl ResourceDescription {
    /// Parses a registration body (create or update) strictly.
    pub fn parse(body: &[u8]) -> Result<Self, ErrorResponse> {
        crate::json::object_from_slice(body)
            .map_err(|e| ErrorResponse::new(ErrorCode::InvalidRequest, e.to_string()))
    }

    /// Whether `scope` is one of the resource's scopes.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.resource_scopes.iter().any(|s| s.as_str() == scope)
    }
}

/// The body of a successful update (FedAuthz §3.2.3), e.g. `{"_id":"9UQU-DUWW"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceIdResponse {
    /// The resource id.
    #[serde(rename = "_id")]
    pub id: String,
    /// Where the resource server may send the owner to set policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_access_policy_uri: Option<String>,
}

/// A scope description (FedAuthz §3.1.1), for scopes identified by URIs that resolve to one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeDescription {
    /// A human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// An icon for the scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_uri: Option<String>,
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Deserialize)]
struct RawResource {
    #[serde(rename = "_id")]
    id: Option<String>,
    resource_scopes: Vec<ScopeToken>,
    description: Option<String>,
    icon_uri: Option<String>,
    name: Option<String>,
    #[serde(rename = "type")]
    resource_type: Option<String>,
    user_access_policy_uri: Option<String>,
    #[serde(flatten)]
    other: BTreeMap<String, serde_json::Value>,
}

impl TryFrom<RawResource> for ResourceDescription {
    type Error = String;

    fn try_from(raw: RawResource) -> Result<Self, String> {
        crate::scope::Scopes::from_tokens(raw.resource_scopes.clone())
            .map_err(|e| e.to_string())?;
        check_text("name", raw.name.as_deref(), MAX_NAME_LEN)?;
        check_text("type", raw.resource_type.as_deref(), MAX_NAME_LEN)?;
        check_text(
            "description",
            raw.description.as_deref(),
            MAX_DESCRIPTION_LEN,
        )?;
        if let Some(icon) = &raw.icon_uri {
            crate::uri::web_uri(icon).map_err(|e| format!("`icon_uri`: {e}"))?;
        }
        if let Some(uri) = &raw.user_access_policy_uri {
            crate::uri::web_uri(uri).map_err(|e| format!("`user_access_policy_uri`: {e}"))?;
        }
        Ok(Self {
            id: raw.id,
            resource_scopes: raw.resource_scopes,
            description: raw.description,
            icon_uri: raw.icon_uri,
            name: raw.name,
            resource_type: raw.resource_type,
            localized: localized_members(raw.other)?,
            user_access_policy_uri: raw.user_access_policy_uri,
        })
    }
}

/// Keeps `name#tag` and `description#tag` string members; drops every other unknown member.
fn localized_members(
    other: BTreeMap<String, serde_json::Value>,
) -> Result<BTreeMap<String, String>, String> {
    let mut kept = BTreeMap::new();
    for (key, value) in other {
        let Some((base, tag)) = key.split_once('#') else {
            continue;
        };
        let limit = match base {
            "name" => MAX_NAME_LEN,
            "description" => MAX_DESCRIPTION_LEN,
            _ => continue,
        };
        let valid_tag = !tag.is_empty()
            && tag.len() <= 35
            && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !valid_tag {
            return Err(format!(
                "`{}` has an invalid language tag",
                crate::shorten(&key)
            ));
        }
        let serde_json::Value::String(text) = value else {
            return Err(format!("`{}` must be a string", crate::shorten(&key)));
        };
        check_text(&key, Some(&text), limit)?;
        kept.insert(key, text);
    }
    if kept.len() > MAX_LOCALIZED {
        return Err(format!("more than {MAX_LOCALIZED} localized members"));
    }
    Ok(kept)
}

fn check_text(member: &str, text: Option<&str>, max: usize) -> Result<(), String> {
    let Some(text) = text else { return Ok(()) };
    if text.len() > max {
        return Err(format!(
            "`{}` is longer than {max} bytes",
            crate::shorten(member)
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(format!(
            "`{}` contains a control character",
            crate::shorten(member)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
