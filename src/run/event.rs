//! The run as a stream of typed events, and the observers that consume it.
//!
//! The recorder turns each observation into events after redaction, so no observer ever
//! sees a secret; observers never talk back to the run. Report data ([`Collector`]), the
//! transcript for snapshots and diffs ([`Transcript`]), the terminal progress line
//! ([`Progress`]), the streamed `events.jsonl` ([`JsonLines`]) and the HAR file
//! (`report::har`) are all observers. Exchanges, the costly events, are built only when an
//! observer asks for them.

use super::record::{Coverage, Finding, RedactedRequest, Tally, TransportProblem};
use crate::check::CheckId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::sync::Arc;

/// One thing that happened in a run.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    RunStarted {
        target: String,
        seed: u64,
        run_id: String,
        versions: Vec<String>,
        suites: Vec<String>,
    },
    /// The first request of a case is about to be sent.
    CaseStarted {
        version: String,
        operation: String,
        case: String,
    },
    /// A request and what came back (or did not). `detail` is there when some observer
    /// wants exchanges.
    Exchange(Box<ExchangeEvent>),
    /// One check's verdict on one exchange.
    CheckOutcome {
        version: String,
        operation: String,
        case: String,
        check: CheckId,
        verdict: Verdict,
    },
    Finding(Box<Finding>),
    TransportProblem(Box<TransportProblem>),
    /// Cases not sent, and why (coverage).
    Skipped {
        version: String,
        operation: String,
        kind: String,
        reason: String,
        count: u64,
    },
    SuiteDone {
        version: String,
        suite: String,
    },
    RunDone {
        requests: u64,
        elapsed_ms: u64,
        stopped_early: bool,
        interrupted: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    Failed,
    Advisory,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExchangeEvent {
    pub version: String,
    pub operation: String,
    pub case: String,
    /// The case kind (`valid`, `invalid`, `suite`, …), for coverage.
    pub kind: String,
    pub label: String,
    /// Something went on the wire (false: the step could not be built).
    pub sent: bool,
    pub status: Option<u16>,
    /// The response body (secret fields redacted, secrets scrubbed; a JSON string when it is
    /// not JSON), there when some observer wants bodies. Streams carry it inside `detail`.
    #[serde(skip)]
    pub body: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<ExchangeDetail>,
}

/// The redacted request and response of an exchange.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExchangeDetail {
    /// When the exchange was recorded (RFC 3339, UTC).
    pub at: String,
    pub request: RedactedRequest,
    /// Every header sent, the signer's included; secret values are `<redacted>`.
    pub sent_headers: Vec<(String, String)>,
    pub response: Option<RecordedResponse>,
    pub transport: Option<crate::target::http::Transport>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RecordedResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub content_type: Option<String>,
    /// The body as JSON (secret fields redacted), or as a JSON string when it is not JSON.
    pub body: Option<Value>,
    pub elapsed_ms: u64,
}

/// A consumer of the run's events. Called from the run's tasks, in the order each task
/// produces them; an observer keeps its own state behind a lock.
pub trait Observer: Send + Sync {
    fn on(&self, event: &Event);
    /// Whether this observer reads exchanges' details (costly: built only when wanted).
    fn wants_exchanges(&self) -> bool {
        false
    }
    /// Whether this observer reads response bodies only (cheaper than the details).
    fn wants_bodies(&self) -> bool {
        false
    }
}

/// The observers of one run.
#[derive(Clone, Default)]
pub struct Events {
    observers: Vec<Arc<dyn Observer>>,
    exchanges: bool,
    bodies: bool,
    started: Arc<parking_lot::Mutex<HashSet<String>>>,
}

impl Events {
    pub fn new(observers: Vec<Arc<dyn Observer>>) -> Self {
        let exchanges = observers.iter().any(|o| o.wants_exchanges());
        let bodies = exchanges || observers.iter().any(|o| o.wants_bodies());
        Self {
            observers,
            exchanges,
            bodies,
            started: Default::default(),
        }
    }

    pub fn emit(&self, e: Event) {
        for o in &self.observers {
            o.on(&e);
        }
    }

    pub fn wants_exchanges(&self) -> bool {
        self.exchanges
    }

    pub fn wants_bodies(&self) -> bool {
        self.bodies
    }

    /// `CaseStarted`, once per case id.
    pub fn case_started(&self, version: &str, operation: &str, case: &str) {
        if self.started.lock().insert(case.to_string()) {
            self.emit(Event::CaseStarted {
                version: version.into(),
                operation: operation.into(),
                case: case.into(),
            });
        }
    }
}

/// What the reports are made of: verdict tallies, findings, transport problems, coverage.
#[derive(Default)]
pub struct Collector {
    state: parking_lot::Mutex<Collected>,
}

/// The collected state at the end of a run.
#[derive(Debug, Clone, Default)]
pub struct Collected {
    pub findings: Vec<Finding>,
    pub tallies: BTreeMap<(CheckId, String, String), Tally>,
    pub transport_problems: Vec<TransportProblem>,
    pub coverage: BTreeMap<(String, String, String), Coverage>,
    pub requests: u64,
}

impl Collector {
    pub fn take(&self) -> Collected {
        let mut c = std::mem::take(&mut *self.state.lock());
        c.findings.sort_by(|a, b| {
            (&a.version, &a.operation, a.check, &a.case).cmp(&(
                &b.version,
                &b.operation,
                b.check,
                &b.case,
            ))
        });
        c
    }
}

impl Observer for Collector {
    fn on(&self, e: &Event) {
        let mut s = self.state.lock();
        match e {
            Event::Exchange(x) if x.sent => {
                s.requests += 1;
                s.coverage
                    .entry((x.operation.clone(), x.version.clone(), x.kind.clone()))
                    .or_default()
                    .sent += 1;
            }
            Event::CheckOutcome {
                version,
                operation,
                check,
                verdict,
                ..
            } => {
                let t = s
                    .tallies
                    .entry((*check, operation.clone(), version.clone()))
                    .or_default();
                match verdict {
                    Verdict::Passed => t.passed += 1,
                    Verdict::Failed => t.failed += 1,
                    Verdict::Advisory => t.advisory += 1,
                }
            }
            Event::Finding(f) => s.findings.push((**f).clone()),
            Event::TransportProblem(p) => s.transport_problems.push((**p).clone()),
            Event::Skipped {
                version,
                operation,
                kind,
                reason,
                count,
            } => {
                *s.coverage
                    .entry((operation.clone(), version.clone(), kind.clone()))
                    .or_default()
                    .skipped
                    .entry(reason.clone())
                    .or_default() += count;
            }
            _ => {}
        }
    }
}

/// One observed exchange, kept for diffs and snapshots.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TranscriptEntry {
    pub version: String,
    pub case: String,
    pub label: String,
    pub operation: String,
    pub status: Option<u16>,
    /// The body as JSON, or as a JSON string when it is not JSON.
    pub body: Option<Value>,
}

/// The transcript: every exchange's status and body, in the order they were recorded.
#[derive(Default)]
pub struct Transcript {
    entries: parking_lot::Mutex<Vec<TranscriptEntry>>,
}

impl Transcript {
    pub fn take(&self) -> Vec<TranscriptEntry> {
        std::mem::take(&mut *self.entries.lock())
    }
}

impl Observer for Transcript {
    fn wants_bodies(&self) -> bool {
        true
    }
    fn on(&self, e: &Event) {
        let Event::Exchange(x) = e else { return };
        let body = x.body.clone();
        self.entries.lock().push(TranscriptEntry {
            version: x.version.clone(),
            case: x.case.clone(),
            label: x.label.clone(),
            operation: x.operation.clone(),
            status: x.status,
            body,
        });
    }
}

/// The terminal's progress line.
pub struct Progress {
    bar: indicatif::ProgressBar,
    counts: parking_lot::Mutex<(u64, u64)>,
}

impl Progress {
    pub fn new(bar: indicatif::ProgressBar) -> Self {
        Self {
            bar,
            counts: Default::default(),
        }
    }
}

impl Observer for Progress {
    fn on(&self, e: &Event) {
        let mut c = self.counts.lock();
        match e {
            Event::Exchange(x) if x.sent => {
                c.0 += 1;
                self.bar.set_message(format!(
                    "{} {}: {} requests, {} findings",
                    x.version, x.operation, c.0, c.1
                ));
            }
            Event::Finding(_) => c.1 += 1,
            _ => {}
        }
    }
}

/// `--format jsonl`: one JSON object per event and line, written as the run goes (each
/// line flushed), exchanges with their redacted detail.
pub struct JsonLines {
    out: parking_lot::Mutex<Option<std::io::LineWriter<std::fs::File>>>,
    path: std::path::PathBuf,
    error: parking_lot::Mutex<Option<String>>,
}

impl JsonLines {
    /// Creates (truncates) the file now, so an unwritable path is found before the run.
    pub fn create(path: &std::path::Path) -> std::io::Result<Self> {
        let f = std::fs::File::create(path)?;
        Ok(Self {
            out: parking_lot::Mutex::new(Some(std::io::LineWriter::new(f))),
            path: path.into(),
            error: Default::default(),
        })
    }

    /// The first write error, if any (the run goes on; the CLI reports it).
    pub fn error(&self) -> Option<String> {
        self.error.lock().clone()
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl Observer for JsonLines {
    fn wants_exchanges(&self) -> bool {
        true
    }
    fn on(&self, e: &Event) {
        let mut out = self.out.lock();
        let Some(w) = out.as_mut() else { return };
        let line = serde_json::to_string(e).expect("events serialise");
        if let Err(err) = writeln!(w, "{line}") {
            *self.error.lock() = Some(format!("{}: {err}", self.path.display()));
            *out = None;
        }
    }
}

/// `-v`: one line per exchange as it completes — case, method, path, then the status and
/// time, or the transport problem — from the redacted, scrubbed detail (so nothing secret).
pub struct ExchangeLog {
    out: parking_lot::Mutex<Box<dyn Write + Send>>,
    color: bool,
}

impl ExchangeLog {
    /// Lines to `out`; ANSI colours on the status when `color`.
    pub fn new(out: Box<dyn Write + Send>, color: bool) -> Self {
        Self {
            out: parking_lot::Mutex::new(out),
            color,
        }
    }

    /// The line for one exchange (without its newline).
    pub fn line(x: &ExchangeEvent, color: bool) -> String {
        let paint = |code: &str, t: String| {
            if color {
                format!("\x1b[{code}m{t}\x1b[0m")
            } else {
                t
            }
        };
        let Some(d) = x.detail.as_ref().filter(|_| x.sent) else {
            return format!("{} {}: not sent", x.case, x.label);
        };
        let path = reqwest::Url::parse(&d.request.url)
            .map(|u| match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_string(),
            })
            .unwrap_or_else(|_| d.request.url.clone());
        let outcome = match (&d.response, &d.transport) {
            (Some(r), _) => {
                let code = match r.status {
                    200..=299 => "32",
                    400..=499 => "33",
                    _ => "31",
                };
                format!("{} {} ms", paint(code, r.status.to_string()), r.elapsed_ms)
            }
            (None, Some(t)) => paint("31", format!("no answer ({}: {t})", t.kind())),
            (None, None) => "not sent".to_string(),
        };
        format!("{} {} {} -> {outcome}", x.case, d.request.method, path)
    }
}

impl Observer for ExchangeLog {
    fn wants_exchanges(&self) -> bool {
        true
    }
    fn on(&self, e: &Event) {
        let Event::Exchange(x) = e else { return };
        let line = Self::line(x, self.color);
        let _ = writeln!(self.out.lock(), "{line}");
    }
}
