//! `kmsconform run`, `replay` and `bench`: flags → a checked plan → a session → reports.
//! Everything that can be wrong with the input is found before the first request.

use super::args::{at_least_one, parse_versions, runtime, ApiArgs, TargetArgs};
use super::{CliError, Outcome};
use crate::check::Selection;
use crate::exit_codes;
use crate::report::{self, summary, Report};
use crate::run::session::{Inputs, RunPlan, Session};
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub api: ApiArgs,
    /// `all`, a comma-separated list (1.0,1.3) or a range (1.0..1.3); repeats are dropped.
    #[arg(long, default_value = "all")]
    pub versions: String,
    /// Suites to run (repeatable); `generated` names the spec-generated cases. Default: all.
    #[arg(long = "suite")]
    pub suites: Vec<String>,
    /// Only these checks (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    pub checks: Option<Vec<String>>,
    /// Skip these checks (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    pub exclude_checks: Vec<String>,
    /// Valid cases generated per operation and version (at least 1).
    #[arg(long, default_value_t = 10)]
    pub cases: usize,
    /// Seed of case generation: same seed, same cases.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Mixed into generated resource names (default: a fresh one per run, so runs against
    /// one long-lived target never collide). A replay passes the run's own.
    #[arg(long)]
    pub run_id: Option<String>,
    /// Requests in flight at once within a version (at least 1).
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Write the reports (see --format) here; created and checked before anything is sent.
    #[arg(long)]
    pub report_dir: Option<PathBuf>,
    /// Suite snapshots: check (default for the embedded target without faults or variants),
    /// update, or off (default otherwise).
    #[arg(long, value_enum)]
    pub snapshots: Option<crate::compare::snapshot::Mode>,
    /// Snapshot directory; default snapshots/<api>.
    #[arg(long)]
    pub snapshot_dir: Option<PathBuf>,
    /// Run one deterministic shard of the work: K/N (operations and suites per version).
    #[arg(long, value_parser = parse_partition)]
    pub partition: Option<(u32, u32)>,
    /// Advisories (findings whose expectation is our assumption) fail the gate too.
    #[arg(long)]
    pub strict: bool,
    /// Record every exchange as HAR 1.2 into FILE (secrets redacted); `check-traffic`
    /// re-checks it offline.
    #[arg(long, value_name = "FILE.har")]
    pub record: Option<PathBuf>,
    #[command(flatten)]
    pub gate: super::report_cmd::GateArgs,
    #[command(flatten)]
    pub controls: ControlArgs,
}

/// Which operations, how long a response may take, and how the terminal shows the run.
#[derive(Debug, Args, Clone, Default)]
pub struct ControlArgs {
    /// Only the operations whose operationId matches GLOB (`*` any run of characters, `?`
    /// one; repeatable). A suite that calls any other operation is not run (counted as
    /// skipped in the coverage). A glob that matches no operation of the selected versions
    /// is an error.
    #[arg(long = "include-operation", value_name = "GLOB")]
    pub include_operations: Vec<String>,
    /// Leave out the operations whose operationId matches GLOB (repeatable; wins over
    /// --include-operation), and the suites that call one (counted as skipped).
    #[arg(long = "exclude-operation", value_name = "GLOB")]
    pub exclude_operations: Vec<String>,
    /// The `max_response_time` check: a response that takes longer than MS milliseconds
    /// (from sending to the end of its body) is a finding. Its basis is `required` (your own
    /// limit, not the vendor's): it fails the gate.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_response_time: Option<u64>,
    /// Print every case the run would send (case id, method and path, body, label; secret
    /// fields redacted, values only a response can give as {{templates}}), then exit 0
    /// without starting or sending anything. Honours the operation and suite filters.
    #[arg(long)]
    pub list_cases: bool,
    /// Colours on the terminal: auto (only on a terminal, and not when NO_COLOR is set to
    /// anything non-empty), always, never. Report files are never coloured.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print only the verdict line and errors (no table, no findings, no progress).
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also print one line per exchange as it completes, on stderr (case, method, path,
    /// status and time, or the transport problem; nothing secret).
    #[arg(short, long)]
    pub verbose: bool,
    /// Read defaults from this TOML file instead of ./kmsconform.toml: keys are the long
    /// flag names (`rate-limit = "10/s"`, `header = ["X-A: b"]`); flags given win.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour a stream that is (`tty`) or is not a terminal: `always` and `never`
    /// say so; `auto` colours a terminal unless NO_COLOR is set to a non-empty value.
    pub fn enabled(self, tty: bool) -> bool {
        self.decide(std::env::var_os("NO_COLOR").as_deref(), tty)
    }

    pub fn decide(self, no_color: Option<&std::ffi::OsStr>, tty: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && no_color.is_none_or(|v| v.is_empty()),
        }
    }
}

fn parse_partition(s: &str) -> Result<(u32, u32), String> {
    let (k, n) = s.split_once('/').ok_or("expected K/N, e.g. 1/3")?;
    let (k, n): (u32, u32) = (
        k.parse().map_err(|_| "K is not a number")?,
        n.parse().map_err(|_| "N is not a number")?,
    );
    if n == 0 || k == 0 || k > n {
        return Err(format!("{s}: need 1 <= K <= N"));
    }
    Ok((k, n))
}

impl RunArgs {
    /// `kmsconform replay` with every flag that shapes a case (the case id follows).
    fn replay_prefix(&self, seed: u64, run_id: &str) -> String {
        let mut argv: Vec<String> = vec!["kmsconform".into(), "replay".into()];
        argv.extend(["--api".into(), self.api.api.clone()]);
        argv.extend(self.target.replay_flags());
        let http = self.target.http.replay_words();
        if let Some(d) = &self.api.spec_dir {
            argv.extend(["--spec-dir".into(), d.display().to_string()]);
        }
        if let Some(d) = &self.api.suites_dir {
            argv.extend(["--suites-dir".into(), d.display().to_string()]);
        }
        argv.extend([
            "--seed".into(),
            seed.to_string(),
            "--run-id".into(),
            run_id.into(),
        ]);
        if self.cases != 10 {
            argv.extend(["--cases".into(), self.cases.to_string()]);
        }
        if self.strict {
            argv.push("--strict".into());
        }
        if let Some(ms) = self.controls.max_response_time {
            argv.extend(["--max-response-time".into(), ms.to_string()]);
        }
        argv.iter()
            .map(|a| {
                if a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=,".contains(c))
                {
                    a.clone()
                } else {
                    crate::target::shell_quote(a)
                }
            })
            .chain(http)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

pub fn run_cmd(a: RunArgs, case_filter: Option<String>) -> Outcome {
    // A sub-step's id (a finding's `case`) replays as the case that sends it.
    let case_filter = case_filter.map(|c| crate::run::record::replay_case(&c).to_string());
    // Preflight: every input is checked before anything starts or is sent.
    let set = a.api.load()?;
    let versions = match &case_filter {
        Some(case) => {
            let v = case.split('/').next().unwrap_or_default();
            parse_versions(v, &set).map_err(|_| {
                CliError::Input(format!(
                    "--case {case}: its version '{v}' is not in the registry"
                ))
            })?
        }
        None => parse_versions(&a.versions, &set)?,
    };
    let cases = at_least_one("cases", a.cases)?;
    let concurrency = at_least_one("concurrency", a.concurrency)?;
    let operations = crate::run::select::OperationFilter {
        include: a.controls.include_operations.clone(),
        exclude: a.controls.exclude_operations.clone(),
    };
    operations
        .validate(
            versions
                .iter()
                .filter_map(|v| set.get(v))
                .flat_map(|s| s.operations.iter().map(|o| o.operation_id.as_str())),
        )
        .map_err(CliError::Input)?;
    let selection = Selection::parse(a.checks.as_deref(), &a.exclude_checks)
        .map_err(|e| CliError::Input(e.to_string()))?;
    let known_failures: Vec<String> = a
        .gate
        .load_baseline()?
        .map(|b| b.known_failures.into_iter().map(|k| k.id).collect())
        .unwrap_or_default();
    if let Some(dir) = &a.report_dir {
        report::ensure_writable(dir, &a.gate.formats)
            .map_err(|e| CliError::Input(format!("--report-dir: {e}")))?;
    }
    // Streamed outputs are opened now: an unwritable path stops the run before it starts.
    let jsonl = match (
        &a.report_dir,
        a.gate.formats.iter().any(|f| f.is_streamed()),
    ) {
        (Some(dir), true) => {
            let path = dir.join(report::Format::Jsonl.file_name());
            let j = crate::run::event::JsonLines::create(&path).map_err(|e| {
                CliError::Input(format!(
                    "--report-dir: cannot write {}: {e}",
                    path.display()
                ))
            })?;
            Some(Arc::new(j))
        }
        (None, true) => {
            return Err(CliError::Input(
                "--format jsonl needs --report-dir (events.jsonl is written there)".into(),
            )
            .into())
        }
        _ => None,
    };
    let har = match &a.record {
        Some(path) => {
            check_recording_path(path)?;
            Some(Arc::new(crate::report::har::HarRecorder::default()))
        }
        None => None,
    };
    let target = a.target.spec(&a.api.api)?;
    let snapshot_dir = a
        .snapshot_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("snapshots").join(&a.api.api));
    let (snapshots, snapshots_skipped) = snapshot_mode(&a, &case_filter, &snapshot_dir);
    if snapshots == crate::compare::snapshot::Mode::Update {
        report::ensure_writable_dir(&snapshot_dir)
            .map_err(|e| CliError::Input(format!("--snapshot-dir: {e}")))?;
    }
    let seed = a.seed;
    let run_id = a.run_id.clone().unwrap_or_else(crate::run::new_run_id);
    let interrupt = Arc::new(AtomicBool::new(false));
    let mut plan = RunPlan::new(&set, versions);
    plan.suites = a.suites.clone();
    plan.selection = selection;
    plan.cases = cases;
    plan.seed = seed;
    plan.run_id = run_id.clone();
    plan.concurrency = concurrency;
    plan.case_filter = case_filter.clone();
    plan.capture = snapshots != crate::compare::snapshot::Mode::Off;
    plan.partition = a.partition;
    plan.max_failures = a.gate.max_failures;
    plan.known_failures = known_failures;
    plan.strict = a.strict;
    plan.interrupt = Some(interrupt.clone());
    plan.replay_prefix = a.replay_prefix(seed, &run_id);
    plan.operations = operations;
    plan.max_response_ms = a.controls.max_response_time;
    if let Some(j) = &jsonl {
        plan.observers.push(j.clone());
    }
    if let Some(h) = &har {
        plan.observers.push(h.clone());
    }
    let inputs = Inputs::load(&set, &a.api.suites_dir(), &plan).map_err(CliError::from)?;
    if a.controls.list_cases {
        // Nothing is started or sent: fixtures known now are --param values only.
        let mut params = crate::run::template::Bindings::new();
        for (k, v) in &a.target.params {
            params.insert(k.clone(), serde_json::Value::String(v.clone()));
        }
        let listed =
            crate::run::list::list_cases(&set, &plan, &inputs, &params).map_err(CliError::Input)?;
        let mut out = String::new();
        for l in &listed {
            out.push_str(&l.to_string());
            out.push('\n');
        }
        print!("{out}");
        eprintln!("{} case(s); nothing was sent", listed.len());
        return Ok(exit_codes::OK);
    }
    let style = summary::Style {
        color: a.controls.color.enabled(std::io::stdout().is_terminal()),
        quiet: a.controls.quiet,
    };
    if a.controls.verbose {
        let color = a.controls.color.enabled(std::io::stderr().is_terminal());
        plan.observers
            .push(Arc::new(crate::run::event::ExchangeLog::new(
                Box::new(std::io::stderr()),
                color,
            )));
    }
    let creds = a.target.credentials.resolve(&set);
    let rt = runtime()?;
    rt.block_on(async {
        let session = Session::open(&set, &target, Some(creds))
            .await
            .map_err(CliError::from)?;
        // Ctrl-C stops sending cases (cleanup still runs); a second one stops at once.
        let flag = interrupt.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("interrupted: finishing the cases in flight, deleting what the run created, then reporting (Ctrl-C again to stop at once)");
                flag.store(true, Ordering::Relaxed);
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(exit_codes::INTERRUPTED);
                }
            }
        });
        // The progress line would fight -v's lines on stderr, and -q wants silence.
        if !a.controls.quiet && !a.controls.verbose {
            plan.progress = progress_bar();
        }
        let outcome = session.run(&plan, &inputs).await;
        if let Some(p) = &plan.progress {
            p.finish_and_clear();
        }
        let outcome = outcome.map_err(CliError::from)?;
        let mut report = Report::from_outcome(&outcome, &a.api.api, cases);
        report.meta.snapshots_skipped = snapshots_skipped;
        if snapshots != crate::compare::snapshot::Mode::Off {
            if outcome.interrupted || outcome.stopped_early {
                report.meta.snapshots_skipped =
                    Some("the run did not finish: no snapshot was compared or written".into());
            } else {
                super::snapshots_cmd::apply(&mut report, &snapshot_dir, &set, snapshots, &outcome)?;
            }
        }
        let scrubber = &outcome.scrubber;
        print!("{}", scrubber.scrub(&summary::render_styled(&report, &style)));
        if outcome.interrupted {
            println!("interrupted: the report covers the cases sent before Ctrl-C");
        } else if outcome.stopped_early {
            println!(
                "stopped early: more than {} gating finding(s) (--max-failures)",
                a.gate.max_failures.unwrap_or(0)
            );
        }
        if let Some(j) = &jsonl {
            match j.error() {
                Some(e) => eprintln!("warning: events.jsonl is incomplete: {e}"),
                None if !a.controls.quiet => println!("wrote {}", j.path().display()),
                None => {}
            }
        }
        let code = a.gate.finish_with(
            report,
            a.report_dir.as_deref(),
            &|t| scrubber.scrub(t),
            a.controls.quiet,
        )?;
        // After the reports: a recording that cannot be written loses no verdict.
        if let (Some(h), Some(path)) = (&har, &a.record) {
            let text = scrubber.scrub(&h.har().to_json());
            report::write_atomic(path, text.as_bytes())?;
            if !a.controls.quiet {
                println!("wrote {} ({} exchanges)", path.display(), h.len());
            }
        }
        Ok(if outcome.interrupted {
            exit_codes::INTERRUPTED
        } else {
            code
        })
    })
}

/// The recording's directory exists and takes a file, and no directory is in the way.
fn check_recording_path(path: &std::path::Path) -> Result<(), CliError> {
    if path.is_dir() {
        return Err(CliError::Input(format!(
            "--record {}: is a directory",
            path.display()
        )));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    report::ensure_writable_dir(&dir).map_err(|e| CliError::Input(format!("--record: {e}")))?;
    Ok(())
}

/// Snapshots record the correct reference: they are checked by default only on the
/// fault- and variant-free embedded target, for a whole run. Returns the mode and, when a
/// default check is skipped, why (the report says so).
fn snapshot_mode(
    a: &RunArgs,
    case_filter: &Option<String>,
    dir: &std::path::Path,
) -> (crate::compare::snapshot::Mode, Option<String>) {
    use crate::compare::snapshot::Mode;
    if let Some(m) = a.snapshots {
        return (m, None);
    }
    let why = if !a.target.is_embedded() {
        Some("the target is not the embedded reference (use --snapshots check to compare anyway)")
    } else if !dir.is_dir() {
        Some("no snapshot directory")
    } else if !a.target.faults.is_empty() || !a.target.variants.is_empty() {
        Some("faults or variants change the reference's answers")
    } else if case_filter.is_some() {
        Some("a replay sends one case")
    } else if a.partition.is_some() {
        Some("a shard runs part of each suite set")
    } else if !a.suites.is_empty() {
        Some("--suite selects part of the suites")
    } else {
        None
    };
    match why {
        None => (Mode::Check, None),
        Some(w) => (Mode::Off, Some(w.to_string())),
    }
}

fn progress_bar() -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let p = indicatif::ProgressBar::new_spinner();
    p.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
            .expect("static template"),
    );
    p.enable_steady_tick(Duration::from_millis(120));
    Some(p)
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Concurrent clients of the load test.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Requests per client.
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
    /// Also time this many default conformance runs (all versions, all suites).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Skip the load test: only the timed runs (so the peak RSS printed is theirs).
    #[arg(long)]
    pub no_load_test: bool,
    /// Where the embedded target's cryptography runs, for the load test and the runs:
    /// `local` (default) or `openbao=URL` (token from BAO_TOKEN, else VAULT_TOKEN).
    #[arg(long)]
    pub crypto: Option<String>,
    /// Only fuzz (no load test, no runs): N generated responses through the response checks,
    /// each against an operation of the newest version and a claim; prints executions/s.
    #[arg(long, value_name = "N")]
    pub fuzz: Option<u32>,
    /// Seed of --fuzz.
    #[arg(long, default_value_t = 1)]
    pub fuzz_seed: u64,
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Load test of the embedded target, then `runs` timed default conformance runs and one of
/// the generated cases alone.
pub fn bench_cmd(a: BenchArgs) -> Outcome {
    let set = a.api.load()?;
    let choice = super::args::parse_crypto(a.crypto.as_deref())?;
    let crypto = choice.resolve().map_err(CliError::Input)?;
    if let Some(n) = a.fuzz {
        let spec = set.latest();
        let stats = crate::check::fuzz::fuzz_responses(spec, &set.profile, n, a.fuzz_seed)
            .map_err(|f| CliError::Internal(f.to_string()))?;
        println!(
            "fuzz: {} executions of check_response ({} operations of {} x {} claims, seed {}) in {:.2} s = {:.0} executions/s; {} failures rendered; no panic",
            stats.executions,
            spec.operations.len(),
            spec.version,
            crate::check::fuzz::claims().len(),
            a.fuzz_seed,
            stats.elapsed.as_secs_f64(),
            stats.per_second(),
            stats.failures_rendered
        );
        return Ok(exit_codes::OK);
    }
    let rt = runtime()?;
    rt.block_on(async {
        let cfg = crate::reference::Config {
            crypto,
            ..Default::default()
        };
        let engine = crate::reference::check_crypto(&cfg)
            .await
            .map_err(|e| CliError::Unusable(format!("the crypto engine: {e}")))?;
        println!("crypto: {engine}");
        let creds = cfg.credentials.clone();
        let mut ok = true;
        if !a.no_load_test {
            let server =
                crate::reference::spawn(cfg, "127.0.0.1:0".parse().expect("loopback address"))
                    .await
                    .map_err(|e| {
                        CliError::Internal(format!("cannot start the embedded target: {e:#}"))
                    })?;
            let r = crate::reference::load_test(&server.base_url(), &creds, a.clients, a.requests)
                .await?;
            let secs = r.elapsed.as_secs_f64();
            println!(
                "load test: {} clients x {} requests: {} requests in {:.2} s = {:.0} req/s; 5xx {}, lost updates {}, round-trip failures {}, unexpected status {}",
                a.clients, a.requests, r.requests, secs, r.requests as f64 / secs.max(1e-9), r.status_5xx, r.lost_updates, r.roundtrip_failures, r.unexpected_status
            );
            server.shutdown().await;
            ok = r.status_5xx == 0 && r.lost_updates == 0 && r.roundtrip_failures == 0;
        }
        let plans: Vec<(String, Vec<String>)> = (1..=a.runs)
            .map(|i| (format!("default run {i}"), vec![]))
            .chain([("generated cases".to_string(), vec!["generated".to_string()])])
            .collect();
        let target = crate::run::session::TargetSpec {
            kind: crate::run::session::TargetKind::Embedded(crate::reference::embedded::Options {
                crypto: choice.clone(),
                ..Default::default()
            }),
            ..crate::run::session::TargetSpec::embedded()
        };
        for (label, suites) in plans {
            let mut plan = RunPlan::new(&set, set.version_ids().map(String::from).collect());
            plan.suites = suites;
            let inputs = Inputs::load(&set, &a.api.suites_dir(), &plan).map_err(CliError::from)?;
            let session = Session::open(&set, &target, None).await.map_err(CliError::from)?;
            let o = session.run(&plan, &inputs).await.map_err(CliError::from)?;
            let secs = o.elapsed.as_secs_f64();
            let n = o.collected.requests;
            let findings = &o.collected.findings;
            println!(
                "{label}: {n} validated requests in {secs:.2} s = {:.0} req/s, {} failures, {} advisories",
                n as f64 / secs.max(1e-9),
                findings.iter().filter(|f| !f.advisory).count(),
                findings.iter().filter(|f| f.advisory).count()
            );
        }
        if let Some(kb) = peak_rss_kb() {
            println!("peak RSS of this process: {:.1} MB", kb as f64 / 1024.0);
        }
        Ok(if ok { exit_codes::OK } else { exit_codes::FINDINGS })
    })
}

/// The process's peak resident set (VmHWM), where /proc has it.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
