//! Collects what a run observed: per (check, operation, version) counts and the findings,
//! with requests redacted (signatures and secret fields never leave the process).

use crate::check::{Failure, Selection};
use crate::target::http::{Auth, Body, Client, Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

pub const REDACTED: &str = "<redacted>";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Finding {
    /// Stable fingerprint: check, operation, version, case kind and label (not timings or ids).
    pub id: String,
    pub check: String,
    pub operation: String,
    pub version: String,
    /// Replayable case id, e.g. `1.3/createKey/invalid/4` or `1.3/suite/lifecycle/7`.
    pub case: String,
    pub seed: u64,
    pub title: String,
    pub expected: String,
    pub actual: String,
    pub request: RedactedRequest,
    pub status: Option<u16>,
    pub curl: String,
}

impl Finding {
    /// A finding about a comparison (diff, snapshot) rather than one request.
    #[allow(clippy::too_many_arguments)]
    pub fn comparison(
        check: &str,
        operation: &str,
        version: &str,
        case: &str,
        seed: u64,
        title: String,
        expected: String,
        actual: String,
    ) -> Self {
        let fp = hex::encode(
            &Sha256::digest(format!("{check}|{operation}|{version}|{case}|{title}"))[..8],
        );
        Finding {
            id: fp,
            check: check.into(),
            operation: operation.into(),
            version: version.into(),
            case: case.into(),
            seed,
            title,
            expected,
            actual,
            request: RedactedRequest {
                method: "-".into(),
                url: "-".into(),
                auth: Auth::Signed,
                headers: vec![],
                body: None,
            },
            status: None,
            curl: String::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RedactedRequest {
    pub method: String,
    pub url: String,
    pub auth: Auth,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Tally {
    pub passed: u64,
    pub failed: u64,
}

/// One observed exchange, kept when a transcript is wanted (diffs, snapshots).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Exchange {
    pub version: String,
    pub case: String,
    pub label: String,
    pub operation: String,
    pub status: Option<u16>,
    /// The body as JSON, or as a JSON string when it is not JSON.
    pub body: Option<Value>,
}

pub struct Recorder {
    pub seed: u64,
    /// Stop sending new cases once more than this many findings outside `known` exist.
    stop_after: Option<usize>,
    /// Live progress line (a TTY only).
    progress: Option<indicatif::ProgressBar>,
    /// Set from outside (Ctrl-C): stop sending, keep what was observed.
    interrupt: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    known: std::collections::BTreeSet<String>,
    transcript: Option<parking_lot::Mutex<Vec<Exchange>>>,
    pub selection: Selection,
    secret_fields: Vec<String>,
    findings: parking_lot::Mutex<Vec<Finding>>,
    tallies: parking_lot::Mutex<BTreeMap<(String, String, String), Tally>>,
    requests: AtomicU64,
}

impl Recorder {
    pub fn new(seed: u64, selection: Selection, secret_fields: Vec<String>) -> Self {
        Self {
            seed,
            stop_after: None,
            progress: None,
            interrupt: None,
            known: Default::default(),
            transcript: None,
            selection,
            secret_fields,
            findings: Default::default(),
            tallies: Default::default(),
            requests: AtomicU64::new(0),
        }
    }

    /// `--max-failures`: once more than `n` findings not in `known` exist, [`Self::exhausted`].
    pub fn with_stop(mut self, n: Option<usize>, known: impl IntoIterator<Item = String>) -> Self {
        self.stop_after = n;
        self.known = known.into_iter().collect();
        self
    }

    pub fn with_progress(mut self, p: Option<indicatif::ProgressBar>) -> Self {
        self.progress = p;
        self
    }

    /// Stop sending new cases once `flag` is set (the report is still written).
    pub fn with_interrupt(mut self, flag: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Self {
        self.interrupt = Some(flag);
        self
    }

    /// True when the failure budget is spent or the run was interrupted: callers send no further cases.
    pub fn exhausted(&self) -> bool {
        if self
            .interrupt
            .as_ref()
            .is_some_and(|i| i.load(Ordering::Relaxed))
        {
            return true;
        }
        match self.stop_after {
            None => false,
            Some(n) => {
                self.findings
                    .lock()
                    .iter()
                    .filter(|f| !self.known.contains(&f.id))
                    .count()
                    > n
            }
        }
    }

    /// Keep every exchange, in the order observed.
    pub fn with_transcript(mut self) -> Self {
        self.transcript = Some(Default::default());
        self
    }

    pub fn transcript(&self) -> Vec<Exchange> {
        self.transcript
            .as_ref()
            .map(|t| t.lock().clone())
            .unwrap_or_default()
    }

    pub fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Record one exchange: `applied` checks pass unless a failure names them.
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &self,
        client: &Client,
        version: &str,
        operation: &str,
        case: &str,
        label: &str,
        req: &Request,
        resp: Option<&Response>,
        applied: &[&str],
        failures: Vec<Failure>,
    ) {
        if let Some(p) = &self.progress {
            p.set_message(format!(
                "{version} {operation}: {} requests, {} findings",
                self.requests(),
                self.findings.lock().len()
            ));
        }
        if let Some(t) = &self.transcript {
            let body = resp.and_then(|r| match &r.json {
                Some(j) => Some(j.clone()),
                None if r.text.is_empty() => None,
                None => Some(Value::String(r.text.clone())),
            });
            t.lock().push(Exchange {
                version: version.into(),
                case: case.into(),
                label: label.into(),
                operation: operation.into(),
                status: resp.map(|r| r.status),
                body,
            });
        }
        let failures: Vec<Failure> = failures
            .into_iter()
            .filter(|f| self.selection.enabled(&f.check))
            .collect();
        {
            let mut t = self.tallies.lock();
            for c in applied.iter().filter(|c| self.selection.enabled(c)) {
                let e = t
                    .entry((c.to_string(), operation.to_string(), version.to_string()))
                    .or_default();
                if failures.iter().any(|f| f.check == *c) {
                    e.failed += 1;
                } else {
                    e.passed += 1;
                }
            }
            for f in &failures {
                if !applied.contains(&f.check.as_str()) {
                    t.entry((f.check.clone(), operation.to_string(), version.to_string()))
                        .or_default()
                        .failed += 1;
                }
            }
        }
        if failures.is_empty() {
            return;
        }
        let redacted = self.redact_request(client, req);
        let curl = curl_line(&redacted, &client.curl_auth_headers());
        let mut out = self.findings.lock();
        for f in failures {
            let kind = case.split('/').nth(2).unwrap_or("");
            let fp = hex::encode(
                &Sha256::digest(format!("{}|{operation}|{version}|{kind}|{label}", f.check))[..8],
            );
            out.push(Finding {
                id: fp,
                title: format!("{} failed on {operation} ({version}): {label}", f.check),
                check: f.check,
                operation: operation.into(),
                version: version.into(),
                case: case.into(),
                seed: self.seed,
                expected: self.redact_text(&f.expected),
                actual: self.redact_text(&f.actual),
                request: redacted.clone(),
                status: resp.map(|r| r.status),
                curl: curl.clone(),
            });
        }
    }

    pub fn findings(&self) -> Vec<Finding> {
        let mut f = self.findings.lock().clone();
        f.sort_by(|a, b| {
            (&a.version, &a.operation, &a.check, &a.case).cmp(&(
                &b.version,
                &b.operation,
                &b.check,
                &b.case,
            ))
        });
        f
    }

    pub fn tallies(&self) -> BTreeMap<(String, String, String), Tally> {
        self.tallies.lock().clone()
    }

    fn redact_request(&self, client: &Client, req: &Request) -> RedactedRequest {
        let body = req.body.as_ref().map(|b| match b {
            Body::Json(v) => redact_value(v, &self.secret_fields),
            Body::Raw(s) => Value::String(s.chars().take(512).collect()),
        });
        RedactedRequest {
            method: req.method.to_uppercase(),
            url: client.url(req),
            auth: req.auth,
            headers: req.headers.clone(),
            body,
        }
    }

    /// Secret field values quoted in a message (`"plaintext":"..."`) are blanked.
    fn redact_text(&self, s: &str) -> String {
        let mut out = s.to_string();
        for f in &self.secret_fields {
            let pat = format!("\"{f}\":\"");
            let mut from = 0;
            while let Some(i) = out[from..].find(&pat) {
                let start = from + i + pat.len();
                let end = out[start..]
                    .find('"')
                    .map(|j| start + j)
                    .unwrap_or(out.len());
                out.replace_range(start..end, REDACTED);
                from = start + REDACTED.len();
            }
        }
        out
    }
}

pub fn redact_value(v: &Value, secret: &[String]) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| {
                    let red = if secret.iter().any(|s| s == k) && x.is_string() {
                        Value::String(REDACTED.into())
                    } else {
                        redact_value(x, secret)
                    };
                    (k.clone(), red)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| redact_value(x, secret)).collect()),
        other => other.clone(),
    }
}

/// A ready-to-paste curl line; secret and time-bound signing headers are environment
/// references, to be computed at paste time.
pub fn curl_line(r: &RedactedRequest, auth_headers: &[String]) -> String {
    let q = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let mut parts = vec![
        "curl".to_string(),
        "-sS".into(),
        "-X".into(),
        r.method.clone(),
        q(&r.url),
    ];
    if r.auth != Auth::Unsigned {
        for h in auth_headers {
            parts.push("-H".into());
            parts.push(format!("\"{h}\""));
        }
    }
    for (k, v) in &r.headers {
        parts.push("-H".into());
        parts.push(q(&format!("{k}: {v}")));
    }
    if let Some(b) = &r.body {
        parts.push("-H".into());
        parts.push(q("Content-Type: application/json"));
        parts.push("--data-raw".into());
        parts.push(q(&match b {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }));
    }
    parts.join(" ")
}
