//! Report formats and the CI gate, end to end: JUnit validates against the Jenkins xUnit
//! schema, HTML is self-contained, no output carries a secret, baseline and merge round-trip.

use kmsconform::report::Report;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn kmsconform(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kmsconform"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("kmsconform runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// A small run of 1.3 with `fault` on, all four formats into `dir`; returns the exit code.
fn run_with_fault(dir: &Path, fault: &str, extra: &[&str]) -> i32 {
    let d = dir.to_str().unwrap();
    let mut args = vec![
        "run",
        "--cases",
        "1",
        "--versions",
        "1.3",
        "--fault",
        fault,
        "--report-dir",
        d,
    ];
    for f in ["json", "junit", "markdown", "html"] {
        args.extend(["--format", f]);
    }
    args.extend(extra);
    let (code, out) = kmsconform(&args);
    assert!(code == 0 || code == 1, "run failed ({code}): {out}");
    code
}

fn read_report(path: &Path) -> Report {
    Report::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn all_formats_are_written_and_junit_validates_against_the_published_schema() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(run_with_fault(dir.path(), "create-returns-200", &[]), 1);
    let junit = dir.path().join("report.junit.xml");
    for f in ["report.json", "report.md", "report.html"] {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
    let xsd = root().join("tests/fixtures/junit-10.xsd");
    // xmllint is required (.ci/run installs libxml2-utils): a missing validator fails.
    let out = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(&xsd)
        .arg(&junit)
        .output()
        .expect("xmllint (Debian package libxml2-utils) must be installed");
    assert!(
        out.status.success(),
        "JUnit XML does not validate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<testsuite name=\"scp-kms 1.3\""));
    assert!(xml.contains("<failure type=\"status_code_conformance\""));

    // The validator can fail: a testcase without its required name is rejected.
    let broken = dir.path().join("broken.xml");
    std::fs::write(
        &broken,
        xml.replacen("<testcase classname", "<testcase foo", 1),
    )
    .unwrap();
    let out = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(&xsd)
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!out.status.success(), "schema accepted a broken file");
}

#[test]
fn html_report_is_self_contained() {
    let dir = tempfile::tempdir().unwrap();
    run_with_fault(dir.path(), "wrong-field-type", &[]);
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert!(
        html.contains("<table class=\"diff\">"),
        "no side-by-side diff"
    );
    for external in [
        "<link", "<img", "@import", "url(", "src=", "href=", "<iframe",
    ] {
        assert!(!html.contains(external), "external resource: {external}");
    }
    // One inline script, the filter box, which loads nothing.
    assert_eq!(html.matches("<script").count(), 1);
    let script = &html[html.find("<script>").expect("inline script")..];
    let script = &script[..script.find("</script>").unwrap()];
    for load in [
        "fetch",
        "XMLHttpRequest",
        "import",
        "WebSocket",
        "http",
        "src",
        "open(",
    ] {
        assert!(
            !script.contains(load),
            "the script may load something: {load}"
        );
    }
    // With scripting off everything shows: the filter box is the only hidden element, and
    // nothing is hidden by a class until the script adds one.
    assert_eq!(html.matches(" hidden").count(), 1);
    assert!(html.contains("<div id=\"filter-box\" hidden>"));
    assert!(!html.contains("class=\"gone") && !html.contains(" gone\""));
    // Request URLs in curl lines are text, not links; only the loopback target may appear.
    for (i, _) in html.match_indices("http") {
        let rest = &html[i..];
        assert!(
            rest.starts_with("http://127.0.0.1"),
            "reference to another host: {}",
            &rest[..rest.len().min(60)]
        );
    }
}

#[test]
fn no_output_carries_the_secret_or_a_signature() {
    let dir = tempfile::tempdir().unwrap();
    // A fault that echoes key material into responses exercises the redaction path.
    run_with_fault(dir.path(), "datakey-wrapped-leaks-plaintext", &[]);
    let signature = regex::Regex::new(r"(?i)scp-signature[^$\n]{0,4}[A-Za-z0-9+/]{20,}=").unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains(kmsconform::reference::DEFAULT_SECRET_KEY),
            "{} contains the secret key",
            path.display()
        );
        assert!(
            !signature.is_match(&text),
            "{} contains a signature",
            path.display()
        );
        checked += 1;
    }
    assert_eq!(checked, 4, "expected four report files");
}

#[test]
fn baseline_round_trip_fails_only_on_new_findings() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    assert_eq!(run_with_fault(&first, "create-returns-200", &[]), 1);
    let baseline = dir.path().join("known-failures.json");
    let (code, out) = kmsconform(&[
        "baseline",
        "write",
        first.join("report.json").to_str().unwrap(),
        "--out",
        baseline.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");

    // Same findings: the gate passes, and the reports mark them known.
    let again = dir.path().join("again");
    let b = baseline.to_str().unwrap();
    assert_eq!(
        run_with_fault(&again, "create-returns-200", &["--baseline", b]),
        0
    );
    let r = read_report(&again.join("report.json"));
    assert!(!r.findings.is_empty());
    assert_eq!(r.gating().count(), 0);
    let xml = std::fs::read_to_string(again.join("report.junit.xml")).unwrap();
    assert!(xml.contains("<skipped") && !xml.contains("<failure"));

    // A finding outside the baseline fails the gate.
    let other = dir.path().join("other");
    assert_eq!(
        run_with_fault(&other, "text-content-type", &["--baseline", b]),
        1
    );
    // ...unless the failure budget allows for it.
    let r = read_report(&other.join("report.json"));
    let budget = r.gating().count().to_string();
    let budgeted = dir.path().join("budgeted");
    assert_eq!(
        run_with_fault(
            &budgeted,
            "text-content-type",
            &["--baseline", b, "--max-failures", &budget]
        ),
        0
    );
}

#[test]
fn merge_sums_counts_and_unites_findings() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run_with_fault(&a, "create-returns-200", &[]);
    run_with_fault(&b, "text-content-type", &[]);
    let (ra, rb) = (
        read_report(&a.join("report.json")),
        read_report(&b.join("report.json")),
    );
    let merged_dir = dir.path().join("merged");
    let (code, out) = kmsconform(&[
        "report",
        "merge",
        a.join("report.json").to_str().unwrap(),
        b.join("report.json").to_str().unwrap(),
        // The same part twice must not double its findings.
        b.join("report.json").to_str().unwrap(),
        "--report-dir",
        merged_dir.to_str().unwrap(),
        "--format",
        "json",
        "--format",
        "junit",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(merged_dir.join("report.junit.xml").is_file());
    let m = read_report(&merged_dir.join("report.json"));

    let sum = |r: &Report| -> (u64, u64) {
        r.counts
            .iter()
            .fold((0, 0), |(p, f), c| (p + c.passed, f + c.failed))
    };
    let (sa, sb, sm) = (sum(&ra), sum(&rb), sum(&m));
    assert_eq!(sm, (sa.0 + 2 * sb.0, sa.1 + 2 * sb.1));
    assert_eq!(m.meta.requests, ra.meta.requests + 2 * rb.meta.requests);

    let key = |r: &Report| -> std::collections::BTreeSet<(String, String)> {
        r.findings
            .iter()
            .map(|f| (f.id.clone(), f.case.clone()))
            .collect()
    };
    let union: std::collections::BTreeSet<_> = key(&ra).union(&key(&rb)).cloned().collect();
    assert_eq!(key(&m), union);
    assert_eq!(m.findings.len(), union.len(), "duplicates in the merge");
}

/// Failures, advisories and their distinct counts as one format states them.
type Numbers = (u64, u64, u64, u64);

/// "130 failures, 31 advisories (49 + 17 distinct)", the sentence the terminal, HTML and
/// Markdown share.
fn sentence(text: &str, what: &str) -> Numbers {
    let re =
        regex::Regex::new(r"(\d+) failures?, (\d+) advisor(?:y|ies) \((\d+) \+ (\d+) distinct\)")
            .unwrap();
    let all: Vec<Numbers> = re
        .captures_iter(text)
        .map(|c| {
            let n = |i: usize| c[i].parse::<u64>().unwrap();
            (n(1), n(2), n(3), n(4))
        })
        .collect();
    assert_eq!(all.len(), 1, "{what} must state the totals once: {all:?}");
    all[0]
}

#[test]
fn every_format_states_the_same_totals() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    // count-is-page-length adds advisories that survive create-returns-200 (which fails the
    // setup the stopped-key advisory would need).
    let mut args = vec!["run", "--versions", "1.0,1.3", "--cases", "1"];
    for fault in [
        "stopped-key-usable",
        "decrypt-corrupts",
        "create-returns-200",
        "wrong-field-type",
        "count-is-page-length",
    ] {
        args.extend(["--fault", fault]);
    }
    args.extend(["--report-dir", d]);
    for f in ["json", "junit", "html", "markdown"] {
        args.extend(["--format", f]);
    }
    let (code, terminal) = kmsconform(&args);
    assert_eq!(code, 1, "{terminal}");
    let summary_line = terminal
        .lines()
        .find(|l| l.contains(" distinct)") && l.contains(" requests in "))
        .unwrap_or_else(|| panic!("no summary line in {terminal}"));
    let from_terminal = sentence(summary_line, "the terminal summary line");

    // report.json: the stated totals, and the same numbers counted from its findings here.
    let text = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let t = &json["totals"];
    let n = |k: &str| t[k].as_u64().unwrap_or_else(|| panic!("totals.{k} in {t}"));
    let from_json = (
        n("failures"),
        n("advisories"),
        n("distinct_failures"),
        n("distinct_advisories"),
    );
    let findings = json["findings"].as_array().unwrap();
    let counted = |advisory: bool| {
        let of: Vec<&serde_json::Value> = findings
            .iter()
            .filter(|f| f["advisory"] == advisory)
            .collect();
        let distinct: std::collections::BTreeSet<(String, String, String)> = of
            .iter()
            .map(|f| {
                let s = |k: &str| f[k].as_str().unwrap().to_string();
                (s("check"), s("operation"), s("label"))
            })
            .collect();
        (of.len() as u64, distinct.len() as u64)
    };
    let ((nf, df), (na, da)) = (counted(false), counted(true));
    assert_eq!(
        from_json,
        (nf, na, df, da),
        "report.json totals vs its findings"
    );

    // JUnit: the run.* properties, identical in every testsuite.
    let xml = std::fs::read_to_string(dir.path().join("report.junit.xml")).unwrap();
    let prop = |name: &str| -> u64 {
        let re =
            regex::Regex::new(&format!(r#"<property name="run\.{name}" value="(\d+)"/>"#)).unwrap();
        let values: std::collections::BTreeSet<u64> = re
            .captures_iter(&xml)
            .map(|c| c[1].parse().unwrap())
            .collect();
        assert_eq!(
            values.len(),
            1,
            "run.{name} in every testsuite, once: {values:?}"
        );
        values.into_iter().next().unwrap()
    };
    assert_eq!(xml.matches("<property name=\"run.failures\"").count(), 2);
    let from_junit = (
        prop("failures"),
        prop("advisories"),
        prop("distinct_failures"),
        prop("distinct_advisories"),
    );

    // HTML: the data attributes and the sentence they sit on.
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    let attr = |name: &str| -> u64 {
        let re = regex::Regex::new(&format!(r#"data-{name}="(\d+)""#)).unwrap();
        re.captures(&html).unwrap_or_else(|| panic!("data-{name}"))[1]
            .parse()
            .unwrap()
    };
    let from_html = (
        attr("failures"),
        attr("advisories"),
        attr("distinct-failures"),
        attr("distinct-advisories"),
    );
    assert_eq!(sentence(&html, "report.html"), from_html);
    // And the sections' headings: "Failures: N (D distinct)".
    for (section, n, d) in [("Failures", nf, df), ("Advisories", na, da)] {
        let heading = format!("<h2>{section}: {n} <span class=\"n\">({d} distinct)</span></h2>");
        assert!(html.contains(&heading), "{heading}");
    }

    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    let from_markdown = sentence(&md, "report.md");

    assert!(
        na > 0 && nf > 0 && df < nf && da < na,
        "the run must give both kinds, with repeats: {from_json:?}"
    );
    for (format, numbers) in [
        ("terminal", from_terminal),
        ("junit", from_junit),
        ("html", from_html),
        ("markdown", from_markdown),
    ] {
        assert_eq!(numbers, from_json, "{format} disagrees with report.json");
    }
    eprintln!("agreed totals (failures, advisories, distinct failures, distinct advisories): {from_json:?}");
}
