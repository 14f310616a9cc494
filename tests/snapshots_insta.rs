//! Our snapshot files are insta's: insta's own reader parses them (`insta::Snapshot::
//! from_file`), and insta's writer (`Snapshot::save`, what `cargo insta review` calls when a
//! pending snapshot is accepted) writes them back byte for byte — the committed ones, a
//! pending `.snap.new` from a run, and headers whose values YAML must quote.

use kmsconform::compare::snapshot;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What insta leaves after reading `path` and saving it again.
fn insta_rewrite(path: &Path, dir: &Path) -> (insta::Snapshot, Vec<u8>) {
    let snap = insta::Snapshot::from_file(path)
        .unwrap_or_else(|e| panic!("insta cannot read {}: {e}", path.display()));
    let out = dir.join("rewritten.snap");
    snap.save(&out).expect("insta saves");
    (snap, std::fs::read(&out).unwrap())
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "snap") {
            out.push(p);
        }
    }
}

#[test]
fn insta_reads_and_rewrites_every_committed_snapshot_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let mut all = Vec::new();
    // snapshots/kmsconform/ holds insta's own files (from insta::assert_snapshot! in
    // tests/): the same check on them shows the rewrite is a fair test.
    files(&root().join("snapshots"), &mut all);
    let ours: Vec<&PathBuf> = all
        .iter()
        .filter(|p| p.starts_with(root().join("snapshots/scp-kms")))
        .collect();
    assert!(
        ours.len() >= 30,
        "committed suite snapshots: {}",
        ours.len()
    );
    assert!(
        all.len() > ours.len(),
        "no insta-written snapshot to compare with"
    );
    for path in &all {
        let written = std::fs::read(path).unwrap();
        let (snap, theirs) = insta_rewrite(path, tmp.path());
        assert!(
            written == theirs,
            "insta rewrites {}:\n--- committed\n{}\n--- insta\n{}",
            path.display(),
            String::from_utf8_lossy(&written[..written.len().min(300)]),
            String::from_utf8_lossy(&theirs[..theirs.len().min(300)])
        );
        if !ours.contains(&path) {
            continue;
        }
        // insta reads our fields as we meant them.
        let version = path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        let suite = path.file_stem().unwrap().to_str().unwrap();
        let md = snap.metadata();
        assert_eq!(md.source(), Some(snapshot::SOURCE));
        assert_eq!(
            md.expression(),
            Some(format!("scp-kms {version} suite {suite}").as_str())
        );
        let text = snap
            .contents()
            .as_text()
            .expect("a text snapshot")
            .to_string();
        assert!(text.starts_with(&format!("## suite/{suite}/")), "{text}");
    }
}

#[test]
fn headers_that_yaml_must_quote_round_trip_through_insta() {
    let tmp = tempfile::tempdir().unwrap();
    for expression in [
        "scp-kms 1.3 suite lifecycle",
        "openbao-transit 2.7.2 suite crypto_roundtrip",
        "a: b",
        "-leading dash",
        "@at",
        "true",
        "null",
        "~",
        "1.5",
        "42",
        "0x1f",
        ".hidden",
        " padded ",
        "it's",
        "say \"hi\"",
        "back\\slash",
        "tab\there",
        "line\nbreak",
        "[flow]",
        "# comment",
        "ünïcødé — dash",
        "",
    ] {
        let path = tmp.path().join("x.snap");
        let ours = snapshot::file(snapshot::SOURCE, expression, "body line\n\n");
        std::fs::write(&path, &ours).unwrap();
        let (snap, theirs) = insta_rewrite(&path, tmp.path());
        assert_eq!(
            String::from_utf8(theirs).unwrap(),
            ours,
            "expression {expression:?}"
        );
        assert_eq!(snap.metadata().expression(), Some(expression));
    }
}

#[test]
fn a_pending_snapshot_accepted_by_insta_is_what_kmsconform_accepts() {
    let tmp = tempfile::tempdir().unwrap();
    let committed = root().join("snapshots/scp-kms/1.3/lifecycle.snap");
    let text = std::fs::read_to_string(&committed).unwrap();
    // A pending snapshot as a run leaves it: a changed body under the same header.
    let changed = text.replacen("status: 200", "status: 202", 1);
    assert_ne!(changed, text);
    let (ours, theirs) = (tmp.path().join("ours"), tmp.path().join("theirs"));
    for d in [&ours, &theirs] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::write(d.join("lifecycle.snap"), &text).unwrap();
        std::fs::write(d.join("lifecycle.snap.new"), &changed).unwrap();
    }
    snapshot::accept(&ours.join("lifecycle.snap.new")).unwrap();
    // cargo insta review's accept: read the pending file, save it as the snapshot.
    insta::Snapshot::from_file(&theirs.join("lifecycle.snap.new"))
        .unwrap()
        .save(&theirs.join("lifecycle.snap"))
        .unwrap();
    assert_eq!(
        std::fs::read(ours.join("lifecycle.snap")).unwrap(),
        std::fs::read(theirs.join("lifecycle.snap")).unwrap()
    );
}
