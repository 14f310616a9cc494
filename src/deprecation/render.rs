//! Text (terminal) and Markdown renderings of a [`DeprecationReport`]; JSON is its serde form.

use super::{Breakage, DeprecationReport, VersionStatus};
use crate::spec::registry::Effective;
use std::fmt::Write;

fn effective_label(e: Effective) -> &'static str {
    match e {
        Effective::Current => "current",
        Effective::Supported => "supported",
        Effective::Deprecated => "deprecated",
        Effective::Expired => "expired",
    }
}

fn days_label(v: &VersionStatus) -> String {
    match v.days_left {
        None => "-".into(),
        Some(0) => "expires today".into(),
        Some(d) if d < 0 => format!("{} days overdue", -d),
        Some(d) => format!("{d} days left"),
    }
}

fn probe_label(v: &VersionStatus) -> Option<String> {
    let p = v.probe.as_ref()?;
    let mut s = match (p.status, &p.transport_error) {
        (_, Some(e)) => format!("no answer: {e}"),
        (Some(st), None) if p.served => format!("served ({st})"),
        (Some(st), None) => format!(
            "refused: {st} {}{}",
            p.error_code.as_deref().unwrap_or(""),
            p.detail
                .as_deref()
                .map(|d| format!(" — {d}"))
                .unwrap_or_default()
        ),
        (None, None) => "no answer".into(),
    };
    if p.headers.is_empty() {
        s.push_str("; no Deprecation/Sunset/Warning header");
    } else {
        for (k, val) in &p.headers {
            let _ = write!(s, "; {k}: {val}");
        }
    }
    Some(s)
}

/// Groups the accumulated changes: added operations on one line, then one line per change.
fn breakage_lines(b: &Breakage) -> Vec<String> {
    if b.changes.is_empty() {
        return vec!["no declared changes".into()];
    }
    let added: Vec<&str> = b
        .changes
        .iter()
        .filter(|(_, c)| c.id == "operation-added")
        .map(|(_, c)| c.operation.as_str())
        .collect();
    let mut lines = Vec::new();
    if !added.is_empty() {
        lines.push(format!(
            "{} operations added: {}",
            added.len(),
            added.join(", ")
        ));
    }
    for (version, c) in b.changes.iter().filter(|(_, c)| c.id != "operation-added") {
        lines.push(format!(
            "{}{}: {} [{}, since {version}]",
            c.operation,
            c.status
                .as_deref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default(),
            c.text,
            format!("{:?}", c.level).to_lowercase()
        ));
    }
    lines
}

pub fn text(r: &DeprecationReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} versions as of {} (deprecated = fewer than {} days before Not Before; expired = on or after it)\n",
        r.api, r.as_of, r.window_days
    );
    let _ = writeln!(
        out,
        "{:<8} {:<11} {:<11} {:<11} days",
        "version", "published", "not before", "effective"
    );
    for v in &r.versions {
        let _ = writeln!(
            out,
            "{:<8} {:<11} {:<11} {:<11} {}{}",
            v.version,
            v.published,
            v.not_before.as_deref().unwrap_or("-"),
            effective_label(v.effective),
            days_label(v),
            if v.stale {
                format!("  (! still published as {})", v.published)
            } else {
                String::new()
            }
        );
    }
    if let Some(target) = &r.probed {
        let _ = writeln!(
            out,
            "\nprobe: {} per version against {target}",
            r.probe_request.as_deref().unwrap_or("one signed request")
        );
        for v in &r.versions {
            if let Some(p) = probe_label(v) {
                let _ = writeln!(out, "{:<8} {p}", v.version);
            }
        }
    }
    for v in &r.versions {
        if let Some(b) = &v.breakage {
            let _ = writeln!(out, "\nclient pinned to {} moving to {}:", b.from, b.to);
            for line in breakage_lines(b) {
                let _ = writeln!(out, "  {line}");
            }
        }
        if let Some(o) = &v.observed {
            for line in observed_lines(o) {
                let _ = writeln!(out, "  observed: {line}");
            }
        }
    }
    out
}

/// The cross-version diff's view: declared changes seen, and anything undeclared.
fn observed_lines(o: &crate::compare::versions::VersionReport) -> Vec<String> {
    let mut lines: Vec<String> = o
        .declared
        .iter()
        .map(|d| {
            format!(
                "{} {} {} — seen in {}/{} comparable case(s)",
                d.change.id,
                d.change.operation,
                d.change.location.as_deref().unwrap_or(""),
                d.observed,
                d.comparable
            )
        })
        .collect();
    lines.extend(
        o.differences
            .iter()
            .map(|d| format!("✗ {}: {}", d.kind, d.text)),
    );
    if lines.is_empty() {
        lines.push("no difference in the exercised cases".into());
    }
    lines
}

pub fn markdown(r: &DeprecationReport) -> String {
    let mut out = format!("## {} versions as of {}\n\n", r.api, r.as_of);
    let probe_col = r.probed.is_some();
    out.push_str("| version | published | Not Before | effective | days |");
    out.push_str(if probe_col { " probe |\n" } else { "\n" });
    out.push_str("|---|---|---|---|---|");
    out.push_str(if probe_col { "---|\n" } else { "\n" });
    for v in &r.versions {
        let stale = if v.stale { " ⚠️" } else { "" };
        let _ = write!(
            out,
            "| {} | {}{stale} | {} | **{}** | {} |",
            v.version,
            v.published,
            v.not_before.as_deref().unwrap_or("-"),
            effective_label(v.effective),
            days_label(v)
        );
        if probe_col {
            let _ = write!(
                out,
                " {} |",
                probe_label(v).unwrap_or_default().replace('|', "\\|")
            );
        }
        out.push('\n');
    }
    for v in &r.versions {
        if let Some(b) = &v.breakage {
            let _ = writeln!(out, "\n**Pinned to {} → {}**\n", b.from, b.to);
            for line in breakage_lines(b) {
                let _ = writeln!(out, "- {line}");
            }
        }
        if let Some(o) = &v.observed {
            for line in observed_lines(o) {
                let _ = writeln!(out, "- observed: {line}");
            }
        }
    }
    out
}
