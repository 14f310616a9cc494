//! Cross-version comparison: the same cases on consecutive versions; every difference is
//! either declared in the version registry or reported. Declared changes that the target
//! does not show are reported too (a field "added in 1.2" that 1.1 already returns).

use super::{align_key, json_diff, location, render_exchange, unified, PathDiff};
use crate::run::record::Exchange;
use crate::spec::changes::Change;
use crate::spec::registry::Registry;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VersionDiff {
    /// `undeclared-difference` or `declared-change-not-observed`.
    pub kind: String,
    pub from: String,
    pub to: String,
    pub operation: String,
    pub case: String,
    pub locations: Vec<String>,
    pub text: String,
    /// Unified diff of the normalised responses (of the first case).
    pub diff: String,
    /// Cases showing the same difference (the first is `case`).
    pub count: usize,
}

/// A declared change and whether the target showed it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeclaredObservation {
    pub from: String,
    pub to: String,
    pub change: Change,
    /// Cases that showed it / cases that could have.
    pub observed: usize,
    pub comparable: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VersionReport {
    pub differences: Vec<VersionDiff>,
    pub declared: Vec<DeclaredObservation>,
}

/// Changes declared for moving from `from` to `to` (every registry step in between).
pub fn declared_between(reg: &Registry, from: &str, to: &str) -> Vec<Change> {
    let idx = |v: &str| reg.versions.iter().position(|e| e.version == v);
    let (Some(a), Some(b)) = (idx(from), idx(to)) else {
        return vec![];
    };
    reg.versions[a + 1..=b]
        .iter()
        .flat_map(|e| e.changes.iter().cloned())
        .collect()
}

fn is_declared(changes: &[Change], op: &str, status: Option<u16>, d: &PathDiff) -> bool {
    let loc = location(d.pointer());
    changes.iter().any(|c| {
        let kind_ok = match d {
            PathDiff::Added(_) => c.id == "response-property-added",
            PathDiff::Removed(_) => c.id == "response-property-removed",
            PathDiff::Changed(_) => {
                c.id.ends_with("-type-changed") || c.id.ends_with("-nullability-changed")
            }
        };
        kind_ok
            && c.operation == op
            && c.location.as_deref().is_some_and(|l| {
                loc == l || loc.starts_with(&format!("{l}.")) || loc.starts_with(&format!("{l}[]"))
            })
            && c.status
                .as_deref()
                .is_none_or(|s| Some(s) == status.map(|x| x.to_string()).as_deref())
    })
}

/// Compare normalised transcripts (version → exchanges) along `chain`.
pub fn compare(
    reg: &Registry,
    transcripts: &BTreeMap<String, Vec<Exchange>>,
    chain: &[String],
) -> VersionReport {
    let mut report = VersionReport::default();
    for pair in chain.windows(2) {
        let (from, to) = (&pair[0], &pair[1]);
        let empty = Vec::new();
        let index = |v: &String| -> BTreeMap<String, &Exchange> {
            transcripts
                .get(v)
                .unwrap_or(&empty)
                .iter()
                .filter(|e| !e.case.contains("/absent/"))
                .map(|e| (align_key(e), e))
                .collect()
        };
        let (ia, ib) = (index(from), index(to));
        let declared = declared_between(reg, from, to);
        for (key, a) in &ia {
            let Some(b) = ib.get(key) else { continue };
            if a.operation != b.operation {
                continue;
            }
            let mut undeclared = Vec::new();
            if a.status != b.status {
                undeclared.push(format!("status {:?} → {:?}", a.status, b.status));
            } else if let (Some(x), Some(y)) = (&a.body, &b.body) {
                for d in json_diff(x, y) {
                    if !is_declared(&declared, &b.operation, b.status, &d) {
                        let what = match &d {
                            PathDiff::Added(p) => format!("{} added", location(p)),
                            PathDiff::Removed(p) => format!("{} removed", location(p)),
                            PathDiff::Changed(p) => format!("{} changed", location(p)),
                        };
                        undeclared.push(what);
                    }
                }
            } else if a.body != b.body {
                undeclared.push("body presence changed".into());
            }
            if !undeclared.is_empty() {
                undeclared.dedup();
                report.differences.push(VersionDiff {
                    kind: "undeclared-difference".into(),
                    from: from.clone(),
                    to: to.clone(),
                    operation: b.operation.clone(),
                    case: key.clone(),
                    text: format!("{} {from} → {to}: {}", b.operation, undeclared.join(", ")),
                    locations: undeclared,
                    diff: unified(&render_exchange(a), &render_exchange(b), from, to),
                    count: 1,
                });
            }
        }
        // Declared property changes must show where they can.
        for c in declared
            .iter()
            .filter(|c| c.id == "response-property-added" || c.id == "response-property-removed")
        {
            let Some(loc) = &c.location else { continue };
            let (mut observed, mut comparable) = (0, 0);
            for (key, a) in &ia {
                let Some(b) = ib.get(key) else { continue };
                let status_ok = c.status.as_deref().is_none_or(|s| {
                    b.status.map(|x| x.to_string()).as_deref() == Some(s) && a.status == b.status
                });
                if a.operation != c.operation || !status_ok {
                    continue;
                }
                let (Some(x), Some(y)) = (&a.body, &b.body) else {
                    continue;
                };
                let (has_a, has_b) = (has_location(x, loc), has_location(y, loc));
                if has_a.is_none() && has_b.is_none() {
                    continue; // e.g. an empty list: nothing to see
                }
                comparable += 1;
                let want = if c.id == "response-property-added" {
                    (false, true)
                } else {
                    (true, false)
                };
                if (has_a.unwrap_or(false), has_b.unwrap_or(false)) == want {
                    observed += 1;
                } else {
                    report.differences.push(VersionDiff {
                        kind: "declared-change-not-observed".into(),
                        from: from.clone(),
                        to: to.clone(),
                        operation: c.operation.clone(),
                        case: key.clone(),
                        locations: vec![loc.clone()],
                        text: format!(
                            "{} {from} → {to}: the registry declares {} '{loc}', but {from} {} it and {to} {} it",
                            c.operation,
                            if c.id == "response-property-added" { "an added" } else { "a removed" },
                            if has_a == Some(true) { "has" } else { "lacks" },
                            if has_b == Some(true) { "has" } else { "lacks" }
                        ),
                        diff: unified(&render_exchange(a), &render_exchange(b), from, to),
                        count: 1,
                    });
                }
            }
            report.declared.push(DeclaredObservation {
                from: from.clone(),
                to: to.clone(),
                change: c.clone(),
                observed,
                comparable,
            });
        }
    }
    report.differences = aggregate(report.differences);
    report
}

/// One entry per (kind, versions, operation, locations), counting the cases.
fn aggregate(diffs: Vec<VersionDiff>) -> Vec<VersionDiff> {
    let mut out: Vec<VersionDiff> = Vec::new();
    for d in diffs {
        match out.iter_mut().find(|o| {
            (&o.kind, &o.from, &o.to, &o.operation, &o.locations)
                == (&d.kind, &d.from, &d.to, &d.operation, &d.locations)
        }) {
            Some(o) => o.count += 1,
            None => out.push(d),
        }
    }
    for o in &mut out {
        if o.count > 1 {
            o.text = format!("{} ({} cases)", o.text, o.count);
        }
    }
    out
}

/// Whether the field at a location (`keys[].managed_type`) is present: Some(true) when every
/// parent instance has it, Some(false) when some lacks it, None when there is no parent.
fn has_location(v: &serde_json::Value, loc: &str) -> Option<bool> {
    let parts: Vec<&str> = loc.split('.').collect();
    fn go(v: &serde_json::Value, parts: &[&str]) -> Option<bool> {
        let (head, rest) = parts.split_first()?;
        let (name, arr) = match head.strip_suffix("[]") {
            Some(n) => (n, true),
            None => (*head, false),
        };
        let obj = v.as_object()?;
        let child = obj.get(name);
        if rest.is_empty() && !arr {
            return Some(child.is_some());
        }
        let child = child?;
        if arr {
            let items = child.as_array()?;
            let results: Vec<bool> = items.iter().filter_map(|i| go(i, rest)).collect();
            if results.is_empty() {
                return None;
            }
            return Some(results.iter().all(|x| *x));
        }
        go(child, rest)
    }
    go(v, &parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_presence_by_location() {
        let v = json!({"keys": [{"a": 1, "m": "u"}, {"a": 2, "m": "u"}], "key": {"m": null}});
        assert_eq!(has_location(&v, "keys[].m"), Some(true));
        assert_eq!(has_location(&v, "keys[].z"), Some(false));
        assert_eq!(has_location(&v, "key.m"), Some(true));
        assert_eq!(has_location(&json!({"keys": []}), "keys[].m"), None);
    }
}
