//! `spec import` / `spec lint` end to end: the committed specs are reproducible, bad vendor
//! documents fail cleanly (exit 2, line named, nothing written), and the importer is general.

use std::path::{Path, PathBuf};
use std::process::Command;

const VENDOR_DOC: &str = "specs/scp-kms/vendor/kms-openapi-reference.txt";

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kmsconform"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn import_into(doc: &Path, out: &Path, overlay: Option<&Path>, api: &str) -> std::process::Output {
    let mut c = bin();
    c.current_dir(root())
        .args(["spec", "import"])
        .arg(doc)
        .args(["--api", api, "--out"])
        .arg(out);
    if let Some(o) = overlay {
        c.arg("--overlay").arg(o);
    }
    c.output().expect("run kmsconform")
}

#[test]
fn committed_specs_are_byte_identical_to_a_fresh_import() {
    let tmp = tempfile::tempdir().unwrap();
    let overlay = root().join("specs/scp-kms/overlay.json");
    let out = import_into(
        &root().join(VENDOR_DOC),
        tmp.path(),
        Some(&overlay),
        "scp-kms",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in [
        "1.0.json",
        "1.1.json",
        "1.2.json",
        "1.3.json",
        "versions.json",
    ] {
        let fresh = std::fs::read(tmp.path().join(f)).unwrap();
        let committed = std::fs::read(root().join("specs/scp-kms").join(f)).unwrap();
        assert!(
            fresh == committed,
            "{f} differs from a fresh import: re-run `kmsconform spec import` and commit"
        );
    }
}

#[test]
fn versions_have_the_documented_operation_counts_and_declared_changes() {
    let reg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root().join("specs/scp-kms/versions.json")).unwrap())
            .unwrap();
    let v = reg["versions"].as_array().unwrap();
    let counts: Vec<(String, u64)> = v
        .iter()
        .map(|e| {
            (
                e["version"].as_str().unwrap().into(),
                e["operations"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("1.0".into(), 18),
            ("1.1".into(), 18),
            ("1.2".into(), 21),
            ("1.3".into(), 21)
        ]
    );
    let statuses: Vec<&str> = v.iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(
        statuses,
        ["DEPRECATED", "SUPPORTED", "SUPPORTED", "CURRENT"]
    );
    assert_eq!(v[0]["not_before"], "2025-12-31");
    let changes_12: Vec<(String, String, String)> = v[2]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().into(),
                c["operation"].as_str().unwrap().into(),
                c["location"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    for want in [
        ("response-property-added", "createKey", "key.managed_type"),
        ("response-property-added", "listKeys", "keys[].managed_type"),
        ("response-property-added", "showKey", "key.managed_type"),
        ("operation-added", "listManagedKeys", ""),
        ("operation-added", "showManagedKey", ""),
        ("operation-added", "updateManagedKeyDescription", ""),
    ] {
        assert!(
            changes_12.contains(&(want.0.into(), want.1.into(), want.2.into())),
            "missing {want:?} in {changes_12:?}"
        );
    }
    assert_eq!(changes_12.len(), 6, "{changes_12:?}");
    assert!(v[1]["changes"].as_array().unwrap().is_empty());
    assert!(v[3]["changes"].as_array().unwrap().is_empty());
}

fn broken_doc(edit: impl FnOnce(String) -> String) -> tempfile::NamedTempFile {
    let text = std::fs::read_to_string(root().join(VENDOR_DOC)).unwrap();
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), edit(text)).unwrap();
    f
}

fn assert_clean_failure(doc: &Path, want_in_message: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    let overlay = root().join("specs/scp-kms/overlay.json");
    let out = import_into(doc, &out_dir, Some(&overlay), "scp-kms");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains(want_in_message),
        "expected '{want_in_message}' in: {stderr}"
    );
    assert!(!out_dir.exists(), "nothing may be written on failure");
}

#[test]
fn truncated_document_names_the_line_and_writes_nothing() {
    let doc = broken_doc(|t| t.lines().take(2000).collect::<Vec<_>>().join("\n"));
    assert_clean_failure(doc.path(), "line ");
}

#[test]
fn foreign_document_is_rejected() {
    let doc = broken_doc(|_| "# Some other API\nGET /foo returns bar\n".into());
    assert_clean_failure(doc.path(), "not a vendor API reference");
}

#[test]
fn unknown_model_reference_names_the_line() {
    let doc = broken_doc(|t| {
        t.replacen(
            "| KeyRotateInfoRequest | |",
            "| KeyRotateInfoRequestX | |",
            1,
        )
    });
    assert_clean_failure(doc.path(), "line 40: operation 'Change Rotate Info' (1.3), parameter 'body': unknown model reference 'KeyRotateInfoRequestX'");
}

#[test]
fn malformed_table_row_names_the_line() {
    let doc = broken_doc(|t| {
        t.replacen(
            "| 200 | OK | KeyShowResponse |",
            "| 2xx | OK | KeyShowResponse |",
            1,
        )
    });
    assert_clean_failure(doc.path(), "malformed HTTP status '2xx'");
    let doc = broken_doc(|t| {
        t.replacen(
            "| any of [integer, null] | 20 |",
            "| any of [integer, null | 20 |",
            1,
        )
    });
    assert_clean_failure(doc.path(), "unrecognised schema expression");
}

#[test]
fn api_mismatch_with_overlay_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let overlay = root().join("specs/scp-kms/overlay.json");
    let out = import_into(
        &root().join(VENDOR_DOC),
        &tmp.path().join("o"),
        Some(&overlay),
        "other-api",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not match the overlay"));
}

#[test]
fn importer_is_general_over_the_vendor_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let out = import_into(
        &root().join("tests/fixtures/widget-service.txt"),
        tmp.path(),
        None,
        "widget",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v21: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("2.1.json")).unwrap()).unwrap();
    let op = &v21["paths"]["/v2/widgets/{widget_id}"]["get"];
    assert_eq!(op["operationId"], "showWidget");
    assert_eq!(
        op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/WidgetShowResponse"
    );
    assert_eq!(
        v21["components"]["schemas"]["Widget"]["properties"]["color"]["anyOf"][0]["pattern"],
        "^[a-z]+$"
    );
    let reg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("versions.json")).unwrap()).unwrap();
    assert_eq!(reg["versions"][0]["version"], "2.0");
    assert_eq!(
        reg["versions"][1]["changes"][0]["id"],
        "response-status-added"
    );
}

#[test]
fn lint_reports_vendor_inconsistencies_and_exits_zero_on_warnings_only() {
    let out = bin()
        .current_dir(root())
        .args([
            "spec",
            "lint",
            "specs/scp-kms",
            "--as-of",
            "2026-11-22",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let findings: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let has = |rule: &str, loc_part: &str| {
        findings
            .iter()
            .any(|f| f["rule"] == rule && f["location"].as_str().unwrap().contains(loc_part))
    };
    assert!(
        has("example-schema-mismatch", "Key/properties/delete_at"),
        "delete_at example vs date-time"
    );
    assert!(has("response-example-missing", "verifyData"));
    assert!(has(
        "optional-always-present",
        "KeyCreateMasterKeyRequest/properties/tags"
    ));
    assert!(has(
        "pattern-suspicious-range",
        "ManagedKey/properties/name"
    ));
    assert!(has("version-past-not-before", "version 1.1"));
    assert!(has("version-status-stale", "version 1.2"));
    assert!(has("responses-inferred", "showKey"));
    // The project's own decisions are listed next to the document's defects.
    let assumed = |loc_part: &str, msg_part: &str| {
        findings.iter().any(|f| {
            f["rule"] == "basis-assumed"
                && f["severity"] == "info"
                && f["location"].as_str().unwrap().contains(loc_part)
                && f["message"].as_str().unwrap().contains(msg_part)
        })
    };
    assert!(assumed(
        "#/components/schemas/KeyCreateMasterKeyRequest/properties/rotate_cycle",
        "minimum, maximum: the document gives no bounds for rotate_cycle"
    ));
    assert!(assumed(
        "listKeys (GET /v1/kms/transit) parameters/size/schema/anyOf/0",
        "minimum, maximum: "
    ));
    // The list of statuses' basis is the operation's, per keyword (`responses`).
    assert!(assumed(
        "listKeys (GET /v1/kms/transit)",
        "responses: the document prints no Responses table for listKeys in 1.3; its statuses are copied from 1.1"
    ));
    // 401 wherever the signature applies: the document prints it on the data plane only.
    assert!(assumed(
        "createKey (POST /v1/kms/transit) responses/401",
        "401 for a request whose signature is refused is our decision"
    ));
    assert!(
        !findings.iter().any(|f| f["rule"] == "basis-assumed"
            && f["location"]
                .as_str()
                .unwrap()
                .contains("encryptData (POST /v1/kms/openapi/encrypt/{key_id}) responses/401")),
        "the data plane's 401 is documented"
    );
    assert!(assumed(
        "showManagedKey (GET /v1/managed-kms/transit/{key_id}) responses/404",
        "404 for an unknown key id"
    ));
    assert!(
        !findings
            .iter()
            .any(|f| f["rule"] == "basis-assumed"
                && f["location"].as_str().unwrap().contains("purpose")),
        "observed and documented bases are not listed"
    );
    assert!(
        findings.iter().all(|f| f["severity"] != "error"),
        "the committed specs must be structurally valid"
    );
}

#[test]
fn lint_errors_on_a_broken_spec_and_rejects_garbage() {
    let tmp = tempfile::tempdir().unwrap();
    for f in [
        "1.0.json",
        "1.1.json",
        "1.2.json",
        "1.3.json",
        "versions.json",
        "profile.json",
    ] {
        std::fs::copy(root().join("specs/scp-kms").join(f), tmp.path().join(f)).unwrap();
    }
    let p = tmp.path().join("1.3.json");
    let text = std::fs::read_to_string(&p).unwrap().replacen(
        "#/components/schemas/KeyShowResponse\"",
        "#/components/schemas/Nope\"",
        1,
    );
    std::fs::write(&p, text).unwrap();
    let out = bin()
        .args(["spec", "lint"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ref-unresolved"));

    std::fs::write(&p, "{ not json").unwrap();
    let out = bin()
        .args(["spec", "lint"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1.3.json: not valid JSON"));
}

/// The vendor document's inconsistencies, pinned: a new vendor revision or an importer
/// change that alters them shows up as a snapshot diff (insta).
#[test]
fn lint_findings_are_pinned() {
    let out = bin()
        .current_dir(root())
        .args([
            "spec",
            "lint",
            "specs/scp-kms",
            "--as-of",
            "2026-11-22",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let findings: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let summary: Vec<String> = findings
        .iter()
        .map(|f| {
            format!(
                "{} {} [{}] {}",
                f["severity"].as_str().unwrap(),
                f["rule"].as_str().unwrap(),
                f["versions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect::<Vec<_>>()
                    .join(","),
                f["location"].as_str().unwrap()
            )
        })
        .collect();
    insta::with_settings!({snapshot_path => "../snapshots/kmsconform", prepend_module_to_snapshot => false}, {
        insta::assert_yaml_snapshot!("spec_lint_scp_kms", summary);
    });
}

// ---- `--from openapi`: OpenBao's own documents (specs/openbao-transit) ----

const OPENBAO_VERSIONS: [&str; 2] = ["2.6.1", "2.7.2"];

fn import_openapi(doc: &Path, out: &Path, version: &str) -> std::process::Output {
    bin()
        .current_dir(root())
        .args(["spec", "import", "--from", "openapi"])
        .arg(doc)
        .args(["--api", "openbao-transit", "--paths", "/transit/"])
        .args(["--version", version, "--overlay"])
        .arg(root().join("specs/openbao-transit/overlay.json"))
        .arg("--out")
        .arg(out)
        .output()
        .expect("run kmsconform")
}

fn openbao_vendor(version: &str) -> PathBuf {
    root().join(format!(
        "specs/openbao-transit/vendor/openapi-{version}.json"
    ))
}

#[test]
fn committed_openbao_specs_are_byte_identical_to_a_fresh_import_in_either_order() {
    for order in [OPENBAO_VERSIONS, ["2.7.2", "2.6.1"]] {
        let tmp = tempfile::tempdir().unwrap();
        for v in order {
            let out = import_openapi(&openbao_vendor(v), tmp.path(), v);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        for f in ["2.6.1.json", "2.7.2.json", "versions.json"] {
            let fresh = std::fs::read(tmp.path().join(f)).unwrap();
            let committed = std::fs::read(root().join("specs/openbao-transit").join(f)).unwrap();
            assert!(
                fresh == committed,
                "{f} differs from a fresh import ({order:?}): re-run the commands of specs/openbao-transit/vendor/README.md and commit"
            );
        }
    }
}

#[test]
fn openbao_registry_ranks_releases_and_declares_the_changes() {
    let reg: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root().join("specs/openbao-transit/versions.json")).unwrap(),
    )
    .unwrap();
    let v = reg["versions"].as_array().unwrap();
    let rows: Vec<(&str, &str, u64)> = v
        .iter()
        .map(|e| {
            (
                e["version"].as_str().unwrap(),
                e["status"].as_str().unwrap(),
                e["operations"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows, [("2.6.1", "SUPPORTED", 42), ("2.7.2", "CURRENT", 42)]);
    assert!(v.iter().all(|e| e["not_before"].is_null()));
    let ids: Vec<(&str, &str)> = v[1]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c["operation"].as_str().unwrap()))
        .collect();
    assert!(
        ids.contains(&("request-body-added", "transit-rotate-key")),
        "{ids:?}"
    );
    assert!(
        ids.contains(&("request-property-default-changed", "transit-sign")),
        "{ids:?}"
    );
    let doc: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root().join("specs/openbao-transit/2.7.2.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], "{origin}/v1");
    assert_eq!(
        doc["components"]["securitySchemes"]["token"]["name"],
        "X-Vault-Token"
    );
    assert_eq!(
        doc["paths"]["/transit/encrypt/{name}"]["post"]["operationId"],
        "transit-encrypt"
    );
}

#[test]
fn openapi_import_errors_exit_2_naming_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    let case = |doc: &Path, want: &str| {
        let out = import_openapi(doc, &out_dir, "2.7.2");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
        assert!(stderr.contains(want), "expected '{want}' in: {stderr}");
        assert!(!out_dir.exists(), "nothing may be written on failure");
    };
    case(
        &tmp.path().join("missing.json"),
        "cannot read vendor document",
    );
    let write = |name: &str, text: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    case(&write("garbage.json", "{ not json"), "not a JSON document");
    case(
        &write(
            "v31.json",
            r#"{"openapi": "3.1.0", "info": {"version": "2.7.2"}, "paths": {}}"#,
        ),
        "not an OpenAPI 3.0 document",
    );
    case(
        &write(
            "other.json",
            r#"{"openapi": "3.0.2", "info": {"version": "2.7.2"}, "paths": {"/sys/health": {}}}"#,
        ),
        "no path matches",
    );
    // The document says 2.6.1: importing it as 2.7.2 is refused.
    case(&openbao_vendor("2.6.1"), "info.version is '2.6.1'");
}

#[test]
fn openbao_lint_reports_the_documents_gaps() {
    let out = bin()
        .current_dir(root())
        .args(["spec", "lint", "specs/openbao-transit", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let findings: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let count = |rule: &str| findings.iter().filter(|f| f["rule"] == rule).count();
    // Operations the overlay does not fill keep the document's "200: OK" without a schema.
    assert!(count("response-schema-missing") >= 20, "{findings:?}");
    // Every operation's error statuses come from the overlay, not the document.
    assert_eq!(count("responses-inferred"), 42);
    assert!(count("format-unknown") >= 1, "format 'seconds'");
    assert!(
        count("parameter-required-default") >= 1,
        "source default platform"
    );
    assert!(findings.iter().all(|f| f["severity"] != "error"));
    assert!(findings
        .iter()
        .all(|f| f["versions"].as_array().unwrap().len() == 2
            || f["rule"] == "request-example-missing"));
}

/// A minimal profile, so that `spec lint` can load an imported widget directory.
const WIDGET_PROFILE: &str = r#"{
    "api": "widget",
    "auth": {"scheme": "token", "params": {"header": "X-Token"}, "env": {"token": ["WIDGET_TOKEN"]}},
    "version": {"via": "header", "name": "X-Api-Version", "format": "widget {version}"},
    "errors": {"bad_auth": {"statuses": [401], "basis": "assumed: a fixture"}, "credentials_rejected": [401]},
    "names": {"prefix": "wd", "length": 8, "alphabet": "abcdefghijklmnopqrstuvwxyz"},
    "unknown_id": "w0",
    "registry": {"statuses": {"CURRENT": "current", "DEPRECATED": "deprecated"}, "deprecation_window_days": 90}
}"#;

#[test]
fn examples_that_are_not_strict_json_are_read_leniently_and_linted() {
    let text = std::fs::read_to_string(root().join("tests/fixtures/widget-service.txt")).unwrap();
    let strict = "\"widget\": {\"id\": \"w1\", \"size\": 3, \"color\": \"red\"}\n}";
    assert_eq!(text.matches(strict).count(), 1, "the fixture changed");
    let doc = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        doc.path(),
        text.replacen(
            strict,
            "\"widget\": {\"id\": \"w1\", \"size\": 3, \"color\": \"red\",},\n}",
            1,
        ),
    )
    .unwrap();
    let line = text[..text.find(strict).unwrap()].lines().count() + 1;

    let tmp = tempfile::tempdir().unwrap();
    let out = import_into(doc.path(), tmp.path(), None, "widget");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v21: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("2.1.json")).unwrap()).unwrap();
    let media = &v21["paths"]["/v2/widgets/{widget_id}"]["get"]["responses"]["200"]["content"]
        ["application/json"];
    assert_eq!(media["example"]["widget"]["color"], "red");
    assert_eq!(
        media["x-kmsconform-example-repaired"],
        format!("trailing comma removed at line {line}; trailing comma removed at line {line}")
    );

    std::fs::write(tmp.path().join("profile.json"), WIDGET_PROFILE).unwrap();
    let out = bin()
        .args(["spec", "lint", "--format", "json"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let findings: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let not_json: Vec<&serde_json::Value> = findings
        .iter()
        .filter(|f| f["rule"] == "example-not-json")
        .collect();
    assert_eq!(not_json.len(), 1, "{findings:#?}");
    assert_eq!(not_json[0]["severity"], "warning");
    assert_eq!(
        not_json[0]["location"],
        "showWidget (GET /v2/widgets/{widget_id}) response 200 example"
    );
    assert_eq!(not_json[0]["versions"], serde_json::json!(["2.1"]));
}

fn overlay_edited(edit: impl FnOnce(String) -> String) -> tempfile::NamedTempFile {
    let text = std::fs::read_to_string(root().join("specs/scp-kms/overlay.json")).unwrap();
    let edited = edit(text.clone());
    assert_ne!(edited, text, "the edit must apply");
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), edited).unwrap();
    f
}

fn import_with_overlay(overlay: &Path) -> (Option<i32>, String, bool) {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    let out = import_into(&root().join(VENDOR_DOC), &out_dir, Some(overlay), "scp-kms");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out_dir.exists(),
    )
}

#[test]
fn overlay_bases_are_checked_and_errors_name_the_entry() {
    // A malformed basis.
    let o = overlay_edited(|t| {
        t.replacen(
            "\"minimum\": \"assumed: the document gives no bounds for rotate_cycle",
            "\"minimum\": \"guessed: the document gives no bounds for rotate_cycle",
            1,
        )
    });
    let (code, stderr, wrote) = import_with_overlay(o.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("schemaPatches.KeyCreateMasterKeyRequest: /properties/rotate_cycle/x-kmsconform-basis: minimum: 'guessed: "),
        "{stderr}"
    );
    assert!(!wrote);

    // A constraint without a basis.
    let o = overlay_edited(|t| {
        t.replacen(
            "\"maximum\": 100,",
            "\"maximum\": 100, \"multipleOf\": 5,",
            1,
        )
    });
    let (code, stderr, _) = import_with_overlay(o.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("parameterPatches.listKeys.size: /anyOf/0/multipleOf is a constraint without x-kmsconform-basis"),
        "{stderr}"
    );

    // An extra response's basis is checked too, and it must have one.
    let o = overlay_edited(|t| {
        t.replacen(
            "\"x-kmsconform-basis\": \"assumed: deleteKey's",
            "\"x-kmsconform-basis\": \"deleteKey's",
            1,
        )
    });
    let (code, stderr, _) = import_with_overlay(o.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("extraResponses.deleteKey.400: x-kmsconform-basis: "),
        "{stderr}"
    );
    let o = overlay_edited(|t| {
        t.replacen(
            "\"400\": {\n        \"description\": \"Bad Request (is_directly is not a boolean)\",",
            "\"400\": {\n        \"description\": \"Bad Request (is_directly is not a boolean)\", \"why\": 1,",
            1,
        )
    });
    let (code, stderr, _) = import_with_overlay(o.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("unknown field `why`"), "{stderr}");
}

#[test]
fn committed_specs_carry_the_bases_of_the_overlay_and_of_inferred_statuses() {
    let spec = |v: &str| -> serde_json::Value {
        serde_json::from_slice(
            &std::fs::read(root().join(format!("specs/scp-kms/{v}.json"))).unwrap(),
        )
        .unwrap()
    };
    let (v11, v13) = (spec("1.1"), spec("1.3"));
    let key = "x-kmsconform-basis";
    let list13 = &v13["paths"]["/v1/kms/transit"]["get"];
    assert_eq!(
        list13[key]["responses"],
        "assumed: the document prints no Responses table for listKeys in 1.3; its statuses are copied from 1.1"
    );
    assert!(
        list13["responses"].get(key).is_none(),
        "generators take every key of a Responses Object but x- ones for a Response"
    );
    assert!(list13["responses"]["200"][key]
        .as_str()
        .unwrap()
        .starts_with("documented: kms-openapi-reference.txt:1550 "));
    assert!(v11["paths"]["/v1/kms/transit"]["get"].get(key).is_none());
    // Every operation is signed, so every one declares 401 with the error envelope; where the
    // document prints it (the data plane) it stays documented.
    for (v, doc) in [("1.1", &v11), ("1.3", &v13)] {
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                assert!(op["security"].as_array().is_some_and(|s| !s.is_empty()));
                let r = &op["responses"]["401"];
                assert_eq!(
                    r["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorEnvelope",
                    "{v} {method} {path}"
                );
                let assumed = r
                    .get(key)
                    .and_then(|b| b.as_str())
                    .is_some_and(|b| b.starts_with("assumed: "));
                assert_eq!(
                    assumed,
                    !path.starts_with("/v1/kms/openapi/"),
                    "{v} {method} {path}"
                );
            }
        }
    }
    // Operations are grouped by URL prefix (overlay tags): keys, crypto, managed-keys.
    let names: Vec<&str> = v13["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["keys", "crypto", "managed-keys"]);
    assert_eq!(
        v11["tags"].as_array().unwrap().len(),
        2,
        "1.1 has no managed keys"
    );
    assert_eq!(
        v13["paths"]["/v1/kms/openapi/encrypt/{key_id}"]["post"]["tags"],
        serde_json::json!(["crypto"])
    );
    // The version header is a one-value enum (generators refuse a `const` optional header).
    assert_eq!(
        v13["components"]["parameters"]["ApiVersion"]["schema"],
        serde_json::json!({"type": "string", "enum": ["kms 1.3"]})
    );
    // The vendor's "20251008" stays, beside the date-time it contradicts.
    let media = &v13["paths"]["/v1/kms/transit/{key_id}"]["get"]["responses"]["200"]["content"]
        ["application/json"];
    assert!(media.get("example").is_none());
    assert_eq!(media["x-vendor-example"]["key"]["delete_at"], "20251008");
    let schemas = &v13["components"]["schemas"];
    let delete_at = &schemas["KeyV1Dot2"]["properties"]["delete_at"];
    assert!(delete_at.get("examples").is_none());
    assert_eq!(
        delete_at["x-vendor-examples"],
        serde_json::json!(["20251008"])
    );
    assert_eq!(
        schemas["KeyV1Dot2"]["properties"]["created_at"]["examples"],
        serde_json::json!(["2024-05-17T00:23:17Z"])
    );
    assert!(
        list13["parameters"][0]["schema"]["anyOf"][0][key]["maximum"]
            .as_str()
            .unwrap()
            .starts_with("assumed: ")
    );
    let schemas = &v13["components"]["schemas"];
    assert!(
        schemas["KeyRotateInfoRequest"]["properties"]["rotate_cycle"]["anyOf"][0][key]["minimum"]
            .as_str()
            .unwrap()
            .starts_with("assumed: ")
    );
    assert!(
        schemas["KeyCreateMasterKeyRequest"]["properties"]["purpose"][key]["enum"]
            .as_str()
            .unwrap()
            .starts_with("observed: protocols.md §2 ")
    );
    assert!(schemas["ErrorEnvelope"][key]
        .as_str()
        .unwrap()
        .starts_with("observed: protocols.md §2 "));
    assert!(
        v13["paths"]["/v1/managed-kms/transit/{key_id}"]["get"]["responses"]["404"][key]
            .as_str()
            .unwrap()
            .starts_with("assumed: ")
    );
}
