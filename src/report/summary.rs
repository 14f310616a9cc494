//! The end-of-run summary table for a terminal.

use super::Report;
use std::collections::BTreeMap;
use std::fmt::Write;

pub fn render(r: &Report) -> String {
    let mut by_check: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for c in &r.counts {
        let e = by_check.entry(&c.check).or_default();
        e.0 += c.passed;
        e.1 += c.failed;
    }
    let mut out = String::new();
    let _ = writeln!(out, "{:<28} {:>8} {:>8}", "check", "passed", "failed");
    for (check, (p, f)) in &by_check {
        let _ = writeln!(
            out,
            "{check:<28} {p:>8} {f:>8}{}",
            if *f > 0 { "  ✗" } else { "" }
        );
    }
    let _ = writeln!(out);
    // Findings with the same check, operation, version and observed problem usually share a
    // root cause: one entry each, with the number of cases and one to replay.
    let mut groups: Vec<(&crate::run::record::Finding, usize)> = Vec::new();
    for f in &r.findings {
        match groups.iter_mut().find(|(g, _)| {
            (&g.check, &g.operation, &g.version, &g.actual)
                == (&f.check, &f.operation, &f.version, &f.actual)
        }) {
            Some(g) => g.1 += 1,
            None => groups.push((f, 1)),
        }
    }
    for (f, n) in groups.iter().take(40) {
        let cases = if *n > 1 {
            format!(" ({n} cases)")
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "✗ [{}] {} {} — {}{cases}\n    expected: {}\n    actual:   {}\n    replay:   kmsconform replay --case {} --seed {}",
            f.id, f.version, f.operation, f.check, f.expected, f.actual, f.case, f.seed
        );
    }
    if groups.len() > 40 {
        let _ = writeln!(
            out,
            "… {} more distinct findings in report.json",
            groups.len() - 40
        );
    }
    let secs = r.meta.duration_ms as f64 / 1000.0;
    let _ = writeln!(
        out,
        "{} findings{}; {} requests in {:.2} s ({:.0} req/s); versions {}; seed {}",
        r.findings.len(),
        if groups.len() < r.findings.len() {
            format!(" ({} distinct)", groups.len())
        } else {
            String::new()
        },
        r.meta.requests,
        secs,
        r.meta.requests as f64 / secs.max(1e-9),
        r.meta.versions.join(","),
        r.meta.seed
    );
    out
}
