//! The permission endpoint (FedAuthz §4) and granted permissions (FedAuthz §5.1.1).
//!
//! A permission request body is one object or a non-empty array of objects, each with a
//! `resource_id` and a `resource_scopes` array (zero or more scopes, FedAuthz §4). Missing or
//! `null` members, an empty array and anything that is not an object are `invalid_request`
//! (D-PERM-MALFORMED); unknown members (`claims`, sent by some clients) are ignored.

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, ErrorResponse};
use crate::scope::ScopeToken;
use crate::secret::Secret;

/// Most permissions in one permission request.
pub const MAX_PERMISSIONS: usize = 32;
/// Longest resource id.
pub const MAX_RESOURCE_ID_LEN: usize = 256;

/// One requested permission: a registered resource and zero or more of its scopes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawPermissionRequest")]
pub struct PermissionRequest {
    /// The `_id` the resource was registered under.
    pub resource_id: String,
    /// Scopes registered for that resource.
    pub resource_scopes: Vec<ScopeToken>,
}

#[derive(Deserialize)]
struct RawPermissionRequest {
    resource_id: String,
    #[serde(deserialize_with = "crate::scope::scope_array::deserialize")]
    resource_scopes: Vec<ScopeToken>,
}

impl TryFrom<RawPermissionRequest> for PermissionRequest {
    type Error = String;

    fn try_from(raw: RawPermissionRequest) -> Result<Self, String> {
        check_resource_id(&raw.resource_id)?;
        Ok(Self {
            resource_id: raw.resource_id,
            resource_scopes: raw.resource_scopes,
        })
    }
}

/// Checks the shape of a resource id (not whether it is registered).
pub fn check_resource_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_RESOURCE_ID_LEN {
        return Err(format!(
            "`resource_id` must be 1 to {MAX_RESOURCE_ID_LEN} bytes"
        ));
    }
    if id.chars().any(char::is_control) {
        return Err("`resource_id` contains a control character".into());
    }
    Ok(())
}

impl PermissionRequest {
    /// Parses a permission endpoint body: one object or a non-empty array of objects.
    pub fn parse_body(body: &[u8]) -> Result<Vec<Self>, ErrorResponse> {
        let invalid = |m: String| ErrorResponse::new(ErrorCode::InvalidRequest, m);
        let value = crate::json::value_from_slice(body).map_err(|e| invalid(e.to_string()))?;
        let items = match value {
            serde_json::Value::Array(items) => items,
            object @ serde_json::Value::Object(_) => vec![object],
            _ => {
                return Err(invalid(
                    "expected a permission object or an array of them".into(),
                ));
            }
        };
        if items.is_empty() {
            return Err(invalid("the permission array is empty".into()));
        }
        if items.len() > MAX_PERMISSIONS {
            return Err(invalid(format!("more than {MAX_PERMISSIONS} permissions")));
        }
        items
            .into_iter()
            .map(|item| crate::json::object_from_value(item).map_err(|e| invalid(e.to_string())))
            .collect()
    }
}

/// The permission endpoint's success body (FedAuthz §4.2), sent with `201 Created`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionTicketResponse {
    /// The permission ticket.
    pub ticket: Secret,
}

/// A granted permission, as carried in an RPT and in introspection (FedAuthz §5.1.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    /// The registered resource.
    pub resource_id: String,
    /// The granted scopes (zero or more).
    pub resource_scopes: Vec<ScopeToken>,
    /// When this permission expires (seconds since the epoch); the token's `exp` wins if earlier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// When this permission was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Not valid before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

impl Permission {
    /// Whether the permission grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.resource_scopes.iter().any(|s| s.as_str() == scope)
    }

    /// Whether the permission is in force at `now`, given the token's own `exp` and `nbf`
    /// (the earlier `exp` and the later `nbf` win, FedAuthz §5.1.1).
    pub fn in_force(&self, now: i64, token_exp: Option<i64>, token_nbf: Option<i64>) -> bool {
        let exp = [self.exp, token_exp].into_iter().flatten().min();
        let nbf = [self.nbf, token_nbf].into_iter().flatten().max();
        exp.is_none_or(|e| now < e) && nbf.is_none_or(|n| now >= n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<Vec<PermissionRequest>, ErrorResponse> {
        PermissionRequest::parse_body(body.as_bytes())
    }

    #[test]
    fn fedauthz_4_1_single_permission_example() {
        let p = parse(r#"{"resource_id":"112210f47de98100","resource_scopes":["view","http://photoz.example.com/dev/actions/print"]}"#).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].resource_id, "112210f47de98100");
        assert_eq!(
            p[0].resource_scopes[1].as_str(),
            "http://photoz.example.com/dev/actions/print"
        );
    }

    #[test]
    fn fedauthz_4_1_multiple_permissions_example() {
        let p = parse(
            r#"[{"resource_id":"7b727369647d","resource_scopes":["view","crop","lightbox"]},
                {"resource_id":"7b72736964327d","resource_scopes":["view","layout","print"]},
                {"resource_id":"7b72736964337d","resource_scopes":["http://www.example.com/scopes/all"]}]"#,
        )
        .unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(p[2].resource_scopes.len(), 1);
    }

    #[test]
    fn zero_scopes_and_unknown_members_are_accepted() {
        let p = parse(r#"{"resource_id":"r","resource_scopes":[],"claims":null}"#).unwrap();
        assert!(p[0].resource_scopes.is_empty());
    }

    #[test]
    fn fedauthz_4_2_ticket_response_example() {
        let body = r#"{"ticket":"016f84e8-f9b9-11e0-bd6f-0021cc6004de"}"#;
        let t: PermissionTicketResponse = serde_json::from_str(body).unwrap();
        assert_eq!(t.ticket.expose(), "016f84e8-f9b9-11e0-bd6f-0021cc6004de");
        assert_eq!(serde_json::to_string(&t).unwrap(), body);
    }

    #[test]
    fn malformed_permission_requests_are_invalid_request() {
        let too_many = format!(
            "[{}]",
            vec![r#"{"resource_id":"r","resource_scopes":[]}"#; MAX_PERMISSIONS + 1].join(",")
        );
        for body in [
            "[]",
            "null",
            r#""r""#,
            r#"{"resource_scopes":["view"]}"#,
            r#"{"resource_id":"r"}"#,
            r#"{"resource_id":null,"resource_scopes":[]}"#,
            r#"{"resource_id":"r","resource_scopes":null}"#,
            r#"{"resource_id":"","resource_scopes":[]}"#,
            r#"{"resource_id":7,"resource_scopes":[]}"#,
            r#"{"resource_id":"r","resource_scopes":"view"}"#,
            r#"{"resource_id":"r","resource_scopes":["a","a"]}"#,
            r#"{"resource_id":"r","resource_id":"s","resource_scopes":[]}"#,
            r#"[{"resource_id":"r","resource_scopes":[]}, ["r", []]]"#,
            too_many.as_str(),
        ] {
            let e = parse(body).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidRequest, "{body}");
        }
    }

    #[test]
    fn fedauthz_5_1_1_permission_precedence() {
        let p: Permission = serde_json::from_str(
            r#"{"resource_id":"112210f47de98100","resource_scopes":["view"],"exp":1256953732}"#,
        )
        .unwrap();
        assert!(p.in_force(1256953731, None, None));
        assert!(!p.in_force(1256953732, None, None));
        assert!(!p.in_force(100, Some(100), None), "earlier token exp wins");
        assert!(!p.in_force(100, None, Some(101)), "later token nbf wins");
    }
}
