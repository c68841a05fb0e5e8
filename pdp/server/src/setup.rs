//! Starting the AS: open the store, apply the clients and users the configuration declares,
//! load (or create) the signing keys, and serve until told to stop.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::config::Config;
use crate::decide::runtime::PolicyRuntime;
use crate::http::{self, AppState, State};
use crate::keys::KeyRing;
use crate::secrets;
use crate::store::{ClientRecord, Store, StoreError, UserRecord};

/// Why the AS could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The configuration's clients or users.
    #[error("configuration: {0}")]
    Config(String),
    /// Binding or serving.
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
}

/// A ready AS.
pub struct Server {
    state: State,
}

impl Server {
    /// Opens the store and prepares everything; `now` is the start time.
    pub async fn start(config: Config, now: i64) -> Result<Self, ServerError> {
        let store = Store::open(&config.database_url(), config.database.max_connections).await?;
        apply_declared(&store, &config, now).await?;
        let keys = KeyRing::load_or_create(&store, now).await?;
        let issuer = config.issuer();
        let pdp = Arc::new(PolicyRuntime::new(
            &config.policies,
            Some(config.server.data_dir.join("policy-cache")),
        ));
        Ok(Self {
            state: Arc::new(AppState {
                config,
                issuer,
                store,
                keys,
                pdp,
            }),
        })
    }

    /// The shared state (for tests and the CLI).
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Serves on `listener` until `shutdown` completes, then drains in-flight requests.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let reload = tokio::spawn(reload_keys(self.state.clone()));
        let purge = tokio::spawn(purge_expired(self.state.clone()));
        let app = http::router(self.state.clone())
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        reload.abort();
        purge.abort();
        Ok(result?)
    }
}

/// Keeps the key set in step with other replicas.
async fn reload_keys(state: State) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        if let Err(e) = state.keys.reload(&state.store, http::now()).await {
            tracing::warn!(error = %e, "could not reload signing keys");
        }
    }
}

/// How long expired codes and tokens are kept: a replay within this time is still recognised as
/// a replay (and revokes its family) rather than as an unknown artifact.
const PURGE_GRACE_SECS: i64 = 86_400;

/// Deletes long-expired codes, tokens, sessions and pending requests every ten minutes.
async fn purge_expired(state: State) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        match state
            .store
            .purge_expired(http::now() - PURGE_GRACE_SECS)
            .await
        {
            Ok(removed) => tracing::debug!(removed, "purged expired rows"),
            Err(e) => tracing::warn!(error = %e, "could not purge expired rows"),
        }
    }
}

/// Writes the configuration's clients and users to the store (the file wins).
async fn apply_declared(store: &Store, config: &Config, now: i64) -> Result<(), ServerError> {
    for c in &config.clients {
        let secret_hash = match (&c.secret, &c.secret_hash) {
            (Some(secret), _) => Some(secrets::hash_password(secret).map_err(ServerError::Config)?),
            (None, hash) => hash.clone(),
        };
        store
            .upsert_client(&ClientRecord {
                client_id: c.client_id.clone(),
                secret_hash,
                metadata: c.metadata.clone(),
                resource_server: c.resource_server,
                dynamic: false,
                created_at: now,
            })
            .await?;
    }
    for u in &config.users {
        let password_hash = match (&u.password, &u.password_hash) {
            (Some(password), _) => secrets::hash_password(password).map_err(ServerError::Config)?,
            (None, Some(hash)) => hash.clone(),
            (None, None) => {
                return Err(ServerError::Config(format!(
                    "user {} has no password",
                    u.username
                )));
            }
        };
        let subject = match store.user_by_username(&u.username).await? {
            Some(existing) => existing.subject,
            None => new_subject()?,
        };
        store
            .upsert_user(&UserRecord {
                subject,
                username: u.username.clone(),
                email: u.email.clone(),
                email_verified: u.email_verified,
                password_hash,
                created_at: now,
            })
            .await?;
    }
    Ok(())
}

/// A new subject identifier: random, so it never collides with a client id or a username.
pub fn new_subject() -> Result<String, ServerError> {
    let random = secrets::new_id().map_err(|e| ServerError::Config(e.to_string()))?;
    Ok(format!("{}{random}", crate::store::SUBJECT_PREFIX))
}
