//! Snapshots: the comparison stage of `run`, and `kmsconform snapshots review` (one file at
//! a time: named, all, or asked on a terminal).

use super::{CliError, Outcome};
use crate::check::{Actual, CheckId, Expected, Failure};
use crate::compare::{snapshot, Normalizer};
use crate::exit_codes;
use crate::report::Report;
use crate::run::record::Finding;
use crate::run::session::RunOutcome;
use crate::spec::SpecSet;
use clap::{ArgAction, Args, Subcommand};
use std::io::{BufRead, IsTerminal, Write};
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
    let transcript = normalizer.transcript(&outcome.transcript);
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
    /// Review pending `.snap.new` files one at a time: accept or reject named ones, all of
    /// them, or (on a terminal, with no decision given) be asked about each.
    Review(ReviewArgs),
}

#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// Snapshot directory.
    #[arg(default_value = "snapshots")]
    pub dir: PathBuf,
    /// Accept the pending snapshot at PATH (`x.snap.new`, or the `x.snap` it replaces; a
    /// directory: every pending snapshot under it). Repeatable. Without PATH, every pending
    /// snapshot (the older form of --accept-all).
    #[arg(long, value_name = "PATH", num_args = 0..=1, default_missing_value = "", action = ArgAction::Append)]
    pub accept: Vec<String>,
    /// Reject (delete) the pending snapshot at PATH, as for --accept. Repeatable. Without
    /// PATH, every pending snapshot (the older form of --reject-all).
    #[arg(long, value_name = "PATH", num_args = 0..=1, default_missing_value = "", action = ArgAction::Append)]
    pub reject: Vec<String>,
    /// Accept every pending snapshot that no --accept/--reject PATH decides.
    #[arg(long, conflicts_with = "reject_all")]
    pub accept_all: bool,
    /// Reject every pending snapshot that no --accept/--reject PATH decides.
    #[arg(long)]
    pub reject_all: bool,
}

pub fn run(c: SnapshotsCommand) -> Outcome {
    match c {
        SnapshotsCommand::Review(a) => review(a),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Accept,
    Reject,
}

fn decide(p: &Path, d: Decision, out: &mut dyn Write) -> std::io::Result<()> {
    match d {
        Decision::Accept => {
            snapshot::accept(p)?;
            writeln!(out, "accepted {}", snapshot::target_of(p).display())
        }
        Decision::Reject => {
            snapshot::reject(p)?;
            writeln!(out, "rejected {}", p.display())
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The pending snapshots a `--accept`/`--reject` PATH names.
fn named(path: &Path) -> Result<Vec<PathBuf>, CliError> {
    let found = if path.is_dir() {
        snapshot::pending(path)
    } else {
        snapshot::pending_of(path)
            .filter(|p| p.is_file())
            .into_iter()
            .collect()
    };
    if found.is_empty() {
        return Err(CliError::Input(format!(
            "no pending snapshot at {} (a .snap.new file, the .snap it replaces, or a directory holding some)",
            path.display()
        )));
    }
    Ok(found)
}

fn review(a: ReviewArgs) -> Outcome {
    let all = |list: &[String], flag: bool| flag || list.iter().any(|p| p.is_empty());
    let (accept_all, reject_all) = (all(&a.accept, a.accept_all), all(&a.reject, a.reject_all));
    if accept_all && reject_all {
        return Err(CliError::Input("accept all and reject all at once: choose one".into()).into());
    }
    let mut decided: Vec<(PathBuf, Decision)> = Vec::new();
    for (list, d) in [(&a.accept, Decision::Accept), (&a.reject, Decision::Reject)] {
        for p in list.iter().filter(|p| !p.is_empty()) {
            for new in named(Path::new(p))? {
                match decided.iter().find(|(q, _)| same_file(q, &new)) {
                    Some((_, other)) if *other != d => {
                        return Err(CliError::Input(format!(
                            "{} is both accepted and rejected",
                            new.display()
                        ))
                        .into())
                    }
                    Some(_) => {}
                    None => decided.push((new, d)),
                }
            }
        }
    }
    let rest: Vec<PathBuf> = snapshot::pending(&a.dir)
        .into_iter()
        .filter(|p| !decided.iter().any(|(q, _)| same_file(q, p)))
        .collect();
    if decided.is_empty() && rest.is_empty() {
        println!("no pending snapshots under {}", a.dir.display());
        return Ok(exit_codes::OK);
    }
    let mut out = std::io::stdout().lock();
    for (p, d) in &decided {
        write!(out, "{}", snapshot::review_diff(p)?)?;
        decide(p, *d, &mut out)?;
    }
    let left = if accept_all || reject_all {
        let d = if accept_all {
            Decision::Accept
        } else {
            Decision::Reject
        };
        for p in &rest {
            write!(out, "{}", snapshot::review_diff(p)?)?;
            decide(p, d, &mut out)?;
        }
        0
    } else if decided.is_empty() && std::io::stdin().is_terminal() {
        prompt(&rest, &mut std::io::stdin().lock(), &mut out)?
    } else if decided.is_empty() {
        for p in &rest {
            write!(out, "{}", snapshot::review_diff(p)?)?;
        }
        writeln!(
            out,
            "{} pending snapshot(s): decide with --accept PATH / --reject PATH, --accept-all / --reject-all, or review on a terminal to be asked about each",
            rest.len()
        )?;
        rest.len()
    } else {
        for p in &rest {
            writeln!(out, "still pending: {}", p.display())?;
        }
        rest.len()
    };
    Ok(if left == 0 {
        exit_codes::OK
    } else {
        exit_codes::FINDINGS
    })
}

/// Asks about each pending snapshot in turn — its diff, then accept (a), reject (r) or
/// skip (s) — and returns how many stay pending. The end of input skips the rest.
fn prompt(
    pending: &[PathBuf],
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> std::io::Result<usize> {
    let mut left = 0;
    for (i, p) in pending.iter().enumerate() {
        write!(out, "{}", snapshot::review_diff(p)?)?;
        loop {
            write!(
                out,
                "[{}/{}] {}: accept (a), reject (r) or skip (s)? ",
                i + 1,
                pending.len(),
                p.display()
            )?;
            out.flush()?;
            let mut line = String::new();
            if input.read_line(&mut line)? == 0 {
                writeln!(out)?;
                return Ok(left + pending.len() - i);
            }
            match line.trim().to_ascii_lowercase().as_str() {
                "a" | "accept" => decide(p, Decision::Accept, out)?,
                "r" | "reject" => decide(p, Decision::Reject, out)?,
                "s" | "skip" => {
                    writeln!(out, "skipped {}", p.display())?;
                    left += 1;
                }
                _ => continue,
            }
            break;
        }
    }
    Ok(left)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending_files(dir: &Path, n: usize) -> Vec<PathBuf> {
        (0..n)
            .map(|i| {
                let snap = dir.join(format!("s{i}.snap"));
                std::fs::write(&snap, snapshot::file("kmsconform", "x", "old")).unwrap();
                let new = dir.join(format!("s{i}.snap.new"));
                std::fs::write(&new, snapshot::file("kmsconform", "x", "new")).unwrap();
                new
            })
            .collect()
    }

    #[test]
    fn prompting_accepts_rejects_and_skips_one_file_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let p = pending_files(dir.path(), 4);
        // An unknown answer asks again; the end of input leaves the rest pending.
        let mut input = std::io::Cursor::new("a\nwhat\nr\ns\n");
        let mut out = Vec::new();
        let left = prompt(&p, &mut input, &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(left, 2, "{out}");
        assert!(out.contains("[1/4]") && out.contains("accept (a), reject (r) or skip (s)? "));
        assert_eq!(out.matches("[2/4]").count(), 2, "asked again: {out}");
        assert!(out.contains("-new") || out.contains("+new"), "{out}");
        let read =
            |i: usize| std::fs::read_to_string(dir.path().join(format!("s{i}.snap"))).unwrap();
        assert!(read(0).ends_with("new\n") && !p[0].exists(), "accepted");
        assert!(read(1).ends_with("old\n") && !p[1].exists(), "rejected");
        assert!(read(2).ends_with("old\n") && p[2].exists(), "skipped");
        assert!(p[3].exists(), "left at the end of input");
    }

    #[test]
    fn a_path_names_its_pending_file_either_way() {
        let dir = tempfile::tempdir().unwrap();
        let p = pending_files(dir.path(), 2);
        let by_snap = named(&dir.path().join("s0.snap")).unwrap();
        assert_eq!(by_snap, vec![p[0].clone()]);
        assert_eq!(named(&p[1]).unwrap(), vec![p[1].clone()]);
        assert_eq!(named(dir.path()).unwrap().len(), 2);
        assert!(named(&dir.path().join("nothing.snap")).is_err());
    }
}
