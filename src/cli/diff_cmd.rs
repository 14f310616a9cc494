//! `kmsconform diff`: cross-version (declared vs undeclared differences) and cross-target
//! (noise-cancelled) comparisons, both over sessions with a transcript.

use super::args::{at_least_one, parse_versions, runtime, ApiArgs, CredentialArgs};
use super::{CliError, Outcome};
use crate::check::{Actual, CheckId, Expected, Failure};
use crate::compare::{self, Normalizer};
use crate::report::{summary, Report};
use crate::run::record::{Exchange, Finding};
use crate::run::session::{Inputs, RunOutcome, RunPlan, Session, TargetKind, TargetSpec};
use crate::spec::SpecSet;
use crate::target::http::ClientOptions;
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

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
    /// Variants for an embedded target (cross-version) or the embedded candidate.
    #[arg(long = "variant")]
    pub variants: Vec<String>,
    /// Crypto engine of an embedded target (cross-version) or the embedded candidate:
    /// `local` or `openbao=URL` (token from BAO_TOKEN, else VAULT_TOKEN).
    #[arg(long)]
    pub crypto: Option<String>,
    /// Versions exercised in a cross-target diff.
    #[arg(long = "target-versions", default_value = "all")]
    pub target_versions: String,
    /// A path is reported when (candidate disagreements − baseline disagreements) / cases
    /// exceeds this rate.
    #[arg(long, default_value_t = 0.0)]
    pub threshold: f64,
    #[command(flatten)]
    pub api: ApiArgs,
    /// Valid cases per operation (at least 1).
    #[arg(long, default_value_t = 3)]
    pub cases: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[command(flatten)]
    pub credentials: CredentialArgs,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// Fixtures the suites name (`NAME=VALUE`, repeatable; see `run --param`).
    #[arg(long = "param", value_parser = super::args::parse_param)]
    pub params: Vec<(String, String)>,
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
    /// Advisories fail the gate too.
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub http: super::args::HttpArgs,
    /// Read defaults from this TOML file instead of ./kmsconform.toml (flags win).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl DiffArgs {
    fn target(
        &self,
        target: &str,
        faults: &[String],
        variants: &[String],
        crypto: Option<&str>,
    ) -> Result<TargetSpec, CliError> {
        let t = super::args::TargetArgs {
            target: target.into(),
            faults: faults.to_vec(),
            variants: variants.to_vec(),
            crypto: crypto.map(str::to_string),
            credentials: self.credentials.clone(),
            timeout: self.timeout,
            params: self.params.clone(),
            http: self.http.clone(),
        };
        t.spec(&self.api.api)
    }
}

/// What a transcript run exercises.
pub struct Exercise<'a> {
    pub set: &'a SpecSet,
    pub suites_dir: PathBuf,
    pub cases: usize,
    pub seed: u64,
    pub creds: Option<crate::target::sign::CredentialSet>,
}

/// One deterministic run (concurrency 1) with its transcript, on `target` (an embedded
/// target is started afresh, so every run starts from the same state).
pub async fn transcript_run(
    ex: &Exercise<'_>,
    target: &TargetSpec,
    versions: Vec<String>,
    run_id: &str,
) -> Result<(RunOutcome, Vec<Exchange>), CliError> {
    let mut plan = RunPlan::new(ex.set, versions);
    plan.cases = ex.cases;
    plan.seed = ex.seed;
    plan.run_id = run_id.into();
    plan.concurrency = 1;
    plan.capture = true;
    let inputs = Inputs::load(ex.set, &ex.suites_dir, &plan)?;
    let session = Session::open(ex.set, target, ex.creds.clone()).await?;
    let mut outcome = session.run(&plan, &inputs).await?;
    let t = std::mem::take(&mut outcome.transcript);
    Ok((outcome, t))
}

pub fn diff_cmd(a: DiffArgs) -> Outcome {
    let set = a.api.load()?;
    at_least_one("cases", a.cases)?;
    let normalizer = Normalizer::from_spec(&set.latest().doc, &set.profile)
        .map_err(CliError::Input)?
        .with_versions(set.version_ids());
    if let Some(dir) = &a.report_dir {
        crate::report::ensure_writable(dir, &a.formats)
            .map_err(|e| CliError::Input(format!("--report-dir: {e}")))?;
    }
    let gate = super::report_cmd::GateArgs {
        formats: a.formats.clone(),
        baseline: a.known_failures.clone(),
        max_failures: a.max_failures,
    };
    gate.only_rendered("diff")?;
    gate.load_baseline()?;
    let rt = runtime()?;
    rt.block_on(async {
        let (mut report, diffs) = match (&a.baseline, &a.candidate) {
            (Some(b), Some(c)) => cross_target(&set, &a, b, c).await?,
            _ => cross_version(&set, &a, &normalizer).await?,
        };
        report.meta.strict = a.strict;
        for f in diffs {
            report.push(f);
        }
        print!("{}", summary::render(&report));
        gate.finish(report, a.report_dir.as_deref(), &|t| t.to_string())
    })
}

fn exercise<'a>(set: &'a SpecSet, a: &DiffArgs) -> Exercise<'a> {
    Exercise {
        set,
        suites_dir: a.api.suites_dir(),
        cases: a.cases,
        seed: a.seed,
        creds: Some(a.credentials.resolve(set)),
    }
}

fn merge_into(merged: &mut Option<Report>, r: Report) {
    match merged {
        None => *merged = Some(r),
        Some(m) => {
            m.meta.versions.extend(r.meta.versions);
            m.meta.requests += r.meta.requests;
            m.meta.duration_ms += r.meta.duration_ms;
            m.counts.extend(r.counts);
            m.findings.extend(r.findings);
            m.transport_problems.extend(r.transport_problems);
            m.coverage.extend(r.coverage);
            m.leftovers.extend(r.leftovers);
        }
    }
}

async fn cross_version(
    set: &SpecSet,
    a: &DiffArgs,
    normalizer: &Normalizer,
) -> Result<(Report, Vec<Finding>), CliError> {
    let chain = parse_versions(a.versions.as_deref().unwrap_or("all"), set)?;
    if chain.len() < 2 {
        return Err(CliError::Input(
            "a cross-version diff needs at least two versions".into(),
        ));
    }
    let target = a.target(&a.target, &a.faults, &a.variants, a.crypto.as_deref())?;
    // Each version on a fresh embedded target (same starting state); a URL target is shared.
    let mut transcripts = BTreeMap::new();
    let mut merged: Option<Report> = None;
    let ex = exercise(set, a);
    for v in &chain {
        let (outcome, tr) = transcript_run(
            &ex,
            &target,
            vec![v.clone()],
            &format!("v{}", v.replace('.', "")),
        )
        .await?;
        merge_into(
            &mut merged,
            Report::from_outcome(&outcome, set.api(), a.cases),
        );
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
            Failure::new(
                CheckId::VersionDiff,
                Expected::DeclaredDifferencesOnly,
                Actual::Diff {
                    diff: d.diff.clone(),
                },
            ),
            &d.operation,
            &d.to,
            &format!("{}..{} {}", d.from, d.to, d.case),
            format!("{}: {}", d.kind, d.text),
            a.seed,
        ));
    }
    let mut report = merged.expect("at least two versions ran");
    for d in &vr.declared {
        report.count(CheckId::VersionDiff.id(), &d.change.operation, &d.to, None);
    }
    Ok((report, findings))
}

async fn cross_target(
    set: &SpecSet,
    a: &DiffArgs,
    baseline: &str,
    candidate: &str,
) -> Result<(Report, Vec<Finding>), CliError> {
    let versions = parse_versions(&a.target_versions, set)?;
    let names_only = Normalizer::names_only(&set.profile);
    let tb = a.target(baseline, &[], &[], None)?;
    let tc = a.target(candidate, &a.faults, &a.variants, a.crypto.as_deref())?;
    let ex = exercise(set, a);
    let (_, b1) = transcript_run(&ex, &tb, versions.clone(), "b1").await?;
    let (_, b2) = transcript_run(&ex, &tb, versions.clone(), "b2").await?;
    let (oc, c) = transcript_run(&ex, &tc, versions.clone(), "c").await?;
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
            Failure::new(
                CheckId::TargetDiff,
                Expected::LikeBaseline {
                    location: d.location.clone(),
                },
                Actual::Diff {
                    diff: d.example_diff.clone(),
                },
            ),
            &d.operation,
            d.example_case.split('/').next().unwrap_or(""),
            &d.example_case,
            format!(
                "{} differs from the baseline in {}/{} case(s) (baseline noise {})",
                d.location, d.differing, d.compared, d.noise
            ),
            a.seed,
        ));
    }
    let mut report = Report::from_outcome(&oc, set.api(), a.cases);
    report.meta.target = candidate.into();
    Ok((report, findings))
}

/// A spec for an embedded target with faults/variants, or a URL (used by deprecations).
pub fn target_spec(kind: TargetKind, timeout: u64) -> TargetSpec {
    TargetSpec {
        kind,
        client: ClientOptions {
            timeout: Duration::from_secs(timeout.max(1)),
            ..Default::default()
        },
        params: Default::default(),
    }
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("      {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
