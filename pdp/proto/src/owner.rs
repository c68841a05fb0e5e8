//! The owner API's wire types (umagate's own JSON API, authenticated as the owner with an
//! access token carrying [`OWNER_SCOPE`]): shares, pending requests, policies and their
//! bindings, the decision log.
//!
//! Request bodies are strict (`deny_unknown_fields`, duplicate members refused by
//! [`crate::json`]); responses carry only what the owner may see about their own resources.

use serde::{Deserialize, Serialize};

use crate::scope::ScopeToken;

/// The scope an access token needs to call the owner API on behalf of its user.
pub const OWNER_SCOPE: &str = "uma_owner";

/// `POST /owner/shares`: share one resource, or every resource of a type, with a user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareRequest {
    /// The resource (exactly one of `resource_id`, `resource_type`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// Every resource of this type (exactly one of `resource_id`, `resource_type`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// The user: a username, a subject, or an email address (exactly one of `user`, `email`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Anyone proving this verified email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The scopes shared (at least one).
    pub scopes: Vec<ScopeToken>,
    /// Until when (seconds since the epoch), if limited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

/// A share as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    /// The share's id.
    pub id: String,
    /// The resource shared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// The type shared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// The user's subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The scopes.
    pub scopes: Vec<String>,
    /// Until when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// When it was made.
    pub created_at: i64,
}

/// One permission of a pending request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestedPermission {
    /// The resource.
    pub resource_id: String,
    /// The scopes (empty: the resource itself).
    pub resource_scopes: Vec<String>,
}

/// A request for the owner's approval, as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRequest {
    /// The request's id.
    pub id: String,
    /// The requesting party.
    pub subject: String,
    /// The client asking.
    pub client_id: String,
    /// The resource server.
    pub resource_server: String,
    /// What was asked.
    pub permissions: Vec<RequestedPermission>,
    /// `pending`, `approved` or `denied`.
    pub status: String,
    /// What was approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granted: Option<Vec<RequestedPermission>>,
    /// Until when the approval holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// When it was made.
    pub created_at: i64,
}

/// `POST /owner/requests/{id}/approve`: everything asked, or only `permissions` (a subset),
/// optionally until `expires_at`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// The permissions granted; absent: all that was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<RequestedPermission>>,
    /// Until when (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

/// A stored policy version (the answer to an upload, and in listings).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersion {
    /// The policy's id.
    pub policy_id: String,
    /// The policy's name.
    pub name: String,
    /// The version.
    pub version: i64,
    /// SHA-256 hex of the component.
    pub digest: String,
    /// Bytes.
    pub size: i64,
    /// When uploaded.
    pub created_at: i64,
}

/// What a binding applies to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingTarget {
    /// One resource, by id (exactly one of `resource_id`, `resource_type`, `all`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// Every resource of a type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// Every resource of the owner.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all: bool,
}

/// `PUT /owner/bindings`: bind a target to a policy version, or to "ask me".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingRequest {
    /// What it applies to.
    pub target: BindingTarget,
    /// The policy (absent with `ask_owner`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_id: Option<String>,
    /// The version (default: the latest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// "Ask me": every request for the target waits for the owner.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ask_owner: bool,
}

/// A binding as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// What it applies to.
    pub target: BindingTarget,
    /// The policy, or absent for "ask me".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_id: Option<String>,
    /// The version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// Whether this is "ask me".
    pub ask_owner: bool,
}

/// One line of the decision log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionLine {
    /// The resource.
    pub resource_id: String,
    /// The client.
    pub client_id: String,
    /// The requesting party, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// `permit`, `deny`, `need_info` or `ask_owner`.
    pub outcome: String,
    /// Outcome per scope.
    pub scopes: serde_json::Value,
    /// Why.
    pub explanation: String,
    /// When.
    pub created_at: i64,
}

/// `POST /owner/policies/{id}/versions/{version}/dry-run`: what the policy would decide.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DryRun {
    /// One of the owner's resources.
    pub resource_id: String,
    /// The scopes to decide.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The requesting party's subject, as a policy would see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Its claims, as if verified.
    #[serde(default)]
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// The client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}
