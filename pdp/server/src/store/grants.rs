//! Queries on what a grant leaves behind: authorization codes, tokens, revoked families, sessions.

use sqlx::Row;

use super::records::{CODE_COLUMNS, TOKEN_COLUMNS, code, token};
use super::{
    AuthCode, CodeRedemption, Refresh, SessionRecord, Store, StoreError, TokenKind, TokenRecord,
};

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
            "rpts",
            "pcts",
        ] {
            removed += sqlx::query(&format!("DELETE FROM {table} WHERE expires_at < $1"))
                .bind(before)
                .execute(self.pool())
                .await?
                .rows_affected();
        }
        removed += sqlx::query(
            "DELETE FROM grant_families WHERE NOT EXISTS \
             (SELECT 1 FROM tokens t WHERE t.family_id = grant_families.family_id)",
        )
        .execute(self.pool())
        .await?
        .rows_affected();
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

    /// Records when a grant family began (idempotent: the first start stays).
    pub async fn start_family(&self, family_id: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO grant_families (family_id, started_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(family_id)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// When a grant family began, if recorded.
    pub async fn family_started(&self, family_id: &str) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT started_at FROM grant_families WHERE family_id = $1")
            .bind(family_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get("started_at")).transpose()?)
    }
}
