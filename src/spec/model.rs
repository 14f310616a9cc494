//! The one typed view of an OpenAPI 3.1 document the engine works with: its operations (with
//! parameters, request body, documented responses and where the document states them) and
//! the one `$ref` resolver. Built once per version when a spec directory is loaded; a
//! document that cannot be read this way is an input error before any request is sent.

use serde_json::Value;
use std::collections::BTreeMap;

/// `$ref` chains deeper than this are treated as cycles.
const MAX_REF_HOPS: usize = 32;

/// Follows local `$ref`s (`#/…` JSON pointers into `doc`) to the schema they name. A
/// dangling or cyclic reference yields `true` (anything); loading rejects dangling ones, so
/// in a loaded spec this only guards against cycles.
pub fn resolve<'a>(schema: &'a Value, doc: &'a Value) -> &'a Value {
    static TRUE: Value = Value::Bool(true);
    let mut cur = schema;
    for _ in 0..MAX_REF_HOPS {
        match cur.get("$ref").and_then(Value::as_str) {
            Some(r) => match r.strip_prefix('#').and_then(|p| doc.pointer(p)) {
                Some(t) => cur = t,
                None => return &TRUE,
            },
            None => return cur,
        }
    }
    &TRUE
}

/// Every local `$ref` in `doc` that names nothing, as (pointer of the `$ref`, target).
pub fn dangling_refs(doc: &Value) -> Vec<(String, String)> {
    fn walk(doc: &Value, v: &Value, at: &mut String, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(o) => {
                if let Some(r) = o.get("$ref").and_then(Value::as_str) {
                    let ok = r
                        .strip_prefix('#')
                        .is_some_and(|p| doc.pointer(p).is_some());
                    if !ok {
                        out.push((format!("{at}/$ref"), r.to_string()));
                    }
                }
                for (k, x) in o {
                    let len = at.len();
                    at.push('/');
                    at.push_str(&k.replace('~', "~0").replace('/', "~1"));
                    walk(doc, x, at, out);
                    at.truncate(len);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    let len = at.len();
                    at.push_str(&format!("/{i}"));
                    walk(doc, x, at, out);
                    at.truncate(len);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, doc, &mut String::new(), &mut out);
    out
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    /// "path" or "query" (header and cookie parameters belong to the transport).
    pub location: String,
    pub required: bool,
    pub schema: Value,
    /// The parameter object, for annotations (`x-kmsconform-basis`).
    pub raw: Value,
}

/// A documented response of an operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The JSON body schema, when the response documents one.
    pub schema: Option<Value>,
    /// The response object, for annotations.
    pub raw: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub operation_id: String,
    /// Upper case, as sent on the wire ("GET").
    pub method: String,
    /// Path template, e.g. "/v1/things/{id}".
    pub path: String,
    pub params: Vec<Param>,
    /// JSON request body schema (may be a `$ref`).
    pub body: Option<Value>,
    pub body_required: bool,
    /// Documented statuses ("default" and ranges such as "4XX" are left out).
    pub responses: BTreeMap<u16, Response>,
    /// The operation object, for annotations (`x-kmsconform-doc`, `x-kmsconform-basis`).
    pub raw: Value,
}

impl Operation {
    pub fn documented_statuses(&self) -> Vec<u16> {
        self.responses.keys().copied().collect()
    }
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

/// Why a document cannot be read as operations: (JSON pointer, reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pointer}: {reason}")]
pub struct ShapeError {
    pub pointer: String,
    pub reason: String,
}

fn shape(pointer: impl Into<String>, reason: impl Into<String>) -> ShapeError {
    ShapeError {
        pointer: pointer.into(),
        reason: reason.into(),
    }
}

fn esc(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Every operation in `doc`, in document order; path-level parameters are merged with (and
/// overridden by) operation-level ones. Structural problems are errors, not guesses.
pub fn operations(doc: &Value) -> Result<Vec<Operation>, ShapeError> {
    let mut out = Vec::new();
    let paths = match doc.get("paths") {
        None => return Ok(out),
        Some(Value::Object(p)) => p,
        Some(_) => return Err(shape("/paths", "not an object")),
    };
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in paths {
        let at = format!("/paths/{}", esc(path));
        if !path.starts_with('/') {
            return Err(shape(&at, "a path must start with '/'"));
        }
        let item = resolve(item, doc);
        if !item.is_object() {
            return Err(shape(&at, "a path item must be an object"));
        }
        let shared = item.get("parameters");
        for m in METHODS {
            let Some(op) = item.get(m) else { continue };
            let at = format!("{at}/{m}");
            if !op.is_object() {
                return Err(shape(&at, "an operation must be an object"));
            }
            let operation_id = match op.get("operationId") {
                None => format!("{} {path}", m.to_uppercase()),
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                Some(_) => {
                    return Err(shape(
                        format!("{at}/operationId"),
                        "must be a non-empty string",
                    ))
                }
            };
            if !ids.insert(operation_id.clone()) {
                return Err(shape(
                    format!("{at}/operationId"),
                    format!("'{operation_id}' is used by two operations"),
                ));
            }
            let mut params: Vec<Param> = Vec::new();
            for (where_, list) in [("", shared), ("op", op.get("parameters"))] {
                let Some(list) = list else { continue };
                let list_at = if where_.is_empty() {
                    format!("/paths/{}/parameters", esc(path))
                } else {
                    format!("{at}/parameters")
                };
                let list = list
                    .as_array()
                    .ok_or_else(|| shape(&list_at, "parameters must be an array"))?;
                for (i, p) in list.iter().enumerate() {
                    let p = resolve(p, doc);
                    let (Some(name), Some(loc)) = (
                        p.get("name").and_then(Value::as_str),
                        p.get("in").and_then(Value::as_str),
                    ) else {
                        return Err(shape(
                            format!("{list_at}/{i}"),
                            "a parameter needs a string 'name' and 'in'",
                        ));
                    };
                    if loc != "path" && loc != "query" {
                        continue;
                    }
                    params.retain(|q| !(q.name == name && q.location == loc));
                    params.push(Param {
                        name: name.to_string(),
                        location: loc.to_string(),
                        required: loc == "path"
                            || p.get("required").and_then(Value::as_bool) == Some(true),
                        schema: p.get("schema").cloned().unwrap_or(Value::Bool(true)),
                        raw: p.clone(),
                    });
                }
            }
            let rb = op.get("requestBody").map(|b| resolve(b, doc));
            let body = rb.and_then(|b| b.get("content")).and_then(|c| {
                let c = c.as_object()?;
                c.get("application/json")
                    .or_else(|| c.iter().find(|(k, _)| k.contains("json")).map(|kv| kv.1))
                    .and_then(|mt| mt.get("schema").cloned())
            });
            let responses = match op.get("responses") {
                None => BTreeMap::new(),
                Some(Value::Object(r)) => {
                    let mut out = BTreeMap::new();
                    for (status, resp) in r {
                        let Ok(code) = status.parse::<u16>() else {
                            continue;
                        };
                        if !(100..=599).contains(&code) {
                            return Err(shape(
                                format!("{at}/responses/{status}"),
                                "not an HTTP status",
                            ));
                        }
                        let resp = resolve(resp, doc);
                        if !resp.is_object() {
                            return Err(shape(
                                format!("{at}/responses/{status}"),
                                "a response must be an object",
                            ));
                        }
                        let schema = resp
                            .get("content")
                            .and_then(Value::as_object)
                            .and_then(|c| {
                                c.get("application/json").or_else(|| {
                                    c.iter().find(|(k, _)| k.contains("json")).map(|kv| kv.1)
                                })
                            })
                            .and_then(|mt| mt.get("schema").cloned());
                        out.insert(
                            code,
                            Response {
                                schema,
                                raw: resp.clone(),
                            },
                        );
                    }
                    out
                }
                Some(_) => return Err(shape(format!("{at}/responses"), "must be an object")),
            };
            out.push(Operation {
                operation_id,
                method: m.to_uppercase(),
                path: path.clone(),
                params,
                body_required: body.is_some()
                    && rb.and_then(|b| b.get("required")).and_then(Value::as_bool) == Some(true),
                body,
                responses,
                raw: op.clone(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn structural_problems_name_their_pointer() {
        let bad = json!({"paths": {"/x": {"get": {"operationId": 42, "responses": {}}}}});
        let e = operations(&bad).unwrap_err();
        assert_eq!(e.pointer, "/paths/~1x/get/operationId");
        let bad = json!({"paths": {"/x": {"get": {"operationId": "a", "responses": "nope"}}}});
        assert_eq!(
            operations(&bad).unwrap_err().pointer,
            "/paths/~1x/get/responses"
        );
        let dup =
            json!({"paths": {"/x": {"get": {"operationId": "a"}, "put": {"operationId": "a"}}}});
        assert!(operations(&dup)
            .unwrap_err()
            .reason
            .contains("two operations"));
    }

    #[test]
    fn responses_parameters_and_refs() {
        let doc = json!({
            "paths": {"/k/{id}": {
                "parameters": [{"name": "id", "in": "path", "schema": {"type": "string"}}],
                "get": {"operationId": "show",
                        "parameters": [{"$ref": "#/components/parameters/V"}, {"name": "q", "in": "query", "required": true}],
                        "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/K"}}}}, "404": {"description": "x"}, "default": {}}}}},
            "components": {"parameters": {"V": {"name": "V", "in": "header"}}, "schemas": {"K": {"type": "object"}}}
        });
        let ops = operations(&doc).unwrap();
        assert_eq!(ops.len(), 1);
        let op = &ops[0];
        assert_eq!(op.documented_statuses(), vec![200, 404]);
        assert_eq!(op.params.len(), 2, "header parameters are the transport's");
        assert!(op.params.iter().all(|p| p.required));
        assert!(op.responses[&200].schema.is_some() && op.responses[&404].schema.is_none());
        assert!(dangling_refs(&doc).is_empty());
        let mut broken = doc.clone();
        broken["components"]["schemas"] = json!({});
        assert_eq!(
            dangling_refs(&broken),
            vec![(
                "/paths/~1k~1{id}/get/responses/200/content/application~1json/schema/$ref"
                    .to_string(),
                "#/components/schemas/K".to_string()
            )]
        );
    }
}
