//! One self-contained HTML file: summary, per-version table, and each finding with a
//! side-by-side diff of expected and actual. Inline CSS only — no scripts, fonts, images or
//! links to other hosts, so it opens offline and from a CI artefact store.

use super::text::{actual, expected, title, xml_escape as esc};
use super::Report;
use crate::run::record::Finding;
use similar::{ChangeTag, TextDiff};
use std::collections::BTreeMap;
use std::fmt::Write;

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;vertical-align:top}\
th{background:#f3f3f3}.ok{color:#176f2c}.bad{color:#b00020}.known{color:#8a6d00}\
.diff{width:100%;table-layout:fixed;font:12px/1.3 monospace}.diff td{white-space:pre-wrap;word-break:break-all}\
.del{background:#fde8e8}.ins{background:#e6f6e6}details{margin:.6em 0;border:1px solid #ddd;padding:.4em}\
summary{cursor:pointer}code{background:#f6f6f6;padding:0 3px}pre{white-space:pre-wrap;word-break:break-all}";

pub fn render(r: &Report) -> String {
    let new = r.gating().count();
    let known = r.findings.iter().filter(|f| r.is_known(f)).count();
    let advisories = r.advisories().count();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width\">\
<title>kmsconform report: {api}</title><style>{STYLE}</style></head><body>\n\
<h1>kmsconform report: {api}</h1>\n<p class=\"{cls}\"><strong>{verdict}</strong>: {new} gating findings, {advisories} advisories, {known} known (baseline)</p>\n\
<table><tr><th>target</th><td>{target}</td></tr><tr><th>versions</th><td>{versions}</td></tr>\
<tr><th>seed</th><td>{seed}</td></tr><tr><th>requests</th><td>{requests}</td></tr>\
<tr><th>duration</th><td>{secs:.2} s</td></tr><tr><th>tool</th><td>{tool} {tool_version}</td></tr></table>\n",
        api = esc(&r.meta.api),
        cls = if new == 0 { "ok" } else { "bad" },
        verdict = if new == 0 { "passed" } else { "failed" },
        target = esc(&r.meta.target),
        versions = esc(&r.meta.versions.join(", ")),
        seed = r.meta.seed,
        requests = r.meta.requests,
        secs = r.meta.duration_ms as f64 / 1000.0,
        tool = esc(&r.meta.tool),
        tool_version = esc(&r.meta.tool_version),
    );
    out.push_str(&check_table(r));
    let _ = writeln!(out, "<h2>Failures ({})</h2>", r.failures().count());
    if r.failures().next().is_none() {
        out.push_str("<p class=\"ok\">None.</p>\n");
    }
    for f in r.failures() {
        out.push_str(&finding(f, r.is_known(f)));
    }
    let _ = writeln!(out, "<h2>Advisories ({advisories})</h2>\n<p>Expectations that rest on our assumptions, not on the vendor document; they fail the gate only with <code>--strict</code>.</p>");
    for f in r.advisories() {
        out.push_str(&finding(f, r.is_known(f)));
    }
    out.push_str("</body></html>\n");
    out
}

/// Passed/failed per check (rows) and version (columns).
fn check_table(r: &Report) -> String {
    let mut cells: BTreeMap<&str, BTreeMap<&str, (u64, u64, u64)>> = BTreeMap::new();
    for c in &r.counts {
        let e = cells
            .entry(&c.check)
            .or_default()
            .entry(&c.version)
            .or_default();
        e.0 += c.passed;
        e.1 += c.failed;
        e.2 += c.advisory;
    }
    let mut versions: Vec<&str> = r.counts.iter().map(|c| c.version.as_str()).collect();
    versions.sort();
    versions.dedup();
    let mut out =
        String::from("<h2>Checks (passed / failed / advisory)</h2>\n<table><tr><th>check</th>");
    for v in &versions {
        let _ = write!(out, "<th>{}</th>", esc(v));
    }
    out.push_str("</tr>\n");
    for (check, by_version) in &cells {
        let _ = write!(out, "<tr><td><code>{}</code></td>", esc(check));
        for v in &versions {
            match by_version.get(v) {
                Some((p, 0, a)) => {
                    let _ = write!(out, "<td class=\"ok\">{p} / 0 / {a}</td>");
                }
                Some((p, f, a)) => {
                    let _ = write!(out, "<td class=\"bad\">{p} / {f} / {a}</td>");
                }
                None => out.push_str("<td>–</td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    out
}

fn finding(f: &Finding, known: bool) -> String {
    let (cls, mark) = if known {
        ("known", "known")
    } else if f.advisory {
        ("known", "advisory")
    } else {
        ("bad", "new")
    };
    format!(
        "<details open><summary><span class=\"{cls}\">[{mark}]</span> <strong>{version} {operation}</strong> — \
<code>{check}</code> <small>({id})</small></summary>\n<p>{title}</p>\n{diff}\
<p>basis: <strong>{basis}</strong> — {source}</p>\n\
<p>status: {status} · case <code>{case}</code> · replay: <code>{replay}</code></p>\n\
<pre>{curl}</pre></details>\n",
        version = esc(&f.version),
        operation = esc(&f.operation),
        check = esc(f.check.id()),
        id = esc(&f.id),
        title = esc(&title(f)),
        diff = side_by_side(&expected(&f.expected), &actual(&f.actual)),
        basis = f.basis.kind,
        source = esc(&f.basis.source),
        status = f.status.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
        case = esc(&f.case),
        replay = esc(&f.replay),
        curl = esc(&f.curl),
    )
}

/// JSON is pretty-printed first so the diff is per field rather than one long line.
fn pretty(s: &str) -> String {
    serde_json::from_str::<serde_json::Value>(s)
        .ok()
        .filter(|v| v.is_object() || v.is_array())
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| s.to_string())
}

/// A two-column line diff: unchanged lines side by side, removed lines left, added right.
fn side_by_side(expected: &str, actual: &str) -> String {
    let (left, right) = (pretty(expected), pretty(actual));
    let diff = TextDiff::from_lines(&left, &right);
    let mut rows: Vec<(Option<String>, Option<String>)> = Vec::new();
    let (mut dels, mut inss): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    let flush = |rows: &mut Vec<_>, dels: &mut Vec<String>, inss: &mut Vec<String>| {
        let n = dels.len().max(inss.len());
        let (mut d, mut i) = (dels.drain(..), inss.drain(..));
        for _ in 0..n {
            rows.push((d.next(), i.next()));
        }
    };
    for change in diff.iter_all_changes() {
        let line = change.value().trim_end_matches('\n').to_string();
        match change.tag() {
            ChangeTag::Delete => dels.push(line),
            ChangeTag::Insert => inss.push(line),
            ChangeTag::Equal => {
                flush(&mut rows, &mut dels, &mut inss);
                rows.push((Some(line.clone()), Some(line)));
            }
        }
    }
    flush(&mut rows, &mut dels, &mut inss);
    let mut out = String::from("<table class=\"diff\"><tr><th>expected</th><th>actual</th></tr>\n");
    for (l, r) in rows {
        let same = l == r;
        let cell = |s: Option<String>, cls: &str| match s {
            Some(s) if same => format!("<td>{}</td>", esc(&s)),
            Some(s) => format!("<td class=\"{cls}\">{}</td>", esc(&s)),
            None => "<td></td>".to_string(),
        };
        let _ = writeln!(out, "<tr>{}{}</tr>", cell(l, "del"), cell(r, "ins"));
    }
    out.push_str("</table>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_by_side_pairs_changed_lines_and_escapes() {
        let html = side_by_side(r#"{"a":1,"b":"<x>"}"#, r#"{"a":2,"b":"<x>"}"#);
        assert!(html.contains("<td class=\"del\">  &quot;a&quot;: 1,</td><td class=\"ins\">  &quot;a&quot;: 2,</td>"), "{html}");
        assert!(html.contains("&lt;x&gt;"));
        assert!(!html.contains("<x>"));
    }
}
