//! Structural differences between two OpenAPI documents, as named rules in the manner of
//! oasdiff. Used for the version registry's declared changes and by `spec diff`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    Warning,
    Breaking,
}

/// One difference. `location` is a body path (`key.managed_type`, `keys[].id`) or a parameter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Change {
    pub id: String,
    pub level: Level,
    pub operation: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub location: Option<String>,
    pub text: String,
}

/// A flattened view of a body schema: path → facts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldFacts {
    pub types: BTreeSet<String>,
    pub format: Option<String>,
    pub enumeration: Option<Vec<Value>>,
    pub pattern: Option<String>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub default: Option<Value>,
    pub required: bool,
}

pub struct Resolver<'a> {
    schemas: Option<&'a Map<String, Value>>,
}

impl<'a> Resolver<'a> {
    pub fn new(doc: &'a Value) -> Self {
        Self {
            schemas: doc
                .pointer("/components/schemas")
                .and_then(Value::as_object),
        }
    }
    pub fn resolve(&self, s: &'a Value) -> &'a Value {
        let mut cur = s;
        for _ in 0..16 {
            match cur
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.rsplit('/').next())
            {
                Some(name) => match self.schemas.and_then(|m| m.get(name)) {
                    Some(t) => cur = t,
                    None => return cur,
                },
                None => return cur,
            }
        }
        cur
    }

    /// Every path under `schema` with its facts. `depth` guards recursive models.
    pub fn flatten(&self, schema: &'a Value) -> BTreeMap<String, FieldFacts> {
        let mut out = BTreeMap::new();
        self.walk(schema, String::new(), true, &mut out, 0);
        out
    }

    fn walk(
        &self,
        schema: &'a Value,
        path: String,
        required: bool,
        out: &mut BTreeMap<String, FieldFacts>,
        depth: usize,
    ) {
        if depth > 12 {
            return;
        }
        let s = self.resolve(schema);
        let mut facts = FieldFacts {
            required,
            ..Default::default()
        };
        // The schema's own keywords hold beside anyOf (e.g. properties plus "one of these
        // is required"); allOf members all hold.
        let own = ["type", "properties", "items", "enum", "format", "pattern"]
            .iter()
            .any(|k| s.get(*k).is_some());
        let mut alts: Vec<&Value> = match s.get("anyOf").and_then(Value::as_array) {
            Some(a) => {
                let mut v: Vec<&Value> = if own { vec![s] } else { Vec::new() };
                v.extend(a.iter().map(|x| self.resolve(x)));
                v
            }
            None => vec![s],
        };
        for x in s
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            alts.push(self.resolve(x));
        }
        for a in &alts {
            match a.get("type") {
                Some(Value::String(t)) => {
                    facts.types.insert(t.clone());
                }
                Some(Value::Array(ts)) => facts
                    .types
                    .extend(ts.iter().filter_map(Value::as_str).map(String::from)),
                _ if a.get("properties").is_some() => {
                    facts.types.insert("object".into());
                }
                _ => {}
            }
            facts.format = facts
                .format
                .or_else(|| a.get("format").and_then(Value::as_str).map(String::from));
            facts.pattern = facts
                .pattern
                .or_else(|| a.get("pattern").and_then(Value::as_str).map(String::from));
            facts.min_length = facts
                .min_length
                .or_else(|| a.get("minLength").and_then(Value::as_u64));
            facts.default = facts.default.or_else(|| a.get("default").cloned());
            facts.max_length = facts
                .max_length
                .or_else(|| a.get("maxLength").and_then(Value::as_u64));
            if let Some(e) = a.get("enum").and_then(Value::as_array) {
                facts.enumeration = Some(e.clone());
            }
        }
        if !path.is_empty() {
            out.insert(path.clone(), facts);
        }
        for a in alts {
            if let Some(props) = a.get("properties").and_then(Value::as_object) {
                let req: BTreeSet<&str> = a
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                for (k, v) in props {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    self.walk(v, p, req.contains(k.as_str()), out, depth + 1);
                }
            }
            if let Some(items) = a.get("items") {
                self.walk(items, format!("{path}[]"), true, out, depth + 1);
            }
        }
    }
}

/// operationId → (method, path, operation object).
pub fn operations(doc: &Value) -> BTreeMap<String, (String, String, &Value)> {
    let mut out = BTreeMap::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            for (method, op) in item.as_object().into_iter().flatten() {
                if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                    out.insert(id.to_string(), (method.clone(), path.clone(), op));
                }
            }
        }
    }
    out
}

fn json_body(v: &Value) -> Option<&Value> {
    v.pointer("/content/application~1json/schema")
}

pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let (ro, rn) = (Resolver::new(old), Resolver::new(new));
    let (oo, on) = (operations(old), operations(new));
    let mut out = Vec::new();
    let ch =
        |id: &str, level, op: &str, status: Option<&str>, loc: Option<String>, text: String| {
            Change {
                id: id.into(),
                level,
                operation: op.into(),
                status: status.map(String::from),
                location: loc,
                text,
            }
        };
    // Operations on one side only: removed (breaking) or added (info).
    for (from, to, id_, level, verb) in [
        (&oo, &on, "operation-removed", Level::Breaking, "removed"),
        (&on, &oo, "operation-added", Level::Info, "added"),
    ] {
        for (id, (m, p, _)) in from.iter().filter(|(id, _)| !to.contains_key(*id)) {
            out.push(ch(
                id_,
                level,
                id,
                None,
                None,
                format!("{} {p} {verb}", m.to_uppercase()),
            ));
        }
    }
    for (id, (mo, po, opo)) in &oo {
        let Some((mn, pn, opn)) = on.get(id) else {
            continue;
        };
        if (mo, po) != (mn, pn) {
            out.push(ch(
                "operation-path-changed",
                Level::Breaking,
                id,
                None,
                None,
                format!(
                    "{} {po} became {} {pn}",
                    mo.to_uppercase(),
                    mn.to_uppercase()
                ),
            ));
        }
        // Parameters by (in, name).
        let params = |op: &Value,
                      r: &Resolver,
                      doc: &Value|
         -> BTreeMap<(String, String), (bool, BTreeSet<String>)> {
            let mut m = BTreeMap::new();
            for p in op
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let p = resolve_param(p, doc);
                let (Some(i), Some(n)) = (
                    p.get("in").and_then(Value::as_str),
                    p.get("name").and_then(Value::as_str),
                ) else {
                    continue;
                };
                let types = p
                    .get("schema")
                    .map(|s| r.flatten_root(s).types)
                    .unwrap_or_default();
                m.insert(
                    (i.to_string(), n.to_string()),
                    (p.get("required") == Some(&Value::Bool(true)), types),
                );
            }
            m
        };
        let (pa, pb) = (params(opo, &ro, old), params(opn, &rn, new));
        for (k, (req, _)) in &pb {
            if !pa.contains_key(k) {
                let (id2, lvl) = if *req {
                    ("request-parameter-required-added", Level::Breaking)
                } else {
                    ("request-parameter-optional-added", Level::Info)
                };
                out.push(ch(
                    id2,
                    lvl,
                    id,
                    None,
                    Some(format!("{}:{}", k.0, k.1)),
                    format!("{} parameter '{}' added", k.0, k.1),
                ));
            }
        }
        for (k, (ra, ta)) in &pa {
            if let Some((rb, _)) = pb.get(k).filter(|(rb, _)| rb != ra) {
                let (id2, lvl, became) = if *rb {
                    (
                        "request-parameter-became-required",
                        Level::Breaking,
                        "required",
                    )
                } else {
                    ("request-parameter-became-optional", Level::Info, "optional")
                };
                out.push(ch(
                    id2,
                    lvl,
                    id,
                    None,
                    Some(format!("{}:{}", k.0, k.1)),
                    format!("{} parameter '{}' became {became}", k.0, k.1),
                ));
            }
            match pb.get(k) {
                None => out.push(ch(
                    "request-parameter-removed",
                    Level::Breaking,
                    id,
                    None,
                    Some(format!("{}:{}", k.0, k.1)),
                    format!("{} parameter '{}' removed", k.0, k.1),
                )),
                Some((_, tb)) if ta != tb => out.push(ch(
                    "request-parameter-type-changed",
                    Level::Breaking,
                    id,
                    None,
                    Some(format!("{}:{}", k.0, k.1)),
                    format!("{} parameter '{}' type {:?} became {:?}", k.0, k.1, ta, tb),
                )),
                _ => {}
            }
        }
        // Request body.
        let (ba, bb) = (
            opo.get("requestBody").and_then(json_body),
            opn.get("requestBody").and_then(json_body),
        );
        match (ba, bb) {
            (Some(a), Some(b)) => body_diff(&mut out, id, None, ro.flatten(a), rn.flatten(b), true),
            (None, Some(_)) => out.push(ch(
                "request-body-added",
                Level::Breaking,
                id,
                None,
                None,
                "request body added".into(),
            )),
            (Some(_), None) => out.push(ch(
                "request-body-removed",
                Level::Warning,
                id,
                None,
                None,
                "request body removed".into(),
            )),
            (None, None) => {}
        }
        // Responses by status (extension keys such as `x-kmsconform-basis` are no status).
        let statuses = |op: &Value| -> Map<String, Value> {
            op.get("responses")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter(|(k, _)| !k.starts_with("x-"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        let (ra, rb) = (&statuses(opo), &statuses(opn));
        for s in rb.keys().filter(|s| !ra.contains_key(*s)) {
            let lvl = if s.starts_with('2') {
                Level::Breaking
            } else {
                Level::Info
            };
            out.push(ch(
                "response-status-added",
                lvl,
                id,
                Some(s),
                None,
                format!("status {s} added"),
            ));
        }
        for (s, a) in ra {
            let Some(b) = rb.get(s) else {
                let lvl = if s.starts_with('2') {
                    Level::Breaking
                } else {
                    Level::Info
                };
                out.push(ch(
                    "response-status-removed",
                    lvl,
                    id,
                    Some(s),
                    None,
                    format!("status {s} removed"),
                ));
                continue;
            };
            if let (Some(x), Some(y)) = (json_body(a), json_body(b)) {
                body_diff(&mut out, id, Some(s), ro.flatten(x), rn.flatten(y), false);
            }
        }
    }
    out.sort();
    out
}

impl<'a> Resolver<'a> {
    pub fn flatten_root(&self, s: &'a Value) -> FieldFacts {
        let mut m = BTreeMap::new();
        self.walk(s, "$".into(), true, &mut m, 0);
        m.remove("$").unwrap_or_default()
    }
}

/// Follow a `#/components/parameters/X` reference.
fn resolve_param<'a>(p: &'a Value, doc: &'a Value) -> &'a Value {
    match p
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
    {
        Some(ptr) => doc.pointer(ptr).unwrap_or(p),
        None => p,
    }
}

fn body_diff(
    out: &mut Vec<Change>,
    op: &str,
    status: Option<&str>,
    a: BTreeMap<String, FieldFacts>,
    b: BTreeMap<String, FieldFacts>,
    request: bool,
) {
    let side = if request { "request" } else { "response" };
    let mk = |id: String, level, loc: &str, text: String| Change {
        id,
        level,
        operation: op.into(),
        status: status.map(String::from),
        location: Some(loc.into()),
        text,
    };
    // A removed or added subtree is reported once, at its root.
    let under = |p: &str, set: &BTreeSet<&String>| {
        set.iter()
            .any(|q| p.starts_with(&format!("{q}.")) || p.starts_with(&format!("{q}[]")))
    };
    let added: BTreeSet<&String> = b.keys().filter(|k| !a.contains_key(*k)).collect();
    let removed: BTreeSet<&String> = a.keys().filter(|k| !b.contains_key(*k)).collect();
    for k in &added {
        if under(k, &added) {
            continue;
        }
        let f = &b[*k];
        let (id, lvl) = match (request, f.required) {
            (true, true) => (
                "request-property-required-added".to_string(),
                Level::Breaking,
            ),
            (true, false) => ("request-property-optional-added".to_string(), Level::Info),
            (false, _) => ("response-property-added".to_string(), Level::Info),
        };
        out.push(mk(id, lvl, k, format!("{side} property '{k}' added")));
    }
    for k in &removed {
        if under(k, &removed) {
            continue;
        }
        let lvl = if request {
            Level::Warning
        } else {
            Level::Breaking
        };
        out.push(mk(
            format!("{side}-property-removed"),
            lvl,
            k,
            format!("{side} property '{k}' removed"),
        ));
    }
    for (k, fa) in &a {
        let Some(fb) = b.get(k) else { continue };
        if fa.types != fb.types || fa.format != fb.format {
            let nullable_only = {
                let (mut x, mut y) = (fa.types.clone(), fb.types.clone());
                x.remove("null");
                y.remove("null");
                x == y && fa.format == fb.format
            };
            if nullable_only {
                let became = fb.types.contains("null");
                let lvl = if became != request {
                    Level::Breaking
                } else {
                    Level::Info
                };
                out.push(mk(
                    format!("{side}-property-nullability-changed"),
                    lvl,
                    k,
                    format!(
                        "{side} property '{k}' became {}",
                        if became { "nullable" } else { "non-nullable" }
                    ),
                ));
            } else {
                out.push(mk(
                    format!("{side}-property-type-changed"),
                    Level::Breaking,
                    k,
                    format!(
                        "{side} property '{k}' type {:?}/{:?} became {:?}/{:?}",
                        fa.types, fa.format, fb.types, fb.format
                    ),
                ));
            }
        }
        if fa.enumeration != fb.enumeration {
            let (ea, eb) = (
                fa.enumeration.clone().unwrap_or_default(),
                fb.enumeration.clone().unwrap_or_default(),
            );
            let narrowed = fb.enumeration.is_some()
                && (fa.enumeration.is_none() || ea.iter().any(|v| !eb.contains(v)));
            // Narrowing a request enum or widening a response enum breaks clients.
            let breaking = if request { narrowed } else { !narrowed };
            let lvl = if breaking {
                Level::Breaking
            } else {
                Level::Info
            };
            out.push(mk(
                format!("{side}-property-enum-changed"),
                lvl,
                k,
                format!("{side} property '{k}' enum {ea:?} became {eb:?}"),
            ));
        }
        if fa.pattern != fb.pattern {
            out.push(mk(
                format!("{side}-property-pattern-changed"),
                Level::Warning,
                k,
                format!(
                    "{side} property '{k}' pattern {:?} became {:?}",
                    fa.pattern, fb.pattern
                ),
            ));
        }
        if (fa.min_length, fa.max_length) != (fb.min_length, fb.max_length) {
            out.push(mk(
                format!("{side}-property-length-changed"),
                Level::Warning,
                k,
                format!(
                    "{side} property '{k}' length {:?}..{:?} became {:?}..{:?}",
                    fa.min_length, fa.max_length, fb.min_length, fb.max_length
                ),
            ));
        }
        if request && fa.default != fb.default {
            let show = |d: &Option<Value>| d.as_ref().map_or("none".to_string(), Value::to_string);
            out.push(mk(
                "request-property-default-changed".into(),
                Level::Warning,
                k,
                format!(
                    "request property '{k}' default {} became {}",
                    show(&fa.default),
                    show(&fb.default)
                ),
            ));
        }
        if fa.required != fb.required {
            let (id, lvl) = match (request, fb.required) {
                (true, true) => ("request-property-became-required", Level::Breaking),
                (true, false) => ("request-property-became-optional", Level::Info),
                (false, true) => ("response-property-became-required", Level::Info),
                (false, false) => ("response-property-became-optional", Level::Breaking),
            };
            out.push(mk(
                id.into(),
                lvl,
                k,
                format!(
                    "{side} property '{k}' became {}",
                    if fb.required { "required" } else { "optional" }
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(key_props: Value, extra_op: bool) -> Value {
        let mut paths = json!({"/k": {"get": {"operationId": "showKey", "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Show"}}}}}}}});
        if extra_op {
            paths["/m"] = json!({"get": {"operationId": "listManaged", "responses": {"200": {"description": "OK"}}}});
        }
        json!({"paths": paths, "components": {"schemas": {
            "Show": {"type": "object", "properties": {"key": {"$ref": "#/components/schemas/Key"}}, "required": ["key"]},
            "Key": {"type": "object", "properties": key_props}
        }}})
    }

    #[test]
    fn response_property_and_operation_added() {
        let a = doc(json!({"id": {"type": "string"}}), false);
        let b = doc(
            json!({"id": {"type": "string"}, "managed_type": {"anyOf": [{"type": "string"}, {"type": "null"}]}}),
            true,
        );
        let d = diff(&a, &b);
        let ids: Vec<(&str, Option<&str>)> = d
            .iter()
            .map(|c| (c.id.as_str(), c.location.as_deref()))
            .collect();
        assert!(
            ids.contains(&("response-property-added", Some("key.managed_type"))),
            "{d:?}"
        );
        assert!(ids.contains(&("operation-added", None)), "{d:?}");
        assert!(d.iter().all(|c| c.level == Level::Info));
        let back = diff(&b, &a);
        assert!(back
            .iter()
            .any(|c| c.id == "operation-removed" && c.level == Level::Breaking));
        assert!(back
            .iter()
            .any(|c| c.id == "response-property-removed" && c.level == Level::Breaking));
    }

    #[test]
    fn request_default_change_is_a_warning() {
        let body = |d: Value| {
            json!({"paths": {"/s": {"post": {"operationId": "sign",
                "requestBody": {"content": {"application/json": {"schema": {"type": "object",
                    "properties": {"hash": {"type": "string", "default": d}}}}}},
                "responses": {"200": {"description": "OK"}}}}}})
        };
        let (a, b) = (body(json!("sha2-256")), body(json!("none")));
        let d = diff(&a, &b);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].id, "request-property-default-changed");
        assert_eq!(d[0].level, Level::Warning);
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn properties_beside_any_of_and_all_of_members_are_compared() {
        let body = |extra: Value| {
            json!({"paths": {"/v": {"post": {"operationId": "verify",
                "requestBody": {"content": {"application/json": {"schema": {"type": "object",
                    "properties": {"input": {"type": "string"}, "hash": extra},
                    "anyOf": [{"required": ["signature"]}, {"required": ["hmac"]}]}}}},
                "responses": {"200": {"content": {"application/json": {"schema": {
                    "allOf": [{"$ref": "#/components/schemas/Env"}],
                    "properties": {"data": {"type": "object"}}}}}}}}}},
             "components": {"schemas": {"Env": {"type": "object", "properties": {"request_id": extra}}}}})
        };
        let d = diff(
            &body(json!({"type": "string"})),
            &body(json!({"type": "integer"})),
        );
        let ids: Vec<(&str, Option<&str>)> = d
            .iter()
            .map(|c| (c.id.as_str(), c.location.as_deref()))
            .collect();
        assert!(
            ids.contains(&("request-property-type-changed", Some("hash"))),
            "{d:?}"
        );
        assert!(
            ids.contains(&("response-property-type-changed", Some("request_id"))),
            "{d:?}"
        );
    }

    #[test]
    fn type_change_is_breaking() {
        let a = doc(json!({"v": {"type": "integer"}}), false);
        let b = doc(json!({"v": {"type": "string"}}), false);
        assert!(diff(&a, &b)
            .iter()
            .any(|c| c.id == "response-property-type-changed" && c.level == Level::Breaking));
        assert!(diff(&a, &a).is_empty());
    }

    #[test]
    fn a_basis_on_the_responses_object_is_no_status() {
        let a = doc(json!({"id": {"type": "string"}}), false);
        let mut b = a.clone();
        b["paths"]["/k"]["get"]["responses"]["x-kmsconform-basis"] =
            json!("assumed: statuses copied from 1.1");
        assert!(diff(&a, &b).is_empty(), "{:?}", diff(&a, &b));
        assert!(diff(&b, &a).is_empty());
    }
}
