//! What owners grant outside policies: shares (with a user, for some scopes, maybe until a date)
//! and the requests waiting for their approval (`request_submitted`).
//!
//! Every query is scoped to the owner: an id of another owner's share or request is not found.
//! Scope lists are JSON arrays of strings (opaque to callers: [`ShareRecord::scopes`] is typed).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, opt_text};

/// An owner's share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareRecord {
    /// The share's id.
    pub id: String,
    /// The owner sharing.
    pub owner: String,
    /// The one resource shared, or `None` with [`ShareRecord::resource_type`].
    pub resource_id: Option<String>,
    /// Every resource of the owner's of this type, or `None` with a resource id.
    pub resource_type: Option<String>,
    /// The user shared with, by subject …
    pub party_subject: Option<String>,
    /// … or by verified email (lower case).
    pub party_email: Option<String>,
    /// The scopes shared.
    pub scopes: Vec<String>,
    /// Until when, if limited.
    pub expires_at: Option<i64>,
    /// Creation time.
    pub created_at: i64,
    /// Revocation time.
    pub revoked_at: Option<i64>,
}

/// A request waiting for (or decided by) the owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessRequestRecord {
    /// The request's id.
    pub id: String,
    /// The owner asked.
    pub owner: String,
    /// The resource server of the ticket.
    pub rs_client_id: String,
    /// The client asking.
    pub client_id: String,
    /// The requesting party.
    pub subject: String,
    /// What was asked: JSON `[{"resource_id","resource_scopes"}]`.
    pub permissions: String,
    /// `pending`, `approved` or `denied`.
    pub status: String,
    /// What the owner approved, same shape as `permissions`.
    pub granted: Option<String>,
    /// Until when the approval holds, if limited.
    pub grant_expires_at: Option<i64>,
    /// Creation time.
    pub created_at: i64,
    /// When the owner decided.
    pub decided_at: Option<i64>,
}

/// Request states.
pub mod status {
    /// Waiting for the owner.
    pub const PENDING: &str = "pending";
    /// Approved (see `granted`).
    pub const APPROVED: &str = "approved";
    /// Denied.
    pub const DENIED: &str = "denied";
}

const SHARE_COLUMNS: &str = "id, owner, resource_id, resource_type, party_subject, party_email, \
     scopes, expires_at, created_at, revoked_at";
const REQUEST_COLUMNS: &str = "id, owner, rs_client_id, client_id, subject, permissions, status, \
     granted, grant_expires_at, created_at, decided_at";

fn share(row: &AnyRow) -> Result<ShareRecord, StoreError> {
    let scopes: String = row.try_get("scopes")?;
    Ok(ShareRecord {
        id: row.try_get("id")?,
        owner: row.try_get("owner")?,
        resource_id: opt_text(row, "resource_id")?,
        resource_type: opt_text(row, "resource_type")?,
        party_subject: opt_text(row, "party_subject")?,
        party_email: opt_text(row, "party_email")?,
        scopes: serde_json::from_str(&scopes).map_err(|e| StoreError::new(e.to_string()))?,
        expires_at: row.try_get::<Option<i64>, _>("expires_at")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?,
    })
}

fn request(row: &AnyRow) -> Result<AccessRequestRecord, StoreError> {
    Ok(AccessRequestRecord {
        id: row.try_get("id")?,
        owner: row.try_get("owner")?,
        rs_client_id: row.try_get("rs_client_id")?,
        client_id: row.try_get("client_id")?,
        subject: row.try_get("subject")?,
        permissions: row.try_get("permissions")?,
        status: row.try_get("status")?,
        granted: opt_text(row, "granted")?,
        grant_expires_at: row.try_get::<Option<i64>, _>("grant_expires_at")?,
        created_at: row.try_get("created_at")?,
        decided_at: row.try_get::<Option<i64>, _>("decided_at")?,
    })
}

impl Store {
    /// Stores a share unless the owner already has `limit` unrevoked ones; `Ok(false)` then.
    pub async fn insert_share(&self, s: &ShareRecord, limit: i64) -> Result<bool, StoreError> {
        let count: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM shares WHERE owner = $1 AND revoked_at IS NULL")
                .bind(&s.owner)
                .fetch_one(self.pool())
                .await?
                .try_get("n")?;
        if count >= limit {
            return Ok(false);
        }
        let scopes =
            serde_json::to_string(&s.scopes).map_err(|e| StoreError::new(e.to_string()))?;
        sqlx::query(&format!(
            "INSERT INTO shares ({SHARE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&s.id)
        .bind(&s.owner)
        .bind(&s.resource_id)
        .bind(&s.resource_type)
        .bind(&s.party_subject)
        .bind(&s.party_email)
        .bind(scopes)
        .bind(s.expires_at)
        .bind(s.created_at)
        .bind(s.revoked_at)
        .execute(self.pool())
        .await?;
        Ok(true)
    }

    /// The owner's unrevoked shares, oldest first.
    pub async fn shares(&self, owner: &str) -> Result<Vec<ShareRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {SHARE_COLUMNS} FROM shares WHERE owner = $1 AND revoked_at IS NULL \
             ORDER BY created_at, id"
        ))
        .bind(owner)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(share).collect()
    }

    /// The owner's shares in force at `now` that could apply to a resource with this id and
    /// type for a party with this subject or email.
    pub async fn applicable_shares(
        &self,
        owner: &str,
        resource_id: &str,
        resource_type: Option<&str>,
        subject: &str,
        email: Option<&str>,
        now: i64,
    ) -> Result<Vec<ShareRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {SHARE_COLUMNS} FROM shares WHERE owner = $1 AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $2) \
             AND (resource_id = $3 OR ($4 <> '' AND resource_type = $4)) \
             AND (party_subject = $5 OR ($6 <> '' AND party_email = $6))"
        ))
        .bind(owner)
        .bind(now)
        .bind(resource_id)
        .bind(resource_type.unwrap_or(""))
        .bind(subject)
        .bind(email.unwrap_or(""))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(share).collect()
    }

    /// Revokes the owner's share `id`; returns it, or `None` if there is no such live share.
    pub async fn revoke_share(
        &self,
        owner: &str,
        id: &str,
        now: i64,
    ) -> Result<Option<ShareRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "UPDATE shares SET revoked_at = $1 WHERE owner = $2 AND id = $3 \
             AND revoked_at IS NULL RETURNING {SHARE_COLUMNS}"
        ))
        .bind(now)
        .bind(owner)
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(share).transpose()
    }

    /// Stores a pending request unless the owner already has `limit` pending ones.
    pub async fn insert_access_request(
        &self,
        r: &AccessRequestRecord,
        limit: i64,
    ) -> Result<bool, StoreError> {
        let count: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM access_requests WHERE owner = $1 AND status = $2",
        )
        .bind(&r.owner)
        .bind(status::PENDING)
        .fetch_one(self.pool())
        .await?
        .try_get("n")?;
        if count >= limit {
            return Ok(false);
        }
        sqlx::query(&format!(
            "INSERT INTO access_requests ({REQUEST_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(&r.id)
        .bind(&r.owner)
        .bind(&r.rs_client_id)
        .bind(&r.client_id)
        .bind(&r.subject)
        .bind(&r.permissions)
        .bind(&r.status)
        .bind(&r.granted)
        .bind(r.grant_expires_at)
        .bind(r.created_at)
        .bind(r.decided_at)
        .execute(self.pool())
        .await?;
        Ok(true)
    }

    /// The request `id` (of any owner: the grant looks it up from a ticket it trusts).
    pub async fn access_request(
        &self,
        id: &str,
    ) -> Result<Option<AccessRequestRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {REQUEST_COLUMNS} FROM access_requests WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(request).transpose()
    }

    /// The owner's requests, newest first, optionally only those in `status`; at most `limit`.
    pub async fn access_requests(
        &self,
        owner: &str,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AccessRequestRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {REQUEST_COLUMNS} FROM access_requests WHERE owner = $1 \
             AND ($2 = '' OR status = $2) ORDER BY created_at DESC, id LIMIT $3"
        ))
        .bind(owner)
        .bind(status.unwrap_or(""))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(request).collect()
    }

    /// Records the owner's decision on their pending request `id`; `Ok(false)` if there is no
    /// such pending request (unknown, another owner's, or already decided).
    pub async fn decide_access_request(
        &self,
        owner: &str,
        id: &str,
        decision: &str,
        granted: Option<&str>,
        grant_expires_at: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE access_requests SET status = $1, granted = $2, grant_expires_at = $3, \
             decided_at = $4 WHERE owner = $5 AND id = $6 AND status = $7",
        )
        .bind(decision)
        .bind(granted)
        .bind(grant_expires_at)
        .bind(now)
        .bind(owner)
        .bind(id)
        .bind(status::PENDING)
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// The owner's webhook URL, if set.
    pub async fn webhook(&self, owner: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT webhook_url FROM owner_settings WHERE owner = $1")
            .bind(owner)
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            Some(row) => opt_text(&row, "webhook_url")?,
            None => None,
        })
    }

    /// Sets (or with `None` clears) the owner's webhook URL.
    pub async fn set_webhook(&self, owner: &str, url: Option<&str>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO owner_settings (owner, webhook_url) VALUES ($1, $2) \
             ON CONFLICT (owner) DO UPDATE SET webhook_url = excluded.webhook_url",
        )
        .bind(owner)
        .bind(url)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
