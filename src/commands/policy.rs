//! `umagate policy check | eval | test`: what a policy author runs before uploading.
//!
//! All three load the component exactly as the AS does and evaluate under the production
//! [`Limits`]. Bad input (unreadable file, not a component, wrong world, malformed JSON) prints one
//! `error: …` line and exits 2; a failing test case exits 1.

mod cases;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use umagate_core::policy::{Outcome, PolicyInput};
use umagate_engine::{Evaluation, Limits, LoadedPolicy, PolicyEngine};

/// Arguments of `umagate policy`.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    command: PolicyCommand,
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Validate a component against the policy world and the limits; show imports, size and
    /// compile time.
    Check {
        /// The component (.wasm, or component text .wat).
        component: PathBuf,
    },
    /// Evaluate one request and print the decision, the explanation and the time taken.
    Eval {
        /// The component.
        component: PathBuf,
        /// The request, as JSON (resource, scopes, party, context).
        #[arg(long)]
        input: PathBuf,
    },
    /// Run a table of cases and compare each scope's outcome with the expected one.
    Test {
        /// The component.
        component: PathBuf,
        /// The cases file (JSON: `defaults` and `cases` with `input` and `expect`).
        cases: PathBuf,
    },
}

/// A usage error: reported on one line, exit code 2.
struct BadInput(String);

impl PolicyArgs {
    /// Runs the subcommand.
    pub fn run(self) -> ExitCode {
        let result = match self.command {
            PolicyCommand::Check { component } => check(&component),
            PolicyCommand::Eval { component, input } => eval(&component, &input),
            PolicyCommand::Test { component, cases } => test(&component, &cases),
        };
        result.unwrap_or_else(|BadInput(message)| {
            eprintln!("error: {message}");
            ExitCode::from(2)
        })
    }
}

fn engine() -> Result<PolicyEngine, BadInput> {
    PolicyEngine::new(Limits::default()).map_err(|e| BadInput(e.to_string()))
}

fn read(path: &Path) -> Result<Vec<u8>, BadInput> {
    std::fs::read(path).map_err(|e| BadInput(format!("cannot read `{}`: {e}", path.display())))
}

fn load(engine: &PolicyEngine, path: &Path) -> Result<LoadedPolicy, BadInput> {
    engine
        .load(&read(path)?)
        .map_err(|e| BadInput(format!("`{}`: {e}", path.display())))
}

fn check(path: &Path) -> Result<ExitCode, BadInput> {
    let engine = engine()?;
    let policy = load(&engine, path)?;
    let info = policy.info();
    println!("ok: {} matches umagate:policy/policy@0.2.0", path.display());
    println!("size:         {} bytes", info.size);
    println!("sha256:       {}", info.digest);
    println!(
        "compile time: {:.1} ms",
        info.compile_time.as_secs_f64() * 1e3
    );
    if info.imports.is_empty() {
        println!("imports:      none");
    } else {
        println!("imports:      {}", info.imports.join(", "));
    }
    if info.uses_wasi {
        println!(
            "wasi:         sealed (no files, network, environment; frozen clock, fixed randomness)"
        );
    }
    let limits = engine.limits();
    println!(
        "limits:       {} ms, {} MiB memory, {} KiB stack, {} KiB output",
        limits.timeout.as_millis(),
        limits.memory_bytes >> 20,
        limits.stack_bytes >> 10,
        limits.max_output_bytes >> 10
    );
    Ok(ExitCode::SUCCESS)
}

fn eval(path: &Path, input_path: &Path) -> Result<ExitCode, BadInput> {
    let input: PolicyInput = serde_json::from_slice(&read(input_path)?)
        .map_err(|e| BadInput(format!("`{}`: {e}", input_path.display())))?;
    let engine = engine()?;
    let policy = load(&engine, path)?;
    let evaluation = engine.evaluate(&policy, &input);
    print_evaluation(&evaluation);
    Ok(ExitCode::SUCCESS)
}

fn print_evaluation(evaluation: &Evaluation) {
    for (scope, outcome) in &evaluation.decision.scopes {
        let scope = if scope.is_empty() {
            "(no scope)"
        } else {
            scope
        };
        println!("{scope}: {}", describe(outcome));
    }
    println!("explanation: {}", evaluation.decision.explanation);
    if let Some(failure) = &evaluation.failure {
        println!("failure: {failure}");
    }
    for line in &evaluation.logs {
        println!("log [{}]: {}", line.level, line.message);
    }
    if evaluation.logs_dropped > 0 {
        println!("log: {} more lines dropped", evaluation.logs_dropped);
    }
    println!("time: {:.3} ms", evaluation.elapsed.as_secs_f64() * 1e3);
}

/// One outcome on one line.
pub(crate) fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Permit => "permit".into(),
        Outcome::Deny(reason) => format!("deny ({reason})"),
        Outcome::AskOwner(why) => format!("ask_owner ({why})"),
        Outcome::NeedInfo(claims) => {
            let names: Vec<&str> = claims.iter().filter_map(|c| c.name.as_deref()).collect();
            format!("need_info ({})", names.join(", "))
        }
    }
}

fn test(path: &Path, cases_path: &Path) -> Result<ExitCode, BadInput> {
    let table = cases::Table::parse(&read(cases_path)?)
        .map_err(|e| BadInput(format!("`{}`: {e}", cases_path.display())))?;
    let engine = engine()?;
    let policy = load(&engine, path)?;
    let mut failed = 0;
    for case in &table.cases {
        let evaluation = engine.evaluate(&policy, &case.input);
        let mismatches = case.mismatches(&evaluation);
        if mismatches.is_empty() {
            println!("ok    {}", case.name);
        } else {
            failed += 1;
            println!("FAIL  {}", case.name);
            for m in mismatches {
                println!("        {m}");
            }
        }
    }
    println!("{} passed, {failed} failed", table.cases.len() - failed);
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
