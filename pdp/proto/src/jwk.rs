//! JSON Web Key Sets (RFC 7517) as published at `jwks_uri` and read by the proxy.
//!
//! A published set holds public keys only: parsing refuses any key carrying private members
//! (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`), so a misconfigured AS that leaks a private key
//! is caught by its own tests and by every proxy instead of being trusted. Keys without a `kid`
//! are refused too: umagate selects keys by `kid` and pins the algorithm per key.

use serde::{Deserialize, Serialize};

use crate::json::JsonError;

/// Members that only private or symmetric keys have.
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
/// Most keys in one set.
pub const MAX_KEYS: usize = 32;

/// A JWK Set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

/// One public key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key id.
    pub kid: String,
    /// The one algorithm this key is used with (`ES256`, `EdDSA`, `RS256`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Intended use, `sig` for signing keys.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    /// The key material, by key type.
    #[serde(flatten)]
    pub params: JwkParams,
}

/// Key material by `kty` (RFC 7518 §6, RFC 8037 §2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kty")]
pub enum JwkParams {
    /// Elliptic curve public key.
    #[serde(rename = "EC")]
    Ec {
        /// Curve, e.g. `P-256`.
        crv: String,
        /// X coordinate, base64url.
        x: String,
        /// Y coordinate, base64url.
        y: String,
    },
    /// Octet key pair (Ed25519) public key.
    #[serde(rename = "OKP")]
    Okp {
        /// Curve, e.g. `Ed25519`.
        crv: String,
        /// Public key, base64url.
        x: String,
    },
    /// RSA public key.
    #[serde(rename = "RSA")]
    Rsa {
        /// Modulus, base64url.
        n: String,
        /// Exponent, base64url.
        e: String,
    },
}

impl Jwks {
    /// Parses a published set strictly.
    pub fn parse(body: &[u8]) -> Result<Self, JsonError> {
        let value = crate::json::value_from_slice(body)?;
        let keys = value
            .get("keys")
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| JsonError::new("`keys` must be an array"))?;
        if keys.len() > MAX_KEYS {
            return Err(JsonError::new(format!("more than {MAX_KEYS} keys")));
        }
        for key in keys {
            if let Some(member) = PRIVATE_MEMBERS.iter().find(|m| key.get(**m).is_some()) {
                return Err(JsonError::new(format!(
                    "a published key carries the private member `{member}`"
                )));
            }
        }
        crate::json::object_from_value(value)
    }

    /// The key with id `kid`.
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid == kid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7517_appendix_a1_public_keys() {
        let body = r#"{"keys":
       [
         {"kty":"EC",
          "crv":"P-256",
          "x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
          "y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM",
          "use":"enc",
          "kid":"1"},

         {"kty":"RSA",
          "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
          "e":"AQAB",
          "alg":"RS256",
          "kid":"2011-04-29"}
       ]
     }"#;
        let set = Jwks::parse(body.as_bytes()).unwrap();
        assert_eq!(set.keys.len(), 2);
        assert!(
            matches!(set.find("1").unwrap().params, JwkParams::Ec { ref crv, .. } if crv == "P-256")
        );
        assert_eq!(
            set.find("2011-04-29").unwrap().alg.as_deref(),
            Some("RS256")
        );
        assert!(set.find("nope").is_none());
        let again = Jwks::parse(serde_json::to_string(&set).unwrap().as_bytes()).unwrap();
        assert_eq!(again, set);
    }

    #[test]
    fn rfc_8037_ed25519_public_key() {
        let set = Jwks::parse(
            br#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k1","alg":"EdDSA","use":"sig"}]}"#,
        )
        .unwrap();
        assert_eq!(set.keys[0].key_use.as_deref(), Some("sig"));
    }

    #[test]
    fn private_or_anonymous_keys_are_refused() {
        for body in [
            r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qY","d":"nWGx","kid":"k"}]}"#,
            r#"{"keys":[{"kty":"oct","k":"GawgguFyGrWKav7AX4VKUg","kid":"k"}]}"#,
            r#"{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b"}]}"#,
            r#"{"keys":[{"kty":"XYZ","kid":"k"}]}"#,
            r#"{"keys":{}}"#,
            r#"{}"#,
        ] {
            assert!(Jwks::parse(body.as_bytes()).is_err(), "{body}");
        }
    }
}
