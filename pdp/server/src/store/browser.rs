//! What the browser-facing authorization endpoint keeps between its pages: pending authorization
//! requests, and the session housekeeping the login form needs.
//!
//! A pending request is the validated authorization request, kept server-side while the user
//! signs in and decides. It is found by the SHA-256 of a random id that only the user's pages
//! carry, and is bound to the digest of the CSRF token set in the browser that started it and,
//! once the consent page has been shown, to the digest of the session it was shown to. It is
//! consumed exactly once, by one conditional `UPDATE … RETURNING` (as codes are), so a decision
//! cannot be submitted twice and two concurrent submissions yield one winner.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, StoreError, opt_text};

/// A validated authorization request waiting for the user. (This module is private to the store,
/// so callers receive it by inference and create one through
/// [`Store::insert_pending_authorization`].)
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PendingAuthorization {
    /// SHA-256 of the request id.
    pub request_hash: String,
    /// SHA-256 of the CSRF token the browser that started the request holds.
    pub csrf_hash: String,
    /// SHA-256 of the session the consent page was shown to, once it was.
    pub session_hash: Option<String>,
    /// The validated request parameters, client included, JSON (opaque to the store).
    pub params: String,
    /// Creation time.
    pub created_at: i64,
    /// Expiry.
    pub expires_at: i64,
}

const COLUMNS: &str = "request_hash, csrf_hash, session_hash, params, created_at, expires_at";

fn pending(row: &AnyRow) -> Result<PendingAuthorization, StoreError> {
    Ok(PendingAuthorization {
        request_hash: row.try_get("request_hash")?,
        csrf_hash: row.try_get("csrf_hash")?,
        session_hash: opt_text(row, "session_hash")?,
        params: row.try_get("params")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

impl Store {
    /// Stores a pending request created at `now`, first removing the ones that expired
    /// (anyone who can reach the endpoint can create them, so they must not pile up).
    pub(crate) async fn insert_pending_authorization(
        &self,
        request_hash: &str,
        csrf_hash: &str,
        session_hash: Option<&str>,
        params: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM authorization_requests WHERE expires_at < $1")
            .bind(now)
            .execute(self.pool())
            .await?;
        sqlx::query(&format!(
            "INSERT INTO authorization_requests ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(request_hash)
        .bind(csrf_hash)
        .bind(session_hash)
        .bind(params)
        .bind(now)
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The pending request with this hash, if neither consumed nor expired at `now`.
    pub(crate) async fn pending_authorization(
        &self,
        request_hash: &str,
        now: i64,
    ) -> Result<Option<PendingAuthorization>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM authorization_requests \
             WHERE request_hash = $1 AND consumed_at IS NULL AND expires_at > $2"
        ))
        .bind(request_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(pending).transpose()
    }

    /// Records that the consent page for this request was shown to the session `session_hash`;
    /// `Ok(false)` if the request is gone (consumed or expired).
    pub(crate) async fn bind_pending_session(
        &self,
        request_hash: &str,
        session_hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE authorization_requests SET session_hash = $1 \
             WHERE request_hash = $2 AND consumed_at IS NULL AND expires_at > $3",
        )
        .bind(session_hash)
        .bind(request_hash)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Consumes the request exactly once, and only with the CSRF token and session it is bound
    /// to; `None` if it is unknown, expired, already consumed or bound to something else.
    pub(crate) async fn consume_pending_authorization(
        &self,
        request_hash: &str,
        csrf_hash: &str,
        session_hash: &str,
        now: i64,
    ) -> Result<Option<PendingAuthorization>, StoreError> {
        let row = sqlx::query(&format!(
            "UPDATE authorization_requests SET consumed_at = $1 \
             WHERE request_hash = $2 AND csrf_hash = $3 AND session_hash = $4 \
             AND consumed_at IS NULL AND expires_at > $1 RETURNING {COLUMNS}"
        ))
        .bind(now)
        .bind(request_hash)
        .bind(csrf_hash)
        .bind(session_hash)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(pending).transpose()
    }

    /// Ends a login session (a new login replaces the browser's previous one).
    pub(crate) async fn delete_session(&self, session_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE session_hash = $1")
            .bind(session_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
