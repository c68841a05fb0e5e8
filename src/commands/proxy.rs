//! `umagate proxy`: the edge proxy in front of an API (configuration: docs/proxy.md).

use std::path::PathBuf;

use clap::Args;

/// Arguments of `umagate proxy`.
#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// Configuration file (TOML); SIGHUP reloads it, keeping the last good one on error.
    #[arg(long, short)]
    config: PathBuf,
}

impl ProxyArgs {
    /// Runs the proxy until SIGINT or SIGTERM.
    pub fn run(self) -> Result<(), String> {
        super::runtime()?.block_on(async move {
            umagate_proxy::run(&self.config)
                .await
                .map_err(|e| format!("{}: {e}", self.config.display()))
        })
    }
}
