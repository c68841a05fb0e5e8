//! The command line: one subcommand per file.

mod admin;
mod dev;
mod path;
mod policy;
mod proxy;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// UMA 2.0 authorization server, Wasm policy engine and edge proxy.
#[derive(Debug, Parser)]
#[command(name = "umagate", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Manage users, clients and signing keys in the store.
    Admin(admin::AdminArgs),
    /// Run the whole UMA flow locally: AS, proxy and a demo API, seeded with alice and bob.
    Dev(dev::DevArgs),
    /// Show how the proxy canonicalizes a request target (what it authorizes and forwards).
    Path(path::PathArgs),
    /// Check, evaluate and test policy components.
    Policy(policy::PolicyArgs),
    /// Run the edge proxy in front of an API.
    Proxy(proxy::ProxyArgs),
    /// Run the authorization server.
    Serve(serve::ServeArgs),
}

impl Cli {
    /// Runs the chosen command.
    pub fn run(self) -> Result<ExitCode, String> {
        match self.command {
            Command::Admin(args) => Ok(args.run()),
            Command::Dev(args) => args.run().map(|()| ExitCode::SUCCESS),
            Command::Path(args) => Ok(args.run()),
            Command::Policy(args) => Ok(args.run()),
            Command::Proxy(args) => args.run().map(|()| ExitCode::SUCCESS),
            Command::Serve(args) => args.run().map(|()| ExitCode::SUCCESS),
        }
    }
}

/// A multi-threaded tokio runtime with logging set up (`RUST_LOG`, default `info`).
fn runtime() -> Result<tokio::runtime::Runtime, String> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
