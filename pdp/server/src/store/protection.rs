//! What the UMA protection API keeps (FedAuthz §3, §4): registered resources and permission
//! tickets.
//!
//! Every resource query is scoped to the (resource server, owner) pair of the PAT that asks: an
//! id registered under another pair is not found. The store keeps descriptions as opaque JSON
//! text; the HTTP layer parses and writes them. A ticket is kept only as its SHA-256 and is
//! consumed exactly once, by one conditional `UPDATE … RETURNING` (as codes are), so of two
//! concurrent presentations one wins.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, opt_text};

/// A registered resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceRecord {
    /// The AS-assigned `_id`.
    pub id: String,
    /// The resource server that registered it (the PAT's client).
    pub client_id: String,
    /// The resource owner's subject.
    pub owner: String,
    /// The resource description, JSON, without `_id` (opaque to the store).
    pub description: String,
    /// Registration time.
    pub created_at: i64,
    /// Last replacement time.
    pub updated_at: i64,
}

/// A permission ticket, stored by hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketRecord {
    /// SHA-256 of the ticket.
    pub ticket_hash: String,
    /// The resource server that asked for it.
    pub client_id: String,
    /// The owner of every resource it names.
    pub owner: String,
    /// The requested permissions, JSON (opaque to the store).
    pub permissions: String,
    /// Creation time.
    pub created_at: i64,
    /// Expiry.
    pub expires_at: i64,
    /// When it was consumed.
    pub consumed_at: Option<i64>,
    /// The client a ticket returned by the token or claims endpoint was handed to; only that
    /// client may present it. `None` for tickets from the permission endpoint.
    pub presenter: Option<String>,
    /// The requesting party established so far (verified claims, JSON), carried from one
    /// ticket to the next.
    pub party: Option<String>,
    /// The owner's pending request this ticket polls (`request_submitted`).
    pub request_id: Option<String>,
}

const RESOURCE_COLUMNS: &str = "id, client_id, owner, description, created_at, updated_at";
const TICKET_COLUMNS: &str = "ticket_hash, client_id, owner, permissions, created_at, expires_at, \
     consumed_at, presenter, party, request_id";

fn resource(row: &AnyRow) -> Result<ResourceRecord, StoreError> {
    Ok(ResourceRecord {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        owner: row.try_get("owner")?,
        description: row.try_get("description")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn ticket(row: &AnyRow) -> Result<TicketRecord, StoreError> {
    Ok(TicketRecord {
        ticket_hash: row.try_get("ticket_hash")?,
        client_id: row.try_get("client_id")?,
        owner: row.try_get("owner")?,
        permissions: row.try_get("permissions")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        consumed_at: row.try_get::<Option<i64>, _>("consumed_at")?,
        presenter: opt_text(row, "presenter")?,
        party: opt_text(row, "party")?,
        request_id: opt_text(row, "request_id")?,
    })
}

impl Store {
    /// Registers a resource unless its (resource server, owner) pair already has `limit`
    /// resources; `Ok(false)` then. (Concurrent registrations may overshoot the limit by a few:
    /// it bounds storage, it is not a quota.)
    pub async fn insert_resource(
        &self,
        r: &ResourceRecord,
        limit: i64,
    ) -> Result<bool, StoreError> {
        let count: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM resources WHERE client_id = $1 AND owner = $2")
                .bind(&r.client_id)
                .bind(&r.owner)
                .fetch_one(self.pool())
                .await?
                .try_get("n")?;
        if count >= limit {
            return Ok(false);
        }
        sqlx::query(&format!(
            "INSERT INTO resources ({RESOURCE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(&r.id)
        .bind(&r.client_id)
        .bind(&r.owner)
        .bind(&r.description)
        .bind(r.created_at)
        .bind(r.updated_at)
        .execute(self.pool())
        .await?;
        Ok(true)
    }

    /// The resource `id` of this (resource server, owner) pair.
    pub async fn resource(
        &self,
        client_id: &str,
        owner: &str,
        id: &str,
    ) -> Result<Option<ResourceRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {RESOURCE_COLUMNS} FROM resources WHERE id = $1 AND client_id = $2 AND owner = $3"
        ))
        .bind(id)
        .bind(client_id)
        .bind(owner)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(resource).transpose()
    }

    /// The owner's resource `id`, whichever resource server registered it.
    pub async fn owned_resource(
        &self,
        owner: &str,
        id: &str,
    ) -> Result<Option<ResourceRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {RESOURCE_COLUMNS} FROM resources WHERE id = $1 AND owner = $2"
        ))
        .bind(id)
        .bind(owner)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(resource).transpose()
    }

    /// The owner's resources across resource servers, oldest first; at most `limit`.
    pub async fn owned_resources(
        &self,
        owner: &str,
        limit: i64,
    ) -> Result<Vec<ResourceRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {RESOURCE_COLUMNS} FROM resources WHERE owner = $1 \
             ORDER BY created_at, id LIMIT $2"
        ))
        .bind(owner)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(resource).collect()
    }

    /// Replaces the attributes (a JSON object) the owner set on their resource `id`.
    pub async fn set_attributes(
        &self,
        owner: &str,
        id: &str,
        attributes: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO resource_attributes (resource_id, owner, attributes) VALUES ($1, $2, $3) \
             ON CONFLICT (resource_id) DO UPDATE SET attributes = excluded.attributes \
             WHERE resource_attributes.owner = excluded.owner",
        )
        .bind(id)
        .bind(owner)
        .bind(attributes)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The attributes the owner set on their resource `id`, if any.
    pub async fn attributes(&self, owner: &str, id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT attributes FROM resource_attributes WHERE resource_id = $1 AND owner = $2",
        )
        .bind(id)
        .bind(owner)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| Ok(r.try_get("attributes")?)).transpose()
    }

    /// The ids of this (resource server, owner) pair's resources, oldest first.
    pub async fn resource_ids(
        &self,
        client_id: &str,
        owner: &str,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT id FROM resources WHERE client_id = $1 AND owner = $2 ORDER BY created_at, id",
        )
        .bind(client_id)
        .bind(owner)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| Ok(row.try_get("id")?))
            .collect::<Result<_, StoreError>>()
    }

    /// Replaces the description of this pair's resource `id`; `Ok(false)` if there is none.
    pub async fn update_resource(
        &self,
        client_id: &str,
        owner: &str,
        id: &str,
        description: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE resources SET description = $1, updated_at = $2 \
             WHERE id = $3 AND client_id = $4 AND owner = $5",
        )
        .bind(description)
        .bind(now)
        .bind(id)
        .bind(client_id)
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Deregisters this pair's resource `id`; `Ok(false)` if there is none.
    pub async fn delete_resource(
        &self,
        client_id: &str,
        owner: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let result =
            sqlx::query("DELETE FROM resources WHERE id = $1 AND client_id = $2 AND owner = $3")
                .bind(id)
                .bind(client_id)
                .bind(owner)
                .execute(self.pool())
                .await?;
        if result.rows_affected() == 1 {
            sqlx::query("DELETE FROM resource_attributes WHERE resource_id = $1 AND owner = $2")
                .bind(id)
                .bind(owner)
                .execute(self.pool())
                .await?;
        }
        Ok(result.rows_affected() == 1)
    }

    /// Stores a ticket, first removing the ones that expired before `now` (any PAT holder can
    /// create tickets, so they must not pile up).
    pub async fn insert_ticket(&self, t: &TicketRecord, now: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM tickets WHERE expires_at < $1")
            .bind(now)
            .execute(self.pool())
            .await?;
        sqlx::query(&format!(
            "INSERT INTO tickets ({TICKET_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&t.ticket_hash)
        .bind(&t.client_id)
        .bind(&t.owner)
        .bind(&t.permissions)
        .bind(t.created_at)
        .bind(t.expires_at)
        .bind(t.consumed_at)
        .bind(&t.presenter)
        .bind(&t.party)
        .bind(&t.request_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Consumes an unexpired ticket exactly once: the first caller gets it, every later (or
    /// concurrent losing) caller, like one presenting an expired or unknown ticket, gets `None`.
    pub async fn consume_ticket(
        &self,
        ticket_hash: &str,
        now: i64,
    ) -> Result<Option<TicketRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "UPDATE tickets SET consumed_at = $1 \
             WHERE ticket_hash = $2 AND consumed_at IS NULL AND expires_at > $1 \
             RETURNING {TICKET_COLUMNS}"
        ))
        .bind(now)
        .bind(ticket_hash)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(ticket).transpose()
    }

    /// The ticket with this hash, consumed or not (for diagnostics and tests).
    pub async fn ticket(&self, ticket_hash: &str) -> Result<Option<TicketRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE ticket_hash = $1"
        ))
        .bind(ticket_hash)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(ticket).transpose()
    }
}
