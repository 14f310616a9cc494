//! A short Markdown summary, sized for a pull-request comment: the verdict, a per-version
//! table, and one row per distinct finding (expected, actual, versions), failures before
//! advisories, then by check.

use super::text::{actual, expected};
use super::Report;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Distinct findings listed; the rest are counted (the comment must stay short).
const LISTED: usize = 20;

pub fn render(r: &Report) -> String {
    let gating = r.gating().count();
    let known = r.findings.iter().filter(|f| r.is_known(f)).count();
    let failures = r.failures().count();
    let advisories = r.advisories().count();
    let mut out = String::new();
    let verdict = if gating == 0 && r.transport_problems.is_empty() {
        "✅ passed"
    } else {
        "❌ failed"
    };
    let _ = writeln!(out, "## kmsconform: {verdict}\n");
    let _ = writeln!(
        out,
        "Target `{}`, versions {}, seed {}, run id {}, {} requests: **{failures} failures, {advisories} advisories**{}{}.\n",
        md_code(&r.meta.target),
        r.meta.versions.join(", "),
        r.meta.seed,
        md_code(&r.meta.run_id),
        r.meta.requests,
        if known > 0 { format!(", {known} known (baseline)") } else { String::new() },
        if r.transport_problems.is_empty() {
            String::new()
        } else {
            format!(", {} transport problems", r.transport_problems.len())
        }
    );
    if advisories > 0 {
        out.push_str("Advisories rest on our assumptions, not on the vendor document; they fail the gate only with `--strict`.\n\n");
    }
    let mut by_version: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
    for c in &r.counts {
        let e = by_version.entry(&c.version).or_default();
        e.0 += c.passed;
        e.1 += c.failed;
        e.2 += c.advisory;
    }
    out.push_str("| version | checks passed | failed | advisory |\n|---|---:|---:|---:|\n");
    for (v, (p, f, a)) in &by_version {
        let _ = writeln!(out, "| {v} | {p} | {f} | {a} |");
    }
    let mut rows = r.distinct(r.failures());
    let mut adv = r.distinct(r.advisories());
    rows.sort_by_key(|d| d.first.check);
    adv.sort_by_key(|d| d.first.check);
    let total = rows.len() + adv.len();
    if total > 0 {
        out.push_str("\n| | check | operation | versions | expected | actual | cases |\n|---|---|---|---|---|---|---:|\n");
        for (mark, d) in rows
            .iter()
            .map(|d| ("❌", d))
            .chain(adv.iter().map(|d| ("⚠️ advisory", d)))
            .take(LISTED)
        {
            let f = d.first;
            let mark = if r.is_known(f) { "known" } else { mark };
            let _ = writeln!(
                out,
                "| {mark} | `{}` | {} | {} | {} | {} | {} |",
                f.check,
                md_cell(&f.operation),
                d.versions.join(", "),
                md_cell(&expected(&f.expected)),
                md_cell(&actual(&f.actual)),
                d.cases
            );
        }
        if total > LISTED {
            let _ = writeln!(
                out,
                "\n… and {} more in `report.json` / `report.html`.",
                total - LISTED
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
