//! `kmsconform run` end to end against the embedded target: a clean target gives no
//! finding (exit 0); every fault of the reference catalogue is caught by the check meant
//! for it (exit 1); the same seed gives the same report; a reported case replays.

use kmsconform::reference::Fault;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

/// Which check must catch each fault, and whether the expectation it breaks rests on the
/// vendor document or the recorded facts (a failure: exit 1) or on an assumption of ours (an
/// advisory: reported, exit 0 unless --strict). Every fault of the catalogue is listed.
const EXPECTED: &[(&str, &str, Gate)] = &[
    (
        "drop-required-field",
        "response_schema_conformance",
        Gate::Fails,
    ),
    (
        "wrong-field-type",
        "response_schema_conformance",
        Gate::Fails,
    ),
    ("extra-undocumented-field", "version_shape", Gate::Fails),
    ("create-returns-200", "status_code_conformance", Gate::Fails),
    ("text-content-type", "content_type_conformance", Gate::Fails),
    (
        "server-error-on-long-description",
        "not_a_server_error",
        Gate::Fails,
    ),
    // rotate_cycle has no documented bounds: rejecting 366 is a choice a real target may make.
    (
        "reject-long-rotate-cycle",
        "positive_data_acceptance",
        Gate::Advisory,
    ),
    (
        "accept-invalid-name",
        "negative_data_rejection",
        Gate::Fails,
    ),
    ("decrypt-corrupts", "roundtrip", Gate::Fails),
    ("ciphertext-stale-version", "ciphertext_format", Gate::Fails),
    ("rewrap-keeps-version", "rewrap_latest", Gate::Fails),
    (
        "verify-always-valid",
        "verify_rejects_tampered",
        Gate::Fails,
    ),
    (
        "hmac-verify-always-valid",
        "hmac_rejects_tampered",
        Gate::Fails,
    ),
    (
        "datakey-wrapped-leaks-plaintext",
        "datakey_consistency",
        Gate::Fails,
    ),
    ("datakey-mismatch", "datakey_consistency", Gate::Fails),
    ("description-not-persisted", "persistence", Gate::Fails),
    ("rotate-no-bump", "persistence", Gate::Fails),
    // Whether count is the total or the page length, the document does not say.
    (
        "count-is-page-length",
        "pagination_invariants",
        Gate::Advisory,
    ),
    ("size-ignored", "pagination_invariants", Gate::Fails),
    ("sort-ignored", "pagination_invariants", Gate::Fails),
    ("managed-type-leak", "version_shape", Gate::Fails),
    ("managed-kms-below-1-2", "version_shape", Gate::Fails),
    ("auth-ignored", "ignored_auth", Gate::Fails),
    // The document defines the Stop state, not that a stopped key refuses use.
    ("stopped-key-usable", "persistence", Gate::Advisory),
    ("delete-not-effective", "use_after_delete", Gate::Fails),
    // The document offers a duplicate-name check, not that create refuses a taken name.
    (
        "duplicate-name-allowed",
        "negative_data_rejection",
        Gate::Advisory,
    ),
    ("unknown-version-served", "version_shape", Gate::Fails),
    (
        "missing-version-served-oldest",
        "version_shape",
        Gate::Fails,
    ),
    ("wrong-error-status", "use_after_delete", Gate::Fails),
    (
        "error-envelope-missing",
        "response_schema_conformance",
        Gate::Fails,
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    Fails,
    Advisory,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Run with a small case count on the first and last version; returns (exit code, report).
fn run(extra: &[&str]) -> (i32, Value) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kmsconform"))
        .current_dir(root())
        .args([
            "run",
            "--cases",
            "1",
            "--versions",
            "1.0,1.3",
            "--report-dir",
        ])
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

fn checks_fired(report: &Value) -> Vec<String> {
    let mut c: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap().to_string())
        .collect();
    c.sort();
    c.dedup();
    c
}

#[test]
fn clean_target_has_no_findings_and_the_same_seed_gives_the_same_report() {
    let (code, a) = run(&["--seed", "7", "--run-id", "fixed"]);
    assert_eq!(code, 0, "findings on a correct target: {:#}", a["findings"]);
    assert!(a["meta"]["requests"].as_u64().unwrap() > 500);
    let (_, b) = run(&["--seed", "7", "--run-id", "fixed"]);
    let strip = |mut r: Value| {
        r["meta"]["duration_ms"] = Value::Null;
        r["meta"]["target"] = Value::Null;
        r
    };
    assert_eq!(strip(a), strip(b), "same seed, different report");
}

/// Every fault is caught by the check meant for it, on a target whose every open decision
/// differs from the default reference (`--variant all`): the checks that catch faults do not
/// depend on choices the document leaves open.
#[test]
fn every_fault_is_caught_by_its_check_even_with_every_variant() {
    let names: Vec<&str> = Fault::all().iter().map(|f| f.name()).collect();
    for n in &names {
        assert!(
            EXPECTED.iter().any(|e| e.0 == *n),
            "fault '{n}' has no expected check in this test"
        );
    }
    // Two at a time: the machine has two cores.
    let mut missed = Vec::new();
    for pair in EXPECTED.chunks(2) {
        let handles: Vec<_> = pair
            .iter()
            .map(|&(fault, check, gate)| {
                let (fault, check) = (fault.to_string(), check.to_string());
                std::thread::spawn(move || {
                    let (code, report) = run(&["--fault", &fault, "--variant", "all"]);
                    let fired = checks_fired(&report);
                    let advisory_only = report["findings"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|f| f["check"] == check.as_str())
                        .all(|f| f["advisory"] == true);
                    (fault, check, gate, code, fired, advisory_only)
                })
            })
            .collect();
        for h in handles {
            let (fault, check, gate, code, fired, advisory_only) = h.join().unwrap();
            let want_code = if gate == Gate::Fails { 1 } else { 0 };
            if code != want_code
                || !fired.contains(&check)
                || (gate == Gate::Advisory) != advisory_only
            {
                missed.push(format!(
                    "{fault}: expected {check} as {gate:?} (exit {want_code}), got exit {code} with {fired:?} (advisory only: {advisory_only})"
                ));
            }
        }
    }
    assert!(
        missed.is_empty(),
        "faults not caught:\n{}",
        missed.join("\n")
    );
}

/// An advisory fails the gate under --strict.
#[test]
fn strict_turns_advisories_into_failures() {
    let (code, report) = run(&["--fault", "stopped-key-usable", "--strict"]);
    assert_eq!(code, 1);
    assert_eq!(report["meta"]["strict"], true);
    assert!(checks_fired(&report).contains(&"persistence".to_string()));
}

#[test]
fn a_reported_case_replays() {
    let (_, report) = run(&["--fault", "accept-invalid-name"]);
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "negative_data_rejection")
        .expect("a finding")
        .clone();
    let case = f["case"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kmsconform"))
        .current_dir(root())
        .args([
            "replay",
            "--case",
            case,
            "--cases",
            "1",
            "--fault",
            "accept-invalid-name",
            "--report-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replayed: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    let again = replayed["findings"].as_array().unwrap();
    assert!(
        again
            .iter()
            .any(|g| g["case"] == f["case"] && g["id"] == f["id"]),
        "replay did not reproduce {case}: {again:#?}"
    );
    assert!(
        replayed["meta"]["requests"].as_u64().unwrap() < 30,
        "replay should send only what the case needs"
    );
}

#[test]
fn secrets_never_reach_the_report() {
    let (_, report) = run(&["--fault", "datakey-mismatch"]);
    let text = report.to_string();
    assert!(
        !text.contains(kmsconform::reference::DEFAULT_SECRET_KEY),
        "secret key in report"
    );
    assert!(
        !text.to_lowercase().contains("scp-signature\":"),
        "signature header in report"
    );
    for f in report["findings"].as_array().unwrap() {
        if let Some(b) = f["request"]["body"].as_object() {
            if let Some(p) = b.get("plaintext") {
                assert_eq!(p, "<redacted>");
            }
        }
    }
    assert!(!text.contains("\"plaintext\":\"") || text.contains("\"plaintext\":\"<redacted>\""));
}

#[test]
fn bad_flags_and_unreachable_targets_have_their_exit_codes() {
    let bin = env!("CARGO_BIN_EXE_kmsconform");
    let out = Command::new(bin)
        .current_dir(root())
        .args(["run", "--fault", "no-such-fault"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-fault"));
    let out = Command::new(bin)
        .current_dir(root())
        .args(["run", "--checks", "nonsense"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(bin)
        .current_dir(root())
        .args(["run", "--target", "http://127.0.0.1:9", "--timeout", "2"])
        .env("SCP_ACCESS_KEY", "a")
        .env("SCP_SECRET_KEY", "b")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(bin)
        .current_dir(root())
        .args(["run", "--target", "http://127.0.0.1:9"])
        .env_remove("SCP_ACCESS_KEY")
        .env_remove("SCP_SECRET_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SCP_ACCESS_KEY"));
}

#[test]
fn max_failures_stops_the_run_early_and_tolerates_up_to_n() {
    let (_, full) = run(&["--fault", "create-returns-200", "--snapshots", "off"]);
    let (code, early) = run(&[
        "--fault",
        "create-returns-200",
        "--snapshots",
        "off",
        "--max-failures",
        "0",
    ]);
    assert_eq!(code, 1);
    assert_eq!(early["meta"]["stopped_early"], true);
    let (f, e) = (
        full["meta"]["requests"].as_u64().unwrap(),
        early["meta"]["requests"].as_u64().unwrap(),
    );
    assert!(e < f, "an early stop sends fewer requests ({e} vs {f})");
    let n = full["findings"].as_array().unwrap().len();
    let budget = n.to_string();
    let (code, tolerated) = run(&[
        "--fault",
        "create-returns-200",
        "--snapshots",
        "off",
        "--max-failures",
        &budget,
    ]);
    assert_eq!(code, 0, "{n} findings are within a budget of {n}");
    assert_eq!(tolerated["meta"]["stopped_early"], false);
}

#[test]
fn a_rejected_valid_request_is_shrunk_to_the_minimal_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kmsconform"))
        .current_dir(root())
        .args([
            "run",
            "--versions",
            "1.3",
            "--suite",
            "generated",
            "--cases",
            "10",
            "--fault",
            "reject-long-rotate-cycle",
            "--strict",
            "--report-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    let shrunk: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["check"] == "positive_data_acceptance"
                && f["label"].as_str().unwrap().contains("(shrunk)")
        })
        .collect();
    assert_eq!(shrunk.len(), 1, "{:#}", report["findings"]);
    // The smallest rotate_cycle the fault rejects is 366; everything optional is gone.
    let body = &shrunk[0]["request"]["body"];
    assert_eq!(body["rotate_cycle"], 366, "{body:#}");
    assert!(
        body.get("tags").is_none() && body.get("key_type").is_none(),
        "{body:#}"
    );
}
