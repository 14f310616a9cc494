//! A target that misbehaves at the transport level gets findings or a clear error with its
//! exit code: never a panic, never a hang.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// A loopback server answering every connection with `reply` (None: close at once), after
/// `delay`. It serves until the test process ends.
fn server(reply: Option<Vec<u8>>, delay: Duration) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let reply = reply.clone();
            std::thread::spawn(move || {
                let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
                let mut buf = [0u8; 8192];
                let _ = s.read(&mut buf);
                std::thread::sleep(delay);
                if let Some(r) = reply {
                    let _ = s.write_all(&r);
                }
            });
        }
    });
    format!("http://{addr}")
}

fn run(url: &str, extra: &[&str]) -> (Option<i32>, String, Duration) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_kmsconform"))
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .args([
            "run",
            "--target",
            url,
            "--versions",
            "1.3",
            "--cases",
            "1",
            "--timeout",
            "1",
        ])
        .args(extra)
        .env("SCP_ACCESS_KEY", "ak")
        .env("SCP_SECRET_KEY", "sk")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("panicked"), "{text}");
    (out.status.code(), text, started.elapsed())
}

#[test]
fn garbage_bodies_become_findings() {
    let url = server(Some(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{oops".to_vec()), Duration::ZERO);
    let (code, text, _) = run(&url, &["--suite", "lifecycle"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("body is not JSON"), "{text}");
}

/// A target that closes every connection unanswered: transport problems of kind `reset`
/// (the gate fails), not findings of a check.
#[test]
fn connection_resets_become_transport_problems() {
    let url = server(None, Duration::ZERO);
    let (code, text, _) = run(&url, &["--suite", "lifecycle"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("transport: ") && text.contains("(reset "),
        "{text}"
    );
    assert!(text.contains("0 failures"), "{text}");
}

#[test]
fn oversized_bodies_are_capped() {
    let mut reply = b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 6000000\r\nConnection: close\r\n\r\n".to_vec();
    reply.extend(std::iter::repeat_n(b'[', 6_000_000));
    let url = server(Some(reply), Duration::ZERO);
    let (code, text, _) = run(&url, &["--suite", "lifecycle"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("response size cap"), "{text}");
}

#[test]
fn a_silent_target_is_unreachable_within_the_timeout() {
    let url = server(
        Some(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec()),
        Duration::from_secs(30),
    );
    let (code, text, took) = run(&url, &[]);
    assert_eq!(code, Some(3), "{text}");
    assert!(
        text.contains("no response headers within 1000 ms"),
        "{text}"
    );
    assert!(took < Duration::from_secs(15), "took {took:?}");
}

#[test]
fn broken_suites_and_specs_are_usage_errors_naming_the_file() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // A copy of the suites root: the API's suites beside the shared templates they use.
    let tree = tempfile::tempdir().unwrap();
    for dir in ["scp-kms", "shared"] {
        std::fs::create_dir_all(tree.path().join(dir)).unwrap();
        for e in std::fs::read_dir(root.join("suites").join(dir)).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, tree.path().join(dir).join(p.file_name().unwrap())).unwrap();
        }
    }
    struct Dir(PathBuf);
    impl Dir {
        fn path(&self) -> &std::path::Path {
            &self.0
        }
    }
    let suites = Dir(tree.path().join("scp-kms"));
    let run_with = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_kmsconform"))
            .current_dir(&root)
            .arg("run")
            .args(args)
            .output()
            .unwrap()
    };
    std::fs::write(suites.path().join("broken.json"), r#"{"name": "broken", "description": "x", "steps": [{"call": "noSuchOperation", "check": "persistence", "basis": "assumed: a test", "expect": {"status": 200}}]}"#).unwrap();
    let out = run_with(&["--suites-dir", suites.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("operation 'noSuchOperation' is not in version"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    std::fs::write(
        suites.path().join("broken.json"),
        r#"{"name": "broken", "steps": [}"#,
    )
    .unwrap();
    let out = run_with(&["--suites-dir", suites.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("broken.json: not a suite"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = run_with(&["--spec-dir", "/nonexistent/specs"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/specs/profile.json"));
}

#[test]
fn an_interrupted_run_still_writes_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kmsconform"))
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .args([
            "run",
            "--cases",
            "200",
            "--snapshots",
            "off",
            "--format",
            "json",
            "--format",
            "jsonl",
            "--report-dir",
        ])
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Interrupt once the run is sending (its events stream says so), not after a fixed
    // time: on a loaded machine the start alone can take longer than any guess.
    let events = dir.path().join("events.jsonl");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&events)
        .unwrap_or_default()
        .contains("\"event\":\"exchange\"")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(report["meta"]["interrupted"], true);
    assert!(report["meta"]["requests"].as_u64().unwrap() > 0);
    // What the run created before Ctrl-C was deleted after it.
    assert_eq!(report["leftovers"], serde_json::json!([]));
    let cleanup = report["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "cleanup")
        .map(|c| c["sent"].as_u64().unwrap())
        .sum::<u64>();
    assert!(
        cleanup > 0,
        "no cleanup after the interrupt: {:#}",
        report["coverage"]
    );
}

#[test]
fn an_installed_binary_runs_from_any_directory_with_the_bundled_specs() {
    let elsewhere = tempfile::tempdir().unwrap();
    let report = elsewhere.path().join("r");
    let out = Command::new(env!("CARGO_BIN_EXE_kmsconform"))
        .current_dir(elsewhere.path())
        .args(["run", "--versions", "1.3", "--cases", "1", "--report-dir"])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.join("report.json")).unwrap()).unwrap();
    assert!(
        r["meta"]["suites"].as_array().unwrap().len() >= 7,
        "generated + 6 suites: {}",
        r["meta"]["suites"]
    );
    assert!(
        !elsewhere.path().join("snapshots").exists(),
        "no snapshot directory is created there"
    );
    let lint = Command::new(env!("CARGO_BIN_EXE_kmsconform"))
        .current_dir(elsewhere.path())
        .args(["spec", "lint"])
        .output()
        .unwrap();
    assert_eq!(
        lint.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&lint.stderr)
    );
}
