//! Token introspection (RFC 7662) with the UMA `permissions` extension (FedAuthz §5).
//!
//! An inactive token is exactly `{"active":false}` (RFC 7662 §2.2: nothing else about an
//! inactive token). An active RPT carries `permissions` and never `scope` (FedAuthz §5.1.1);
//! an active non-UMA token carries `scope`. Parsing refuses a response that has both, and
//! one whose `active` member is missing or not a boolean, so a proxy in introspection mode
//! fails closed on anything unexpected.

use serde::{Deserialize, Serialize};

use crate::claims::Audience;
use crate::json::JsonError;
use crate::permission::Permission;
use crate::scope::Scopes;

/// An introspection response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IntrospectionResponse {
    /// Not active, unknown, or not for this caller.
    Inactive,
    /// Active, with its metadata.
    Active(Box<ActiveToken>),
}

/// The members of an active token's introspection response.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveToken {
    /// Scopes of a non-UMA token; `None` for an RPT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scopes>,
    /// The permissions of an RPT; `None` for a non-UMA token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<Permission>>,
    /// The client the token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// A human-readable identifier of the resource owner or requesting party.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The type of the token, e.g. `Bearer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Expiry, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issue time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Not before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Token identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

impl IntrospectionResponse {
    /// The JSON body.
    pub fn to_json(&self) -> String {
        let value = match self {
            Self::Inactive => serde_json::json!({ "active": false }),
            Self::Active(token) => {
                let mut v = serde_json::to_value(token).unwrap_or_default();
                if let Some(map) = v.as_object_mut() {
                    map.insert("active".into(), serde_json::Value::Bool(true));
                }
                v
            }
        };
        value.to_string()
    }

    /// Parses a response strictly.
    pub fn parse(body: &[u8]) -> Result<Self, JsonError> {
        let mut value = crate::json::value_from_slice(body)?;
        let map = value
            .as_object_mut()
            .ok_or_else(|| JsonError::new("expected a JSON object"))?;
        match map.remove("active") {
            Some(serde_json::Value::Bool(false)) => Ok(Self::Inactive),
            Some(serde_json::Value::Bool(true)) => {
                let token: ActiveToken = crate::json::object_from_value(value)?;
                if token.scope.is_some() && token.permissions.is_some() {
                    return Err(JsonError::new(
                        "an RPT's introspection must not carry `scope`",
                    ));
                }
                Ok(Self::Active(Box::new(token)))
            }
            _ => Err(JsonError::new("`active` must be present and a boolean")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fedauthz_5_1_1_example() {
        let body = r#"{"active":true,"exp":1256953732,"iat":1256912345,
 "permissions":[{"resource_id":"112210f47de98100",
                 "resource_scopes":["view","http://photoz.example.com/dev/actions/print"],
                 "exp":1256953732}]}"#;
        let IntrospectionResponse::Active(t) =
            IntrospectionResponse::parse(body.as_bytes()).unwrap()
        else {
            panic!("inactive");
        };
        let perms = t.permissions.as_ref().unwrap();
        assert_eq!(perms[0].resource_id, "112210f47de98100");
        assert!(perms[0].has_scope("view"));
        assert_eq!(t.exp, Some(1256953732));
        let round: serde_json::Value =
            serde_json::from_str(&IntrospectionResponse::Active(t).to_json()).unwrap();
        assert_eq!(
            round,
            serde_json::from_str::<serde_json::Value>(body).unwrap()
        );
    }

    #[test]
    fn rfc_7662_plain_response_example() {
        let body = r#"{"active":true,"client_id":"l238j323ds-23ij4","username":"jdoe","scope":"read write dolphin","sub":"Z5O3upPC88QrAjx00dis","aud":"https://protected.example.net/resource","iss":"https://server.example.com/","exp":1419356238,"iat":1419350238,"extension_field":"twenty-seven"}"#;
        let IntrospectionResponse::Active(t) =
            IntrospectionResponse::parse(body.as_bytes()).unwrap()
        else {
            panic!("inactive");
        };
        assert!(t.scope.as_ref().unwrap().contains("dolphin"));
        assert!(
            t.aud
                .as_ref()
                .unwrap()
                .contains("https://protected.example.net/resource")
        );
    }

    #[test]
    fn inactive_is_exactly_active_false() {
        assert_eq!(
            IntrospectionResponse::Inactive.to_json(),
            r#"{"active":false}"#
        );
        assert_eq!(
            IntrospectionResponse::parse(br#"{"active":false}"#).unwrap(),
            IntrospectionResponse::Inactive
        );
    }

    #[test]
    fn ambiguous_responses_are_refused() {
        for body in [
            r#"{}"#,
            r#"{"active":"true"}"#,
            r#"{"active":1}"#,
            r#"{"active":null}"#,
            r#"{"active":true,"active":false}"#,
            r#"{"active":true,"scope":"a","permissions":[]}"#,
            r#"{"active":true,"permissions":[{"resource_id":"r"}]}"#,
            r#"{"active":true,"exp":"1256953732"}"#,
            r#"[{"active":true}]"#,
        ] {
            assert!(
                IntrospectionResponse::parse(body.as_bytes()).is_err(),
                "{body}"
            );
        }
    }
}
