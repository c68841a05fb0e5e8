//! Storage: one interface over SQLite (the embedded default) and PostgreSQL (several replicas).
//!
//! Both run the same portable SQL through sqlx's `Any` driver; the schema lives in
//! `migrations/` and is applied at start. SQLite runs in WAL mode with `synchronous=FULL`, so an
//! acknowledged write — a consumed code, a revocation — survives a crash or power loss.
//! Single-use artifacts are consumed with one conditional `UPDATE … RETURNING`, which is atomic
//! on both engines: of two concurrent redemptions exactly one gets the row.

mod admin;
mod browser;
mod clients;
mod grants;
mod keys;
mod pdp;
mod protection;
mod quotas;
mod records;
mod rpts;
mod sharing;
mod users;

use std::path::Path;
use std::str::FromStr;
use std::sync::Once;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};

pub use admin::{SUBJECT_PREFIX, check_client_id};
pub use pdp::{
    BindingRecord, DecisionRecord, PctRecord, PolicyInsert, PolicyQuota, PolicyRecord,
    PolicyVersionRecord, target,
};
pub use protection::{ResourceRecord, TicketRecord};
pub use quotas::Quota;
pub use records::{
    AuthCode, ClientRecord, CodeRedemption, KeyRecord, Refresh, SessionRecord, TokenKind,
    TokenRecord, UserRecord,
};
pub use rpts::RptRecord;
pub use sharing::{AccessRequestRecord, ShareRecord, status};

/// The schema migrations, in order.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_init.sql")),
    (2, include_str!("../migrations/0002_protection.sql")),
    (3, include_str!("../migrations/0003_dynamic_clients.sql")),
    (4, include_str!("../migrations/0004_rpts.sql")),
    (5, include_str!("../migrations/0005_grant_families.sql")),
    (6, include_str!("../migrations/0006_uma_grant.sql")),
];

/// A storage failure. Callers answer `server_error`; the message is for the operator's log.
#[derive(Debug, thiserror::Error)]
#[error("storage: {0}")]
pub struct StoreError(String);

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self(e.to_string())
    }
}

impl StoreError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Which database engine a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// The database. Cheap to clone (a pool).
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects to `url` (`sqlite://path` or `postgres://…`), creating a SQLite file and its
    /// directory if needed, and applies pending migrations.
    pub async fn open(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::new(
                "database URL must start with sqlite: or postgres:",
            ));
        };
        let url = match backend {
            Backend::Sqlite => sqlite_url(url)?,
            Backend::Postgres => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let store = Self { pool, backend };
        store.migrate().await?;
        Ok(store)
    }

    /// The engine in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        // One migrator at a time, or two processes starting together (replicas on PostgreSQL, a
        // server and a CLI on SQLite) both see version 0 and the second fails creating the tables.
        // SQLite: BEGIN IMMEDIATE takes the write lock first, waiting out busy_timeout; a deferred
        // transaction that reads first fails with SQLITE_BUSY at once when it starts writing.
        // PostgreSQL: a transaction-scoped advisory lock (per database) serialises migrators.
        let mut tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                tx.execute("SELECT 1 AS locked FROM pg_advisory_xact_lock(8205468352614371633)")
                    .await?;
                tx
            }
        };
        tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            .await?;
        let current: Option<i64> = sqlx::query("SELECT MAX(version) AS v FROM schema_version")
            .fetch_one(&mut *tx)
            .await?
            .try_get("v")?;
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current.unwrap_or(0)) {
            for statement in statements(sql) {
                tx.execute(statement.as_str()).await?;
            }
            sqlx::query("INSERT INTO schema_version (version) VALUES ($1)")
                .bind(*version)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// `sqlite://path` with the file created if missing; the directory is created too.
fn sqlite_url(url: &str) -> Result<String, StoreError> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or(path);
    if let Some(dir) = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::new(format!("cannot create `{}`: {e}", dir.display())))?;
    }
    Ok(format!("sqlite://{path}?mode=rwc"))
}

/// Splits a migration into statements: `;` at the end of a line ends one; `--` lines are comments.
fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in sql.lines() {
        let line = line.trim_end();
        if line.trim_start().starts_with("--") || line.is_empty() {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if line.ends_with(';') {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

/// Reads an optional text column.
pub(crate) fn opt_text(row: &AnyRow, column: &str) -> Result<Option<String>, StoreError> {
    Ok(row.try_get::<Option<String>, _>(column)?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn migration_splits_into_statements() {
        let s = super::statements("-- c\nCREATE TABLE a (x TEXT);\n\nCREATE INDEX i ON a (x);\n");
        assert_eq!(s.len(), 2);
        assert!(s[0].starts_with("CREATE TABLE a"));
    }
}
