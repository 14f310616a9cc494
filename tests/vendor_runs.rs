//! `kmsconform run --api ncp-kms|otc-kms` end to end against their embedded references: the
//! same engine, driven by each API's profile, spec and suites. A clean reference gives no
//! finding (exit 0, snapshots checked); every fault of each catalogue is caught by the check
//! meant for it, as a failure where the broken expectation is documented or observed and as
//! an advisory where it is our assumption.

use kmsconform::reference::embedded;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    Fails,
    Advisory,
}

/// NCP: which check catches each fault, and on what ground.
const NCP: &[(&str, &str, Gate)] = &[
    // The page's required column is '-' for every field; required-ness is our reading of
    // its example.
    (
        "drop-required-field",
        "response_schema_conformance",
        Gate::Advisory,
    ),
    // keyId is documented as Integer (ncp-kms-get-key.txt:33).
    (
        "wrong-field-type",
        "response_schema_conformance",
        Gate::Fails,
    ),
    // 401 is observed (protocols.md §3).
    ("auth-error-403", "status_code_conformance", Gate::Fails),
    ("auth-ignored", "ignored_auth", Gate::Fails),
    // The 5-minute window is observed (protocols.md §3).
    ("stale-timestamp-accepted", "ignored_auth", Gate::Fails),
    // The example answers code SUCCESS and the key in data (ncp-kms-get-key.txt:79-83).
    ("envelope-missing", "resource_availability", Gate::Fails),
    // The gateway's 401 body shape is observed with its status.
    ("error-envelope-missing", "version_shape", Gate::Fails),
    // Dates are documented as Long milliseconds (ncp-kms-get-key.txt:66-71).
    (
        "timestamp-iso8601",
        "response_schema_conformance",
        Gate::Fails,
    ),
    (
        "timestamp-seconds",
        "response_schema_conformance",
        Gate::Fails,
    ),
    // The page names no status for an unknown keyTag: refusing it with 404 is our reading.
    (
        "unknown-key-success",
        "negative_data_rejection",
        Gate::Advisory,
    ),
];

/// OTC: which check catches each fault, and on what ground.
const OTC: &[(&str, &str, Gate)] = &[
    // One object, observed (protocols.md §4) and the page's example.
    ("key-info-array", "response_schema_conformance", Gate::Fails),
    // key_state is documented as required (otc-kms-describe-key.txt:64).
    (
        "drop-required-field",
        "response_schema_conformance",
        Gate::Fails,
    ),
    ("bad-body-500", "not_a_server_error", Gate::Fails),
    ("auth-ignored", "ignored_auth", Gate::Fails),
    ("stale-date-accepted", "ignored_auth", Gate::Fails),
    // The error body is documented (otc-kms-describe-key.txt:93).
    (
        "error-envelope-flat",
        "response_schema_conformance",
        Gate::Fails,
    ),
    // The page's text says seconds, its example milliseconds: our reading is an assumption.
    (
        "timestamp-seconds",
        "response_schema_conformance",
        Gate::Advisory,
    ),
    // creation_date is documented as String (otc-kms-describe-key.txt:56).
    (
        "timestamp-number",
        "response_schema_conformance",
        Gate::Fails,
    ),
    // The page prints no status for an unknown key: 404 is our assumption.
    ("unknown-key-400", "negative_data_rejection", Gate::Advisory),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(api: &str, extra: &[&str]) -> (i32, Value) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kmsconform"))
        .current_dir(root())
        .args(["run", "--api", api, "--report-dir"])
        .arg(dir.path())
        .args(extra)
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    let report = std::fs::read(dir.path().join("report.json"))
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or_else(|_| {
            panic!(
                "no report (exit {code}): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    (code, report)
}

fn clean(api: &str) {
    let (code, report) = run(api, &[]);
    assert_eq!(
        code, 0,
        "findings on a correct target: {:#}",
        report["findings"]
    );
    assert_eq!(report["findings"].as_array().unwrap().len(), 0);
    assert!(report["meta"]["requests"].as_u64().unwrap() >= 15);
    // The suite ran, the bad-auth cases were sent, and the snapshots were compared.
    let passed = |check: &str| -> u64 {
        report["counts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["check"] == check)
            .map(|c| c["passed"].as_u64().unwrap())
            .sum()
    };
    assert!(
        passed("resource_availability") >= 2,
        "{:#}",
        report["counts"]
    );
    assert!(passed("ignored_auth") >= 3, "{:#}", report["counts"]);
    assert!(
        passed("snapshot_conformance") >= 1,
        "snapshots not checked: {:#}",
        report["counts"]
    );
}

fn every_fault_caught(api: &str, expected: &[(&str, &str, Gate)]) {
    let faults = embedded::faults(api).unwrap();
    for (name, _) in &faults {
        assert!(
            expected.iter().any(|e| e.0 == *name),
            "{api} fault '{name}' has no expected check in this test"
        );
    }
    assert_eq!(
        faults.len(),
        expected.len(),
        "{api}: a listed fault does not exist"
    );
    let mut missed = Vec::new();
    for &(fault, check, gate) in expected {
        let (code, report) = run(api, &["--fault", fault]);
        let of_check: Vec<&Value> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["check"] == check)
            .collect();
        let advisory_only = of_check.iter().all(|f| f["advisory"] == true);
        let want_code = if gate == Gate::Fails { 1 } else { 0 };
        if code != want_code || of_check.is_empty() || (gate == Gate::Advisory) != advisory_only {
            missed.push(format!(
                "{fault}: expected {check} as {gate:?} (exit {want_code}), got exit {code}; findings {:#}",
                report["findings"]
            ));
        }
    }
    assert!(
        missed.is_empty(),
        "{api} faults not caught:\n{}",
        missed.join("\n")
    );
}

#[test]
fn ncp_the_default_run_is_clean() {
    clean("ncp-kms");
}

#[test]
fn otc_the_default_run_is_clean() {
    clean("otc-kms");
}

#[test]
fn ncp_every_fault_is_caught_by_its_check() {
    every_fault_caught("ncp-kms", NCP);
}

#[test]
fn otc_every_fault_is_caught_by_its_check() {
    every_fault_caught("otc-kms", OTC);
}

/// Against a URL the fixtures must come from --param: a run without them stops before its
/// first request and names what is missing.
#[test]
fn a_missing_fixture_is_an_input_error_before_any_request() {
    for (api, env, param) in [
        ("ncp-kms", ["NCP_ACCESS_KEY", "NCP_SECRET_KEY"], "key_tag"),
        (
            "otc-kms",
            ["OTC_ACCESS_KEY", "OTC_SECRET_KEY"],
            "project_id",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_kmsconform"))
            .current_dir(root())
            .args(["run", "--api", api, "--target", "http://127.0.0.1:9"])
            .env(env[0], "ak")
            .env(env[1], "sk")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{api}: {err}");
        assert!(
            err.contains(param) && err.contains("--param"),
            "{api}: {err}"
        );
    }
}

/// A served reference, run by URL like any other target: the server URL as the vendor
/// writes it (with NCP's /kms/v1), the credentials from the environment and the fixtures
/// from --param. The base path is not doubled, and the run is clean.
#[test]
fn a_served_reference_run_by_url_with_its_fixtures_is_clean() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_kmsconform"))
        .current_dir(root())
        .args(["serve", "--api", "ncp-kms", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    let url = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://") && w.ends_with("/kms/v1"))
        .unwrap_or_else(|| panic!("no server URL in {banner}"))
        .to_string();
    let keys = kmsconform::reference::ncp::seeded_keys();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kmsconform"))
        .current_dir(root())
        .args(["run", "--api", "ncp-kms", "--target", &url, "--report-dir"])
        .arg(dir.path())
        .args(["--param", &format!("key_tag={}", keys[0].key_tag)])
        .args(["--param", &format!("scheduled_key_tag={}", keys[1].key_tag)])
        .env(
            "NCP_ACCESS_KEY",
            kmsconform::reference::ncp::DEFAULT_ACCESS_KEY,
        )
        .env(
            "NCP_SECRET_KEY",
            kmsconform::reference::ncp::DEFAULT_SECRET_KEY,
        )
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{:#}",
        String::from_utf8_lossy(&out.stderr),
        report["findings"]
    );
    assert_eq!(report["meta"]["requests"], 18);
}
