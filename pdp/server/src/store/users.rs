//! Queries on users.

use super::records::user;
use super::{Store, StoreError, UserRecord};

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

    /// The user named by `name`: the user with that subject, else the one with that username
    /// (the subject wins if both exist). For operators and owners naming users; the protection
    /// API's `X-Umagate-Owner` takes subjects only.
    pub async fn user_by_name(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        match self.user(name).await? {
            Some(user) => Ok(Some(user)),
            None => self.user_by_username(name).await,
        }
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
