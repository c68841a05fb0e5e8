//! JWS compact serialization (RFC 7515) with ES256 (RFC 7518 §3.4), the one algorithm umagate
//! signs ID tokens and RPTs with.
//!
//! Verification trusts nothing in the token but the `kid`: the algorithm must be `ES256` and the
//! key with that `kid` must be a P-256 key published for `ES256` (no `none`, no HMAC-with-the-
//! public-key confusion, no `jku`/`jwk`/`x5u` header keys, no `crit` extensions). Parsing is
//! strict: canonical unpadded base64url, duplicate-free JSON, a bounded length.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::jwk::{Jwk, JwkParams, Jwks};

/// The algorithm.
pub const ES256: &str = "ES256";
/// Longest token accepted.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Why a token could not be signed or verified.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwsError {
    /// Not three canonical base64url parts, or too long.
    #[error("malformed token")]
    Malformed,
    /// The header is not `{"alg":"ES256","kid":…}` (with an optional `typ`).
    #[error("unacceptable header: {0}")]
    Header(String),
    /// No published key has this `kid`, or it is not a P-256 key for ES256.
    #[error("unknown signing key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// The payload is not the expected JSON.
    #[error("bad payload: {0}")]
    Payload(String),
    /// A key could not be generated, encoded or decoded.
    #[error("key: {0}")]
    Key(String),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    alg: String,
    kid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
}

/// A P-256 signing key with its id.
pub struct SigningKey {
    kid: String,
    key: p256::ecdsa::SigningKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a key from the operating system's random source.
    pub fn generate(kid: impl Into<String>) -> Result<Self, JwsError> {
        loop {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|e| JwsError::Key(e.to_string()))?;
            // Fails only for the zero scalar or one at least the group order (≈2^-128).
            if let Ok(key) = p256::ecdsa::SigningKey::from_bytes(&bytes.into()) {
                return Ok(Self {
                    kid: kid.into(),
                    key,
                });
            }
        }
    }

    /// Reads a key stored as PKCS#8 DER.
    pub fn from_pkcs8_der(kid: impl Into<String>, der: &[u8]) -> Result<Self, JwsError> {
        let key = p256::ecdsa::SigningKey::from_pkcs8_der(der)
            .map_err(|e| JwsError::Key(e.to_string()))?;
        Ok(Self {
            kid: kid.into(),
            key,
        })
    }

    /// The key as PKCS#8 DER, for storage.
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, JwsError> {
        let doc = self
            .key
            .to_pkcs8_der()
            .map_err(|e| JwsError::Key(e.to_string()))?;
        Ok(doc.as_bytes().to_vec())
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK for `jwks_uri`.
    pub fn public_jwk(&self) -> Jwk {
        let point = self.key.verifying_key().to_encoded_point(false);
        let coordinate =
            |c: Option<&p256::FieldBytes>| c.map(|b| URL_SAFE_NO_PAD.encode(b)).unwrap_or_default();
        Jwk {
            kid: self.kid.clone(),
            alg: Some(ES256.into()),
            key_use: Some("sig".into()),
            params: JwkParams::Ec {
                crv: "P-256".into(),
                x: coordinate(point.x()),
                y: coordinate(point.y()),
            },
        }
    }

    /// Signs `claims` as a compact JWS with `typ` (e.g. `JWT`).
    pub fn sign<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, JwsError> {
        let header = Header {
            alg: ES256.into(),
            kid: self.kid.clone(),
            typ: Some(typ.into()),
        };
        let encode = |v: &dyn erased::Json| v.to_json().map(|j| URL_SAFE_NO_PAD.encode(j));
        let mut token = format!("{}.{}", encode(&header)?, encode(&claims)?);
        let signature: Signature = self.key.sign(token.as_bytes());
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature.to_bytes()));
        Ok(token)
    }
}

/// Verifies `token` against `keys` and parses its payload.
pub fn verify<T: DeserializeOwned>(token: &str, keys: &Jwks) -> Result<T, JwsError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwsError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed);
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| JwsError::Malformed)
    };
    let header: Header = crate::json::object_from_slice(&decode(header_b64)?)
        .map_err(|e| JwsError::Header(e.to_string()))?;
    if header.alg != ES256 {
        return Err(JwsError::Header(format!(
            "algorithm `{}` is not accepted",
            crate::shorten(&header.alg)
        )));
    }
    let key = keys.find(&header.kid).ok_or(JwsError::UnknownKey)?;
    let verifying_key = verifying_key(key)?;
    let signature =
        Signature::from_slice(&decode(signature_b64)?).map_err(|_| JwsError::BadSignature)?;
    let signed = &token[..header_b64.len() + 1 + payload_b64.len()];
    verifying_key
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| JwsError::BadSignature)?;
    crate::json::object_from_slice(&decode(payload_b64)?)
        .map_err(|e| JwsError::Payload(e.to_string()))
}

fn verifying_key(key: &Jwk) -> Result<VerifyingKey, JwsError> {
    let JwkParams::Ec { crv, x, y } = &key.params else {
        return Err(JwsError::UnknownKey);
    };
    if crv != "P-256" || key.alg.as_deref().is_some_and(|a| a != ES256) {
        return Err(JwsError::UnknownKey);
    }
    let coordinate = |c: &str| {
        URL_SAFE_NO_PAD
            .decode(c)
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or(JwsError::UnknownKey)
    };
    let (x, y) = (coordinate(x)?, coordinate(y)?);
    let point = p256::EncodedPoint::from_affine_coordinates(
        x.as_slice().into(),
        y.as_slice().into(),
        false,
    );
    VerifyingKey::from_encoded_point(&point).map_err(|_| JwsError::UnknownKey)
}

/// Serializing either the header or the claims through one closure.
mod erased {
    pub(super) trait Json {
        fn to_json(&self) -> Result<Vec<u8>, super::JwsError>;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> Result<Vec<u8>, super::JwsError> {
            serde_json::to_vec(self).map_err(|e| super::JwsError::Payload(e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests;
