//! `spec lint` over a CLI spec directory: the CLI reference's own inconsistencies.

use super::CliSpec;
use crate::spec::lint::{LintFinding, Severity};
use crate::spec::read_json;
use crate::spec::registry::{Effective, Registry};
use anyhow::Context;
use chrono::NaiveDate;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

pub const RULES: &[(&str, Severity, &str)] = &[
    (
        "cli-command-id-duplicate",
        Severity::Error,
        "two commands of a version share an id",
    ),
    (
        "cli-flag-untyped",
        Severity::Warning,
        "a flag is printed on the command line but has no Parameters row",
    ),
    (
        "cli-flag-duplicate",
        Severity::Warning,
        "a command prints the same flag twice",
    ),
    (
        "cli-response-undocumented",
        Severity::Info,
        "a command documents no response fields",
    ),
    (
        "version-past-not-before",
        Severity::Warning,
        "a version is past its Not Before date but still published",
    ),
    (
        "version-status-stale",
        Severity::Warning,
        "a version's published status disagrees with its Not Before date",
    ),
];

/// Is `dir` a CLI spec directory (its first listed spec is a CLI spec)?
pub fn is_cli_dir(dir: &Path) -> bool {
    let first = read_json(&dir.join("versions.json")).ok().and_then(|r| {
        r.pointer("/versions/0/spec")
            .and_then(|s| s.as_str())
            .map(|s| dir.join(s))
    });
    first
        .and_then(|p| read_json(&p).ok())
        .is_some_and(|d| super::is_cli_spec(&d))
}

pub fn lint(dir: &Path, as_of: NaiveDate) -> anyhow::Result<Vec<LintFinding>> {
    let reg_path = dir.join("versions.json");
    let registry: Registry = serde_json::from_value(read_json(&reg_path)?)
        .with_context(|| format!("{}: not a version registry", reg_path.display()))?;
    let mut found: BTreeMap<(&str, String, String), BTreeSet<String>> = BTreeMap::new();
    for e in &registry.versions {
        let path = dir.join(&e.spec);
        let spec: CliSpec = serde_json::from_value(read_json(&path)?)
            .with_context(|| format!("{}: not a CLI spec", path.display()))?;
        let mut add = |rule, loc: String, msg: String| {
            found
                .entry((rule, loc, msg))
                .or_default()
                .insert(e.version.clone());
        };
        let mut ids = BTreeSet::new();
        for c in &spec.commands {
            if !ids.insert(&c.id) {
                add(
                    "cli-command-id-duplicate",
                    c.id.clone(),
                    format!("'{}' appears twice", c.id),
                );
            }
            let mut names = BTreeSet::new();
            for f in &c.flags {
                if !names.insert(&f.name) {
                    add(
                        "cli-flag-duplicate",
                        c.id.clone(),
                        format!("--{} printed twice", f.name),
                    );
                }
                if f.ty.is_none() {
                    add(
                        "cli-flag-untyped",
                        c.id.clone(),
                        format!("--{} has no Parameters row", f.name),
                    );
                }
            }
            if c.response.is_empty() {
                add(
                    "cli-response-undocumented",
                    c.id.clone(),
                    format!("`{}` documents no response", c.command),
                );
            }
        }
        let (eff, days) = e.effective(as_of, &super::vocabulary());
        let loc = format!("version {}", e.version);
        match (eff, e.status.as_str()) {
            (Effective::Expired, s) => add(
                "version-past-not-before",
                loc,
                format!("published {s}, Not Before {} passed {} days before {as_of}", e.not_before.as_deref().unwrap_or("-"), -days.unwrap_or(0)),
            ),
            (Effective::Deprecated, s) if s != "DEPRECATED" => add(
                "version-status-stale",
                loc,
                format!("published {s} but {} days before its Not Before date (the vendor calls that DEPRECATED)", days.unwrap_or(0)),
            ),
            _ => {}
        }
    }
    let severity = |rule: &str| {
        RULES
            .iter()
            .find(|r| r.0 == rule)
            .map_or(Severity::Error, |r| r.1)
    };
    let mut out: Vec<LintFinding> = found
        .into_iter()
        .map(|((rule, location, message), versions)| LintFinding {
            severity: severity(rule),
            rule: rule.to_string(),
            location,
            message,
            versions: versions.into_iter().collect(),
        })
        .collect();
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.cmp(b)));
    Ok(out)
}
