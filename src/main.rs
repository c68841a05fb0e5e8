//! `umagate`: the UMA 2.0 authorization server, policy engine and edge proxy in one binary.
//!
//! `main` only parses the command line, runs the chosen command and turns its outcome into an
//! exit code; each command lives in `commands/`.

mod commands;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = commands::Cli::parse();
    match cli.run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("umagate: {err}");
            ExitCode::from(1)
        }
    }
}
