//! Queries on clients.

use super::records::client;
use super::{ClientRecord, Store, StoreError};

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
