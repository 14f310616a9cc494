//! `kmsconform snapshots review` one file at a time: named files (`--accept PATH`,
//! `--reject PATH`), the rest (`--accept-all`, `--reject-all`, and the older bare
//! `--accept`/`--reject`), and, on a terminal, a question per file. The terminal is a real
//! pseudo-terminal from util-linux `script` (Debian bsdutils, always installed); without it
//! the test fails.

use kmsconform::compare::snapshot;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Three accepted snapshots with a pending change each: s0, s1, s2.
fn pending(dir: &Path) -> Vec<PathBuf> {
    (0..3)
        .map(|i| {
            let e = format!("scp-kms 1.3 suite s{i}");
            std::fs::write(
                dir.join(format!("s{i}.snap")),
                snapshot::file("kmsconform", &e, "old"),
            )
            .unwrap();
            let new = dir.join(format!("s{i}.snap.new"));
            std::fs::write(&new, snapshot::file("kmsconform", &e, "new")).unwrap();
            new
        })
        .collect()
}

fn review(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kmsconform"))
        .args(["snapshots", "review"])
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// "new" (accepted), "old" (rejected or untouched) and whether the .snap.new is still there.
fn state(dir: &Path, i: usize) -> (&'static str, bool) {
    let snap = std::fs::read_to_string(dir.join(format!("s{i}.snap"))).unwrap();
    let body = if snap.ends_with("---\nnew\n") {
        "new"
    } else {
        assert!(snap.ends_with("---\nold\n"), "{snap}");
        "old"
    };
    (body, dir.join(format!("s{i}.snap.new")).exists())
}

#[test]
fn named_files_are_decided_and_the_rest_stay_pending() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = pending(d);
    let s1 = d.join("s1.snap");
    let (code, out) = review(
        d,
        &[
            "--accept",
            p[0].to_str().unwrap(),
            // The accepted file's own name names its pending change too.
            "--reject",
            s1.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "one stays pending: {out}");
    assert_eq!(state(d, 0), ("new", false));
    assert_eq!(state(d, 1), ("old", false));
    assert_eq!(state(d, 2), ("old", true));
    assert!(
        out.contains("still pending: ") && out.contains("s2.snap.new"),
        "{out}"
    );
    assert!(out.contains("+new"), "the diff is shown: {out}");

    let (code, out) = review(d, &["--accept-all"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(state(d, 2), ("new", false));
    let (code, out) = review(d, &[]);
    assert_eq!(
        (code, out.trim()),
        (
            0,
            format!("no pending snapshots under {}", d.display()).as_str()
        )
    );
}

#[test]
fn all_at_once_old_and_new_flags() {
    for (args, body) in [
        (&["--accept"][..], "new"),
        (&["--reject"][..], "old"),
        (&["--accept-all"][..], "new"),
        (&["--reject-all"][..], "old"),
        // A named decision first, then the rest.
        (&["--reject", "S0", "--accept-all"][..], "new"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let p = pending(d);
        let args: Vec<&str> = args
            .iter()
            .map(|a| {
                if *a == "S0" {
                    p[0].to_str().unwrap()
                } else {
                    a
                }
            })
            .collect();
        let (code, out) = review(d, &args);
        assert_eq!(code, 0, "{args:?}: {out}");
        let first = if args.len() > 1 { "old" } else { body };
        assert_eq!(state(d, 0), (first, false), "{args:?}");
        assert_eq!(state(d, 1), (body, false), "{args:?}");
        assert_eq!(state(d, 2), (body, false), "{args:?}");
    }
}

#[test]
fn contradictions_and_unknown_paths_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = pending(d);
    let s0 = p[0].to_str().unwrap();
    let nothing = d.join("nothing.snap");
    for args in [
        vec!["--accept", s0, "--reject", s0],
        vec!["--accept-all", "--reject-all"],
        vec!["--accept", "--reject-all"],
        vec!["--accept", nothing.to_str().unwrap()],
    ] {
        let (code, out) = review(d, &args);
        assert_eq!(code, 2, "{args:?}: {out}");
    }
    for i in 0..3 {
        assert_eq!(state(d, i), ("old", true), "nothing was decided");
    }
}

#[test]
fn without_a_decision_a_pipe_gets_the_diffs_and_a_terminal_gets_asked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    pending(d);
    let (code, out) = review(d, &[]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(out.matches("+new").count(), 3, "{out}");
    assert!(out.contains("3 pending snapshot(s)"), "{out}");
    for i in 0..3 {
        assert_eq!(state(d, i), ("old", true));
    }

    // On a terminal: accept, an answer it does not know (asked again), reject, skip.
    let cmd = format!(
        "{} snapshots review {}",
        env!("CARGO_BIN_EXE_kmsconform"),
        d.display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux script (Debian bsdutils) runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a\nmaybe\nr\ns\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "one skipped: {text}");
    assert!(
        text.contains("[1/3]") && text.contains("accept (a), reject (r) or skip (s)?"),
        "{text}"
    );
    assert_eq!(text.matches("[2/3]").count(), 2, "asked again: {text}");
    assert_eq!(state(d, 0), ("new", false));
    assert_eq!(state(d, 1), ("old", false));
    assert_eq!(state(d, 2), ("old", true));
}
