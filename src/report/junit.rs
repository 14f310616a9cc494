//! JUnit XML: one `<testsuite>` per version, one `<testcase>` per check × operation, one
//! `<failure>` per gating finding. Advisories (assumed expectations) and known baseline
//! findings become `<skipped>` with a message saying which, so CI stays green on them.
//! Every `<testsuite>` carries the whole run's totals as properties (`run.failures`,
//! `run.advisories`, `run.distinct_failures`, `run.distinct_advisories`, `run.gating`,
//! `run.known`): JUnit's own counts are per testcase, these are the findings every other
//! format counts.
//! Validated against the Jenkins xUnit `junit-10.xsd` in `tests/reports.rs`.

use super::text::{actual, expected, title, xml_escape};
use super::Report;
use crate::run::record::Finding;
use std::collections::BTreeMap;
use std::fmt::Write;

type CaseKey<'a> = (&'a str, &'a str);

pub fn render(r: &Report) -> String {
    // version → (check, operation) → findings; every counted pair is a testcase, and so is
    // any pair that only appears in a finding.
    let mut suites: BTreeMap<&str, BTreeMap<CaseKey, Vec<&Finding>>> = BTreeMap::new();
    for c in &r.counts {
        suites
            .entry(&c.version)
            .or_default()
            .entry((c.check.as_str(), c.operation.as_str()))
            .or_default();
    }
    for f in &r.findings {
        suites
            .entry(&f.version)
            .or_default()
            .entry((f.check.id(), f.operation.as_str()))
            .or_default()
            .push(f);
    }
    let t = r.totals();
    let new_findings = t.gating;
    let gates = |f: &Finding| !r.is_known(f) && f.gates(r.meta.strict);
    let total_cases: usize = suites.values().map(|s| s.len()).sum();
    let failing_cases = |cases: &BTreeMap<CaseKey, Vec<&Finding>>| {
        cases
            .values()
            .filter(|fs| fs.iter().any(|f| gates(f)))
            .count()
    };
    let total_failing: usize = suites.values().map(failing_cases).sum();

    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"kmsconform {}\" tests=\"{total_cases}\" failures=\"{total_failing}\" errors=\"0\" time=\"{:.3}\">",
        xml_escape(&r.meta.api),
        r.meta.duration_ms as f64 / 1000.0
    );
    for (version, cases) in &suites {
        let skipped = cases
            .values()
            .filter(|fs| !fs.is_empty() && fs.iter().all(|f| !gates(f)))
            .count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{api} {v}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{skipped}\" hostname=\"{target}\" version=\"{v}\">",
            cases.len(),
            failing_cases(cases),
            api = xml_escape(&r.meta.api),
            v = xml_escape(version),
            target = xml_escape(&r.meta.target),
        );
        out.push_str("    <properties>\n");
        for (name, value) in [
            ("seed", r.meta.seed.to_string()),
            ("new_findings", new_findings.to_string()),
            ("run.failures", t.failures.to_string()),
            ("run.advisories", t.advisories.to_string()),
            ("run.distinct_failures", t.distinct_failures.to_string()),
            ("run.distinct_advisories", t.distinct_advisories.to_string()),
            ("run.gating", t.gating.to_string()),
            ("run.known", t.known.to_string()),
        ] {
            let _ = writeln!(out, "      <property name=\"{name}\" value=\"{value}\"/>");
        }
        out.push_str("    </properties>\n");
        for ((check, operation), findings) in cases {
            let _ = write!(
                out,
                "    <testcase classname=\"{}.{}\" name=\"{} on {}\"",
                xml_escape(version),
                xml_escape(operation),
                xml_escape(check),
                xml_escape(operation)
            );
            if findings.is_empty() {
                out.push_str("/>\n");
                continue;
            }
            out.push_str(">\n");
            for f in findings {
                let element = if gates(f) { "failure" } else { "skipped" };
                let message = if r.is_known(f) {
                    format!("known failure (baseline): {}", title(f))
                } else if !gates(f) {
                    format!("advisory (assumed: {}): {}", f.basis.source, title(f))
                } else {
                    title(f)
                };
                let _ = writeln!(
                    out,
                    "      <{element} type=\"{}\" message=\"{}\">{}</{element}>",
                    xml_escape(f.check.id()),
                    xml_escape(&message),
                    xml_escape(&failure_text(f))
                );
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn failure_text(f: &Finding) -> String {
    format!(
        "finding {}\nexpected: {}\nactual:   {}\nbasis:    {}: {}\nstatus:   {}\nreplay:   {}\ncurl:     {}\n",
        f.id,
        expected(&f.expected),
        actual(&f.actual),
        f.basis.kind,
        f.basis.source,
        f.status.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
        f.replay,
        f.curl
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_suite_states_the_run_totals_and_advisories_are_skipped() {
        let xml = render(&crate::report::json::sample());
        assert_eq!(xml.matches("<testsuite ").count(), 2);
        for (name, value) in [
            ("run.failures", 3),
            ("run.advisories", 1),
            ("run.distinct_failures", 2),
            ("run.distinct_advisories", 1),
            ("run.gating", 3),
            ("run.known", 0),
        ] {
            let p = format!("<property name=\"{name}\" value=\"{value}\"/>");
            assert_eq!(xml.matches(&p).count(), 2, "{p} in {xml}");
        }
        assert_eq!(xml.matches("<failure ").count(), 3);
        assert!(xml.contains("<skipped type=\"pagination_invariants\" message=\"advisory (assumed: the document does not say what count is)"), "{xml}");
    }
}
