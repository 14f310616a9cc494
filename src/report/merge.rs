//! Combining the JSON reports of a partitioned run (`kmsconform report merge`).

use super::json::Count;
use super::Report;
use std::collections::BTreeMap;

/// Counts are summed per (check, operation, version); findings are the union, deduplicated
/// by (id, case); requests add up; duration is the longest part (parts run in parallel).
pub fn merge(parts: &[Report]) -> anyhow::Result<Report> {
    let Some(first) = parts.first() else {
        anyhow::bail!("nothing to merge: give at least one report");
    };
    if let Some(other) = parts.iter().find(|p| p.meta.api != first.meta.api) {
        anyhow::bail!(
            "cannot merge reports of different APIs ({} and {})",
            first.meta.api,
            other.meta.api
        );
    }
    let mut meta = first.meta.clone();
    let mut counts: BTreeMap<(String, String, String), (u64, u64, u64)> = BTreeMap::new();
    let mut findings = Vec::new();
    let mut known_failures = Vec::new();
    let mut transport_problems = Vec::new();
    let mut coverage: Vec<super::json::CoverageEntry> = Vec::new();
    let mut leftovers = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            meta.requests += p.meta.requests;
            meta.retried += p.meta.retried;
            meta.duration_ms = meta.duration_ms.max(p.meta.duration_ms);
            meta.versions.extend(p.meta.versions.iter().cloned());
            meta.suites.extend(p.meta.suites.iter().cloned());
        }
        for c in &p.counts {
            let e = counts
                .entry((c.check.clone(), c.operation.clone(), c.version.clone()))
                .or_default();
            e.0 += c.passed;
            e.1 += c.failed;
            e.2 += c.advisory;
        }
        for f in &p.findings {
            if !findings
                .iter()
                .any(|g: &crate::run::record::Finding| g.id == f.id && g.case == f.case)
            {
                findings.push(f.clone());
            }
        }
        known_failures.extend(p.known_failures.iter().cloned());
        transport_problems.extend(p.transport_problems.iter().cloned());
        coverage.extend(p.coverage.iter().cloned());
        leftovers.extend(p.leftovers.iter().cloned());
    }
    meta.versions.sort();
    meta.versions.dedup();
    meta.suites.sort();
    meta.suites.dedup();
    known_failures.sort();
    known_failures.dedup();
    findings.sort_by(|a, b| {
        (&a.version, &a.operation, &a.check, &a.case).cmp(&(
            &b.version,
            &b.operation,
            &b.check,
            &b.case,
        ))
    });
    Ok(Report {
        meta,
        counts: counts
            .into_iter()
            .map(
                |((check, operation, version), (passed, failed, advisory))| Count {
                    check,
                    operation,
                    version,
                    passed,
                    failed,
                    advisory,
                },
            )
            .collect(),
        findings,
        transport_problems,
        coverage,
        leftovers,
        known_failures,
    })
}
