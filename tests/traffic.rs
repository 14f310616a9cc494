//! Recorded traffic: `run --record FILE.har` and `--format jsonl`, and `check-traffic`
//! reading our own recordings and a browser's export.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn kmsconform(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kmsconform"))
        .args(args)
        .current_dir(root())
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A clean run over every version and suite, recorded as HAR and streamed as events.
fn recorded_run(dir: &Path, extra: &[&str]) -> PathBuf {
    let har = dir.join("run.har");
    let d = dir.to_str().unwrap();
    let mut args = vec![
        "run",
        "--cases",
        "3",
        "--snapshots",
        "off",
        "--report-dir",
        d,
        "--format",
        "json",
        "--format",
        "jsonl",
        "--record",
        har.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = kmsconform(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    har
}

#[test]
fn a_clean_run_recorded_as_har_rechecks_clean_and_its_event_stream_agrees_with_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let har = recorded_run(dir.path(), &[]);
    let report = json(&dir.path().join("report.json"));
    let requests = report["meta"]["requests"].as_u64().unwrap();
    assert!(requests > 1000, "{requests} requests");
    let recording = json(&har);
    let entries = recording["log"]["entries"].as_array().unwrap();
    assert_eq!(recording["log"]["version"], "1.2");
    assert_eq!(entries.len() as u64, requests, "one entry per request sent");
    assert!(entries.iter().all(|e| e["_kmsconform"]["case"].is_string()));

    // The event stream: one JSON object per line, from run_started to run_done, one
    // exchange per request, one case_started per case, before that case's first exchange.
    let events: Vec<Value> = std::fs::read_to_string(dir.path().join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.first().unwrap()["event"], "run_started");
    assert_eq!(events.last().unwrap()["event"], "run_done");
    assert_eq!(events.last().unwrap()["requests"].as_u64(), Some(requests));
    let sent = events
        .iter()
        .filter(|e| e["event"] == "exchange" && e["sent"] == true)
        .count() as u64;
    assert_eq!(sent, requests);
    let mut started = std::collections::HashSet::new();
    for e in &events {
        match e["event"].as_str().unwrap() {
            "case_started" => assert!(started.insert(e["case"].as_str().unwrap().to_string())),
            "exchange" if e["sent"] == true => assert!(
                started.contains(e["case"].as_str().unwrap()),
                "exchange before its case started: {}",
                e["case"]
            ),
            _ => {}
        }
    }
    let outcomes = events
        .iter()
        .filter(|e| e["event"] == "check_outcome")
        .count() as u64;
    let counted: u64 = report["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["passed"].as_u64().unwrap()
                + c["failed"].as_u64().unwrap()
                + c["advisory"].as_u64().unwrap()
        })
        .sum();
    assert_eq!(
        outcomes, counted,
        "check outcomes in the stream vs the report's counts"
    );
    assert!(events.iter().any(|e| e["event"] == "suite_done"));

    // Offline, the same exchanges are as clean as they were live.
    let out_dir = tempfile::tempdir().unwrap();
    let out = kmsconform(&[
        "check-traffic",
        har.to_str().unwrap(),
        "--report-dir",
        out_dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let rechecked = json(&out_dir.path().join("report.json"));
    assert_eq!(rechecked["findings"].as_array().unwrap().len(), 0);
    let checked = rechecked["meta"]["requests"].as_u64().unwrap();
    // What is left unchecked is what no version documents: unknown versions and the
    // operations a version lacks (each named in the output).
    assert!(
        checked * 100 >= requests * 98,
        "{checked} of {requests} checked\n{}",
        text(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("recorded exchanges checked"), "{stdout}");
}

/// One planted change in a recorded response (an integer field becomes a string) fails the
/// re-check, and the finding names the field.
#[test]
fn a_planted_field_type_change_fails_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let har = recorded_run(
        dir.path(),
        &[
            "--versions",
            "1.3",
            "--suite",
            "lifecycle",
            "--suite",
            "generated",
        ],
    );
    let mut recording = json(&har);
    let entries = recording["log"]["entries"].as_array_mut().unwrap();
    let entry = entries
        .iter_mut()
        .find(|e| e["_kmsconform"]["operation"] == "showKey" && e["response"]["status"] == 200)
        .expect("a recorded showKey 200");
    let text_of = entry["response"]["content"]["text"].as_str().unwrap();
    let mut body: Value = serde_json::from_str(text_of).unwrap();
    assert!(body["key"]["current_version"].is_u64(), "{body}");
    body["key"]["current_version"] = Value::String("1".into());
    entry["response"]["content"]["text"] = Value::String(body.to_string());
    let planted = dir.path().join("planted.har");
    std::fs::write(&planted, recording.to_string()).unwrap();

    let clean = kmsconform(&["check-traffic", har.to_str().unwrap()]);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean));
    let out = kmsconform(&["check-traffic", planted.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("response_schema_conformance"), "{stdout}");
    assert!(stdout.contains("/key/current_version"), "{stdout}");
    assert!(stdout.contains("1 failure"), "{stdout}");
}

/// A HAR written the way Chromium's DevTools exports one (pages, HTTP/2 pseudo-headers,
/// base64 content, `_`-fields, a static asset, no `_kmsconform`): accepted; entries match
/// operations by method and path template under the vendor's host; the entry without a
/// version header is checked as the newest version; the secret header it recorded is in
/// no output.
#[test]
fn a_browser_export_is_accepted_and_its_recorded_signature_is_in_no_output() {
    let fixture = root().join("tests/fixtures/browser-export.har");
    let secret = json(&fixture)["log"]["entries"][0]["request"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "scp-signature")
        .unwrap()["value"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = kmsconform(&[
        "check-traffic",
        fixture.to_str().unwrap(),
        "--report-dir",
        d,
        "--format",
        "json",
        "--format",
        "html",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("3 of 4 entries checked"), "{stdout}");
    assert!(
        stdout.contains("no operation of the spec matches GET /static/app.4f3c2.js"),
        "{stdout}"
    );
    let report = json(&dir.path().join("report.json"));
    let counted: Vec<(&str, &str)> = report["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["operation"].as_str().unwrap(),
                c["version"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(counted.contains(&("showKey", "1.3")), "{counted:?}");
    assert!(counted.contains(&("listKeys", "1.3")), "{counted:?}");

    // The same export with the list body broken: a finding, exit 1, still no secret.
    let mut broken = json(&fixture);
    broken["log"]["entries"][1]["response"]["content"]["text"] = Value::String(format!(
        "{{\"count\":\"many\",\"keys\":[],\"sig\":\"{secret}\"}}"
    ));
    let broken_path = dir.path().join("broken.har");
    std::fs::write(&broken_path, broken.to_string()).unwrap();
    let bad = kmsconform(&[
        "check-traffic",
        broken_path.to_str().unwrap(),
        "--report-dir",
        d,
        "--format",
        "json",
        "--format",
        "html",
    ]);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    let mut outputs = vec![text(&out), text(&bad)];
    for f in ["report.json", "report.html"] {
        outputs.push(std::fs::read_to_string(dir.path().join(f)).unwrap());
    }
    for o in &outputs {
        assert!(!o.contains(&secret), "the recorded signature leaked:\n{o}");
    }
}

#[test]
fn bad_recordings_and_flags_are_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str, content: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.to_str().unwrap().to_string()
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![p("garbage.har", "not json at all")],
            "is not a HAR file",
        ),
        (
            vec![dir.path().join("missing.har").display().to_string()],
            "cannot read",
        ),
        (
            vec![p("empty.har", r#"{"log":{"version":"1.2","entries":[]}}"#)],
            "the HAR has no entries",
        ),
        (
            vec![p(
                "foreign.har",
                r#"{"log":{"version":"1.2","entries":[{"request":{"method":"GET","url":"https://example.com/index.html"},"response":{"status":200}}]}}"#,
            )],
            "no operation of the spec matches GET /index.html",
        ),
        (
            vec![
                root()
                    .join("tests/fixtures/browser-export.har")
                    .display()
                    .to_string(),
                "--versions".into(),
                "7.7".into(),
            ],
            "7.7",
        ),
        (
            vec![
                root()
                    .join("tests/fixtures/browser-export.har")
                    .display()
                    .to_string(),
                "--report-dir".into(),
                dir.path().display().to_string(),
                "--format".into(),
                "jsonl".into(),
            ],
            "jsonl",
        ),
    ];
    for (args, needle) in cases {
        let mut argv = vec!["check-traffic"];
        argv.extend(args.iter().map(String::as_str));
        let out = kmsconform(&argv);
        assert_eq!(out.status.code(), Some(2), "{argv:?}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{argv:?}: {err}");
    }
    // `run`: jsonl needs a report directory; a recording path that is a directory.
    let out = kmsconform(&["run", "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--report-dir"));
    let out = kmsconform(&["run", "--record", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a directory"));
}

/// The matching reads each API's profile: NCP (version in the server URL) and OTC (version
/// in the path) recordings re-check clean, with their own operations.
#[test]
fn recordings_of_the_ncp_and_otc_apis_recheck_clean() {
    let dir = tempfile::tempdir().unwrap();
    for api in ["ncp-kms", "otc-kms"] {
        let har = dir.path().join(format!("{api}.har"));
        let out = kmsconform(&[
            "run",
            "--api",
            api,
            "--snapshots",
            "off",
            "--record",
            har.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{api}: {}", text(&out));
        let entries = json(&har)["log"]["entries"].as_array().unwrap().len();
        let report_dir = dir.path().join(api);
        let out = kmsconform(&[
            "check-traffic",
            "--api",
            api,
            har.to_str().unwrap(),
            "--report-dir",
            report_dir.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{api}: {}", text(&out));
        let report = json(&report_dir.join("report.json"));
        let checked = report["meta"]["requests"].as_u64().unwrap() as usize;
        // OTC's run asks for a version the API does not have (/v9.9/…): no operation matches.
        assert!(
            checked + 1 >= entries && checked > 10,
            "{api}: {checked} of {entries}\n{}",
            text(&out)
        );
        assert_eq!(report["meta"]["api"], api);
    }
}
