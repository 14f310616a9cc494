//! Operations of an OpenAPI document as parameter/body schemas, and valid/invalid
//! requests generated from them. Header parameters are left out: signing and version
//! headers are the transport's business.

use super::mutate::{leaf_faults, raw_body_violations, violations};
use super::schema_gen::{allowed_types, resolve, valid_strategy};
use crate::spec::validate::SchemaSet;
use proptest::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;

/// An operation and its parameters, as the spec model reads them.
pub use crate::spec::model::{Operation as OperationSchema, Param as ParamSchema};

#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedRequest {
    pub operation_id: String,
    /// Raw (unencoded) values; the caller percent-encodes and may override them.
    pub path_params: BTreeMap<String, String>,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    /// Sent verbatim instead of `body` when set (malformed JSON cases).
    pub raw_body: Option<String>,
    pub valid: bool,
    pub label: String,
    /// For an invalid request: which constraint it breaks (to find that constraint's basis).
    pub violation: Option<ViolationSite>,
}

/// Where an invalid request breaks the spec.
#[derive(Debug, Clone, PartialEq)]
pub enum ViolationSite {
    /// `keyword` of the body schema at instance location `pointer`.
    Body { pointer: String, keyword: String },
    /// `keyword` of query parameter `name` (`required` when it was left out).
    Query { name: String, keyword: String },
    /// The required body was left out.
    BodyMissing,
    /// The body is not the JSON object the operation takes.
    BodyMalformed,
}

/// Every operation in `doc`, in document order (none when the document is malformed;
/// loading a spec directory reports why).
pub fn operations(doc: &Value) -> Vec<OperationSchema> {
    crate::spec::model::operations(doc).unwrap_or_default()
}

/// Query/path rendering of a JSON value: None for null (omitted), one string per array
/// element (form style, explode), JSON text for objects.
pub fn render(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(a) => Some(a.iter().filter_map(render).flatten().collect()),
        Value::Object(_) => Some(vec![v.to_string()]),
        _ => Some(vec![v.to_string()]),
    }
}

/// How a server decodes a query string value for `schema`: number/boolean when the schema
/// admits that type and the text parses, the string otherwise.
pub fn coerce(s: &str, schema: &Value, doc: &Value) -> Value {
    let types = allowed_types(schema, doc).unwrap_or_default();
    let has = |t: &str| types.iter().any(|x| x == t);
    if has("integer") || has("number") {
        if let Ok(i) = s.parse::<i64>() {
            return Value::from(i);
        }
    }
    if has("number") {
        if let Some(n) = s.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
            return Value::Number(n);
        }
    }
    if has("boolean") && (s == "true" || s == "false") {
        return Value::Bool(s == "true");
    }
    Value::String(s.to_string())
}

/// Path parameters must not be empty (the URL would change shape), so plain strings get
/// minLength 1.
fn path_schema(schema: &Value, doc: &Value) -> Value {
    let s = resolve(schema, doc);
    match s.as_object() {
        Some(o)
            if o.get("type") == Some(&Value::from("string")) && !o.contains_key("minLength") =>
        {
            let mut o = o.clone();
            o.insert("minLength".into(), 1.into());
            Value::Object(o)
        }
        _ => schema.clone(),
    }
}

/// Valid requests: required parameters always, optional ones about half the time.
pub fn valid_request_strategy(
    op: &OperationSchema,
    doc: &Value,
) -> BoxedStrategy<GeneratedRequest> {
    let mut names = Vec::new();
    let mut strategies = Vec::new();
    for p in &op.params {
        let st = if p.location == "path" {
            valid_strategy(&path_schema(&p.schema, doc), doc)
                .prop_map(Some)
                .boxed()
        } else if p.required {
            valid_strategy(&p.schema, doc).prop_map(Some).boxed()
        } else {
            proptest::option::of(valid_strategy(&p.schema, doc)).boxed()
        };
        names.push((p.name.clone(), p.location == "path"));
        strategies.push(st);
    }
    let body = match (&op.body, op.body_required) {
        (Some(s), true) => valid_strategy(s, doc).prop_map(Some).boxed(),
        (Some(s), false) => proptest::option::of(valid_strategy(s, doc)).boxed(),
        (None, _) => Just(None).boxed(),
    };
    let id = op.operation_id.clone();
    (strategies, body)
        .prop_map(move |(vals, body)| {
            let mut req = GeneratedRequest {
                operation_id: id.clone(),
                path_params: BTreeMap::new(),
                query: Vec::new(),
                body,
                raw_body: None,
                valid: true,
                label: "valid".into(),
                violation: None,
            };
            for ((name, is_path), v) in names.iter().zip(vals) {
                let Some(rendered) = v.as_ref().and_then(render) else {
                    continue;
                };
                if *is_path {
                    req.path_params.insert(name.clone(), rendered.join(","));
                } else {
                    req.query
                        .extend(rendered.into_iter().map(|s| (name.clone(), s)));
                }
            }
            req
        })
        .boxed()
}

/// Single-fault invalid variants of the valid request `base`: body violations, query
/// parameter type/bound/pattern faults, missing required query parameters and body, and
/// malformed raw bodies. Path parameters are left alone (callers choose them).
pub fn invalid_requests(
    op: &OperationSchema,
    doc: &Value,
    base: &GeneratedRequest,
    schemas: &SchemaSet,
) -> Vec<GeneratedRequest> {
    let mut out = Vec::new();
    let variant = |label: String| GeneratedRequest {
        valid: false,
        label,
        ..base.clone()
    };
    if let (Some(schema), Some(body)) = (&op.body, &base.body) {
        for v in violations(schema, doc, body, schemas) {
            let sem = if v.semantic { " (semantic)" } else { "" };
            let mut r = variant(format!("body {}{sem}", v.label));
            r.violation = Some(ViolationSite::Body {
                pointer: v.pointer.clone(),
                keyword: v.keyword().to_string(),
            });
            r.body = Some(v.value);
            out.push(r);
        }
    }
    for p in op.params.iter().filter(|p| p.location == "query") {
        let current = base.query.iter().find(|(n, _)| *n == p.name);
        if p.required && current.is_some() {
            let mut r = variant(format!("query {}: required parameter missing", p.name));
            r.violation = Some(ViolationSite::Query {
                name: p.name.clone(),
                keyword: "required".into(),
            });
            r.query.retain(|(n, _)| *n != p.name);
            out.push(r);
        }
        let cur = current.map_or(Value::Null, |(_, s)| coerce(s, &p.schema, doc));
        let mut seen = Vec::new();
        for f in leaf_faults(&p.schema, doc, &cur)
            .into_iter()
            .filter(|f| !f.semantic)
        {
            // Only faults that survive rendering to text and the server's decoding count.
            let Some(text) = render(&f.value)
                .filter(|t| t.len() == 1)
                .map(|t| t[0].clone())
            else {
                continue;
            };
            let decoded = coerce(&text, &p.schema, doc);
            if seen.contains(&text)
                || !schemas
                    .errors(&p.schema, &decoded)
                    .is_ok_and(|e| !e.is_empty())
            {
                continue;
            }
            let mut r = variant(format!("query {}: {} ({}={text})", p.name, f.label, p.name));
            r.violation = Some(ViolationSite::Query {
                name: p.name.clone(),
                keyword: f.keyword().to_string(),
            });
            r.query.retain(|(n, _)| *n != p.name);
            r.query.push((p.name.clone(), text.clone()));
            seen.push(text);
            out.push(r);
        }
        // An empty value (`size=`) is a value, not an absent parameter: where the schema
        // refuses the empty string (an integer, a boolean), it is a fault of its type.
        let empty = coerce("", &p.schema, doc);
        if !seen.iter().any(|t| t.is_empty())
            && schemas
                .errors(&p.schema, &empty)
                .is_ok_and(|e| !e.is_empty())
        {
            let mut r = variant(format!("query {}: empty value ({}=)", p.name, p.name));
            r.violation = Some(ViolationSite::Query {
                name: p.name.clone(),
                keyword: "type".into(),
            });
            r.query.retain(|(n, _)| *n != p.name);
            r.query.push((p.name.clone(), String::new()));
            out.push(r);
        }
    }
    if op.body.is_some() {
        if op.body_required {
            let mut r = variant("body: required request body missing".into());
            r.violation = Some(ViolationSite::BodyMissing);
            r.body = None;
            out.push(r);
        }
        for (label, raw) in raw_body_violations() {
            // An empty body of an operation whose body is optional is no body: valid.
            if raw.is_empty() && !op.body_required {
                continue;
            }
            let mut r = variant(format!("body: malformed ({label})"));
            r.violation = Some(ViolationSite::BodyMalformed);
            r.body = None;
            r.raw_body = Some(raw);
            out.push(r);
        }
    }
    out
}
