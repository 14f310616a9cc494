//! `kmsconform run`, `replay`, `serve`, `checks`.

use super::{CodedError, Outcome};
use crate::check::Selection;
use crate::exit_codes;
use crate::reference::{self, Fault};
use crate::report::{summary, Report};
use crate::run::{self, RunError, RunOptions};
use crate::spec::SpecSet;
use crate::target::http::Client;
use crate::target::sign::{scp::ScpSigner, Credentials};
use anyhow::Context;
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How to reach and sign for a URL target (also used by diff and deprecations).
#[derive(Debug, Args, Clone, Default)]
pub struct AccessArgs {
    /// Access key for a URL target (signing).
    #[arg(long, env = "SCP_ACCESS_KEY", hide_env_values = true)]
    pub access_key: Option<String>,
    /// Secret key for a URL target; never written to any output.
    #[arg(long, env = "SCP_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Optional account id, part of the signed message.
    #[arg(
        long,
        env = "SCP_ACCOUNT_ID",
        default_value = "",
        hide_env_values = true
    )]
    pub account_id: String,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
}

#[derive(Debug, Args, Clone)]
pub struct TargetArgs {
    /// `embedded` (the built-in reference server on a loopback port) or a base URL.
    #[arg(long, default_value = "embedded")]
    pub target: String,
    /// Faults to switch on in the embedded target (see `kmsconform serve --list-faults`).
    #[arg(long = "fault")]
    pub faults: Vec<String>,
    #[command(flatten)]
    pub access: AccessArgs,
}

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// API id; specs come from specs/<api>, suites from suites/<api>.
    #[arg(long, default_value = "scp-kms")]
    pub api: String,
    /// Spec directory (default specs/<api>).
    #[arg(long)]
    pub spec_dir: Option<PathBuf>,
    /// Suite directory (default suites/<api>).
    #[arg(long)]
    pub suites_dir: Option<PathBuf>,
    /// `all` or a comma-separated list, e.g. 1.0,1.3.
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
    /// Valid cases generated per operation and version.
    #[arg(long, default_value_t = 10)]
    pub cases: usize,
    /// Seed of case generation and generated names: same seed, same cases.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Requests in flight at once within a version.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Write the reports (see --format) here.
    #[arg(long)]
    pub report_dir: Option<PathBuf>,
    /// Suite snapshots: check (default for the embedded target without faults), update, or
    /// off (default otherwise).
    #[arg(long, value_enum)]
    pub snapshots: Option<crate::compare::snapshot::Mode>,
    /// Snapshot directory; default snapshots/<api>.
    #[arg(long)]
    pub snapshot_dir: Option<PathBuf>,
    /// Run one deterministic shard of the work: K/N (operations and suites per version).
    #[arg(long, value_parser = parse_partition)]
    pub partition: Option<(u32, u32)>,
    #[command(flatten)]
    pub gate: super::report_cmd::GateArgs,
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

fn parse_faults(names: &[String]) -> anyhow::Result<Vec<Fault>> {
    names
        .iter()
        .map(|n| {
            n.parse::<Fault>()
                .map_err(|e| anyhow::anyhow!("{e} (see `kmsconform serve --list-faults`)"))
        })
        .collect()
}

/// A running target: the embedded server (kept alive by the guard) or a URL.
pub struct Target {
    pub client: Client,
    pub label: String,
    _server: Option<reference::RunningServer>,
}

pub async fn open_target(t: &TargetArgs) -> anyhow::Result<Target> {
    let faults = parse_faults(&t.faults)?;
    let timeout = Duration::from_secs(t.access.timeout.max(1));
    let (base, creds, server, label) = if t.target == "embedded" {
        let cfg = reference::Config {
            faults,
            ..Default::default()
        };
        let creds = cfg.credentials.clone();
        let server = reference::spawn(cfg, "127.0.0.1:0".parse().expect("loopback address"))
            .await
            .context("cannot start the embedded target")?;
        let label = if t.faults.is_empty() {
            "embedded".to_string()
        } else {
            format!("embedded (faults: {})", t.faults.join(","))
        };
        (server.base_url(), creds, Some(server), label)
    } else {
        if !faults.is_empty() {
            anyhow::bail!("--fault applies to the embedded target only");
        }
        let url = reqwest::Url::parse(&t.target).map_err(|e| {
            anyhow::anyhow!(
                "--target '{}' is neither 'embedded' nor a URL: {e}",
                t.target
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            anyhow::bail!(
                "--target '{}': only http and https URLs are supported",
                t.target
            );
        }
        let (Some(ak), Some(sk)) = (t.access.access_key.clone(), t.access.secret_key.clone())
        else {
            anyhow::bail!("a URL target needs credentials: set SCP_ACCESS_KEY and SCP_SECRET_KEY (or --access-key/--secret-key)");
        };
        let creds = Credentials {
            access_key: ak,
            secret_key: sk,
            account_id: t.access.account_id.clone(),
        };
        (
            t.target.trim_end_matches('/').to_string(),
            creds,
            None,
            t.target.clone(),
        )
    };
    let wrong = Credentials {
        secret_key: format!("{}-wrong", creds.secret_key),
        ..creds.clone()
    };
    let client = Client::new(
        &base,
        Arc::new(ScpSigner::new(creds)),
        Arc::new(ScpSigner::new(wrong)),
        timeout,
        4 * 1024 * 1024,
    )?;
    Ok(Target {
        client,
        label,
        _server: server,
    })
}

pub fn spec_dir(api: &str, given: &Option<PathBuf>) -> PathBuf {
    given
        .clone()
        .unwrap_or_else(|| PathBuf::from("specs").join(api))
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub fn run_cmd(a: RunArgs, case_filter: Option<String>) -> Outcome {
    let set = SpecSet::load(&spec_dir(&a.api, &a.spec_dir))?;
    let versions: Vec<String> = if a.versions == "all" {
        set.versions().map(String::from).collect()
    } else {
        a.versions
            .split(',')
            .map(|s| s.trim().to_string())
            .collect()
    };
    let selection = Selection {
        only: a.checks.clone(),
        exclude: a.exclude_checks.clone(),
    };
    selection.validate().map_err(|e| anyhow::anyhow!(e))?;
    let known_failures: Vec<String> = a
        .gate
        .load_baseline()?
        .map(|b| b.known_failures.into_iter().map(|k| k.id).collect())
        .unwrap_or_default();
    let opts = RunOptions {
        spec_dir: set.dir.clone(),
        suites_dir: a
            .suites_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("suites").join(&a.api)),
        versions,
        suites: a.suites.clone(),
        selection,
        cases: a.cases,
        seed: a.seed,
        concurrency: a.concurrency,
        case_filter: case_filter.clone(),
        capture: false,
        name_salt: String::new(),
        partition: a.partition,
        max_failures: a.gate.max_failures,
        known_failures,
        interrupt: Some(Default::default()),
    };
    // Snapshots record the correct reference: not with faults, a replay filter or a shard.
    let snapshot_dir = a
        .snapshot_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("snapshots").join(&a.api));
    let snapshots = match a.snapshots {
        Some(m) => m,
        None if a.target.target == "embedded"
            && snapshot_dir.is_dir()
            && a.target.faults.is_empty()
            && case_filter.is_none()
            && a.partition.is_none()
            && a.suites.is_empty() =>
        {
            crate::compare::snapshot::Mode::Check
        }
        None => crate::compare::snapshot::Mode::Off,
    };
    let opts = RunOptions {
        capture: snapshots != crate::compare::snapshot::Mode::Off,
        ..opts
    };
    let rt = runtime()?;
    rt.block_on(async {
        let target = open_target(&a.target).await?;
        // Ctrl-C stops sending cases; what was observed is still reported.
        if let Some(flag) = opts.interrupt.clone() {
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!("interrupted: finishing the cases in flight, then reporting");
                    flag.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
        let progress = progress_bar();
        let outcome = run::run(&set, &target.client, &opts, progress.as_ref()).await;
        if let Some(p) = &progress {
            p.finish_and_clear();
        }
        let outcome = match outcome {
            Ok(o) => o,
            Err(RunError::Unreachable(m)) => {
                return Err(CodedError {
                    code: exit_codes::UNREACHABLE,
                    message: format!("target unreachable: {m}"),
                }
                .into())
            }
            Err(RunError::Config(m)) => return Err(anyhow::anyhow!(m)),
        };
        let mut report = Report::from_outcome(&outcome, &a.api, &target.label, a.cases);
        super::diff_cmd::apply_snapshots(
            &mut report,
            &snapshot_dir,
            &a.api,
            snapshots,
            &set,
            &outcome.recorder.transcript(),
        )?;
        print!("{}", summary::render(&report));
        let interrupted = opts
            .interrupt
            .as_ref()
            .is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed));
        if interrupted {
            println!("interrupted: the report covers the cases sent before Ctrl-C");
        } else if outcome.stopped_early {
            println!(
                "stopped early: more than {} new finding(s) (--max-failures)",
                a.gate.max_failures.unwrap_or(0)
            );
        }
        let code = a.gate.finish(report, a.report_dir.as_deref())?;
        Ok(if interrupted {
            exit_codes::INTERRUPTED
        } else {
            code
        })
    })
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
pub struct ServeArgs {
    #[arg(long, default_value_t = 8443)]
    pub port: u16,
    /// Address to bind; loopback by default.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    #[arg(long = "fault")]
    pub faults: Vec<String>,
    /// Refuse versions past their Not Before date (406 NoSuchVersion), as of --as-of.
    #[arg(long)]
    pub enforce_sunset: bool,
    #[arg(long)]
    pub as_of: Option<chrono::NaiveDate>,
    /// Which reference server: scp-kms, ncp-kms or otc-kms.
    #[arg(long, default_value = "scp-kms")]
    pub api: String,
    #[arg(long)]
    pub spec_dir: Option<PathBuf>,
    /// List the fault catalogue (of --api) and exit.
    #[arg(long)]
    pub list_faults: bool,
    /// Access key the server accepts (default: the documented one of --api).
    #[arg(long)]
    pub access_key: Option<String>,
    /// Secret key the server verifies with (default: the documented one of --api).
    #[arg(long)]
    pub secret_key: Option<String>,
}

fn with_keys(mut c: Credentials, a: &ServeArgs) -> Credentials {
    if let Some(k) = &a.access_key {
        c.access_key = k.clone();
    }
    if let Some(k) = &a.secret_key {
        c.secret_key = k.clone();
    }
    c
}

fn parse_vendor_faults<F: std::str::FromStr<Err = reference::UnknownFault>>(
    names: &[String],
    api: &str,
) -> anyhow::Result<Vec<F>> {
    names
        .iter()
        .map(|n| {
            n.parse::<F>().map_err(|e| {
                anyhow::anyhow!("{e} (see `kmsconform serve --api {api} --list-faults`)")
            })
        })
        .collect()
}

/// `serve --api ncp-kms|otc-kms`: the vendor reference servers.
fn serve_vendor(a: &ServeArgs) -> Outcome {
    use reference::{ncp, otc};
    if a.enforce_sunset || a.as_of.is_some() {
        anyhow::bail!("--enforce-sunset/--as-of apply to --api scp-kms only");
    }
    if a.list_faults {
        let list: Vec<(&str, &str)> = match a.api.as_str() {
            "ncp-kms" => ncp::NcpFault::all()
                .iter()
                .map(|f| (f.name(), f.description()))
                .collect(),
            _ => otc::OtcFault::all()
                .iter()
                .map(|f| (f.name(), f.description()))
                .collect(),
        };
        for (n, d) in list {
            println!("{n:<34} {d}");
        }
        return Ok(exit_codes::OK);
    }
    let addr: std::net::SocketAddr = format!("{}:{}", a.bind, a.port)
        .parse()
        .map_err(|e| anyhow::anyhow!("--bind/--port: {e}"))?;
    let rt = runtime()?;
    rt.block_on(async {
        let (server, creds, what) = match a.api.as_str() {
            "ncp-kms" => {
                let cfg = ncp::Config {
                    faults: parse_vendor_faults(&a.faults, &a.api)?,
                    credentials: with_keys(ncp::Config::default().credentials, a),
                    ..Default::default()
                };
                let creds = cfg.credentials.clone();
                let s = ncp::spawn(cfg, addr).await;
                (
                    s,
                    creds,
                    format!(
                        "NCP KMS reference target on {{base}}, server URL {{base}}{}",
                        ncp::BASE_PATH
                    ),
                )
            }
            _ => {
                let cfg = otc::Config {
                    faults: parse_vendor_faults(&a.faults, &a.api)?,
                    credentials: with_keys(otc::Config::default().credentials, a),
                    ..Default::default()
                };
                let creds = cfg.credentials.clone();
                let what = format!(
                    "OTC KMS reference target on {{base}}, project id {}",
                    cfg.project_id
                );
                (otc::spawn(cfg, addr).await, creds, what)
            }
        };
        let server = server.with_context(|| format!("cannot listen on {addr}"))?;
        println!(
            "{} (access key {}, secret key {}); Ctrl-C stops",
            what.replace("{base}", &server.base_url()),
            creds.access_key,
            creds.secret_key
        );
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        server.shutdown().await;
        Ok(exit_codes::OK)
    })
}

pub fn serve_cmd(a: ServeArgs) -> Outcome {
    match a.api.as_str() {
        "scp-kms" => {}
        "ncp-kms" | "otc-kms" => return serve_vendor(&a),
        other => anyhow::bail!("--api {other}: no reference server (scp-kms, ncp-kms, otc-kms)"),
    }
    if a.list_faults {
        for f in Fault::all() {
            println!("{:<34} {}", f.name(), f.description());
        }
        return Ok(exit_codes::OK);
    }
    let mut cfg = reference::Config {
        faults: parse_faults(&a.faults)?,
        ..Default::default()
    };
    cfg.credentials = with_keys(cfg.credentials, &a);
    if a.enforce_sunset {
        let set = SpecSet::load(&spec_dir(&a.api, &a.spec_dir))?;
        let not_before = set
            .registry
            .versions
            .iter()
            .filter_map(|v| v.not_before_date().map(|d| (v.version.clone(), d)))
            .collect();
        cfg.sunset = Some(reference::Sunset {
            as_of: a.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive()),
            not_before,
        });
    } else if a.as_of.is_some() {
        anyhow::bail!("--as-of needs --enforce-sunset");
    }
    let addr: std::net::SocketAddr = format!("{}:{}", a.bind, a.port)
        .parse()
        .map_err(|e| anyhow::anyhow!("--bind/--port: {e}"))?;
    let rt = runtime()?;
    rt.block_on(async {
        let creds = cfg.credentials.clone();
        let server = reference::spawn(cfg, addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        println!(
            "SCP KMS reference target on {} (access key {}, secret key {}); Ctrl-C stops",
            server.base_url(),
            creds.access_key,
            creds.secret_key
        );
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        server.shutdown().await;
        Ok(exit_codes::OK)
    })
}

/// Load test of the embedded target, then `runs` timed default conformance runs.
pub fn bench_cmd(clients: usize, requests: usize, runs: usize) -> Outcome {
    let rt = runtime()?;
    rt.block_on(async {
        let cfg = reference::Config::default();
        let creds = cfg.credentials.clone();
        let server = reference::spawn(cfg, "127.0.0.1:0".parse().expect("loopback address")).await?;
        let r = reference::load_test(&server.base_url(), &creds, clients, requests).await?;
        let secs = r.elapsed.as_secs_f64();
        println!(
            "load test: {} clients x {} requests: {} requests in {:.2} s = {:.0} req/s; 5xx {}, lost updates {}, round-trip failures {}, unexpected status {}",
            clients, requests, r.requests, secs, r.requests as f64 / secs.max(1e-9), r.status_5xx, r.lost_updates, r.roundtrip_failures, r.unexpected_status
        );
        server.shutdown().await;
        let set = SpecSet::load(&spec_dir("scp-kms", &None))?;
        // Whole default runs, then the spec-generated cases alone (no suites: no RSA keys).
        let plans: Vec<(String, Vec<String>)> = (1..=runs).map(|i| (format!("default run {i}"), vec![])).chain([("generated cases".to_string(), vec!["generated".to_string()])]).collect();
        for (label, suites) in plans {
            let t = TargetArgs { target: "embedded".into(), faults: vec![], access: AccessArgs { timeout: 10, ..Default::default() } };
            let target = open_target(&t).await?;
            let opts = RunOptions {
                spec_dir: set.dir.clone(),
                suites_dir: PathBuf::from("suites/scp-kms"),
                versions: set.versions().map(String::from).collect(),
                suites,
                selection: Selection::default(),
                cases: 10,
                seed: 1,
                concurrency: 32,
                case_filter: None,
                capture: false,
                name_salt: String::new(),
                partition: None,
                max_failures: None,
                known_failures: vec![],
                interrupt: None,
            };
            let o = run::run(&set, &target.client, &opts, None).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let secs = o.elapsed.as_secs_f64();
            let n = o.recorder.requests();
            println!("{label}: {n} validated requests in {secs:.2} s = {:.0} req/s, {} findings", n as f64 / secs.max(1e-9), o.recorder.findings().len());
        }
        let ok = r.status_5xx == 0 && r.lost_updates == 0 && r.roundtrip_failures == 0;
        Ok(if ok { exit_codes::OK } else { exit_codes::FINDINGS })
    })
}
