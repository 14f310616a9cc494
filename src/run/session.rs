//! A session: a loaded spec set, an opened target (the embedded reference of the API, or a
//! URL with the profile's signer) and the runs made against it. This is the library entry
//! point; the CLI only maps flags onto it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use kmsconform::run::session::{Inputs, RunPlan, Session, TargetSpec};
//! let set = kmsconform::spec::SpecSet::load(std::path::Path::new("specs/scp-kms"))?;
//! let plan = RunPlan::new(&set, vec!["1.3".into()]);
//! let inputs = Inputs::load(&set, std::path::Path::new("suites/scp-kms"), &plan)?;
//! let session = Session::open(&set, &TargetSpec::embedded(), None).await?;
//! let outcome = session.run(&plan, &inputs).await?;
//! println!("{} findings", outcome.collected.findings.len());
//! # Ok(()) }
//! ```

use super::event::{
    Collected, Collector, Event, Events, Observer, Progress, Transcript, TranscriptEntry,
};
use super::generation::Generation;
use super::ledger::{CleanupRule, Ledger, Leftover};
use super::record::{Observation, Outcome, Recorder, RecorderConfig};
use super::suite::{self, Suite};
use super::template::Bindings;
use super::VersionCtx;
use crate::check::response::{check_response, status_actual, Claim};
use crate::check::{Basis, CheckId, Expected, Failure, Selection, Verdicts};
use crate::reference::embedded::{self, EmbeddedError};
use crate::reference::RunningServer;
use crate::spec::basis as spec_basis;
use crate::spec::SpecSet;
use crate::target::http::{Auth, Client, ClientOptions, Request};
use crate::target::sign::CredentialSet;
use crate::target::url::BaseUrl;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why a session could not do what was asked. Findings are not errors: they are data.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Bad input: a flag, a spec, a suite, a fault name, a URL, missing credentials.
    #[error("{0}")]
    Input(String),
    /// The target does not answer usably (connection, TLS, no headers in time).
    #[error("target unusable: {0}")]
    Unusable(String),
    /// The first signed request was refused as unauthenticated.
    #[error(
        "credentials rejected: {operation} answered {status} to a signed request; check {env}"
    )]
    CredentialsRejected {
        operation: String,
        status: u16,
        env: String,
    },
    /// Something that should not happen (the embedded server failed to start, …).
    #[error("{0}")]
    Internal(String),
}

impl From<EmbeddedError> for SessionError {
    fn from(e: EmbeddedError) -> Self {
        if e.is_input() {
            SessionError::Input(e.to_string())
        } else if e.is_unusable() {
            SessionError::Unusable(e.to_string())
        } else {
            SessionError::Internal(e.to_string())
        }
    }
}

/// Where to send requests.
#[derive(Debug, Clone)]
pub enum TargetKind {
    Embedded(embedded::Options),
    Url(String),
}

#[derive(Debug, Clone)]
pub struct TargetSpec {
    pub kind: TargetKind,
    pub client: ClientOptions,
    /// Fixtures the suites name (`--param`), over those an embedded target supplies.
    pub params: std::collections::BTreeMap<String, String>,
}

impl TargetSpec {
    pub fn embedded() -> Self {
        Self {
            kind: TargetKind::Embedded(Default::default()),
            client: ClientOptions::default(),
            params: Default::default(),
        }
    }
    pub fn is_embedded(&self) -> bool {
        matches!(self.kind, TargetKind::Embedded(_))
    }
}

/// The suites and generated-case configuration of a run, loaded and validated before any
/// request is sent.
pub struct Inputs {
    pub suites_dir: PathBuf,
    pub suites: Vec<Suite>,
    pub generation: Generation,
    pub cleanup: Option<CleanupRule>,
}

impl Inputs {
    pub fn load(set: &SpecSet, suites_dir: &Path, plan: &RunPlan) -> Result<Self, SessionError> {
        let input = SessionError::Input;
        let suites = suite::load_dir(suites_dir).map_err(|e| input(e.to_string()))?;
        let generation = Generation::load(&suites_dir.join("generation.json")).map_err(input)?;
        generation.validate(&set.all_operations()).map_err(input)?;
        for s in &plan.suites {
            if s != "generated" && !suites.iter().any(|x| &x.name == s) {
                let names: Vec<&str> = suites.iter().map(|x| x.name.as_str()).collect();
                return Err(input(format!(
                    "unknown suite '{s}' (have: generated, {})",
                    names.join(", ")
                )));
            }
        }
        let specs: Vec<&crate::spec::VersionSpec> =
            plan.versions.iter().filter_map(|v| set.get(v)).collect();
        for s in &suites {
            suite::validate_against(s, &specs).map_err(input)?;
        }
        let cleanup = set
            .profile
            .cleanup
            .as_ref()
            .map(CleanupRule::parse)
            .transpose()
            .map_err(input)?;
        Ok(Self {
            suites_dir: suites_dir.into(),
            suites,
            generation,
            cleanup,
        })
    }
}

/// What one run sends.
#[derive(Clone)]
pub struct RunPlan {
    /// Registry versions, de-duplicated, in the order given.
    pub versions: Vec<String>,
    /// Suite names; empty: all. "generated" names the spec-generated cases.
    pub suites: Vec<String>,
    pub selection: Selection,
    pub cases: usize,
    pub seed: u64,
    /// Mixed into generated names so that runs against one target never collide.
    pub run_id: String,
    pub concurrency: usize,
    /// Replay: only the case with this id (and what it depends on) is sent.
    pub case_filter: Option<String>,
    /// Keep a transcript of every exchange (for diffs and snapshots).
    pub capture: bool,
    pub partition: Option<(u32, u32)>,
    /// Stop early once more than this many gating findings outside `known_failures` exist.
    pub max_failures: Option<usize>,
    pub known_failures: Vec<String>,
    pub strict: bool,
    /// Set (e.g. on Ctrl-C) to stop sending cases; the outcome so far is kept.
    pub interrupt: Option<Arc<AtomicBool>>,
    /// `kmsconform replay …` without `--case`, for the replay line of each finding.
    pub replay_prefix: String,
    pub progress: Option<indicatif::ProgressBar>,
    /// More consumers of the run's events (e.g. `--format jsonl`, `--record`).
    pub observers: Vec<Arc<dyn Observer>>,
}

impl RunPlan {
    /// Defaults: all suites, 10 cases per operation, seed 1, a fresh run id.
    pub fn new(set: &SpecSet, versions: Vec<String>) -> Self {
        let _ = set;
        Self {
            versions: dedup(versions),
            suites: vec![],
            selection: Selection::default(),
            cases: 10,
            seed: 1,
            run_id: super::new_run_id(),
            concurrency: 32,
            case_filter: None,
            capture: false,
            partition: None,
            max_failures: None,
            known_failures: vec![],
            strict: false,
            interrupt: None,
            replay_prefix: String::new(),
            progress: None,
            observers: vec![],
        }
    }

    fn wants(&self, suite: &str) -> bool {
        self.suites.is_empty() || self.suites.iter().any(|s| s == suite)
    }
}

/// Versions as given, without repeats.
pub fn dedup(versions: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in versions {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

pub struct RunOutcome {
    /// What the reports are made of (the collector observer's state at the end).
    pub collected: Collected,
    /// Every exchange's status and body, when the plan asked for `capture`.
    pub transcript: Vec<TranscriptEntry>,
    pub seed: u64,
    pub strict: bool,
    /// The final pass over every output: every secret the run handled.
    pub scrubber: super::secrets::Scrubber,
    pub elapsed: Duration,
    pub versions: Vec<String>,
    pub suites_run: Vec<String>,
    /// The failure budget (`--max-failures`) was spent and the run stopped early.
    pub stopped_early: bool,
    pub interrupted: bool,
    /// What the run created and could not delete.
    pub leftovers: Vec<Leftover>,
    pub run_id: String,
    pub target: String,
    pub proxy: Option<String>,
}

/// An opened target.
pub struct Session<'s> {
    pub set: &'s SpecSet,
    pub client: Client,
    pub label: String,
    /// Fixtures bound in every suite and in generation.json.
    pub params: Bindings,
    /// The credentials' secret values: scrubbed from everything a run records.
    secrets: Vec<String>,
    _server: Option<RunningServer>,
}

impl<'s> Session<'s> {
    /// Opens the target: starts the API's embedded reference, or checks the URL and builds
    /// the profile's signer from `creds` (or the profile's environment variables).
    pub async fn open(
        set: &'s SpecSet,
        target: &TargetSpec,
        creds: Option<CredentialSet>,
    ) -> Result<Session<'s>, SessionError> {
        let profile = &set.profile;
        let mut params = Bindings::new();
        let (base, creds, server, label, mut copts) = match &target.kind {
            TargetKind::Embedded(o) => {
                let e = embedded::start(&profile.api, o).await?;
                let base = BaseUrl::parse(&format!(
                    "{}{}",
                    e.server.base_url(),
                    crate::spec::base_path(&set.latest().doc)
                ))
                .map_err(|e| SessionError::Internal(e.to_string()))?;
                for (k, v) in &e.params {
                    params.insert(k.clone(), serde_json::Value::String(v.clone()));
                }
                let mut copts = target.client.clone();
                // The embedded target is on loopback: never through a proxy.
                copts.no_proxy = true;
                (base, e.credentials, Some(e.server), e.label, copts)
            }
            TargetKind::Url(u) => {
                BaseUrl::parse(u).map_err(|e| SessionError::Input(e.to_string()))?;
                // The API's base path (e.g. OpenBao's /v1) goes between the URL and each path,
                // unless the URL already ends with it (the vendor's server URL, e.g. NCP's
                // https://ocapi.ncloud.com/kms/v1).
                let bp = crate::spec::base_path(&set.latest().doc);
                let u_trim = u.trim_end_matches('/');
                let base = BaseUrl::parse(&if !bp.is_empty() && u_trim.ends_with(bp.as_str()) {
                    u_trim.to_string()
                } else {
                    format!("{u_trim}{bp}")
                })
                .map_err(|e| SessionError::Input(e.to_string()))?;
                let creds = creds.unwrap_or_else(|| {
                    CredentialSet(
                        profile
                            .auth
                            .env
                            .keys()
                            .filter_map(|k| profile.credential_from_env(k).map(|v| (k.clone(), v)))
                            .collect(),
                    )
                });
                (base, creds, None, u.clone(), target.client.clone())
            }
        };
        let signer = crate::target::sign::for_scheme(
            &profile.auth.scheme,
            &profile.auth.params,
            &creds,
            &|n| profile.env_names(n),
        )
        .map_err(|e| SessionError::Input(e.to_string()))?;
        copts.max_body = copts.max_body.max(1);
        let client =
            Client::new(base, signer, copts).map_err(|e| SessionError::Input(e.to_string()))?;
        for (k, v) in &target.params {
            params.insert(k.clone(), serde_json::Value::String(v.clone()));
        }
        let secrets = [creds.secret_values(), client.proxy_secrets()].concat();
        Ok(Session {
            set,
            client,
            label,
            params,
            secrets,
            _server: server,
        })
    }

    /// Every variable the selected suites and generation.json use without binding it is a
    /// fixture the run supplies; one missing stops the run before its first request.
    fn check_fixtures(&self, plan: &RunPlan, inputs: &Inputs) -> Result<(), SessionError> {
        let mut needs: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        if plan.wants("generated") {
            for v in inputs.generation.free_variables() {
                needs.entry(v).or_default().push("generation.json".into());
            }
        }
        for s in inputs.suites.iter().filter(|s| plan.wants(&s.name)) {
            for v in suite::free_variables(s) {
                needs
                    .entry(v)
                    .or_default()
                    .push(format!("suite {}", s.name));
            }
        }
        needs.retain(|name, _| !self.params.contains_key(name));
        if needs.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = needs
            .iter()
            .map(|(name, users)| format!("{name} (used by {})", users.join(", ")))
            .collect();
        let flags: Vec<String> = needs.keys().map(|n| format!("--param {n}=…")).collect();
        Err(SessionError::Input(format!(
            "fixtures missing: {}; nothing in {} creates them: pass {}",
            list.join("; "),
            inputs.suites_dir.display(),
            flags.join(" ")
        )))
    }

    /// The embedded server's address (None for a URL target).
    pub fn server_url(&self) -> Option<String> {
        self._server.as_ref().map(|s| s.base_url())
    }

    /// One conformance run.
    pub async fn run(&self, plan: &RunPlan, inputs: &Inputs) -> Result<RunOutcome, SessionError> {
        let started = Instant::now();
        let set = self.set;
        let profile = &set.profile;
        for v in &plan.versions {
            if set.get(v).is_none() {
                return Err(SessionError::Input(format!(
                    "version {v} is not in {} (have: {})",
                    set.dir.display(),
                    set.version_ids().collect::<Vec<_>>().join(", ")
                )));
            }
        }
        let recorder_cfg = RecorderConfig {
            seed: plan.seed,
            run_id: plan.run_id.clone(),
            selection: plan.selection.clone(),
            secret_fields: profile.secrets.fields.clone(),
            credentials: self.secrets.clone(),
            replay_prefix: plan.replay_prefix.clone(),
            strict: plan.strict,
            stop_after: plan.max_failures,
            known: plan.known_failures.clone(),
            interrupt: plan.interrupt.clone(),
        };
        // The run's observers: report data always, the transcript for diffs and snapshots,
        // the progress line, and whatever the caller adds (jsonl, HAR).
        let collector = Arc::new(Collector::default());
        let transcript = Arc::new(Transcript::default());
        let mut observers: Vec<Arc<dyn Observer>> = vec![collector.clone()];
        if plan.capture {
            observers.push(transcript.clone());
        }
        if let Some(p) = &plan.progress {
            observers.push(Arc::new(Progress::new(p.clone())));
        }
        observers.extend(plan.observers.iter().cloned());
        let recorder = Recorder::new(recorder_cfg, Events::new(observers));
        let ledger = Ledger::new(inputs.cleanup.clone());
        let ctxs: Vec<VersionCtx> = plan
            .versions
            .iter()
            .map(|v| VersionCtx {
                version: v.clone(),
                spec: set.get(v).expect("checked above"),
                profile,
                version_header: profile.version_header(v),
                client: &self.client,
                recorder: &recorder,
                ledger: &ledger,
                seed: plan.seed,
                run_id: plan.run_id.clone(),
                cases: plan.cases,
                concurrency: plan.concurrency.max(1),
                case_filter: plan.case_filter.clone(),
                expected_statuses: &inputs.generation.expected_statuses,
                partition: plan.partition,
                params: &self.params,
            })
            .collect();
        self.check_fixtures(plan, inputs)?;
        recorder.events().emit(Event::RunStarted {
            target: self.label.clone(),
            seed: plan.seed,
            run_id: plan.run_id.clone(),
            versions: plan.versions.clone(),
            suites: inputs
                .suites
                .iter()
                .filter(|s| plan.wants(&s.name))
                .map(|s| s.name.clone())
                .collect(),
        });
        if let Some(last) = ctxs.last() {
            probe(last).await?;
        }
        let mut suites_run = Vec::new();
        if plan.wants("generated") {
            suites_run.push("generated".to_string());
        }
        suites_run.extend(
            inputs
                .suites
                .iter()
                .filter(|s| plan.wants(&s.name))
                .map(|s| s.name.clone()),
        );
        let all_ops = set.all_operations();
        // Versions run one after another (they share the target's state); inside a version,
        // cases run concurrently.
        for ctx in &ctxs {
            if let Some(p) = &plan.progress {
                p.set_message(format!(
                    "version {}: {} requests so far",
                    ctx.version,
                    recorder.requests()
                ));
            }
            if recorder.exhausted() {
                break;
            }
            let replaying_suite = ctx
                .case_filter
                .as_deref()
                .is_some_and(|f| f.contains("/suite/"));
            if plan.wants("generated") && !replaying_suite {
                inputs.generation.run(ctx).await;
                absent_operations(ctx, &all_ops).await;
            }
            // Suites are independent of each other (each creates its own resources), so
            // they run concurrently; each one's steps stay in order.
            let jobs = inputs
                .suites
                .iter()
                .filter(|s| plan.wants(&s.name) && ctx.in_partition(&format!("suite/{}", s.name)))
                .map(|s| async move {
                    suite::run_suite(s, ctx).await;
                    ctx.recorder.events().emit(Event::SuiteDone {
                        version: ctx.version.clone(),
                        suite: s.name.clone(),
                    });
                });
            futures::future::join_all(jobs).await;
        }
        let leftovers = final_cleanup(&ctxs, &ledger).await;
        let stopped_early = recorder.budget_spent();
        let interrupted = recorder.interrupted();
        recorder.events().emit(Event::RunDone {
            requests: recorder.requests(),
            elapsed_ms: started.elapsed().as_millis() as u64,
            stopped_early,
            interrupted,
        });
        let scrubber = recorder.secrets.final_scrubber();
        drop(ctxs);
        drop(recorder);
        Ok(RunOutcome {
            stopped_early,
            interrupted,
            elapsed: started.elapsed(),
            versions: plan.versions.clone(),
            suites_run,
            leftovers,
            run_id: plan.run_id.clone(),
            target: self.label.clone(),
            proxy: self.client.proxy(),
            seed: plan.seed,
            strict: plan.strict,
            collected: collector.take(),
            transcript: transcript.take(),
            scrubber,
        })
    }
}

/// The operation of the credentials probe: the profile's, else the first GET with no path
/// and no required parameter.
fn probe_operation<'a>(ctx: &'a VersionCtx) -> Option<&'a crate::spec::Operation> {
    match &ctx.profile.probe {
        Some(id) => ctx.spec.operation(id),
        None => ctx.spec.operations.iter().find(|o| {
            o.method == "GET" && !o.path.contains('{') && o.params.iter().all(|p| !p.required)
        }),
    }
}

/// One signed request before anything else: a target that does not answer, or refuses the
/// credentials, stops the run with its own error instead of hundreds of findings.
async fn probe(ctx: &VersionCtx<'_>) -> Result<(), SessionError> {
    let Some(op) = probe_operation(ctx) else {
        return Ok(());
    };
    let req = Request {
        method: op.method.clone(),
        path: op.path.clone(),
        query: vec![],
        headers: ctx.version_header.iter().cloned().collect(),
        body: None,
        auth: Auth::Signed,
    };
    let case = format!("{}/probe/0", ctx.version);
    match ctx.client.send(&req).await {
        Err(e) if e.is_unreachable() => Err(SessionError::Unusable(e.to_string())),
        // An answer that broke after its headers (reset, undecodable body, slow body) is a
        // transport problem of the report, not an unusable target.
        Err(e) => {
            ctx.recorder.record(
                ctx.client,
                Observation {
                    version: &ctx.version,
                    operation: &op.operation_id,
                    case: &case,
                    label: "credentials probe",
                    request: Some(&req),
                    outcome: Outcome::Transport(&e),
                    verdicts: Verdicts::new(),
                },
            );
            Ok(())
        }
        Ok(resp) => {
            let mut v = Verdicts::new();
            check_response(&ctx.scope(op), &Claim::Suite, &resp, &mut v);
            ctx.recorder.record(
                ctx.client,
                Observation {
                    version: &ctx.version,
                    operation: &op.operation_id,
                    case: &case,
                    label: "credentials probe",
                    request: Some(&req),
                    outcome: Outcome::Response(&resp),
                    verdicts: v,
                },
            );
            if ctx
                .profile
                .errors
                .credentials_rejected
                .contains(&resp.status)
            {
                let names: Vec<String> = ctx
                    .profile
                    .auth
                    .env
                    .keys()
                    .filter(|k| !crate::target::sign::CredentialSet::is_public(k))
                    .map(|k| ctx.profile.env_names(k))
                    .collect();
                return Err(SessionError::CredentialsRejected {
                    operation: op.operation_id.clone(),
                    status: resp.status,
                    env: if names.is_empty() {
                        "the credentials".into()
                    } else {
                        names.join(", ")
                    },
                });
            }
            Ok(())
        }
    }
}

/// Operations other versions document but this one does not must not be served.
async fn absent_operations(
    ctx: &VersionCtx<'_>,
    all: &std::collections::BTreeMap<String, (String, String)>,
) {
    for (id, (method, path)) in all
        .iter()
        .filter(|(id, _)| ctx.spec.operation(id).is_none())
    {
        let case = format!("{}/{id}/absent/0", ctx.version);
        if !ctx.wants(&case) || !ctx.in_partition(id) {
            continue;
        }
        let req = Request {
            method: method.clone(),
            path: super::fill_path_placeholders(path, &ctx.profile.unknown_id),
            query: vec![],
            headers: ctx.version_header.iter().cloned().collect(),
            body: None,
            auth: Auth::Signed,
        };
        let label = format!("{id} is not part of version {}", ctx.version);
        let resp = ctx.client.send(&req).await;
        let mut v = Verdicts::new();
        if let Ok(r) = &resp {
            let doc = &ctx.spec.doc;
            let not_served = Basis::documented(spec_basis::cite(
                doc,
                &serde_json::Value::Null,
                &format!("version {} documents no operation {id}", ctx.version),
            ));
            v.check(CheckId::NotAServerError, r.status < 500, || {
                Failure::new(
                    CheckId::NotAServerError,
                    Expected::StatusBelow500,
                    status_actual(r),
                )
                .with_basis(not_served.clone())
            });
            // Served at all (2xx) contradicts the document; refused otherwise than 404 is
            // a choice no document makes.
            let basis = if r.status < 400 {
                not_served
            } else {
                Basis::assumed("an operation a version lacks is answered 404; the document names no status for it")
            };
            v.check(CheckId::VersionShape, r.status == 404, || {
                Failure::new(
                    CheckId::VersionShape,
                    Expected::StatusIn {
                        statuses: vec![404],
                    },
                    status_actual(r),
                )
                .with_basis(basis)
            });
        }
        let outcome = match &resp {
            Ok(r) => Outcome::Response(r),
            Err(t) => Outcome::Transport(t),
        };
        ctx.recorder.record(
            ctx.client,
            Observation {
                version: &ctx.version,
                operation: id,
                case: &case,
                label: &label,
                request: Some(&req),
                outcome,
                verdicts: v,
            },
        );
    }
}

/// Delete what the run created and did not delete; report what could not be.
async fn final_cleanup(ctxs: &[VersionCtx<'_>], ledger: &Ledger) -> Vec<Leftover> {
    let Some(rule) = ledger.rule() else {
        return vec![];
    };
    let mut leftovers = Vec::new();
    for (version, id, case) in ledger.outstanding() {
        let Some(ctx) = ctxs.iter().find(|c| c.version == version) else {
            continue;
        };
        let mut b = Bindings::new();
        b.insert("id".into(), serde_json::Value::String(id.clone()));
        let mut reason = None;
        for (i, st) in rule.steps.iter().enumerate() {
            let last = i + 1 == rule.steps.len();
            let req = match suite::build_request(st, ctx, &b, &[]) {
                Ok(r) => r,
                Err(e) => {
                    reason = Some(format!("cannot build the cleanup request: {e}"));
                    break;
                }
            };
            let case_id = format!("{version}/cleanup/{id}/{}", i + 1);
            let resp = ctx.client.send(&req).await;
            let outcome = match &resp {
                Ok(r) => Outcome::Response(r),
                Err(t) => Outcome::Transport(t),
            };
            ctx.recorder.record(
                ctx.client,
                Observation {
                    version: &version,
                    operation: st.call.as_deref().unwrap_or("-"),
                    case: &case_id,
                    label: "cleanup of a resource the run created",
                    request: Some(&req),
                    outcome,
                    verdicts: Verdicts::new(),
                },
            );
            match resp {
                Ok(r) if last && ((200..300).contains(&r.status) || r.status == 404) => {
                    ledger.mark_removed(&id);
                }
                Ok(r) if last => reason = Some(format!("the delete answered {}", r.status)),
                Ok(_) => {}
                Err(e) => {
                    reason = Some(e.to_string());
                    break;
                }
            }
        }
        if let Some(reason) = reason {
            leftovers.push(Leftover {
                version,
                id,
                case,
                reason,
            });
        }
    }
    leftovers
}
