//! Snapshots: the comparison stage of `run`, and `kmsconform snapshots review`.

use super::{CliError, Outcome};
use crate::check::{Actual, CheckId, Expected, Failure};
use crate::compare::{snapshot, Normalizer};
use crate::exit_codes;
use crate::report::Report;
use crate::run::record::Finding;
use crate::run::session::RunOutcome;
use crate::spec::SpecSet;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

/// Compare the suite transcripts of a finished run with `dir`; add findings and counts.
pub fn apply(
    report: &mut Report,
    dir: &Path,
    set: &SpecSet,
    mode: snapshot::Mode,
    outcome: &RunOutcome,
) -> Result<(), CliError> {
    let normalizer =
        Normalizer::from_spec(&set.latest().doc, &set.profile).map_err(CliError::Input)?;
    let transcript = normalizer.transcript(&outcome.recorder.transcript());
    let results = snapshot::process(dir, set.api(), mode, &transcript)
        .map_err(|e| CliError::Input(format!("snapshots in {}: {e}", dir.display())))?;
    for r in results {
        let op = format!("suite/{}", r.suite);
        let case = format!("{}/suite/{}", r.version, r.suite);
        let failure =
            |expected, actual| Failure::new(CheckId::SnapshotConformance, expected, actual);
        match r.outcome {
            snapshot::Outcome::Matched | snapshot::Outcome::Written => {
                report.count(CheckId::SnapshotConformance.id(), &op, &r.version, None)
            }
            snapshot::Outcome::Missing => report.push(Finding::comparison(
                failure(
                    Expected::Snapshot {
                        path: r.path.display().to_string(),
                    },
                    Actual::Described {
                        text: "none recorded; the pending .snap.new waits for `kmsconform snapshots review`".into(),
                    },
                ),
                &op,
                &r.version,
                &case,
                format!("suite {} has no snapshot", r.suite),
                report.meta.seed,
            )),
            snapshot::Outcome::Changed(d) => report.push(Finding::comparison(
                failure(
                    Expected::Snapshot {
                        path: r.path.display().to_string(),
                    },
                    Actual::Diff { diff: d },
                ),
                &op,
                &r.version,
                &case,
                format!("suite {} differs from its snapshot", r.suite),
                report.meta.seed,
            )),
        }
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum SnapshotsCommand {
    /// Show pending `.snap.new` files as diffs; accept or reject them.
    Review(ReviewArgs),
}

#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// Snapshot directory.
    #[arg(default_value = "snapshots")]
    pub dir: PathBuf,
    /// Accept every pending snapshot.
    #[arg(long, conflicts_with = "reject")]
    pub accept: bool,
    /// Delete every pending snapshot.
    #[arg(long)]
    pub reject: bool,
}

pub fn run(c: SnapshotsCommand) -> Outcome {
    match c {
        SnapshotsCommand::Review(a) => review(a),
    }
}

fn review(a: ReviewArgs) -> Outcome {
    let pending = snapshot::pending(&a.dir);
    if pending.is_empty() {
        println!("no pending snapshots under {}", a.dir.display());
        return Ok(exit_codes::OK);
    }
    for p in &pending {
        print!("{}", snapshot::review_diff(p)?);
        if a.accept {
            snapshot::accept(p)?;
            println!("accepted {}", p.display());
        } else if a.reject {
            std::fs::remove_file(p)?;
            println!("rejected {}", p.display());
        }
    }
    if !a.accept && !a.reject {
        println!(
            "{} pending snapshot(s); --accept or --reject",
            pending.len()
        );
        return Ok(exit_codes::FINDINGS);
    }
    Ok(exit_codes::OK)
}
