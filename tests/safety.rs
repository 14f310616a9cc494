//! The harness's own safety, against hostile loopback servers these tests start themselves:
//! no secret reaches any output, every input is checked before the first request, transport
//! problems are their own class, and replays reproduce their findings.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One runtime for every server of this file, on its own threads (the tests block on
/// child processes).
fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// `kmsconform ARGS` with exactly these environment variables of ours (credentials and
/// proxies of the machine removed).
fn kmsconform(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kmsconform"));
    c.current_dir(root()).args(args);
    for v in [
        "SCP_ACCESS_KEY",
        "SCP_SECRET_KEY",
        "SCP_ACCOUNT_ID",
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        c.env_remove(v);
    }
    c.envs(envs.iter().copied());
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn report(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()
}

// ---------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------

const CANARY: &str = "CANARY-secret-7f3a9c1e-never-print-me";

/// What the reflecting server received.
#[derive(Default)]
struct Seen {
    requests: u64,
    /// Every `Scp-Signature` header value, as it arrived.
    signatures: Vec<String>,
    /// Every string the harness sent in a body member named `plaintext`, at any depth.
    plaintexts: Vec<String>,
    /// Every header value of any request (to show the canary itself was never sent).
    header_values: Vec<String>,
}

fn collect_plaintexts(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                match x {
                    Value::String(s) if k == "plaintext" => out.push(s.clone()),
                    _ => collect_plaintexts(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_plaintexts(x, out)),
        _ => {}
    }
}

/// Answers every request (200, or 201 to key creation) with JSON reflecting all it received: method, path, query,
/// every header and the body (raw, and parsed when it is JSON).
async fn reflect(
    State(seen): State<Arc<Mutex<Seen>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let raw = String::from_utf8_lossy(&body).into_owned();
    {
        let mut s = seen.lock();
        s.requests += 1;
        for (k, v) in &headers {
            let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
            if k.as_str().eq_ignore_ascii_case("scp-signature") {
                s.signatures.push(v.clone());
            }
            s.header_values.push(v);
        }
        if let Ok(j) = serde_json::from_slice::<Value>(&body) {
            collect_plaintexts(&j, &mut s.plaintexts);
        }
    }
    let hs: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
            )
        })
        .collect();
    // Enough of a KMS shape that the suites go on (a key id, ciphertexts to bind) and so
    // send their plaintexts of many lengths; the request body is echoed both raw and parsed.
    let reflection = json!({
        "key": {"id": "0123456789abcdef0123456789abcdef"},
        "ciphertext": "vault:v1:cmVmbGVjdGVkLWNpcGhlcnRleHQ=",
        "signature": "vault:v1:cmVmbGVjdGVkLXNpZ25hdHVyZQ==",
        "hmac": "vault:v1:cmVmbGVjdGVkLWhtYWM=",
        "echo": serde_json::from_slice::<Value>(&body).ok(),
        // A target knows its account's secret key, and a debugging one may say it.
        "debug": format!("the signature was checked with secret key {CANARY}"),
        "method": method.as_str(),
        "path": uri.path(),
        "query": uri.query(),
        "headers": hs,
        "body": raw,
    });
    // 201 where creation documents it, so that suites bind the key id and go on.
    let status = if method == Method::POST && uri.path() == "/v1/kms/transit" {
        201
    } else {
        200
    };
    axum::response::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(axum::body::Body::from(reflection.to_string()))
        .unwrap()
}

fn reflector() -> (String, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let app = axum::Router::new()
        .fallback(reflect)
        .with_state(seen.clone());
    let l = rt()
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    rt().spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    (url, seen)
}

/// The forms a value takes in the outputs: as is, inside a JSON string (once, and twice for
/// a reflected body inside a reflected body), and escaped for HTML/XML.
fn encodings(v: &str) -> Vec<String> {
    let json = |s: &str| {
        let q = serde_json::to_string(s).unwrap();
        q[1..q.len() - 1].to_string()
    };
    let xml = |s: &str| kmsconform::report::text::xml_escape(s);
    let once = json(v);
    let twice = json(&once);
    let mut out = vec![
        v.to_string(),
        once.clone(),
        twice.clone(),
        xml(v),
        xml(&once),
        xml(&twice),
    ];
    // Values shorter than the scrubber's minimum are redacted structurally only, and a
    // 4-character base64 plaintext occurs by chance inside ciphertexts of a long recording:
    // for those, a leak is the value as a whole JSON or XML string.
    if v.len() < kmsconform::run::secrets::MIN_SCRUB_LEN {
        out = out
            .into_iter()
            .flat_map(|f| {
                [
                    format!("\"{f}\""),
                    format!("\\\"{f}\\\""),
                    format!("&quot;{f}&quot;"),
                ]
            })
            .collect();
    }
    out.sort();
    out.dedup();
    out
}

/// Every output of a run: the files of its report directory, then stdout and stderr.
fn outputs(dir: &Path, out: &Output) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v.push((
        "stdout".into(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ));
    v.push((
        "stderr".into(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ));
    v
}

/// Where a secret occurs in the outputs: (output, what, excerpt) per occurrence.
fn leaks(outputs: &[(String, String)], secrets: &[(String, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (name, text) in outputs {
        for (what, secret) in secrets {
            for form in encodings(secret) {
                if let Some(i) = text.find(&form) {
                    let before: String = text[..i].chars().rev().take(60).collect();
                    let before: String = before.chars().rev().collect();
                    let after: String = text[i + form.len()..].chars().take(20).collect();
                    found.push(format!(
                        "{name}: {what} {secret:?}: …{before}[{form}]{after}…"
                    ));
                    break;
                }
            }
        }
    }
    found
}

/// A target that reflects every header and body it receives, and a secret key that is a
/// canary: no output (the four report formats, stdout, stderr) carries the canary, any
/// signature sent, or any plaintext sent in a `plaintext` member; nor do the streamed
/// events (`--format jsonl`) and the HAR recording (`--record`).
#[test]
fn nothing_secret_reaches_any_output_against_a_reflecting_target() {
    let (url, seen) = reflector();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = kmsconform(
        &[
            "run",
            "--target",
            &url,
            "--versions",
            "1.3",
            "--cases",
            "3",
            "--format",
            "json",
            "--format",
            "junit",
            "--format",
            "html",
            "--format",
            "markdown",
            "--format",
            "jsonl",
            "--report-dir",
            d,
            "--record",
            &format!("{d}/run.har"),
        ],
        &[("SCP_ACCESS_KEY", "AK"), ("SCP_SECRET_KEY", CANARY)],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let seen = seen.lock();
    // The run did what the test relies on: signed requests with plaintexts, reflected.
    assert!(seen.requests > 100, "{} requests", seen.requests);
    assert!(seen.signatures.len() > 100);
    assert!(!seen.plaintexts.is_empty());
    assert!(
        !seen.header_values.iter().any(|v| v.contains(CANARY)),
        "the secret key itself went on the wire"
    );
    let outs = outputs(dir.path(), &out);
    assert_eq!(
        outs.len(),
        8,
        "four report files, events.jsonl, run.har, stdout, stderr"
    );
    // The streamed events and the recording hold the exchanges the canaries were in.
    for name in ["events.jsonl", "run.har"] {
        let (_, t) = outs.iter().find(|(n, _)| n == name).unwrap();
        assert!(
            t.contains("Scp-Signature"),
            "{name} records no request headers"
        );
    }
    let mut secrets = vec![("secret key".to_string(), CANARY.to_string())];
    secrets.extend(
        seen.signatures
            .iter()
            .map(|s| ("signature".into(), s.clone())),
    );
    secrets.extend(
        seen.plaintexts
            .iter()
            .map(|s| ("plaintext".into(), s.clone())),
    );
    // The empty plaintext cannot leak.
    secrets.retain(|(_, s)| !s.is_empty());
    let found = leaks(&outs, &secrets);
    assert!(
        found.is_empty(),
        "{} leaks:\n{}",
        found.len(),
        found.join("\n")
    );
}

type Recorded = Arc<Mutex<Vec<u8>>>;

/// Every byte of every connection through a relay, per connection and direction.
#[derive(Default)]
struct Relayed {
    /// (client → target, target → client) per connection.
    connections: Vec<(Recorded, Recorded)>,
}

/// A TCP relay to `upstream` that records what passes (before passing it on).
fn relay(upstream: std::net::SocketAddr) -> (String, Arc<Mutex<Relayed>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rec = Arc::new(Mutex::new(Relayed::default()));
    let l = rt()
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let r = rec.clone();
    rt().spawn(async move {
        while let Ok((client, _)) = l.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                continue;
            };
            let (up, down) = (
                Arc::new(Mutex::new(Vec::new())),
                Arc::new(Mutex::new(Vec::new())),
            );
            r.lock().connections.push((up.clone(), down.clone()));
            let (mut cr, mut cw) = client.into_split();
            let (mut sr, mut sw) = server.into_split();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16384];
                while let Ok(n) = cr.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    up.lock().extend_from_slice(&buf[..n]);
                    if sw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                let _ = sw.shutdown().await;
            });
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16384];
                while let Ok(n) = sr.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    down.lock().extend_from_slice(&buf[..n]);
                    if cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                let _ = cw.shutdown().await;
            });
        }
    });
    (url, rec)
}

/// The embedded reference with `faults`, served in this process on a free loopback port.
fn reference(faults: Vec<kmsconform::reference::Fault>) -> kmsconform::reference::RunningServer {
    let cfg = kmsconform::reference::Config {
        faults,
        ..Default::default()
    };
    rt().block_on(kmsconform::reference::spawn(
        cfg,
        "127.0.0.1:0".parse().unwrap(),
    ))
    .unwrap()
}

fn all_formats(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = ["json", "junit", "html", "markdown", "jsonl"]
        .iter()
        .flat_map(|f| ["--format".to_string(), f.to_string()])
        .collect();
    v.extend(["--report-dir".into(), dir.display().to_string()]);
    v.extend(["--record".into(), dir.join("run.har").display().to_string()]);
    v
}

/// Data keys: the reference with `datakey-mismatch` behind a relay that records every byte,
/// so the test knows each data key the harness received (and each signature it sent). None
/// of them, and none of the plaintexts sent, reaches an output.
#[test]
fn data_keys_signatures_and_plaintexts_seen_on_the_wire_reach_no_output() {
    use kmsconform::reference::{Fault, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};
    let server = reference(vec![Fault::DatakeyMismatch]);
    let (url, rec) = relay(server.addr);
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = ["run", "--target", &url, "--versions", "1.3", "--cases", "2"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(all_formats(dir.path()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = kmsconform(
        &args,
        &[
            ("SCP_ACCESS_KEY", DEFAULT_ACCESS_KEY),
            ("SCP_SECRET_KEY", DEFAULT_SECRET_KEY),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r = report(dir.path());
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["check"] == "datakey_consistency"),
        "the fault was not seen"
    );
    // What went over the wire, per connection: HTTP/1.1 text, bodies are compact JSON.
    let signature = regex::Regex::new(r"(?i)\r\nscp-signature: ([^\r]+)\r\n").unwrap();
    let member = regex::Regex::new(r#""plaintext":"((?:[^"\\]|\\.)*)""#).unwrap();
    let (mut signatures, mut sent, mut received) = (Vec::new(), Vec::new(), Vec::new());
    for (up, down) in &rec.lock().connections {
        let up = String::from_utf8_lossy(&up.lock()).into_owned();
        let down = String::from_utf8_lossy(&down.lock()).into_owned();
        signatures.extend(signature.captures_iter(&up).map(|c| c[1].to_string()));
        for (text, into) in [(&up, &mut sent), (&down, &mut received)] {
            for c in member.captures_iter(text) {
                let v: String = serde_json::from_str(&format!("\"{}\"", &c[1])).unwrap();
                into.push(v);
            }
        }
    }
    let data_keys: Vec<&String> = received.iter().filter(|p| p.len() == 44).collect();
    assert!(
        sent.iter().filter(|s| !s.is_empty()).count() > 10,
        "plaintexts sent: {sent:?}"
    );
    assert!(signatures.len() > 50, "{} signatures", signatures.len());
    assert!(data_keys.len() >= 4, "data keys seen: {data_keys:?}");
    let mut secrets: Vec<(String, String)> = vec![("secret key".into(), DEFAULT_SECRET_KEY.into())];
    secrets.extend(signatures.into_iter().map(|s| ("signature".into(), s)));
    secrets.extend(sent.into_iter().map(|s| ("plaintext sent".into(), s)));
    secrets.extend(
        received
            .into_iter()
            .map(|s| ("plaintext received".into(), s)),
    );
    secrets.retain(|(_, s)| !s.is_empty());
    let found = leaks(&outputs(dir.path(), &out), &secrets);
    assert!(
        found.is_empty(),
        "{} leaks:\n{}",
        found.len(),
        found.join("\n")
    );
    drop(server);
}

/// Every value of a member named `plaintext` anywhere in `v` (also inside strings that
/// hold JSON), and every `value` beside a `pointer` that ends in `/plaintext` (expected and
/// actual values of failures).
fn plaintext_members(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(o) => {
            if o.get("pointer")
                .and_then(Value::as_str)
                .is_some_and(|p| p.ends_with("/plaintext"))
            {
                out.extend(o.get("value").cloned());
            }
            for (k, x) in o {
                if k == "plaintext" {
                    out.push(x.clone());
                }
                plaintext_members(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| plaintext_members(x, out)),
        Value::String(s) => {
            if let Ok(j) = serde_json::from_str::<Value>(s) {
                if j.is_object() || j.is_array() {
                    plaintext_members(&j, out);
                }
            }
        }
        _ => {}
    }
}

/// The embedded target with `datakey-mismatch` (its data keys never leave the process, so
/// the check is by shape): every `plaintext` value of report.json is redacted or null, no
/// output has a base64 32-byte value after the word plaintext, a signature, or the secret.
#[test]
fn the_embedded_datakey_mismatch_run_shows_no_plaintext_member() {
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = [
        "run",
        "--versions",
        "1.3",
        "--cases",
        "2",
        "--fault",
        "datakey-mismatch",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(all_formats(dir.path()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = kmsconform(&args, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r = report(dir.path());
    let dk: Vec<&Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "datakey_consistency")
        .collect();
    assert!(!dk.is_empty(), "the fault was not seen");
    let mut members = Vec::new();
    plaintext_members(&r, &mut members);
    assert!(!members.is_empty());
    for m in &members {
        assert!(
            m.is_null() || m == "<redacted>",
            "a plaintext member holds {m}"
        );
    }
    let data_key = regex::Regex::new(r"plaintext\W{1,24}[A-Za-z0-9+/]{43}=").unwrap();
    let signature = regex::Regex::new(r"(?i)scp-signature\W{1,12}[A-Za-z0-9+/]{43}=").unwrap();
    for (name, t) in outputs(dir.path(), &out) {
        assert!(!data_key.is_match(&t), "{name}: {:?}", data_key.find(&t));
        assert!(!signature.is_match(&t), "{name}: {:?}", signature.find(&t));
        assert!(
            !t.contains(kmsconform::reference::DEFAULT_SECRET_KEY),
            "{name}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Preflight: everything wrong with the input is found before the first request
// ---------------------------------------------------------------------------------------

/// A loopback server that counts the connections it accepts (anything the harness sends
/// needs one) and answers each `200 {}`.
fn counting_server() -> (String, Arc<AtomicU64>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let n = Arc::new(AtomicU64::new(0));
    let l = rt()
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let c = n.clone();
    rt().spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
                    .await;
            });
        }
    });
    (url, n)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

/// A copy of specs/scp-kms whose 1.2 document has `value` at `member` of its first
/// operation; returns the directory and the JSON pointer of that member.
fn broken_spec(tmp: &Path, name: &str, member: &str, value: Value) -> (PathBuf, String) {
    let dir = tmp.join(name);
    copy_dir(&root().join("specs/scp-kms"), &dir);
    let file = dir.join("1.2.json");
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let (path, method) = {
        let paths = doc["paths"].as_object().unwrap();
        let (p, item) = paths.iter().next().unwrap();
        let m = item
            .as_object()
            .unwrap()
            .keys()
            .find(|k| ["get", "post", "put", "delete"].contains(&k.as_str()))
            .unwrap()
            .clone();
        (p.clone(), m)
    };
    doc["paths"][&path][&method][member] = value;
    std::fs::write(&file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let pointer = format!(
        "/paths/{}/{method}/{member}",
        path.replace('~', "~0").replace('/', "~1")
    );
    (dir, pointer)
}

/// Each bad input: exit 2, a message naming the flag, file or pointer, and not one
/// connection to the target.
#[test]
fn every_bad_input_is_refused_before_the_first_request() {
    let (url, connections) = counting_server();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let file = t.join("a-file");
    std::fs::write(&file, "x").unwrap();
    // A report directory whose report.json cannot be replaced (it is a directory).
    let blocked = t.join("blocked");
    std::fs::create_dir_all(blocked.join("report.json")).unwrap();
    let empty = t.join("empty-suites");
    std::fs::create_dir_all(&empty).unwrap();
    let suites = t.join("suites");
    copy_dir(&root().join("suites/scp-kms"), &suites);
    // Suites name shared templates relative to their directory's parent.
    copy_dir(&root().join("suites/shared"), &t.join("shared"));
    let pagination = suites.join("pagination.json");
    let mut p: Value = serde_json::from_slice(&std::fs::read(&pagination).unwrap()).unwrap();
    let step = p["steps"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|s| s.get("paginate").is_some())
        .unwrap();
    step["paginate"]["size"] = json!(0);
    std::fs::write(&pagination, serde_json::to_vec_pretty(&p).unwrap()).unwrap();
    let (spec42, ptr42) = broken_spec(t, "spec-42", "operationId", json!(42));
    let (spec_nope, ptr_nope) = broken_spec(t, "spec-nope", "responses", json!("nope"));
    let s = |p: &Path| p.display().to_string();
    // A read-only directory (root writes into one anyway: then it is not a bad input).
    let read_only = t.join("read-only");
    std::fs::create_dir_all(&read_only).unwrap();
    std::fs::set_permissions(
        &read_only,
        std::os::unix::fs::PermissionsExt::from_mode(0o555),
    )
    .unwrap();
    let read_only_is_unwritable = std::fs::write(read_only.join("probe"), "x").is_err();
    let query_url = format!("{url}/p?x=1");
    let under_file = s(&file.join("reports"));
    let mut cases: Vec<(Vec<String>, Vec<String>)> = vec![
        (
            vec!["--report-dir".into(), under_file.clone()],
            vec!["--report-dir".into(), under_file],
        ),
        (
            vec!["--report-dir".into(), s(&file)],
            vec!["--report-dir".into(), s(&file)],
        ),
        (
            vec!["--report-dir".into(), "/proc/self/kmsconform-report".into()],
            vec!["--report-dir".into()],
        ),
        (
            vec!["--report-dir".into(), s(&blocked)],
            vec!["--report-dir".into(), s(&blocked.join("report.json"))],
        ),
        (
            vec!["--target".into(), query_url.clone()],
            vec!["--target".into(), "query".into()],
        ),
        (
            vec![
                "--snapshots".into(),
                "update".into(),
                "--snapshot-dir".into(),
                "/proc/self/kmsconform-snapshots".into(),
            ],
            vec!["--snapshot-dir".into()],
        ),
        (vec!["--cases".into(), "0".into()], vec!["--cases".into()]),
        (
            vec!["--concurrency".into(), "0".into()],
            vec!["--concurrency".into()],
        ),
        (
            vec!["--timeout".into(), "0".into()],
            vec!["--timeout".into()],
        ),
        (
            vec!["--suites-dir".into(), s(&suites)],
            vec![s(&pagination), "paginate.size".into()],
        ),
        (
            vec!["--suites-dir".into(), s(&empty)],
            vec![s(&empty), "no suite".into()],
        ),
        (
            vec!["--spec-dir".into(), s(&spec42)],
            vec![s(&spec42.join("1.2.json")), ptr42],
        ),
        (
            vec!["--spec-dir".into(), s(&spec_nope)],
            vec![s(&spec_nope.join("1.2.json")), ptr_nope],
        ),
    ];
    if read_only_is_unwritable {
        cases.push((
            vec!["--report-dir".into(), s(&read_only.join("r"))],
            vec!["--report-dir".into()],
        ));
    }
    for (extra, says) in cases {
        let mut args: Vec<String> = vec!["run".into()];
        if !extra.contains(&"--target".to_string()) {
            args.extend(["--target".into(), url.clone()]);
        }
        args.extend(extra.iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let before = connections.load(Ordering::SeqCst);
        let out = kmsconform(
            &args,
            &[("SCP_ACCESS_KEY", "AK"), ("SCP_SECRET_KEY", CANARY)],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", text(&out));
        for w in &says {
            assert!(
                stderr.contains(w.as_str()),
                "{extra:?}: stderr does not name {w:?}: {stderr}"
            );
        }
        assert_eq!(
            connections.load(Ordering::SeqCst),
            before,
            "{extra:?}: the target was contacted"
        );
    }
    // The counting server counts: a valid run reaches it.
    let out = kmsconform(
        &[
            "run",
            "--target",
            &url,
            "--versions",
            "1.3",
            "--suite",
            "lifecycle",
            "--cases",
            "1",
        ],
        &[("SCP_ACCESS_KEY", "AK"), ("SCP_SECRET_KEY", CANARY)],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(connections.load(Ordering::SeqCst) > 0);
}

// ---------------------------------------------------------------------------------------
// Transport problems are their own class
// ---------------------------------------------------------------------------------------

/// How a misbehaving loopback server answers every request.
#[derive(Clone, Copy, Debug)]
enum Misbehaviour {
    /// `Content-Encoding: gzip` on a plain JSON body.
    GzipLabelOnPlainJson,
    /// Headers, 10 of 100 body bytes, then a TCP reset.
    ResetMidBody,
    /// Headers, 10 of 100 body bytes, then an orderly close.
    CloseMidBody,
    /// Nothing for 30 s.
    SlowHeaders,
    /// Headers at once, 10 of 100 body bytes, then nothing for 30 s.
    SlowBody,
}

fn misbehaving(how: Misbehaviour) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = rt()
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    rt().spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                // Read one request head (bodies are small and arrive with it).
                let mut got = Vec::new();
                let mut buf = [0u8; 8192];
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let partial = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"keys\": [";
                match how {
                    Misbehaviour::GzipLabelOnPlainJson => {
                        let body = br#"{"keys":[],"count":0,"page":0,"size":20}"#;
                        let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
                        let _ = s.write_all(head.as_bytes()).await;
                        let _ = s.write_all(body).await;
                    }
                    Misbehaviour::ResetMidBody => {
                        let _ = s.write_all(partial).await;
                        let _ = s.flush().await;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        let _ = s.set_zero_linger();
                        drop(s);
                    }
                    Misbehaviour::CloseMidBody => {
                        let _ = s.write_all(partial).await;
                        let _ = s.shutdown().await;
                    }
                    Misbehaviour::SlowHeaders => {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                    }
                    Misbehaviour::SlowBody => {
                        let _ = s.write_all(partial).await;
                        tokio::time::sleep(Duration::from_secs(30)).await;
                    }
                }
            });
        }
    });
    url
}

fn client(url: &str, timeout: Duration) -> kmsconform::target::http::Client {
    use kmsconform::target::sign::{scp::ScpSigner, Credentials};
    kmsconform::target::http::Client::new(
        kmsconform::target::url::BaseUrl::parse(url).unwrap(),
        Arc::new(ScpSigner::new(Credentials {
            access_key: "AK".into(),
            secret_key: CANARY.into(),
            account_id: String::new(),
        })),
        kmsconform::target::http::ClientOptions {
            timeout,
            ..Default::default()
        },
    )
    .unwrap()
}

fn list_keys() -> kmsconform::target::http::Request {
    kmsconform::target::http::Request {
        method: "GET".into(),
        path: "/v1/kms/transit".into(),
        query: vec![],
        headers: vec![],
        body: None,
        auth: kmsconform::target::http::Auth::Signed,
    }
}

/// Each misbehaviour is its own transport class, told apart by the client (slow headers
/// from a slow body, a reset from a mislabelled body), within the timeout.
#[test]
fn the_client_names_each_transport_problem() {
    for (how, kind) in [
        (Misbehaviour::GzipLabelOnPlainJson, "decode"),
        (Misbehaviour::ResetMidBody, "reset"),
        (Misbehaviour::CloseMidBody, "reset"),
        (Misbehaviour::SlowHeaders, "headers_timeout"),
        (Misbehaviour::SlowBody, "body_timeout"),
    ] {
        let url = misbehaving(how);
        let c = client(&url, Duration::from_secs(1));
        let started = Instant::now();
        let e = rt().block_on(c.send(&list_keys())).unwrap_err();
        assert_eq!(e.kind(), kind, "{how:?}: {e}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{how:?} took {:?}",
            started.elapsed()
        );
    }
}

/// https to a port that speaks plain HTTP: a TLS problem that says so, found by the
/// credentials probe, exit 3, at once.
#[test]
fn https_to_a_plain_http_port_is_a_tls_problem_that_says_so() {
    let (url, connections) = counting_server();
    let https = url.replace("http://", "https://");
    let started = Instant::now();
    let out = kmsconform(
        &["run", "--target", &https, "--versions", "1.3"],
        &[("SCP_ACCESS_KEY", "AK"), ("SCP_SECRET_KEY", CANARY)],
    );
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("TLS"), "{stderr}");
    assert!(
        stderr.contains("does not speak TLS on this port (plain HTTP?)"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(connections.load(Ordering::SeqCst), 1, "only the probe");
}

/// A body that does not decode as its Content-Encoding says: transport problems of kind
/// `decode` in report.json and on the summary's `transport:` line; no finding (it is not a
/// conformance check); the run fails the gate.
#[test]
fn a_mislabelled_body_is_a_decode_problem_in_the_report_and_the_summary() {
    let url = misbehaving(Misbehaviour::GzipLabelOnPlainJson);
    let dir = tempfile::tempdir().unwrap();
    let out = kmsconform(
        &[
            "run",
            "--target",
            &url,
            "--versions",
            "1.3",
            "--suite",
            "lifecycle",
            "--cases",
            "1",
            "--report-dir",
            dir.path().to_str().unwrap(),
        ],
        &[("SCP_ACCESS_KEY", "AK"), ("SCP_SECRET_KEY", CANARY)],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r = report(dir.path());
    let problems = r["transport_problems"].as_array().unwrap();
    assert!(!problems.is_empty());
    for p in problems {
        assert_eq!(p["error"]["kind"], "decode", "{p}");
    }
    assert_eq!(
        r["findings"],
        json!([]),
        "transport problems are not findings"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("transport:"))
        .unwrap_or_else(|| panic!("no transport line: {stdout}"));
    assert!(
        line.contains(&format!("transport: {} request(s)", problems.len()))
            && line.contains(&format!("decode {}", problems.len())),
        "{line}"
    );
}

/// A target that resets every connection mid-body: `reset` problems, the report written.
#[test]
fn a_reset_mid_body_is_a_reset_problem_in_the_report() {
    let url = misbehaving(Misbehaviour::ResetMidBody);
    let dir = tempfile::tempdir().unwrap();
    let out = kmsconform(
        &[
            "run",
            "--target",
            &url,
            "--versions",
            "1.3",
            "--suite",
            "lifecycle",
            "--cases",
            "1",
            "--report-dir",
            dir.path().to_str().unwrap(),
        ],
        &[("SCP_ACCESS_KEY", "AK"), ("SCP_SECRET_KEY", CANARY)],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r = report(dir.path());
    let problems = r["transport_problems"].as_array().unwrap();
    assert!(!problems.is_empty());
    for p in problems {
        assert_eq!(p["error"]["kind"], "reset", "{p}");
    }
    assert!(String::from_utf8_lossy(&out.stdout).contains("reset"));
}

// ---------------------------------------------------------------------------------------
// Proxies
// ---------------------------------------------------------------------------------------

const PROXY_PASSWORD: &str = "proxy-pass-canary-31c9";

/// The embedded target is reached directly whatever the proxy variables say: with every
/// one of them naming a dead proxy, the default run is still clean.
#[test]
fn the_embedded_target_bypasses_a_dead_proxy() {
    let dead = "http://127.0.0.1:1";
    let out = kmsconform(
        &["run"],
        &[
            ("HTTP_PROXY", dead),
            ("http_proxy", dead),
            ("HTTPS_PROXY", dead),
            ("https_proxy", dead),
            ("ALL_PROXY", dead),
            ("all_proxy", dead),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("proxy:"));
}

/// A URL target with HTTP_PROXY: every request goes through the proxy (a relay to the
/// reference; the target's own port has nothing listening), report.json names the proxy
/// without its password; with NO_PROXY=127.0.0.1 the proxy sees nothing.
#[test]
fn a_url_target_goes_through_http_proxy_unless_no_proxy_names_it() {
    use kmsconform::reference::{DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};
    let server = reference(vec![]);
    let (proxy, rec) = relay(server.addr);
    let nothing = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let unused = format!("http://{}", nothing.local_addr().unwrap());
    drop(nothing);
    let proxy_with_user = proxy.replace("http://", &format!("http://tester:{PROXY_PASSWORD}@"));
    let creds = [
        ("SCP_ACCESS_KEY", DEFAULT_ACCESS_KEY),
        ("SCP_SECRET_KEY", DEFAULT_SECRET_KEY),
    ];
    let run = |target: &str, envs: &[(&str, &str)]| {
        let dir = tempfile::tempdir().unwrap();
        let mut e: Vec<(&str, &str)> = creds.to_vec();
        e.extend(envs);
        let out = kmsconform(
            &[
                "run",
                "--target",
                target,
                "--versions",
                "1.3",
                "--cases",
                "1",
                "--format",
                "json",
                "--format",
                "html",
                "--report-dir",
                dir.path().to_str().unwrap(),
            ],
            &e,
        );
        (out, dir)
    };

    let (out, dir) = run(&unused, &[("HTTP_PROXY", &proxy_with_user)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r = report(dir.path());
    let shown = r["meta"]["proxy"].as_str().unwrap_or_default().to_string();
    assert_eq!(
        shown,
        proxy.replace("http://", "http://tester:<redacted>@"),
        "meta.proxy"
    );
    let requests = r["meta"]["requests"].as_u64().unwrap();
    let lines: Vec<String> = rec
        .lock()
        .connections
        .iter()
        .flat_map(|(up, _)| {
            String::from_utf8_lossy(&up.lock())
                .lines()
                .filter(|l| l.contains(" HTTP/1.1"))
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        lines.len() as u64 >= requests,
        "{} through the proxy of {requests}",
        lines.len()
    );
    for l in &lines {
        // Absolute-form request targets: what a client sends to a proxy.
        assert!(l.contains(&format!(" {unused}/")), "{l}");
    }
    for (name, t) in outputs(dir.path(), &out) {
        assert!(
            !t.contains(PROXY_PASSWORD),
            "{name} shows the proxy password"
        );
    }
    assert!(String::from_utf8_lossy(&out.stdout).contains("proxy: requests went through"));

    // NO_PROXY names the target's host: straight to the reference, the proxy sees nothing.
    let before = rec.lock().connections.len();
    let direct = format!("http://{}", server.addr);
    let (out, dir) = run(
        &direct,
        &[("HTTP_PROXY", &proxy), ("NO_PROXY", "127.0.0.1")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        rec.lock().connections.len(),
        before,
        "NO_PROXY was not obeyed"
    );
    assert!(report(dir.path())["meta"].get("proxy").is_none());
    // The lower-case spellings too, and a CIDR block.
    let (out, dir) = run(
        &direct,
        &[
            ("http_proxy", &proxy),
            ("no_proxy", "10.0.0.0/8,127.0.0.0/8"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        rec.lock().connections.len(),
        before,
        "no_proxy CIDR was not obeyed"
    );
    assert!(report(dir.path())["meta"].get("proxy").is_none());
    let (out, dir) = run(&direct, &[("http_proxy", &proxy)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        rec.lock().connections.len() > before,
        "http_proxy was not used"
    );
    assert_eq!(report(dir.path())["meta"]["proxy"], json!(proxy));
    drop(server);
}

/// Extra headers given to the library's client (`ClientOptions::extra_headers`) whose names
/// look like credentials (Authorization, *token*, *api-key*…) are secret too: a reflecting
/// target does not get their values into any report; other extra headers are not scrubbed.
#[test]
fn credential_looking_extra_headers_are_scrubbed_from_reflections() {
    use kmsconform::report::{self, summary, Format, Report};
    use kmsconform::run::session::{Inputs, RunPlan, Session, TargetKind, TargetSpec};
    let (url, _seen) = reflector();
    let set = kmsconform::spec::SpecSet::load(&root().join("specs/scp-kms")).unwrap();
    let bearer = "Bearer extra-header-canary-5d1e";
    let api_key = "api-key-canary-77aa01";
    let public = "trace-id-public-0042";
    let mut target = TargetSpec {
        kind: TargetKind::Url(url),
        client: Default::default(),
        params: Default::default(),
    };
    target.client.extra_headers = vec![
        ("Authorization".into(), bearer.into()),
        ("X-Api-Key".into(), api_key.into()),
        ("X-Trace-Id".into(), public.into()),
    ];
    let creds = kmsconform::target::sign::CredentialSet(
        [("access_key", "AK"), ("secret_key", CANARY)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    let mut plan = RunPlan::new(&set, vec!["1.3".into()]);
    plan.suites = vec!["lifecycle".into()];
    plan.cases = 1;
    let inputs = Inputs::load(&set, &root().join("suites/scp-kms"), &plan).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (summary_text, reflected_public) = rt().block_on(async {
        let session = Session::open(&set, &target, Some(creds)).await.unwrap();
        let outcome = session.run(&plan, &inputs).await.unwrap();
        let r = Report::from_outcome(&outcome, "scp-kms", 1);
        let scrubber = &outcome.scrubber;
        report::write_all(
            dir.path(),
            &[Format::Json, Format::Junit, Format::Html, Format::Markdown],
            &r,
            &|t| scrubber.scrub(t),
        )
        .unwrap();
        let json = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
        (scrubber.scrub(&summary::render(&r)), json.contains(public))
    });
    assert!(
        reflected_public,
        "the reflection of an ordinary header reaches the report"
    );
    let mut outs: Vec<(String, String)> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    outs.push(("summary".into(), summary_text));
    let secrets = vec![
        ("Authorization".to_string(), bearer.to_string()),
        ("X-Api-Key".into(), api_key.into()),
        ("secret key".into(), CANARY.into()),
    ];
    let found = leaks(&outs, &secrets);
    assert!(
        found.is_empty(),
        "{} leaks:\n{}",
        found.len(),
        found.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// Replays that reproduce
// ---------------------------------------------------------------------------------------

/// Splits a POSIX shell command line into words: single quotes (literal), double quotes
/// (backslash escapes `"`, `\`, `$` and a backquote), backslash outside quotes, blanks.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    cur.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' if matches!(chars.peek(), Some('"' | '\\' | '$' | '`')) => {
                            cur.push(chars.next().unwrap());
                        }
                        c => cur.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

#[test]
fn shell_words_splits_as_sh_does() {
    assert_eq!(
        shell_words(r#"a 'b c' "d \"e\" \$f" g\ h '' 'it'\''s'"#),
        vec!["a", "b c", "d \"e\" $f", "g h", "", "it's"]
    );
}

/// A run with four faults on 1.0 and 1.3: every finding's replay line, run exactly as
/// printed (the binary in place of `kmsconform`, plus `--report-dir`), reports a finding
/// with the same id; every finding of a request has a curl line that can be pasted (signing
/// headers as environment references) and the hint computing them; nothing else has one.
#[test]
fn every_finding_replays_to_itself_and_has_a_curl_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = kmsconform(
        &[
            "run",
            "--fault",
            "decrypt-corrupts",
            "--fault",
            "create-returns-200",
            "--fault",
            "wrong-field-type",
            "--fault",
            "sort-ignored",
            "--versions",
            "1.0,1.3",
            "--cases",
            "2",
            "--report-dir",
            dir.path().to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r = report(dir.path());
    let findings = r["findings"].as_array().unwrap();
    assert!(findings.len() > 20, "{} findings", findings.len());
    let comparison = ["snapshot_conformance", "version_diff", "target_diff"];
    for f in findings {
        let (curl, hint) = (
            f["curl"].as_str().unwrap(),
            f["curl_hint"].as_str().unwrap(),
        );
        let method = f["request"]["method"].as_str().unwrap();
        if comparison.contains(&f["check"].as_str().unwrap()) {
            assert!(curl.is_empty() && hint.is_empty(), "{f}");
            continue;
        }
        assert_ne!(method, "-", "a finding without its request: {f}");
        assert!(
            curl.starts_with(&format!("curl -sS -X {method} 'http")),
            "{curl}"
        );
        let words = shell_words(curl);
        assert!(!words.iter().any(|w| w == "-"), "a placeholder in {curl}");
        if f["request"]["auth"] == "unsigned" {
            assert!(!curl.contains("Scp-Signature") && hint.is_empty(), "{f}");
        } else {
            assert!(
                words.iter().any(|w| w == "Scp-Signature: $SCP_SIGNATURE")
                    && words.iter().any(|w| w == "Scp-Timestamp: $SCP_TIMESTAMP"),
                "{curl}"
            );
            assert!(
                hint.contains("SCP_SIGNATURE=") && hint.contains("$SCP_SECRET_KEY"),
                "{hint}"
            );
        }
    }
    // One replay per distinct finding id, two at a time.
    let mut seen = std::collections::BTreeSet::new();
    let todo: Vec<(String, String)> = findings
        .iter()
        .filter(|f| seen.insert(f["id"].as_str().unwrap().to_string()))
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["replay"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let todo = Arc::new(Mutex::new(todo));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (todo, failures) = (todo.clone(), failures.clone());
            std::thread::spawn(move || loop {
                let Some((id, line)) = todo.lock().pop() else {
                    return;
                };
                let words = shell_words(&line);
                assert_eq!(words[0], "kmsconform", "{line}");
                assert_eq!(words[1], "replay", "{line}");
                let rdir = tempfile::tempdir().unwrap();
                let mut args: Vec<String> = words[1..].to_vec();
                args.extend(["--report-dir".into(), rdir.path().display().to_string()]);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let out = kmsconform(&args, &[]);
                let reproduced = std::fs::read(rdir.path().join("report.json"))
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                    .is_some_and(|rr| {
                        rr["findings"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|g| g["id"] == id.as_str())
                    });
                if !reproduced {
                    failures
                        .lock()
                        .push(format!("{id}: {line}\n{}", text(&out)));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let failures = failures.lock();
    assert!(
        failures.is_empty(),
        "{} of {} findings did not reproduce:\n{}",
        failures.len(),
        seen.len(),
        failures.join("\n")
    );
}

/// The curl hint of a finding computes what its case sent: the right signature for a signed
/// case, a signature with the harness's wrong secret for a wrong-signature case, and a
/// timestamp an hour old for a stale one (run through sh and openssl here, checked against
/// the signing function).
#[test]
fn curl_hints_sign_as_their_case_did() {
    use kmsconform::reference::{Fault, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY};
    use kmsconform::target::sign::scp::scp_signature;
    let server = reference(vec![Fault::AuthIgnored, Fault::WrongFieldType]);
    let url = format!("http://{}", server.addr);
    let dir = tempfile::tempdir().unwrap();
    let creds = [
        ("SCP_ACCESS_KEY", DEFAULT_ACCESS_KEY),
        ("SCP_SECRET_KEY", DEFAULT_SECRET_KEY),
        ("SCP_ACCOUNT_ID", ""),
    ];
    let out = kmsconform(
        &[
            "run",
            "--target",
            &url,
            "--versions",
            "1.3",
            "--suite",
            "generated",
            "--cases",
            "1",
            "--report-dir",
            dir.path().to_str().unwrap(),
        ],
        &creds,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r = report(dir.path());
    let mut checked = std::collections::BTreeSet::new();
    for f in r["findings"].as_array().unwrap() {
        let auth = f["request"]["auth"].as_str().unwrap();
        if auth == "unsigned" || !checked.insert(auth.to_string()) {
            continue;
        }
        let hint = f["curl_hint"].as_str().unwrap();
        let sh = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{hint}; printf '%s\\n%s' \"$SCP_TIMESTAMP\" \"$SCP_SIGNATURE\""
            ))
            .envs(creds)
            .output()
            .unwrap();
        let printed = String::from_utf8_lossy(&sh.stdout).into_owned();
        let (ts, sig) = printed.split_once('\n').unwrap();
        let now = chrono::Utc::now().timestamp_millis();
        let age = now - ts.parse::<i64>().unwrap();
        let secret = match auth {
            "wrong_signature" => format!("{DEFAULT_SECRET_KEY}-wrong"),
            _ => DEFAULT_SECRET_KEY.to_string(),
        };
        if auth == "stale_timestamp" {
            assert!(
                (3_540_000..3_660_000).contains(&age),
                "{auth}: age {age} ms"
            );
        } else {
            assert!((0..60_000).contains(&age), "{auth}: age {age} ms");
        }
        let method = f["request"]["method"].as_str().unwrap();
        let target = f["request"]["url"].as_str().unwrap();
        let want = scp_signature(&secret, method, target, ts, DEFAULT_ACCESS_KEY, "");
        assert_eq!(sig, want, "{auth}: {hint}");
    }
    assert_eq!(
        checked.into_iter().collect::<Vec<_>>(),
        vec!["signed", "stale_timestamp", "wrong_signature"]
    );
    drop(server);
}
