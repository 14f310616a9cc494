//! `kmsconform deprecations`: the 2026-11-22 numbers, the `--in-use` gate, the live probe
//! against the embedded target (versions retired as of the date) and the breakage section.

use std::process::Command;

fn deprecations(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kmsconform"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("deprecations")
        .args(args)
        .output()
        .expect("kmsconform runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn line<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{out}"))
}

#[test]
fn status_as_of_2026_11_22() {
    let (code, out, _) = deprecations(&["--as-of", "2026-11-22"]);
    assert_eq!(code, 0);
    let status = |v: &str| {
        line(&out, &format!("{v}      "))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(status("1.0").contains("expired 326 days overdue"), "{out}");
    assert!(status("1.1").contains("expired 83 days overdue"), "{out}");
    assert!(
        status("1.1").contains("still published as SUPPORTED"),
        "{out}"
    );
    assert!(status("1.2").contains("deprecated 39 days left"), "{out}");
    assert!(status("1.3").contains("CURRENT - current"), "{out}");
}

#[test]
fn in_use_gate() {
    let (code, _, err) = deprecations(&["--as-of", "2026-11-22", "--in-use", "1.1"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("1.1 (Not Before 2026-08-31, 83 days overdue)"),
        "{err}"
    );
    assert_eq!(
        deprecations(&["--as-of", "2026-11-22", "--in-use", "1.3"]).0,
        0
    );
    // Deprecated but not yet expired does not fail the gate.
    assert_eq!(
        deprecations(&["--as-of", "2026-11-22", "--in-use", "1.2,1.3"]).0,
        0
    );
    // Before 1.1's Not Before it was fine.
    assert_eq!(
        deprecations(&["--as-of", "2026-08-30", "--in-use", "1.1"]).0,
        0
    );
    // An unknown version is a usage error.
    assert_eq!(deprecations(&["--in-use", "9.9"]).0, 2);
}

#[test]
fn embedded_probe_shows_retired_versions_refused() {
    let (code, out, err) = deprecations(&[
        "--as-of",
        "2026-11-22",
        "--target",
        "embedded",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    let versions = r["versions"].as_array().unwrap();
    let probe = |v: &str| versions.iter().find(|x| x["version"] == v).unwrap()["probe"].clone();
    for v in ["1.0", "1.1"] {
        assert_eq!(probe(v)["status"], 406, "{v}: {out}");
        assert_eq!(probe(v)["served"], false);
        assert_eq!(probe(v)["error_code"], "NoSuchVersion");
    }
    for v in ["1.2", "1.3"] {
        assert_eq!(probe(v)["status"], 200, "{v}: {out}");
        assert_eq!(probe(v)["served"], true);
    }
}

#[test]
fn breakage_accumulates_declared_changes_up_to_current() {
    let (_, out, _) = deprecations(&["--as-of", "2026-11-22"]);
    let section = |from: &str| {
        let start = out
            .find(&format!("client pinned to {from} moving to 1.3:"))
            .unwrap_or_else(|| panic!("no breakage for {from}:\n{out}"));
        let rest = &out[start..];
        let end = rest[1..]
            .find("\nclient pinned")
            .map(|i| i + 1)
            .unwrap_or(rest.len());
        rest[..end].to_string()
    };
    let from_11 = section("1.1");
    assert!(from_11.contains(
        "3 operations added: listManagedKeys, showManagedKey, updateManagedKeyDescription"
    ));
    for op in ["createKey (201)", "listKeys (200)", "showKey (200)"] {
        assert!(
            from_11.contains(&format!("{op}: response property")),
            "{from_11}"
        );
    }
    assert!(from_11.contains("managed_type"));
    assert_eq!(section("1.0").replace("1.0", "1.1"), from_11);
    assert!(section("1.2").contains("no declared changes"));
    assert!(!out.contains("client pinned to 1.3"));
}

#[test]
fn markdown_format() {
    let (code, out, _) = deprecations(&["--as-of", "2026-11-22", "--format", "markdown"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("| 1.1 | SUPPORTED ⚠️ | 2026-08-31 | **expired** | 83 days overdue |"),
        "{out}"
    );
}

#[test]
fn observed_breakage_comes_from_the_cross_version_diff() {
    let (code, out, err) = deprecations(&["--as-of", "2026-11-22", "--observe"]);
    assert_eq!(code, 0, "{err}");
    let pinned_11 = out
        .split("client pinned to 1.1")
        .nth(1)
        .expect("1.1 section");
    let pinned_11 = pinned_11.split("client pinned to 1.2").next().unwrap();
    for field in [
        "createKey key.managed_type",
        "listKeys keys[].managed_type",
        "showKey key.managed_type",
    ] {
        let l = pinned_11
            .lines()
            .find(|l| l.contains("observed:") && l.contains(field))
            .unwrap_or_else(|| panic!("{field} not observed:\n{out}"));
        assert!(!l.contains("seen in 0/"), "{l}");
    }
    assert!(
        !out.contains("✗"),
        "undeclared differences on the reference:\n{out}"
    );
}
