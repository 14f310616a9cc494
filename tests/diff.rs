//! `kmsconform diff` and snapshots end to end on the embedded target.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn kmsconform(args: &[&str], report_dir: &Path) -> (Output, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_kmsconform"))
        .current_dir(root())
        .args(args)
        .arg("--report-dir")
        .arg(report_dir)
        .output()
        .unwrap();
    let report = std::fs::read(report_dir.join("report.json"))
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or_else(|_| panic!("no report: {}", String::from_utf8_lossy(&out.stderr)));
    (out, report)
}

fn findings_of<'a>(r: &'a Value, check: &str) -> Vec<&'a Value> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == check)
        .collect()
}

#[test]
fn versions_differ_only_as_declared_and_a_leak_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let (out, report) = kmsconform(
        &["diff", "--versions", "1.0..1.3", "--cases", "1"],
        dir.path(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for op in [
        "createKey key.managed_type",
        "listKeys keys[].managed_type",
        "showKey key.managed_type",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.contains("declared response-property-added 1.1 → 1.2") && l.contains(op))
            .unwrap_or_else(|| panic!("{op} not reported as declared:\n{stdout}"));
        assert!(
            !line.contains("seen in 0/"),
            "declared change not exercised: {line}"
        );
    }
    assert!(findings_of(&report, "version_diff").is_empty());

    let dir = tempfile::tempdir().unwrap();
    let (out, report) = kmsconform(
        &[
            "diff",
            "--versions",
            "1.0..1.3",
            "--cases",
            "1",
            "--fault",
            "managed-type-leak",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let diffs = findings_of(&report, "version_diff");
    assert!(
        diffs.iter().any(|f| f["label"]
            .as_str()
            .unwrap()
            .contains("declared-change-not-observed")
            && f["operation"] == "createKey"),
        "{diffs:#?}"
    );
    assert!(
        diffs.iter().any(|f| f["label"]
            .as_str()
            .unwrap()
            .contains("undeclared-difference")),
        "{diffs:#?}"
    );
}

#[test]
fn targets_compare_with_noise_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "diff",
        "--baseline",
        "embedded",
        "--candidate",
        "embedded",
        "--target-versions",
        "1.3",
        "--cases",
        "1",
    ];
    let (out, report) = kmsconform(&args, dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        findings_of(&report, "target_diff").is_empty(),
        "random ids and ciphertexts must cancel out"
    );

    let dir = tempfile::tempdir().unwrap();
    let mut with_fault = args.to_vec();
    with_fault.extend(["--fault", "wrong-field-type"]);
    let (out, report) = kmsconform(&with_fault, dir.path());
    assert_eq!(out.status.code(), Some(1));
    let diffs = findings_of(&report, "target_diff");
    assert!(
        diffs
            .iter()
            .any(|f| f["label"].as_str().unwrap().contains("key.current_version")),
        "{diffs:#?}"
    );
    assert!(
        diffs
            .iter()
            .all(|f| !f["label"].as_str().unwrap().contains(" key.id ")),
        "noise reported: {diffs:#?}"
    );
}

#[test]
fn a_changed_response_shape_leaves_a_pending_snapshot_and_fails() {
    let snaps = tempfile::tempdir().unwrap();
    let copy = |from: &Path, to: &Path| {
        for v in std::fs::read_dir(from).unwrap() {
            let v = v.unwrap().path();
            let dst = to.join(v.file_name().unwrap());
            std::fs::create_dir_all(&dst).unwrap();
            for f in std::fs::read_dir(&v).unwrap() {
                let f = f.unwrap().path();
                std::fs::copy(&f, dst.join(f.file_name().unwrap())).unwrap();
            }
        }
    };
    copy(&root().join("snapshots/scp-kms"), snaps.path());
    let dir = tempfile::tempdir().unwrap();
    let snap_dir = snaps.path().to_str().unwrap();
    let (out, report) = kmsconform(
        &[
            "run",
            "--versions",
            "1.3",
            "--cases",
            "1",
            "--snapshot-dir",
            snap_dir,
            "--checks",
            "snapshot_conformance",
        ],
        dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "committed snapshots must match: {:#?}",
        report["findings"]
    );

    let (out, report) = kmsconform(
        &[
            "run",
            "--versions",
            "1.3",
            "--cases",
            "1",
            "--snapshot-dir",
            snap_dir,
            "--checks",
            "snapshot_conformance",
            "--fault",
            "extra-undocumented-field",
            "--snapshots",
            "check",
            "--strict",
        ],
        dir.path(),
    );
    // A snapshot records what the embedded reference answered: an assumed expectation, so
    // an advisory that fails the gate only under --strict.
    assert_eq!(out.status.code(), Some(1));
    let f = findings_of(&report, "snapshot_conformance");
    assert!(
        f.iter()
            .all(|f| f["advisory"] == true && f["basis"] == "assumed"),
        "{f:#?}"
    );
    assert!(
        f.iter().any(|f| f["actual"]["diff"]
            .as_str()
            .unwrap()
            .contains("+    \"internal_state\"")),
        "{f:#?}"
    );
    assert!(snaps.path().join("1.3/lifecycle.snap.new").exists());

    let review = Command::new(env!("CARGO_BIN_EXE_kmsconform"))
        .args(["snapshots", "review", snap_dir])
        .output()
        .unwrap();
    assert_eq!(
        review.status.code(),
        Some(1),
        "pending snapshots are reported"
    );
    assert!(String::from_utf8_lossy(&review.stdout).contains("internal_state"));
    let reject = Command::new(env!("CARGO_BIN_EXE_kmsconform"))
        .args(["snapshots", "review", snap_dir, "--reject"])
        .output()
        .unwrap();
    assert_eq!(reject.status.code(), Some(0));
    assert!(!snaps.path().join("1.3/lifecycle.snap.new").exists());
}

#[test]
fn partitions_cover_the_run_without_overlap() {
    let mut total = 0u64;
    let mut cases = std::collections::BTreeSet::new();
    for k in 1..=3 {
        let dir = tempfile::tempdir().unwrap();
        let part = format!("{k}/3");
        let (out, report) = kmsconform(
            &[
                "run",
                "--versions",
                "1.3",
                "--cases",
                "1",
                "--partition",
                &part,
                "--fault",
                "accept-invalid-name",
            ],
            dir.path(),
        );
        let found = !report["findings"].as_array().unwrap().is_empty();
        assert_eq!(
            out.status.code(),
            Some(found as i32),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let positive: u64 = report["counts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["check"] == "not_a_server_error")
            .map(|c| c["passed"].as_u64().unwrap())
            .sum();
        total += positive;
        let shard: std::collections::BTreeSet<String> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["case"].as_str().unwrap().to_string())
            .collect();
        assert!(
            cases.is_disjoint(&shard),
            "a case ran in two shards: {:?}",
            cases.intersection(&shard).collect::<Vec<_>>()
        );
        cases.extend(shard);
    }
    let dir = tempfile::tempdir().unwrap();
    let (_, whole) = kmsconform(
        &[
            "run",
            "--versions",
            "1.3",
            "--cases",
            "1",
            "--fault",
            "accept-invalid-name",
            "--snapshots",
            "off",
        ],
        dir.path(),
    );
    let whole_cases: std::collections::BTreeSet<String> = whole["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["case"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        cases, whole_cases,
        "shards together find what the whole run finds"
    );
    assert!(total > 0);
}
