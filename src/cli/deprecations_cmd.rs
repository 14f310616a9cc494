//! `kmsconform deprecations`: version status as of a date, optional live probe, breakage;
//! exit 1 when a version declared in use (`--in-use`) has expired.

use super::args::{runtime, ApiArgs, CredentialArgs};
use super::{CliError, Outcome};
use crate::deprecation::{self, probe, render};
use crate::exit_codes;
use crate::reference::embedded;
use crate::run::session::{Session, TargetKind};
use crate::spec::registry::Effective;
use crate::spec::SpecSet;
use chrono::NaiveDate;
use clap::Args;

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
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(flatten)]
    pub credentials: CredentialArgs,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// Also observe the breakage: run the cross-version diff (each older version against
    /// the current one) on --target (default: a fresh embedded target per version).
    #[arg(long)]
    pub observe: bool,
}

pub fn run(a: DeprecationsArgs) -> Outcome {
    let set = a.api.load()?;
    let as_of = a.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive());
    for v in &a.in_use {
        if set.registry.get(v).is_none() {
            return Err(CliError::Input(format!(
                "--in-use {v}: not a version of {} (known: {})",
                set.api(),
                set.version_ids().collect::<Vec<_>>().join(", ")
            ))
            .into());
        }
    }
    let mut report = deprecation::assess(&set.registry, &set.profile.registry, as_of);
    if let Some(target) = &a.target {
        let kind = if target == "embedded" {
            TargetKind::Embedded(embedded::Options {
                sunset: Some(crate::reference::Sunset {
                    as_of,
                    not_before: set
                        .registry
                        .versions
                        .iter()
                        .filter_map(|v| v.not_before_date().map(|d| (v.version.clone(), d)))
                        .collect(),
                }),
                ..Default::default()
            })
        } else {
            crate::target::url::BaseUrl::parse(target)
                .map_err(|e| CliError::Input(e.to_string()))?;
            TargetKind::Url(target.clone())
        };
        let spec = super::diff_cmd::target_spec(kind, a.timeout);
        let rt = runtime()?;
        rt.block_on(async {
            let session = Session::open(&set, &spec, Some(a.credentials.resolve(&set)))
                .await
                .map_err(CliError::from)?;
            let mut probe_request = None;
            for v in &mut report.versions {
                let vs = set.get(&v.version).expect("registry versions are loaded");
                let req = probe::probe_request(vs, &set.profile).ok_or_else(|| {
                    CliError::Input(format!(
                        "version {}: the spec has no GET operation without path parameters to probe with",
                        v.version
                    ))
                })?;
                probe_request.get_or_insert_with(|| {
                    format!(
                        "{} {}{}",
                        req.method,
                        req.path,
                        req.headers
                            .first()
                            .map(|(h, _)| format!(" with the {h} header of the version"))
                            .unwrap_or_default()
                    )
                });
                v.probe = Some(probe::probe(&session.client, &req).await);
            }
            report.probe_request = probe_request;
            report.probed = Some(if target == "embedded" {
                format!("embedded (versions retired as of {as_of})")
            } else {
                session.label.clone()
            });
            Ok::<(), CliError>(())
        })?;
        let unanswered = report.versions.iter().all(|v| {
            v.probe
                .as_ref()
                .is_some_and(|p| p.transport_error.is_some())
        });
        if unanswered {
            return Err(
                CliError::Unusable(format!("no version probe of {target} was answered")).into(),
            );
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

/// Cross-version diff from every older version to the current one, on the target (without
/// retiring versions: the point is what changes for the client, not whether it is served).
fn observe(
    a: &DeprecationsArgs,
    set: &SpecSet,
    report: &mut deprecation::DeprecationReport,
) -> Result<(), CliError> {
    use super::diff_cmd::{transcript_run, Exercise};
    use crate::compare::{versions, Normalizer};
    let normalizer = Normalizer::from_spec(&set.latest().doc, &set.profile)
        .map_err(CliError::Input)?
        .with_versions(set.version_ids());
    let ex = Exercise {
        set,
        suites_dir: a.api.suites_dir(),
        cases: 3,
        seed: 1,
        creds: Some(a.credentials.resolve(set)),
    };
    let kind = match a.target.as_deref() {
        None | Some("embedded") => TargetKind::Embedded(Default::default()),
        Some(u) => TargetKind::Url(u.into()),
    };
    let spec = super::diff_cmd::target_spec(kind, a.timeout);
    let current = report.current.clone();
    runtime()?.block_on(async {
        let mut transcripts = std::collections::BTreeMap::new();
        for v in set.version_ids() {
            let (_, tr) = transcript_run(
                &ex,
                &spec,
                vec![v.to_string()],
                &format!("obs{}", v.replace('.', "")),
            )
            .await?;
            transcripts.insert(v.to_string(), normalizer.transcript(&tr));
        }
        for v in report.versions.iter_mut().filter(|v| v.version != current) {
            v.observed = Some(versions::compare(
                &set.registry,
                &transcripts,
                &[v.version.clone(), current.clone()],
            ));
        }
        Ok(())
    })
}
