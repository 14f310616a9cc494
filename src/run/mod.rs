//! A conformance run: for each version, spec-generated cases (valid with shrinking, invalid,
//! bad auth), operations the version lacks, then the stateful suites. Everything observed
//! goes to the [`record::Recorder`]; the caller turns it into reports and an exit code.

pub mod generation;
pub mod record;
pub mod suite;
pub mod template;

use crate::check::{Failure, Selection};
use crate::spec::validate::SchemaSet;
use crate::spec::SpecSet;
use crate::target::http::{Auth, Client, Request};
use record::Recorder;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Everything a case needs to talk about one API version.
pub struct VersionCtx<'a> {
    pub version: String,
    pub doc: &'a Value,
    pub schemas: &'a SchemaSet,
    /// operationId → (method, path, operation object).
    pub ops: BTreeMap<String, (String, String, &'a Value)>,
    /// (header, value) selecting this version, from the spec.
    pub version_header: Option<(String, String)>,
    pub client: &'a Client,
    pub recorder: &'a Recorder,
    pub seed: u64,
    pub cases: usize,
    pub concurrency: usize,
    /// Replay: only the case with this id (and what it depends on) is sent.
    pub case_filter: Option<String>,
    /// Per-operation expected-status overrides (generation.json `expected_statuses`).
    pub expected_statuses: &'a BTreeMap<String, Vec<u16>>,
    pub name_salt: String,
    pub partition: Option<(u32, u32)>,
}

impl VersionCtx<'_> {
    /// Whether a unit of work (a version's operation or suite) belongs to this shard.
    pub fn in_partition(&self, unit: &str) -> bool {
        in_partition(self.partition, &format!("{}/{unit}", self.version))
    }

    /// A name generator scoped to this version and `scope`.
    pub fn names(&self, scope: &str) -> Names {
        Names::new(
            self.seed,
            &format!("{}{}/{scope}", self.name_salt, self.version),
        )
    }

    pub fn also_allowed(&self, op: &str) -> &[u16] {
        self.expected_statuses
            .get(op)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Whether a case (or a suite step) is wanted under the replay filter.
    pub fn wants(&self, case: &str) -> bool {
        !self.recorder.exhausted() && self.case_filter.as_deref().is_none_or(|f| f == case)
    }
}

pub struct RunOptions {
    pub spec_dir: PathBuf,
    pub suites_dir: PathBuf,
    pub versions: Vec<String>,
    /// Suite names to run; empty: all. "generated" names the spec-generated cases.
    pub suites: Vec<String>,
    pub selection: Selection,
    pub cases: usize,
    pub seed: u64,
    pub concurrency: usize,
    pub case_filter: Option<String>,
    /// Keep a transcript of every exchange (for diffs and snapshots).
    pub capture: bool,
    /// Mixed into generated resource names, so two runs against one target do not collide.
    pub name_salt: String,
    /// Run only this shard: (k, n) with 1 <= k <= n.
    pub partition: Option<(u32, u32)>,
    /// Stop early once more than this many findings outside `known_failures` exist.
    pub max_failures: Option<usize>,
    pub known_failures: Vec<String>,
    /// Set (e.g. on Ctrl-C) to stop sending cases; the outcome so far is kept.
    pub interrupt: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

pub struct RunOutcome {
    pub recorder: Recorder,
    pub elapsed: Duration,
    pub versions: Vec<String>,
    pub suites_run: Vec<String>,
    /// The failure budget (`--max-failures`) was spent and the run stopped early.
    pub stopped_early: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Config(String),
    #[error("target unreachable: {0}")]
    Unreachable(String),
}

/// The version header and its value for a version's document.
pub fn version_header(doc: &Value) -> Option<(String, String)> {
    let p = doc.pointer("/components/parameters/ApiVersion")?;
    Some((
        p.get("name")?.as_str()?.to_string(),
        p.pointer("/schema/const")?.as_str()?.to_string(),
    ))
}

pub fn secret_fields(doc: &Value) -> Vec<String> {
    doc.pointer("/x-kmsconform-normalize/secret")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Deterministic sharding: a unit goes to shard `hash(unit) mod n`.
pub fn in_partition(partition: Option<(u32, u32)>, unit: &str) -> bool {
    use sha2::{Digest, Sha256};
    match partition {
        None => true,
        Some((k, n)) => {
            let h = Sha256::digest(unit.as_bytes());
            let x = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
            x % n == k - 1
        }
    }
}

/// Deterministic unique names: the same seed gives the same names.
pub struct Names {
    seed: u64,
    n: u64,
    scope: String,
}

impl Names {
    /// What generated names look like, for canonicalising them in comparisons.
    pub fn pattern() -> regex::Regex {
        regex::Regex::new("kc[0-9a-z]{8}").expect("static regex")
    }

    pub fn new(seed: u64, scope: &str) -> Self {
        Self {
            seed,
            n: 0,
            scope: scope.into(),
        }
    }
    pub fn fresh(&mut self) -> String {
        use sha2::{Digest, Sha256};
        self.n += 1;
        let h = Sha256::digest(format!("{}|{}|{}", self.seed, self.scope, self.n));
        let mut s = String::from("kc");
        for b in &h[..8] {
            s.push(char::from_digit((*b % 36) as u32, 36).expect("digit < 36"));
        }
        s
    }
}

pub async fn run(
    set: &SpecSet,
    client: &Client,
    opts: &RunOptions,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<RunOutcome, RunError> {
    let started = Instant::now();
    for v in &opts.versions {
        if !set.docs.contains_key(v) {
            return Err(RunError::Config(format!(
                "version {v} is not in {} (have: {})",
                set.dir.display(),
                set.versions().collect::<Vec<_>>().join(", ")
            )));
        }
    }
    let suites =
        suite::load_dir(&opts.suites_dir).map_err(|e| RunError::Config(format!("{e:#}")))?;
    let generation = generation::Generation::load(&opts.suites_dir.join("generation.json"))
        .map_err(RunError::Config)?;
    for s in &opts.suites {
        if s != "generated" && !suites.iter().any(|x| &x.name == s) {
            let names: Vec<&str> = suites.iter().map(|x| x.name.as_str()).collect();
            return Err(RunError::Config(format!(
                "unknown suite '{s}' (have: generated, {})",
                names.join(", ")
            )));
        }
    }
    let wanted = |name: &str| opts.suites.is_empty() || opts.suites.iter().any(|s| s == name);
    let latest = set.docs.values().last().expect("a spec set has versions");
    let mut recorder = Recorder::new(opts.seed, opts.selection.clone(), secret_fields(latest));
    if opts.capture {
        recorder = recorder.with_transcript();
    }
    recorder = recorder.with_stop(opts.max_failures, opts.known_failures.iter().cloned());
    if let Some(flag) = &opts.interrupt {
        recorder = recorder.with_interrupt(flag.clone());
    }
    recorder = recorder.with_progress(progress.cloned());

    // Reachability first: a target that does not answer is not a conformance finding.
    let probe = Request {
        method: "GET".into(),
        path: "/".into(),
        query: vec![],
        headers: vec![],
        body: None,
        auth: Auth::Signed,
    };
    if let Err(e) = client.send(&probe).await {
        if e.is_connect() || matches!(e, crate::target::http::Transport::Timeout(_)) {
            return Err(RunError::Unreachable(e.to_string()));
        }
    }

    let schema_sets: BTreeMap<&String, SchemaSet> = set
        .docs
        .iter()
        .map(|(v, d)| (v, SchemaSet::new(d)))
        .collect();
    let all_ops: BTreeMap<String, (String, String)> = set
        .docs
        .values()
        .flat_map(|d| {
            crate::spec::changes::operations(d)
                .into_iter()
                .map(|(id, (m, p, _))| (id, (m, p)))
        })
        .collect();
    let ctxs: Vec<VersionCtx> = opts
        .versions
        .iter()
        .map(|v| {
            let doc = &set.docs[v];
            VersionCtx {
                version: v.clone(),
                doc,
                schemas: &schema_sets[v],
                ops: crate::spec::changes::operations(doc),
                version_header: version_header(doc),
                client,
                recorder: &recorder,
                seed: opts.seed,
                cases: opts.cases,
                concurrency: opts.concurrency.max(1),
                case_filter: opts.case_filter.clone(),
                expected_statuses: &generation.expected_statuses,
                name_salt: opts.name_salt.clone(),
                partition: opts.partition,
            }
        })
        .collect();
    let pairs: Vec<(&str, &VersionCtx)> = ctxs.iter().map(|c| (c.version.as_str(), c)).collect();
    for s in &suites {
        suite::validate_against(s, &pairs).map_err(|e| RunError::Config(e.to_string()))?;
    }
    generation.validate(&all_ops).map_err(RunError::Config)?;

    let mut suites_run = Vec::new();
    if wanted("generated") {
        suites_run.push("generated".to_string());
    }
    suites_run.extend(
        suites
            .iter()
            .filter(|s| wanted(&s.name))
            .map(|s| s.name.clone()),
    );

    // Versions run one after another (they share the target's state); inside a version,
    // cases run concurrently.
    for ctx in &ctxs {
        if let Some(p) = progress {
            p.set_message(format!(
                "version {}: {} requests so far",
                ctx.version,
                recorder.requests()
            ));
        }
        let replaying_suite = ctx
            .case_filter
            .as_deref()
            .is_some_and(|f| f.contains("/suite/"));
        if wanted("generated") && !replaying_suite {
            generation.run(ctx).await;
            absent_operations(ctx, &all_ops).await;
        }
        // Suites are independent of each other (each creates its own resources), so they
        // run concurrently; each one's steps stay in order.
        let jobs = suites
            .iter()
            .filter(|s| wanted(&s.name) && ctx.in_partition(&format!("suite/{}", s.name)))
            .map(|s| async move {
                let mut names = ctx.names(&format!("suite/{}", s.name));
                let mut unique = || names.fresh();
                suite::run_suite(s, ctx, &mut unique).await;
            });
        futures::future::join_all(jobs).await;
    }
    let stopped_early = recorder.exhausted();
    Ok(RunOutcome {
        stopped_early,
        recorder,
        elapsed: started.elapsed(),
        versions: opts.versions.clone(),
        suites_run,
    })
}

/// Operations other versions document but this one does not must not be served.
async fn absent_operations(ctx: &VersionCtx<'_>, all: &BTreeMap<String, (String, String)>) {
    for (id, (method, path)) in all.iter().filter(|(id, _)| !ctx.ops.contains_key(*id)) {
        let case = format!("{}/{id}/absent/0", ctx.version);
        if !ctx.wants(&case) || !ctx.in_partition(id) {
            continue;
        }
        let filled = fill_path_placeholders(path);
        let headers = ctx.version_header.iter().cloned().collect();
        let req = Request {
            method: method.clone(),
            path: filled,
            query: vec![],
            headers,
            body: None,
            auth: Auth::Signed,
        };
        ctx.recorder.count_request();
        let label = format!("{id} is not part of version {}", ctx.version);
        match ctx.client.send(&req).await {
            Ok(resp) => {
                let mut f = Vec::new();
                if resp.status != 404 {
                    f.push(Failure::new(
                        "version_shape",
                        format!("404: {id} does not exist in {}", ctx.version),
                        format!("{}", resp.status),
                    ));
                }
                if resp.status >= 500 {
                    f.push(Failure::new(
                        "not_a_server_error",
                        "a status below 500",
                        format!("{}", resp.status),
                    ));
                }
                ctx.recorder.record(
                    ctx.client,
                    &ctx.version,
                    id,
                    &case,
                    &label,
                    &req,
                    Some(&resp),
                    &["version_shape", "not_a_server_error"],
                    f,
                );
            }
            Err(e) => ctx.recorder.record(
                ctx.client,
                &ctx.version,
                id,
                &case,
                &label,
                &req,
                None,
                &[],
                vec![Failure::new(
                    "not_a_server_error",
                    "a response",
                    e.to_string(),
                )],
            ),
        }
    }
}

/// `{key_id}` → a well-formed id that names nothing (32 zeros).
pub fn fill_path_placeholders(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        match rest[i..].find('}') {
            Some(j) => {
                out.push_str("00000000000000000000000000000000");
                rest = &rest[i + j + 1..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}
