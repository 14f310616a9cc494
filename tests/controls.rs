//! The CLI controls of `kmsconform run` (README "CLI controls"): operation filters, extra
//! headers, TLS trust, pacing, retries, the response-time limit, listing cases, colour and
//! verbosity, and kmsconform.toml. Each flag is driven through the binary against loopback
//! servers these tests start (plain, TLS, resetting, slow, counting), or the embedded
//! reference; bad values are refused before the first request.

use parking_lot::Mutex;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

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

/// Credentials for a URL target speaking the SCP scheme (the loopback servers check none).
const SCP_CREDS: [(&str, &str); 2] = [
    ("SCP_ACCESS_KEY", "AK-CONTROLS"),
    ("SCP_SECRET_KEY", "controls-secret-key-4c1d"),
];

/// `kmsconform ARGS` in `cwd` (default: the repository), with exactly these environment
/// variables of ours: credentials, proxies and NO_COLOR of the machine removed.
fn kmsconform_in(cwd: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kmsconform"));
    c.current_dir(cwd).args(args);
    for v in [
        "SCP_ACCESS_KEY",
        "SCP_SECRET_KEY",
        "SCP_ACCOUNT_ID",
        "OTC_ACCESS_KEY",
        "OTC_SECRET_KEY",
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
        "NO_COLOR",
    ] {
        c.env_remove(v);
    }
    c.envs(envs.iter().copied());
    c.output().unwrap()
}

fn kmsconform(args: &[&str], envs: &[(&str, &str)]) -> Output {
    kmsconform_in(&root(), args, envs)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn text(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

fn report(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// Every file of a report directory, as text.
fn report_files(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Loopback servers
// ---------------------------------------------------------------------------------------

/// What a loopback server does with each connection (one request per connection: it
/// answers with `connection: close`).
#[derive(Clone, Copy)]
enum Behaviour {
    /// `status {}` at once.
    Answer(u16),
    /// The first N connections are reset (RST) after the request arrives; then `200 {}`.
    ResetFirst(u64),
    /// The first connection gets nothing for 3 s (then is dropped); then `200 {}`.
    SilentFirst,
}

/// What a server saw.
#[derive(Default)]
struct Seen {
    connections: AtomicU64,
    /// Each request head (lower-cased header names as sent), with when it arrived.
    requests: Mutex<Vec<(Instant, String)>>,
}

impl Seen {
    fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
    fn heads(&self) -> Vec<String> {
        self.requests
            .lock()
            .iter()
            .map(|(_, h)| h.clone())
            .collect()
    }
}

/// Reads one request (head and a content-length body); None when the peer went away.
async fn read_request<S: AsyncRead + Unpin>(s: &mut S) -> Option<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&got[..head_end]).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while got.len() < head_end + len {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    Some(head)
}

async fn answer<S: AsyncWrite + Unpin>(s: &mut S, status: u16) {
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
    );
    let _ = s.write_all(head.as_bytes()).await;
    let _ = s.flush().await;
    let _ = s.shutdown().await;
}

/// A plain HTTP server on a loopback port: its URL and what it saw.
fn server(how: Behaviour) -> (String, Arc<Seen>) {
    let l = rt()
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let seen = Arc::new(Seen::default());
    let s2 = seen.clone();
    rt().spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let n = s2.connections.fetch_add(1, Ordering::SeqCst) + 1;
            let seen = s2.clone();
            tokio::spawn(async move {
                let Some(head) = read_request(&mut s).await else {
                    return;
                };
                seen.requests.lock().push((Instant::now(), head));
                match how {
                    Behaviour::ResetFirst(k) if n <= k => {
                        let _ = s.set_zero_linger();
                        drop(s);
                    }
                    Behaviour::SilentFirst if n == 1 => {
                        tokio::time::sleep(Duration::from_secs(3)).await;
                    }
                    Behaviour::Answer(status) => answer(&mut s, status).await,
                    _ => answer(&mut s, 200).await,
                }
            });
        }
    });
    (url, seen)
}

/// A relay to `upstream` that holds every chunk of the answer for `delay` before passing it
/// on: each response takes at least that long.
fn slow_relay(upstream: std::net::SocketAddr, delay: Duration) -> String {
    let l = rt()
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    rt().spawn(async move {
        while let Ok((client, _)) = l.accept().await {
            tokio::spawn(async move {
                let Ok(up) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut cr, mut cw) = client.into_split();
                let (mut ur, mut uw) = up.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut cr, &mut uw).await;
                    let _ = uw.shutdown().await;
                });
                let mut buf = vec![0u8; 65536];
                loop {
                    match ur.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            tokio::time::sleep(delay).await;
                            if cw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                }
                let _ = cw.shutdown().await;
            });
        }
    });
    url
}

/// A CA and a server certificate it issued for 127.0.0.1 and localhost.
struct Pki {
    ca_pem: String,
    cert_der: rustls_pki_types::CertificateDer<'static>,
    key_der: rustls_pki_types::PrivateKeyDer<'static>,
}

mod rustls_pki_types {
    pub use tokio_rustls::rustls::pki_types::*;
}

fn pki() -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "kmsconform controls test CA");
    ca.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let mut leaf =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    leaf.distinguished_name
        .push(rcgen::DnType::CommonName, "127.0.0.1");
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        cert_der: leaf_cert.der().clone(),
        key_der: rustls_pki_types::PrivatePkcs8KeyDer::from(leaf_key.serialize_der()).into(),
    }
}

/// An HTTPS server with `pki`'s certificate answering `200 {}`: its URL and what it saw.
fn tls_server(pki: &Pki) -> (String, Arc<Seen>) {
    use tokio_rustls::rustls;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![pki.cert_der.clone()], pki.key_der.clone_key())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let l = rt()
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("https://{}", l.local_addr().unwrap());
    let seen = Arc::new(Seen::default());
    let s2 = seen.clone();
    rt().spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            s2.connections.fetch_add(1, Ordering::SeqCst);
            let (acceptor, seen) = (acceptor.clone(), s2.clone());
            tokio::spawn(async move {
                let Ok(mut s) = acceptor.accept(s).await else {
                    return;
                };
                if let Some(head) = read_request(&mut s).await {
                    seen.requests.lock().push((Instant::now(), head));
                    answer(&mut s, 200).await;
                }
            });
        }
    });
    (url, seen)
}

/// The smallest URL-target run: the generated cases of listKeys on 1.3.
fn small(url: &str) -> Vec<String> {
    [
        "run",
        "--target",
        url,
        "--versions",
        "1.3",
        "--suite",
        "generated",
        "--include-operation",
        "listKeys",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn args(v: &[String], more: &[&str]) -> Vec<String> {
    v.iter()
        .cloned()
        .chain(more.iter().map(|s| s.to_string()))
        .collect()
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

// ---------------------------------------------------------------------------------------
// --include-operation / --exclude-operation
// ---------------------------------------------------------------------------------------

/// A coverage entry's skipped reasons (absent when none).
fn skipped_of(c: &Value) -> serde_json::Map<String, Value> {
    c.get("skipped")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// The operation of a generated case id (`1.3/listKeys/valid/0`), None for setup, probe,
/// suite and cleanup steps.
fn generated_operation(case: &str) -> Option<&str> {
    let parts: Vec<&str> = case.split('/').collect();
    match parts.as_slice() {
        [_, "setup" | "probe" | "suite" | "cleanup", ..] => None,
        [_, op, "valid" | "invalid" | "unknown" | "boundary" | "auth" | "absent", ..] => Some(op),
        _ => None,
    }
}

#[test]
fn include_and_exclude_operation_select_generated_cases_and_skip_suites_that_call_others() {
    let dir = tempfile::tempdir().unwrap();
    let out = kmsconform(
        &[
            "run",
            "--versions",
            "1.3",
            "--include-operation",
            "list*",
            "--include-operation",
            "show?ey",
            "--exclude-operation",
            "*Managed*",
            "--report-dir",
            dir.path().to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    let r = report(dir.path());
    let allowed = |op: &str| (op.starts_with("list") || op == "showKey") && !op.contains("Managed");
    // Every generated case sent is of a selected operation, and every selected one was sent.
    let mut sent_ops = std::collections::BTreeSet::new();
    for c in r["coverage"].as_array().unwrap() {
        let (op, kind) = (
            c["operation"].as_str().unwrap(),
            c["kind"].as_str().unwrap(),
        );
        if ["valid", "invalid", "unknown", "boundary", "auth"].contains(&kind)
            && c["sent"].as_u64().unwrap() > 0
        {
            assert!(allowed(op), "{op} {kind} was sent");
            sent_ops.insert(op.to_string());
        }
    }
    assert!(
        sent_ops.contains("listKeys") && sent_ops.contains("showKey"),
        "{sent_ops:?}"
    );
    assert!(!sent_ops.contains("listManagedKeys"), "{sent_ops:?}");
    for f in r["findings"].as_array().unwrap() {
        if let Some(op) = generated_operation(f["case"].as_str().unwrap()) {
            assert!(allowed(op), "{f}");
        }
    }
    // Every suite calls an operation the filter leaves out: none ran, each is counted as
    // skipped with the reason, and the summary says what the filter was.
    assert_eq!(r["meta"]["suites"], serde_json::json!(["generated"]));
    assert_eq!(
        r["meta"]["operations"],
        serde_json::json!({"include": ["list*", "show?ey"], "exclude": ["*Managed*"]})
    );
    let suite_skips: Vec<String> = r["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "suite")
        .flat_map(|c| skipped_of(c).keys().cloned().collect::<Vec<_>>())
        .collect();
    assert!(
        suite_skips
            .iter()
            .any(|w| w.contains("suite lifecycle calls") && w.contains("--include-operation")),
        "{suite_skips:?}"
    );
    assert!(
        stdout(&out).contains("operations: only list*, show?ey; not *Managed*"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn excluding_an_operation_skips_exactly_the_suites_that_call_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = kmsconform(
        &[
            "run",
            "--versions",
            "1.3",
            "--exclude-operation",
            "rotateKey",
            "--cases",
            "1",
            "--report-dir",
            dir.path().to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    let r = report(dir.path());
    let ran: Vec<&str> = r["meta"]["suites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let suites = kmsconform::run::suite::load_dir(&root().join("suites/scp-kms")).unwrap();
    for s in &suites {
        let calls = kmsconform::run::select::suite_operations(s);
        assert_eq!(
            ran.contains(&s.name.as_str()),
            !calls.contains("rotateKey"),
            "suite {} (calls {calls:?}); ran {ran:?}",
            s.name
        );
    }
    assert!(ran.len() > 1 && ran.len() <= suites.len(), "{ran:?}");
    // No exchange of rotateKey outside setup/cleanup, and the skipped suites are coverage.
    for c in r["coverage"].as_array().unwrap() {
        if c["operation"] == "rotateKey" {
            assert_eq!(c["sent"], 0, "{c}");
        }
    }
    let skipped = r["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "suite")
        .flat_map(skipped_of)
        .filter(|(why, _)| why.contains("calls rotateKey, which --exclude-operation leaves out"))
        .count();
    assert!(skipped > 0);
    assert!(stdout(&out).contains("coverage: the run covered less than planned"));
}

#[test]
fn an_operation_glob_that_matches_nothing_is_an_input_error_before_any_request() {
    let (url, seen) = server(Behaviour::Answer(200));
    for (extra, names) in [
        (
            vec!["--include-operation", "nosuch*"],
            "--include-operation 'nosuch*'",
        ),
        (
            vec!["--exclude-operation", "creatKey"],
            "--exclude-operation 'creatKey'",
        ),
        // listManagedKeys exists from 1.2 on: not in the selected 1.0.
        (
            vec!["--versions", "1.0", "--include-operation", "listManaged*"],
            "--include-operation 'listManaged*'",
        ),
    ] {
        let mut a = vec!["run", "--target", &url];
        a.extend(extra);
        let out = kmsconform(&a, &SCP_CREDS);
        assert_eq!(code(&out), 2, "{a:?}: {}", text(&out));
        assert!(stderr(&out).contains(names), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("matches no operation"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(seen.connections(), 0);
}

// ---------------------------------------------------------------------------------------
// -H / --header
// ---------------------------------------------------------------------------------------

const HEADER_CANARY: &str = "Bearer ctl-header-canary-9f3e1a77";

#[test]
fn extra_headers_go_on_every_request_and_credential_looking_values_reach_no_output() {
    let (url, seen) = server(Behaviour::Answer(200));
    let dir = tempfile::tempdir().unwrap();
    let auth = format!("Authorization: {HEADER_CANARY}");
    let a = args(
        &small(&url),
        &[
            "-H",
            "X-Trace: public-trace-0042",
            "--header",
            &auth,
            "--cases",
            "2",
            "--report-dir",
            dir.path().to_str().unwrap(),
            "--format",
            "json",
            "--format",
            "junit",
            "--format",
            "markdown",
            "--format",
            "html",
        ],
    );
    let out = kmsconform(&refs(&a), &SCP_CREDS);
    assert_eq!(
        code(&out),
        1,
        "the dumb server gives findings: {}",
        text(&out)
    );
    let heads = seen.heads();
    assert!(heads.len() > 5, "{heads:?}");
    for h in &heads {
        let l = h.to_ascii_lowercase();
        assert!(l.contains("\r\nx-trace: public-trace-0042\r\n"), "{h}");
        assert!(
            l.contains(&format!(
                "\r\nauthorization: {}\r\n",
                HEADER_CANARY.to_ascii_lowercase()
            )),
            "{h}"
        );
    }
    // The credential-looking value: in no output; the public one in curl lines as it is.
    let mut outputs = report_files(dir.path());
    outputs.push(("stdout".into(), stdout(&out)));
    outputs.push(("stderr".into(), stderr(&out)));
    for (name, t) in &outputs {
        assert!(
            !t.contains("ctl-header-canary-9f3e1a77"),
            "the header value leaks into {name}"
        );
    }
    let r = report(dir.path());
    let f = &r["findings"].as_array().unwrap()[0];
    let curl = f["curl"].as_str().unwrap();
    assert!(
        curl.contains(r#"-H "Authorization: $AUTHORIZATION""#),
        "{curl}"
    );
    assert!(curl.contains("-H 'X-Trace: public-trace-0042'"), "{curl}");
    let replay = f["replay"].as_str().unwrap();
    assert!(
        replay.contains(r#"-H "Authorization: $AUTHORIZATION""#),
        "{replay}"
    );
    assert!(
        replay.contains("-H 'X-Trace: public-trace-0042'"),
        "{replay}"
    );
}

/// The OTC scheme signs every header: one given with -H is among its SignedHeaders (it was
/// there before signing), and the embedded OTC reference, which verifies them, accepts it.
#[test]
fn extra_headers_are_added_before_signing() {
    let (url, seen) = server(Behaviour::Answer(200));
    let out = kmsconform(
        &[
            "run",
            "--api",
            "otc-kms",
            "--target",
            &url,
            "--suite",
            "generated",
            "--cases",
            "1",
            "-H",
            "X-Ctl-Trace: signed-too",
            "--param",
            "project_id=5f3c2b1a0e9d8c7b6a5f4e3d2c1b0a99",
            "--param",
            "key_id=0d0a5b2e-3c4f-4a5b-8c7d-9e0f1a2b3c4d",
            "--param",
            "scheduled_key_id=1d0a5b2e-3c4f-4a5b-8c7d-9e0f1a2b3c4d",
        ],
        &[
            ("OTC_ACCESS_KEY", "AKCONTROLS"),
            ("OTC_SECRET_KEY", "controls-otc-secret"),
        ],
    );
    assert!(code(&out) <= 1, "{}", text(&out));
    let signed: Vec<String> = seen
        .heads()
        .into_iter()
        .filter_map(|h| {
            h.lines()
                .find(|l| {
                    l.to_ascii_lowercase()
                        .starts_with("authorization: sdk-hmac-sha256")
                })
                .map(String::from)
        })
        .collect();
    assert!(!signed.is_empty());
    for a in &signed {
        let names = a
            .split("SignedHeaders=")
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap();
        assert!(names.split(';').any(|n| n == "x-ctl-trace"), "{a}");
    }
    let out = kmsconform(
        &[
            "run",
            "--api",
            "otc-kms",
            "-H",
            "X-Ctl-Trace: signed-too",
            "--snapshots",
            "off",
        ],
        &[],
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
}

#[test]
fn a_malformed_header_is_an_input_error_before_any_request() {
    let (url, seen) = server(Behaviour::Answer(200));
    for (h, says) in [
        ("no colon here", "expected 'Name: value'"),
        ("Bad Name: x", "is not a header name"),
        (": empty name", "is not a header name"),
        ("Content-Length: 5", "set by the HTTP client itself"),
        ("host: example.com", "set by the HTTP client itself"),
        ("X-A: line\u{1}break", "characters HTTP cannot carry"),
    ] {
        let out = kmsconform(&["run", "--target", &url, "-H", h], &SCP_CREDS);
        assert_eq!(code(&out), 2, "{h}: {}", text(&out));
        assert!(stderr(&out).contains(says), "{h}: {}", stderr(&out));
    }
    assert_eq!(seen.connections(), 0);
}

// ---------------------------------------------------------------------------------------
// --insecure / --ca-cert
// ---------------------------------------------------------------------------------------

#[test]
fn tls_needs_insecure_or_the_ca_and_a_bad_ca_file_is_an_input_error() {
    let pki = pki();
    let (url, seen) = tls_server(&pki);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let other_ca = dir.path().join("other-ca.pem");
    std::fs::write(&other_ca, pki_other_ca()).unwrap();
    let base = args(&small(&url), &["--cases", "1"]);

    // Without either flag the certificate is not trusted: the probe fails, class tls.
    let out = kmsconform(&refs(&base), &SCP_CREDS);
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(stderr(&out).contains("TLS failed"), "{}", stderr(&out));
    assert!(
        seen.heads().is_empty(),
        "no request completed the handshake"
    );
    // Another CA does not help.
    let out = kmsconform(
        &refs(&args(&base, &["--ca-cert", other_ca.to_str().unwrap()])),
        &SCP_CREDS,
    );
    assert_eq!(code(&out), 3, "{}", text(&out));

    for flags in [
        vec!["--insecure".to_string()],
        vec!["--ca-cert".into(), ca.display().to_string()],
    ] {
        let before = seen.heads().len();
        let rd = tempfile::tempdir().unwrap();
        let a = args(
            &args(&base, &refs(&flags)),
            &["--report-dir", rd.path().to_str().unwrap()],
        );
        let out = kmsconform(&refs(&a), &SCP_CREDS);
        // The server answers `{}` to everything: findings, but every request was answered.
        assert_eq!(code(&out), 1, "{flags:?}: {}", text(&out));
        let r = report(rd.path());
        assert_eq!(r["transport_problems"], serde_json::json!([]), "{flags:?}");
        let sent = r["meta"]["requests"].as_u64().unwrap();
        assert_eq!((seen.heads().len() - before) as u64, sent, "{flags:?}");
        if flags[0] == "--insecure" {
            let replay = r["findings"][0]["replay"].as_str().unwrap();
            assert!(replay.contains("--insecure"), "{replay}");
            assert!(r["findings"][0]["curl"].as_str().unwrap().contains(" -k "));
        }
    }

    // Unreadable, empty, not PEM, PEM around garbage: exit 2, nothing sent.
    let connections = seen.connections();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello, I am not a certificate\n").unwrap();
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    for (file, says) in [
        (dir.path().join("missing.pem"), "cannot read it"),
        (empty, "no PEM certificate"),
        (not_pem, "no PEM certificate"),
        (garbage, "--ca-cert"),
    ] {
        let out = kmsconform(
            &refs(&args(&base, &["--ca-cert", file.to_str().unwrap()])),
            &SCP_CREDS,
        );
        assert_eq!(code(&out), 2, "{}: {}", file.display(), text(&out));
        assert!(
            stderr(&out).contains(says),
            "{}: {}",
            file.display(),
            stderr(&out)
        );
        assert!(
            stderr(&out).contains(file.to_str().unwrap()),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(seen.connections(), connections);
}

fn pki_other_ca() -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.self_signed(&key).unwrap().pem()
}

// ---------------------------------------------------------------------------------------
// --rate-limit
// ---------------------------------------------------------------------------------------

/// 10 requests per second over 8 concurrent workers: the requests arrive paced. Bounds are
/// loose (this machine is shared): at least 20 requests cannot span less than 1.5 s, and no
/// second of the run sees more than 15.
#[test]
fn rate_limit_paces_the_requests_of_every_worker() {
    let (url, seen) = server(Behaviour::Answer(200));
    let a = args(
        &small(&url),
        &["--cases", "10", "--concurrency", "8", "--rate-limit", "10"],
    );
    let started = Instant::now();
    let out = kmsconform(&refs(&a), &SCP_CREDS);
    let wall = started.elapsed();
    assert!(code(&out) <= 1, "{}", text(&out));
    let times: Vec<Instant> = seen.requests.lock().iter().map(|(t, _)| *t).collect();
    let n = times.len();
    assert!(n >= 20, "{n} requests");
    let span = *times.iter().max().unwrap() - *times.iter().min().unwrap();
    assert!(
        span >= Duration::from_millis(1500),
        "{n} requests at 10/s arrived within {span:?}"
    );
    assert!(wall >= span);
    let most_in_a_second = times
        .iter()
        .map(|t| {
            times
                .iter()
                .filter(|u| **u >= *t && **u < *t + Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap();
    assert!(
        most_in_a_second <= 15,
        "{most_in_a_second} requests within one second"
    );
}

#[test]
fn a_bad_rate_or_retry_count_is_an_input_error() {
    let (url, seen) = server(Behaviour::Answer(200));
    for (flag, v) in [
        ("--rate-limit", "0/s"),
        ("--rate-limit", "fast"),
        ("--rate-limit", "10/h"),
        ("--rate-limit", "1.5"),
        ("--retries=", "-1"),
        ("--retries", "many"),
    ] {
        let a: Vec<String> = if flag.ends_with('=') {
            vec![format!("{flag}{v}")]
        } else {
            vec![flag.to_string(), v.to_string()]
        };
        let mut all = vec!["run", "--target", &url];
        all.extend(refs(&a));
        let out = kmsconform(&all, &SCP_CREDS);
        assert_eq!(code(&out), 2, "{flag} {v}: {}", text(&out));
        assert!(
            stderr(&out).contains(flag.trim_end_matches('=')),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(seen.connections(), 0);
}

// ---------------------------------------------------------------------------------------
// --retries
// ---------------------------------------------------------------------------------------

#[test]
fn retries_resend_after_a_reset_or_timeout() {
    // Two resets, then answers: with --retries 2 the probe gets through on its third try and
    // nothing is a transport problem; the server saw the two extra attempts.
    let (url, seen) = server(Behaviour::ResetFirst(2));
    let dir = tempfile::tempdir().unwrap();
    let a = args(
        &small(&url),
        &[
            "--cases",
            "1",
            "--retries",
            "2",
            "--report-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    let out = kmsconform(&refs(&a), &SCP_CREDS);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let r = report(dir.path());
    assert_eq!(r["transport_problems"], serde_json::json!([]));
    assert_eq!(r["meta"]["retried"], 2);
    let sent = r["meta"]["requests"].as_u64().unwrap();
    assert_eq!(seen.heads().len() as u64, sent + 2);
    assert!(
        stdout(&out).contains("retries: 2 request(s) sent again"),
        "{}",
        stdout(&out)
    );
    assert!(r["findings"][0]["replay"]
        .as_str()
        .unwrap()
        .contains("--retries 2"));

    // Without --retries the same resets are transport problems of their own class.
    let (url, seen) = server(Behaviour::ResetFirst(2));
    let dir = tempfile::tempdir().unwrap();
    let a = args(
        &small(&url),
        &["--cases", "1", "--report-dir", dir.path().to_str().unwrap()],
    );
    let out = kmsconform(&refs(&a), &SCP_CREDS);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let r = report(dir.path());
    let kinds: Vec<&str> = r["transport_problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["error"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["reset", "reset"]);
    assert_eq!(
        seen.heads().len() as u64,
        r["meta"]["requests"].as_u64().unwrap()
    );

    // No answer within --timeout: the probe would leave the target unusable (exit 3);
    // one retry reaches the answer.
    let (url, _) = server(Behaviour::SilentFirst);
    let a = args(&small(&url), &["--cases", "1", "--timeout", "1"]);
    let out = kmsconform(&refs(&a), &SCP_CREDS);
    assert_eq!(code(&out), 3, "{}", text(&out));
    let (url, _) = server(Behaviour::SilentFirst);
    let a = args(
        &small(&url),
        &["--cases", "1", "--timeout", "1", "--retries", "1"],
    );
    let out = kmsconform(&refs(&a), &SCP_CREDS);
    assert_eq!(code(&out), 1, "{}", text(&out));
}

/// A response is an answer, whatever its status: with 500 or 503 to everything, a run
/// with --retries 3 sends exactly what the same run without it sends.
#[test]
fn retries_never_resend_after_a_response() {
    for status in [500, 503] {
        let mut hits = Vec::new();
        for retries in ["0", "3"] {
            let (url, seen) = server(Behaviour::Answer(status));
            let dir = tempfile::tempdir().unwrap();
            let a = args(
                &small(&url),
                &[
                    "--cases",
                    "2",
                    "--retries",
                    retries,
                    "--report-dir",
                    dir.path().to_str().unwrap(),
                ],
            );
            let out = kmsconform(&refs(&a), &SCP_CREDS);
            assert_eq!(code(&out), 1, "{}", text(&out));
            let r = report(dir.path());
            assert!(r["meta"]["requests"].as_u64().unwrap() > 5);
            assert!(r["meta"].get("retried").is_none(), "{}", r["meta"]);
            assert!(!stdout(&out).contains("retries:"));
            assert_eq!(seen.connections(), seen.heads().len() as u64);
            hits.push(seen.heads().len());
        }
        assert_eq!(
            hits[0], hits[1],
            "{status}: requests without and with --retries 3"
        );
    }
}

// ---------------------------------------------------------------------------------------
// --max-response-time
// ---------------------------------------------------------------------------------------

/// Behind a relay that holds each answer 250 ms, a 100 ms limit fails every exchange — and
/// nothing else fails: the findings are all `max_response_time`, basis `required`, and they
/// fail the gate (exit 1).
#[test]
fn max_response_time_is_a_gating_check_of_its_own() {
    let reference = rt()
        .block_on(kmsconform::reference::spawn(
            kmsconform::reference::Config::default(),
            "127.0.0.1:0".parse().unwrap(),
        ))
        .unwrap();
    let upstream: std::net::SocketAddr = reference
        .base_url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let relay = slow_relay(upstream, Duration::from_millis(250));
    let creds = [
        ("SCP_ACCESS_KEY", "KMSCONFORM-ACCESS-KEY"),
        ("SCP_SECRET_KEY", "kmsconform-embedded-secret"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let a = args(
        &small(&relay),
        &[
            "--cases",
            "2",
            "--max-response-time",
            "100",
            "--report-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    let out = kmsconform(&refs(&a), &creds);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let r = report(dir.path());
    let findings = r["findings"].as_array().unwrap();
    assert!(findings.len() >= 5, "{}", findings.len());
    for f in findings {
        assert_eq!(f["check"], "max_response_time", "{f}");
        assert_eq!(f["basis"], "required", "{f}");
        assert_eq!(f["advisory"], false, "{f}");
        assert!(
            f["source"]
                .as_str()
                .unwrap()
                .contains("--max-response-time 100"),
            "{f}"
        );
        assert!(
            f["replay"]
                .as_str()
                .unwrap()
                .contains("--max-response-time 100"),
            "{f}"
        );
    }
    assert_eq!(r["meta"]["max_response_ms"], 100);

    // A limit the relay keeps: the check passes on every exchange, the run is clean.
    let dir = tempfile::tempdir().unwrap();
    let a = args(
        &small(&relay),
        &[
            "--cases",
            "2",
            "--max-response-time",
            "5000",
            "--report-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    let out = kmsconform(&refs(&a), &creds);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let r = report(dir.path());
    let passed: u64 = r["counts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["check"] == "max_response_time")
        .map(|c| c["passed"].as_u64().unwrap())
        .sum();
    assert!(passed > 5, "{passed}");
}

/// Suite steps are judged too; without the flag the check is not evaluated at all.
#[test]
fn max_response_time_judges_suite_steps_and_is_off_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let out = kmsconform(
        &[
            "run",
            "--versions",
            "1.3",
            "--suite",
            "lifecycle",
            "--max-response-time",
            "60000",
            "--report-dir",
            dir.path().to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    let r = report(dir.path());
    let judged: Vec<&str> = r["counts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["check"] == "max_response_time" && c["passed"].as_u64().unwrap() > 0)
        .map(|c| c["operation"].as_str().unwrap())
        .collect();
    assert!(
        judged.contains(&"changeStateOfKey") && judged.contains(&"deleteKey"),
        "{judged:?}"
    );

    let out = kmsconform(
        &[
            "run",
            "--versions",
            "1.3",
            "--suite",
            "lifecycle",
            "--report-dir",
            dir.path().to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    let r = report(dir.path());
    assert!(!r["counts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["check"] == "max_response_time"));
    for bad in ["0", "-5", "fast"] {
        let out = kmsconform(&["run", &format!("--max-response-time={bad}")], &[]);
        assert_eq!(code(&out), 2, "{bad}: {}", text(&out));
        assert!(
            stderr(&out).contains("--max-response-time"),
            "{}",
            stderr(&out)
        );
    }
}

// ---------------------------------------------------------------------------------------
// --list-cases
// ---------------------------------------------------------------------------------------

#[test]
fn list_cases_prints_what_would_be_sent_and_sends_nothing() {
    let (url, seen) = server(Behaviour::Answer(200));
    let out = kmsconform(&["run", "--target", &url, "--list-cases"], &SCP_CREDS);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(seen.connections(), 0, "a listing sends nothing");
    let listing = stdout(&out);
    let lines: Vec<Vec<&str>> = listing.lines().map(|l| l.split('\t').collect()).collect();
    assert!(lines.len() > 1000, "{}", lines.len());
    assert!(
        lines.iter().all(|f| f.len() == 4),
        "case, request line, body, label"
    );
    assert_eq!(lines[0][0], "1.3/probe/0", "the probe goes first");
    assert!(stderr(&out).contains(&format!("{} case(s); nothing was sent", lines.len())));
    let find = |case: &str| {
        lines
            .iter()
            .find(|f| f[0] == case)
            .unwrap_or_else(|| panic!("{case}"))
    };
    assert_eq!(find("1.3/listKeys/auth/0")[1], "GET /v1/kms/transit");
    let enc = find("1.3/encryptData/valid/0");
    assert!(
        enc[1].starts_with("POST /v1/kms/openapi/encrypt/"),
        "{enc:?}"
    );
    // Secret fields are redacted: no plaintext value is listed.
    let strings = lines
        .iter()
        .filter(|f| f[2].contains("\"plaintext\":\""))
        .count();
    assert!(strings > 10);
    for f in &lines {
        if f[2].contains("\"plaintext\":\"") {
            assert!(f[2].contains("\"plaintext\":\"<redacted>\""), "{f:?}");
        }
    }
    assert!(lines
        .iter()
        .any(|f| f[0].starts_with("1.0/suite/lifecycle/")));

    // Filters apply: only listKeys among the generated cases.
    let out = kmsconform(
        &[
            "run",
            "--target",
            &url,
            "--list-cases",
            "--versions",
            "1.3",
            "--include-operation",
            "listKeys",
        ],
        &SCP_CREDS,
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    let listed: Vec<String> = stdout(&out)
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    assert!(
        listed.iter().any(|c| c == "1.3/listKeys/valid/0"),
        "{listed:?}"
    );
    for c in &listed {
        if let Some(op) = generated_operation(c) {
            assert_eq!(op, "listKeys", "{c}");
        }
        assert!(!c.contains("/suite/"), "{c}");
    }
    assert_eq!(seen.connections(), 0);
}

/// The listing is what a run sends: every case id a run on the embedded reference records
/// is listed (sub-steps as the case they belong to), and every listed case is sent.
#[test]
fn list_cases_names_the_cases_a_run_sends() {
    use kmsconform::run::event::{Event, Observer};
    use kmsconform::run::session::{Inputs, RunPlan, Session, TargetSpec};
    struct Cases(Mutex<std::collections::BTreeSet<String>>);
    impl Observer for Cases {
        fn on(&self, e: &Event) {
            if let Event::Exchange(x) = e {
                if x.sent {
                    self.0.lock().insert(x.case.clone());
                }
            }
        }
    }
    let set = kmsconform::spec::SpecSet::load(&root().join("specs/scp-kms")).unwrap();
    // A whole run, and replays (a generated case, a suite step, an absent operation).
    let mut plans = Vec::new();
    let mut whole = RunPlan::new(&set, vec!["1.2".into(), "1.3".into()]);
    whole.cases = 3;
    plans.push(whole);
    for case in [
        "1.3/createKey/invalid/2",
        "1.3/suite/lifecycle/4",
        "1.3/suite/crypto_roundtrip_aes256/4/len17/2",
        "1.0/listManagedKeys/absent/0",
    ] {
        let mut p = RunPlan::new(&set, vec![case.split('/').next().unwrap().to_string()]);
        p.case_filter = Some(case.into());
        plans.push(p);
    }
    for mut plan in plans {
        let inputs = Inputs::load(&set, &root().join("suites/scp-kms"), &plan).unwrap();
        let listed: std::collections::BTreeSet<String> =
            kmsconform::run::list::list_cases(&set, &plan, &inputs, &Default::default())
                .unwrap()
                .into_iter()
                .map(|l| l.case)
                .collect();
        let seen = Arc::new(Cases(Mutex::new(Default::default())));
        plan.observers.push(seen.clone());
        rt().block_on(async {
            let s = Session::open(&set, &TargetSpec::embedded(), None)
                .await
                .unwrap();
            let o = s.run(&plan, &inputs).await.unwrap();
            assert!(
                o.collected.findings.is_empty(),
                "{:#?}",
                o.collected.findings
            );
        });
        let sent = seen.0.lock().clone();
        let what = plan.case_filter.as_deref().unwrap_or("the whole run");
        // A sent case id belongs to a listed case: itself, or a case it is a sub-step of (a
        // generated case's fresh resource and cleanup, a page, a repeat's step), or the
        // run's final cleanup.
        let belongs = |c: &str| {
            listed.contains(c)
                || listed.contains(kmsconform::run::record::replay_case(c))
                || listed.iter().any(|l| c.starts_with(&format!("{l}/")))
                || c.split('/').nth(1) == Some("cleanup")
        };
        let unlisted: Vec<&String> = sent.iter().filter(|c| !belongs(c)).collect();
        assert!(
            unlisted.is_empty(),
            "{what}: sent but not listed: {unlisted:?}"
        );
        let unsent: Vec<&String> = listed
            .iter()
            .filter(|l| {
                !sent
                    .iter()
                    .any(|c| c == *l || c.starts_with(&format!("{l}/")))
            })
            .collect();
        assert!(unsent.is_empty(), "{what}: listed but not sent: {unsent:?}");
        assert!(
            !listed.is_empty() && !sent.is_empty(),
            "{what}: nothing listed or sent"
        );
        if plan.case_filter.is_none() {
            assert!(listed.len() > 100, "{what}: {} cases listed", listed.len());
        }
        if let Some(case) = &plan.case_filter {
            assert!(listed.contains(case), "{what}: {listed:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// --color, -q, -v
// ---------------------------------------------------------------------------------------

const ESC: &str = "\u{1b}[";

/// A small clean run on the embedded reference, with report files of every format.
fn small_embedded(extra: &[&str], envs: &[(&str, &str)]) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut a = vec![
        "run",
        "--versions",
        "1.3",
        "--suite",
        "generated",
        "--include-operation",
        "listKeys",
        "--cases",
        "2",
        "--report-dir",
        dir.path().to_str().unwrap(),
        "--format",
        "json",
        "--format",
        "junit",
        "--format",
        "markdown",
        "--format",
        "html",
    ];
    a.extend(extra);
    (kmsconform(&a, envs), dir)
}

/// The command under a pseudo-terminal (`script`), so stdout and stderr are terminals.
fn on_a_terminal(args: &[&str], envs: &[(&str, &str)]) -> String {
    let line = std::iter::once(env!("CARGO_BIN_EXE_kmsconform"))
        .chain(args.iter().copied())
        .map(kmsconform::target::shell_quote)
        .collect::<Vec<_>>()
        .join(" ");
    let mut c = Command::new("script");
    c.current_dir(root())
        .args(["-qec", &line, "/dev/null"])
        .env_remove("NO_COLOR");
    c.envs(envs.iter().copied());
    let o = c
        .output()
        .expect("script(1) from util-linux runs commands on a terminal");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn color_always_never_auto_and_no_color() {
    let (out, dir) = small_embedded(&["--color", "always"], &[]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(stdout(&out).contains(ESC), "{}", stdout(&out));
    // Report files are never coloured.
    let files = report_files(dir.path());
    assert!(!files.is_empty(), "no report was written");
    for (name, t) in files {
        assert!(!t.contains('\u{1b}'), "{name} has colour codes");
    }
    // Each uncoloured run did run: exit 0 and its verdict line, without escape codes.
    let uncoloured = |out: &Output, all: bool| {
        assert_eq!(code(out), 0, "{}", text(out));
        assert!(stdout(out).contains("0 failures"), "{}", stdout(out));
        let shown = if all { text(out) } else { stdout(out) };
        assert!(!shown.contains(ESC), "{shown}");
    };
    uncoloured(&small_embedded(&["--color", "never"], &[]).0, false);
    // auto: not a terminal here.
    uncoloured(&small_embedded(&[], &[]).0, false);
    uncoloured(&small_embedded(&["--color", "auto", "-v"], &[]).0, true);

    // -q: no progress line (its own escape codes) on the terminal, only the verdict.
    let a = [
        "run",
        "--versions",
        "1.3",
        "--suite",
        "generated",
        "--include-operation",
        "listKeys",
        "--cases",
        "1",
        "-q",
    ];
    let tty = on_a_terminal(&a, &[]);
    assert!(tty.contains("0 failures"), "{tty}");
    assert!(tty.contains(ESC), "auto colours a terminal: {tty}");
    assert!(!on_a_terminal(&a, &[("NO_COLOR", "1")]).contains(ESC));
    assert!(
        on_a_terminal(&a, &[("NO_COLOR", "")]).contains(ESC),
        "an empty NO_COLOR is unset"
    );
    let never: Vec<&str> = a.iter().copied().chain(["--color", "never"]).collect();
    let never = on_a_terminal(&never, &[]);
    assert!(
        never.contains("0 failures") && !never.contains(ESC),
        "{never}"
    );
    let out = kmsconform(&["run", "--color", "sometimes"], &[]);
    assert_eq!(code(&out), 2);
}

#[test]
fn quiet_prints_the_verdict_line_alone_and_verbose_one_line_per_exchange() {
    let (out, dir) = small_embedded(&["-q"], &[]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let said = stdout(&out);
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("0 failures, 0 advisories"),
        "{lines:?}"
    );
    assert_eq!(stderr(&out), "");
    assert!(
        dir.path().join("report.html").is_file(),
        "reports are still written"
    );

    let (out, dir) = small_embedded(&["--verbose"], &[]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let requests = report(dir.path())["meta"]["requests"].as_u64().unwrap();
    let log = stderr(&out);
    let exchanges: Vec<&str> = log.lines().filter(|l| l.contains(" -> ")).collect();
    assert_eq!(exchanges.len() as u64, requests, "{}", stderr(&out));
    assert!(
        exchanges.iter().any(
            |l| l.starts_with("1.3/listKeys/valid/0 GET /v1/kms/transit") && l.contains("-> 200 ")
        ),
        "{exchanges:?}"
    );
    let (plain, _) = small_embedded(&[], &[]);
    assert!(!stderr(&plain).contains(" -> "));
    assert!(stdout(&plain).lines().count() > 3);

    let out = kmsconform(&["run", "-q", "-v"], &[]);
    assert_eq!(code(&out), 2, "{}", text(&out));
}

// ---------------------------------------------------------------------------------------
// kmsconform.toml / --config
// ---------------------------------------------------------------------------------------

#[test]
fn config_file_sets_defaults_and_flags_win() {
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(
        cwd.path().join("kmsconform.toml"),
        "versions = \"1.3\"\nsuite = [\"generated\"]\ninclude-operation = [\"list*\"]\nexclude-operation = [\"*Managed*\"]\ncases = 2\nreport-dir = \"out\"\nmax-response-time = 60000\ncolor = \"never\"\n",
    )
    .unwrap();
    let out = kmsconform_in(cwd.path(), &["run"], &[]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let r = report(&cwd.path().join("out"));
    assert_eq!(r["meta"]["versions"], serde_json::json!(["1.3"]));
    assert_eq!(r["meta"]["cases_per_operation"], 2);
    assert_eq!(r["meta"]["max_response_ms"], 60000);
    assert_eq!(
        r["meta"]["operations"],
        serde_json::json!({"include": ["list*"], "exclude": ["*Managed*"]})
    );
    // Flags win: a scalar, and a repeatable flag replaces the file's list.
    let out = kmsconform_in(
        cwd.path(),
        &[
            "run",
            "--cases",
            "1",
            "--include-operation",
            "showKey",
            "--report-dir",
            "out2",
        ],
        &[],
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    let r = report(&cwd.path().join("out2"));
    assert_eq!(r["meta"]["cases_per_operation"], 1);
    assert_eq!(
        r["meta"]["operations"]["include"],
        serde_json::json!(["showKey"])
    );
    assert_eq!(r["meta"]["versions"], serde_json::json!(["1.3"]));

    // --config names another file; the current directory's is then not read.
    let other = cwd.path().join("other.toml");
    std::fs::write(&other, "versions = \"1.2\"\ncases = 1\nsuite = [\"generated\"]\ninclude-operation = [\"showKey\"]\nreport-dir = \"out3\"\n").unwrap();
    let out = kmsconform_in(
        cwd.path(),
        &["run", "--config", other.to_str().unwrap()],
        &[],
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    let r = report(&cwd.path().join("out3"));
    assert_eq!(r["meta"]["versions"], serde_json::json!(["1.2"]));
    assert!(r["meta"].get("max_response_ms").is_none());
}

#[test]
fn a_bad_config_file_is_an_input_error_naming_the_key_and_file() {
    let (url, seen) = server(Behaviour::Answer(200));
    let cwd = tempfile::tempdir().unwrap();
    let file = cwd.path().join("kmsconform.toml");
    for (body, key, says) in [
        ("nosuch = 1", "nosuch", "unknown key"),
        ("rate-limit = 10.5", "rate-limit", "not a rate"),
        ("insecure = \"yes\"", "insecure", "expected true or false"),
        (
            "header = [\"no colon\"]",
            "header",
            "expected 'Name: value'",
        ),
        ("cases = [1, 2]", "cases", "expected a string or a number"),
        (
            "include-operation = [\"nosuch*\"]",
            "",
            "--include-operation 'nosuch*' matches no operation",
        ),
        (
            "secret-key = \"x\"",
            "secret-key",
            "keep secrets out of files",
        ),
    ] {
        std::fs::write(&file, format!("target = \"{url}\"\n{body}\n")).unwrap();
        let out = kmsconform_in(cwd.path(), &["run"], &SCP_CREDS);
        assert_eq!(code(&out), 2, "{body}: {}", text(&out));
        let e = stderr(&out);
        if !key.is_empty() {
            assert!(
                e.contains(&format!("kmsconform.toml: key '{key}'")),
                "{body}: {e}"
            );
        }
        assert!(e.contains(says), "{body}: {e}");
    }
    std::fs::write(&file, "target = ").unwrap();
    let out = kmsconform_in(cwd.path(), &["run"], &SCP_CREDS);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("kmsconform.toml: not valid TOML"),
        "{}",
        stderr(&out)
    );
    let out = kmsconform_in(cwd.path(), &["run", "--config", "missing.toml"], &SCP_CREDS);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("missing.toml: cannot read the config file"),
        "{}",
        stderr(&out)
    );
    // Settings that clash with each other are named with the file.
    std::fs::write(&file, "quiet = true\nverbose = true\n").unwrap();
    let out = kmsconform_in(cwd.path(), &["run"], &SCP_CREDS);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("the settings of kmsconform.toml"),
        "{}",
        stderr(&out)
    );
    assert_eq!(seen.connections(), 0);
}

// ---------------------------------------------------------------------------------------
// Documentation
// ---------------------------------------------------------------------------------------

const CONTROLS: [&str; 14] = [
    "--include-operation",
    "--exclude-operation",
    "--header",
    "--insecure",
    "--ca-cert",
    "--rate-limit",
    "--retries",
    "--max-response-time",
    "--list-cases",
    "--color",
    "--quiet",
    "--verbose",
    "--config",
    "--timeout",
];

/// Each control is in `run --help` with its text, and in the README's CLI controls table
/// with its config key.
#[test]
fn every_control_is_documented_in_help_and_the_readme() {
    let help = stdout(&kmsconform(&["run", "--help"], &[]));
    let own = std::fs::read_to_string(root().join("tests/controls.rs")).unwrap();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("## CLI controls")
        .nth(1)
        .expect("README has a CLI controls section")
        .split("\n## ")
        .next()
        .unwrap();
    for flag in CONTROLS {
        assert!(
            help.lines().any(|l| {
                let t = l.trim_start();
                t.starts_with(&format!("{flag} "))
                    || t.starts_with(&format!("{flag}\n"))
                    || t == flag
                    || (t.starts_with('-') && t.contains(&format!(", {flag}")))
            }),
            "{flag} not in run --help"
        );
        // Its row: the flag in the first column, its config key in the second (--config
        // itself has none), what it does, the bad values, the tests.
        let key = flag.trim_start_matches("--");
        let row: Vec<&str> = section
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| l.split(" | ").collect::<Vec<_>>())
            .find(|cols| cols[0].contains(&format!("`{flag}")))
            .unwrap_or_else(|| panic!("{flag} has no row in README CLI controls"));
        assert_eq!(row.len(), 5, "{row:?}");
        if flag == "--config" {
            assert_eq!(row[1], "—");
        } else {
            assert!(row[1].starts_with(&format!("`{key} = ")), "{row:?}");
        }
        for test in row[4].split(", ") {
            let name = test.trim_matches(|c| c == '`' || c == ' ' || c == '|');
            if !name.starts_with('(') && name != "same test" {
                assert!(
                    own.contains(&format!("fn {name}()")),
                    "README names a test {name} that tests/controls.rs does not have"
                );
            }
        }
    }
    assert!(help.contains("-H, --header"));
    assert!(help.contains("-q, --quiet") && help.contains("-v, --verbose"));
    for flag in [
        "--header",
        "--insecure",
        "--ca-cert",
        "--rate-limit",
        "--retries",
        "--config",
    ] {
        let diff = stdout(&kmsconform(&["diff", "--help"], &[]));
        assert!(diff.contains(flag), "diff --help lacks {flag}");
    }
}
