//! Single-operation API pages (one page per operation, field tables and example bodies), as
//! vendors other than SCP publish them. A format module per layout (`ncp.rs`, `otc.rs`) reads
//! its page into a [`Page`]; this module turns a page plus its overlay into one OpenAPI 3.1
//! document and the version registry. Nothing here knows a vendor.
//!
//! Every node the importer writes from the document carries `x-kmsconform-basis:
//! "documented: <document>:<line>"` and `x-kmsconform-doc` (the printed facts: line, type,
//! required column, timestamp unit, announced value lists) for `spec lint`. Every overlay
//! entry must carry its own basis; the import refuses one that does not.

use super::page_overlay::basis_of;
pub use super::page_overlay::{check_basis, PageOverlay, BASIS};
pub use super::page_text::{example_at, lenient_json, tables, Table};
use super::{ImportError, ImportOutput};
use crate::spec::overlay::merge_patch;
use crate::spec::registry::{Registry, VersionEntry};
use regex::Regex;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// The required column as printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Required {
    Yes,
    No,
    /// Printed as `-` (or empty): the document does not say.
    Unspecified,
}

impl Required {
    fn as_str(self) -> &'static str {
        match self {
            Required::Yes => "yes",
            Required::No => "no",
            Required::Unspecified => "-",
        }
    }
}

/// One row of a field table; nested rows (dotted names, referenced tables) as children.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    /// The type as printed (`String`, `Long`, `Array of objects`, …).
    pub ty: String,
    pub required: Required,
    pub description: String,
    pub line: usize,
    pub children: Vec<Field>,
}

/// An example body: its value (read leniently) and what kept it from being strict JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub value: Value,
    pub line: usize,
    pub problem: Option<String>,
}

/// What a format module reads from its page.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The API's name where the page prints it, and its line.
    pub api_title: Option<(String, usize)>,
    /// The operation's title (summary).
    pub title: String,
    pub description: String,
    /// Lower-case method and its line.
    pub method: Option<(String, usize)>,
    /// Path relative to the server, and its line.
    pub path: Option<(String, usize)>,
    /// Server URL (scheme, host and base path) from a request example, and its line.
    pub server: Option<(String, usize)>,
    pub path_params: Vec<Field>,
    pub body: Vec<Field>,
    pub response: Vec<Field>,
    pub request_example: Option<Example>,
    pub response_example: Option<Example>,
    pub error_examples: Vec<Example>,
    /// Header names the request example sends, with their lines.
    pub example_headers: Vec<(String, usize)>,
}

// ---------------------------------------------------------------------------------------------
// Field tables

/// The header labels of a layout's field tables, and how its required column reads.
pub struct Columns<'a> {
    pub name: &'a str,
    pub ty: &'a str,
    pub required: &'a str,
    pub description: &'a str,
    pub yes: &'a [&'a str],
    pub no: &'a [&'a str],
}

impl Columns<'_> {
    /// Whether `t` is a field table of this layout.
    pub fn matches(&self, t: &Table) -> bool {
        [self.name, self.ty, self.required, self.description]
            .iter()
            .all(|h| t.header.iter().any(|x| x == h))
    }

    /// The rows of `t` as flat fields (dotted names kept).
    pub fn fields(&self, t: &Table) -> Result<Vec<Field>, ImportError> {
        let col = |h: &str| {
            t.header.iter().position(|x| x == h).ok_or_else(|| {
                ImportError::at(t.line, format!("field table without a '{h}' column"))
            })
        };
        let (n, ty, rq, d) = (
            col(self.name)?,
            col(self.ty)?,
            col(self.required)?,
            col(self.description)?,
        );
        t.rows
            .iter()
            .map(|(line, cells)| {
                let r = cells[rq].as_str();
                let required = if self.yes.contains(&r) {
                    Required::Yes
                } else if self.no.contains(&r) {
                    Required::No
                } else if r.is_empty() || r == "-" {
                    Required::Unspecified
                } else {
                    return Err(ImportError::at(
                        *line,
                        format!("field '{}': unreadable required column '{r}'", cells[n]),
                    ));
                };
                if cells[n].is_empty() {
                    return Err(ImportError::at(*line, "field row without a name"));
                }
                Ok(Field {
                    name: cells[n].clone(),
                    ty: cells[ty].clone(),
                    required,
                    description: cells[d].clone(),
                    line: *line,
                    children: vec![],
                })
            })
            .collect()
    }
}

/// `data`, `data.keyId`, … -> `data { keyId }`. A dotted row needs its parent row first.
pub fn nest_dotted(flat: Vec<Field>) -> Result<Vec<Field>, ImportError> {
    fn insert(into: &mut Vec<Field>, path: &[&str], mut f: Field) -> Result<(), ImportError> {
        if path.len() == 1 {
            f.name = path[0].to_string();
            into.push(f);
            return Ok(());
        }
        let line = f.line;
        let parent = into.iter_mut().find(|p| p.name == path[0]).ok_or_else(|| {
            ImportError::at(
                line,
                format!("field '{}' comes before its parent '{}'", f.name, path[0]),
            )
        })?;
        insert(&mut parent.children, &path[1..], f)
    }
    let mut out = Vec::new();
    for f in flat {
        let name = f.name.clone();
        let path: Vec<&str> = name.split('.').collect();
        insert(&mut out, &path, f)?;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Fields -> JSON Schema

fn pascal(s: &str) -> String {
    let mut out = String::new();
    let mut up = true;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if up {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
            up = false;
        } else {
            up = true;
        }
    }
    out
}

/// Facts of a description cell, in English or Korean.
#[derive(Debug, Default, PartialEq)]
pub struct Facts {
    pub text: String,
    pub pattern: Option<String>,
    pub example: Option<String>,
    pub length: Option<u64>,
    pub default: Option<String>,
    /// `epoch-s` or `epoch-ms` when the text says the value counts seconds or milliseconds.
    pub unit: Option<&'static str>,
    /// The text announces a list of values (ends with `:`) but none follows.
    pub values_missing: bool,
}

pub fn description_facts(cell: &str) -> Facts {
    static RE: OnceLock<[Regex; 4]> = OnceLock::new();
    let [pattern, example, length, default] = RE.get_or_init(|| {
        [
            Regex::new(r"regular expression (\^\S*\$)").expect("regex"),
            Regex::new(r"Example:\s*(\S+)").expect("regex"),
            Regex::new(r"\b(\d+)-byte\b").expect("regex"),
            Regex::new(r"default value is ([^\s.,]+)").expect("regex"),
        ]
    });
    let text = cell.split_whitespace().collect::<Vec<_>>().join(" ");
    let lower = text.to_lowercase();
    let unit = if lower.contains("milliseconds") || text.contains("밀리초") {
        Some("epoch-ms")
    } else if lower.contains("seconds since") {
        Some("epoch-s")
    } else {
        None
    };
    Facts {
        pattern: pattern.captures(&text).map(|c| c[1].to_string()),
        example: example.captures(&text).map(|c| c[1].to_string()),
        length: length.captures(&text).and_then(|c| c[1].parse().ok()),
        default: default.captures(&text).map(|c| c[1].to_string()),
        unit,
        values_missing: text.ends_with(':'),
        text,
    }
}

/// JSON Schema of a printed type; None for a type this importer does not know.
fn type_schema(ty: &str) -> Option<Value> {
    let t = ty.trim().to_lowercase();
    Some(match t.as_str() {
        "string" => json!({"type": "string"}),
        "integer" | "int" => json!({"type": "integer"}),
        "long" => json!({"type": "integer", "format": "int64"}),
        "number" | "double" | "float" => json!({"type": "number"}),
        "boolean" => json!({"type": "boolean"}),
        "object" => json!({"type": "object"}),
        _ => {
            let item = t.strip_prefix("array of ")?;
            let item = item.trim_end_matches('s');
            json!({"type": "array", "items": type_schema(item)?})
        }
    })
}

fn b_basis(document: &str, line: usize) -> String {
    format!("documented: {document}:{line}")
}

struct Builder<'a> {
    document: &'a str,
    models: Map<String, Value>,
}

impl Builder<'_> {
    fn basis(&self, line: usize) -> String {
        b_basis(self.document, line)
    }

    /// An object model from rows; nested rows become models named `<model><Field>`.
    fn model(&mut self, name: &str, fields: &[Field], line: usize) -> Result<(), ImportError> {
        let mut props = Map::new();
        let mut required = Vec::new();
        for f in fields {
            props.insert(f.name.clone(), self.property(name, f)?);
            if f.required == Required::Yes {
                required.push(json!(f.name));
            }
        }
        let mut m = json!({"type": "object", "properties": props});
        if !required.is_empty() {
            m["required"] = Value::Array(required);
        }
        m["x-kmsconform-doc"] = json!({"line": line});
        m[BASIS] = json!(self.basis(line));
        self.models.insert(name.to_string(), m);
        Ok(())
    }

    fn property(&mut self, model: &str, f: &Field) -> Result<Value, ImportError> {
        let mut s = type_schema(&f.ty).ok_or_else(|| {
            ImportError::at(
                f.line,
                format!("field '{}': unknown type '{}'", f.name, f.ty),
            )
        })?;
        if !f.children.is_empty() {
            let child = format!("{model}{}", pascal(&f.name));
            self.model(&child, &f.children, f.line)?;
            let r = json!({"$ref": format!("#/components/schemas/{child}")});
            match s.get("type").and_then(Value::as_str) {
                Some("object") => s = r,
                Some("array") => s["items"] = r,
                _ => {
                    return Err(ImportError::at(
                        f.line,
                        format!("field '{}' has nested fields but type '{}'", f.name, f.ty),
                    ))
                }
            }
        }
        let facts = description_facts(&f.description);
        let o = s.as_object_mut().expect("schemas are objects");
        if !facts.text.is_empty() {
            o.insert("description".into(), json!(facts.text));
        }
        if o.get("type") == Some(&json!("string")) {
            if let Some(p) = &facts.pattern {
                o.insert("pattern".into(), json!(p));
            }
            if let Some(n) = facts.length {
                o.insert("minLength".into(), json!(n));
                o.insert("maxLength".into(), json!(n));
            }
        }
        if let Some(d) = &facts.default {
            o.insert("default".into(), json!(d));
        }
        if let Some(e) = &facts.example {
            o.insert("examples".into(), json!([e]));
        }
        let mut doc = json!({"line": f.line, "type": f.ty, "required": f.required.as_str()});
        if let Some(u) = facts.unit {
            doc["unit"] = json!(u);
        }
        if facts.values_missing {
            doc["values"] = json!([]);
        }
        o.insert("x-kmsconform-doc".into(), doc);
        o.insert(BASIS.into(), json!(self.basis(f.line)));
        Ok(s)
    }
}

fn example_media(schema: Value, ex: Option<&Example>) -> Value {
    let mut media = json!({"schema": schema});
    if let Some(e) = ex {
        media["example"] = e.value.clone();
        media["x-kmsconform-doc"] = json!({"line": e.line});
        if let Some(p) = &e.problem {
            media["x-kmsconform-example-problem"] = json!({"line": e.line, "problem": p});
        }
    }
    media
}

/// A model from an example value: objects by their keys (all required), primitives by type.
fn schema_from_example(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let props: Map<String, Value> = o
                .iter()
                .map(|(k, x)| (k.clone(), schema_from_example(x)))
                .collect();
            let req: Vec<Value> = o.keys().map(|k| json!(k)).collect();
            json!({"type": "object", "properties": props, "required": req})
        }
        Value::Array(a) => match a.first() {
            Some(x) => json!({"type": "array", "items": schema_from_example(x)}),
            None => json!({"type": "array"}),
        },
        Value::String(_) => json!({"type": "string"}),
        Value::Bool(_) => json!({"type": "boolean"}),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({"type": "integer"}),
        Value::Number(_) => json!({"type": "number"}),
        Value::Null => json!({"type": "null"}),
    }
}

/// Version label from a URL or path: the first segment shaped `v1`, `v1.0`, `v2.1`.
fn version_in(s: &str) -> Option<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"^v\d+(\.\d+)?$").expect("regex"));
    s.split('/')
        .find(|seg| re.is_match(seg))
        .map(str::to_string)
}

/// The page plus its overlay -> `<version>.json`, `versions.json` and `vendor/<document>`.
pub fn build(
    page: &Page,
    text: &str,
    document: &str,
    overlay: &PageOverlay,
) -> Result<ImportOutput, ImportError> {
    let line_count = text.lines().count();
    overlay.validate(document, line_count)?;
    let op_basis = basis_of(&overlay.operation).unwrap_or_default().to_string();
    let mut b = Builder {
        document,
        models: Map::new(),
    };

    let op_id = overlay
        .op_str("operationId")
        .ok_or_else(|| ImportError::at(0, "operation.operationId is required"))?
        .to_string();
    let (method, method_basis) = match (&page.method, overlay.op_str("method")) {
        (Some((m, l)), _) => (m.clone(), b.basis(*l)),
        (None, Some(m)) => (m.to_lowercase(), op_basis.clone()),
        (None, None) => {
            return Err(ImportError::at(
                1,
                "the page prints no method and the overlay gives none",
            ))
        }
    };
    let (path, path_basis) = match (overlay.op_str("path"), &page.path) {
        (Some(p), _) => (p.to_string(), op_basis.clone()),
        (None, Some((p, l))) => (p.clone(), b.basis(*l)),
        (None, None) => {
            return Err(ImportError::at(
                1,
                "the page prints no URI and the overlay gives no operation.path",
            ))
        }
    };
    if let (Some(p), Some((doc_path, l))) = (overlay.op_str("path"), &page.path) {
        if !p.ends_with(doc_path.as_str()) {
            return Err(ImportError::at(
                *l,
                format!("the overlay's path {p} contradicts the page's {doc_path}"),
            ));
        }
    }
    let servers: Vec<Value> = match (&overlay.servers, &page.server) {
        (Some(s), _) => s.clone(),
        (None, Some((url, l))) => vec![json!({"url": url, BASIS: b.basis(*l)})],
        (None, None) => {
            return Err(ImportError::at(
                1,
                "the page prints no server URL and the overlay gives no servers",
            ))
        }
    };
    let version = servers
        .iter()
        .filter_map(|s| s.get("url").and_then(Value::as_str))
        .find_map(version_in)
        .or_else(|| version_in(&path))
        .ok_or_else(|| {
            ImportError::at(
                0,
                format!("no version segment (v1, v1.0, …) in the server URL or the path {path}"),
            )
        })?;
    let status = overlay
        .version
        .get("status")
        .and_then(Value::as_str)
        .ok_or_else(|| ImportError::at(0, "version.status is required"))?
        .to_string();

    // Parameters: the path's {names}, documented where the page has a row.
    let mut params = Vec::new();
    for cap in Regex::new(r"\{([^}]+)\}")
        .expect("regex")
        .captures_iter(&path)
    {
        let name = &cap[1];
        let mut p = match page.path_params.iter().find(|f| f.name == name) {
            Some(f) => {
                let mut s = b.property("", f)?;
                let so = s.as_object_mut().expect("object");
                let description = so.remove("description");
                let examples = so.remove("examples");
                let basis = so.remove(BASIS);
                let mut p = json!({"name": name, "in": "path", "required": true, "schema": s});
                if let Some(d) = description {
                    p["description"] = d;
                }
                if let Some(Value::Array(mut e)) = examples {
                    p["example"] = e.remove(0);
                }
                p[BASIS] = basis.unwrap_or_default();
                p
            }
            None => json!({"name": name, "in": "path", "required": true,
                           "schema": {"type": "string"}, BASIS: path_basis}),
        };
        if let Some(patch) = overlay.parameter_patches.get(name) {
            merge_patch(&mut p["schema"], patch);
        }
        params.push(p);
    }
    for name in overlay.parameter_patches.keys() {
        if !params.iter().any(|p| p["name"] == json!(name)) {
            return Err(ImportError::at(
                0,
                format!("parameterPatches.{name}: the path has no such parameter"),
            ));
        }
    }

    let base = pascal(&op_id);
    let mut operation = Map::new();
    operation.insert("operationId".into(), json!(op_id));
    operation.insert("summary".into(), json!(page.title));
    operation.insert("description".into(), json!(page.description));
    operation.insert("parameters".into(), Value::Array(params));
    if !page.body.is_empty() {
        let name = format!("{base}Request");
        let line = page.body[0].line;
        b.model(&name, &page.body, line)?;
        operation.insert(
            "requestBody".into(),
            json!({"required": true, "content": {"application/json": example_media(
                json!({"$ref": format!("#/components/schemas/{name}")}),
                page.request_example.as_ref())}, BASIS: b.basis(line)}),
        );
    }
    let mut responses = Map::new();
    if !page.response.is_empty() {
        let name = format!("{base}Response");
        let line = page.response[0].line;
        b.model(&name, &page.response, line)?;
        let mut r = json!({"description": "OK", "content": {"application/json": example_media(
            json!({"$ref": format!("#/components/schemas/{name}")}),
            page.response_example.as_ref())},
            "x-kmsconform-inferred": {"from": "response table", "reason": "the page prints the success body but not its status"},
            BASIS: format!("assumed: the page prints the success body ({}:{line}) but not its status; 200 is the success status", document)});
        if page.response_example.is_none() {
            r["x-kmsconform-no-example"] = json!(true);
        }
        responses.insert("200".into(), r);
    }
    if let Some(e) = page.error_examples.first() {
        let name = format!("{base}Error");
        let mut s = schema_from_example(&e.value);
        s["x-kmsconform-doc"] = json!({"line": e.line});
        s[BASIS] = json!(b.basis(e.line));
        b.models.insert(name.clone(), s);
        let mut r = json!({"description": "Error (the page prints the body, not the statuses)",
            "content": {"application/json": example_media(
                json!({"$ref": format!("#/components/schemas/{name}")}), Some(e))},
            "x-kmsconform-inferred": {"from": "error example", "reason": "the page prints an error body but no status or schema"},
            BASIS: b.basis(e.line)});
        if page.error_examples.len() > 1 {
            r["x-kmsconform-more-examples"] = json!(page.error_examples.len() - 1);
        }
        responses.insert("default".into(), r);
    }
    for (status, o) in &overlay.responses {
        if responses.contains_key(status) {
            return Err(ImportError::at(
                0,
                format!("responses.{status}: the page already documents it"),
            ));
        }
        let mut r = json!({"description": o.get("description").cloned().unwrap_or(json!("")),
                           BASIS: o[BASIS].clone()});
        if let Some(s) = o.get("schema").and_then(Value::as_str) {
            let mut media = json!({"schema": {"$ref": format!("#/components/schemas/{s}")}});
            if let Some(ex) = o.get("example") {
                media["example"] = ex.clone();
            }
            r["content"] = json!({"application/json": media});
        }
        responses.insert(status.clone(), r);
    }
    operation.insert("responses".into(), Value::Object(responses));
    let security: Vec<Value> = overlay
        .security_schemes
        .keys()
        .map(|k| json!({k: []}))
        .collect();
    if !security.is_empty() {
        operation.insert("security".into(), json!(security));
    }
    operation.insert(
        "x-kmsconform-doc".into(),
        json!({"method": method_basis, "path": path_basis}),
    );

    let model_names = b.models.keys().cloned().collect::<Vec<_>>().join(", ");
    for (name, patch) in &overlay.schema_patches {
        let target = b.models.get_mut(name).ok_or_else(|| {
            ImportError::at(
                0,
                format!("schemaPatches.{name}: no such model (the page gives: {model_names})"),
            )
        })?;
        merge_patch(target, patch);
    }
    for (name, s) in &overlay.extra_schemas {
        if b.models.contains_key(name) {
            return Err(ImportError::at(
                0,
                format!("extraSchemas.{name}: the page already defines it"),
            ));
        }
        b.models.insert(name.clone(), s.clone());
    }
    for (status, o) in &overlay.responses {
        if let Some(s) = o.get("schema").and_then(Value::as_str) {
            if !b.models.contains_key(s) {
                return Err(ImportError::at(
                    0,
                    format!("responses.{status}: unknown schema '{s}'"),
                ));
            }
        }
    }

    let (api_title, title_basis) = match (&page.api_title, &overlay.title) {
        (Some((t, l)), _) => (t.clone(), b_basis(document, *l)),
        (None, Some(t)) => (
            t.get("value")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            basis_of(t).unwrap_or_default().to_string(),
        ),
        (None, None) => (page.title.clone(), String::new()),
    };
    let sha = hex::encode(Sha256::digest(text.as_bytes()));
    let source = json!({"document": document, "sha256": sha});
    let mut components = Map::new();
    components.insert("schemas".into(), Value::Object(b.models));
    if !overlay.security_schemes.is_empty() {
        components.insert("securitySchemes".into(), json!(overlay.security_schemes));
    }
    let spec = json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": api_title,
            "version": version,
            "description": page.description,
            "x-title-basis": title_basis,
            "x-api": overlay.api,
            "x-status": status,
            "x-not-before": null,
            "x-source": source,
            BASIS: overlay.version[BASIS],
        },
        "servers": servers,
        "security": security,
        "paths": {path: {method: operation}},
        "components": components,
        "x-kmsconform-normalize": overlay.normalize,
    });
    let registry = Registry {
        api: overlay.api.clone(),
        title: api_title.clone(),
        source,
        versions: vec![VersionEntry {
            version: version.clone(),
            status,
            not_before: None,
            spec: format!("{version}.json"),
            operations: 1,
            previous: None,
            changes: vec![],
        }],
    };
    let pretty = |v: &Value| {
        let mut s = serde_json::to_string_pretty(v).expect("JSON values serialise");
        s.push('\n');
        s
    };
    Ok(ImportOutput {
        files: vec![
            (format!("{version}.json"), pretty(&spec)),
            (
                "versions.json".into(),
                pretty(&serde_json::to_value(&registry).expect("registry serialises")),
            ),
            (format!("vendor/{document}"), text.to_string()),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_facts_english_and_korean() {
        let f = description_facts(
            "36-byte ID of a CMK that matches the regular expression ^[0-9a-z]{8}$ Example: 0d04",
        );
        assert_eq!(f.pattern.as_deref(), Some("^[0-9a-z]{8}$"));
        assert_eq!(f.example.as_deref(), Some("0d04"));
        assert_eq!(f.length, Some(36));
        assert_eq!(
            description_facts("다음 회전 예정 일시(밀리초)").unit,
            Some("epoch-ms")
        );
        assert_eq!(
            description_facts("the number of seconds since 00:00:00 UTC").unit,
            Some("epoch-s")
        );
        let f = description_facts(
            "Origin. The default value is kms. The following values are enumerated:",
        );
        assert_eq!(f.default.as_deref(), Some("kms"));
        assert!(f.values_missing);
    }

    #[test]
    fn printed_types() {
        assert_eq!(
            type_schema("Long"),
            Some(json!({"type": "integer", "format": "int64"}))
        );
        assert_eq!(
            type_schema("Array of objects"),
            Some(json!({"type": "array", "items": {"type": "object"}}))
        );
        assert_eq!(type_schema("Blob"), None);
        assert_eq!(
            version_in("https://ocapi.ncloud.com/kms/v1"),
            Some("v1".into())
        );
        assert_eq!(version_in("/v1.0/{project_id}/kms/x"), Some("v1.0".into()));
    }
}
