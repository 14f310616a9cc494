//! Spec-generated cases per operation: valid requests (proptest, shrunk on failure),
//! single-fault invalid requests, boundary values, unknown ids, and bad-auth requests. What
//! the spec cannot say (which resource a path names, which names must be unique, what to
//! clean up) comes from `suites/<api>/generation.json`. Each claim carries its basis: a
//! valid request is only as expected as the weakest constraint its values rest on; an
//! invalid one is as expected as the constraint it breaks.

use super::record::{Observation, Outcome};
use super::suite::{run_step, Step};
use super::template::{render, text, Bindings};
use super::{Names, VersionCtx};
use crate::case::{self, GeneratedRequest, OperationSchema, ViolationSite};
use crate::check::response::Claim;
use crate::check::{Basis, Verdicts};
use crate::spec::basis::{self as spec_basis, Constraint};
use crate::target::http::{Auth, Body, Request, Response};
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
    /// Per-operation statuses `status_code_conformance` accepts beyond the documented ones
    /// (e.g. a target known to answer 409 for duplicates).
    #[serde(default)]
    pub expected_statuses: BTreeMap<String, Vec<u16>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
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
    /// Fixed query values (templates over the setup bindings), in place of generated ones.
    #[serde(default)]
    pub query: Map<String, Value>,
    /// Fixed body values: JSON pointer → template over the setup bindings, in place of
    /// generated ones (e.g. the id of a fixture a body names). Mutations may still change
    /// them; boundary values that would vary them are not sent.
    #[serde(default)]
    pub body: Map<String, Value>,
    /// Send no generated case for this operation, and say why (e.g. it changes the whole
    /// mount's configuration).
    #[serde(default)]
    pub skip: Option<String>,
}

fn yes() -> bool {
    true
}

impl Generation {
    /// Loads and validates `generation.json`; a missing file means no configuration.
    pub fn load(path: &Path) -> Result<Self, String> {
        if !path.exists() && crate::bundled::read(path).is_none() {
            return Ok(Self::default());
        }
        let t = crate::bundled::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let g: Self = serde_json::from_str(&t).map_err(|e| format!("{}: {e}", path.display()))?;
        let all_steps = g
            .setup
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("setup step {}", i + 1), s))
            .chain(g.operations.iter().flat_map(|(id, c)| {
                c.fresh
                    .iter()
                    .chain(c.cleanup.iter())
                    .enumerate()
                    .map(move |(i, s)| (format!("operations.{id} step {}", i + 1), s))
            }));
        for (what, s) in all_steps {
            s.validate(&what)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        for (id, c) in &g.operations {
            if let Some(p) = c.body.keys().find(|p| !p.starts_with('/')) {
                return Err(format!(
                    "{}: operations.{id}.body: '{p}' is not a JSON pointer (it starts with /)",
                    path.display()
                ));
            }
            if !c.positive && c.why.is_none() {
                return Err(format!(
                    "{}: operations.{id}: positive false needs a why",
                    path.display()
                ));
            }
        }
        Ok(g)
    }

    /// The variables the configuration uses that nothing in it binds: fixtures the run must
    /// supply (`--param`, or the embedded reference's own).
    pub fn free_variables(&self) -> std::collections::BTreeSet<String> {
        use super::template::names_used;
        let (mut used, mut bound) = Default::default();
        let (u, b): (
            &mut std::collections::BTreeSet<String>,
            &mut std::collections::BTreeSet<String>,
        ) = (&mut used, &mut bound);
        b.insert("unique".into());
        self.setup.iter().for_each(|st| st.variables(u, b));
        for c in self.operations.values().filter(|c| c.skip.is_none()) {
            for v in c
                .path
                .values()
                .chain(c.query.values())
                .chain(c.body.values())
            {
                names_used(v, u);
            }
            c.fresh
                .iter()
                .chain(&c.cleanup)
                .for_each(|st| st.variables(u, b));
            b.extend(c.cleanup_bind.keys().cloned());
        }
        used.difference(&bound).cloned().collect()
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
        // No operation of this version selected (--include/--exclude-operation): no setup.
        if !ctx
            .spec
            .operations
            .iter()
            .any(|o| ctx.operations.allows(&o.operation_id))
        {
            return;
        }
        let mut names = ctx.names("generated");
        let mut b = ctx.params.clone();
        let mut setup_failed: Option<String> = None;
        for (i, st) in self.setup.iter().enumerate() {
            if st
                .versions
                .as_ref()
                .is_some_and(|v| !v.contains(&ctx.version))
            {
                continue;
            }
            if ctx.recorder.exhausted() {
                return;
            }
            b.insert("unique".into(), Value::String(names.fresh()));
            let case = format!("{}/setup/{}", ctx.version, i + 1);
            let label = st
                .name
                .clone()
                .unwrap_or_else(|| format!("setup step {}", i + 1));
            if let Err(e) = run_step(st, ctx, &mut b, &case, &label).await {
                // Cases that need what setup makes are skipped (and said so); the others
                // still run.
                setup_failed = Some(format!("setup failed at '{label}': {e}"));
                break;
            }
        }
        let default_cfg = OperationConfig {
            positive: true,
            ..Default::default()
        };
        let setup_failed = setup_failed.as_deref();
        for op in ctx
            .spec
            .operations
            .iter()
            .filter(|o| ctx.operations.allows(&o.operation_id))
        {
            if let Some(why) = self
                .operations
                .get(&op.operation_id)
                .and_then(|c| c.skip.as_ref())
            {
                if ctx.wants_prefix(&format!("{}/{}", ctx.version, op.operation_id)) {
                    ctx.recorder
                        .skip(&ctx.version, &op.operation_id, "generated", why, 1);
                }
            }
        }
        let jobs = ctx
            .spec
            .operations
            .iter()
            .enumerate()
            .filter(|(_, op)| {
                ctx.wants_prefix(&format!("{}/{}", ctx.version, op.operation_id))
                    && ctx.operations.allows(&op.operation_id)
                    && ctx.in_partition(&op.operation_id)
                    && self
                        .operations
                        .get(&op.operation_id)
                        .is_none_or(|c| c.skip.is_none())
            })
            .map(|(i, op)| {
                let cfg = self
                    .operations
                    .get(&op.operation_id)
                    .unwrap_or(&default_cfg);
                let names = ctx.names(&format!("{}/{i}", op.operation_id));
                run_operation(ctx, op, cfg, b.clone(), names, setup_failed)
            });
        futures::stream::iter(jobs)
            .buffer_unordered(ctx.concurrency)
            .collect::<Vec<()>>()
            .await;
    }
}

impl Generation {
    /// The cases `run` would send on `ctx`'s version, without sending (`--list-cases`):
    /// setup steps, then per selected operation its valid, invalid, unknown-id, boundary
    /// and bad-auth cases. Path values that setup steps bind are printed as templates.
    pub fn list(&self, ctx: &VersionCtx<'_>) -> Vec<super::list::Listed> {
        use super::list::{fill_path, query_suffix, Listed};
        let mut out = Vec::new();
        let selected: Vec<&OperationSchema> = ctx
            .spec
            .operations
            .iter()
            .filter(|op| {
                ctx.wants_prefix(&format!("{}/{}", ctx.version, op.operation_id))
                    && ctx.operations.allows(&op.operation_id)
                    && ctx.in_partition(&op.operation_id)
                    && self
                        .operations
                        .get(&op.operation_id)
                        .is_none_or(|c| c.skip.is_none())
            })
            .collect();
        // Setup goes out as in `run`: whenever the filter leaves this version any operation.
        if !ctx
            .spec
            .operations
            .iter()
            .any(|o| ctx.operations.allows(&o.operation_id))
        {
            return out;
        }
        let b = ctx.params.clone();
        let v = &ctx.version;
        for (i, st) in self.setup.iter().enumerate() {
            if st.versions.as_ref().is_some_and(|x| !x.contains(v)) {
                continue;
            }
            // Sent as the run sends them: whatever the case filter (a replay needs them).
            let case = format!("{v}/setup/{}", i + 1);
            out.push(super::suite::list_step(
                st,
                ctx,
                &b,
                case,
                st.name
                    .clone()
                    .unwrap_or_else(|| format!("setup step {}", i + 1)),
            ));
        }
        let default_cfg = OperationConfig {
            positive: true,
            ..Default::default()
        };
        for op in selected {
            let cfg = self
                .operations
                .get(&op.operation_id)
                .unwrap_or(&default_cfg);
            let id = &op.operation_id;
            let path_of = |g: &GeneratedRequest, unknown: bool| {
                let mut values = serde_json::Map::new();
                for (name, generated) in &g.path_params {
                    let val = if unknown {
                        Value::String(ctx.profile.unknown_id.clone())
                    } else {
                        cfg.path
                            .get(name)
                            .cloned()
                            .unwrap_or_else(|| Value::String(generated.clone()))
                    };
                    values.insert(name.clone(), val);
                }
                format!(
                    "{}{}",
                    fill_path(op.path.clone(), &values, &b),
                    query_suffix(&g.query)
                )
            };
            let fields = &ctx.profile.secrets.fields;
            let mut push = |case: String, g: &GeneratedRequest, unknown: bool, label: String| {
                if ctx.wants(&case) {
                    out.push(Listed {
                        case,
                        method: op.method.clone(),
                        path: path_of(g, unknown),
                        body: super::list::body_summary(
                            g.body.as_ref(),
                            g.raw_body.as_deref(),
                            fields,
                        ),
                        label,
                    });
                }
            };
            let strategy = case::valid_request_strategy(op, &ctx.spec.doc);
            let mut runner = case::runner(ctx.seed, &format!("{id}/valid"));
            for i in 0..ctx.cases {
                let Ok(tree) = draw_valid(ctx, op, &strategy, &mut runner) else {
                    break;
                };
                let g = with_fixed_values(cfg, &b, tree.current());
                push(
                    format!("{v}/{id}/valid/{i}"),
                    &g,
                    false,
                    format!("valid request: {}", g.label),
                );
            }
            let with_body = OperationSchema {
                body_required: op.body.is_some(),
                ..op.clone()
            };
            let base_strategy = case::valid_request_strategy(&with_body, &ctx.spec.doc);
            let first = draw_valid(
                ctx,
                op,
                &base_strategy,
                &mut case::runner(ctx.seed, &format!("{id}/valid")),
            )
            .ok()
            .map(|mut t| {
                let drawn = t.current();
                while t.simplify() {}
                let simplest = t.current();
                if body_valid(ctx, op, &simplest) {
                    simplest
                } else {
                    drawn
                }
            });
            let Some(base) = first.map(|g| with_fixed_values(cfg, &b, g)) else {
                continue;
            };
            let invalid = case::invalid_requests(op, &ctx.spec.doc, &base, &ctx.spec.schemas);
            for (j, g) in invalid.iter().enumerate() {
                if g.raw_body.as_deref() == Some("null")
                    && !op.body_required
                    && ctx.profile.null_body.is_some()
                {
                    continue;
                }
                push(
                    format!("{v}/{id}/invalid/{j}"),
                    g,
                    false,
                    format!("invalid request: {}", g.label),
                );
            }
            if op.path.contains('{') && !ctx.profile.upserts(id) {
                push(
                    format!("{v}/{id}/unknown/0"),
                    &base,
                    true,
                    "request naming an unknown id".into(),
                );
            }
            if let (Some(schema), Some(body)) = (&op.body, &base.body) {
                let fixed = fixed_body(cfg, &b);
                let boundaries: Vec<_> = case::boundary_instances(schema, &ctx.spec.doc, body)
                    .into_iter()
                    .filter(|(_, inst)| ctx.spec.schemas.is_valid(schema, inst))
                    .filter(|(_, inst)| fixed.iter().all(|(p, v)| inst.pointer(p) == Some(v)))
                    .collect();
                for (j, (label, inst)) in boundaries.into_iter().enumerate() {
                    let g = GeneratedRequest {
                        body: Some(inst),
                        label: format!("boundary {label}"),
                        ..base.clone()
                    };
                    push(format!("{v}/{id}/boundary/{j}"), &g, false, g.label.clone());
                }
            }
            for (k, auth) in ctx.client.signer().negative_cases().iter().enumerate() {
                push(
                    format!("{v}/{id}/auth/{k}"),
                    &base,
                    false,
                    format!("{auth:?} request"),
                );
            }
        }
        out
    }
}

/// The basis of "this valid request must be accepted": the weakest constraint any of its
/// values rests on (a value inside an assumed bound is only as expected as that bound).
fn valid_basis(ctx: &VersionCtx, op: &OperationSchema, g: &GeneratedRequest) -> Basis {
    let doc = &ctx.spec.doc;
    let mut basis = spec_basis::of_operation(doc, op);
    if let (Some(schema), Some(body)) = (&op.body, &g.body) {
        let fallback = basis.clone();
        let mut pointers = Vec::new();
        instance_pointers(body, String::new(), &mut pointers);
        for p in pointers {
            basis = basis.weakest(spec_basis::of_instance(
                doc,
                schema,
                &p,
                Constraint::All,
                &fallback,
            ));
        }
    }
    for (name, _) in &g.query {
        if let Some(p) = op.params.iter().find(|p| &p.name == name) {
            let b = spec_basis::annotation(&p.raw).unwrap_or_else(|| {
                spec_basis::of_instance(doc, &p.schema, "", Constraint::All, &basis)
            });
            basis = basis.weakest(b);
        }
    }
    basis
}

/// Whether a generated request's body satisfies the spec (no body: yes).
fn body_valid(ctx: &VersionCtx, op: &OperationSchema, g: &GeneratedRequest) -> bool {
    match (&op.body, &g.body) {
        (Some(schema), Some(body)) => ctx.spec.schemas.is_valid(schema, body),
        _ => true,
    }
}

/// A valid request's value tree: drawn again while the spec's validator refuses its body
/// (the generator does not honour every keyword, e.g. if/then); Err after 100 refusals.
fn draw_valid(
    ctx: &VersionCtx,
    op: &OperationSchema,
    strategy: &proptest::strategy::BoxedStrategy<GeneratedRequest>,
    runner: &mut proptest::test_runner::TestRunner,
) -> Result<Box<dyn ValueTree<Value = GeneratedRequest>>, String> {
    for _ in 0..100 {
        let tree = case::try_draw(strategy, runner)?;
        if body_valid(ctx, op, &tree.current()) {
            return Ok(tree);
        }
    }
    Err("100 drawn requests in a row broke the schema".into())
}

/// Every location in an instance ("" for the root).
fn instance_pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                instance_pointers(
                    x,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                instance_pointers(x, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// The basis of "this invalid request must be refused": that of the constraint it breaks.
/// The validator names the keywords the value actually violates; where several do, the
/// strongest ground wins (one documented violation is enough). A violation JSON Schema
/// does not assert (e.g. contentEncoding) falls back to the keyword the case names.
fn invalid_basis(ctx: &VersionCtx, op: &OperationSchema, g: &GeneratedRequest) -> Basis {
    let doc = &ctx.spec.doc;
    let of_op = spec_basis::of_operation(doc, op);
    let strongest = |schema: &Value, instance: &Value| -> Option<Basis> {
        let errs = ctx.spec.schemas.located_errors(schema, instance).ok()?;
        errs.iter()
            .map(|e| spec_basis::of_keyword(doc, schema, &e.schema_path, &of_op))
            .max_by_key(|b| b.kind)
    };
    match &g.violation {
        Some(ViolationSite::Body { pointer, keyword }) => match (&op.body, &g.body) {
            (Some(schema), Some(body)) => strongest(schema, body).unwrap_or_else(|| {
                spec_basis::of_instance(doc, schema, pointer, Constraint::Keyword(keyword), &of_op)
            }),
            _ => of_op,
        },
        Some(ViolationSite::Query { name, keyword }) => {
            let Some(p) = op.params.iter().find(|p| &p.name == name) else {
                return of_op;
            };
            if let Some(b) = spec_basis::annotation(&p.raw) {
                return b;
            }
            let sent = g
                .query
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str());
            let decoded = sent.map(|t| case::coerce(t, &p.schema, doc));
            decoded
                .and_then(|d| strongest(&p.schema, &d))
                .unwrap_or_else(|| {
                    spec_basis::of_instance(
                        doc,
                        &p.schema,
                        "",
                        Constraint::Keyword(keyword),
                        &of_op,
                    )
                })
        }
        _ => of_op,
    }
}

/// The configuration's fixed query and body values in place of the generated ones.
fn with_fixed_values(
    cfg: &OperationConfig,
    b: &Bindings,
    mut g: GeneratedRequest,
) -> GeneratedRequest {
    for (k, t) in &cfg.query {
        let Ok(v) = render(t, b) else { continue };
        g.query.retain(|(n, _)| n != k);
        if !v.is_null() {
            g.query.push((k.clone(), text(&v)));
        }
    }
    if let Some(body) = g.body.as_mut() {
        for (ptr, v) in fixed_body(cfg, b) {
            set_pointer(body, &ptr, v);
        }
    }
    g
}

/// The configuration's fixed body values, rendered (a template naming a missing binding is
/// left out: the path parameters report the missing fixture).
fn fixed_body(cfg: &OperationConfig, b: &Bindings) -> Vec<(String, Value)> {
    cfg.body
        .iter()
        .filter_map(|(p, t)| render(t, b).ok().map(|v| (p.clone(), v)))
        .collect()
}

/// Sets the value at a JSON pointer, making the objects on the way.
fn set_pointer(root: &mut Value, ptr: &str, v: Value) {
    let mut cur = root;
    let tokens: Vec<String> = ptr
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    for (i, t) in tokens.iter().enumerate() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let obj = cur.as_object_mut().expect("an object");
        if i + 1 == tokens.len() {
            obj.insert(t.clone(), v);
            return;
        }
        cur = obj
            .entry(t.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

/// The path parameters of an operation: from the configuration's templates over the setup
/// bindings, else generated. Err when a template names a binding setup did not make.
fn path_params(
    op: &OperationSchema,
    cfg: &OperationConfig,
    b: &Bindings,
    g: &GeneratedRequest,
) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (name, generated) in &g.path_params {
        let v = match cfg.path.get(name) {
            Some(t) => text(&render(t, b)?),
            None => generated.clone(),
        };
        out.insert(name.clone(), v);
    }
    let _ = op;
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
async fn run_operation(
    ctx: &VersionCtx<'_>,
    op: &OperationSchema,
    cfg: &OperationConfig,
    mut b: Bindings,
    mut names: Names,
    setup_failed: Option<&str>,
) {
    let id = &op.operation_id;
    let v = &ctx.version;
    let strategy = case::valid_request_strategy(op, &ctx.spec.doc);
    // Not keyed by version: every version gets the same cases, so versions compare.
    let mut runner = case::runner(ctx.seed, &format!("{id}/valid"));
    // The base for single-fault mutations and boundary values: the simplest valid request,
    // with its body even where the body is optional (there is nothing to mutate otherwise).
    let with_body = OperationSchema {
        body_required: op.body.is_some(),
        ..op.clone()
    };
    let base_strategy = case::valid_request_strategy(&with_body, &ctx.spec.doc);
    let first: Option<GeneratedRequest> = draw_valid(
        ctx,
        op,
        &base_strategy,
        &mut case::runner(ctx.seed, &format!("{id}/valid")),
    )
    .ok()
    .map(|mut t| {
        let drawn = t.current();
        while t.simplify() {}
        let simplest = t.current();
        if body_valid(ctx, op, &simplest) {
            simplest
        } else {
            drawn
        }
    });
    let mut shrunk_once = false;
    // Why cases that need a real resource cannot run (setup failed, a binding is missing).
    let mut missing: Option<String> = None;
    for i in 0..ctx.cases {
        let Ok(mut tree) = draw_valid(ctx, op, &strategy, &mut runner) else {
            ctx.recorder.skip(
                v,
                id,
                "valid",
                "the request schema cannot be satisfied",
                (ctx.cases - i) as u64,
            );
            break;
        };
        let g = with_fixed_values(cfg, &b, tree.current());
        let case_id = format!("{v}/{id}/valid/{i}");
        b.insert("unique".into(), Value::String(names.fresh()));
        if !ctx.wants(&case_id) {
            continue;
        }
        if !prepare(ctx, cfg, &mut b, &mut names, &case_id).await {
            missing = Some("a fresh resource for the case could not be made".into());
            break;
        }
        if let Err(e) = path_params(op, cfg, &b, &g) {
            missing = Some(setup_failed.map(String::from).unwrap_or(e));
            break;
        }
        let unique: Vec<String> = cfg.unique.iter().map(|_| names.fresh()).collect();
        let Ok(req) = to_request(ctx, op, cfg, &b, &g, &unique, None, false) else {
            continue;
        };
        let claim = Claim::Valid {
            expect_accept: cfg.positive,
            basis: valid_basis(ctx, op, &g),
        };
        let (verdicts, resp) = send(ctx, op, &req, &claim, &case_id).await;
        let rejected = verdicts.has_failed(crate::check::CheckId::PositiveDataAcceptance);
        if rejected && !shrunk_once {
            shrunk_once = true;
            // proptest's shrinking loop: a still-failing candidate is simplified further, a
            // passing one is complicated back; each candidate is a request of its own.
            let mut best = (
                req.clone(),
                verdicts,
                resp.clone(),
                g.label.clone(),
                claim.clone(),
            );
            let mut more = tree.simplify();
            let mut budget = 256;
            while more && budget > 0 && !ctx.recorder.exhausted() {
                budget -= 1;
                let cand = with_fixed_values(cfg, &b, tree.current());
                b.insert("unique".into(), Value::String(names.fresh()));
                // The simpler request must still satisfy the spec, or it proves nothing.
                let still_valid = body_valid(ctx, op, &cand);
                let mut fails = false;
                if still_valid {
                    let fresh: Vec<String> = cfg.unique.iter().map(|_| names.fresh()).collect();
                    let Ok(creq) = to_request(ctx, op, cfg, &b, &cand, &fresh, None, false) else {
                        break;
                    };
                    let cclaim = Claim::Valid {
                        expect_accept: cfg.positive,
                        basis: valid_basis(ctx, op, &cand),
                    };
                    let (cv, cr) = send(ctx, op, &creq, &cclaim, &case_id).await;
                    cleanup(ctx, cfg, &mut b, cr.as_ref(), &case_id).await;
                    fails = cv.has_failed(crate::check::CheckId::PositiveDataAcceptance);
                    if fails {
                        best = (creq, cv, cr, cand.label.clone(), cclaim);
                    }
                }
                more = if fails {
                    tree.simplify()
                } else {
                    tree.complicate()
                };
            }
            let (r, verdicts, resp, label, _) = best;
            record(
                ctx,
                op,
                &case_id,
                &format!("valid request (shrunk): {label}"),
                &r,
                resp.as_ref(),
                verdicts,
            );
            cleanup(ctx, cfg, &mut b, resp.as_ref(), &case_id).await;
        } else {
            record(
                ctx,
                op,
                &case_id,
                &format!("valid request: {}", g.label),
                &req,
                resp.as_ref(),
                verdicts,
            );
            cleanup(ctx, cfg, &mut b, resp.as_ref(), &case_id).await;
        }
    }
    if let Some(why) = &missing {
        let sent_valid = (0..ctx.cases)
            .filter(|i| ctx.case_filter.is_none() || ctx.wants(&format!("{v}/{id}/valid/{i}")))
            .count();
        ctx.recorder.skip(v, id, "valid", why, sent_valid as u64);
    }
    let Some(base) = first.map(|g| with_fixed_values(cfg, &b, g)) else {
        return;
    };
    let unique: Vec<String> = cfg.unique.iter().map(|_| names.fresh()).collect();
    // Cases that need no real resource: invalid input, unknown ids and bad auth still run
    // when the resource is missing, with the profile's unknown id in the path.
    let unknown_path = missing.is_some();
    let invalid = case::invalid_requests(op, &ctx.spec.doc, &base, &ctx.spec.schemas);
    let any_wanted =
        |kind: &str, n: usize| (0..n).any(|j| ctx.wants(&format!("{v}/{id}/{kind}/{j}")));
    if ctx.case_filter.is_some()
        && !unknown_path
        && (any_wanted("invalid", invalid.len()) || any_wanted("auth", 3))
        && !prepare(ctx, cfg, &mut b, &mut names, &format!("{v}/{id}/invalid")).await
    {
        return;
    }
    for (j, g) in invalid.iter().enumerate() {
        let case_id = format!("{v}/{id}/invalid/{j}");
        if !ctx.wants(&case_id) {
            continue;
        }
        // The profile says a `null` body reads as no body, and this body is optional.
        if g.raw_body.as_deref() == Some("null")
            && !op.body_required
            && ctx.profile.null_body.is_some()
        {
            ctx.recorder.skip(
                v,
                id,
                "invalid",
                "a null body reads as no body, and this body is optional (profile null_body)",
                1,
            );
            continue;
        }
        let Ok(req) = to_request(ctx, op, cfg, &b, g, &unique, Some(&base), unknown_path) else {
            continue;
        };
        let claim = Claim::Invalid {
            basis: invalid_basis(ctx, op, g),
        };
        send_record_cleanup(
            ctx,
            op,
            cfg,
            &mut b,
            &case_id,
            &format!("invalid request: {}", g.label),
            &req,
            &claim,
        )
        .await;
    }
    // An id that names nothing: the request is refused (unless the operation creates what
    // it names: the profile's upsert).
    if !op.path.contains('{') {
        // nothing to name
    } else if ctx.profile.upserts(id) {
        ctx.recorder.skip(
            v,
            id,
            "unknown",
            "the operation creates the resource an unknown id names (profile upsert)",
            1,
        );
    } else {
        let case_id = format!("{v}/{id}/unknown/0");
        if ctx.wants(&case_id) {
            if let Ok(req) = to_request(ctx, op, cfg, &b, &base, &unique, None, true) {
                // Refusing an unknown id rests on the spec's 404 ("not found") where it has
                // one, else on its list of statuses.
                let basis = if op.responses.contains_key(&404) {
                    spec_basis::of_response(&ctx.spec.doc, op, 404)
                } else {
                    spec_basis::of_statuses(&ctx.spec.doc, op)
                };
                let claim = Claim::Invalid { basis };
                send_record_cleanup(
                    ctx,
                    op,
                    cfg,
                    &mut b,
                    &case_id,
                    "request naming an unknown id",
                    &req,
                    &claim,
                )
                .await;
            }
        }
    }
    // Boundary values (lengths at their bounds, each enum member, bounds of numbers): valid,
    // so they must be accepted where valid requests are.
    if let (Some(schema), Some(body)) = (&op.body, &base.body) {
        // A boundary value that breaks another keyword (e.g. an enum member an if/then
        // constrains further) is not a valid request: it is left out, and said so.
        let (boundaries, broken): (Vec<_>, Vec<_>) =
            case::boundary_instances(schema, &ctx.spec.doc, body)
                .into_iter()
                .partition(|(_, inst)| ctx.spec.schemas.is_valid(schema, inst));
        if !broken.is_empty() && missing.is_none() {
            ctx.recorder.skip(
                v,
                id,
                "boundary",
                "the boundary value breaks another keyword of the schema (e.g. if/then)",
                broken.len() as u64,
            );
        }
        // A boundary value in place of a fixed one (a fixture's id) names something else.
        let fixed = fixed_body(cfg, &b);
        let (boundaries, varied): (Vec<_>, Vec<_>) = boundaries
            .into_iter()
            .partition(|(_, inst)| fixed.iter().all(|(p, v)| inst.pointer(p) == Some(v)));
        if !varied.is_empty() && missing.is_none() {
            ctx.recorder.skip(
                v,
                id,
                "boundary",
                "the boundary value replaces a value generation.json fixes (operations.<id>.body)",
                varied.len() as u64,
            );
        }
        if let Some(why) = &missing {
            ctx.recorder
                .skip(v, id, "boundary", why, boundaries.len() as u64);
        } else {
            for (j, (label, inst)) in boundaries.into_iter().enumerate() {
                let case_id = format!("{v}/{id}/boundary/{j}");
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
                    if let (true, Some(Value::String(val))) = (differs, inst.pointer_mut(ptr)) {
                        // Shorter than a generated name, so comparisons cannot canonicalise
                        // it: it depends on the seed and the case alone (not the version or
                        // run id), and the key is deleted at once.
                        let short = Names::new(
                            ctx.seed,
                            "",
                            &format!("boundary/{id}/{j}"),
                            &ctx.profile.names,
                        );
                        *val = fresh_of_len(&mut names, short, val.chars().count());
                    }
                }
                let g = GeneratedRequest {
                    body: Some(inst),
                    label: format!("boundary {label}"),
                    ..base.clone()
                };
                let Ok(req) = to_request(ctx, op, cfg, &b, &g, &unique, Some(&base), false) else {
                    continue;
                };
                let claim = Claim::Valid {
                    expect_accept: cfg.positive,
                    basis: valid_basis(ctx, op, &g),
                };
                send_record_cleanup(ctx, op, cfg, &mut b, &case_id, &g.label, &req, &claim).await;
            }
        }
    }
    for (k, auth) in ctx.client.signer().negative_cases().iter().enumerate() {
        let case_id = format!("{v}/{id}/auth/{k}");
        if !ctx.wants(&case_id) {
            continue;
        }
        let Ok(mut req) = to_request(ctx, op, cfg, &b, &base, &unique, None, unknown_path) else {
            continue;
        };
        req.auth = *auth;
        let label = format!("{auth:?} request");
        send_record_cleanup(
            ctx,
            op,
            cfg,
            &mut b,
            &case_id,
            &label,
            &req,
            &Claim::BadAuth,
        )
        .await;
    }
}

fn record(
    ctx: &VersionCtx<'_>,
    op: &OperationSchema,
    case_id: &str,
    label: &str,
    req: &Request,
    resp: Option<&Result<Response, crate::target::http::Transport>>,
    verdicts: Verdicts,
) {
    let outcome = match resp {
        Some(Ok(r)) => Outcome::Response(r),
        Some(Err(t)) => Outcome::Transport(t),
        None => Outcome::NotSent,
    };
    ctx.recorder.record(
        ctx.client,
        Observation {
            version: &ctx.version,
            operation: &op.operation_id,
            case: case_id,
            label,
            request: Some(req),
            outcome,
            verdicts,
        },
    );
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
    claim: &Claim,
) {
    let (v, resp) = send(ctx, op, req, claim, case_id).await;
    record(ctx, op, case_id, label, req, resp.as_ref(), v);
    cleanup(ctx, cfg, b, resp.as_ref(), case_id).await;
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

/// The operation's configured cleanup after an accepted case (the ledger removes anything
/// this misses at the end of the run).
async fn cleanup(
    ctx: &VersionCtx<'_>,
    cfg: &OperationConfig,
    b: &mut Bindings,
    resp: Option<&Result<Response, crate::target::http::Transport>>,
    case: &str,
) {
    let Some(Ok(r)) = resp else { return };
    if r.status >= 300 || cfg.cleanup.is_empty() {
        return;
    }
    let Some(body) = r.json.as_ref() else { return };
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
/// mutation changed keeps its (invalid) value. `unknown`: path parameters name nothing.
#[allow(clippy::too_many_arguments)]
fn to_request(
    ctx: &VersionCtx,
    op: &OperationSchema,
    cfg: &OperationConfig,
    b: &Bindings,
    g: &GeneratedRequest,
    unique: &[String],
    base: Option<&GeneratedRequest>,
    unknown: bool,
) -> Result<Request, String> {
    let mut path = op.path.clone();
    let params = if unknown {
        g.path_params
            .keys()
            .map(|k| (k.clone(), ctx.profile.unknown_id.clone()))
            .collect()
    } else {
        path_params(op, cfg, b, g)?
    };
    for (name, v) in &params {
        path = path.replace(&format!("{{{name}}}"), &crate::target::http::encode(v));
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
    Ok(Request {
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
    op: &OperationSchema,
    req: &Request,
    claim: &Claim,
    case: &str,
) -> (
    Verdicts,
    Option<Result<Response, crate::target::http::Transport>>,
) {
    let mut v = Verdicts::new();
    match ctx.send(&op.operation_id, case, req).await {
        Ok(resp) => {
            ctx.ledger
                .observe(&ctx.version, &op.operation_id, case, req, &resp);
            crate::check::response::check_response(&ctx.scope(op), claim, &resp, &mut v);
            (v, Some(Ok(resp)))
        }
        Err(e) => (v, Some(Err(e))),
    }
}

/// A fresh lower-case alphanumeric value of exactly `len` characters. From the pattern's
/// length on it is a generated name padded with `z` (so comparisons canonicalise it); shorter
/// ones come from `short`, which does not depend on the version (such a key is deleted at once).
fn fresh_of_len(names: &mut Names, mut short: Names, len: usize) -> String {
    let n = names.fresh();
    let mut s = if len >= n.len() {
        n
    } else {
        short.fresh_bare()
    };
    while s.len() < len {
        s.push('z');
    }
    s.truncate(len);
    s
}
