//! Spec-generated cases per operation: valid requests (proptest, shrunk on failure), single-
//! fault invalid requests, and bad-auth requests. What the spec cannot say (which key a path
//! names, which names must be unique, what to clean up) comes from `suites/<api>/generation.json`.

use super::suite::{run_step, Step};
use super::template::{render, text, Bindings};
use super::{Names, VersionCtx};
use crate::case::{self, GeneratedRequest, OperationSchema};
use crate::check::response::Claim;
use crate::check::Failure;
use crate::target::http::{Auth, Body, Request};
use proptest::strategy::ValueTree;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Generation {
    #[serde(rename = "$comment", default)]
    pub comment: Option<Value>,
    /// Steps run once per version before any case; their bindings are visible to all cases.
    #[serde(default)]
    pub setup: Vec<Step>,
    #[serde(default)]
    pub operations: BTreeMap<String, OperationConfig>,
    /// Per-operation expected-status overrides: statuses `status_code_conformance` accepts
    /// beyond the documented ones (e.g. a target known to answer 409 for duplicates).
    #[serde(default)]
    pub expected_statuses: BTreeMap<String, Vec<u16>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationConfig {
    #[serde(rename = "$comment", default)]
    pub comment: Option<Value>,
    /// Path parameter values (templates over the setup bindings).
    #[serde(default)]
    pub path: Map<String, Value>,
    /// Steps run before each valid case (e.g. a fresh resource the case may change).
    #[serde(default)]
    pub fresh: Vec<Step>,
    /// Whether a schema-valid request must be accepted (false where validity needs more
    /// than the schema can say, e.g. a real ciphertext); `why` says so.
    #[serde(default = "yes")]
    pub positive: bool,
    #[serde(default)]
    pub why: Option<String>,
    /// Body pointers whose values must be unique per request (e.g. a resource name).
    #[serde(default)]
    pub unique: Vec<String>,
    /// name → pointer bound from each valid case's response, for `cleanup`.
    #[serde(default)]
    pub cleanup_bind: BTreeMap<String, String>,
    #[serde(default)]
    pub cleanup: Vec<Step>,
}

fn yes() -> bool {
    true
}

impl Generation {
    pub fn load(path: &Path) -> Result<Self, String> {
        if !path.exists() && crate::bundled::read(path).is_none() {
            return Ok(Self::default());
        }
        let t = crate::bundled::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&t).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Every configured operation must exist in some version of the spec.
    pub fn validate<T>(&self, all_ops: &BTreeMap<String, T>) -> Result<(), String> {
        for id in self.operations.keys().chain(self.expected_statuses.keys()) {
            if !all_ops.contains_key(id) {
                return Err(format!(
                    "generation.json configures '{id}', which no version of the spec documents"
                ));
            }
        }
        Ok(())
    }

    pub async fn run(&self, ctx: &VersionCtx<'_>) {
        use futures::StreamExt;
        let mut names = ctx.names("generated");
        let mut b = Bindings::new();
        for (i, st) in self.setup.iter().enumerate() {
            if st
                .versions
                .as_ref()
                .is_some_and(|v| !v.contains(&ctx.version))
            {
                continue;
            }
            b.insert("unique".into(), Value::String(names.fresh()));
            let case = format!("{}/setup/{}", ctx.version, i + 1);
            let label = st
                .name
                .clone()
                .unwrap_or_else(|| format!("setup step {}", i + 1));
            if let Err(e) = run_step(st, ctx, &mut b, &case, &label).await {
                let req = Request::not_sent();
                ctx.recorder.record(
                    ctx.client,
                    &ctx.version,
                    "setup",
                    &case,
                    &label,
                    &req,
                    None,
                    &[],
                    vec![Failure::new("resource_availability", "setup succeeds", e)],
                );
                return;
            }
        }
        let ops = case::operations(ctx.doc);
        let default_cfg = OperationConfig {
            comment: None,
            path: Map::new(),
            fresh: vec![],
            positive: true,
            why: None,
            unique: vec![],
            cleanup_bind: BTreeMap::new(),
            cleanup: vec![],
        };
        let filter = ctx.case_filter.clone();
        let jobs = ops
            .iter()
            .enumerate()
            .filter(|(_, op)| {
                filter
                    .as_deref()
                    .is_none_or(|f| f.contains(&format!("/{}/", op.operation_id)))
                    && ctx.in_partition(&op.operation_id)
            })
            .map(|(i, op)| {
                let cfg = self
                    .operations
                    .get(&op.operation_id)
                    .unwrap_or(&default_cfg);
                let names = ctx.names(&format!("{}/{i}", op.operation_id));
                run_operation(ctx, op, cfg, b.clone(), names)
            });
        futures::stream::iter(jobs)
            .buffer_unordered(ctx.concurrency)
            .collect::<Vec<()>>()
            .await;
    }
}

async fn run_operation(
    ctx: &VersionCtx<'_>,
    op: &OperationSchema,
    cfg: &OperationConfig,
    mut b: Bindings,
    mut names: Names,
) {
    let strategy = case::valid_request_strategy(op, ctx.doc);
    let mut runner = case::runner(
        ctx.seed,
        // Not keyed by version: every version gets the same cases, so versions compare.
        &format!("{}/valid", op.operation_id),
    );
    let claim = Claim::Valid {
        expect_accept: cfg.positive,
    };
    let mut first: Option<GeneratedRequest> = None;
    let mut shrunk_once = false;
    for i in 0..ctx.cases {
        let Ok(mut tree) = case::try_draw(&strategy, &mut runner) else {
            break;
        };
        let wanted = ctx.wants(&format!("{}/{}/valid/{i}", ctx.version, op.operation_id));
        if wanted
            && !prepare(
                ctx,
                cfg,
                &mut b,
                &mut names,
                &format!("{}/{}/valid/{i}", ctx.version, op.operation_id),
            )
            .await
        {
            return;
        }
        let unique: Vec<String> = cfg.unique.iter().map(|_| names.fresh()).collect();
        let g = tree.current();
        let case_id = format!("{}/{}/valid/{i}", ctx.version, op.operation_id);
        if !ctx.wants(&case_id) {
            if first.is_none() {
                while tree.simplify() {}
                first = Some(tree.current());
            }
            continue;
        }
        let Some(req) = to_request(ctx, op, cfg, &b, &g, &unique, None) else {
            return;
        };
        let (failures, resp) = send(ctx, &op.operation_id, &req, claim).await;
        let rejected = failures
            .iter()
            .any(|f| f.check == "positive_data_acceptance");
        if rejected && !shrunk_once {
            // Shrink: keep simplifying while the simpler request is still refused.
            shrunk_once = true;
            let mut best = (req.clone(), failures.clone(), resp.clone(), g.label.clone());
            // proptest's shrinking loop: a still-failing candidate is simplified further, a
            // passing one is complicated back; each new current value is tested.
            let mut more = tree.simplify();
            let mut budget = 256;
            while more && budget > 0 {
                budget -= 1;
                let cand = tree.current();
                // The simpler request must still satisfy the spec, or it proves nothing.
                let still_valid = match (&op.body, &cand.body) {
                    (Some(schema), Some(body)) => ctx
                        .schemas
                        .errors(schema, body)
                        .map(|e| e.is_empty())
                        .unwrap_or(false),
                    _ => true,
                };
                let mut fails = false;
                if still_valid {
                    // Each candidate is a request of its own: fresh unique values, cleaned up.
                    let fresh: Vec<String> = cfg.unique.iter().map(|_| names.fresh()).collect();
                    let Some(creq) = to_request(ctx, op, cfg, &b, &cand, &fresh, None) else {
                        break;
                    };
                    let (cf, cr) = send(ctx, &op.operation_id, &creq, claim).await;
                    cleanup(
                        ctx,
                        cfg,
                        &mut b,
                        cr.as_ref()
                            .filter(|r| r.status < 300)
                            .and_then(|r| r.json.as_ref()),
                        &case_id,
                    )
                    .await;
                    fails = cf.iter().any(|f| f.check == "positive_data_acceptance");
                    if fails {
                        best = (creq, cf, cr, cand.label.clone());
                    }
                }
                more = if fails {
                    tree.simplify()
                } else {
                    tree.complicate()
                };
            }
            let (r, f, resp, label) = best;
            let applied = applied_for(claim);
            ctx.recorder.record(
                ctx.client,
                &ctx.version,
                &op.operation_id,
                &case_id,
                &format!("valid request (shrunk): {label}"),
                &r,
                resp.as_ref(),
                &applied,
                f,
            );
        } else {
            let applied = applied_for(claim);
            ctx.recorder.record(
                ctx.client,
                &ctx.version,
                &op.operation_id,
                &case_id,
                &format!("valid request: {}", g.label),
                &req,
                resp.as_ref(),
                &applied,
                failures,
            );
        }
        cleanup(
            ctx,
            cfg,
            &mut b,
            resp.as_ref().and_then(|r| r.json.as_ref()),
            &case_id,
        )
        .await;
        if first.is_none() {
            // The base for single-fault mutations: the simplest valid request.
            while tree.simplify() {}
            first = Some(tree.current());
        }
    }
    let Some(base) = first else { return };
    let unique: Vec<String> = cfg.unique.iter().map(|_| names.fresh()).collect();
    let invalid = case::invalid_requests(op, ctx.doc, &base, ctx.schemas);
    let needs_fresh = invalid
        .iter()
        .enumerate()
        .any(|(j, _)| ctx.wants(&format!("{}/{}/invalid/{j}", ctx.version, op.operation_id)))
        || (0..3).any(|k| ctx.wants(&format!("{}/{}/auth/{k}", ctx.version, op.operation_id)));
    if needs_fresh
        && ctx.case_filter.is_some()
        && !prepare(
            ctx,
            cfg,
            &mut b,
            &mut names,
            &format!("{}/{}/invalid", ctx.version, op.operation_id),
        )
        .await
    {
        return;
    }
    for (j, g) in invalid.iter().enumerate() {
        if !ctx.wants(&format!("{}/{}/invalid/{j}", ctx.version, op.operation_id)) {
            continue;
        }
        let Some(req) = to_request(ctx, op, cfg, &b, g, &unique, Some(&base)) else {
            continue;
        };
        let case_id = format!("{}/{}/invalid/{j}", ctx.version, op.operation_id);
        let label = format!("invalid request: {}", g.label);
        send_record_cleanup(ctx, op, cfg, &mut b, &case_id, &label, &req, Claim::Invalid).await;
    }
    // Boundary values (lengths at their bounds, each enum member, bounds of numbers): valid,
    // so they must be accepted where valid requests are.
    if let (Some(schema), Some(body)) = (&op.body, &base.body) {
        let claim = Claim::Valid {
            expect_accept: cfg.positive,
        };
        for (j, (label, inst)) in case::boundary_instances(schema, ctx.doc, body)
            .into_iter()
            .enumerate()
        {
            let case_id = format!("{}/{}/boundary/{j}", ctx.version, op.operation_id);
            if !ctx.wants(&case_id) {
                continue;
            }
            if !prepare(ctx, cfg, &mut b, &mut names, &case_id).await {
                return;
            }
            let mut inst = inst;
            // A unique field at a length bound gets a fresh value of that length.
            for ptr in &cfg.unique {
                let differs = body.pointer(ptr) != inst.pointer(ptr);
                if let (true, Some(Value::String(v))) = (differs, inst.pointer_mut(ptr)) {
                    let short = Names::new(ctx.seed, &format!("boundary/{}/{j}", op.operation_id));
                    *v = fresh_of_len(&mut names, short, v.chars().count());
                }
            }
            let g = GeneratedRequest {
                body: Some(inst),
                label: format!("boundary {label}"),
                ..base.clone()
            };
            let Some(req) = to_request(ctx, op, cfg, &b, &g, &unique, Some(&base)) else {
                continue;
            };
            send_record_cleanup(ctx, op, cfg, &mut b, &case_id, &g.label, &req, claim).await;
        }
    }
    for (k, auth) in [Auth::Unsigned, Auth::WrongSignature, Auth::StaleTimestamp]
        .into_iter()
        .enumerate()
    {
        let case_id = format!("{}/{}/auth/{k}", ctx.version, op.operation_id);
        if !ctx.wants(&case_id) {
            continue;
        }
        let Some(mut req) = to_request(ctx, op, cfg, &b, &base, &unique, None) else {
            continue;
        };
        req.auth = auth;
        let label = format!("{auth:?} request");
        send_record_cleanup(ctx, op, cfg, &mut b, &case_id, &label, &req, Claim::BadAuth).await;
    }
}

/// Send one case, record it under its claim, and clean up what an accepted request created.
#[allow(clippy::too_many_arguments)]
async fn send_record_cleanup(
    ctx: &VersionCtx<'_>,
    op: &OperationSchema,
    cfg: &OperationConfig,
    b: &mut Bindings,
    case_id: &str,
    label: &str,
    req: &Request,
    claim: Claim,
) {
    let (f, resp) = send(ctx, &op.operation_id, req, claim).await;
    ctx.recorder.record(
        ctx.client,
        &ctx.version,
        &op.operation_id,
        case_id,
        label,
        req,
        resp.as_ref(),
        &applied_for(claim),
        f,
    );
    let created = resp
        .as_ref()
        .filter(|r| r.status < 300)
        .and_then(|r| r.json.as_ref());
    cleanup(ctx, cfg, b, created, case_id).await;
}

fn applied_for(claim: Claim) -> Vec<&'static str> {
    let mut a = vec![
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "version_shape",
    ];
    match claim {
        Claim::Valid {
            expect_accept: true,
        } => a.push("positive_data_acceptance"),
        Claim::Invalid => a.push("negative_data_rejection"),
        Claim::BadAuth => a.push("ignored_auth"),
        _ => {}
    }
    a
}

/// Run the operation's `fresh` steps; false when they fail (recorded by the step itself).
async fn prepare(
    ctx: &VersionCtx<'_>,
    cfg: &OperationConfig,
    b: &mut Bindings,
    names: &mut Names,
    case: &str,
) -> bool {
    for (i, st) in cfg.fresh.iter().enumerate() {
        b.insert("unique".into(), Value::String(names.fresh()));
        if run_step(st, ctx, b, &format!("{case}/fresh/{i}"), "fresh resource")
            .await
            .is_err()
        {
            return false;
        }
    }
    true
}

async fn cleanup(
    ctx: &VersionCtx<'_>,
    cfg: &OperationConfig,
    b: &mut Bindings,
    body: Option<&Value>,
    case: &str,
) {
    let Some(body) = body else { return };
    if cfg.cleanup.is_empty() {
        return;
    }
    for (name, ptr) in &cfg.cleanup_bind {
        match body.pointer(ptr) {
            Some(v) => {
                b.insert(name.clone(), v.clone());
            }
            None => return,
        }
    }
    for (i, st) in cfg.cleanup.iter().enumerate() {
        let _ = run_step(st, ctx, b, &format!("{case}/cleanup/{i}"), "cleanup").await;
    }
}

/// `base`: for a mutated request, the valid request it came from; a unique field the
/// mutation changed keeps its (invalid) value.
fn to_request(
    ctx: &VersionCtx,
    op: &OperationSchema,
    cfg: &OperationConfig,
    b: &Bindings,
    g: &GeneratedRequest,
    unique: &[String],
    base: Option<&GeneratedRequest>,
) -> Option<Request> {
    let mut path = op.path.clone();
    for (name, generated) in &g.path_params {
        let v = match cfg.path.get(name) {
            Some(t) => text(&render(t, b).ok()?),
            None => generated.clone(),
        };
        path = path.replace(&format!("{{{name}}}"), &crate::target::http::encode(&v));
    }
    let mut body = g.body.clone();
    if let Some(body) = body.as_mut() {
        for (ptr, u) in cfg.unique.iter().zip(unique) {
            let mutated = base.is_some_and(|bs| {
                bs.body.as_ref().and_then(|x| x.pointer(ptr))
                    != Some(&*body).and_then(|x| x.pointer(ptr))
            });
            if mutated {
                continue;
            }
            if let Some(slot) = body.pointer_mut(ptr) {
                if slot.is_string() {
                    *slot = Value::String(u.clone());
                }
            }
        }
    }
    let body = match (&g.raw_body, body) {
        (Some(r), _) => Some(Body::Raw(r.clone())),
        (None, Some(v)) => Some(Body::Json(v)),
        (None, None) => None,
    };
    Some(Request {
        method: op.method.clone(),
        path,
        query: g.query.clone(),
        headers: ctx.version_header.iter().cloned().collect(),
        body,
        auth: Auth::Signed,
    })
}

async fn send(
    ctx: &VersionCtx<'_>,
    op_id: &str,
    req: &Request,
    claim: Claim,
) -> (Vec<Failure>, Option<crate::target::http::Response>) {
    let Some((_, _, op)) = ctx.ops.get(op_id) else {
        return (vec![], None);
    };
    ctx.recorder.count_request();
    match ctx.client.send(req).await {
        Ok(resp) => {
            let mut f = Vec::new();
            crate::check::response::check_response(
                ctx.schemas,
                op,
                ctx.also_allowed(op_id),
                claim,
                &resp,
                &mut f,
            );
            (f, Some(resp))
        }
        Err(e) => (
            vec![Failure::new(
                "not_a_server_error",
                "a response",
                e.to_string(),
            )],
            None,
        ),
    }
}

/// A fresh lower-case alphanumeric value of exactly `len` characters. From 10 characters
/// on it is a generated name padded with `z` (so comparisons canonicalise it); shorter ones
/// come from `short`, which does not depend on the version (such a key is deleted at once).
fn fresh_of_len(names: &mut Names, mut short: Names, len: usize) -> String {
    let mut s = if len >= 10 {
        names.fresh()
    } else {
        short.fresh()[2..].to_string()
    };
    while s.len() < len {
        s.push('z');
    }
    s.truncate(len);
    s
}
