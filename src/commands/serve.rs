//! `umagate serve`: the authorization server.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use umagate_server::Server;
use umagate_server::config::Config;

/// Arguments of `umagate serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file (TOML); without one, every default applies.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Address to listen on (overrides `server.listen`).
    #[arg(long, env = "UMAGATE_LISTEN")]
    listen: Option<SocketAddr>,
    /// Database URL (overrides `database.url`).
    #[arg(long, env = "UMAGATE_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Issuer identifier (overrides `server.issuer`).
    #[arg(long, env = "UMAGATE_ISSUER")]
    issuer: Option<String>,
}

impl ServeArgs {
    /// Loads the configuration with the command-line and environment overrides applied.
    pub fn config(&self) -> Result<Config, String> {
        let mut config = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                Config::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => Config::default(),
        };
        if let Some(listen) = self.listen {
            config.server.listen = listen;
        }
        if let Some(url) = &self.database_url {
            config.database.url = Some(url.clone());
        }
        if let Some(issuer) = &self.issuer {
            config.server.issuer = Some(issuer.clone());
        }
        config.validate()?;
        Ok(config)
    }

    /// Runs the AS until SIGINT or SIGTERM.
    pub fn run(self) -> Result<(), String> {
        let config = self.config()?;
        super::runtime()?.block_on(async move {
            let listen = config.server.listen;
            let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            let server = Server::start(config, umagate_server::http::now()).await.map_err(|e| e.to_string())?;
            tracing::info!(issuer = %server.state().issuer, %listen, "umagate authorization server listening");
            server.serve(listener, super::shutdown_signal()).await.map_err(|e| e.to_string())
        })
    }
}
