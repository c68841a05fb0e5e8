//! What the AS keeps about the RPTs it issued (Grant §3.3.5): one row per `jti`, never the token
//! itself. The row binds the RPT to its client, requesting party, resource server and owner, and
//! records revocation, which introspection honours (RFC 7662 §2.2).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{DecisionRecord, Store, StoreError};

/// An issued RPT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RptRecord {
    /// The RPT's `jti`.
    pub jti: String,
    /// The client it was issued to (`azp`).
    pub client_id: String,
    /// The requesting party (`sub`).
    pub subject: String,
    /// The resource server it is for (`aud`).
    pub rs_client_id: String,
    /// The owner of the resources its permissions name.
    pub owner: String,
    /// The granted permissions, JSON (opaque to the store).
    pub permissions: String,
    /// Issue time.
    pub issued_at: i64,
    /// Expiry.
    pub expires_at: i64,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
}

const RPT_COLUMNS: &str =
    "jti, client_id, subject, rs_client_id, owner, permissions, issued_at, expires_at, revoked_at";

fn rpt(row: &AnyRow) -> Result<RptRecord, StoreError> {
    Ok(RptRecord {
        jti: row.try_get("jti")?,
        client_id: row.try_get("client_id")?,
        subject: row.try_get("subject")?,
        rs_client_id: row.try_get("rs_client_id")?,
        owner: row.try_get("owner")?,
        permissions: row.try_get("permissions")?,
        issued_at: row.try_get("issued_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?,
    })
}

/// The INSERT of an RPT record.
fn insert_rpt(r: &RptRecord) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
    sqlx::query(INSERT_RPT)
        .bind(&r.jti)
        .bind(&r.client_id)
        .bind(&r.subject)
        .bind(&r.rs_client_id)
        .bind(&r.owner)
        .bind(&r.permissions)
        .bind(r.issued_at)
        .bind(r.expires_at)
        .bind(r.revoked_at)
}

const INSERT_RPT: &str = "INSERT INTO rpts (jti, client_id, subject, rs_client_id, owner, \
     permissions, issued_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

impl Store {
    /// Stores an RPT's record (expired records go with [`Store::purge_expired`]; an expired RPT is
    /// inactive whether or not its row exists).
    pub async fn insert_rpt(&self, r: &RptRecord, _now: i64) -> Result<(), StoreError> {
        insert_rpt(r).execute(self.pool()).await?;
        Ok(())
    }

    /// Writes, in one transaction, the decision log lines of a grant and the RPT it issued:
    /// one commit (one fsync on SQLite) instead of one per row.
    pub async fn record_grant(
        &self,
        lines: &[DecisionRecord],
        rpt: Option<&RptRecord>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for line in lines {
            super::pdp::insert_decision(line).execute(&mut *tx).await?;
        }
        if let Some(r) = rpt {
            insert_rpt(r).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The record of the RPT `jti`, revoked or not.
    pub async fn rpt(&self, jti: &str) -> Result<Option<RptRecord>, StoreError> {
        let row = sqlx::query(&format!("SELECT {RPT_COLUMNS} FROM rpts WHERE jti = $1"))
            .bind(jti)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(rpt).transpose()
    }

    /// Revokes the RPT `jti` if it was issued to `client_id` and is not revoked yet; `Ok(false)`
    /// otherwise (unknown, another client's, or already revoked).
    pub async fn revoke_rpt(
        &self,
        jti: &str,
        client_id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE rpts SET revoked_at = $1 \
             WHERE jti = $2 AND client_id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(jti)
        .bind(client_id)
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// The unrevoked, unexpired RPT records for `owner`'s resources.
    pub async fn live_rpts_of(&self, owner: &str, now: i64) -> Result<Vec<RptRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {RPT_COLUMNS} FROM rpts WHERE owner = $1 \
             AND revoked_at IS NULL AND expires_at > $2"
        ))
        .bind(owner)
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(rpt).collect()
    }

    /// Replaces the permissions an RPT's record still grants (a revoked share narrows them;
    /// introspection reports only what the record still holds).
    pub async fn narrow_rpt(&self, jti: &str, permissions: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE rpts SET permissions = $1 WHERE jti = $2")
            .bind(permissions)
            .bind(jti)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
