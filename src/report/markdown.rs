//! A short Markdown summary, sized for a pull-request comment.

use super::Report;
use crate::run::record::Finding;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Distinct findings listed; the rest are counted (the comment must stay short).
const LISTED: usize = 20;

pub fn render(r: &Report) -> String {
    let new: Vec<_> = r.new_findings().collect();
    let known = r.findings.len() - new.len();
    let mut out = String::new();
    let verdict = if new.is_empty() {
        "✅ passed"
    } else {
        "❌ failed"
    };
    let _ = writeln!(out, "## kmsconform: {verdict}\n");
    let _ = writeln!(
        out,
        "Target `{}`, versions {}, seed {}, {} requests: **{} new findings**{}.\n",
        md_code(&r.meta.target),
        r.meta.versions.join(", "),
        r.meta.seed,
        r.meta.requests,
        new.len(),
        if known > 0 {
            format!(", {known} known (baseline)")
        } else {
            String::new()
        }
    );
    let mut by_version: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for c in &r.counts {
        let e = by_version.entry(&c.version).or_default();
        e.0 += c.passed;
        e.1 += c.failed;
    }
    out.push_str("| version | checks passed | checks failed |\n|---|---:|---:|\n");
    for (v, (p, f)) in &by_version {
        let _ = writeln!(out, "| {v} | {p} | {f} |");
    }
    if !new.is_empty() {
        // One row per finding id (a fingerprint): its cases differ only in the replay id.
        let mut rows: Vec<(&Finding, usize)> = Vec::new();
        for f in &new {
            match rows.iter_mut().find(|(g, _)| g.id == f.id) {
                Some((_, n)) => *n += 1,
                None => rows.push((f, 1)),
            }
        }
        out.push_str(
            "\n| version | operation | check | cases | finding |\n|---|---|---|---:|---|\n",
        );
        for (f, cases) in rows.iter().take(LISTED) {
            let _ = writeln!(
                out,
                "| {} | {} | `{}` | {cases} | {} — replay: `kmsconform replay --case {} --seed {}` |",
                f.version,
                f.operation,
                f.check,
                md_cell(&f.actual),
                f.case,
                f.seed
            );
        }
        if rows.len() > LISTED {
            let _ = writeln!(
                out,
                "\n… and {} more in `report.json` / `report.html`.",
                rows.len() - LISTED
            );
        }
    }
    out
}

/// Table cells cannot hold pipes or newlines, and long bodies would swamp the comment.
fn md_cell(s: &str) -> String {
    let one_line: String = s
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
        .chars()
        .take(160)
        .collect();
    one_line.replace('<', "&lt;")
}

fn md_code(s: &str) -> String {
    s.replace('`', "'")
}
