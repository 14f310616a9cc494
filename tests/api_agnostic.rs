//! The engine knows no API: everything specific to SCP KMS lives in specs/scp-kms,
//! suites/scp-kms, the embedded reference (src/reference), the SCP signer and the modules that
//! parse SCP's own document layouts. This test greps the rest of src/ for SCP literals.

use std::path::{Path, PathBuf};

/// Where SCP knowledge belongs.
const ALLOWED: &[&str] = &[
    "src/reference/",
    "src/target/sign/scp.rs",
    // One format module per vendor document layout (the SCP API reference's among them).
    "src/spec/import/",
    // The SCP CLI reference's layout.
    "src/spec/cli/",
    // The list of data files compiled into the binary names every API's files.
    "src/bundled.rs",
];

/// Text that names SCP KMS or one of its conventions (lower case).
const SCP_LITERALS: &[&str] = &[
    "scp",
    "samsung",
    "kms 1.",
    "errorenvelope",
    "nosuchversion",
    "managed",
    "createkey",
    "listkeys",
    "deletekey",
    "is_directly",
    "00000000000000000000000000000000",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The string literals of the non-test part of a source file.
fn literals(src: &str) -> Vec<(usize, String)> {
    let code = src.split("#[cfg(test)]").next().unwrap_or("");
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("//") {
            continue;
        }
        let mut chars = line.char_indices().peekable();
        let mut in_str = false;
        let mut cur = String::new();
        while let Some((_, c)) = chars.next() {
            match (in_str, c) {
                (false, '/') if chars.peek().map(|x| x.1) == Some('/') => break,
                (false, '"') => {
                    in_str = true;
                    cur.clear();
                }
                (true, '\\') => {
                    if let Some((_, e)) = chars.next() {
                        cur.push(e);
                    }
                }
                (true, '"') => {
                    in_str = false;
                    out.push((n + 1, cur.clone()));
                }
                (true, c) => cur.push(c),
                _ => {}
            }
        }
    }
    out
}

#[test]
fn no_scp_literal_outside_the_places_that_may_know_scp() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut found = Vec::new();
    for f in files {
        let rel = f
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        // Test modules may use the first API's files as examples.
        if ALLOWED.iter().any(|a| rel.starts_with(a)) || rel.ends_with("/tests.rs") {
            continue;
        }
        let src = std::fs::read_to_string(&f).unwrap();
        for (line, lit) in literals(&src) {
            let low = lit.to_ascii_lowercase();
            if let Some(w) = SCP_LITERALS.iter().find(|w| low.contains(*w)) {
                found.push(format!("{rel}:{line}: \"{lit}\" names {w}"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "SCP knowledge outside its places:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_literal_scanner_sees_strings_and_skips_comments_and_tests() {
    let src = "let a = \"scp-kms\"; // \"scp\" in a comment\n// \"scp\"\nlet b = \"x\\\"y\";\n#[cfg(test)]\nlet c = \"scp\";";
    let l = literals(src);
    assert_eq!(l, vec![(1, "scp-kms".to_string()), (3, "x\"y".to_string())]);
}
