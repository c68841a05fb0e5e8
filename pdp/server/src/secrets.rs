//! Random handles, their at-rest digests, and password hashing.
//!
//! Handles (tokens, codes, session ids, client secrets) carry 256 bits from the OS random
//! source, written as 43 base64url characters. Only their SHA-256 is stored: with that much
//! entropy a fast hash is enough, and a leaked database yields nothing usable. Passwords and
//! client secrets chosen by people are hashed with argon2id and compared in constant time.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A new random handle (256 bits, base64url).
pub fn new_handle() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Characters of a record id made by [`new_id`].
pub const ID_LEN: usize = 22;

/// A new random record id: the first [`ID_LEN`] characters of a handle (132 random bits,
/// URL-safe). Resource `_id`s, RPT `jti`s, subjects, shares, requests, policies.
pub fn new_id() -> Result<String, getrandom::Error> {
    Ok(new_handle()?.chars().take(ID_LEN).collect())
}

/// The at-rest digest of a handle: SHA-256, hex.
pub fn digest(handle: &str) -> String {
    Sha256::digest(handle.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Constant-time equality of two strings (lengths may leak, contents do not).
pub fn equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// An argon2id PHC string for `password`.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| e.to_string())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches the PHC string `hash` (constant time inside argon2).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .and_then(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed))
        .is_ok()
}

/// The stored form of a client secret the AS generated: `sha256:<hex>`. Such secrets carry 256
/// random bits, so a fast digest protects them as well as argon2id would, and checking one costs
/// microseconds instead of tens of milliseconds on every token request.
pub fn hash_generated_secret(secret: &str) -> String {
    format!("sha256:{}", digest(secret))
}

/// Checks a presented client secret against its stored form: `sha256:<hex>` for generated
/// secrets, an argon2id PHC string for secrets people chose (configuration files).
pub fn verify_client_secret(secret: &str, stored: &str) -> bool {
    match stored.strip_prefix("sha256:") {
        Some(hex) => equal(&digest(secret), hex),
        None => verified_secrets().check(secret, stored),
    }
}

/// Remembers argon2id verifications that succeeded, keyed by the stored hash and the SHA-256
/// of the presented secret, so a client with a configured secret pays argon2id once per process
/// rather than once per request. Bounded; a changed stored hash is a different key.
struct VerifiedSecrets(std::sync::Mutex<std::collections::HashSet<(String, String)>>);

const VERIFIED_SECRETS_MAX: usize = 4096;

fn verified_secrets() -> &'static VerifiedSecrets {
    static CACHE: std::sync::OnceLock<VerifiedSecrets> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| VerifiedSecrets(std::sync::Mutex::new(std::collections::HashSet::new())))
}

impl VerifiedSecrets {
    fn check(&self, secret: &str, stored: &str) -> bool {
        let key = (stored.to_string(), digest(secret));
        if self.0.lock().is_ok_and(|set| set.contains(&key)) {
            return true;
        }
        let ok = verify_password(secret, stored);
        if ok && let Ok(mut set) = self.0.lock() {
            if set.len() >= VERIFIED_SECRETS_MAX {
                set.clear();
            }
            set.insert(key);
        }
        ok
    }
}

/// A real argon2id hash of a random password nobody knows, verified against when a user does not
/// exist, so that an unknown user costs the same time as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let password = new_handle().unwrap_or_default();
        hash_password(&password).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_long_random_and_url_safe() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let h = new_handle().unwrap();
            assert_eq!(h.len(), 43);
            assert!(
                h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            assert!(seen.insert(h));
        }
    }

    #[test]
    fn digests_are_stable_and_differ() {
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(digest("abc"), digest("abd"));
    }

    #[test]
    fn passwords_verify_only_when_right() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct hors", &h));
        assert!(decoy_hash().starts_with("$argon2id$"));
        assert!(!verify_password("anything", decoy_hash()));
        assert!(!verify_password("x", "not a phc string"));
    }

    #[test]
    fn client_secrets_verify_in_both_stored_forms() {
        let generated = hash_generated_secret("s3cret");
        assert!(generated.starts_with("sha256:"));
        assert!(verify_client_secret("s3cret", &generated));
        assert!(!verify_client_secret("s3creT", &generated));
        let chosen = hash_password("demo-secret").unwrap();
        for _ in 0..2 {
            assert!(
                verify_client_secret("demo-secret", &chosen),
                "cached or not"
            );
            assert!(!verify_client_secret("demo-secreT", &chosen));
        }
    }

    #[test]
    fn equality_is_exact() {
        assert!(equal("secret", "secret"));
        assert!(!equal("secret", "secreT"));
        assert!(!equal("secret", "secret2"));
    }
}
