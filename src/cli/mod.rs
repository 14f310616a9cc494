//! The command line: argument parsing, dispatch, and the single mapping from outcomes and
//! errors to exit codes.

mod deprecations_cmd;
mod diff_cmd;
mod report_cmd;
mod run_cmd;
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
    /// Run the conformance checks against a target (default: the embedded reference).
    Run(run_cmd::RunArgs),
    /// Re-run one reported case (same seed, same case id).
    Replay {
        /// Case id from a finding, e.g. 1.3/createKey/invalid/4 or 1.3/suite/lifecycle/7.
        #[arg(long)]
        case: String,
        #[command(flatten)]
        run: run_cmd::RunArgs,
    },
    /// Serve the embedded SCP KMS reference target.
    Serve(run_cmd::ServeArgs),
    /// Compare versions (declared vs undeclared differences) or targets (noise-cancelled).
    Diff(diff_cmd::DiffArgs),
    /// Snapshot maintenance.
    #[command(subcommand)]
    Snapshots(SnapshotsCommand),
    /// List the check catalogue.
    Checks,
    /// Measure: the embedded target under concurrent load, and the conformance run itself.
    Bench {
        /// Concurrent clients of the load test.
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Requests per client.
        #[arg(long, default_value_t = 200)]
        requests: usize,
        /// Also time this many default conformance runs (all versions, all suites).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Known-failure baselines for CI (`--baseline`).
    #[command(subcommand)]
    Baseline(report_cmd::BaselineCommand),
    /// Operations on report.json files.
    #[command(subcommand)]
    Report(report_cmd::ReportCommand),
    /// Version deprecation status as of a date, a live probe per version, and the breakage
    /// a client pinned to an older version meets on the current one.
    Deprecations(deprecations_cmd::DeprecationsArgs),
    /// Import, lint and diff machine-readable specs.
    #[command(subcommand)]
    Spec(spec_cmd::SpecCommand),
}

#[derive(Debug, Subcommand)]
pub enum SnapshotsCommand {
    /// Show pending `.snap.new` files as diffs; accept or reject them.
    Review(diff_cmd::ReviewArgs),
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
        Command::Run(a) => run_cmd::run_cmd(a, None),
        Command::Replay { case, mut run } => {
            let version = case.split('/').next().unwrap_or_default().to_string();
            run.versions = version;
            run_cmd::run_cmd(run, Some(case))
        }
        Command::Serve(a) => run_cmd::serve_cmd(a),
        Command::Diff(a) => diff_cmd::diff_cmd(a),
        Command::Snapshots(SnapshotsCommand::Review(a)) => diff_cmd::review_cmd(a),
        Command::Bench {
            clients,
            requests,
            runs,
        } => run_cmd::bench_cmd(clients, requests, runs),
        Command::Checks => {
            for (id, doc) in crate::check::CATALOGUE {
                println!("{id:<28} {doc}");
            }
            Ok(exit_codes::OK)
        }
        Command::Spec(c) => spec_cmd::run(c),
        Command::Baseline(c) => report_cmd::baseline(c),
        Command::Report(c) => report_cmd::report(c),
        Command::Deprecations(a) => deprecations_cmd::run(a),
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

#[cfg(test)]
mod tests {
    /// clap's own consistency checks over every subcommand (conflicting flag names etc.).
    #[test]
    fn command_line_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
