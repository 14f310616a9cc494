//! One self-contained HTML file: the verdict with the run's totals, the check × version
//! table, then the findings grouped by check, operation and versions — the distinct findings
//! of [`Report::distinct`], failures first, advisories after — each group a collapsed
//! `<details>` with its counts. In a finding, expected is neutral and the actual value is
//! highlighted. Inline CSS and one inline script (the filter box) only: no fonts, images or
//! links to other hosts, so it opens offline and from a CI artefact store. With scripting off
//! every group is still there; only the filter box stays hidden.

use super::json::Distinct;
use super::text::{actual, expected, title, totals, xml_escape as esc};
use super::Report;
use similar::{ChangeTag, TextDiff};
use std::collections::BTreeMap;
use std::fmt::Write;

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:80em}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;vertical-align:top}\
th{background:#f3f3f3;text-align:left}.ok{color:#176f2c}.bad{color:#b00020}.adv{color:#8a5a00}\
.verdict{font-size:1.15em}.n{color:#666;font-weight:normal;font-size:.9em}\
.badge{display:inline-block;border-radius:3px;padding:0 5px;font-size:.8em;font-weight:bold;color:#fff}\
.badge.fail{background:#b00020}.badge.adv{background:#a86b00}.badge.known{background:#777}\
details{margin:.3em 0}summary{cursor:pointer;padding:.2em 0}\
details.check{border:1px solid #ccc;border-radius:4px;padding:.2em .6em}\
details.check.advisory{border-color:#e2c27a;background:#fffcf2}\
details.op{margin-left:1em}.versions{margin-left:2em}.versions h4{margin:.4em 0;font-size:.95em}\
details.finding{margin-left:1em;border-left:3px solid #ddd;padding-left:.6em}\
.basis{color:#8a5a00}\
.diff{width:100%;table-layout:fixed;font:12px/1.3 monospace}.diff td{white-space:pre-wrap;word-break:break-all}\
.diff td.expected{color:#333}.diff td.actual{background:#ffe9a8;color:#000;font-weight:bold}\
code{background:#f6f6f6;padding:0 3px}pre{white-space:pre-wrap;word-break:break-all;background:#f8f8f8;padding:.4em}\
#filter-box{margin:1em 0}#filter{font:inherit;padding:3px 6px;width:28em}.gone{display:none}";

/// The filter box: shows only the operation groups whose text (check, operation, labels,
/// expected and actual values, case ids) contains what was typed; `report.html#filter=TEXT`
/// opens the report filtered. Static text, no data.
const SCRIPT: &str = "(function(){\
var box=document.getElementById('filter-box'),input=document.getElementById('filter'),\
count=document.getElementById('filter-count');box.hidden=false;\
var checks=document.querySelectorAll('details.check');\
function apply(){var q=input.value.trim().toLowerCase(),shown=0,total=0;\
checks.forEach(function(c){var name=c.querySelector('summary code').textContent.toLowerCase(),\
whole=q===''||name.indexOf(q)>=0,any=false;\
c.querySelectorAll('details.op').forEach(function(o){total++;\
var hit=whole||o.textContent.toLowerCase().indexOf(q)>=0;\
o.classList.toggle('gone',!hit);if(hit){any=true;shown++;}});\
c.classList.toggle('gone',!any);});\
count.textContent=q===''?'':shown+' of '+total+' operation groups match';}\
input.addEventListener('input',apply);\
var h=window.location.hash;if(h.indexOf('#filter=')===0){input.value=decodeURIComponent(h.slice(8));apply();}})();";

pub fn render(r: &Report) -> String {
    let t = r.totals();
    let passed = t.gating == 0 && r.transport_problems.is_empty();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width\">\
<title>kmsconform report: {api}</title><style>{STYLE}</style></head><body>\n\
<h1>kmsconform report: {api}</h1>\n\
<p class=\"verdict {cls}\"><strong>{verdict}</strong>: \
<span id=\"totals\" data-failures=\"{f}\" data-advisories=\"{a}\" data-distinct-failures=\"{df}\" \
data-distinct-advisories=\"{da}\" data-gating=\"{g}\" data-known=\"{k}\">{sentence}</span>; \
{g} fail the gate{strict}, {k} known (baseline){transport}</p>\n\
<table><tr><th>target</th><td>{target}</td></tr><tr><th>versions</th><td>{versions}</td></tr>\
<tr><th>seed</th><td>{seed}</td></tr><tr><th>run id</th><td>{run_id}</td></tr>\
<tr><th>requests</th><td>{requests}</td></tr>\
<tr><th>duration</th><td>{secs:.2} s</td></tr><tr><th>tool</th><td>{tool} {tool_version}</td></tr></table>\n",
        api = esc(&r.meta.api),
        cls = if passed { "ok" } else { "bad" },
        verdict = if passed { "passed" } else { "failed" },
        f = t.failures,
        a = t.advisories,
        df = t.distinct_failures,
        da = t.distinct_advisories,
        g = t.gating,
        k = t.known,
        sentence = esc(&totals(&t)),
        strict = if r.meta.strict {
            " (--strict: advisories too)"
        } else {
            ""
        },
        transport = if r.transport_problems.is_empty() {
            String::new()
        } else {
            format!(
                ", {} request(s) got no usable answer",
                r.transport_problems.len()
            )
        },
        target = esc(&r.meta.target),
        versions = esc(&r.meta.versions.join(", ")),
        seed = r.meta.seed,
        run_id = esc(&r.meta.run_id),
        requests = r.meta.requests,
        secs = r.meta.duration_ms as f64 / 1000.0,
        tool = esc(&r.meta.tool),
        tool_version = esc(&r.meta.tool_version),
    );
    out.push_str(&check_table(r));
    if !r.findings.is_empty() {
        out.push_str(
            "<div id=\"filter-box\" hidden><label>Filter: <input type=\"search\" id=\"filter\" \
placeholder=\"check, operation or any text of a finding\"></label> <span id=\"filter-count\" class=\"n\"></span></div>\n",
        );
    }
    let _ = writeln!(
        out,
        "<section id=\"failures\"><h2>Failures: {} <span class=\"n\">({} distinct)</span></h2>",
        t.failures, t.distinct_failures
    );
    if t.failures == 0 {
        out.push_str("<p class=\"ok\">None.</p>\n");
    }
    groups(&mut out, r, &r.distinct(r.failures()), false);
    out.push_str("</section>\n");
    let _ = writeln!(
        out,
        "<section id=\"advisories\"><h2>Advisories: {} <span class=\"n\">({} distinct)</span></h2>\n\
<p>An advisory's expectation rests on an assumption of ours (basis <em>assumed</em>), not on the vendor \
document or recorded facts; advisories fail the gate only with <code>--strict</code>.</p>",
        t.advisories, t.distinct_advisories
    );
    if t.advisories == 0 {
        out.push_str("<p class=\"ok\">None.</p>\n");
    }
    groups(&mut out, r, &r.distinct(r.advisories()), true);
    out.push_str("</section>\n");
    transport(&mut out, r);
    if !r.findings.is_empty() {
        let _ = writeln!(out, "<script>{SCRIPT}</script>");
    }
    out.push_str("</body></html>\n");
    out
}

/// Passed / failed / advisory per check (rows) and version (columns).
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
                Some((p, f, a)) => {
                    let cls = if *f > 0 {
                        "bad"
                    } else if *a > 0 {
                        "adv"
                    } else {
                        "ok"
                    };
                    let _ = write!(out, "<td class=\"{cls}\">{p} / {f} / {a}</td>");
                }
                None => out.push_str("<td>–</td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    out
}

/// Distinct findings nested as check → operation → versions, each level with its counts.
type Nested<'r, 'a> = BTreeMap<&'a str, BTreeMap<&'a str, BTreeMap<String, Vec<&'r Distinct<'a>>>>>;

fn groups(out: &mut String, r: &Report, distinct: &[Distinct], advisory: bool) {
    let mut nested: Nested = BTreeMap::new();
    for d in distinct {
        nested
            .entry(d.first.check.id())
            .or_default()
            .entry(d.first.operation.as_str())
            .or_default()
            .entry(d.versions.join(", "))
            .or_default()
            .push(d);
    }
    let cases = |ds: &mut dyn Iterator<Item = &&Distinct>| -> (usize, usize) {
        ds.fold((0, 0), |(n, k), d| (n + d.cases, k + 1))
    };
    let (kind, badge) = if advisory {
        ("advisory", "<span class=\"badge adv\">advisory</span> ")
    } else {
        ("failure", "")
    };
    for (check, ops) in &nested {
        let (n, k) = cases(&mut ops.values().flat_map(|vs| vs.values().flatten()));
        let _ = writeln!(
            out,
            "<details class=\"check {kind}\"><summary>{badge}<code>{}</code> \
<span class=\"n\">{n} finding{} · {k} distinct · {} operation{}</span></summary>",
            esc(check),
            plural(n),
            ops.len(),
            plural(ops.len()),
        );
        for (op, by_versions) in ops {
            let (n, k) = cases(&mut by_versions.values().flatten());
            let _ = writeln!(
                out,
                "<details class=\"op\"><summary><strong>{}</strong> \
<span class=\"n\">{n} finding{} · {k} distinct</span></summary>",
                esc(op),
                plural(n)
            );
            for (versions, ds) in by_versions {
                let _ = writeln!(
                    out,
                    "<div class=\"versions\"><h4>version{} {} <span class=\"n\">{} distinct</span></h4>",
                    if versions.contains(',') { "s" } else { "" },
                    esc(versions),
                    ds.len()
                );
                for d in ds {
                    finding(out, r, d);
                }
                out.push_str("</div>\n");
            }
            out.push_str("</details>\n");
        }
        out.push_str("</details>\n");
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn finding(out: &mut String, r: &Report, d: &Distinct) {
    let f = d.first;
    let badge = if r.is_known(f) {
        "<span class=\"badge known\">known</span>"
    } else if f.advisory {
        "<span class=\"badge adv\">advisory</span>"
    } else {
        "<span class=\"badge fail\">failure</span>"
    };
    let basis_line = if f.advisory {
        format!(
            " <span class=\"basis\">basis: {}: {}</span>",
            f.basis.kind,
            esc(&f.basis.source)
        )
    } else {
        String::new()
    };
    let _ = write!(
        out,
        "<details class=\"finding\"><summary>{badge} {label} <span class=\"n\">({cases} case{s})</span>{basis_line}</summary>\n\
<p>{title} <small>({id})</small></p>\n{diff}\
<p>basis: <strong>{basis}</strong> — {source}</p>\n\
<p>status: {status} · first case <code>{case}</code> · replay: <code>{replay}</code></p>\n",
        label = esc(&f.label),
        cases = d.cases,
        s = plural(d.cases),
        title = esc(&title(f)),
        id = esc(&f.id),
        diff = side_by_side(&expected(&f.expected), &actual(&f.actual)),
        basis = f.basis.kind,
        source = esc(&f.basis.source),
        status = f.status.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
        case = esc(&f.case),
        replay = esc(&f.replay),
    );
    if !f.curl.is_empty() {
        let _ = writeln!(out, "<pre>{}</pre>", esc(&f.curl));
    }
    out.push_str("</details>\n");
}

fn transport(out: &mut String, r: &Report) {
    if r.transport_problems.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<section id=\"transport\"><h2>Transport problems: {}</h2>\n<details><summary>requests that got no usable answer</summary>\n<table><tr><th>version</th><th>operation</th><th>case</th><th>error</th></tr>",
        r.transport_problems.len()
    );
    for t in &r.transport_problems {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            esc(&t.version),
            esc(&t.operation),
            esc(&t.case),
            esc(&t.error.to_string())
        );
    }
    out.push_str("</table></details></section>\n");
}

/// JSON is pretty-printed first so the diff is per field rather than one long line.
fn pretty(s: &str) -> String {
    serde_json::from_str::<serde_json::Value>(s)
        .ok()
        .filter(|v| v.is_object() || v.is_array())
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| s.to_string())
}

/// A two-column line diff: unchanged lines side by side; where they differ, the expected
/// lines (left) stay neutral and the actual ones (right) are highlighted.
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
        let _ = writeln!(out, "<tr>{}{}</tr>", cell(l, "expected"), cell(r, "actual"));
    }
    out.push_str("</table>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_by_side_highlights_the_actual_side_and_escapes() {
        let html = side_by_side(r#"{"a":1,"b":"<x>"}"#, r#"{"a":2,"b":"<x>"}"#);
        assert!(html.contains("<td class=\"expected\">  &quot;a&quot;: 1,</td><td class=\"actual\">  &quot;a&quot;: 2,</td>"), "{html}");
        assert!(html.contains("&lt;x&gt;"));
        assert!(!html.contains("<x>"));
    }

    #[test]
    fn findings_are_grouped_by_check_operation_and_versions_failures_first() {
        let html = render(&crate::report::json::sample());
        assert!(html.contains("data-failures=\"3\" data-advisories=\"1\" data-distinct-failures=\"2\" data-distinct-advisories=\"1\""), "{html}");
        assert!(html.contains(">3 failures, 1 advisory (2 + 1 distinct)</span>"));
        let at = |needle: &str| {
            html.find(needle)
                .unwrap_or_else(|| panic!("{needle} missing in {html}"))
        };
        // Failures before advisories; inside, checks in order, each with its counts.
        let sc = at("<summary><code>status_code_conformance</code>");
        let vs = at("<summary><code>version_shape</code>");
        let pi = at("advisory</span> <code>pagination_invariants</code>");
        assert!(at("id=\"failures\"") < sc && sc < vs && vs < at("id=\"advisories\""));
        assert!(at("id=\"advisories\"") < pi);
        assert!(html.contains("<code>status_code_conformance</code> <span class=\"n\">2 findings · 1 distinct · 1 operation</span>"));
        assert!(html.contains("<h4>versions 1.0, 1.3 <span class=\"n\">1 distinct</span></h4>"));
        // The advisory says so, with its basis, without opening it.
        assert!(html.contains(
            "<details class=\"check advisory\"><summary><span class=\"badge adv\">advisory</span>"
        ));
        assert!(html.contains("<span class=\"basis\">basis: assumed: the document does not say what count is</span></summary>"));
        // Collapsed: no group is open.
        assert!(!html.contains("<details open"));
        assert_eq!(html.matches("<script>").count(), 1);
        assert!(html.contains("<div id=\"filter-box\" hidden>"));
    }

    #[test]
    fn the_highlight_is_on_the_actual_value() {
        assert!(STYLE.contains(".diff td.actual{background:"));
        assert!(!STYLE.contains(".diff td.expected{background"));
    }
}
