//! Creating users and clients: the checks, defaults and secrets that the admin API, the admin
//! CLI and dynamic client registration share, so every front end writes the same records.
//!
//! Both constructors are synchronous and CPU-heavy (argon2id); async callers run them on a
//! blocking thread. They only build the record: the caller inserts it and decides what an
//! existing id means.

use umagate_proto::registration::ClientMetadata;
use umagate_proto::{ErrorCode, ErrorResponse, Secret};

use super::{ClientRecord, UserRecord};
use crate::secrets;

/// Longest accepted login name, in characters.
const MAX_USERNAME_CHARS: usize = 64;
/// Longest accepted password, in bytes (bounds the hashing work a request can cause).
const MAX_PASSWORD_BYTES: usize = 1024;
/// Longest accepted client id, in bytes.
const MAX_CLIENT_ID_BYTES: usize = 128;

// === impl UserRecord ===

impl UserRecord {
    /// A new local account with a random subject and an argon2id hash of `password`.
    ///
    /// The username is 1 to 64 characters without control characters; the email, if any, is
    /// `local@domain` without spaces. Failures are `invalid_request` (or `server_error` when the
    /// random source or the hasher fails).
    pub fn create(
        username: &str,
        password: &str,
        email: Option<String>,
        email_verified: bool,
        now: i64,
    ) -> Result<Self, ErrorResponse> {
        let invalid = |m: String| ErrorResponse::new(ErrorCode::InvalidRequest, m);
        check_username(username).map_err(invalid)?;
        if password.is_empty() {
            return Err(invalid("the password is empty".into()));
        }
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(invalid(format!(
                "the password is longer than {MAX_PASSWORD_BYTES} bytes"
            )));
        }
        if let Some(email) = &email {
            check_email(email).map_err(invalid)?;
        }
        Ok(Self {
            subject: format!("{SUBJECT_PREFIX}{}", handle(22)?),
            username: username.to_string(),
            email_verified: email_verified && email.is_some(),
            email,
            password_hash: hash(password)?,
            created_at: now,
        })
    }
}

/// 1 to 64 characters, no control characters, no surrounding spaces.
fn check_username(username: &str) -> Result<(), String> {
    let count = username.chars().count();
    if count == 0 || count > MAX_USERNAME_CHARS {
        return Err(format!(
            "a username has 1 to {MAX_USERNAME_CHARS} characters"
        ));
    }
    if username.chars().any(char::is_control) || username.trim() != username {
        return Err(format!(
            "username `{}`: no control characters or surrounding spaces",
            shorten(username)
        ));
    }
    Ok(())
}

fn check_email(email: &str) -> Result<(), String> {
    let well_formed = email.len() <= 254
        && !email.chars().any(|c| c.is_control() || c.is_whitespace())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if well_formed {
        Ok(())
    } else {
        Err(format!("email `{}` is not an address", shorten(email)))
    }
}

// === impl ClientRecord ===

impl ClientRecord {
    /// A new client from RFC 7591 metadata: defaults filled in, checked, with a random id
    /// (`c-` and 22 random characters) unless `client_id` is given, and — for a confidential
    /// client — a new secret, returned here in clear once and stored only as its SHA-256 (it
    /// carries 256 random bits; see `secrets::hash_generated_secret`).
    ///
    /// Defaults (RFC 7591 §2): `token_endpoint_auth_method` = `client_secret_basic`;
    /// `grant_types` = `client_credentials` for a resource server, else `authorization_code`.
    /// A public client (`none`) may not use `client_credentials` nor be a resource server.
    pub fn create(
        client_id: Option<String>,
        mut metadata: ClientMetadata,
        resource_server: bool,
        now: i64,
    ) -> Result<(Self, Option<Secret>), ErrorResponse> {
        let bad = |m: &str| ErrorResponse::new(ErrorCode::InvalidClientMetadata, m);
        if let Some(id) = &client_id {
            check_client_id(id).map_err(|m| ErrorResponse::new(ErrorCode::InvalidRequest, m))?;
        }
        if metadata.grant_types.is_empty() {
            let default = if resource_server {
                "client_credentials"
            } else {
                "authorization_code"
            };
            metadata.grant_types = vec![default.into()];
        }
        if metadata.token_endpoint_auth_method.is_none() {
            metadata.token_endpoint_auth_method = Some("client_secret_basic".into());
        }
        metadata.validate()?;
        if metadata.is_public() && metadata.uses_grant("client_credentials") {
            return Err(bad(
                "a public client (token_endpoint_auth_method `none`) cannot use client_credentials",
            ));
        }
        if metadata.is_public() && resource_server {
            return Err(bad("a resource server must be a confidential client"));
        }
        let client_id = match client_id {
            Some(id) => id,
            None => format!("c-{}", handle(22)?),
        };
        let secret = if metadata.is_public() {
            None
        } else {
            Some(handle(43)?)
        };
        let secret_hash = secret.as_deref().map(secrets::hash_generated_secret);
        let record = Self {
            client_id,
            secret_hash,
            metadata,
            resource_server,
            dynamic: false,
            created_at: now,
        };
        Ok((record, secret.map(Secret::new)))
    }
}

/// 1 to 128 visible ASCII characters (as in the configuration file).
/// Every subject identifier the AS assigns starts with this; no client id may (P5: a client
/// can never pass for a resource owner or requesting party).
pub const SUBJECT_PREFIX: &str = "u-";

/// Checks a client id chosen by an administrator or a configuration file.
pub fn check_client_id(client_id: &str) -> Result<(), String> {
    if client_id.is_empty()
        || client_id.len() > MAX_CLIENT_ID_BYTES
        || !client_id.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(format!(
            "a client id has 1 to {MAX_CLIENT_ID_BYTES} visible ASCII characters"
        ));
    }
    if client_id.starts_with(SUBJECT_PREFIX) {
        return Err(format!(
            "a client id may not start with `{SUBJECT_PREFIX}`, the prefix of user subjects"
        ));
    }
    Ok(())
}

/// The first `chars` characters of a new random handle.
fn handle(chars: usize) -> Result<String, ErrorResponse> {
    let handle = secrets::new_handle()
        .map_err(|_| ErrorResponse::new(ErrorCode::ServerError, "no randomness"))?;
    Ok(handle.chars().take(chars).collect())
}

fn hash(secret: &str) -> Result<String, ErrorResponse> {
    secrets::hash_password(secret)
        .map_err(|_| ErrorResponse::new(ErrorCode::ServerError, "cannot hash the secret"))
}

/// At most 64 characters of untrusted text, escaped, for messages.
fn shorten(text: &str) -> String {
    let mut out: String = text.chars().take(64).flat_map(char::escape_debug).collect();
    if text.chars().nth(64).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(json: &str) -> ClientMetadata {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn users_get_a_random_subject_and_a_hash() {
        let a = UserRecord::create("alice", "pw", Some("a@example.com".into()), true, 7).unwrap();
        let b = UserRecord::create("alice", "pw", None, true, 7).unwrap();
        assert!(a.subject.starts_with("u-") && a.subject.len() == 24);
        assert_ne!(a.subject, b.subject);
        assert!(secrets::verify_password("pw", &a.password_hash));
        assert!(a.email_verified);
        assert!(!b.email_verified, "no address, nothing verified");
        assert_eq!(a.created_at, 7);
    }

    #[test]
    fn bad_users_are_invalid_request() {
        for (name, pw, email) in [
            ("", "pw", None),
            (" bob", "pw", None),
            ("b\nob", "pw", None),
            (&"x".repeat(65), "pw", None),
            ("bob", "", None),
            ("bob", "pw", Some("no-at-sign")),
            ("bob", "pw", Some("a b@example.com")),
        ] {
            let e = UserRecord::create(name, pw, email.map(str::to_string), false, 0).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidRequest, "{name:?} {email:?}");
        }
    }

    #[test]
    fn clients_get_defaults_an_id_and_a_secret_once() {
        let (c, secret) = ClientRecord::create(
            None,
            metadata(r#"{"redirect_uris":["https://a.example/cb"]}"#),
            false,
            1,
        )
        .unwrap();
        assert!(c.client_id.starts_with("c-") && c.client_id.len() == 24);
        assert_eq!(c.metadata.grant_types, ["authorization_code"]);
        assert_eq!(
            c.metadata.token_endpoint_auth_method.as_deref(),
            Some("client_secret_basic")
        );
        let secret = secret.unwrap();
        assert!(secrets::verify_client_secret(
            secret.expose(),
            c.secret_hash.as_deref().unwrap()
        ));

        let (rs, _) =
            ClientRecord::create(Some("rs".into()), ClientMetadata::default(), true, 1).unwrap();
        assert_eq!(
            (rs.client_id.as_str(), rs.metadata.grant_types.as_slice()),
            ("rs", ["client_credentials".to_string()].as_slice())
        );

        let public = metadata(
            r#"{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"none"}"#,
        );
        let (p, secret) = ClientRecord::create(None, public, false, 1).unwrap();
        assert!(secret.is_none() && p.secret_hash.is_none());
    }

    #[test]
    fn public_clients_get_no_client_credentials_nor_resource_server() {
        let m = metadata(
            r#"{"grant_types":["client_credentials"],"token_endpoint_auth_method":"none"}"#,
        );
        assert_eq!(
            ClientRecord::create(None, m, false, 0).unwrap_err().code(),
            ErrorCode::InvalidClientMetadata
        );
        let m =
            metadata(r#"{"grant_types":["refresh_token"],"token_endpoint_auth_method":"none"}"#);
        assert_eq!(
            ClientRecord::create(None, m, true, 0).unwrap_err().code(),
            ErrorCode::InvalidClientMetadata
        );
        let e = ClientRecord::create(Some("has space".into()), ClientMetadata::default(), true, 0)
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidRequest);
        let e = ClientRecord::create(None, ClientMetadata::default(), false, 0).unwrap_err();
        assert_eq!(
            e.code(),
            ErrorCode::InvalidRedirectUri,
            "authorization_code needs a redirect URI"
        );
    }

    #[test]
    fn p5_client_ids_cannot_pass_for_subjects() {
        let user = UserRecord::create("alice", "pw", None, false, 0).unwrap();
        assert!(user.subject.starts_with(SUBJECT_PREFIX));
        let e = ClientRecord::create(
            Some(user.subject.clone()),
            ClientMetadata::default(),
            true,
            0,
        )
        .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidRequest);
        assert!(e.description().unwrap().contains("u-"), "{e}");
        // Generated client ids never start with the subject prefix either.
        let (c, _) = ClientRecord::create(None, ClientMetadata::default(), true, 0).unwrap();
        assert!(!c.client_id.starts_with(SUBJECT_PREFIX));
    }
}
