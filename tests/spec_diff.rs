//! `spec diff`, CLI reference import and `spec drift` end to end, with pinned rule results.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kmsconform"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("run kmsconform")
}

/// (rule, level, scope, operation, location) of a JSON report.
type Row = (String, String, String, String, String);

fn rows(out: &Output) -> BTreeSet<Row> {
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let s = |f: &Value, k: &str| f[k].as_str().unwrap_or_default().to_string();
    v.as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                s(f, "id"),
                s(f, "level"),
                s(f, "scope"),
                s(f, "operation"),
                s(f, "location"),
            )
        })
        .collect()
}

fn row(id: &str, level: &str, scope: &str, op: &str, loc: &str) -> Row {
    (id.into(), level.into(), scope.into(), op.into(), loc.into())
}

#[test]
fn api_1_1_to_1_2_adds_managed_type_and_three_operations_nothing_breaking() {
    let out = run(&[
        "spec",
        "diff",
        "specs/scp-kms/1.1.json",
        "specs/scp-kms/1.2.json",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let want: BTreeSet<Row> = [
        row("operation-added", "info", "", "listManagedKeys", ""),
        row("operation-added", "info", "", "showManagedKey", ""),
        row(
            "operation-added",
            "info",
            "",
            "updateManagedKeyDescription",
            "",
        ),
        row(
            "response-property-added",
            "info",
            "",
            "createKey",
            "key.managed_type",
        ),
        row(
            "response-property-added",
            "info",
            "",
            "listKeys",
            "keys[].managed_type",
        ),
        row(
            "response-property-added",
            "info",
            "",
            "showKey",
            "key.managed_type",
        ),
    ]
    .into();
    assert_eq!(rows(&out), want);
}

#[test]
fn api_chain_1_0_to_1_3_changes_only_at_1_2() {
    let out = run(&[
        "spec",
        "diff",
        "specs/scp-kms",
        "--chain",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let got = rows(&out);
    assert_eq!(got.len(), 6);
    assert!(got.iter().all(|r| r.2 == "1.1→1.2"), "{got:?}");
}

#[test]
fn cli_revision_000_to_001_new_version_status_change_managed_commands() {
    let out = run(&[
        "spec",
        "diff",
        "specs/scp-cli/rev-000/kms",
        "specs/scp-cli/rev-001/kms",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "nothing breaking");
    let want: BTreeSet<Row> = [
        row(
            "version-status-changed",
            "warning",
            "1.1",
            "",
            "version 1.1",
        ),
        row(
            "version-not-before-changed",
            "warning",
            "1.1",
            "",
            "version 1.1",
        ),
        row("version-added", "info", "1.2", "", "version 1.2"),
        row("operation-added", "info", "1.1→1.2", "listManagedKeys", ""),
        row("operation-added", "info", "1.1→1.2", "showManagedKey", ""),
        row(
            "operation-added",
            "info",
            "1.1→1.2",
            "updateManagedKeyDescription",
            "",
        ),
        row(
            "response-property-added",
            "info",
            "1.1→1.2",
            "createKey",
            "managed_type",
        ),
        row(
            "response-property-added",
            "info",
            "1.1→1.2",
            "listKeys",
            "managed_type",
        ),
        row(
            "response-property-added",
            "info",
            "1.1→1.2",
            "showKey",
            "managed_type",
        ),
    ]
    .into();
    assert_eq!(rows(&out), want);
    // The status change is a warning: failing on warnings turns it into exit 1.
    let strict = run(&[
        "spec",
        "diff",
        "specs/scp-cli/rev-000/kms",
        "specs/scp-cli/rev-001/kms",
        "--fail-on",
        "warning",
    ]);
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn breaking_changes_exit_1_unless_relevelled() {
    let back = [
        "spec",
        "diff",
        "specs/scp-kms/1.2.json",
        "specs/scp-kms/1.1.json",
    ];
    assert_eq!(run(&back).status.code(), Some(1), "removals are breaking");
    let mut relaxed = back.to_vec();
    relaxed.extend([
        "--level",
        "operation-removed=info",
        "--level",
        "response-property-removed=warning",
    ]);
    assert_eq!(run(&relaxed).status.code(), Some(0));
    assert_eq!(
        run(&["spec", "diff", "a", "b", "--level", "nope=info"])
            .status
            .code(),
        Some(2)
    );
    let md = run(&[
        "spec",
        "diff",
        "specs/scp-kms/1.2.json",
        "specs/scp-kms/1.1.json",
        "--format",
        "markdown",
    ]);
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(md.contains("| breaking | `operation-removed` |"), "{md}");
}

const SERVICES: [&str; 5] = [
    "certificatemanager",
    "configinspection",
    "kms",
    "secretvault",
    "secretsmanager",
];

fn import(doc: &str, out: &Path) -> Output {
    run(&[
        "spec",
        "import",
        doc,
        "--api",
        "scp-cli",
        "--out",
        out.to_str().unwrap(),
    ])
}

fn same_tree(fresh: &Path, committed: &Path) {
    for e in std::fs::read_dir(committed).unwrap() {
        let name = e.unwrap().file_name();
        let (f, c) = (fresh.join(&name), committed.join(&name));
        if c.is_dir() {
            same_tree(&f, &c);
        } else {
            assert!(
                std::fs::read(&f).ok() == std::fs::read(&c).ok(),
                "{} differs from a fresh import: re-run `kmsconform spec import --api scp-cli` and commit",
                c.display()
            );
        }
    }
}

#[test]
fn both_revisions_import_every_service_reproducibly() {
    let tmp = tempfile::tempdir().unwrap();
    for (doc, rev, services) in [
        (
            "specs/scp-cli/vendor/kms-cli-reference-rev000.txt",
            "rev-000",
            &SERVICES[2..3],
        ),
        (
            "specs/scp-cli/vendor/security-cli-reference-rev001.txt",
            "rev-001",
            &SERVICES[..],
        ),
    ] {
        let out = tmp.path().join(rev);
        let o = import(doc, &out);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let dirs: BTreeSet<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(dirs, services.iter().map(|s| s.to_string()).collect());
        same_tree(&out, &root().join("specs/scp-cli").join(rev));
        for s in services {
            let dir = out.join(s);
            let reg: Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join("versions.json")).unwrap())
                    .unwrap();
            for v in reg["versions"].as_array().unwrap() {
                let spec: Value = serde_json::from_str(
                    &std::fs::read_to_string(dir.join(v["spec"].as_str().unwrap())).unwrap(),
                )
                .unwrap();
                assert!(!spec["commands"].as_array().unwrap().is_empty(), "{s}");
            }
            let chain = run(&["spec", "diff", dir.to_str().unwrap(), "--chain"]);
            assert!(matches!(chain.status.code(), Some(0 | 1)), "{s}");
        }
    }
    let kms: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("specs/scp-cli/rev-001/kms/1.1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(kms["status"], "SUPPORTED");
    assert_eq!(kms["not_before"], "2026-08-31");
    let rotate = &kms["commands"][0];
    assert_eq!(rotate["command"], "scpcli kms kms change rotate info");
    assert_eq!(rotate["flags"][1]["name"], "rotate_cycle");
    assert_eq!(rotate["flags"][1]["type"], "integer");
    assert_eq!(rotate["flags"][1]["required"], true);
}

/// Import a corrupted copy of a vendor document: exit 2, the line named, nothing written.
fn malformed(doc: &str, from: &str, to: &str, want: &str) {
    let text = std::fs::read_to_string(root().join(doc)).unwrap();
    assert!(text.contains(from));
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.txt");
    std::fs::write(&bad, text.replacen(from, to, 1)).unwrap();
    let out_dir = tmp.path().join("out");
    let o = import(bad.to_str().unwrap(), &out_dir);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(want), "{err}");
    assert!(!out_dir.exists(), "nothing may be written");
}

#[test]
fn malformed_pages_name_the_line() {
    malformed(
        "specs/scp-cli/vendor/kms-cli-reference-rev000.txt",
        "rotate_cycle required | integer | Rotation cycle | 7 |",
        "rotate_cycle required | int | Rotation cycle | 7 |",
        "line 28: unknown parameter type 'int'",
    );
    malformed(
        "specs/scp-cli/vendor/security-cli-reference-rev001.txt",
        "rotate_cycle\nrequired\nintegerRotation cycle7",
        "rotate_cycle\nmandatory\nintegerRotation cycle7",
        "line 1622: expected 'required' or 'optional' after parameter 'rotate_cycle'",
    );
    malformed(
        "specs/scp-cli/vendor/security-cli-reference-rev001.txt",
        "3.1.1.1 - 1.2\n\nscpcli kms kms change rotate info",
        "3.1.1.1 - 1.2\n\nkms change rotate info",
        "line 1601: expected the 'scpcli …' command line",
    );
}

#[test]
fn drift_reports_key_type_enum_against_free_string() {
    let out = run(&[
        "spec",
        "drift",
        "--api",
        "specs/scp-kms",
        "--cli",
        "specs/scp-cli/rev-001/kms",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "warnings fail by default");
    let got = rows(&out);
    assert!(got.contains(&row(
        "drift-enum-vs-free-string",
        "warning",
        "1.2",
        "createKey",
        "flag:key_type"
    )));
    // Every KMS command maps to an operation, and every flag to an API input.
    assert!(
        !got.iter()
            .any(|r| r.0 == "drift-command-without-operation"
                || r.0 == "drift-flag-without-parameter")
    );
}

#[test]
fn every_cli_service_lints_without_errors() {
    for s in SERVICES {
        let dir = format!("specs/scp-cli/rev-001/{s}");
        let out = run(&[
            "spec",
            "lint",
            &dir,
            "--as-of",
            "2026-01-01",
            "--format",
            "json",
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{s}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let findings: Value = serde_json::from_slice(&out.stdout).unwrap();
        let has = |rule: &str| {
            findings
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["rule"] == rule)
        };
        // KMS 1.0's Not Before (2025-12-31) has passed by 2026-01-01; the others' have not.
        assert_eq!(has("version-past-not-before"), s == "kms", "{s}");
    }
}
