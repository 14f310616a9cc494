//! `kmsconform deprecations`: version status as of a date, optional live probe, breakage;
//! exit 1 when a version declared in use (`--in-use`) has expired.

use super::run_cmd::{open_target, runtime, spec_dir, AccessArgs, TargetArgs};
use super::{CodedError, Outcome};
use crate::deprecation::{self, probe, render};
use crate::exit_codes;
use crate::reference;
use crate::spec::registry::Effective;
use crate::spec::SpecSet;
use crate::target::http::Client;
use crate::target::sign::scp::ScpSigner;
use anyhow::Context;
use chrono::NaiveDate;
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeprecationFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Args)]
pub struct DeprecationsArgs {
    /// The date to judge against (default: today).
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
    /// Probe each version live: `embedded` (the reference, retiring versions as of --as-of)
    /// or a base URL (credentials as for `run`).
    #[arg(long)]
    pub target: Option<String>,
    /// Versions your clients use (comma-separated or repeated); exit 1 if one has expired.
    #[arg(long, value_delimiter = ',')]
    pub in_use: Vec<String>,
    #[arg(long, value_enum, default_value_t = DeprecationFormat::Text)]
    pub format: DeprecationFormat,
    #[arg(long, default_value = "scp-kms")]
    pub api: String,
    #[arg(long)]
    pub spec_dir: Option<PathBuf>,
    #[command(flatten)]
    pub access: AccessArgs,
    /// Also observe the breakage: run the cross-version diff (each older version against
    /// the current one) on --target (default: a fresh embedded target per version).
    #[arg(long)]
    pub observe: bool,
}

pub fn run(a: DeprecationsArgs) -> Outcome {
    let set = SpecSet::load(&spec_dir(&a.api, &a.spec_dir))?;
    let as_of = a.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive());
    for v in &a.in_use {
        if set.registry.get(v).is_none() {
            anyhow::bail!(
                "--in-use {v}: not a version of {} (known: {})",
                a.api,
                set.versions().collect::<Vec<_>>().join(", ")
            );
        }
    }
    let mut report = deprecation::assess(&set.registry, as_of);
    if let Some(target) = &a.target {
        let rt = runtime()?;
        rt.block_on(async {
            let (client, label, _server) = probe_client(&a, target, &set, as_of).await?;
            for v in &mut report.versions {
                let req = set.docs.get(&v.version).and_then(probe::probe_request).ok_or_else(|| anyhow::anyhow!("version {}: the spec has no GET operation without path parameters to probe with", v.version))?;
                v.probe = Some(probe::probe(&client, &req).await);
            }
            report.probed = Some(label);
            anyhow::Ok(())
        })?;
        let unanswered = report.versions.iter().all(|v| {
            v.probe
                .as_ref()
                .is_some_and(|p| p.transport_error.is_some())
        });
        if unanswered {
            return Err(CodedError {
                code: exit_codes::UNREACHABLE,
                message: format!("target unreachable: no version probe of {target} was answered"),
            }
            .into());
        }
    }
    if a.observe {
        observe(&a, &set, &mut report)?;
    }
    match a.format {
        DeprecationFormat::Text => print!("{}", render::text(&report)),
        DeprecationFormat::Markdown => print!("{}", render::markdown(&report)),
        DeprecationFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("report serialises")
        ),
    }
    let expired_in_use: Vec<String> = report
        .versions
        .iter()
        .filter(|v| a.in_use.contains(&v.version) && v.effective == Effective::Expired)
        .map(|v| {
            format!(
                "{} (Not Before {}, {} days overdue)",
                v.version,
                v.not_before.as_deref().unwrap_or("-"),
                -v.days_left.unwrap_or(0)
            )
        })
        .collect();
    if expired_in_use.is_empty() {
        Ok(exit_codes::OK)
    } else {
        eprintln!("in use but expired: {}", expired_in_use.join(", "));
        Ok(exit_codes::FINDINGS)
    }
}

/// The embedded target is started with versions retired as of `as_of`, so the probe shows
/// what a real endpoint does on that date; a URL target is used as it is.
async fn probe_client(
    a: &DeprecationsArgs,
    target: &str,
    set: &SpecSet,
    as_of: NaiveDate,
) -> anyhow::Result<(Client, String, Option<Box<dyn std::any::Any>>)> {
    if target != "embedded" {
        let t = open_target(&TargetArgs {
            target: target.into(),
            faults: vec![],
            variants: vec![],
            access: a.access.clone(),
        })
        .await?;
        let super::run_cmd::Target { client, label, .. } = t;
        return Ok((client, label, None));
    }
    let cfg = reference::Config {
        sunset: Some(reference::Sunset {
            as_of,
            not_before: set
                .registry
                .versions
                .iter()
                .filter_map(|v| v.not_before_date().map(|d| (v.version.clone(), d)))
                .collect(),
        }),
        ..Default::default()
    };
    let creds = cfg.credentials.clone();
    let server = reference::spawn(cfg, "127.0.0.1:0".parse().expect("loopback address"))
        .await
        .context("cannot start the embedded target")?;
    let client = Client::new(
        &server.base_url(),
        Arc::new(ScpSigner::new(creds.clone())),
        Arc::new(ScpSigner::new(creds)),
        Duration::from_secs(a.access.timeout.max(1)),
        1024 * 1024,
    )?;
    Ok((
        client,
        format!("embedded (versions retired as of {as_of})"),
        Some(Box::new(server)),
    ))
}

/// Cross-version diff from every older version to the current one, on the target (without
/// retiring versions: the point is what changes for the client, not whether it is served).
fn observe(
    a: &DeprecationsArgs,
    set: &SpecSet,
    report: &mut deprecation::DeprecationReport,
) -> anyhow::Result<()> {
    use super::diff_cmd::{transcript_run, Exercise};
    use crate::compare::{versions, Normalizer};
    let latest = set.docs.values().last().expect("versions");
    let normalizer = Normalizer::from_spec(latest)
        .map_err(|e| anyhow::anyhow!(e))?
        .with_versions(set.versions());
    let ex = Exercise {
        set,
        suites_dir: PathBuf::from("suites").join(&a.api),
        cases: 3,
        seed: 1,
    };
    let t = TargetArgs {
        target: a.target.clone().unwrap_or_else(|| "embedded".into()),
        faults: vec![],
        variants: vec![],
        access: a.access.clone(),
    };
    let current = report.current.clone();
    runtime()?.block_on(async {
        let mut transcripts = std::collections::BTreeMap::new();
        for v in set.versions() {
            let (_, tr) = transcript_run(&ex, &t, vec![v.to_string()], &format!("obs{v}-")).await?;
            transcripts.insert(v.to_string(), normalizer.transcript(&tr));
        }
        for v in report.versions.iter_mut().filter(|v| v.version != current) {
            v.observed = Some(versions::compare(
                &set.registry,
                &transcripts,
                &[v.version.clone(), current.clone()],
            ));
        }
        anyhow::Ok(())
    })
}
