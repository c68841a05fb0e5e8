//! JWT claim sets umagate reads and writes: ID tokens (OIDC Core §2), RPTs and userinfo.
//!
//! Time claims are integers only: a string `exp` is refused, not skipped (the jsonwebtoken
//! CVE-2026-25537 lesson). Signature checking belongs to the server and the proxy; these types
//! only describe the payload.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::permission::Permission;

/// An `aud` claim: one string or an array of strings (RFC 7519 §4.1.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience.
    One(String),
    /// Several audiences.
    Many(Vec<String>),
}

impl Audience {
    /// Whether `audience` is among the values.
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Self::One(a) => a == audience,
            Self::Many(all) => all.iter().any(|a| a == audience),
        }
    }

    /// The values, in order.
    pub fn values(&self) -> &[String] {
        match self {
            Self::One(a) => std::slice::from_ref(a),
            Self::Many(all) => all,
        }
    }
}

/// The claims of an ID token (OIDC Core §2, §5.1) that umagate issues and verifies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: String,
    /// Subject.
    pub sub: String,
    /// Audience: the client ids it was issued for.
    pub aud: Audience,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time.
    pub iat: i64,
    /// When the end user authenticated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The nonce of the authorization request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The authorized party (the client), when `aud` has several values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the email address was verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// Full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Short name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// Any other claims, for policies that ask for them.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// The payload of an RPT issued by umagate as a JWT.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RptClaims {
    /// Issuer.
    pub iss: String,
    /// The requesting party.
    pub sub: String,
    /// The resource server the RPT is for (its client id).
    pub aud: Audience,
    /// The client the RPT was issued to.
    pub azp: String,
    /// Expiry.
    pub exp: i64,
    /// Issue time.
    pub iat: i64,
    /// Not before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Token id, for revocation.
    pub jti: String,
    /// The granted permissions.
    pub permissions: Vec<Permission>,
}

/// A userinfo response (OIDC Core §5.3.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// Subject; must equal the ID token's `sub`.
    pub sub: String,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the email address was verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// Full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Short name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::object_from_slice;

    #[test]
    fn oidc_core_id_token_example() {
        let body = r#"{
   "iss": "https://server.example.com",
   "sub": "24400320",
   "aud": "s6BhdRkqt3",
   "nonce": "n-0S6_WzA2Mj",
   "exp": 1311281970,
   "iat": 1311280970,
   "auth_time": 1311280969,
   "acr": "urn:mace:incommon:iap:silver"
  }"#;
        let c: IdTokenClaims = object_from_slice(body.as_bytes()).unwrap();
        assert!(c.aud.contains("s6BhdRkqt3"));
        assert_eq!(c.auth_time, Some(1311280969));
        assert_eq!(c.other["acr"], "urn:mace:incommon:iap:silver");
    }

    #[test]
    fn audience_accepts_one_or_many() {
        let a: Audience = serde_json::from_str(r#"["a","b"]"#).unwrap();
        assert!(a.contains("b") && !a.contains("c"));
        assert_eq!(a.values().len(), 2);
        assert!(serde_json::from_str::<Audience>("7").is_err());
    }

    #[test]
    fn time_claims_must_be_integers() {
        for body in [
            r#"{"iss":"i","sub":"s","aud":"a","exp":"1311281970","iat":1}"#,
            r#"{"iss":"i","sub":"s","aud":"a","exp":1.5,"iat":1}"#,
            r#"{"iss":"i","sub":"s","aud":"a","iat":1}"#,
            r#"{"iss":"i","sub":"s","aud":"a","exp":1,"exp":2,"iat":1}"#,
        ] {
            assert!(
                object_from_slice::<IdTokenClaims>(body.as_bytes()).is_err(),
                "{body}"
            );
        }
    }

    #[test]
    fn rpt_claims_round_trip() {
        let body = r#"{"iss":"https://as.example.com","sub":"bob","aud":"photoz","azp":"demo-client","exp":1700000300,"iat":1700000000,"jti":"j1","permissions":[{"resource_id":"r1","resource_scopes":["view"]}]}"#;
        let c: RptClaims = object_from_slice(body.as_bytes()).unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), body);
        assert!(object_from_slice::<RptClaims>(br#"{"iss":"x"}"#).is_err());
    }

    #[test]
    fn userinfo_example() {
        let u: UserInfo = object_from_slice(
            br#"{"sub":"248289761001","name":"Jane Doe","preferred_username":"j.doe","email":"janedoe@example.com","email_verified":true,"picture":"http://example.com/janedoe/me.jpg"}"#,
        )
        .unwrap();
        assert_eq!(u.email_verified, Some(true));
    }
}
