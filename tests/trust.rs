//! Verdicts that hold on implementations we did not write: the default run is clean on every
//! conforming variant of the reference, runs can be repeated against one long-lived target,
//! rejected credentials stop the run with their own exit code, a failed setup still sends
//! what needs no resource, and the crypto properties see plaintexts of many lengths.

use kmsconform::reference::Variant;
use kmsconform::run::session::{Inputs, RunPlan, Session, TargetSpec};
use kmsconform::spec::SpecSet;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn kmsconform(args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kmsconform"))
        .current_dir(root())
        .args(args)
        .env_remove("SCP_ACCESS_KEY")
        .env_remove("SCP_SECRET_KEY")
        .envs(envs.iter().copied())
        .output()
        .unwrap()
}

fn report(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The default run (every version, every suite, 10 cases per operation) against each
/// variant, and against all of them at once: no failure. Advisories are allowed — they are
/// what a different choice looks like.
#[test]
fn the_default_run_is_clean_on_every_conforming_variant() {
    let mut names: Vec<String> = Variant::all()
        .iter()
        .map(|v| v.name().to_string())
        .collect();
    names.push("all".into());
    let mut bad = Vec::new();
    for pair in names.chunks(2) {
        let handles: Vec<_> = pair
            .iter()
            .map(|v| {
                let v = v.clone();
                std::thread::spawn(move || {
                    let dir = tempfile::tempdir().unwrap();
                    let out = kmsconform(
                        &[
                            "run",
                            "--variant",
                            &v,
                            "--report-dir",
                            dir.path().to_str().unwrap(),
                        ],
                        &[],
                    );
                    let r = report(dir.path());
                    (v, out, r)
                })
            })
            .collect();
        for h in handles {
            let (v, out, r) = h.join().unwrap();
            let failures: Vec<&Value> = r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["advisory"] == false)
                .collect();
            if out.status.code() != Some(0) || !failures.is_empty() {
                bad.push(format!(
                    "--variant {v}: exit {:?}, failures {:#?}\n{}",
                    out.status.code(),
                    failures,
                    text(&out)
                ));
            }
            assert!(
                r["meta"]["requests"].as_u64().unwrap() > 2000,
                "{v}: too few requests"
            );
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// A `kmsconform serve` child on a free port; killed on drop.
struct Served {
    child: Child,
    url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(extra: &[&str]) -> Served {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_kmsconform"))
        .current_dir(root())
        .args(["serve", "--port", &port.to_string()])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "serve did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Served {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

const CREDS: [(&str, &str); 2] = [
    ("SCP_ACCESS_KEY", "KMSCONFORM-ACCESS-KEY"),
    ("SCP_SECRET_KEY", "kmsconform-embedded-secret"),
];

/// Two default runs against one long-lived target: generated names carry a run id, so the
/// second run does not collide with the first; each deletes what it created.
#[test]
fn the_default_run_twice_against_one_target_and_repeated_versions() {
    let s = serve(&[]);
    for i in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let out = kmsconform(
            &[
                "run",
                "--target",
                &s.url,
                "--report-dir",
                dir.path().to_str().unwrap(),
            ],
            &CREDS,
        );
        assert_eq!(out.status.code(), Some(0), "run {i}: {}", text(&out));
        let r = report(dir.path());
        assert_eq!(
            r["leftovers"],
            serde_json::json!([]),
            "run {i} left resources behind"
        );
        assert_eq!(r["meta"]["run_id"].as_str().unwrap().len(), 8);
    }
    let dir = tempfile::tempdir().unwrap();
    let out = kmsconform(
        &[
            "run",
            "--versions",
            "1.3,1.3",
            "--report-dir",
            dir.path().to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        report(dir.path())["meta"]["versions"],
        serde_json::json!(["1.3"])
    );
}

/// A wrong secret: one message naming the credentials, the credentials exit code, no
/// findings and no report (nothing ran).
#[test]
fn rejected_credentials_stop_the_run_with_their_own_exit_code() {
    let s = serve(&[]);
    let dir = tempfile::tempdir().unwrap();
    let out = kmsconform(
        &[
            "run",
            "--target",
            &s.url,
            "--report-dir",
            dir.path().to_str().unwrap(),
        ],
        &[
            ("SCP_ACCESS_KEY", "KMSCONFORM-ACCESS-KEY"),
            ("SCP_SECRET_KEY", "not-the-secret"),
        ],
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("credentials rejected") && stderr.contains("SCP_SECRET_KEY"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("not-the-secret"),
        "the secret itself is never printed"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).trim().is_empty(),
        "no findings printed"
    );
    assert!(!dir.path().join("report.json").exists());
}

/// A target that answers key creation otherwise than documented: the cases that need a key
/// are skipped and said so; invalid input, unknown ids and bad auth are still sent.
#[test]
fn a_failed_setup_still_sends_what_needs_no_resource() {
    let dir = tempfile::tempdir().unwrap();
    let out = kmsconform(
        &[
            "run",
            "--fault",
            "create-returns-200",
            "--versions",
            "1.3",
            "--suite",
            "generated",
            "--cases",
            "2",
            "--report-dir",
            dir.path().to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("covered less than planned"),
        "{}",
        text(&out)
    );
    let r = report(dir.path());
    let cov = r["coverage"].as_array().unwrap();
    let entry = |op: &str, kind: &str| {
        cov.iter()
            .find(|c| c["operation"] == op && c["kind"] == kind)
    };
    let enc_valid = entry("encryptData", "valid").expect("valid encrypt cases are accounted for");
    let reasons = enc_valid["skipped"].as_object().expect("and skipped");
    assert!(
        reasons.keys().any(|k| k.contains("setup failed")),
        "{reasons:?}"
    );
    for kind in ["invalid", "auth", "unknown"] {
        let e = entry("encryptData", kind).unwrap_or_else(|| panic!("no {kind} coverage"));
        assert!(e["sent"].as_u64().unwrap() > 0, "{kind} cases not sent");
    }
}

/// Round trips see plaintexts of many lengths: at least five distinct length classes reach
/// decrypt (empty, one byte, around the block and tag sizes, several KiB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintexts_of_many_lengths_reach_decrypt() {
    let set = SpecSet::load(&root().join("specs/scp-kms")).unwrap();
    let mut plan = RunPlan::new(&set, vec!["1.3".into()]);
    plan.suites = vec!["crypto_roundtrip_aes256".into()];
    plan.capture = true;
    let inputs = Inputs::load(&set, &root().join("suites/scp-kms"), &plan).unwrap();
    let session = Session::open(&set, &TargetSpec::embedded(), None)
        .await
        .unwrap();
    let outcome = session.run(&plan, &inputs).await.unwrap();
    assert!(
        outcome.collected.findings.is_empty(),
        "{:#?}",
        outcome.collected.findings
    );
    let mut lengths: Vec<usize> = outcome
        .transcript
        .iter()
        .filter(|e| e.operation == "decryptData" && e.status == Some(200))
        .filter_map(|e| {
            e.case
                .split('/')
                .find_map(|seg| seg.strip_prefix("len"))
                .and_then(|n| n.parse().ok())
        })
        .collect();
    lengths.sort();
    lengths.dedup();
    assert!(lengths.len() >= 5, "{lengths:?}");
    assert!(
        lengths.contains(&0) && lengths.contains(&1) && lengths.iter().any(|&n| n >= 4096),
        "{lengths:?}"
    );
}
