//! The command line: one subcommand per file.

mod path;
mod policy;

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
    /// Show how the proxy canonicalizes a request target (what it authorizes and forwards).
    Path(path::PathArgs),
    /// Check, evaluate and test policy components.
    Policy(policy::PolicyArgs),
}

impl Cli {
    /// Runs the chosen command.
    pub fn run(self) -> Result<ExitCode, String> {
        match self.command {
            Command::Path(args) => Ok(args.run()),
            Command::Policy(args) => Ok(args.run()),
        }
    }
}
