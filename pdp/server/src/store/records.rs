//! What the store keeps, and the queries that keep it. Every method takes `now` from its
//! caller; none reads the clock.

use sqlx::Row;
use sqlx::any::AnyRow;
use umagate_proto::registration::ClientMetadata;

use super::{Store, StoreError, opt_text};

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
    fn as_str(self) -> &'static str {
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

const TOKEN_COLUMNS: &str = "token_hash, kind, family_id, client_id, subject, scope, issued_at, expires_at, used_at, revoked_at";
const CODE_COLUMNS: &str = "code_hash, family_id, client_id, subject, redirect_uri, scope, code_challenge, nonce, auth_time, expires_at";

fn user(row: &AnyRow) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        subject: row.try_get("subject")?,
        username: row.try_get("username")?,
        email: opt_text(row, "email")?,
        email_verified: row.try_get::<i64, _>("email_verified")? != 0,
        password_hash: row.try_get("password_hash")?,
        created_at: row.try_get("created_at")?,
    })
}

fn client(row: &AnyRow) -> Result<ClientRecord, StoreError> {
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

fn key(row: &AnyRow) -> Result<KeyRecord, StoreError> {
    Ok(KeyRecord {
        kid: row.try_get("kid")?,
        alg: row.try_get("alg")?,
        private_der: row.try_get("private_der")?,
        created_at: row.try_get("created_at")?,
        retired_at: row.try_get("retired_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

fn code(row: &AnyRow) -> Result<AuthCode, StoreError> {
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

fn token(row: &AnyRow) -> Result<TokenRecord, StoreError> {
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

// === users ===

impl Store {
    /// Adds a user; `Ok(false)` if the subject or username exists.
    pub async fn insert_user(&self, u: &UserRecord) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO users (subject, username, email, email_verified, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(&u.subject)
        .bind(&u.username)
        .bind(&u.email)
        .bind(i64::from(u.email_verified))
        .bind(&u.password_hash)
        .bind(u.created_at)
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Creates or updates the user with `u.username`, keeping an existing subject.
    pub async fn upsert_user(&self, u: &UserRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (subject, username, email, email_verified, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (username) DO UPDATE SET \
             email = excluded.email, email_verified = excluded.email_verified, password_hash = excluded.password_hash",
        )
        .bind(&u.subject)
        .bind(&u.username)
        .bind(&u.email)
        .bind(i64::from(u.email_verified))
        .bind(&u.password_hash)
        .bind(u.created_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The user with login name `username`.
    pub async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(user).transpose()
    }

    /// The user with subject `subject`.
    pub async fn user(&self, subject: &str) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM users WHERE subject = $1")
            .bind(subject)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(user).transpose()
    }

    /// Every user, by username.
    pub async fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM users ORDER BY username")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(user).collect()
    }

    /// Deletes a user and revokes their tokens; `Ok(false)` if unknown.
    pub async fn delete_user(&self, subject: &str, now: i64) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE subject = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(subject)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE subject = $1")
            .bind(subject)
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query("DELETE FROM users WHERE subject = $1")
            .bind(subject)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(deleted.rows_affected() == 1)
    }
}

// === clients ===

impl Store {
    /// Adds a client; `Ok(false)` if the id exists.
    pub async fn insert_client(&self, c: &ClientRecord) -> Result<bool, StoreError> {
        let metadata =
            serde_json::to_string(&c.metadata).map_err(|e| StoreError::new(e.to_string()))?;
        let result = sqlx::query(
            "INSERT INTO clients (client_id, secret_hash, metadata, resource_server, created_at, dynamic) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(&c.client_id)
        .bind(&c.secret_hash)
        .bind(metadata)
        .bind(i64::from(c.resource_server))
        .bind(c.created_at)
        .bind(i64::from(c.dynamic))
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Creates or replaces the client `c.client_id` (its tokens stay valid).
    pub async fn upsert_client(&self, c: &ClientRecord) -> Result<(), StoreError> {
        let metadata =
            serde_json::to_string(&c.metadata).map_err(|e| StoreError::new(e.to_string()))?;
        sqlx::query(
            "INSERT INTO clients (client_id, secret_hash, metadata, resource_server, created_at, dynamic) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (client_id) DO UPDATE SET \
             secret_hash = excluded.secret_hash, metadata = excluded.metadata, \
             resource_server = excluded.resource_server, dynamic = excluded.dynamic",
        )
        .bind(&c.client_id)
        .bind(&c.secret_hash)
        .bind(metadata)
        .bind(i64::from(c.resource_server))
        .bind(c.created_at)
        .bind(i64::from(c.dynamic))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The client `client_id`.
    pub async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM clients WHERE client_id = $1")
            .bind(client_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(client).transpose()
    }

    /// Every client, by id.
    pub async fn clients(&self) -> Result<Vec<ClientRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM clients ORDER BY client_id")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(client).collect()
    }

    /// Deletes a client and revokes its tokens; `Ok(false)` if unknown.
    pub async fn delete_client(&self, client_id: &str, now: i64) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE tokens SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(client_id)
        .execute(&mut *tx)
        .await?;
        let deleted = sqlx::query("DELETE FROM clients WHERE client_id = $1")
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(deleted.rows_affected() == 1)
    }
}

// === signing keys ===

impl Store {
    /// Stores a new signing key.
    pub async fn insert_key(&self, k: &KeyRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, private_der, created_at, retired_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&k.kid)
        .bind(&k.alg)
        .bind(&k.private_der)
        .bind(k.created_at)
        .bind(k.retired_at)
        .bind(k.expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Keys still published at `now`, newest first.
    pub async fn published_keys(&self, now: i64) -> Result<Vec<KeyRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM signing_keys WHERE expires_at IS NULL OR expires_at > $1 ORDER BY created_at DESC, kid",
        )
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(key).collect()
    }

    /// Stops `kid` signing at `now`; it stays published until `expires_at`.
    pub async fn retire_key(
        &self,
        kid: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE signing_keys SET retired_at = $1, expires_at = $2 WHERE kid = $3 AND retired_at IS NULL",
        )
        .bind(now)
        .bind(expires_at)
        .bind(kid)
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }
}

// === codes, tokens, sessions ===

impl Store {
    /// Stores an authorization code.
    pub async fn insert_code(&self, c: &AuthCode) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO auth_codes ({CODE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&c.code_hash)
        .bind(&c.family_id)
        .bind(&c.client_id)
        .bind(&c.subject)
        .bind(&c.redirect_uri)
        .bind(&c.scope)
        .bind(&c.code_challenge)
        .bind(&c.nonce)
        .bind(c.auth_time)
        .bind(c.expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Consumes a code exactly once, whatever its expiry (the caller checks that).
    pub async fn redeem_code(
        &self,
        code_hash: &str,
        now: i64,
    ) -> Result<CodeRedemption, StoreError> {
        let row = sqlx::query(&format!(
            "UPDATE auth_codes SET consumed_at = $1 WHERE code_hash = $2 AND consumed_at IS NULL RETURNING {CODE_COLUMNS}"
        ))
        .bind(now)
        .bind(code_hash)
        .fetch_optional(self.pool())
        .await?;
        if let Some(row) = row {
            return Ok(CodeRedemption::Consumed(code(&row)?));
        }
        let family = sqlx::query("SELECT family_id FROM auth_codes WHERE code_hash = $1")
            .bind(code_hash)
            .fetch_optional(self.pool())
            .await?;
        Ok(match family {
            Some(row) => CodeRedemption::Replayed {
                family_id: row.try_get("family_id")?,
            },
            None => CodeRedemption::Unknown,
        })
    }

    /// Stores a token.
    pub async fn insert_token(&self, t: &TokenRecord) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&t.token_hash)
        .bind(t.kind.as_str())
        .bind(&t.family_id)
        .bind(&t.client_id)
        .bind(&t.subject)
        .bind(&t.scope)
        .bind(t.issued_at)
        .bind(t.expires_at)
        .bind(t.used_at)
        .bind(t.revoked_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The token with this hash, active or not.
    pub async fn token(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT t.token_hash, t.kind, t.family_id, t.client_id, t.subject, t.scope, t.issued_at, \
             t.expires_at, t.used_at, COALESCE(t.revoked_at, f.revoked_at) AS revoked_at \
             FROM tokens t LEFT JOIN revoked_families f ON f.family_id = t.family_id WHERE t.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(token).transpose()
    }

    /// Rotates `client_id`'s refresh token exactly once; a second presentation by the same
    /// client is a replay. Another client's presentation changes nothing (F1).
    pub async fn rotate_refresh(
        &self,
        token_hash: &str,
        client_id: &str,
        now: i64,
    ) -> Result<Refresh, StoreError> {
        let row = sqlx::query(&format!(
            "UPDATE tokens SET used_at = $1 WHERE token_hash = $2 AND client_id = $3 AND kind = 'refresh' \
             AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1 \
             AND NOT EXISTS (SELECT 1 FROM revoked_families f WHERE f.family_id = tokens.family_id) RETURNING {TOKEN_COLUMNS}"
        ))
        .bind(now)
        .bind(token_hash)
        .bind(client_id)
        .fetch_optional(self.pool())
        .await?;
        if let Some(row) = row {
            return Ok(Refresh::Rotated(token(&row)?));
        }
        Ok(match self.token(token_hash).await? {
            Some(t)
                if t.kind == TokenKind::Refresh
                    && t.client_id == client_id
                    && (t.used_at.is_some() || t.revoked_at.is_some()) =>
            {
                Refresh::Replayed {
                    family_id: t.family_id,
                }
            }
            _ => Refresh::Invalid,
        })
    }

    /// Revokes one token if it belongs to `client_id`; `Ok(false)` otherwise.
    pub async fn revoke_token(
        &self,
        token_hash: &str,
        client_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE tokens SET revoked_at = $1 WHERE token_hash = $2 AND client_id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(token_hash)
        .bind(client_id)
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Revokes every token of a grant family; returns how many were active.
    pub async fn revoke_family(&self, family_id: &str, now: i64) -> Result<u64, StoreError> {
        let mut tx = self.pool().begin().await?;
        // The marker makes later inserts into the family inactive too (see `token`).
        sqlx::query("INSERT INTO revoked_families (family_id, revoked_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(family_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let result = sqlx::query(
            "UPDATE tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(family_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(result.rows_affected())
    }

    /// Stores a login session.
    pub async fn insert_session(
        &self,
        session_hash: &str,
        s: &SessionRecord,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO sessions (session_hash, subject, auth_time, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(session_hash)
            .bind(&s.subject)
            .bind(s.auth_time)
            .bind(s.expires_at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The session with this hash, if not expired at `now`.
    pub async fn session(
        &self,
        session_hash: &str,
        now: i64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query("SELECT subject, auth_time, expires_at FROM sessions WHERE session_hash = $1 AND expires_at > $2")
            .bind(session_hash)
            .bind(now)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(SessionRecord {
                subject: r.try_get("subject")?,
                auth_time: r.try_get("auth_time")?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    /// Deletes codes, tokens and sessions that expired before `before`; returns rows removed.
    pub async fn purge_expired(&self, before: i64) -> Result<u64, StoreError> {
        let mut removed = 0;
        for table in [
            "auth_codes",
            "tokens",
            "sessions",
            "authorization_requests",
            "tickets",
        ] {
            removed += sqlx::query(&format!("DELETE FROM {table} WHERE expires_at < $1"))
                .bind(before)
                .execute(self.pool())
                .await?
                .rows_affected();
        }
        // A revoked family's marker goes once none of its tokens is left.
        removed += sqlx::query(
            "DELETE FROM revoked_families WHERE NOT EXISTS \
             (SELECT 1 FROM tokens t WHERE t.family_id = revoked_families.family_id)",
        )
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(removed)
    }
}
