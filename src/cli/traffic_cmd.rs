//! `kmsconform check-traffic FILE.har`: recorded exchanges checked offline, with a run's
//! findings, reports and exit codes.

use super::args::{parse_versions, ApiArgs};
use super::{CliError, Outcome};
use crate::check::Selection;
use crate::report::har::Har;
use crate::report::{self, summary, Report};
use crate::run::generation::Generation;
use crate::run::traffic::{check_traffic, TrafficPlan, Unchecked};
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct TrafficArgs {
    /// A HAR 1.x file: from `run --record`, a proxy or a browser's export.
    #[arg(value_name = "FILE.har")]
    pub har: PathBuf,
    #[command(flatten)]
    pub api: ApiArgs,
    /// Versions to check against (`all`, a list or a range). An entry stating another
    /// version is skipped; an entry stating none is checked against each of these
    /// (default: the newest).
    #[arg(long)]
    pub versions: Option<String>,
    /// Only these checks (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    pub checks: Option<Vec<String>>,
    /// Skip these checks (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    pub exclude_checks: Vec<String>,
    /// Advisories fail the gate too.
    #[arg(long)]
    pub strict: bool,
    /// Write the reports (see --format) here.
    #[arg(long)]
    pub report_dir: Option<PathBuf>,
    #[command(flatten)]
    pub gate: super::report_cmd::GateArgs,
}

pub fn traffic_cmd(a: TrafficArgs) -> Outcome {
    let set = a.api.load()?;
    let versions = a
        .versions
        .as_deref()
        .map(|v| parse_versions(v, &set))
        .transpose()?;
    let selection = Selection::parse(a.checks.as_deref(), &a.exclude_checks)
        .map_err(|e| CliError::Input(e.to_string()))?;
    a.gate.only_rendered("check-traffic")?;
    a.gate.load_baseline()?;
    if let Some(dir) = &a.report_dir {
        report::ensure_writable(dir, &a.gate.formats)
            .map_err(|e| CliError::Input(format!("--report-dir: {e}")))?;
    }
    let generation =
        Generation::load(&a.api.suites_dir().join("generation.json")).map_err(CliError::Input)?;
    let har = Har::load(&a.har).map_err(|e| CliError::Input(e.to_string()))?;
    let plan = TrafficPlan {
        versions,
        selection,
        strict: a.strict,
        expected_statuses: generation.expected_statuses.clone(),
        source: a.har.display().to_string(),
    };
    let out = check_traffic(&set, &har, &plan).map_err(|e| CliError::Input(e.to_string()))?;
    let report = Report::from_outcome(&out.run, &a.api.api, 0);
    let scrubber = &out.run.scrubber;
    print!("{}", scrubber.scrub(&summary::render(&report)));
    println!(
        "{} of {} entries checked ({} checks of an entry against a version)",
        har.log.entries.len() - out.unchecked.len(),
        har.log.entries.len(),
        out.run.collected.requests
    );
    let groups = group(&out.unchecked);
    for (why, (n, first)) in groups.iter().take(10) {
        println!(
            "not checked: {n} entr{} ({why}; first: entry {first})",
            if *n == 1 { "y" } else { "ies" }
        );
    }
    if groups.len() > 10 {
        println!("not checked: {} more reasons", groups.len() - 10);
    }
    a.gate
        .finish(report, a.report_dir.as_deref(), &|t| scrubber.scrub(t))
}

/// Reasons with their count and first entry; entries of one shape share a reason.
fn group(u: &[(usize, Unchecked)]) -> BTreeMap<String, (usize, usize)> {
    let mut out: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (i, why) in u {
        let e = out.entry(why.to_string()).or_insert((0, *i));
        e.0 += 1;
    }
    out
}
