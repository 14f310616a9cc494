//! Declarative stateful suites (`suites/<api>/*.json`): steps that call operationIds, bind
//! values from responses and assert properties. Every expectation is labelled with a check
//! id and carries its basis. Step kinds: `call`, `raw` (outside the spec), `paginate` (walk
//! every page and check the paging invariants) and `repeat` (a group of steps run once per
//! generated plaintext length).

use super::plaintext;
use super::record::{Observation, Outcome};
use super::template::{names_in, names_used, render, render_str, text, Bindings};
use super::VersionCtx;
use crate::check::response::{check_response, status_actual, Claim};
use crate::check::{Actual, Basis, CheckId, Expected, Failure, Verdicts};
use crate::target::http::{Auth, Body, Request, Response};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    #[serde(rename = "$comment", default)]
    pub comment: Option<Value>,
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
    /// Walk every page of a list operation and check the paging invariants.
    #[serde(default)]
    pub paginate: Option<Paginate>,
    /// Run a group of steps once per generated plaintext (`{{plaintext}}`, `{{plaintext_len}}`).
    #[serde(default)]
    pub repeat: Option<Repeat>,
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
    /// Why the expectations hold: "documented: …", "observed: …" or "assumed: …" (text
    /// only: `required` is the CLI's).
    #[serde(default, deserialize_with = "crate::check::basis::from_text_opt")]
    pub basis: Option<Basis>,
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
    /// The number of items the filter selects (a template).
    pub total: Value,
    #[serde(default)]
    pub order_by: Option<String>,
    #[serde(default)]
    pub descending: bool,
    /// Every item's field contains this text (a filter).
    #[serde(default)]
    pub contains: Option<(String, Value)>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    /// Only `"lengths"`: the plaintext length classes of `run::plaintext`.
    pub plaintexts: String,
    /// The longest plaintext the key can take, when the algorithm bounds it (RSA-OAEP).
    #[serde(default)]
    pub max_len: Option<usize>,
    pub steps: Vec<Step>,
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

/// A suite file that cannot be used: which file, which step, why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct SuiteError {
    pub path: PathBuf,
    pub reason: String,
}

impl Step {
    fn check_id(&self) -> Option<CheckId> {
        self.check.as_deref().and_then(|c| c.parse().ok())
    }

    /// The basis of the step's own expectations.
    fn expectation_basis(&self) -> Basis {
        self.basis.clone().unwrap_or_else(|| {
            self.check_id()
                .map(CheckId::default_basis)
                .unwrap_or_else(|| Basis::assumed("no basis given"))
        })
    }

    fn label(&self, suite: &str, i: usize) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("{suite} step {}", i + 1))
    }

    /// Structural checks of one step; `what` names it in messages.
    pub fn validate(&self, what: &str) -> Result<(), String> {
        let kinds = [
            self.call.is_some(),
            self.raw.is_some(),
            self.paginate.is_some(),
            self.repeat.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if kinds != 1 {
            return Err(format!(
                "{what}: needs exactly one of call, raw, paginate, repeat"
            ));
        }
        if let Some(c) = &self.check {
            c.parse::<CheckId>().map_err(|e| format!("{what}: {e}"))?;
        }
        let expects = !self.expect.is_empty() || self.paginate.is_some();
        if expects && self.check.is_none() {
            return Err(format!("{what}: expectations need a check id"));
        }
        if expects && self.basis.is_none() {
            return Err(format!(
                "{what}: expectations need a basis (\"documented: <document>:<line>\", \"observed: <section>\" or \"assumed: <why>\")"
            ));
        }
        if let Some(p) = &self.paginate {
            if p.size == 0 {
                return Err(format!("{what}: paginate.size must be at least 1"));
            }
        }
        if let Some(r) = &self.repeat {
            if r.plaintexts != "lengths" {
                return Err(format!(
                    "{what}: repeat.plaintexts must be \"lengths\" (got \"{}\")",
                    r.plaintexts
                ));
            }
            if r.steps.is_empty() {
                return Err(format!("{what}: repeat needs steps"));
            }
            for (j, s) in r.steps.iter().enumerate() {
                if s.repeat.is_some() || s.paginate.is_some() {
                    return Err(format!(
                        "{what}, repeated step {}: only call and raw steps repeat",
                        j + 1
                    ));
                }
                s.validate(&format!("{what}, repeated step {}", j + 1))?;
            }
        }
        if let Some(s) = self.expect.status {
            if !(100..=599).contains(&s) {
                return Err(format!("{what}: expect.status {s} is not an HTTP status"));
            }
        }
        for re in self.expect.matches.values() {
            if let Value::String(p) = re {
                if !p.contains("{{") {
                    regex::Regex::new(p).map_err(|e| format!("{what}: bad regex {p}: {e}"))?;
                }
            }
        }
        Ok(())
    }

    /// The `{{variables}}` this step (and its group) uses, and those it binds.
    pub fn variables(&self, used: &mut BTreeSet<String>, bound: &mut BTreeSet<String>) {
        for v in self.path.values().chain(self.query.values()) {
            names_used(v, used);
        }
        for v in self.body.iter().chain(self.for_each.iter().flatten()) {
            names_used(v, used);
        }
        for s in self
            .raw_body
            .iter()
            .chain(self.raw.as_ref().map(|r| &r.path))
        {
            names_in(s, used);
        }
        let e = &self.expect;
        for m in [&e.equals, &e.not_equals, &e.matches] {
            m.values().for_each(|v| names_used(v, used));
        }
        if let Some(p) = &self.paginate {
            p.query.values().for_each(|v| names_used(v, used));
            names_used(&p.total, used);
            if let Some((_, t)) = &p.contains {
                names_used(t, used);
            }
        }
        if let Some(r) = &self.repeat {
            r.steps.iter().for_each(|s| s.variables(used, bound));
            bound.extend(["plaintext".into(), "plaintext_len".into()]);
        }
        if self.for_each.is_some() {
            bound.insert("item".into());
        }
        bound.extend(self.bind.keys().cloned());
    }

    /// Operations this step (and its group) call.
    fn calls(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .call
            .as_deref()
            .into_iter()
            .chain(self.paginate.as_ref().map(|p| p.call.as_str()))
            .collect();
        if let Some(r) = &self.repeat {
            for s in &r.steps {
                out.extend(s.calls());
            }
        }
        out
    }
}

/// Suites written once and used by several APIs: a suite file `{"name", "description",
/// "template": "../shared/x.json", "params": {…}}` is the template with `<<param>>` replaced
/// (a whole string `"<<p>>"` by the parameter's JSON value, inside strings and object keys
/// by its text). Every placeholder must have a parameter and every parameter a use.
mod template {
    use serde_json::{Map, Value};
    use std::collections::BTreeSet;
    use std::path::Path;

    pub fn instantiate(v: Value, dir: &Path) -> Result<Value, String> {
        let Value::Object(mut outer) = v else {
            return Ok(v);
        };
        let Some(t) = outer.remove("template") else {
            return Ok(Value::Object(outer));
        };
        let rel = t.as_str().ok_or("template must be a path")?;
        // Relative to the suites root (`suites/`), so one template serves every API.
        let path = dir.parent().unwrap_or(dir).join(rel);
        let text = crate::bundled::read_to_string(&path)
            .map_err(|e| format!("template {}: {e}", path.display()))?;
        let tpl: Value = serde_json::from_str(&text)
            .map_err(|e| format!("template {}: not JSON: {e}", path.display()))?;
        let params = match outer.remove("params") {
            Some(Value::Object(m)) => m,
            None => Map::new(),
            Some(_) => return Err("params must be an object".into()),
        };
        let mut used = BTreeSet::new();
        let mut out = subst(&tpl, &params, &mut used)
            .map_err(|e| format!("template {}: {e}", path.display()))?;
        if let Some(unused) = params.keys().find(|k| !used.contains(*k)) {
            return Err(format!(
                "parameter '{unused}' is not used by template {}",
                path.display()
            ));
        }
        // The including file names and describes the suite; anything else it sets wins too.
        if let Value::Object(o) = &mut out {
            for (k, v) in outer {
                o.insert(k, v);
            }
        }
        Ok(out)
    }

    fn text_of(name: &str, params: &Map<String, Value>) -> Result<String, String> {
        match params.get(name) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v @ Value::Number(_)) => Ok(v.to_string()),
            Some(_) => Err(format!(
                "<<{name}>> stands inside a text but its parameter is not text"
            )),
            None => Err(format!("no parameter for <<{name}>>")),
        }
    }

    fn splice(
        s: &str,
        params: &Map<String, Value>,
        used: &mut BTreeSet<String>,
    ) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("<<") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let j = after
                .find(">>")
                .ok_or_else(|| format!("unclosed '<<' in '{s}'"))?;
            let name = &after[..j];
            out.push_str(&text_of(name, params)?);
            used.insert(name.to_string());
            rest = &after[j + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn subst(
        v: &Value,
        params: &Map<String, Value>,
        used: &mut BTreeSet<String>,
    ) -> Result<Value, String> {
        Ok(match v {
            Value::String(s) => {
                if let Some(name) = s.strip_prefix("<<").and_then(|r| r.strip_suffix(">>")) {
                    if !name.contains("<<") {
                        used.insert(name.to_string());
                        return params
                            .get(name)
                            .cloned()
                            .ok_or_else(|| format!("no parameter for <<{name}>>"));
                    }
                }
                Value::String(splice(s, params, used)?)
            }
            Value::Array(a) => {
                // An element "<<p>>" whose parameter is a list splices its items.
                let mut out = Vec::new();
                for x in a {
                    let whole = x
                        .as_str()
                        .and_then(|s| s.strip_prefix("<<"))
                        .and_then(|r| r.strip_suffix(">>"));
                    match whole.and_then(|n| params.get(n).map(|p| (n, p))) {
                        Some((n, Value::Array(items))) => {
                            used.insert(n.to_string());
                            out.extend(items.iter().cloned());
                        }
                        _ => out.push(subst(x, params, used)?),
                    }
                }
                Value::Array(out)
            }
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| Ok((splice(k, params, used)?, subst(x, params, used)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use serde_json::json;

        #[test]
        fn placeholders_take_values_texts_and_keys() {
            let params =
                json!({"op": "encryptData", "key": "key_id", "body": {"a": 1}, "ptr": "/data"});
            let tpl = json!({"call": "<<op>>", "path": {"<<key>>": "{{id}}"}, "body": "<<body>>", "bind": {"ct": "<<ptr>>/ciphertext"}});
            let mut used = BTreeSet::new();
            let out = subst(&tpl, params.as_object().unwrap(), &mut used).unwrap();
            assert_eq!(
                out,
                json!({"call": "encryptData", "path": {"key_id": "{{id}}"}, "body": {"a": 1}, "bind": {"ct": "/data/ciphertext"}})
            );
            assert_eq!(used.len(), 4);
            assert!(subst(&json!("<<nope>>"), params.as_object().unwrap(), &mut used).is_err());
            assert!(subst(&json!("x<<body>>"), params.as_object().unwrap(), &mut used).is_err());
        }
    }
}

/// Every suite of a directory (`generation.json` aside), validated. An empty or missing
/// directory is an input error: a run without its suites would report false findings.
pub fn load_dir(dir: &Path) -> Result<Vec<Suite>, SuiteError> {
    let err = |path: &Path, reason: String| SuiteError {
        path: path.into(),
        reason,
    };
    let listed: Vec<PathBuf> = match crate::bundled::list_dir(dir) {
        Some(files) => files,
        None => std::fs::read_dir(dir)
            .map_err(|e| err(dir, format!("cannot read the suites directory: {e}")))?
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
    if entries.is_empty() {
        return Err(err(
            dir,
            "holds no suite (*.json besides generation.json)".into(),
        ));
    }
    let mut out: Vec<Suite> = Vec::new();
    for p in entries {
        let text =
            crate::bundled::read_to_string(&p).map_err(|e| err(&p, format!("cannot read: {e}")))?;
        let value: Value =
            serde_json::from_str(&text).map_err(|e| err(&p, format!("not a suite: {e}")))?;
        let value = template::instantiate(value, dir).map_err(|r| err(&p, r))?;
        let s: Suite =
            serde_json::from_value(value).map_err(|e| err(&p, format!("not a suite: {e}")))?;
        if out.iter().any(|o| o.name == s.name) {
            return Err(err(&p, format!("a second suite named '{}'", s.name)));
        }
        if s.steps.is_empty() {
            return Err(err(&p, "the suite has no steps".into()));
        }
        for (i, st) in s.steps.iter().enumerate() {
            st.validate(&format!("step {}", i + 1))
                .map_err(|r| err(&p, r))?;
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

/// Every step's operation must exist in the versions it runs on.
/// The variables a suite uses that nothing in it binds: fixtures the run must supply
/// (`--param`, or the embedded reference's own).
pub fn free_variables(s: &Suite) -> BTreeSet<String> {
    let (mut used, mut bound) = (BTreeSet::new(), BTreeSet::new());
    s.vars.values().for_each(|v| names_used(v, &mut used));
    bound.extend(s.vars.keys().cloned());
    bound.insert("unique".into());
    s.steps
        .iter()
        .for_each(|st| st.variables(&mut used, &mut bound));
    used.difference(&bound).cloned().collect()
}

pub fn validate_against(s: &Suite, versions: &[&crate::spec::VersionSpec]) -> Result<(), String> {
    for spec in versions {
        let v = spec.version.as_str();
        if !applies(&s.versions, v) {
            continue;
        }
        for (i, st) in s.steps.iter().enumerate() {
            if !applies(&st.versions, v) {
                continue;
            }
            for op in st.calls() {
                if spec.operation(op).is_none() {
                    return Err(format!(
                        "suite '{}' step {}: operation '{op}' is not in version {v}'s spec",
                        s.name,
                        i + 1
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Where a replay of a suite case stops: after the step it names (earlier steps are what it
/// depends on), and within a repeat group, only its length.
struct ReplayPoint {
    step: usize,
    len: Option<usize>,
}

fn replay_point(filter: &str, prefix: &str) -> Option<ReplayPoint> {
    let rest = filter.strip_prefix(prefix)?.strip_prefix('/')?;
    let mut parts = rest.split('/');
    let step = parts
        .next()?
        .split(['.', '/'])
        .next()?
        .parse::<usize>()
        .ok()?;
    let len = parts
        .next()
        .and_then(|p| p.strip_prefix("len"))
        .and_then(|n| n.parse().ok());
    Some(ReplayPoint { step, len })
}

/// Run a suite on one version; every exchange is recorded.
pub async fn run_suite(s: &Suite, ctx: &VersionCtx<'_>) {
    if !applies(&s.versions, &ctx.version) {
        return;
    }
    let prefix = format!("{}/suite/{}", ctx.version, s.name);
    let stop_at = match &ctx.case_filter {
        None => None,
        Some(f) => match replay_point(f, &prefix) {
            Some(p) => Some(p),
            None => return, // replaying another case
        },
    };
    let mut names = ctx.names(&format!("suite/{}", s.name));
    let mut b = ctx.params.clone();
    for (k, v) in &s.vars {
        let v = match v {
            Value::String(x) if x.contains("{{unique}}") => {
                Value::String(x.replace("{{unique}}", &names.fresh()))
            }
            other => other.clone(),
        };
        b.insert(k.clone(), v);
    }
    for (i, st) in s.steps.iter().enumerate() {
        if stop_at.as_ref().is_some_and(|p| i + 1 > p.step) {
            break;
        }
        if !applies(&st.versions, &ctx.version) {
            continue;
        }
        if ctx.recorder.exhausted() {
            return; // --max-failures spent, or interrupted
        }
        b.insert("unique".into(), Value::String(names.fresh()));
        let label = st.label(&s.name, i);
        let case = format!("{prefix}/{}", i + 1);
        if let Some(p) = &st.paginate {
            paginate(p, st, ctx, &b, &case, &label).await;
            continue;
        }
        if let Some(r) = &st.repeat {
            let only = stop_at
                .as_ref()
                .and_then(|p| (p.step == i + 1).then_some(p.len).flatten());
            if !repeat(r, ctx, &mut b, &case, &label, only).await {
                return;
            }
            continue;
        }
        let items = st.for_each.clone().unwrap_or_else(|| vec![Value::Null]);
        for (j, item) in items.into_iter().enumerate() {
            let mut case = case.clone();
            if st.for_each.is_some() {
                b.insert("item".into(), item);
                case.push_str(&format!(".{}", j + 1));
            }
            match run_step_with(st, ctx, &mut b, &case, &label, false).await {
                Ok(_) => {}
                // A broken binding stops the suite on this version: later steps depend on it.
                Err(StepError::Broken(e)) => {
                    not_sent(ctx, st, &case, &label, e, None);
                    return;
                }
                Err(StepError::Unbound { why, request }) => {
                    not_sent(ctx, st, &case, &label, why, Some(&request));
                    return;
                }
                // So does a step without a usable answer; it is a transport problem of the
                // report already, not a finding. What is not sent is said in the coverage.
                Err(StepError::NoResponse(_)) => {
                    skip_rest(ctx, &s.steps[i + 1..], &label);
                    return;
                }
            }
        }
    }
}

/// The cases `run_suite` would send on `ctx`'s version (`--list-cases`), without sending:
/// one per step (per item of a `for_each`, per plaintext length of a `repeat` group).
/// Values bound from earlier responses stay templates.
pub fn list_suite(s: &Suite, ctx: &VersionCtx<'_>) -> Vec<super::list::Listed> {
    let mut out = Vec::new();
    if !applies(&s.versions, &ctx.version) {
        return out;
    }
    let prefix = format!("{}/suite/{}", ctx.version, s.name);
    // A replay stops where `run_suite` stops: after the step it names.
    let stop_at = match &ctx.case_filter {
        None => None,
        Some(f) => match replay_point(f, &prefix) {
            Some(p) => Some(p),
            None => return out,
        },
    };
    let mut names = ctx.names(&format!("suite/{}", s.name));
    let mut b = ctx.params.clone();
    for (k, v) in &s.vars {
        let v = match v {
            Value::String(x) if x.contains("{{unique}}") => {
                Value::String(x.replace("{{unique}}", &names.fresh()))
            }
            other => other.clone(),
        };
        b.insert(k.clone(), v);
    }
    for (i, st) in s.steps.iter().enumerate() {
        if stop_at.as_ref().is_some_and(|p| i + 1 > p.step) {
            break;
        }
        if !applies(&st.versions, &ctx.version) {
            continue;
        }
        b.insert("unique".into(), Value::String(names.fresh()));
        let label = st.label(&s.name, i);
        let case = format!("{prefix}/{}", i + 1);
        if let Some(r) = &st.repeat {
            let only = stop_at
                .as_ref()
                .and_then(|p| (p.step == i + 1).then_some(p.len).flatten());
            for len in plaintext::lengths(only)
                .into_iter()
                .filter(|n| r.max_len.is_none_or(|m| *n <= m))
            {
                b.insert(
                    "plaintext".into(),
                    Value::String(plaintext::plaintext_b64(ctx.seed, len)),
                );
                b.insert("plaintext_len".into(), Value::from(len));
                for (k, sub) in r.steps.iter().enumerate() {
                    if applies(&sub.versions, &ctx.version) {
                        out.push(list_step(
                            sub,
                            ctx,
                            &b,
                            format!("{case}/len{len}/{}", k + 1),
                            format!("{label}: {} ({len}-byte plaintext)", sub.label("repeat", k)),
                        ));
                    }
                }
            }
            continue;
        }
        match &st.for_each {
            Some(items) => {
                for (j, item) in items.iter().enumerate() {
                    b.insert("item".into(), item.clone());
                    out.push(list_step(
                        st,
                        ctx,
                        &b,
                        format!("{case}.{}", j + 1),
                        label.clone(),
                    ));
                }
            }
            None => out.push(list_step(st, ctx, &b, case, label)),
        }
    }
    out
}

/// One step as `--list-cases` prints it: method, and path with what `b` binds filled in.
pub fn list_step(
    st: &Step,
    ctx: &VersionCtx<'_>,
    b: &Bindings,
    case: String,
    label: String,
) -> super::list::Listed {
    let call = st
        .call
        .as_deref()
        .or(st.paginate.as_ref().map(|p| p.call.as_str()));
    let (method, path) = match (call.and_then(|c| ctx.spec.operation(c)), &st.raw) {
        (Some(o), _) => (o.method.clone(), o.path.clone()),
        (None, Some(r)) => (r.method.clone(), r.path.clone()),
        (None, None) => ("-".into(), call.unwrap_or("-").to_string()),
    };
    let mut path = super::list::fill_path(path, &st.path, b);
    let q = st.paginate.as_ref().map(|p| &p.query).unwrap_or(&st.query);
    let query: Vec<(String, String)> = q
        .iter()
        .filter_map(|(k, v)| match render(v, b) {
            Ok(Value::Null) => None,
            Ok(x) => Some((k.clone(), text(&x))),
            Err(_) => Some((k.clone(), text(v))),
        })
        .collect();
    path.push_str(&super::list::query_suffix(&query));
    let body = st
        .body
        .as_ref()
        .map(|t| render(t, b).unwrap_or_else(|_| t.clone()));
    super::list::Listed {
        case,
        method: method.to_uppercase(),
        path,
        body: super::list::body_summary(
            body.as_ref(),
            st.raw_body.as_deref(),
            &ctx.profile.secrets.fields,
        ),
        label,
    }
}

/// A suite left out by `--include-operation` / `--exclude-operation`: each of its steps
/// that applies to this version is counted in the coverage as not sent, with `reason`.
pub fn skip_filtered(s: &Suite, ctx: &VersionCtx<'_>, reason: &str) {
    if !applies(&s.versions, &ctx.version) {
        return;
    }
    for st in s
        .steps
        .iter()
        .filter(|st| applies(&st.versions, &ctx.version))
    {
        let op = st
            .call
            .as_deref()
            .or(st.paginate.as_ref().map(|p| p.call.as_str()))
            .unwrap_or("-");
        ctx.recorder.skip(&ctx.version, op, "suite", reason, 1);
    }
}

/// Count the steps a suite no longer sends after `label` got no usable answer.
fn skip_rest(ctx: &VersionCtx<'_>, rest: &[Step], label: &str) {
    let reason = format!("step '{label}' got no usable answer (a transport problem)");
    for st in rest.iter().filter(|st| applies(&st.versions, &ctx.version)) {
        let op = st
            .call
            .as_deref()
            .or(st.paginate.as_ref().map(|p| p.call.as_str()))
            .unwrap_or("-");
        ctx.recorder.skip(&ctx.version, op, "suite", &reason, 1);
    }
}

/// Run a repeat group once per plaintext length, smallest first. An iteration whose first
/// step is refused (4xx) is skipped, and the refusal is an advisory (no document sets a
/// minimum or maximum plaintext length); the first length whose group fails ends the group,
/// so what is reported is the smallest failing length. False when a binding broke.
async fn repeat(
    r: &Repeat,
    ctx: &VersionCtx<'_>,
    b: &mut Bindings,
    case: &str,
    label: &str,
    only: Option<usize>,
) -> bool {
    for len in plaintext::lengths(only)
        .into_iter()
        .filter(|n| r.max_len.is_none_or(|m| *n <= m))
    {
        if ctx.recorder.exhausted() {
            return true;
        }
        b.insert(
            "plaintext".into(),
            Value::String(plaintext::plaintext_b64(ctx.seed, len)),
        );
        b.insert("plaintext_len".into(), Value::from(len));
        let mut failed = false;
        for (k, st) in r.steps.iter().enumerate() {
            if !applies(&st.versions, &ctx.version) {
                continue;
            }
            let sub_case = format!("{case}/len{len}/{}", k + 1);
            let sub_label = format!("{label}: {} ({len}-byte plaintext)", st.label("repeat", k));
            match run_step_with(st, ctx, b, &sub_case, &sub_label, k == 0).await {
                Ok(StepResult::Done { failed: f }) => failed |= f,
                Ok(StepResult::Refused) => {
                    ctx.recorder.skip(
                        &ctx.version,
                        st.call.as_deref().unwrap_or("-"),
                        "suite",
                        &format!("the target refused a {len}-byte plaintext"),
                        (r.steps.len() - 1) as u64,
                    );
                    break;
                }
                Err(StepError::Broken(e)) => {
                    not_sent(ctx, st, &sub_case, &sub_label, e, None);
                    return false;
                }
                Err(StepError::Unbound { why, request }) => {
                    not_sent(ctx, st, &sub_case, &sub_label, why, Some(&request));
                    return false;
                }
                Err(StepError::NoResponse(_)) => return false,
            }
        }
        if failed {
            break;
        }
    }
    true
}

/// Record, against its check, a step that could not be sent (a broken binding; `request`
/// None) or whose answer lacks what later steps need (`request`: what was sent, so that the
/// finding has its curl line; the exchange itself is recorded already).
fn not_sent(
    ctx: &VersionCtx<'_>,
    st: &Step,
    case: &str,
    label: &str,
    why: String,
    request: Option<&Request>,
) {
    let op = st.call.clone().unwrap_or_else(|| "-".into());
    let check = st.check_id().unwrap_or(CheckId::Persistence);
    let mut v = Verdicts::new();
    v.fail(
        Failure::new(
            check,
            Expected::Described {
                text: "the suite can continue".into(),
            },
            Actual::Described { text: why },
        )
        .with_basis(st.expectation_basis()),
    );
    ctx.recorder.record(
        ctx.client,
        Observation {
            version: &ctx.version,
            operation: &op,
            case,
            label,
            request,
            outcome: Outcome::NotSent,
            verdicts: v,
        },
    );
}

/// Build the request of a step (`extra_query` for paging).
pub fn build_request(
    st: &Step,
    ctx: &VersionCtx,
    b: &Bindings,
    extra_query: &[(String, String)],
) -> Result<Request, String> {
    let call = st
        .call
        .as_deref()
        .or(st.paginate.as_ref().map(|p| p.call.as_str()));
    let (method, mut path) = match (call, &st.raw) {
        (Some(op), _) => {
            let o = ctx
                .spec
                .operation(op)
                .ok_or_else(|| format!("operation '{op}' not in version {}", ctx.version))?;
            (o.method.clone(), o.path.clone())
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
    let q = st.paginate.as_ref().map(|p| &p.query).unwrap_or(&st.query);
    for (k, v) in q {
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

/// Why a step did not complete.
#[derive(Debug)]
enum StepError {
    /// It could not be built: a finding of the step's check.
    Broken(String),
    /// It was answered, but not with what later steps need: a finding of the step's check,
    /// with the request.
    Unbound { why: String, request: Request },
    /// It got no usable answer: already recorded as a transport problem.
    NoResponse(String),
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepError::Broken(e) | StepError::Unbound { why: e, .. } => f.write_str(e),
            StepError::NoResponse(e) => write!(f, "no response: {e}"),
        }
    }
}

impl From<String> for StepError {
    fn from(e: String) -> Self {
        StepError::Broken(e)
    }
}

enum StepResult {
    Done {
        failed: bool,
    },
    /// The first step of a repeat iteration was refused with 4xx.
    Refused,
}

/// Send one step, check it, record it, bind its values.
pub async fn run_step(
    st: &Step,
    ctx: &VersionCtx<'_>,
    b: &mut Bindings,
    case: &str,
    label: &str,
) -> Result<(), String> {
    run_step_with(st, ctx, b, case, label, false)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

async fn run_step_with(
    st: &Step,
    ctx: &VersionCtx<'_>,
    b: &mut Bindings,
    case: &str,
    label: &str,
    refusal_ends_iteration: bool,
) -> Result<StepResult, StepError> {
    let op_id = st.call.as_deref();
    let req = build_request(st, ctx, b, &[])?;
    let op_name = op_id.map(String::from).unwrap_or_else(|| {
        format!(
            "{} {}",
            req.method.to_uppercase(),
            st.raw.as_ref().map(|r| r.path.clone()).unwrap_or_default()
        )
    });
    let resp = match ctx.send(&op_name, case, &req).await {
        Ok(r) => r,
        Err(e) => {
            ctx.recorder.record(
                ctx.client,
                Observation {
                    version: &ctx.version,
                    operation: &op_name,
                    case,
                    label,
                    request: Some(&req),
                    outcome: Outcome::Transport(&e),
                    verdicts: Verdicts::new(),
                },
            );
            return Err(StepError::NoResponse(e.to_string()));
        }
    };
    ctx.ledger
        .observe(&ctx.version, &op_name, case, &req, &resp);
    let mut v = Verdicts::new();
    // Generic checks on every documented exchange.
    if let Some(op) = op_id.and_then(|o| ctx.spec.operation(o)) {
        let claim = if st.auth != Auth::Signed {
            Claim::BadAuth
        } else if st.version_header.as_deref().is_some_and(|h| !h.is_empty()) {
            Claim::UnknownVersion
        } else {
            Claim::Suite
        };
        check_response(&ctx.scope(op), &claim, &resp, &mut v);
    } else {
        v.check(CheckId::NotAServerError, resp.status < 500, || {
            Failure::new(
                CheckId::NotAServerError,
                Expected::StatusBelow500,
                status_actual(&resp),
            )
            .with_basis(Basis::documented(
                "the spec documents no 5xx status for any operation",
            ))
        });
    }
    let refused = refusal_ends_iteration && (400..500).contains(&resp.status);
    let mut status_failed = false;
    if let Some(check) = st.check_id() {
        let mut basis = st.expectation_basis();
        if refused {
            basis = Basis::assumed(format!(
                "no document bounds the plaintext length; this length was refused ({})",
                basis
            ));
        }
        status_failed = expectations(&st.expect, check, &basis, &resp, b, &mut v)?;
    }
    let failed = !v.failures().is_empty();
    ctx.recorder.record(
        ctx.client,
        Observation {
            version: &ctx.version,
            operation: &op_name,
            case,
            label,
            request: Some(&req),
            outcome: Outcome::Response(&resp),
            verdicts: v,
        },
    );
    if refused {
        return Ok(StepResult::Refused);
    }
    if status_failed && !st.bind.is_empty() {
        return Err(StepError::Unbound {
            why: format!(
                "step '{label}' answered {} so its bindings are missing",
                resp.status
            ),
            request: req,
        });
    }
    for (name, ptr) in &st.bind {
        let Some(val) = resp.json.as_ref().and_then(|j| j.pointer(ptr)).cloned() else {
            return Err(StepError::Unbound {
                why: format!(
                    "step '{label}': nothing at {ptr} to bind as '{name}' (status {})",
                    resp.status
                ),
                request: req,
            });
        };
        b.insert(name.clone(), val);
    }
    Ok(StepResult::Done { failed })
}

/// The step's own expectations; true when the status expectation failed (body assertions of
/// the wrong status are skipped: they only add noise).
fn expectations(
    e: &Expect,
    check: CheckId,
    basis: &Basis,
    resp: &Response,
    b: &Bindings,
    v: &mut Verdicts,
) -> Result<bool, String> {
    let fail = |expected: Expected, actual: Actual| {
        Failure::new(check, expected, actual).with_basis(basis.clone())
    };
    v.pass(check);
    let wanted: Option<Vec<u16>> = e.status.map(|s| vec![s]).or_else(|| e.status_in.clone());
    if let Some(list) = wanted {
        if !list.contains(&resp.status) {
            v.fail(fail(
                Expected::StatusIn { statuses: list },
                status_actual(resp),
            ));
            return Ok(true);
        }
    }
    let body = resp.json.clone().unwrap_or(Value::Null);
    for (ptr, want) in &e.equals {
        let want = render(want, b)?;
        let got = body.pointer(ptr);
        if got != Some(&want) {
            v.fail(fail(
                Expected::Equals {
                    pointer: ptr.clone(),
                    value: want,
                },
                Actual::Value {
                    pointer: ptr.clone(),
                    value: got.cloned(),
                },
            ));
        }
    }
    for (ptr, not) in &e.not_equals {
        let not = render(not, b)?;
        if body.pointer(ptr) == Some(&not) {
            v.fail(fail(
                Expected::NotEquals {
                    pointer: ptr.clone(),
                    value: not.clone(),
                },
                Actual::Value {
                    pointer: ptr.clone(),
                    value: Some(not),
                },
            ));
        }
    }
    for (ptr, re) in &e.matches {
        let re_text = text(&render(re, b)?);
        let re = regex::Regex::new(&re_text).map_err(|e| format!("bad regex {re_text}: {e}"))?;
        let got = body.pointer(ptr);
        if !got.map(text).is_some_and(|g| re.is_match(&g)) {
            v.fail(fail(
                Expected::Matches {
                    pointer: ptr.clone(),
                    pattern: re_text,
                },
                Actual::Value {
                    pointer: ptr.clone(),
                    value: got.cloned(),
                },
            ));
        }
    }
    for ptr in &e.present {
        if body.pointer(ptr).is_none() {
            v.fail(fail(
                Expected::Present {
                    pointer: ptr.clone(),
                },
                Actual::Value {
                    pointer: ptr.clone(),
                    value: None,
                },
            ));
        }
    }
    for ptr in &e.absent {
        if let Some(x) = body.pointer(ptr) {
            v.fail(fail(
                Expected::Absent {
                    pointer: ptr.clone(),
                },
                Actual::Value {
                    pointer: ptr.clone(),
                    value: Some(x.clone()),
                },
            ));
        }
    }
    Ok(false)
}

/// One page as seen: the request, the answer, its items.
struct Page {
    number: u64,
    req: Request,
    resp: Response,
    items: Vec<Value>,
}

/// Walk all pages, then judge. What is judged, and on what basis:
/// - every page holds at most `size` items, and the concatenated order follows `sort`: the
///   profile's paging basis;
/// - `total` is the count on every page: the profile's count basis;
/// - the filter selects exactly the expected items, pages hold min(size, rest): the step's
///   basis (it depends on how the filter matches);
/// - no item on two pages, none missing: only where the order is total. Where items tie on
///   the sort field, no document promises a stable order among them, so repeats and gaps
///   among ties are advisories.
async fn paginate(
    p: &Paginate,
    st: &Step,
    ctx: &VersionCtx<'_>,
    b: &Bindings,
    case: &str,
    label: &str,
) {
    let check = st.check_id().unwrap_or(CheckId::PaginationInvariants);
    let step_basis = st.expectation_basis();
    let Some(paging) = &ctx.profile.paging else {
        not_sent(
            ctx,
            st,
            case,
            label,
            "the profile declares no paging".into(),
            None,
        );
        return;
    };
    let total = render(&p.total, b)
        .ok()
        .and_then(|v| v.as_u64().or_else(|| text(&v).parse().ok()));
    let Some(total) = total else {
        not_sent(
            ctx,
            st,
            case,
            label,
            format!("total {} is not a number", p.total),
            None,
        );
        return;
    };
    let size = p.size as u64;
    let pages_needed = total.div_ceil(size).max(1);
    let mut pages: Vec<Page> = Vec::new();
    let mut number = paging.first_page;
    while number < paging.first_page + pages_needed + 1 {
        let extra = vec![
            (paging.size.clone(), size.to_string()),
            (paging.page.clone(), number.to_string()),
        ];
        let req = match build_request(st, ctx, b, &extra) {
            Ok(r) => r,
            Err(e) => {
                not_sent(ctx, st, case, label, e, None);
                return;
            }
        };
        let page_case = format!("{case}/p{number}");
        let page_label = format!("{label} (page {number}, size {size})");
        let resp = match ctx
            .send(st.call.as_deref().unwrap_or_default(), &page_case, &req)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                ctx.recorder.record(
                    ctx.client,
                    Observation {
                        version: &ctx.version,
                        operation: &p.call,
                        case: &page_case,
                        label: &page_label,
                        request: Some(&req),
                        outcome: Outcome::Transport(&e),
                        verdicts: Verdicts::new(),
                    },
                );
                return;
            }
        };
        let items = resp
            .json
            .as_ref()
            .and_then(|j| j.pointer(&paging.items))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let empty = items.is_empty() || resp.status != 200;
        pages.push(Page {
            number,
            req,
            resp,
            items,
        });
        if empty {
            break;
        }
        number += 1;
    }
    // Whole-walk facts: the order field's values and whether they tie.
    let field_of = |it: &Value, f: &str| it.get(f).cloned().unwrap_or(Value::Null);
    let all_items: Vec<&Value> = pages.iter().flat_map(|pg| pg.items.iter()).collect();
    let ties = p.order_by.as_ref().is_some_and(|f| {
        let mut vals: Vec<String> = all_items.iter().map(|i| text(&field_of(i, f))).collect();
        vals.sort();
        vals.windows(2).any(|w| w[0] == w[1])
    });
    let tie_basis = Basis::assumed(format!(
        "items tie on {}: no document promises a stable order among ties",
        p.order_by.as_deref().unwrap_or("the sort field")
    ));
    let repeat_basis = if ties {
        tie_basis.clone()
    } else {
        paging.basis.clone()
    };
    let mut seen: Vec<Value> = Vec::new();
    let mut prev_last: Option<String> = None;
    let op = ctx.spec.operation(&p.call);
    for pg in &pages {
        let mut v = Verdicts::new();
        if let Some(op) = op {
            check_response(&ctx.scope(op), &Claim::Suite, &pg.resp, &mut v);
        }
        let fail = |e: Expected, a: Actual, basis: &Basis| {
            Failure::new(check, e, a).with_basis(basis.clone())
        };
        v.pass(check);
        if pg.resp.status != 200 {
            v.fail(fail(
                Expected::StatusIn {
                    statuses: vec![200],
                },
                status_actual(&pg.resp),
                &paging.basis,
            ));
        } else {
            let body = pg.resp.json.clone().unwrap_or(Value::Null);
            let count = body.pointer(&paging.total).and_then(Value::as_u64);
            if count != Some(total) {
                v.fail(fail(
                    Expected::Total {
                        pointer: paging.total.clone(),
                        total,
                    },
                    Actual::Value {
                        pointer: paging.total.clone(),
                        value: body.pointer(&paging.total).cloned(),
                    },
                    &ctx.profile.paging_total_basis(),
                ));
            }
            let n = pg.items.len() as u64;
            if n > size {
                v.fail(fail(
                    Expected::PageLength {
                        page: pg.number,
                        items: size,
                    },
                    Actual::Count { n },
                    &paging.basis,
                ));
            } else {
                let rest = total.saturating_sub((pg.number - paging.first_page) * size);
                let want = rest.min(size);
                if n != want {
                    v.fail(fail(
                        Expected::PageLength {
                            page: pg.number,
                            items: want,
                        },
                        Actual::Count { n },
                        &step_basis,
                    ));
                }
            }
            if let Some((field, needle)) = &p.contains {
                let needle = render(needle, b).map(|v| text(&v)).unwrap_or_default();
                if let Some(bad) = pg
                    .items
                    .iter()
                    .map(|it| text(&field_of(it, field)))
                    .find(|x| !x.contains(&needle))
                {
                    v.fail(fail(
                        Expected::EveryContains {
                            field: field.clone(),
                            needle,
                        },
                        Actual::Value {
                            pointer: format!("/{field}"),
                            value: Some(Value::String(bad)),
                        },
                        &step_basis,
                    ));
                }
            }
            for it in &pg.items {
                let id = field_of(it, &paging.id);
                if seen.contains(&id) {
                    v.fail(fail(
                        Expected::NoRepeats,
                        Actual::Repeated { id: id.clone() },
                        &repeat_basis,
                    ));
                }
                seen.push(id);
            }
            if let Some(f) = &p.order_by {
                let mut vals: Vec<String> = prev_last.iter().cloned().collect();
                vals.extend(pg.items.iter().map(|i| text(&field_of(i, f))));
                let ordered = vals.windows(2).all(|w| {
                    if p.descending {
                        w[0] >= w[1]
                    } else {
                        w[0] <= w[1]
                    }
                });
                if !ordered {
                    v.fail(fail(
                        Expected::Ordered {
                            field: f.clone(),
                            descending: p.descending,
                        },
                        Actual::Values {
                            field: f.clone(),
                            values: vals.into_iter().map(Value::String).collect(),
                        },
                        &paging.basis,
                    ));
                }
                prev_last = pg.items.last().map(|i| text(&field_of(i, f))).or(prev_last);
            }
        }
        ctx.recorder.record(
            ctx.client,
            Observation {
                version: &ctx.version,
                operation: &p.call,
                case: &format!("{case}/p{}", pg.number),
                label: &format!("{label} (page {}, size {size})", pg.number),
                request: Some(&pg.req),
                outcome: Outcome::Response(&pg.resp),
                verdicts: v,
            },
        );
    }
    let distinct = {
        let mut d = seen.clone();
        d.sort_by_key(|x| x.to_string());
        d.dedup();
        d.len() as u64
    };
    if distinct != total {
        let basis = if ties { tie_basis } else { step_basis };
        let mut v = Verdicts::new();
        v.fail(
            Failure::new(
                check,
                Expected::ItemsOverAllPages { total },
                Actual::Count { n: distinct },
            )
            .with_basis(basis),
        );
        ctx.recorder.record(
            ctx.client,
            Observation {
                version: &ctx.version,
                operation: &p.call,
                case,
                label,
                request: None,
                outcome: Outcome::NotSent,
                verdicts: v,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_points_name_the_step_and_length() {
        let p = replay_point("1.3/suite/crypto/4/len17/2", "1.3/suite/crypto").unwrap();
        assert_eq!((p.step, p.len), (4, Some(17)));
        let p = replay_point("1.3/suite/crypto/7.2", "1.3/suite/crypto").unwrap();
        assert_eq!((p.step, p.len), (7, None));
        assert!(replay_point("1.3/suite/other/1", "1.3/suite/crypto").is_none());
    }

    #[test]
    fn steps_without_basis_or_with_zero_page_size_are_refused() {
        let st: Step = serde_json::from_str(
            r#"{"call": "x", "check": "persistence", "expect": {"status": 200}}"#,
        )
        .unwrap();
        assert!(st.validate("step 1").unwrap_err().contains("basis"));
        let st: Step = serde_json::from_str(
            r#"{"paginate": {"call": "x", "size": 0, "total": 1}, "check": "pagination_invariants", "basis": "assumed: x"}"#,
        )
        .unwrap();
        assert!(st.validate("step 1").unwrap_err().contains("size"));
        let bad: Result<Step, _> = serde_json::from_str(r#"{"call": "x", "basis": "guess"}"#);
        assert!(bad.is_err());
    }
}
