//! A short Markdown summary, sized for a pull-request comment: the verdict with the run's
//! totals (the sentence every format states), a per-version table, and one row per distinct
//! finding ([`Report::distinct`]: what the case was, versions, expected, actual, cases),
//! failures before advisories, then by check.

use super::text::{actual, expected, totals};
use super::Report;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Distinct findings listed; the rest are counted (a GitHub comment holds 65536 characters,
/// and cells are cut to `CELL` characters, so 100 rows fit).
const LISTED: usize = 100;
const CELL: usize = 120;

pub fn render(r: &Report) -> String {
    let t = r.totals();
    let (gating, known, advisories) = (t.gating, t.known, t.advisories);
    let mut out = String::new();
    let verdict = if gating == 0 && r.transport_problems.is_empty() {
        "✅ passed"
    } else {
        "❌ failed"
    };
    let _ = writeln!(out, "## kmsconform: {verdict}\n");
    let _ = writeln!(
        out,
        "Target `{}`, versions {}, seed {}, run id {}, {} requests: **{}**{}{}.\n",
        md_code(&r.meta.target),
        r.meta.versions.join(", "),
        r.meta.seed,
        md_code(&r.meta.run_id),
        r.meta.requests,
        totals(&t),
        if known > 0 {
            format!(", {known} known (baseline)")
        } else {
            String::new()
        },
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
    // Stable sorts: within one check and operation, report order.
    let by_check = |a: &super::json::Distinct, b: &super::json::Distinct| {
        (a.first.check, &a.first.operation).cmp(&(b.first.check, &b.first.operation))
    };
    rows.sort_by(by_check);
    adv.sort_by(by_check);
    let total = rows.len() + adv.len();
    if total > 0 {
        out.push_str("\n| | check | operation | finding | versions | expected | actual | cases |\n|---|---|---|---|---|---|---|---:|\n");
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
                "| {mark} | `{}` | {} | {} | {} | {} | {} | {} |",
                f.check,
                md_cell(&f.operation),
                md_cell(&f.label),
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

/// Table cells cannot hold pipes or newlines, and long bodies would swamp the comment: cut
/// to `CELL` characters first, escaped after (so a cut never splits an escape).
fn md_cell(s: &str) -> String {
    let one_line = s.replace(['\n', '\r'], " ");
    let mut cut: String = one_line.chars().take(CELL).collect();
    if cut.len() < one_line.len() {
        cut.push('…');
    }
    cut.replace('|', "\\|").replace('<', "&lt;")
}

fn md_code(s: &str) -> String {
    s.replace('`', "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_distinct_finding_failures_first_with_the_totals() {
        let r = crate::report::json::sample();
        let md = render(&r);
        assert!(
            md.contains("**3 failures, 1 advisory (2 + 1 distinct)**"),
            "{md}"
        );
        let rows: Vec<&str> = md
            .lines()
            .filter(|l| l.starts_with("| ❌") || l.starts_with("| ⚠️"))
            .collect();
        assert_eq!(rows.len(), 3, "{md}");
        assert!(rows[0].starts_with("| ❌ | `status_code_conformance` | createKey | fresh key | 1.0, 1.3 | status 201 | 200 | 2 |"), "{}", rows[0]);
        assert!(rows[1].contains("`version_shape`"), "{}", rows[1]);
        assert!(
            rows[2].starts_with("| ⚠️ advisory | `pagination_invariants`"),
            "{}",
            rows[2]
        );
    }

    #[test]
    fn at_most_listed_rows_and_a_count_of_the_rest() {
        let mut r = crate::report::json::sample();
        let f = r.findings[0].clone();
        for i in 0..LISTED + 5 {
            let mut g = f.clone();
            g.label = format!("case {i}");
            r.findings.push(g);
        }
        let md = render(&r);
        let rows = md
            .lines()
            .filter(|l| l.starts_with("| ❌") || l.starts_with("| ⚠️"));
        assert_eq!(rows.count(), LISTED);
        // 2 + 1 distinct in the sample, LISTED + 5 added.
        assert!(
            md.contains("… and 8 more in `report.json` / `report.html`."),
            "{md}"
        );
    }

    #[test]
    fn cells_are_cut_before_they_are_escaped() {
        let long = format!("{}|x", "a".repeat(CELL - 1));
        assert_eq!(md_cell(&long), format!("{}\\|…", "a".repeat(CELL - 1)));
        assert_eq!(md_cell("a\nb<c"), "a b&lt;c");
    }
}
