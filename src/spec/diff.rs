//! `spec diff`: the rule catalogue, registry-level rules (versions and their status), and
//! diffs of documents, spec directories (API or CLI) and consecutive versions of one
//! directory. Document-level rules come from [`changes::diff`].

use crate::spec::changes::{self, Change, Level};
use crate::spec::cli::{as_openapi, is_cli_spec, CliSpec};
use crate::spec::import::version_key;
use crate::spec::read_json;
use crate::spec::registry::{Registry, VersionEntry};
use anyhow::{bail, Context};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// The catalogue: (rule id, default level, one-line description). Levels marked "by
/// direction" are the most severe the rule reports; the differ lowers them when harmless.
pub const RULES: &[(&str, Level, &str)] = &[
    ("operation-added", Level::Info, "an operation (CLI: command) was added"),
    ("operation-removed", Level::Breaking, "an operation (CLI: command) was removed"),
    ("operation-path-changed", Level::Breaking, "an operation moved to another method or path"),
    ("request-parameter-required-added", Level::Breaking, "a required parameter (CLI: flag) was added"),
    ("request-parameter-optional-added", Level::Info, "an optional parameter (CLI: flag) was added"),
    ("request-parameter-removed", Level::Breaking, "a parameter (CLI: flag) was removed"),
    ("request-parameter-type-changed", Level::Breaking, "a parameter's type changed"),
    ("request-parameter-became-required", Level::Breaking, "an optional parameter became required"),
    ("request-parameter-became-optional", Level::Info, "a required parameter became optional"),
    ("request-body-added", Level::Breaking, "a request body was added"),
    ("request-body-removed", Level::Warning, "a request body was removed"),
    ("request-property-required-added", Level::Breaking, "a required request property was added"),
    ("request-property-optional-added", Level::Info, "an optional request property was added"),
    ("request-property-removed", Level::Warning, "a request property was removed"),
    ("request-property-type-changed", Level::Breaking, "a request property's type or format changed"),
    ("request-property-nullability-changed", Level::Breaking, "a request property's nullability changed (breaking when null is no longer accepted)"),
    ("request-property-enum-changed", Level::Breaking, "a request enum changed (breaking when narrowed, info when widened)"),
    ("request-property-pattern-changed", Level::Warning, "a request property's pattern changed"),
    ("request-property-length-changed", Level::Warning, "a request property's length bounds changed"),
    ("request-property-default-changed", Level::Warning, "a request property's default changed, appeared or went (clients that omit it get other behaviour)"),
    ("request-property-became-required", Level::Breaking, "an optional request property became required"),
    ("request-property-became-optional", Level::Info, "a required request property became optional"),
    ("response-status-added", Level::Breaking, "a response status was added (breaking for 2xx, info otherwise)"),
    ("response-status-removed", Level::Breaking, "a response status was removed (breaking for 2xx, info otherwise)"),
    ("response-property-added", Level::Info, "a response property (CLI: response field) was added"),
    ("response-property-removed", Level::Breaking, "a response property (CLI: response field) was removed"),
    ("response-property-type-changed", Level::Breaking, "a response property's type or format changed"),
    ("response-property-nullability-changed", Level::Breaking, "a response property's nullability changed (breaking when it may now be null)"),
    ("response-property-enum-changed", Level::Breaking, "a response enum changed (breaking when widened, info when narrowed)"),
    ("response-property-pattern-changed", Level::Warning, "a response property's pattern changed"),
    ("response-property-length-changed", Level::Warning, "a response property's length bounds changed"),
    ("response-property-became-required", Level::Info, "an optional response property became required"),
    ("response-property-became-optional", Level::Breaking, "a required response property became optional"),
    ("version-added", Level::Info, "the registry lists a new version"),
    ("version-removed", Level::Breaking, "a version disappeared from the registry"),
    ("version-status-changed", Level::Warning, "a version's published status changed (warning towards DEPRECATED, info otherwise)"),
    ("version-not-before-changed", Level::Warning, "a version's Not Before date changed (warning when set or moved earlier, info when moved later or cleared)"),
];

/// A change and the version (pair) it belongs to: `1.1`, `1.1→1.2`, or empty for two files.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub scope: String,
    #[serde(flatten)]
    pub change: Change,
}

/// One side of a diff: a document or a spec directory, CLI specs seen as OpenAPI.
pub enum Side {
    Document(Value),
    Directory {
        registry: Registry,
        docs: BTreeMap<String, Value>,
    },
}

/// CLI specs are compared as their OpenAPI-shaped view, so the same rules apply.
fn normalise(doc: Value, path: &Path) -> anyhow::Result<Value> {
    if is_cli_spec(&doc) {
        let spec: CliSpec = serde_json::from_value(doc)
            .with_context(|| format!("{}: not a CLI spec", path.display()))?;
        return Ok(as_openapi(&spec));
    }
    if doc.get("paths").is_none() {
        bail!(
            "{}: neither an OpenAPI document nor a CLI spec",
            path.display()
        );
    }
    Ok(doc)
}

impl Side {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        if !path.is_dir() {
            return Ok(Side::Document(normalise(read_json(path)?, path)?));
        }
        let reg_path = path.join("versions.json");
        let registry: Registry = serde_json::from_value(read_json(&reg_path)?)
            .with_context(|| format!("{}: not a version registry", reg_path.display()))?;
        let mut docs = BTreeMap::new();
        for v in &registry.versions {
            let p = path.join(&v.spec);
            docs.insert(v.version.clone(), normalise(read_json(&p)?, &p)?);
        }
        Ok(Side::Directory { registry, docs })
    }
}

fn registry_change(id: &str, level: Level, version: &str, text: String) -> Finding {
    Finding {
        scope: version.to_string(),
        change: Change {
            id: id.into(),
            level,
            operation: String::new(),
            status: None,
            location: Some(format!("version {version}")),
            text,
        },
    }
}

fn status_rank(status: &str) -> u8 {
    match status {
        "PLANNED" => 0,
        "CURRENT" => 1,
        "SUPPORTED" => 2,
        "DEPRECATED" => 3,
        _ => 4,
    }
}

/// Registry-level rules: versions added/removed, status and Not Before changes.
pub fn registry_diff(old: &Registry, new: &Registry) -> Vec<Finding> {
    let find = |r: &'_ Registry, v: &str| r.versions.iter().find(|e| e.version == v).cloned();
    let mut out = Vec::new();
    for e in &old.versions {
        if find(new, &e.version).is_none() {
            out.push(registry_change(
                "version-removed",
                Level::Breaking,
                &e.version,
                format!("version {} ({}) removed", e.version, e.status),
            ));
        }
    }
    for e in &new.versions {
        let Some(o) = find(old, &e.version) else {
            out.push(registry_change(
                "version-added",
                Level::Info,
                &e.version,
                format!(
                    "version {} added as {}{}",
                    e.version,
                    e.status,
                    not_before_text(e)
                ),
            ));
            continue;
        };
        if o.status != e.status {
            let level = if status_rank(&e.status) > status_rank(&o.status) {
                Level::Warning
            } else {
                Level::Info
            };
            out.push(registry_change(
                "version-status-changed",
                level,
                &e.version,
                format!(
                    "version {} status {} became {}",
                    e.version, o.status, e.status
                ),
            ));
        }
        if o.not_before != e.not_before {
            let earlier = match (&o.not_before, &e.not_before) {
                (None, Some(_)) => true,
                (Some(a), Some(b)) => b < a,
                _ => false,
            };
            out.push(registry_change(
                "version-not-before-changed",
                if earlier { Level::Warning } else { Level::Info },
                &e.version,
                format!(
                    "version {} Not Before {} became {}",
                    e.version,
                    o.not_before.as_deref().unwrap_or("-"),
                    e.not_before.as_deref().unwrap_or("-")
                ),
            ));
        }
    }
    out
}

fn not_before_text(e: &VersionEntry) -> String {
    e.not_before
        .as_ref()
        .map(|d| format!(" (Not Before {d})"))
        .unwrap_or_default()
}

fn scoped(scope: &str, changes: Vec<Change>) -> impl Iterator<Item = Finding> + '_ {
    changes.into_iter().map(move |change| Finding {
        scope: scope.to_string(),
        change,
    })
}

/// OLD vs NEW: two documents, or two directories (registry rules plus each common version).
pub fn diff_sides(old: &Side, new: &Side) -> anyhow::Result<Vec<Finding>> {
    match (old, new) {
        (Side::Document(a), Side::Document(b)) => Ok(scoped("", changes::diff(a, b)).collect()),
        (
            Side::Directory {
                registry: ra,
                docs: da,
            },
            Side::Directory {
                registry: rb,
                docs: db,
            },
        ) => {
            let mut out = registry_diff(ra, rb);
            let mut common: Vec<&String> = da.keys().filter(|v| db.contains_key(*v)).collect();
            common.sort_by_key(|v| version_key(v));
            for v in common {
                out.extend(scoped(v, changes::diff(&da[v], &db[v])));
            }
            // A version only NEW documents: what it brings over OLD's newest earlier version.
            let mut added: Vec<&String> = db.keys().filter(|v| !da.contains_key(*v)).collect();
            added.sort_by_key(|v| version_key(v));
            for v in added {
                let base = da
                    .keys()
                    .filter(|o| version_key(o) < version_key(v))
                    .max_by_key(|o| version_key(o));
                if let Some(base) = base {
                    let scope = format!("{base}→{v}");
                    out.extend(
                        scoped(&scope, changes::diff(&da[base], &db[v])).collect::<Vec<_>>(),
                    );
                }
            }
            Ok(out)
        }
        _ => bail!("OLD and NEW must both be files or both be spec directories"),
    }
}

/// Consecutive versions of one directory: 1.0→1.1, 1.1→1.2, …
pub fn diff_chain(side: &Side) -> anyhow::Result<Vec<Finding>> {
    let Side::Directory { docs, .. } = side else {
        bail!("--chain needs a spec directory");
    };
    let mut versions: Vec<&String> = docs.keys().collect();
    versions.sort_by_key(|v| version_key(v));
    let mut out = Vec::new();
    for pair in versions.windows(2) {
        let scope = format!("{}→{}", pair[0], pair[1]);
        out.extend(
            scoped(&scope, changes::diff(&docs[pair[0]], &docs[pair[1]])).collect::<Vec<_>>(),
        );
    }
    Ok(out)
}

/// Parse `RULE=LEVEL` overrides, rejecting unknown rules and levels.
pub fn parse_overrides(specs: &[String]) -> anyhow::Result<BTreeMap<String, Level>> {
    let mut out = BTreeMap::new();
    for s in specs {
        let Some((rule, level)) = s.split_once('=') else {
            bail!("--level '{s}': expected RULE=LEVEL");
        };
        if !RULES.iter().any(|(id, _, _)| *id == rule) {
            bail!("--level '{s}': unknown rule '{rule}' (see --list-rules)");
        }
        let level = match level {
            "info" => Level::Info,
            "warning" => Level::Warning,
            "breaking" => Level::Breaking,
            _ => bail!("--level '{s}': level must be info, warning or breaking"),
        };
        out.insert(rule.to_string(), level);
    }
    Ok(out)
}

pub fn apply_overrides(findings: &mut [Finding], overrides: &BTreeMap<String, Level>) {
    for f in findings {
        if let Some(l) = overrides.get(&f.change.id) {
            f.change.level = *l;
        }
    }
}

pub fn count(findings: &[Finding], level: Level) -> usize {
    findings.iter().filter(|f| f.change.level == level).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn kms() -> Side {
        Side::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("specs/scp-kms")).unwrap()
    }

    #[test]
    fn every_rule_the_chain_reports_is_in_the_catalogue() {
        let findings = diff_chain(&kms()).unwrap();
        assert!(!findings.is_empty());
        for f in &findings {
            assert!(
                RULES.iter().any(|(id, _, _)| *id == f.change.id),
                "{} missing from RULES",
                f.change.id
            );
        }
    }

    #[test]
    fn overrides_reject_unknown_rules_and_relevel() {
        assert!(parse_overrides(&["no-such-rule=info".into()]).is_err());
        assert!(parse_overrides(&["operation-added=fatal".into()]).is_err());
        let o = parse_overrides(&["operation-added=breaking".into()]).unwrap();
        let mut f = diff_chain(&kms()).unwrap();
        apply_overrides(&mut f, &o);
        assert!(f
            .iter()
            .filter(|f| f.change.id == "operation-added")
            .all(|f| f.change.level == Level::Breaking));
    }

    fn entry(version: &str, status: &str, nb: Option<&str>) -> VersionEntry {
        VersionEntry {
            version: version.into(),
            status: status.into(),
            not_before: nb.map(String::from),
            spec: format!("{version}.json"),
            operations: 0,
            previous: None,
            changes: vec![],
        }
    }

    #[test]
    fn registry_rules() {
        let reg = |versions| Registry {
            api: "x".into(),
            title: "x".into(),
            source: Value::Null,
            versions,
        };
        let a = reg(vec![
            entry("1.0", "DEPRECATED", Some("2025-12-31")),
            entry("1.1", "CURRENT", None),
        ]);
        let b = reg(vec![
            entry("1.1", "SUPPORTED", Some("2026-08-31")),
            entry("1.2", "CURRENT", None),
        ]);
        let got: Vec<(String, Level, String)> = registry_diff(&a, &b)
            .into_iter()
            .map(|f| (f.change.id, f.change.level, f.scope))
            .collect();
        let want = [
            ("version-removed", Level::Breaking, "1.0"),
            ("version-status-changed", Level::Warning, "1.1"),
            ("version-not-before-changed", Level::Warning, "1.1"),
            ("version-added", Level::Info, "1.2"),
        ];
        assert_eq!(got, want.map(|(i, l, s)| (i.to_string(), l, s.to_string())));
    }
}
