//! The CI side of a run: report formats, baseline, failure budget; and the `baseline` and
//! `report` subcommands.

use super::Outcome;
use crate::exit_codes;
use crate::report::{self, baseline::Baseline, merge, summary, Format, Report};
use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Debug, Args, Clone)]
pub struct GateArgs {
    /// Report format written into --report-dir (repeatable).
    #[arg(long = "format", value_enum, default_values_t = [Format::Json])]
    pub formats: Vec<Format>,
    /// Known failures (from `kmsconform baseline write`): only findings not listed fail.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Failure budget: up to N findings outside the baseline still pass; beyond N the run
    /// stops sending cases and fails (default 0).
    #[arg(long)]
    pub max_failures: Option<usize>,
}

impl GateArgs {
    /// Refuses a streamed format (`jsonl`) where there is no run to stream: `command` names
    /// the subcommand in the message.
    pub fn only_rendered(&self, command: &str) -> Result<(), super::CliError> {
        match self.formats.iter().find(|f| f.is_streamed()) {
            Some(_) => Err(super::CliError::Input(format!(
                "--format jsonl streams the events of a run as it goes; `{command}` has none (use json, junit, markdown or html)"
            ))),
            None => Ok(()),
        }
    }

    /// Fails early (before a long run) on a baseline that cannot be read.
    pub fn load_baseline(&self) -> Result<Option<Baseline>, super::CliError> {
        self.baseline
            .as_deref()
            .map(Baseline::load)
            .transpose()
            .map_err(super::CliError::Input)
    }

    /// Applies the baseline, writes the reports (each through `scrub`, the final pass
    /// against reflected secrets) and returns the gate's exit code.
    pub fn finish(
        &self,
        r: Report,
        report_dir: Option<&Path>,
        scrub: &dyn Fn(&str) -> String,
    ) -> Outcome {
        self.finish_with(r, report_dir, scrub, false)
    }

    /// `finish`, printing nothing when `quiet` (`run -q`).
    pub fn finish_with(
        &self,
        mut r: Report,
        report_dir: Option<&Path>,
        scrub: &dyn Fn(&str) -> String,
        quiet: bool,
    ) -> Outcome {
        if let Some(b) = self.load_baseline()? {
            b.apply(&mut r);
            let known = r.findings.iter().filter(|f| r.is_known(f)).count();
            if !quiet {
                println!(
                    "baseline: {known} of {} findings are known; {} gating",
                    r.findings.len(),
                    r.gating().count()
                );
            }
        }
        if let Some(dir) = report_dir {
            for path in report::write_all(dir, &self.formats, &r, scrub)? {
                if !quiet {
                    println!("wrote {}", path.display());
                }
            }
        }
        Ok(report::gate(&r, self.max_failures))
    }
}

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Write known-failures.json from a run's report.json: every finding becomes known.
    Write {
        /// A report.json of a run.
        report: PathBuf,
        #[arg(long, default_value = "known-failures.json")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Combine the report.json files of a partitioned run into one report (all formats).
    Merge {
        /// report.json files to merge.
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// Where the merged reports go.
        #[arg(long)]
        report_dir: PathBuf,
        #[command(flatten)]
        gate: GateArgs,
    },
}

fn read_report(path: &Path) -> anyhow::Result<Report> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Report::from_json(&text)
        .with_context(|| format!("{} is not a kmsconform report.json", path.display()))
}

pub fn baseline(c: BaselineCommand) -> Outcome {
    match c {
        BaselineCommand::Write { report: path, out } => {
            let b = Baseline::from_report(&read_report(&path)?);
            report::write_atomic(&out, b.to_json().as_bytes())?;
            println!(
                "wrote {} ({} known failures)",
                out.display(),
                b.known_failures.len()
            );
            Ok(exit_codes::OK)
        }
    }
}

pub fn report(c: ReportCommand) -> Outcome {
    match c {
        ReportCommand::Merge {
            reports,
            report_dir,
            gate,
        } => {
            gate.only_rendered("report merge")?;
            gate.load_baseline()?;
            let parts = reports
                .iter()
                .map(|p| read_report(p))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let merged = merge::merge(&parts)?;
            print!("{}", summary::render(&merged));
            gate.finish(merged, Some(&report_dir), &|t| t.to_string())
        }
    }
}
