//! The end-of-run summary for a terminal: counts per check, then the distinct failures,
//! the advisories apart, transport problems, coverage gaps and leftovers, and one verdict
//! line ("N failures, M advisories (D + E distinct)", as every format states it).

use super::text::{actual, basis, expected};
use super::Report;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Distinct failures and advisories shown; the rest are in the report files.
const SHOWN_FAILURES: usize = 40;
const SHOWN_ADVISORIES: usize = 20;

/// How the terminal summary is shown (`--color`, `-q`, `-v`). Report files never use it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    /// ANSI colours: the verdict line red or green, failure marks red, advisories yellow.
    pub color: bool,
    /// Only the verdict line (`-q`).
    pub quiet: bool,
}

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color && !text.is_empty() {
            format!("{code}{text}{RESET}")
        } else {
            text.to_string()
        }
    }
}

/// The summary as the run prints it by default (no colour).
pub fn render(r: &Report) -> String {
    render_styled(r, &Style::default())
}

/// The summary in `style`: colours go on the marks, the advisory heading, the transport line
/// and the verdict line; `quiet` keeps the verdict line alone.
pub fn render_styled(r: &Report, style: &Style) -> String {
    let verdict = verdict_line(r);
    let passing = super::gate(r, None) == crate::exit_codes::OK;
    let verdict = style.paint(
        &format!("{BOLD}{}", if passing { GREEN } else { RED }),
        verdict.trim_end(),
    ) + "\n";
    if style.quiet {
        return verdict;
    }
    let mut by_check: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
    for c in &r.counts {
        let e = by_check.entry(&c.check).or_default();
        e.0 += c.passed;
        e.1 += c.failed;
        e.2 += c.advisory;
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<28} {:>8} {:>8} {:>9}",
        "check", "passed", "failed", "advisory"
    );
    for (check, (p, f, a)) in &by_check {
        let _ = writeln!(
            out,
            "{check:<28} {p:>8} {f:>8} {a:>9}{}",
            if *f > 0 {
                style.paint(RED, "  ✗")
            } else if *a > 0 {
                style.paint(YELLOW, "  ~")
            } else {
                String::new()
            }
        );
    }
    let _ = writeln!(out);
    let failures = r.distinct(r.failures());
    let advisories = r.distinct(r.advisories());
    for d in failures.iter().take(SHOWN_FAILURES) {
        entry(&mut out, &style.paint(RED, "✗"), d, r.is_known(d.first));
    }
    if failures.len() > SHOWN_FAILURES {
        let _ = writeln!(
            out,
            "… {} more distinct failures in the report files",
            failures.len() - SHOWN_FAILURES
        );
    }
    if !advisories.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            style.paint(YELLOW, "advisories (the expectation is our assumption, not the document's; they fail the gate only with --strict):")
        );
        for d in advisories.iter().take(SHOWN_ADVISORIES) {
            entry(&mut out, &style.paint(YELLOW, "~"), d, r.is_known(d.first));
        }
        if advisories.len() > SHOWN_ADVISORIES {
            let _ = writeln!(
                out,
                "… {} more distinct advisories in the report files",
                advisories.len() - SHOWN_ADVISORIES
            );
        }
    }
    if !r.transport_problems.is_empty() {
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for t in &r.transport_problems {
            *kinds.entry(t.error.kind()).or_default() += 1;
        }
        let list: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = writeln!(
            out,
            "{}: {} request(s) got no usable answer ({}); first: {} {} — {}",
            style.paint(RED, "transport"),
            r.transport_problems.len(),
            list.join(", "),
            r.transport_problems[0].version,
            r.transport_problems[0].operation,
            r.transport_problems[0].error
        );
    }
    let skipped = r.skipped();
    if skipped > 0 {
        let mut reasons: BTreeMap<&str, u64> = BTreeMap::new();
        for c in &r.coverage {
            for (why, n) in &c.skipped {
                *reasons.entry(why).or_default() += n;
            }
        }
        let list: Vec<String> = reasons
            .iter()
            .take(3)
            .map(|(w, n)| format!("{n}: {w}"))
            .collect();
        let _ = writeln!(
            out,
            "coverage: the run covered less than planned — {skipped} case(s) not sent ({}); see coverage in report.json",
            list.join("; ")
        );
    }
    if !r.leftovers.is_empty() {
        let _ = writeln!(
            out,
            "leftovers: {} resource(s) the run created could not be deleted: {}",
            r.leftovers.len(),
            r.leftovers
                .iter()
                .take(5)
                .map(|l| format!("{} {} ({})", l.version, l.id, l.reason))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if let Some(p) = &r.meta.proxy {
        let _ = writeln!(
            out,
            "proxy: requests went through {p} (HTTP(S)_PROXY; NO_PROXY bypasses it)"
        );
    }
    if let Some(why) = &r.meta.snapshots_skipped {
        let _ = writeln!(out, "snapshots: not checked ({why})");
    }
    let ops = &r.meta.operations;
    if !ops.is_empty() {
        let mut parts = Vec::new();
        if !ops.include.is_empty() {
            parts.push(format!("only {}", ops.include.join(", ")));
        }
        if !ops.exclude.is_empty() {
            parts.push(format!("not {}", ops.exclude.join(", ")));
        }
        let _ = writeln!(
            out,
            "operations: {} (--include-operation / --exclude-operation)",
            parts.join("; ")
        );
    }
    if r.meta.retried > 0 {
        let _ = writeln!(
            out,
            "retries: {} request(s) sent again after a transport error (--retries)",
            r.meta.retried
        );
    }
    out.push_str(&verdict);
    out
}

/// "N failures, M advisories (D + E distinct); R requests in S s …", as every format says.
fn verdict_line(r: &Report) -> String {
    let mut out = String::new();
    let secs = r.meta.duration_ms as f64 / 1000.0;
    let strict = if r.meta.strict {
        " (--strict: advisories fail the gate)"
    } else {
        ""
    };
    // A report of recorded traffic (`check-traffic`) sent nothing: no rate, seed or run id.
    if r.meta.run_id.is_empty() && r.meta.target.starts_with("recorded traffic") {
        let _ = writeln!(
            out,
            "{}{strict}; {} recorded exchanges checked; versions {}",
            super::text::totals(&r.totals()),
            r.meta.requests,
            r.meta.versions.join(","),
        );
        return out;
    }
    let _ = writeln!(
        out,
        "{}{}; {} requests in {:.2} s ({:.0} req/s); versions {}; seed {}; run id {}",
        super::text::totals(&r.totals()),
        if r.meta.strict {
            " (--strict: advisories fail the gate)"
        } else {
            ""
        },
        r.meta.requests,
        secs,
        r.meta.requests as f64 / secs.max(1e-9),
        r.meta.versions.join(","),
        r.meta.seed,
        r.meta.run_id,
    );
    out
}

fn entry(out: &mut String, mark: &str, d: &super::json::Distinct, known: bool) {
    let f = d.first;
    let cases = if d.cases > 1 {
        format!(" ({} cases)", d.cases)
    } else {
        String::new()
    };
    let known = if known { " [known]" } else { "" };
    let _ = writeln!(
        out,
        "{mark} [{}]{known} {} {} — {}: {}{cases}\n    expected: {}\n    actual:   {}\n    basis:    {}",
        f.id,
        d.versions.join(","),
        f.operation,
        f.check,
        f.label,
        expected(&f.expected),
        actual(&f.actual),
        basis(f),
    );
    if !f.replay.is_empty() {
        let _ = writeln!(out, "    replay:   {}", f.replay);
    }
}
