//! The command line: argument parsing, dispatch, and the single mapping from outcomes and
//! errors to exit codes. Commands map flags onto the library (`run::session`, `spec`,
//! `report`); nothing here runs cases.

mod args;
mod config;
mod deprecations_cmd;
mod diff_cmd;
mod report_cmd;
mod run_cmd;
mod serve_cmd;
mod snapshots_cmd;
mod spec_cmd;
mod traffic_cmd;

use crate::exit_codes;
use clap::{CommandFactory, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "kmsconform",
    version,
    about = "Differential conformance harness for key-management APIs, driven by each API's specs and profile"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the conformance checks against a target (default: the embedded reference).
    Run(run_cmd::RunArgs),
    /// Re-send one reported case (and only what it depends on) with the run's flags.
    Replay {
        /// Case id from a finding, e.g. 1.3/createKey/invalid/4 or 1.3/suite/lifecycle/7.
        #[arg(long)]
        case: String,
        #[command(flatten)]
        run: run_cmd::RunArgs,
    },
    /// Serve an API's embedded reference target.
    Serve(serve_cmd::ServeArgs),
    /// Compare versions (declared vs undeclared differences) or targets (noise-cancelled).
    Diff(diff_cmd::DiffArgs),
    /// Check recorded exchanges (HAR) offline against the specs, per version.
    CheckTraffic(traffic_cmd::TrafficArgs),
    /// Snapshot maintenance.
    #[command(subcommand)]
    Snapshots(snapshots_cmd::SnapshotsCommand),
    /// List the check catalogue (id, default basis, what it verifies).
    Checks,
    /// Measure: the embedded target under concurrent load, and the conformance run itself.
    Bench(run_cmd::BenchArgs),
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

/// What a command reports back: the exit code it earned.
pub type Outcome = anyhow::Result<i32>;

/// Errors with their own exit code. Anything else reaching `main` is an input error (2).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad flags or files: nothing was sent.
    #[error("{0}")]
    Input(String),
    #[error("target unusable: {0}")]
    Unusable(String),
    #[error("{0}")]
    Credentials(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl CliError {
    pub fn code(&self) -> i32 {
        match self {
            CliError::Input(_) => exit_codes::USAGE,
            CliError::Unusable(_) => exit_codes::UNUSABLE,
            CliError::Credentials(_) => exit_codes::CREDENTIALS,
            CliError::Internal(_) => exit_codes::INTERNAL,
        }
    }
}

impl From<crate::run::session::SessionError> for CliError {
    fn from(e: crate::run::session::SessionError) -> Self {
        use crate::run::session::SessionError as S;
        match e {
            S::Input(m) => CliError::Input(m),
            S::Unusable(m) => CliError::Unusable(m),
            e @ S::CredentialsRejected { .. } => CliError::Credentials(e.to_string()),
            S::Internal(m) => CliError::Internal(m),
        }
    }
}

/// A panic is a bug: write what is known to a log file, say where, exit 70.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let bt = std::backtrace::Backtrace::force_capture();
        let path =
            std::env::temp_dir().join(format!("kmsconform-panic-{}.log", std::process::id()));
        let text = format!("kmsconform {}\n{info}\n\n{bt}\n", env!("CARGO_PKG_VERSION"));
        let where_ = match std::fs::write(&path, text) {
            Ok(()) => format!("details in {}", path.display()),
            Err(_) => "no log could be written".to_string(),
        };
        eprintln!("internal error: {info}\nThis is a bug in kmsconform; please report it to its maintainers with the log ({where_}).");
    }));
}

pub fn main() -> i32 {
    install_panic_hook();
    // kmsconform.toml (or --config FILE): its settings become flags before the ones given.
    let (argv, config) = match config::apply(&Cli::command(), std::env::args_os().collect()) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return e.code();
        }
    };
    let cli = match Cli::try_parse_from(&argv) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit_codes::USAGE
            } else {
                exit_codes::OK
            };
            if let (Some(f), true) = (&config, e.use_stderr()) {
                // The flags given parsed alone: what fails is the file's settings with them.
                eprintln!(
                    "error: the settings of {} do not combine with the flags given:",
                    f.display()
                );
            }
            let _ = e.print();
            return code;
        }
    };
    match std::panic::catch_unwind(|| dispatch(cli)) {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => {
            let code = e
                .downcast_ref::<CliError>()
                .map(CliError::code)
                .unwrap_or(exit_codes::USAGE);
            if code == exit_codes::INTERNAL {
                eprintln!("error: {e:#}\nThis is a bug in kmsconform; please report it to its maintainers.");
            } else {
                eprintln!("error: {e:#}");
            }
            code
        }
        Err(_) => exit_codes::INTERNAL,
    }
}

fn dispatch(cli: Cli) -> Outcome {
    match cli.command {
        Command::Run(a) => run_cmd::run_cmd(a, None),
        Command::Replay { case, run } => run_cmd::run_cmd(run, Some(case)),
        Command::Serve(a) => serve_cmd::serve_cmd(a),
        Command::Diff(a) => diff_cmd::diff_cmd(a),
        Command::CheckTraffic(a) => traffic_cmd::traffic_cmd(a),
        Command::Snapshots(c) => snapshots_cmd::run(c),
        Command::Bench(a) => run_cmd::bench_cmd(a),
        Command::Checks => {
            for c in crate::check::CheckId::ALL {
                let b = c.default_basis();
                println!("{:<28} {:<11} {}", c.id(), b.kind.as_str(), c.doc());
            }
            Ok(exit_codes::OK)
        }
        Command::Spec(c) => spec_cmd::run(c),
        Command::Baseline(c) => report_cmd::baseline(c),
        Command::Report(c) => report_cmd::report(c),
        Command::Deprecations(a) => deprecations_cmd::run(a),
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
