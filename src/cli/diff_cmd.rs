//! `kmsconform diff` (cross-version, cross-target), snapshot handling for `run`, and
//! `kmsconform snapshots review`.

use super::run_cmd::{open_target, runtime, spec_dir, AccessArgs, TargetArgs};
use super::{CodedError, Outcome};
use crate::check::Selection;
use crate::compare::{self, snapshot, Normalizer};
use crate::exit_codes;
use crate::report::{summary, Report};
use crate::run::record::{Exchange, Finding};
use crate::run::{self, RunError, RunOptions};
use crate::spec::SpecSet;
use anyhow::Context;
use clap::Args;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Cross-version: a range (`1.0..1.3`) or a list (`1.1,1.3`) of versions to compare in order.
    #[arg(long, conflicts_with_all = ["baseline", "candidate"])]
    pub versions: Option<String>,
    /// Target for the cross-version diff.
    #[arg(long, default_value = "embedded")]
    pub target: String,
    /// Cross-target: the reference target (`embedded` or a URL), exercised twice.
    #[arg(long, requires = "candidate")]
    pub baseline: Option<String>,
    /// Cross-target: the target under test.
    #[arg(long, requires = "baseline")]
    pub candidate: Option<String>,
    /// Faults for an embedded target (cross-version) or the embedded candidate (cross-target).
    #[arg(long = "fault")]
    pub faults: Vec<String>,
    /// Versions exercised in a cross-target diff.
    #[arg(long = "target-versions", default_value = "all")]
    pub target_versions: String,
    /// A path is reported when (candidate disagreements − baseline disagreements) / cases
    /// exceeds this rate.
    #[arg(long, default_value_t = 0.0)]
    pub threshold: f64,
    #[arg(long, default_value = "scp-kms")]
    pub api: String,
    #[arg(long)]
    pub spec_dir: Option<PathBuf>,
    #[arg(long)]
    pub suites_dir: Option<PathBuf>,
    #[arg(long, default_value_t = 3)]
    pub cases: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[command(flatten)]
    pub access: AccessArgs,
    /// Write the reports here (diff findings join the run's findings).
    #[arg(long)]
    pub report_dir: Option<PathBuf>,
    /// Report formats written into --report-dir (repeatable).
    #[arg(long = "format", value_enum, default_values_t = [crate::report::Format::Json])]
    pub formats: Vec<crate::report::Format>,
    /// Known failures (`kmsconform baseline write`); here `--baseline` names a target.
    #[arg(long)]
    pub known_failures: Option<PathBuf>,
    #[arg(long)]
    pub max_failures: Option<usize>,
}

impl DiffArgs {
    fn target_args(&self, target: &str, faults: Vec<String>) -> TargetArgs {
        TargetArgs {
            target: target.into(),
            faults,
            variants: vec![],
            access: self.access.clone(),
        }
    }
}

/// `1.0..1.3` → every registry version in that range; `1.1,1.3` → those.
pub fn parse_versions(spec: &str, set: &SpecSet) -> anyhow::Result<Vec<String>> {
    let all: Vec<String> = set.versions().map(String::from).collect();
    let out: Vec<String> = if spec == "all" {
        all.clone()
    } else if let Some((a, b)) = spec.split_once("..") {
        let pos = |v: &str| {
            all.iter().position(|x| x == v).ok_or_else(|| {
                anyhow::anyhow!(
                    "version {v} is not in the registry (have {})",
                    all.join(", ")
                )
            })
        };
        let (i, j) = (pos(a.trim())?, pos(b.trim())?);
        if i >= j {
            anyhow::bail!("--versions {spec}: the range must go from an older to a newer version");
        }
        all[i..=j].to_vec()
    } else {
        spec.split(',').map(|s| s.trim().to_string()).collect()
    };
    for v in &out {
        if !all.contains(v) {
            anyhow::bail!(
                "version {v} is not in the registry (have {})",
                all.join(", ")
            );
        }
    }
    Ok(out)
}

/// What a transcript run exercises.
pub struct Exercise<'a> {
    pub set: &'a SpecSet,
    pub suites_dir: PathBuf,
    pub cases: usize,
    pub seed: u64,
}

impl<'a> Exercise<'a> {
    fn of(set: &'a SpecSet, a: &DiffArgs) -> Self {
        Exercise {
            set,
            suites_dir: a
                .suites_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("suites").join(&a.api)),
            cases: a.cases,
            seed: a.seed,
        }
    }
}

/// One deterministic run (concurrency 1) on a fresh target, with its transcript.
pub async fn transcript_run(
    ex: &Exercise<'_>,
    t: &TargetArgs,
    versions: Vec<String>,
    salt: &str,
) -> anyhow::Result<(run::RunOutcome, Vec<Exchange>)> {
    let set = ex.set;
    let target = open_target(t).await?;
    let opts = RunOptions {
        spec_dir: set.dir.clone(),
        suites_dir: ex.suites_dir.clone(),
        versions,
        suites: vec![],
        selection: Selection::default(),
        cases: ex.cases,
        seed: ex.seed,
        concurrency: 1,
        case_filter: None,
        capture: true,
        name_salt: salt.into(),
        partition: None,
        max_failures: None,
        known_failures: vec![],
        interrupt: None,
    };
    let outcome = run::run(set, &target.client, &opts, None)
        .await
        .map_err(|e| match e {
            RunError::Unreachable(m) => anyhow::Error::new(CodedError {
                code: exit_codes::UNREACHABLE,
                message: format!("target unreachable: {m}"),
            }),
            RunError::Config(m) => anyhow::anyhow!(m),
        })?;
    let t = outcome.recorder.transcript();
    Ok((outcome, t))
}

pub fn diff_cmd(a: DiffArgs) -> Outcome {
    let set = SpecSet::load(&spec_dir(&a.api, &a.spec_dir))?;
    let latest = set.docs.values().last().expect("a spec set has versions");
    let normalizer = Normalizer::from_spec(latest)
        .map_err(|e| anyhow::anyhow!(e))?
        .with_versions(set.versions());
    let rt = runtime()?;
    rt.block_on(async {
        let (mut report, diffs) = match (&a.baseline, &a.candidate) {
            (Some(b), Some(c)) => cross_target(&set, &a, b, c).await?,
            _ => cross_version(&set, &a, &normalizer).await?,
        };
        for f in diffs {
            report.push(f);
        }
        print!("{}", summary::render(&report));
        let gate = super::report_cmd::GateArgs {
            formats: a.formats.clone(),
            baseline: a.known_failures.clone(),
            max_failures: a.max_failures,
        };
        gate.finish(report, a.report_dir.as_deref())
    })
}

async fn cross_version(
    set: &SpecSet,
    a: &DiffArgs,
    normalizer: &Normalizer,
) -> anyhow::Result<(Report, Vec<Finding>)> {
    let chain = parse_versions(a.versions.as_deref().unwrap_or("all"), set)?;
    if chain.len() < 2 {
        anyhow::bail!("a cross-version diff needs at least two versions");
    }
    // Each version on a fresh embedded target (same starting state); a URL target is shared.
    let mut transcripts = BTreeMap::new();
    let mut merged: Option<Report> = None;
    for v in &chain {
        let t = a.target_args(&a.target, a.faults.clone());
        let (outcome, tr) = transcript_run(
            &Exercise::of(set, a),
            &t,
            vec![v.clone()],
            &format!("v{v}-"),
        )
        .await?;
        let r = Report::from_outcome(&outcome, &a.api, &a.target, a.cases);
        merged = Some(match merged {
            None => r,
            Some(mut m) => {
                m.meta.versions.extend(r.meta.versions);
                m.meta.requests += r.meta.requests;
                m.meta.duration_ms += r.meta.duration_ms;
                m.counts.extend(r.counts);
                m.findings.extend(r.findings);
                m
            }
        });
        transcripts.insert(v.clone(), normalizer.transcript(&tr));
    }
    let vr = compare::versions::compare(&set.registry, &transcripts, &chain);
    println!("cross-version diff over {}:", chain.join(" → "));
    for d in &vr.declared {
        println!(
            "  declared {} {} → {}: {} {} — seen in {}/{} comparable case(s)",
            d.change.id,
            d.from,
            d.to,
            d.change.operation,
            d.change.location.as_deref().unwrap_or(""),
            d.observed,
            d.comparable
        );
    }
    let mut findings = Vec::new();
    for d in &vr.differences {
        println!("  ✗ {}: {}\n{}", d.kind, d.text, indent(&d.diff));
        findings.push(Finding::comparison(
            "version_diff",
            &d.operation,
            &d.to,
            &format!("{}..{} {}", d.from, d.to, d.case),
            a.seed,
            format!("{}: {}", d.kind, d.text),
            "only the differences versions.json declares".into(),
            d.diff.clone(),
        ));
    }
    let mut report = merged.expect("at least two versions ran");
    for d in &vr.declared {
        report.count("version_diff", &d.change.operation, &d.to, true);
    }
    Ok((report, findings))
}

async fn cross_target(
    set: &SpecSet,
    a: &DiffArgs,
    baseline: &str,
    candidate: &str,
) -> anyhow::Result<(Report, Vec<Finding>)> {
    let versions = parse_versions(&a.target_versions, set)?;
    let names_only = Normalizer::default();
    let tb = a.target_args(baseline, vec![]);
    let tc = a.target_args(candidate, a.faults.clone());
    let (o1, b1) = transcript_run(&Exercise::of(set, a), &tb, versions.clone(), "b1-").await?;
    let (_, b2) = transcript_run(&Exercise::of(set, a), &tb, versions.clone(), "b2-").await?;
    let (oc, c) = transcript_run(&Exercise::of(set, a), &tc, versions.clone(), "c-").await?;
    let diffs = compare::targets::compare(
        &names_only.transcript(&b1),
        &names_only.transcript(&b2),
        &names_only.transcript(&c),
        a.threshold,
    );
    println!(
        "cross-target diff: baseline {baseline} (twice) vs candidate {candidate}, threshold {}",
        a.threshold
    );
    let mut findings = Vec::new();
    for d in &diffs {
        println!(
            "  ✗ {} {}: candidate differs in {}/{} case(s), baseline noise {}/{}\n{}",
            d.operation,
            d.location,
            d.differing,
            d.compared,
            d.noise,
            d.compared,
            indent(&d.example_diff)
        );
        findings.push(Finding::comparison(
            "target_diff",
            &d.operation,
            d.example_case.split('/').next().unwrap_or(""),
            &d.example_case,
            a.seed,
            format!(
                "target_diff: {} {} differs from the baseline in {}/{} case(s) (baseline noise {})",
                d.operation, d.location, d.differing, d.compared, d.noise
            ),
            format!("{} as on the baseline", d.location),
            d.example_diff.clone(),
        ));
    }
    let _ = o1;
    let report = Report::from_outcome(&oc, &a.api, candidate, a.cases);
    Ok((report, findings))
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("      {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Snapshot stage of `run`: compare suite transcripts with `snapshots/<api>/`, add findings.
pub fn apply_snapshots(
    report: &mut Report,
    dir: &Path,
    api: &str,
    mode: snapshot::Mode,
    set: &SpecSet,
    transcript: &[Exchange],
) -> anyhow::Result<()> {
    if mode == snapshot::Mode::Off {
        return Ok(());
    }
    let latest = set.docs.values().last().expect("versions");
    let normalizer = Normalizer::from_spec(latest).map_err(|e| anyhow::anyhow!(e))?;
    let results = snapshot::process(dir, api, mode, &normalizer.transcript(transcript))
        .with_context(|| format!("snapshots in {}", dir.display()))?;
    for r in results {
        let op = format!("suite/{}", r.suite);
        match r.outcome {
            snapshot::Outcome::Matched | snapshot::Outcome::Written => {
                report.count("snapshot_conformance", &op, &r.version, true)
            }
            snapshot::Outcome::Missing => report.push(Finding::comparison(
                "snapshot_conformance",
                &op,
                &r.version,
                &format!("{}/suite/{}", r.version, r.suite),
                report.meta.seed,
                format!(
                    "no snapshot recorded at {} (pending .snap.new written)",
                    r.path.display()
                ),
                "a recorded snapshot".into(),
                "none; review with `kmsconform snapshots review`".into(),
            )),
            snapshot::Outcome::Changed(d) => report.push(Finding::comparison(
                "snapshot_conformance",
                &op,
                &r.version,
                &format!("{}/suite/{}", r.version, r.suite),
                report.meta.seed,
                format!(
                    "suite {} on {} differs from {}",
                    r.suite,
                    r.version,
                    r.path.display()
                ),
                "the recorded snapshot".into(),
                d,
            )),
        }
    }
    Ok(())
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

pub fn review_cmd(a: ReviewArgs) -> Outcome {
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
