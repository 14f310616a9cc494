//! Declarative stateful suites (`suites/<api>/*.json`): steps that call operationIds, bind
//! values from responses and assert properties, each assertion labelled with a check id.

use super::template::{render, render_str, text, Bindings};
use super::VersionCtx;
use crate::check::response::{check_response, snippet, Claim};
use crate::check::{is_known, Failure};
use crate::target::http::{Auth, Body, Request, Response};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    pub name: String,
    pub description: String,
    /// Versions the suite applies to; default: all.
    #[serde(default)]
    pub versions: Option<Vec<String>>,
    /// Variables bound before the first step; `{{unique}}` inside gives a fresh name.
    #[serde(default, rename = "let")]
    pub vars: Map<String, Value>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    #[serde(default)]
    pub name: Option<String>,
    /// operationId to call.
    #[serde(default)]
    pub call: Option<String>,
    /// A request outside the version's spec (e.g. an operation the version lacks).
    #[serde(default)]
    pub raw: Option<RawCall>,
    /// Walk every page of a list operation and check pagination invariants.
    #[serde(default)]
    pub paginate: Option<Paginate>,
    #[serde(default)]
    pub path: Map<String, Value>,
    #[serde(default)]
    pub query: Map<String, Value>,
    #[serde(default)]
    pub body: Option<Value>,
    #[serde(default)]
    pub raw_body: Option<String>,
    #[serde(default)]
    pub auth: Auth,
    /// Overrides the version header value (e.g. an unknown version); "" omits the header.
    #[serde(default)]
    pub version_header: Option<String>,
    /// Versions this step applies to; default: all the suite's.
    #[serde(default)]
    pub versions: Option<Vec<String>>,
    /// Check id the step's expectations belong to.
    #[serde(default)]
    pub check: Option<String>,
    #[serde(default)]
    pub expect: Expect,
    /// name -> JSON pointer into the response body.
    #[serde(default)]
    pub bind: BTreeMap<String, String>,
    /// Repeat the step once per item, bound as `{{item}}`.
    #[serde(default)]
    pub for_each: Option<Vec<Value>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCall {
    pub method: String,
    pub path: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paginate {
    pub call: String,
    #[serde(default)]
    pub query: Map<String, Value>,
    pub size: u32,
    /// Expected total (count) of matching items.
    pub total: Value,
    /// Field the order is checked on, and direction.
    #[serde(default)]
    pub order_by: Option<String>,
    #[serde(default)]
    pub descending: bool,
    /// Pointer to the item array in a page, e.g. `/keys`.
    pub items: String,
    /// Every item's field must contain this text (the name filter).
    #[serde(default)]
    pub contains: Option<(String, Value)>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub status_in: Option<Vec<u16>>,
    #[serde(default)]
    pub equals: Map<String, Value>,
    #[serde(default)]
    pub not_equals: Map<String, Value>,
    #[serde(default)]
    pub matches: Map<String, Value>,
    #[serde(default)]
    pub present: Vec<String>,
    #[serde(default)]
    pub absent: Vec<String>,
}

impl Expect {
    fn is_empty(&self) -> bool {
        self.status.is_none()
            && self.status_in.is_none()
            && self.equals.is_empty()
            && self.not_equals.is_empty()
            && self.matches.is_empty()
            && self.present.is_empty()
            && self.absent.is_empty()
    }
}

pub fn load_dir(dir: &Path) -> anyhow::Result<Vec<Suite>> {
    let mut out = Vec::new();
    let listed: Vec<std::path::PathBuf> = match crate::bundled::list_dir(dir) {
        Some(files) => files,
        None => std::fs::read_dir(dir)
            .map_err(|e| anyhow::anyhow!("cannot read suites directory {}: {e}", dir.display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect(),
    };
    let mut entries: Vec<_> = listed
        .into_iter()
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && p.file_name().is_some_and(|n| n != "generation.json")
        })
        .collect();
    entries.sort();
    for p in entries {
        let text = crate::bundled::read_to_string(&p)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))?;
        let s: Suite = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: not a suite: {e}", p.display()))?;
        for (i, st) in s.steps.iter().enumerate() {
            let what = format!("{}: step {}", p.display(), i + 1);
            let kinds = [st.call.is_some(), st.raw.is_some(), st.paginate.is_some()]
                .iter()
                .filter(|x| **x)
                .count();
            if kinds != 1 {
                anyhow::bail!("{what}: needs exactly one of call, raw, paginate");
            }
            if let Some(c) = &st.check {
                if !is_known(c) {
                    anyhow::bail!("{what}: unknown check '{c}'");
                }
            }
            if !st.expect.is_empty() && st.check.is_none() {
                anyhow::bail!("{what}: expectations need a check id");
            }
        }
        out.push(s);
    }
    Ok(out)
}

fn applies(list: &Option<Vec<String>>, version: &str) -> bool {
    list.as_ref()
        .map(|l| l.iter().any(|v| v == version))
        .unwrap_or(true)
}

/// Validate that every step's operation exists in the versions it runs on.
pub fn validate_against(s: &Suite, ctx_versions: &[(&str, &VersionCtx)]) -> anyhow::Result<()> {
    for (v, ctx) in ctx_versions {
        if !applies(&s.versions, v) {
            continue;
        }
        for (i, st) in s.steps.iter().enumerate() {
            if !applies(&st.versions, v) {
                continue;
            }
            let op = st.call.as_ref().or(st.paginate.as_ref().map(|p| &p.call));
            if let Some(op) = op {
                if !ctx.ops.contains_key(op) {
                    anyhow::bail!(
                        "suite '{}' step {}: operation '{op}' is not in version {v}'s spec",
                        s.name,
                        i + 1
                    );
                }
            }
        }
    }
    Ok(())
}

/// Run a suite on one version; every exchange is recorded.
pub async fn run_suite(s: &Suite, ctx: &VersionCtx<'_>, unique: &mut dyn FnMut() -> String) {
    if !applies(&s.versions, &ctx.version) {
        return;
    }
    if ctx
        .case_filter
        .as_deref()
        .is_some_and(|f| !f.contains(&format!("/suite/{}/", s.name)))
    {
        return; // replaying another case
    }
    let mut b = Bindings::new();
    for (k, v) in &s.vars {
        let v = match v {
            Value::String(x) if x.contains("{{unique}}") => {
                Value::String(x.replace("{{unique}}", &unique()))
            }
            other => other.clone(),
        };
        b.insert(k.clone(), v);
    }
    for (i, st) in s.steps.iter().enumerate() {
        if !applies(&st.versions, &ctx.version) {
            continue;
        }
        if ctx.recorder.exhausted() {
            return; // --max-failures spent
        }
        b.insert("unique".into(), Value::String(unique()));
        let items = st.for_each.clone().unwrap_or_else(|| vec![Value::Null]);
        for (j, item) in items.into_iter().enumerate() {
            let mut case = format!("{}/suite/{}/{}", ctx.version, s.name, i + 1);
            if st.for_each.is_some() {
                b.insert("item".into(), item);
                case.push_str(&format!(".{}", j + 1));
            }
            let label = st
                .name
                .clone()
                .unwrap_or_else(|| format!("{} step {}", s.name, i + 1));
            if let Some(p) = &st.paginate {
                paginate(p, st, ctx, &b, &case, &label).await;
                continue;
            }
            if let Err(e) = run_step(st, ctx, &mut b, &case, &label).await {
                // A broken binding stops the suite on this version: later steps depend on it.
                let op = st.call.clone().unwrap_or_else(|| "-".into());
                let check = st.check.clone().unwrap_or_else(|| "persistence".into());
                problem(
                    ctx,
                    &op,
                    &case,
                    &label,
                    Failure::new(&check, "the suite can continue", e),
                );
                return;
            }
        }
    }
}

/// Record a failure that happened before any request could be sent (a broken binding).
fn problem(ctx: &VersionCtx<'_>, operation: &str, case: &str, label: &str, failure: Failure) {
    ctx.recorder.record(
        ctx.client,
        &ctx.version,
        operation,
        case,
        label,
        &Request::not_sent(),
        None,
        &[],
        vec![failure],
    );
}

fn build_request(
    st: &Step,
    ctx: &VersionCtx,
    b: &Bindings,
    op_id: Option<&str>,
    extra_query: &[(String, String)],
) -> Result<Request, String> {
    let (method, mut path) = match (op_id, &st.raw) {
        (Some(op), _) => {
            let (m, p, _) = ctx
                .ops
                .get(op)
                .ok_or_else(|| format!("operation '{op}' not in version {}", ctx.version))?;
            (m.clone(), p.clone())
        }
        (None, Some(r)) => (r.method.clone(), r.path.clone()),
        _ => return Err("step has nothing to call".into()),
    };
    for (k, v) in &st.path {
        let v = text(&render(v, b)?);
        path = path.replace(&format!("{{{k}}}"), &crate::target::http::encode(&v));
    }
    if let Value::String(p) = render_str(&path, b)? {
        path = p;
    }
    let mut query = Vec::new();
    for (k, v) in &st.query {
        let v = render(v, b)?;
        if !v.is_null() {
            query.push((k.clone(), text(&v)));
        }
    }
    query.extend(extra_query.iter().cloned());
    let mut headers = Vec::new();
    if let Some((h, v)) = &ctx.version_header {
        // "" omits the header: the target must then serve its latest CURRENT version.
        match st.version_header.as_deref() {
            Some("") => {}
            Some(other) => headers.push((h.clone(), other.to_string())),
            None => headers.push((h.clone(), v.clone())),
        }
    }
    let body = match (&st.body, &st.raw_body) {
        (Some(v), _) => Some(Body::Json(render(v, b)?)),
        (None, Some(r)) => Some(Body::Raw(text(&render_str(r, b)?))),
        _ => None,
    };
    Ok(Request {
        method,
        path,
        query,
        headers,
        body,
        auth: st.auth,
    })
}

pub async fn run_step(
    st: &Step,
    ctx: &VersionCtx<'_>,
    b: &mut Bindings,
    case: &str,
    label: &str,
) -> Result<(), String> {
    let op_id = st.call.as_deref();
    let req = build_request(st, ctx, b, op_id, &[])?;
    let op_name = op_id.map(String::from).unwrap_or_else(|| {
        format!(
            "{} {}",
            req.method.to_uppercase(),
            st.raw.as_ref().map(|r| r.path.clone()).unwrap_or_default()
        )
    });
    ctx.recorder.count_request();
    let resp = match ctx.client.send(&req).await {
        Ok(r) => r,
        Err(e) => {
            ctx.recorder.record(
                ctx.client,
                &ctx.version,
                &op_name,
                case,
                label,
                &req,
                None,
                &["not_a_server_error"],
                vec![Failure::new(
                    "not_a_server_error",
                    "a response",
                    e.to_string(),
                )],
            );
            return Err(format!("no response: {e}"));
        }
    };
    let mut failures = Vec::new();
    let mut applied: Vec<&str> = vec!["not_a_server_error"];
    // Generic checks on every documented exchange; a tampered signature may answer 401 and
    // an unknown version 406 beyond the documented statuses.
    if let Some((_, _, op)) = op_id.and_then(|o| ctx.ops.get(o)) {
        let claim = if st.auth != Auth::Signed {
            Claim::BadAuth
        } else {
            Claim::Suite
        };
        let mut generic = Vec::new();
        check_response(
            ctx.schemas,
            op,
            ctx.also_allowed(op_id.unwrap_or_default()),
            claim,
            &resp,
            &mut generic,
        );
        if st.version_header.is_some() {
            generic.retain(|f| !(f.check == "status_code_conformance" && resp.status == 406));
        }
        applied.extend([
            "status_code_conformance",
            "content_type_conformance",
            "response_schema_conformance",
            "version_shape",
        ]);
        failures.extend(generic);
    } else if resp.status >= 500 {
        failures.push(Failure::new(
            "not_a_server_error",
            "a status below 500",
            format!("{}", resp.status),
        ));
    }
    if let Some(check) = &st.check {
        applied.push(check);
        expectations(&st.expect, check, &resp, b, &mut failures)?;
    }
    let stop = failures
        .iter()
        .any(|f| Some(&f.check) == st.check.as_ref() && f.expected.starts_with("status"));
    ctx.recorder.record(
        ctx.client,
        &ctx.version,
        &op_name,
        case,
        label,
        &req,
        Some(&resp),
        &applied,
        failures,
    );
    if stop && !st.bind.is_empty() {
        return Err(format!(
            "step '{label}' answered {} so its bindings are missing",
            resp.status
        ));
    }
    for (name, ptr) in &st.bind {
        let v = resp
            .json
            .as_ref()
            .and_then(|j| j.pointer(ptr))
            .cloned()
            .ok_or_else(|| {
                format!(
                    "step '{label}': nothing at {ptr} to bind as '{name}' (status {})",
                    resp.status
                )
            })?;
        b.insert(name.clone(), v);
    }
    Ok(())
}

fn expectations(
    e: &Expect,
    check: &str,
    resp: &Response,
    b: &Bindings,
    out: &mut Vec<Failure>,
) -> Result<(), String> {
    if let Some(s) = e.status {
        if resp.status != s {
            out.push(Failure::new(
                check,
                format!("status {s}"),
                format!("{}: {}", resp.status, snippet(&resp.text)),
            ));
            return Ok(()); // body assertions of the wrong status only add noise
        }
    }
    if let Some(list) = &e.status_in {
        if !list.contains(&resp.status) {
            out.push(Failure::new(
                check,
                format!("status one of {list:?}"),
                format!("{}: {}", resp.status, snippet(&resp.text)),
            ));
            return Ok(());
        }
    }
    let body = resp.json.clone().unwrap_or(Value::Null);
    for (ptr, want) in &e.equals {
        let want = render(want, b)?;
        let got = body.pointer(ptr);
        if got != Some(&want) {
            out.push(Failure::new(
                check,
                format!("{ptr} = {want}"),
                format!(
                    "{ptr} = {}",
                    got.map(|g| g.to_string())
                        .unwrap_or_else(|| "absent".into())
                ),
            ));
        }
    }
    for (ptr, not) in &e.not_equals {
        let not = render(not, b)?;
        if body.pointer(ptr) == Some(&not) {
            out.push(Failure::new(
                check,
                format!("{ptr} ≠ {not}"),
                format!("{ptr} = {not}"),
            ));
        }
    }
    for (ptr, re) in &e.matches {
        let re_text = text(&render(re, b)?);
        let re = regex::Regex::new(&re_text).map_err(|e| format!("bad regex {re_text}: {e}"))?;
        let got = body.pointer(ptr).map(text);
        if !got.as_deref().is_some_and(|g| re.is_match(g)) {
            out.push(Failure::new(
                check,
                format!("{ptr} matches {re_text}"),
                format!("{ptr} = {}", got.unwrap_or_else(|| "absent".into())),
            ));
        }
    }
    for ptr in &e.present {
        if body.pointer(ptr).is_none() {
            out.push(Failure::new(
                check,
                format!("{ptr} present"),
                format!("{ptr} absent"),
            ));
        }
    }
    for ptr in &e.absent {
        if let Some(v) = body.pointer(ptr) {
            out.push(Failure::new(
                check,
                format!("{ptr} absent"),
                format!("{ptr} = {v}"),
            ));
        }
    }
    Ok(())
}

/// Walk all pages and check: count = total on every page, page length = min(size, rest),
/// no duplicate ids, union = total, order, filter.
async fn paginate(
    p: &Paginate,
    st: &Step,
    ctx: &VersionCtx<'_>,
    b: &Bindings,
    case: &str,
    label: &str,
) {
    let check = st
        .check
        .clone()
        .unwrap_or_else(|| "pagination_invariants".into());
    let total = match render(&p.total, b) {
        Ok(v) => v.as_u64().or_else(|| text(&v).parse().ok()),
        Err(_) => None,
    };
    let Some(total) = total else {
        problem(
            ctx,
            &p.call,
            case,
            label,
            Failure::new(&check, "a numeric total", format!("{:?}", p.total)),
        );
        return;
    };
    let mut seen: Vec<Value> = Vec::new();
    let mut page = 0u64;
    let pages_needed = total.div_ceil(p.size as u64).max(1);
    let step = Step {
        query: p.query.clone(),
        call: Some(p.call.clone()),
        ..st.clone()
    };
    while page < pages_needed + 1 {
        let extra = vec![
            ("size".to_string(), p.size.to_string()),
            ("page".to_string(), page.to_string()),
        ];
        let req = match build_request(&step, ctx, b, Some(&p.call), &extra) {
            Ok(r) => r,
            Err(e) => {
                problem(
                    ctx,
                    &p.call,
                    case,
                    label,
                    Failure::new(&check, "a request", e),
                );
                return;
            }
        };
        ctx.recorder.count_request();
        let Ok(resp) = ctx.client.send(&req).await else {
            return;
        };
        let mut failures = Vec::new();
        if let Some((_, _, op)) = ctx.ops.get(&p.call) {
            check_response(
                ctx.schemas,
                op,
                ctx.also_allowed(&p.call),
                Claim::Suite,
                &resp,
                &mut failures,
            );
        }
        let body = resp.json.clone().unwrap_or(Value::Null);
        let items = body
            .pointer(&p.items)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let rest = total.saturating_sub(page * p.size as u64);
        let want_len = rest.min(p.size as u64) as usize;
        let lbl = format!("{label} (page {page}, size {})", p.size);
        if resp.status != 200 {
            failures.push(Failure::new(
                &check,
                "status 200",
                format!("{}", resp.status),
            ));
        } else {
            if body.get("count").and_then(Value::as_u64) != Some(total) {
                failures.push(Failure::new(
                    &check,
                    format!("count = {total} (the total, on every page)"),
                    format!(
                        "count = {}",
                        body.get("count")
                            .map(|c| c.to_string())
                            .unwrap_or_else(|| "absent".into())
                    ),
                ));
            }
            if items.len() != want_len {
                failures.push(Failure::new(
                    &check,
                    format!("{want_len} item(s) on page {page}"),
                    format!("{} item(s)", items.len()),
                ));
            }
            if let Some((field, needle)) = &p.contains {
                let needle = render(needle, b).map(|v| text(&v)).unwrap_or_default();
                for it in &items {
                    let v = it.get(field).map(text).unwrap_or_default();
                    if !v.contains(&needle) {
                        failures.push(Failure::new(
                            &check,
                            format!("every {field} contains '{needle}'"),
                            format!("{field} = '{v}'"),
                        ));
                        break;
                    }
                }
            }
            for it in &items {
                let id = it.get("id").cloned().unwrap_or(Value::Null);
                if seen.contains(&id) {
                    failures.push(Failure::new(
                        &check,
                        "no item on two pages",
                        format!("id {id} repeated"),
                    ));
                }
                seen.push(id);
            }
            if let Some(f) = &p.order_by {
                let vals: Vec<String> = items
                    .iter()
                    .map(|i| i.get(f).map(text).unwrap_or_default())
                    .collect();
                let sorted = vals.windows(2).all(|w| {
                    if p.descending {
                        w[0] >= w[1]
                    } else {
                        w[0] <= w[1]
                    }
                });
                if !sorted {
                    failures.push(Failure::new(
                        &check,
                        format!(
                            "items ordered by {f} {}",
                            if p.descending { "desc" } else { "asc" }
                        ),
                        format!("{vals:?}"),
                    ));
                }
            }
        }
        let applied = [
            check.as_str(),
            "not_a_server_error",
            "status_code_conformance",
            "response_schema_conformance",
        ];
        ctx.recorder.record(
            ctx.client,
            &ctx.version,
            &p.call,
            &format!("{case}/p{page}"),
            &lbl,
            &req,
            Some(&resp),
            &applied,
            failures,
        );
        if items.is_empty() {
            break;
        }
        page += 1;
    }
    if seen.len() as u64 != total {
        let f = Failure::new(
            &check,
            format!("{total} items over all pages"),
            format!("{}", seen.len()),
        );
        problem(ctx, &p.call, case, label, f);
    }
}
