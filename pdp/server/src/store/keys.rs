//! Queries on signing keys.

use super::records::key;
use super::{KeyRecord, Store, StoreError};

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
