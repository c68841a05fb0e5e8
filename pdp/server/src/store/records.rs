//! What the store keeps, and how rows become records. The queries live beside, one file per
//! kind: `users.rs`, `clients.rs`, `keys.rs`, `grants.rs`. Every method takes `now` from its
//! caller; none reads the clock.

use sqlx::Row;
use sqlx::any::AnyRow;
use umagate_proto::registration::ClientMetadata;

use super::{StoreError, opt_text};

/// A local user account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    /// Stable subject identifier (`sub`).
    pub subject: String,
    /// Login name, unique.
    pub username: String,
    /// Email address.
    pub email: Option<String>,
    /// Whether the email address is verified.
    pub email_verified: bool,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Creation time.
    pub created_at: i64,
}

/// A registered client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRecord {
    /// The client id.
    pub client_id: String,
    /// argon2id PHC string of the secret; `None` for a public client.
    pub secret_hash: Option<String>,
    /// Registered metadata (RFC 7591).
    pub metadata: ClientMetadata,
    /// A trusted resource server: gets `uma_protection` by client credentials and may act for
    /// named owners.
    pub resource_server: bool,
    /// Registered through RFC 7591, so not trusted: errors are never redirected to it before the
    /// user has signed in (R4).
    pub dynamic: bool,
    /// Creation time.
    pub created_at: i64,
}

/// A stored signing key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    /// Key id.
    pub kid: String,
    /// The algorithm the key is pinned to.
    pub alg: String,
    /// PKCS#8 DER, base64.
    pub private_der: String,
    /// Creation time.
    pub created_at: i64,
    /// When it stopped signing.
    pub retired_at: Option<i64>,
    /// When it leaves the published set (after every token it signed has expired).
    pub expires_at: Option<i64>,
}

/// An authorization code, bound to client, redirect URI and PKCE challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthCode {
    /// SHA-256 of the code.
    pub code_hash: String,
    /// Tokens issued from this code share it; a replayed code revokes them.
    pub family_id: String,
    /// The client.
    pub client_id: String,
    /// The resource owner.
    pub subject: String,
    /// The redirect URI of the request.
    pub redirect_uri: String,
    /// Granted scope, space-separated.
    pub scope: String,
    /// PKCE S256 challenge.
    pub code_challenge: String,
    /// OIDC nonce.
    pub nonce: Option<String>,
    /// When the user authenticated.
    pub auth_time: i64,
    /// Expiry.
    pub expires_at: i64,
}

/// What presenting a code did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeRedemption {
    /// This presentation consumed it.
    Consumed(AuthCode),
    /// It had been consumed before: a replay (the family should be revoked).
    Replayed {
        /// The family of tokens issued from it.
        family_id: String,
    },
    /// No such code.
    Unknown,
}

/// Access token (also a PAT) or refresh token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// An opaque access token.
    Access,
    /// A refresh token.
    Refresh,
}

impl TokenKind {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }
}

/// An opaque token, stored by hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    /// SHA-256 of the token.
    pub token_hash: String,
    /// Access or refresh.
    pub kind: TokenKind,
    /// The grant family (one authorization, all its refreshes).
    pub family_id: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The resource owner, if any (client credentials have none).
    pub subject: Option<String>,
    /// Granted scope, space-separated.
    pub scope: String,
    /// Issue time.
    pub issued_at: i64,
    /// Expiry.
    pub expires_at: i64,
    /// When a refresh token was rotated.
    pub used_at: Option<i64>,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
}

impl TokenRecord {
    /// Whether the token is usable at `now`.
    pub fn is_active(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.used_at.is_none() && now < self.expires_at
    }
}

/// What presenting a refresh token did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refresh {
    /// This presentation rotated it.
    Rotated(TokenRecord),
    /// It had been rotated or revoked before: a replay (the family should be revoked).
    Replayed {
        /// The family.
        family_id: String,
    },
    /// Unknown or expired.
    Invalid,
}

/// A browser login session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// The user.
    pub subject: String,
    /// When they authenticated.
    pub auth_time: i64,
    /// Expiry.
    pub expires_at: i64,
}

pub(super) const TOKEN_COLUMNS: &str = "token_hash, kind, family_id, client_id, subject, scope, issued_at, expires_at, used_at, revoked_at";
pub(super) const CODE_COLUMNS: &str = "code_hash, family_id, client_id, subject, redirect_uri, scope, code_challenge, nonce, auth_time, expires_at";

pub(super) fn user(row: &AnyRow) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        subject: row.try_get("subject")?,
        username: row.try_get("username")?,
        email: opt_text(row, "email")?,
        email_verified: row.try_get::<i64, _>("email_verified")? != 0,
        password_hash: row.try_get("password_hash")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) fn client(row: &AnyRow) -> Result<ClientRecord, StoreError> {
    let metadata: String = row.try_get("metadata")?;
    Ok(ClientRecord {
        client_id: row.try_get("client_id")?,
        secret_hash: opt_text(row, "secret_hash")?,
        metadata: serde_json::from_str(&metadata)
            .map_err(|e| StoreError::new(format!("client metadata: {e}")))?,
        resource_server: row.try_get::<i64, _>("resource_server")? != 0,
        dynamic: row.try_get::<i64, _>("dynamic")? != 0,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) fn key(row: &AnyRow) -> Result<KeyRecord, StoreError> {
    Ok(KeyRecord {
        kid: row.try_get("kid")?,
        alg: row.try_get("alg")?,
        private_der: row.try_get("private_der")?,
        created_at: row.try_get("created_at")?,
        retired_at: row.try_get("retired_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

pub(super) fn code(row: &AnyRow) -> Result<AuthCode, StoreError> {
    Ok(AuthCode {
        code_hash: row.try_get("code_hash")?,
        family_id: row.try_get("family_id")?,
        client_id: row.try_get("client_id")?,
        subject: row.try_get("subject")?,
        redirect_uri: row.try_get("redirect_uri")?,
        scope: row.try_get("scope")?,
        code_challenge: row.try_get("code_challenge")?,
        nonce: opt_text(row, "nonce")?,
        auth_time: row.try_get("auth_time")?,
        expires_at: row.try_get("expires_at")?,
    })
}

pub(super) fn token(row: &AnyRow) -> Result<TokenRecord, StoreError> {
    let kind = match row.try_get::<String, _>("kind")?.as_str() {
        "access" => TokenKind::Access,
        "refresh" => TokenKind::Refresh,
        other => return Err(StoreError::new(format!("unknown token kind `{other}`"))),
    };
    Ok(TokenRecord {
        token_hash: row.try_get("token_hash")?,
        kind,
        family_id: row.try_get("family_id")?,
        client_id: row.try_get("client_id")?,
        subject: opt_text(row, "subject")?,
        scope: row.try_get("scope")?,
        issued_at: row.try_get("issued_at")?,
        expires_at: row.try_get("expires_at")?,
        used_at: row.try_get("used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}
