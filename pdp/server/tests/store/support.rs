//! A fresh, private database per test, on either engine, removed afterwards.
//!
//! * SQLite: a new file under the system temporary directory (plus its `-wal` and `-shm`).
//! * PostgreSQL: a new database, named uniquely, in the cluster `UMAGATE_TEST_POSTGRES_URL`
//!   points at (`scripts/postgres start` runs one; `scripts/test` does that and exports the
//!   variable), dropped with `WITH (FORCE)` afterwards. Tests therefore run in parallel.

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;
use umagate_server::store::Store;

/// The variable naming the PostgreSQL maintenance database the tests create their own next to.
pub(crate) const POSTGRES_URL_VAR: &str = "UMAGATE_TEST_POSTGRES_URL";

/// Which engine a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Engine {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

/// One test's database: open it as often as the test likes.
#[derive(Clone, Debug)]
pub(crate) struct Db {
    /// Its engine.
    pub(crate) engine: Engine,
    /// `sqlite://…` or `postgres://…`.
    pub(crate) url: String,
}

impl Db {
    /// Opens the store (applying migrations) with a pool of `connections`.
    pub(crate) async fn open_with(&self, connections: u32) -> Store {
        match Store::open(&self.url, connections).await {
            Ok(store) => store,
            Err(e) => panic!("cannot open {:?} store at {}: {e}", self.engine, self.url),
        }
    }

    /// Opens the store with a small pool.
    pub(crate) async fn open(&self) -> Store {
        self.open_with(4).await
    }

    /// Runs a query returning one BIGINT, outside the store (for checks the API does not offer).
    pub(crate) async fn scalar(&self, sql: &str) -> i64 {
        let result = match self.engine {
            Engine::Sqlite => match sqlx::SqliteConnection::connect(&self.url).await {
                Ok(mut conn) => sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut conn).await,
                Err(e) => Err(e),
            },
            Engine::Postgres => match sqlx::PgConnection::connect(&self.url).await {
                Ok(mut conn) => sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut conn).await,
                Err(e) => Err(e),
            },
        };
        match result {
            Ok(value) => value,
            Err(e) => panic!("{sql}: {e}"),
        }
    }
}

/// What to remove after the test.
enum Cleanup {
    Files(PathBuf),
    Database { admin_url: String, name: String },
}

impl Cleanup {
    async fn run(self) {
        match self {
            Self::Files(path) => {
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Self::Database { admin_url, name } => {
                // FORCE ends the connections the test's pools may still hold.
                if let Err(e) = admin(
                    &admin_url,
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                )
                .await
                {
                    eprintln!("warning: could not drop test database {name}: {e}");
                }
            }
        }
    }
}

/// A name no other test, and no concurrent run, uses.
fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let random = match getrandom::u32() {
        Ok(r) => r,
        Err(e) => panic!("getrandom: {e}"),
    };
    format!(
        "{prefix}_{}_{}_{random:08x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

async fn admin(admin_url: &str, sql: &str) -> Result<(), sqlx::Error> {
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query(sql).execute(&mut conn).await?;
    conn.close().await
}

/// `postgres://user@host:port/db?query` with `db` replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

async fn fresh(engine: Engine) -> (Db, Cleanup) {
    match engine {
        Engine::Sqlite => {
            let path = std::env::temp_dir().join(format!("{}.db", unique_name("umagate_store")));
            let url = format!("sqlite://{}", path.display());
            (Db { engine, url }, Cleanup::Files(path))
        }
        Engine::Postgres => {
            let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) else {
                panic!(
                    "{POSTGRES_URL_VAR} is not set: the PostgreSQL storage tests need a server. Run scripts/test, \
                     or `scripts/postgres start` and then `export {POSTGRES_URL_VAR}=$(scripts/postgres url)`"
                )
            };
            let name = unique_name("umagate_t");
            if let Err(e) = admin(&admin_url, &format!("CREATE DATABASE {name}")).await {
                panic!(
                    "cannot create a test database through {POSTGRES_URL_VAR}={admin_url} (is `scripts/postgres start` running?): {e}"
                );
            }
            let url = with_database(&admin_url, &name);
            (Db { engine, url }, Cleanup::Database { admin_url, name })
        }
    }
}

/// Runs `test` against a fresh database on `engine`, then removes the database, pass or fail.
pub(crate) async fn run<F, Fut>(engine: Engine, test: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (db, cleanup) = fresh(engine).await;
    let outcome = tokio::spawn(test(db)).await;
    cleanup.run().await;
    match outcome {
        Ok(()) => {}
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("test task: {e}"),
    }
}

#[test]
fn database_names_replace_the_path_only() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:54329/umagate_test", "x"),
        "postgres://postgres@127.0.0.1:54329/x"
    );
    assert_eq!(
        with_database("postgres://h/db?sslmode=disable", "x"),
        "postgres://h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgresql://h:1", "x"), "postgresql://h:1/x");
}
