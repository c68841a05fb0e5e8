//! Counts behind the quotas (security.md D2): how many live artifacts one client holds for one
//! user (or one resource server for one owner). Each count stops at the limit it is checked
//! against, so a full quota costs a bounded index scan, never a scan of everything.

use sqlx::Row;

use super::{Store, StoreError};

/// What is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quota {
    /// Unredeemed, unexpired authorization codes of (client, user).
    Codes,
    /// Unrevoked, unexpired access tokens and unused refresh tokens of (client, user).
    Tokens,
    /// Unrevoked, unexpired RPTs of (client, requesting party).
    Rpts,
    /// Unrevoked, unexpired PCTs of (client, requesting party).
    Pcts,
    /// Unconsumed, unexpired tickets of (resource server, owner).
    Tickets,
}

impl Quota {
    fn query(self) -> &'static str {
        match self {
            Self::Codes => {
                "SELECT 1 FROM auth_codes WHERE client_id = $1 AND subject = $2 \
                 AND consumed_at IS NULL AND expires_at > $3 LIMIT $4"
            }
            Self::Tokens => {
                "SELECT 1 FROM tokens WHERE client_id = $1 AND subject = $2 \
                 AND revoked_at IS NULL AND used_at IS NULL AND expires_at > $3 LIMIT $4"
            }
            Self::Rpts => {
                "SELECT 1 FROM rpts WHERE client_id = $1 AND subject = $2 \
                 AND revoked_at IS NULL AND expires_at > $3 LIMIT $4"
            }
            Self::Pcts => {
                "SELECT 1 FROM pcts WHERE client_id = $1 AND subject = $2 \
                 AND revoked_at IS NULL AND expires_at > $3 LIMIT $4"
            }
            Self::Tickets => {
                "SELECT 1 FROM tickets WHERE client_id = $1 AND owner = $2 \
                 AND consumed_at IS NULL AND expires_at > $3 LIMIT $4"
            }
        }
    }
}

impl Store {
    /// Whether (`client_id`, `who`) already holds `limit` live artifacts of this kind at `now`.
    pub async fn quota_reached(
        &self,
        quota: Quota,
        client_id: &str,
        who: &str,
        limit: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let sql = format!("SELECT COUNT(*) AS n FROM ({}) AS held", quota.query());
        let held: i64 = sqlx::query(&sql)
            .bind(client_id)
            .bind(who)
            .bind(now)
            .bind(limit)
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
        Ok(held >= limit)
    }
}
