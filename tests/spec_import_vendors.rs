//! `spec import` / `spec lint` for the single-page layouts (NCP, OTC): the committed specs are
//! a fresh import byte for byte, each page's document defects are pinned (insta), and an
//! overlay entry without a basis is refused.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kmsconform"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const PAGES: [(&str, &str, &str); 2] = [
    ("ncp-kms", "ncp-kms-get-key.txt", "v1.json"),
    ("otc-kms", "otc-kms-describe-key.txt", "v1.0.json"),
];

fn import(api: &str, doc: &Path, out: &Path, overlay: &Path) -> std::process::Output {
    bin()
        .current_dir(root())
        .args(["spec", "import"])
        .arg(doc)
        .args(["--api", api, "--out"])
        .arg(out)
        .arg("--overlay")
        .arg(overlay)
        .output()
        .expect("run kmsconform")
}

#[test]
fn committed_specs_are_byte_identical_to_a_fresh_import() {
    for (api, doc, spec) in PAGES {
        let dir = root().join("specs").join(api);
        let tmp = tempfile::tempdir().unwrap();
        let out = import(
            api,
            &dir.join("vendor").join(doc),
            tmp.path(),
            &dir.join("overlay.json"),
        );
        assert!(
            out.status.success(),
            "{api}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for f in [
            spec.to_string(),
            "versions.json".into(),
            format!("vendor/{doc}"),
        ] {
            let fresh = std::fs::read(tmp.path().join(&f)).unwrap();
            let committed = std::fs::read(dir.join(&f)).unwrap();
            assert!(
                fresh == committed,
                "{api}/{f} differs from a fresh import: re-run `kmsconform spec import` and commit"
            );
        }
    }
}

#[test]
fn the_vendor_copies_are_the_seed_documents_and_the_specs_model_the_operations() {
    let ncp: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root().join("specs/ncp-kms/v1.json")).unwrap())
            .unwrap();
    assert_eq!(ncp["servers"][0]["url"], "https://ocapi.ncloud.com/kms/v1");
    let op = &ncp["paths"]["/keys/{keyTag}"]["get"];
    assert_eq!(op["operationId"], "getKey");
    assert_eq!(
        ncp["components"]["schemas"]["GetKeyResponse"]["required"],
        serde_json::json!(["code", "data"])
    );
    assert_eq!(
        ncp["components"]["securitySchemes"]["ncpSignature"]["x-signer"],
        "ncp-apigw-v2"
    );
    let otc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root().join("specs/otc-kms/v1.0.json")).unwrap())
            .unwrap();
    let op = &otc["paths"]["/v1.0/{project_id}/kms/describe-key"]["post"];
    assert_eq!(op["operationId"], "describeKey");
    assert_eq!(
        op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/DescribeKeyRequest"
    );
    let req = &otc["components"]["schemas"]["DescribeKeyRequest"]["properties"];
    assert!(req["key_id"].is_object() && req["sequence"].is_object());
    assert_eq!(
        otc["components"]["schemas"]["DescribeKeyError"]["properties"]["error"]["required"],
        serde_json::json!(["error_code", "error_msg"])
    );
    assert_eq!(
        otc["components"]["securitySchemes"]["otcSignature"]["x-signer"],
        "sdk-hmac-sha256"
    );
}

#[test]
fn every_overlay_entry_carries_a_basis() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = root().join("specs/otc-kms");
    let mut overlay: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("overlay.json")).unwrap()).unwrap();
    overlay["responses"]["404"]
        .as_object_mut()
        .unwrap()
        .remove("x-kmsconform-basis");
    let bad = tmp.path().join("overlay.json");
    std::fs::write(&bad, overlay.to_string()).unwrap();
    let out_dir = tmp.path().join("out");
    let out = import(
        "otc-kms",
        &dir.join("vendor/otc-kms-describe-key.txt"),
        &out_dir,
        &bad,
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("responses.404: no x-kmsconform-basis"),
        "{stderr}"
    );
    assert!(!out_dir.exists(), "nothing may be written on failure");

    // A documented basis must point into the document.
    overlay["responses"]["404"]["x-kmsconform-basis"] =
        "documented: otc-kms-describe-key.txt:999".into();
    std::fs::write(&bad, overlay.to_string()).unwrap();
    let out = import(
        "otc-kms",
        &dir.join("vendor/otc-kms-describe-key.txt"),
        &out_dir,
        &bad,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("outside the document"));
}

#[test]
fn a_broken_example_does_not_abort_but_a_foreign_page_does() {
    // The OTC page's trailing comma is read leniently (the committed import proves it); an
    // example that is not JSON even leniently names its line.
    let tmp = tempfile::tempdir().unwrap();
    let dir = root().join("specs/otc-kms");
    let text = std::fs::read_to_string(dir.join("vendor/otc-kms-describe-key.txt")).unwrap();
    let doc = tmp.path().join("otc-kms-describe-key.txt");
    std::fs::write(
        &doc,
        text.replacen("\"origin\":\"kms\"", "\"origin\":kms", 1),
    )
    .unwrap();
    let out = import(
        "otc-kms",
        &doc,
        &tmp.path().join("o"),
        &dir.join("overlay.json"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 91: example body is not JSON"));
    std::fs::write(&doc, "# Some other API\nGET /foo returns bar\n").unwrap();
    let out = import(
        "ncp-kms",
        &doc,
        &tmp.path().join("o"),
        &root().join("specs/ncp-kms/overlay.json"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an NCP API page"));
}

fn lint_summary(api: &str) -> Vec<String> {
    let out = bin()
        .current_dir(root())
        .args([
            "spec",
            "lint",
            &format!("specs/{api}"),
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
    findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {}: {}",
                f["severity"].as_str().unwrap(),
                f["rule"].as_str().unwrap(),
                f["location"].as_str().unwrap(),
                f["message"].as_str().unwrap()
            )
        })
        .collect()
}

/// The pages' document defects, pinned: a new page revision or an importer change that alters
/// them shows up as a snapshot diff.
#[test]
fn lint_findings_are_pinned() {
    for api in ["ncp-kms", "otc-kms"] {
        let summary = lint_summary(api);
        insta::with_settings!({snapshot_path => "../snapshots/kmsconform", prepend_module_to_snapshot => false}, {
            insta::assert_yaml_snapshot!(format!("spec_lint_{}", api.replace('-', "_")), summary);
        });
    }
}

#[test]
fn lint_reports_each_known_document_defect() {
    let ncp = lint_summary("ncp-kms").join("\n");
    assert!(ncp.contains("documented-field-never-in-example #/components/schemas/GetKeyResponseData/properties/destroyDate"));
    assert!(ncp.contains("required-unspecified #/components/schemas/GetKeyResponseData"));
    let otc = lint_summary("otc-kms").join("\n");
    for want in [
        "example-documented-type-mismatch #/components/schemas/DescribeKeyResponse/properties/key_info",
        "timestamp-unit-mismatch #/components/schemas/DescribeKeyResponseKeyInfo/properties/creation_date",
        "example-not-json describeKey",
        "enum-values-missing #/components/schemas/DescribeKeyResponseKeyInfo/properties/key_state",
        "enum-values-missing #/components/schemas/DescribeKeyResponseKeyInfo/properties/origin",
    ] {
        assert!(otc.contains(want), "missing '{want}' in\n{otc}");
    }
}

/// The overlay names the page (`document`), so importing a copy under another name (e.g. the
/// seed file) gives the same specs, with the page kept under its vendor/ name.
#[test]
fn the_imported_file_name_does_not_matter() {
    for (api, doc, spec) in PAGES {
        let dir = root().join("specs").join(api);
        let tmp = tempfile::tempdir().unwrap();
        let copy = tmp.path().join("seed-copy.txt");
        std::fs::copy(dir.join("vendor").join(doc), &copy).unwrap();
        let out_dir = tmp.path().join("out");
        let out = import(api, &copy, &out_dir, &dir.join("overlay.json"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for f in [
            spec.to_string(),
            "versions.json".into(),
            format!("vendor/{doc}"),
        ] {
            assert_eq!(
                std::fs::read(out_dir.join(&f)).unwrap(),
                std::fs::read(dir.join(&f)).unwrap(),
                "{api}/{f}"
            );
        }
        assert!(!out_dir.join("vendor/seed-copy.txt").exists());
    }
}
