//! Turns what a run observed into events (`run::event`): the verdicts of each check,
//! findings with their replay and curl lines, transport problems, coverage skips and (when an
//! observer wants them) redacted exchanges. Every value passes through redaction here, before
//! any observer sees it. The recorder also keeps the run's controls: the request count, the
//! failure budget and the interrupt flag.

/// A transcript entry (what diffs and snapshots compare).
pub use super::event::TranscriptEntry as Exchange;
use super::event::{Event, Events, ExchangeDetail, ExchangeEvent, RecordedResponse, Verdict};
use super::secrets::{self, SecretStore, REDACTED};
use crate::check::{Actual, Basis, CheckId, Expected, Failure, Selection, Verdicts};
use crate::target::http::{Auth, Body, Client, Request, Response, Transport};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// A failed expectation, ready for every report format.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Finding {
    /// Stable fingerprint: check, operation, version, case kind and label.
    pub id: String,
    pub check: CheckId,
    #[serde(flatten)]
    pub basis: Basis,
    /// An assumed expectation: reported, counted apart, fails the gate only under --strict.
    pub advisory: bool,
    pub operation: String,
    pub version: String,
    /// Replayable case id, e.g. `1.3/createKey/invalid/4` or `1.3/suite/lifecycle/7`.
    pub case: String,
    pub seed: u64,
    #[serde(default)]
    pub run_id: String,
    /// What the case was (e.g. "invalid request: body name: pattern … violated").
    pub label: String,
    pub expected: Expected,
    pub actual: Actual,
    pub request: RedactedRequest,
    pub status: Option<u16>,
    /// A curl line; signing headers are environment references (see `curl_hint`).
    pub curl: String,
    #[serde(default)]
    pub curl_hint: String,
    /// The exact command that re-sends this case (and only what it depends on).
    #[serde(default)]
    pub replay: String,
}

impl Finding {
    /// A finding about a comparison (diff, snapshot) rather than one request.
    pub fn comparison(
        failure: Failure,
        operation: &str,
        version: &str,
        case: &str,
        label: String,
        seed: u64,
    ) -> Self {
        let fp = fingerprint(failure.check, operation, version, case, &label);
        Finding {
            id: fp,
            check: failure.check,
            advisory: failure.basis.is_advisory(),
            basis: failure.basis,
            operation: operation.into(),
            version: version.into(),
            case: case.into(),
            seed,
            run_id: String::new(),
            label,
            expected: failure.expected,
            actual: failure.actual,
            request: RedactedRequest::none(),
            status: None,
            curl: String::new(),
            curl_hint: String::new(),
            replay: String::new(),
        }
    }

    /// Fails the gate (not an advisory, or `strict`).
    pub fn gates(&self, strict: bool) -> bool {
        strict || !self.advisory
    }
}

fn fingerprint(check: CheckId, operation: &str, version: &str, kind: &str, label: &str) -> String {
    hex::encode(&Sha256::digest(format!("{check}|{operation}|{version}|{kind}|{label}"))[..8])
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RedactedRequest {
    pub method: String,
    pub url: String,
    pub auth: Auth,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl RedactedRequest {
    pub fn none() -> Self {
        Self {
            method: "-".into(),
            url: "-".into(),
            auth: Auth::Signed,
            headers: vec![],
            body: None,
        }
    }
}

/// Verdict counts of one check on one operation and version.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Tally {
    pub passed: u64,
    pub failed: u64,
    pub advisory: u64,
}

/// A request that got no usable HTTP answer: its own class, apart from checks.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TransportProblem {
    pub operation: String,
    pub version: String,
    pub case: String,
    pub label: String,
    pub error: Transport,
    pub request: RedactedRequest,
    #[serde(default)]
    pub replay: String,
}

/// What was sent and what was skipped, per operation × version × case kind.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Coverage {
    pub sent: u64,
    /// Reason → cases not sent for it.
    pub skipped: BTreeMap<String, u64>,
}

/// One exchange (or an attempt that could not be sent) with its verdicts.
pub struct Observation<'a> {
    pub version: &'a str,
    pub operation: &'a str,
    pub case: &'a str,
    pub label: &'a str,
    /// None: nothing was sent (a step could not be built).
    pub request: Option<&'a Request>,
    pub outcome: Outcome<'a>,
    pub verdicts: Verdicts,
}

pub enum Outcome<'a> {
    Response(&'a Response),
    Transport(&'a Transport),
    NotSent,
}

/// Run settings the recorder needs.
pub struct RecorderConfig {
    pub seed: u64,
    pub run_id: String,
    pub selection: Selection,
    pub secret_fields: Vec<String>,
    pub credentials: Vec<String>,
    /// `kmsconform replay …` without `--case`: every flag that shapes a case.
    pub replay_prefix: String,
    pub strict: bool,
    /// Stop sending new cases once more than this many gating findings outside `known`.
    pub stop_after: Option<usize>,
    pub known: Vec<String>,
    pub interrupt: Option<Arc<AtomicBool>>,
}

pub struct Recorder {
    cfg: RecorderConfig,
    pub secrets: SecretStore,
    events: Events,
    gating_new: AtomicU64,
    requests: AtomicU64,
}

impl Recorder {
    pub fn new(cfg: RecorderConfig, events: Events) -> Self {
        let secrets = SecretStore::new(cfg.credentials.clone());
        Self {
            cfg,
            secrets,
            events,
            gating_new: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        }
    }

    /// The run's observers.
    pub fn events(&self) -> &Events {
        &self.events
    }

    pub fn seed(&self) -> u64 {
        self.cfg.seed
    }
    pub fn run_id(&self) -> &str {
        &self.cfg.run_id
    }
    pub fn strict(&self) -> bool {
        self.cfg.strict
    }
    pub fn replay_prefix(&self) -> &str {
        &self.cfg.replay_prefix
    }

    pub fn interrupted(&self) -> bool {
        self.cfg
            .interrupt
            .as_ref()
            .is_some_and(|i| i.load(Ordering::Relaxed))
    }

    /// True when the failure budget is spent or the run was interrupted: callers send no
    /// further cases.
    pub fn exhausted(&self) -> bool {
        self.interrupted()
            || self
                .cfg
                .stop_after
                .is_some_and(|n| self.gating_new.load(Ordering::Relaxed) as usize > n)
    }

    pub fn budget_spent(&self) -> bool {
        self.cfg
            .stop_after
            .is_some_and(|n| self.gating_new.load(Ordering::Relaxed) as usize > n)
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Cases of `kind` for `operation` that were not sent, and why.
    pub fn skip(&self, version: &str, operation: &str, kind: &str, reason: &str, n: u64) {
        if n == 0 {
            return;
        }
        self.events.emit(Event::Skipped {
            version: version.into(),
            operation: operation.into(),
            kind: kind.into(),
            reason: reason.into(),
            count: n,
        });
    }

    /// Record one observation: its exchange, the verdict of each check it was judged by,
    /// and its findings, as events.
    pub fn record(&self, client: &Client, o: Observation) {
        let sent = o.request.is_some() && !matches!(o.outcome, Outcome::NotSent);
        if sent {
            self.requests.fetch_add(1, Ordering::Relaxed);
        }
        let kind = case_kind(o.case);
        // Learn the secrets this exchange carried before anything is emitted.
        let fields = &self.cfg.secret_fields;
        let mut per_exchange: Vec<String> = Vec::new();
        if let Some(Body::Json(b)) = o.request.and_then(|r| r.body.as_ref()) {
            self.secrets.collect_fields(b, fields);
        }
        if let Outcome::Response(r) = &o.outcome {
            if let Some(j) = &r.json {
                self.secrets.collect_fields(j, fields);
            }
            per_exchange.extend(r.sent_secrets.iter().cloned());
            self.secrets.add_sent(&r.sent_secrets);
        }
        let redacted = || {
            o.request
                .map(|r| self.redact_request(client, r))
                .unwrap_or_else(RedactedRequest::none)
        };
        let status = match &o.outcome {
            Outcome::Response(r) => Some(r.status),
            _ => None,
        };
        let detail = self
            .events
            .wants_exchanges()
            .then(|| self.scrubbed(self.exchange_detail(client, &o, redacted()), &per_exchange));
        self.events.emit(Event::Exchange(Box::new(ExchangeEvent {
            version: o.version.into(),
            operation: o.operation.into(),
            case: o.case.into(),
            kind: kind.clone(),
            label: o.label.into(),
            sent,
            status,
            detail,
        })));
        if let Outcome::Transport(t) = &o.outcome {
            let p = TransportProblem {
                operation: o.operation.into(),
                version: o.version.into(),
                case: o.case.into(),
                label: o.label.into(),
                error: (*t).clone(),
                request: redacted(),
                replay: self.replay_line(o.case),
            };
            self.events.emit(Event::TransportProblem(Box::new(
                self.scrubbed(p, &per_exchange),
            )));
        }
        let (evaluated, failures) = o.verdicts.into_parts();
        let failures: Vec<Failure> = failures
            .into_iter()
            .filter(|f| self.cfg.selection.enabled(f.check))
            .collect();
        for c in evaluated.iter().filter(|c| self.cfg.selection.enabled(**c)) {
            let mine: Vec<&Failure> = failures.iter().filter(|f| f.check == *c).collect();
            let verdict = if mine.is_empty() {
                Verdict::Passed
            } else if mine.iter().all(|f| f.basis.is_advisory()) {
                Verdict::Advisory
            } else {
                Verdict::Failed
            };
            self.events.emit(Event::CheckOutcome {
                version: o.version.into(),
                operation: o.operation.into(),
                case: o.case.into(),
                check: *c,
                verdict,
            });
        }
        if failures.is_empty() {
            return;
        }
        let request = redacted();
        let url = request.url.clone();
        let curl = curl_line(&request, &client.curl_auth_headers(&request.method, &url));
        let hint = if request.auth == Auth::Unsigned || request.method == "-" {
            String::new()
        } else {
            client
                .signer()
                .curl_hint_for(&request.method, &url, request.auth)
        };
        for f in failures {
            let advisory = f.basis.is_advisory();
            let finding = Finding {
                id: fingerprint(f.check, o.operation, o.version, &kind, o.label),
                check: f.check,
                advisory,
                basis: f.basis,
                operation: o.operation.into(),
                version: o.version.into(),
                case: o.case.into(),
                seed: self.cfg.seed,
                run_id: self.cfg.run_id.clone(),
                label: o.label.into(),
                expected: redact_expected(f.expected, fields),
                actual: redact_actual(f.actual, fields),
                request: request.clone(),
                status,
                curl: curl.clone(),
                curl_hint: hint.clone(),
                replay: self.replay_line(o.case),
            };
            let finding = self.scrubbed(finding, &per_exchange);
            if finding.gates(self.cfg.strict) && !self.cfg.known.contains(&finding.id) {
                self.gating_new.fetch_add(1, Ordering::Relaxed);
            }
            self.events.emit(Event::Finding(Box::new(finding)));
        }
    }

    /// The redacted exchange, for observers that keep or stream exchanges.
    fn exchange_detail(
        &self,
        client: &Client,
        o: &Observation,
        request: RedactedRequest,
    ) -> ExchangeDetail {
        let fields = &self.cfg.secret_fields;
        let (response, transport, sent_headers) = match &o.outcome {
            Outcome::Response(r) => {
                let body = crate::check::response::body_value(r).map(|b| {
                    if r.json.is_none() {
                        Value::String(r.text.clone())
                    } else {
                        secrets::redact_fields(&b, fields)
                    }
                });
                let headers = r
                    .headers
                    .iter()
                    .map(|(k, v)| {
                        if crate::target::http::header_is_secret(k)
                            || client.signer().is_secret_header(k)
                        {
                            (k.clone(), REDACTED.to_string())
                        } else {
                            (k.clone(), v.clone())
                        }
                    })
                    .collect();
                (
                    Some(RecordedResponse {
                        status: r.status,
                        headers,
                        content_type: r.content_type.clone(),
                        body,
                        elapsed_ms: r.elapsed_ms,
                    }),
                    None,
                    r.sent_headers.clone(),
                )
            }
            Outcome::Transport(t) => (None, Some((*t).clone()), request.headers.clone()),
            Outcome::NotSent => (None, None, vec![]),
        };
        ExchangeDetail {
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            request,
            sent_headers,
            response,
            transport,
        }
    }

    /// Serialise, scrub every string, read back: the scrub cannot miss a field.
    fn scrubbed<T: Serialize + serde::de::DeserializeOwned>(&self, x: T, extra: &[String]) -> T {
        let mut v = serde_json::to_value(&x).expect("records serialise");
        self.secrets.scrub_value(&mut v, extra);
        serde_json::from_value(v).unwrap_or(x)
    }

    fn replay_line(&self, case: &str) -> String {
        if self.cfg.replay_prefix.is_empty() {
            return String::new();
        }
        format!(
            "{} --case {}",
            self.cfg.replay_prefix,
            crate::target::shell_quote(replay_case(case))
        )
    }

    fn redact_request(&self, client: &Client, req: &Request) -> RedactedRequest {
        let fields = &self.cfg.secret_fields;
        let body = req.body.as_ref().map(|b| match b {
            Body::Json(v) => secrets::redact_fields(v, fields),
            Body::Raw(s) => Value::String(s.chars().take(512).collect()),
        });
        let headers = req
            .headers
            .iter()
            .map(|(k, v)| {
                if secrets::header_is_secret(k) || client.signer().is_secret_header(k) {
                    (k.clone(), REDACTED.to_string())
                } else {
                    (k.clone(), v.clone())
                }
            })
            .collect();
        RedactedRequest {
            method: req.method.to_uppercase(),
            url: client.url(req),
            auth: req.auth,
            headers,
            body,
        }
    }
}

/// The case a replay sends to reproduce `case`: a generated case's own setup and cleanup
/// steps (`1.3/changeStateOfKey/valid/0/fresh/0`, `…/cleanup/1`) are sent by replaying the
/// case itself (`1.3/changeStateOfKey/valid/0`); every other id is its own.
pub fn replay_case(case: &str) -> &str {
    let parts: Vec<&str> = case.split('/').collect();
    match parts.as_slice() {
        [_, op, _, _, "fresh" | "cleanup", _]
            if !matches!(*op, "suite" | "setup" | "cleanup" | "probe") =>
        {
            let cut = parts[..4].iter().map(|p| p.len()).sum::<usize>() + 3;
            &case[..cut]
        }
        _ => case,
    }
}

/// The kind of a case id: `1.3/createKey/invalid/4` → `invalid`, `1.3/suite/lifecycle/7`
/// → `suite`, `1.3/setup/2` → `setup`, `1.3/cleanup/…` → `cleanup`.
pub fn case_kind(case: &str) -> String {
    let parts: Vec<&str> = case.split('/').collect();
    match parts.get(1).copied() {
        Some(k @ ("suite" | "setup" | "cleanup" | "probe")) => k.to_string(),
        _ => parts.get(2).copied().unwrap_or_default().to_string(),
    }
}

fn redact_at(pointer: &str, v: Value, fields: &[String]) -> Value {
    if secrets::pointer_is_secret(pointer, fields) && !v.is_null() {
        Value::String(REDACTED.into())
    } else {
        secrets::redact_fields(&v, fields)
    }
}

fn redact_expected(e: Expected, fields: &[String]) -> Expected {
    match e {
        Expected::Equals { pointer, value } => Expected::Equals {
            value: redact_at(&pointer, value, fields),
            pointer,
        },
        Expected::NotEquals { pointer, value } => Expected::NotEquals {
            value: redact_at(&pointer, value, fields),
            pointer,
        },
        other => other,
    }
}

fn redact_actual(a: Actual, fields: &[String]) -> Actual {
    match a {
        Actual::Value { pointer, value } => Actual::Value {
            value: value.map(|v| redact_at(&pointer, v, fields)),
            pointer,
        },
        Actual::Values { field, values } => {
            let secret = fields.contains(&field);
            Actual::Values {
                values: values
                    .into_iter()
                    .map(|v| {
                        if secret {
                            Value::String(REDACTED.into())
                        } else {
                            secrets::redact_fields(&v, fields)
                        }
                    })
                    .collect(),
                field,
            }
        }
        Actual::Status { status, body } => Actual::Status {
            status,
            body: body.map(|b| secrets::redact_fields(&b, fields)),
        },
        Actual::SchemaErrors { errors } => Actual::SchemaErrors {
            errors: errors
                .into_iter()
                .map(|mut e| {
                    if secrets::pointer_is_secret(&e.pointer, fields) {
                        e.message =
                            format!("{REDACTED} (the value of a secret field fails the schema)");
                    }
                    e
                })
                .collect(),
        },
        Actual::Repeated { id } => Actual::Repeated {
            id: secrets::redact_fields(&id, fields),
        },
        other => other,
    }
}

/// A ready-to-paste curl line; secret and time-bound signing headers are environment
/// references, to be computed at paste time.
pub fn curl_line(r: &RedactedRequest, auth_headers: &[String]) -> String {
    if r.method == "-" {
        return String::new();
    }
    let q = |s: &str| crate::target::shell_quote(s);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_steps_of_generated_cases_replay_as_their_case() {
        assert_eq!(
            replay_case("1.3/changeStateOfKey/valid/0/fresh/0"),
            "1.3/changeStateOfKey/valid/0"
        );
        assert_eq!(
            replay_case("1.0/createKey/valid/3/cleanup/1"),
            "1.0/createKey/valid/3"
        );
        for own in [
            "1.3/createKey/invalid/4",
            "1.3/suite/lifecycle/7",
            "1.3/suite/crypto/3/len16/2",
            "1.3/setup/2",
            "1.3/cleanup/abc/1",
            "1.3/probe/0",
        ] {
            assert_eq!(replay_case(own), own);
        }
    }

    #[test]
    fn case_kinds() {
        assert_eq!(case_kind("1.3/createKey/invalid/4"), "invalid");
        assert_eq!(case_kind("1.3/suite/lifecycle/7"), "suite");
        assert_eq!(case_kind("1.3/setup/2"), "setup");
    }

    #[test]
    fn secrets_in_expected_and_actual_are_redacted_by_pointer() {
        let fields = vec!["plaintext".to_string()];
        let e = redact_expected(
            Expected::Equals {
                pointer: "/plaintext".into(),
                value: "c2VjcmV0".into(),
            },
            &fields,
        );
        assert_eq!(
            e,
            Expected::Equals {
                pointer: "/plaintext".into(),
                value: REDACTED.into()
            }
        );
        let a = redact_actual(
            Actual::Status {
                status: 200,
                body: Some(serde_json::json!({"plaintext": "c2VjcmV0", "ciphertext": "x"})),
            },
            &fields,
        );
        assert_eq!(
            a,
            Actual::Status {
                status: 200,
                body: Some(serde_json::json!({"plaintext": REDACTED, "ciphertext": "x"}))
            }
        );
    }
}
