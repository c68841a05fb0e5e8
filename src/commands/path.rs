//! `umagate path <target>`: prints the canonical form of a request target, or why the proxy
//! would refuse it, using the same function the proxy and the AS use. Operators use it to see
//! which path a route template will be matched against.

use std::process::ExitCode;

use clap::Args;
use umagate_proto::path::{EmptySegments, PathParams, PathRules, canonicalize_target};

/// Arguments of `umagate path`.
#[derive(Debug, Args)]
pub struct PathArgs {
    /// The origin-form request target, e.g. `/albums/../admin?x=1`.
    target: String,
    /// Strip `;` path parameters per segment (Tomcat semantics) instead of refusing them.
    #[arg(long)]
    strip_params: bool,
    /// Refuse empty segments (`//`) instead of merging them.
    #[arg(long)]
    reject_empty_segments: bool,
    /// Keep `%2F` inside a segment instead of refusing it.
    #[arg(long)]
    allow_encoded_slash: bool,
}

impl PathArgs {
    /// Prints the canonical target (exit 0) or the reason it is refused (exit 2).
    pub fn run(self) -> ExitCode {
        let rules = PathRules {
            params: if self.strip_params {
                PathParams::Strip
            } else {
                PathParams::Reject
            },
            empty_segments: if self.reject_empty_segments {
                EmptySegments::Reject
            } else {
                EmptySegments::Merge
            },
            allow_encoded_slash: self.allow_encoded_slash,
        };
        match canonicalize_target(&self.target, &rules) {
            Ok((path, query)) => {
                match query {
                    Some(q) => println!("{path}?{q}"),
                    None => println!("{path}"),
                }
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("refused: {err}");
                ExitCode::from(2)
            }
        }
    }
}
