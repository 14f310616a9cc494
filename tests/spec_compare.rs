//! `spec compare`: SCP showKey, NCP getKey and OTC describeKey side by side (markdown pinned
//! with insta), the JSON form, and usage errors.

use std::path::PathBuf;
use std::process::Command;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kmsconform"))
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .args(args)
        .output()
        .expect("run kmsconform")
}

const SPECS: [&str; 3] = [
    "specs/scp-kms/1.3.json",
    "specs/ncp-kms/v1.json",
    "specs/otc-kms/v1.0.json",
];

fn compare(format: &str) -> std::process::Output {
    let mut args = vec!["spec", "compare"];
    args.extend(SPECS);
    args.extend([
        "--operation",
        "showKey=getKey=describeKey",
        "--format",
        format,
    ]);
    run(&args)
}

#[test]
fn show_key_side_by_side_is_pinned() {
    let out = compare("markdown");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = String::from_utf8(out.stdout).unwrap();
    insta::with_settings!({snapshot_path => "../snapshots/kmsconform", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("spec_compare_show_key", md);
    });
}

#[test]
fn json_names_the_mappings_and_marks_guesses() {
    let out = compare("json");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sides = v["sides"].as_array().unwrap();
    assert_eq!(sides.len(), 3);
    assert_eq!(sides[1]["key_object_at"], "/data");
    assert_eq!(sides[2]["key_object_at"], "/key_info");
    let name = |side: usize, cell: &serde_json::Value| {
        sides[side]["fields"][cell.as_u64().unwrap() as usize]["name"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let rows = v["rows"].as_array().unwrap();
    let created = rows
        .iter()
        .find(|r| r["cells"][0].is_u64() && name(0, &r["cells"][0]) == "created_at")
        .unwrap();
    assert_eq!(name(1, &created["cells"][1]), "registerDate");
    assert_eq!(name(2, &created["cells"][2]), "creation_date");
    assert_eq!(created["matched"], "synonym-guess");
    let id = &rows[0];
    assert_eq!(id["matched"], "addressed");
    assert_eq!(name(1, &id["cells"][1]), "keyTag");
}

#[test]
fn operation_count_must_match_the_specs() {
    let out = run(&[
        "spec",
        "compare",
        SPECS[0],
        SPECS[1],
        "--operation",
        "showKey",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("one per spec"));
    let out = run(&[
        "spec",
        "compare",
        SPECS[0],
        SPECS[1],
        "--operation",
        "showKey=nope",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no operation 'nope'"));
}
