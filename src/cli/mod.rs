//! The command line: argument parsing, dispatch, and the single mapping from outcomes and
//! errors to exit codes.

mod spec_cmd;

use crate::exit_codes;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "kmsconform",
    version,
    about = "Differential conformance harness for the SCP KMS OpenAPI (1.0-1.3)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import, lint and diff machine-readable specs.
    #[command(subcommand)]
    Spec(spec_cmd::SpecCommand),
}

/// What a command reports back: the exit code it earned.
pub type Outcome = anyhow::Result<i32>;

/// Errors that carry their own exit code; anything else is a usage/input error (2).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CodedError {
    pub code: i32,
    pub message: String,
}

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit_codes::USAGE
            } else {
                exit_codes::OK
            };
            let _ = e.print();
            return code;
        }
    };
    let result = match cli.command {
        Command::Spec(c) => spec_cmd::run(c),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            e.downcast_ref::<CodedError>()
                .map(|c| c.code)
                .unwrap_or(exit_codes::USAGE)
        }
    }
}
