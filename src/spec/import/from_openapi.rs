//! `spec import --from openapi`: a vendor's own OpenAPI 3.0 document → the OpenAPI 3.1 spec of
//! one version of an API, merged into the spec directory's version registry. Pure: text, the
//! overlay and what the directory already holds in; files out (the CLI writes them).
//!
//! What the conversion does, in order:
//! - keeps the paths whose key contains one of `--paths` (and the components they reference),
//!   and the vendor's operationIds;
//! - pushes path-level `parameters`, `description` and `x-…` extensions down into each
//!   operation (operation-level entries win), so a path item holds only operations;
//! - rewrites every Schema Object from 3.0 to 3.1 ([`convert_schema`]): `nullable` → a type
//!   array (or `anyOf` with `{"type": "null"}` where the schema states no type), boolean
//!   `exclusiveMinimum`/`exclusiveMaximum` → the numeric form, schema `example` → `examples`,
//!   and the siblings of a `$ref` (ignored by 3.0) dropped; parameter and media-type `example`s
//!   are valid 3.1 and stay;
//! - applies the overlay (servers, security schemes, schema/parameter/response patches, extra
//!   schemas, common responses), every entry of which must carry an `x-kmsconform-basis`;
//! - sets `info.version` and the registry status, and recomputes every version's declared
//!   `changes` against the version before it (so import order does not matter).
//!
//! Status words: the vendor publishes none. The newest version in the registry is `CURRENT`,
//! every older one `SUPPORTED` (the words of the registry vocabulary); Not Before is null.

use super::ImportOutput;
use crate::spec::changes;
use crate::spec::overlay::{merge_patch, Overlay};
use crate::spec::registry::{Registry, VersionEntry};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

pub const HTTP_METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// An import failure, in words that name the document, entry or flag at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct Error(pub String);

fn err<T>(message: impl Into<String>) -> Result<T, Error> {
    Err(Error(message.into()))
}

pub struct Options<'a> {
    /// How the registry and `info.x-source` name the document (its file name or URL).
    pub document_name: &'a str,
    /// Path filters: a path is kept when its key contains one of them.
    pub paths: &'a [String],
    /// The version to import as; default: the document's `info.version`.
    pub version: Option<&'a str>,
}

/// What the output directory holds already.
#[derive(Debug, Clone)]
pub struct Existing {
    pub registry: Registry,
    /// version → its spec document.
    pub docs: BTreeMap<String, Value>,
}

/// Numeric release order: `2.10.0` after `2.9.1`; non-numeric parts sort as 0.
pub fn release_key(v: &str) -> Vec<u64> {
    v.split(['.', '-', '+'])
        .map(|p| p.parse().unwrap_or(0))
        .collect()
}

pub fn import(
    text: &str,
    opts: &Options,
    overlay: &Overlay,
    existing: Option<Existing>,
) -> Result<ImportOutput, Error> {
    let vendor: Value =
        serde_json::from_str(text).map_err(|e| Error(format!("not a JSON document: {e}")))?;
    let openapi = vendor.get("openapi").and_then(Value::as_str);
    match openapi {
        Some(v) if v.starts_with("3.0.") => {}
        Some(v) => {
            return err(format!(
                "not an OpenAPI 3.0 document: it declares openapi '{v}' (--from openapi converts 3.0.x)"
            ))
        }
        None if vendor.get("swagger").is_some() => {
            return err("not an OpenAPI 3.0 document: it is Swagger 2.0")
        }
        None => return err("not an OpenAPI 3.0 document: no 'openapi' field"),
    }
    let Some(all_paths) = vendor.get("paths").and_then(Value::as_object) else {
        return err("not an OpenAPI 3.0 document: no 'paths' object");
    };
    let declared = vendor.pointer("/info/version").and_then(Value::as_str);
    let version = match (opts.version, declared) {
        (Some(v), Some(d)) if v != d => {
            return err(format!(
                "--version {v} but the document's info.version is '{d}'"
            ))
        }
        (Some(v), _) => v.to_string(),
        (None, Some(d)) => d.to_string(),
        (None, None) => return err("the document has no info.version: give --version"),
    };
    if version.trim().is_empty() || version.contains(['/', '\\']) {
        return err(format!("unusable version '{version}'"));
    }
    if let Some(ex) = &existing {
        if ex.registry.api != overlay.api {
            return err(format!(
                "the output directory's versions.json is for api '{}', not '{}'",
                ex.registry.api, overlay.api
            ));
        }
    }
    reject_layout_only_fields(overlay)?;
    check_bases(overlay, opts.document_name, &vendor)?;

    // Paths.
    if opts.paths.is_empty() {
        return err("give at least one --paths filter");
    }
    let mut paths = Map::new();
    for (p, item) in all_paths {
        if opts.paths.iter().any(|f| p.contains(f.as_str())) {
            paths.insert(p.clone(), push_down(item));
        }
    }
    if paths.is_empty() {
        let sample: Vec<&str> = all_paths.keys().take(5).map(String::as_str).collect();
        return err(if sample.is_empty() {
            format!(
                "no path matches --paths {:?}: the document lists no path at all",
                opts.paths
            )
        } else {
            format!(
                "no path matches --paths {:?} (the document has {} paths, e.g. {})",
                opts.paths,
                all_paths.len(),
                sample.join(", ")
            )
        });
    }

    // Components: the closure of what the kept paths reference, converted.
    let mut components = reachable_components(&vendor, &Value::Object(paths.clone()))?;
    let mut paths = Value::Object(paths);
    convert_paths(&mut paths);
    for (kind, entries) in components.iter_mut() {
        for (_, c) in entries.as_object_mut().into_iter().flatten() {
            convert_component(kind, c);
        }
    }

    // The overlay.
    let schemas = components
        .entry("schemas".to_string())
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("schemas is an object");
    for (name, patch) in &overlay.schema_patches {
        let Some(target) = schemas.get_mut(name) else {
            return err(format!(
                "overlay schemaPatches.{name}: the document (after --paths) has no schema '{name}'"
            ));
        };
        merge_patch(target, patch);
    }
    for (name, schema) in &overlay.extra_schemas {
        if schemas.contains_key(name) {
            return err(format!(
                "overlay extraSchemas.{name}: the document already defines '{name}'"
            ));
        }
        let mut s = schema.clone();
        if let Some(o) = s.as_object_mut() {
            o.insert("x-kmsconform-source".into(), json!("overlay"));
        }
        schemas.insert(name.clone(), s);
    }
    apply_operation_patches(&mut paths, overlay)?;
    if !overlay.security_schemes.is_empty() {
        components.insert(
            "securitySchemes".into(),
            json!(overlay.security_schemes.clone()),
        );
    }
    let components: Map<String, Value> = components
        .into_iter()
        .filter(|(_, v)| v.as_object().is_some_and(|o| !o.is_empty()))
        .collect();

    // The document.
    let sha = hex::encode(Sha256::digest(text.as_bytes()));
    let source = json!({"document": opts.document_name, "sha256": sha});
    let mut info = vendor
        .get("info")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    info.insert("version".into(), json!(version));
    info.insert("x-api".into(), json!(overlay.api));
    info.insert("x-status".into(), json!("CURRENT")); // settled below, with the registry
    info.insert("x-not-before".into(), Value::Null);
    info.insert("x-source".into(), source.clone());
    info.insert("x-converted-from".into(), json!(openapi));
    let mut doc = Map::new();
    doc.insert("openapi".into(), json!("3.1.0"));
    doc.insert(
        "jsonSchemaDialect".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    doc.insert("info".into(), Value::Object(info));
    if !overlay.servers.is_empty() {
        doc.insert("servers".into(), json!(overlay.servers));
    } else if let Some(s) = vendor.get("servers") {
        doc.insert("servers".into(), s.clone());
    }
    let security: Vec<Value> = overlay
        .security_schemes
        .keys()
        .map(|k| json!({k: []}))
        .collect();
    if !security.is_empty() {
        doc.insert("security".into(), Value::Array(security));
    } else if let Some(s) = vendor.get("security") {
        doc.insert("security".into(), s.clone());
    }
    doc.insert("paths".into(), paths);
    doc.insert("components".into(), Value::Object(components));
    if !overlay.normalize.is_null() {
        doc.insert("x-kmsconform-normalize".into(), overlay.normalize.clone());
    }
    let doc = Value::Object(doc);

    // The registry: this version replaces or joins the ones already there.
    let mut docs = existing
        .as_ref()
        .map(|e| e.docs.clone())
        .unwrap_or_default();
    let old_docs = docs.clone();
    docs.insert(version.clone(), doc);
    let mut sources: Map<String, Value> = existing
        .as_ref()
        .and_then(|e| e.registry.source.get("documents"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    sources.insert(version.clone(), source);
    let mut order: Vec<String> = docs.keys().cloned().collect();
    order.sort_by_key(|v| release_key(v));
    let newest = order.last().cloned().expect("at least this version");
    let mut entries = Vec::new();
    let mut previous: Option<&str> = None;
    for v in &order {
        let status = if *v == newest { "CURRENT" } else { "SUPPORTED" };
        let d = docs.get_mut(v).expect("listed");
        d["info"]["x-status"] = json!(status);
        let d = &docs[v];
        entries.push(VersionEntry {
            version: v.clone(),
            status: status.into(),
            not_before: None,
            spec: format!("{v}.json"),
            operations: changes::operations(d).len(),
            previous: previous.map(String::from),
            changes: previous
                .map(|p| changes::diff(&docs[p], d))
                .unwrap_or_default(),
        });
        previous = Some(v);
    }
    let sources: Map<String, Value> = order
        .iter()
        .filter_map(|v| sources.get(v).map(|s| (v.clone(), s.clone())))
        .collect();
    let title = docs[&newest]
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or(&overlay.api)
        .to_string();
    let registry = Registry {
        api: overlay.api.clone(),
        title,
        source: json!({"format": format!("openapi {}", openapi.unwrap_or("3.0")), "documents": sources}),
        versions: entries,
    };

    // Files: this version's document, any other whose status changed, the registry.
    let mut files = Vec::new();
    for v in &order {
        if *v == version || old_docs.get(v) != docs.get(v) {
            files.push((format!("{v}.json"), pretty(&docs[v])));
        }
    }
    files.push(("versions.json".into(), pretty(&registry)));
    Ok(ImportOutput { files })
}

fn pretty<T: serde::Serialize>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("JSON values serialise");
    s.push('\n');
    s
}

/// Overlay fields only the printable-layout importer applies.
fn reject_layout_only_fields(o: &Overlay) -> Result<(), Error> {
    for (set, name) in [
        (o.version_header.is_some(), "versionHeader"),
        (o.error_schema.is_some(), "errorSchema"),
        (!o.extra_responses.is_empty(), "extraResponses"),
        (!o.response_models.is_empty(), "responseModels"),
        (!o.tags.is_empty(), "tags"),
    ] {
        if set {
            return err(format!(
                "overlay {name}: not applied when importing --from openapi (use responsePatches / commonResponses)"
            ));
        }
    }
    Ok(())
}

pub const BASIS_KEY: &str = "x-kmsconform-basis";

/// `"<documented|observed|assumed>: <source>"` (the one basis parser, `check::Basis`);
/// returns (kind, source).
pub fn parse_basis(s: &str) -> Option<(&'static str, String)> {
    crate::check::Basis::parse(s)
        .ok()
        .map(|b| (b.kind.as_str(), b.source))
}

/// Every overlay entry says on what it rests; a `documented` basis that cites the document
/// being imported (`FILE#/json/pointer`) must point at something in it.
fn check_bases(o: &Overlay, document_name: &str, vendor: &Value) -> Result<(), Error> {
    let mut entries: Vec<(String, &Value)> = Vec::new();
    for (i, s) in o.servers.iter().enumerate() {
        entries.push((format!("servers[{i}]"), s));
    }
    for (k, v) in &o.security_schemes {
        entries.push((format!("securitySchemes.{k}"), v));
    }
    for (k, v) in &o.schema_patches {
        entries.push((format!("schemaPatches.{k}"), v));
    }
    for (k, v) in &o.extra_schemas {
        entries.push((format!("extraSchemas.{k}"), v));
    }
    for (op, m) in &o.parameter_patches {
        for (k, v) in m {
            entries.push((format!("parameterPatches.{op}.{k}"), v));
        }
    }
    for (op, m) in &o.response_patches {
        for (k, v) in m {
            entries.push((format!("responsePatches.{op}.{k}"), v));
        }
    }
    for (op, v) in &o.request_body_patches {
        entries.push((format!("requestBodyPatches.{op}"), v));
    }
    for (k, v) in &o.common_responses {
        entries.push((format!("commonResponses.{k}"), v));
    }
    let file = document_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(document_name);
    for (at, v) in entries {
        let Some(b) = v.get(BASIS_KEY) else {
            return err(format!(
                "overlay {at}: no \"{BASIS_KEY}\" (\"documented|observed|assumed: <source>\")"
            ));
        };
        let Some((kind, source)) = b.as_str().and_then(parse_basis) else {
            return err(format!(
                "overlay {at}: {BASIS_KEY} {b} is not \"documented|observed|assumed: <source>\""
            ));
        };
        if kind == "documented" {
            if let Some(ptr) = source
                .split_whitespace()
                .next()
                .and_then(|s| s.strip_prefix(file))
                .and_then(|s| s.strip_prefix('#'))
            {
                if vendor.pointer(ptr).is_none() {
                    return err(format!(
                        "overlay {at}: the basis cites {file}#{ptr}, which is not in the document"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// A path item with its shared `parameters`, `description` and `x-…` extensions moved into
/// each operation (the operation's own win); only the operations remain.
fn push_down(item: &Value) -> Value {
    let Some(item) = item.as_object() else {
        return item.clone();
    };
    let shared_params: Vec<Value> = item
        .get("parameters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let key = |p: &Value| {
        (
            p.get("in").and_then(Value::as_str).map(String::from),
            p.get("name").and_then(Value::as_str).map(String::from),
            p.get("$ref").and_then(Value::as_str).map(String::from),
        )
    };
    let mut out = Map::new();
    for (method, op) in item {
        if !HTTP_METHODS.contains(&method.as_str()) {
            continue;
        }
        let mut op = op.as_object().cloned().unwrap_or_default();
        let own: Vec<Value> = op
            .get("parameters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let own_keys: BTreeSet<_> = own.iter().map(key).collect();
        let mut params: Vec<Value> = shared_params
            .iter()
            .filter(|p| !own_keys.contains(&key(p)))
            .cloned()
            .collect();
        params.extend(own);
        if !params.is_empty() {
            op.insert("parameters".into(), Value::Array(params));
        }
        for (k, v) in item {
            let inherit = k == "description" || k == "summary" || k.starts_with("x-");
            if inherit && !op.contains_key(k) {
                op.insert(k.clone(), v.clone());
            }
        }
        out.insert(method.clone(), Value::Object(op));
    }
    Value::Object(out)
}

/// The components the value references, transitively: kind → name → component.
fn reachable_components(vendor: &Value, from: &Value) -> Result<BTreeMap<String, Value>, Error> {
    let mut todo = Vec::new();
    collect_component_refs(from, &mut todo);
    let mut seen = BTreeSet::new();
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    while let Some(r) = todo.pop() {
        if !seen.insert(r.clone()) {
            continue;
        }
        let Some(target) = vendor.pointer(&r[1..]) else {
            return err(format!("$ref '{r}' does not resolve in the document"));
        };
        collect_component_refs(target, &mut todo);
        let mut parts = r.trim_start_matches("#/components/").splitn(2, '/');
        let (kind, name) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let name = name.replace("~1", "/").replace("~0", "~");
        out.entry(kind.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("object")
            .insert(name, target.clone());
    }
    // Stable order: components by name, as the vendor lists them.
    for v in out.values_mut() {
        let mut sorted: Vec<(String, Value)> = std::mem::take(v.as_object_mut().expect("object"))
            .into_iter()
            .collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        *v = Value::Object(sorted.into_iter().collect());
    }
    Ok(out)
}

fn collect_component_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            if let Some(r) = o.get("$ref").and_then(Value::as_str) {
                if r.starts_with("#/components/") {
                    out.push(r.to_string());
                }
            }
            o.values().for_each(|x| collect_component_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_component_refs(x, out)),
        _ => {}
    }
}

/// 3.0 → 3.1 for every schema position under `paths`.
fn convert_paths(paths: &mut Value) {
    for (_, item) in paths.as_object_mut().into_iter().flatten() {
        for (_, op) in item.as_object_mut().into_iter().flatten() {
            convert_operation(op);
        }
    }
}

fn convert_operation(op: &mut Value) {
    for p in op
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        convert_parameter(p);
    }
    if let Some(rb) = op.get_mut("requestBody") {
        convert_content(rb);
    }
    for (_, r) in op
        .get_mut("responses")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flatten()
    {
        convert_response(r);
    }
}

fn convert_parameter(p: &mut Value) {
    if let Some(s) = p.get_mut("schema") {
        convert_schema(s);
    }
    convert_content(p);
}

fn convert_content(holder: &mut Value) {
    for (_, media) in holder
        .get_mut("content")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flatten()
    {
        if let Some(s) = media.get_mut("schema") {
            convert_schema(s);
        }
    }
}

fn convert_response(r: &mut Value) {
    convert_content(r);
    for (_, h) in r
        .get_mut("headers")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flatten()
    {
        convert_parameter(h);
    }
}

fn convert_component(kind: &str, c: &mut Value) {
    match kind {
        "schemas" => convert_schema(c),
        "parameters" | "headers" => convert_parameter(c),
        "requestBodies" => convert_content(c),
        "responses" => convert_response(c),
        _ => {}
    }
}

/// One OpenAPI 3.0 Schema Object (and its subschemas) rewritten as JSON Schema 2020-12.
pub fn convert_schema(s: &mut Value) {
    let Some(o) = s.as_object_mut() else {
        return;
    };
    // 3.0: "sibling values alongside $refs are ignored" — so they go.
    if o.contains_key("$ref") {
        o.retain(|k, _| k == "$ref" || k == "description" || k == "summary");
        return;
    }
    for key in ["properties", "patternProperties"] {
        for (_, sub) in o
            .get_mut(key)
            .and_then(Value::as_object_mut)
            .into_iter()
            .flatten()
        {
            convert_schema(sub);
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(sub) = o.get_mut(key) {
            convert_schema(sub);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        for sub in o
            .get_mut(key)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            convert_schema(sub);
        }
    }
    for (flag, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        match o.get(flag) {
            Some(Value::Bool(true)) => match o.remove(bound) {
                Some(b) => {
                    o.insert(flag.into(), b);
                }
                None => {
                    o.remove(flag);
                }
            },
            Some(Value::Bool(false)) => {
                o.remove(flag);
            }
            _ => {}
        }
    }
    if let Some(ex) = o.remove("example") {
        o.entry("examples").or_insert_with(|| json!([ex]));
    }
    if o.remove("nullable") == Some(Value::Bool(true)) {
        if let Some(Value::Array(e)) = o.get_mut("enum") {
            if !e.contains(&Value::Null) {
                e.push(Value::Null);
            }
        }
        match o.get_mut("type") {
            Some(Value::String(t)) => {
                let t = t.clone();
                o.insert("type".into(), json!([t, "null"]));
            }
            Some(Value::Array(ts)) => {
                if !ts.contains(&json!("null")) {
                    ts.push(json!("null"));
                }
            }
            _ => {
                // No type to extend (allOf, oneOf, …): the schema or null.
                let inner = std::mem::take(o);
                o.insert(
                    "anyOf".into(),
                    json!([Value::Object(inner), {"type": "null"}]),
                );
            }
        }
    }
}

/// The overlay's per-operation entries: parameter schema patches, response patches and the
/// responses every operation gets.
fn apply_operation_patches(paths: &mut Value, overlay: &Overlay) -> Result<(), Error> {
    let mut found = BTreeSet::new();
    for (_, item) in paths.as_object_mut().into_iter().flatten() {
        for (_, op) in item.as_object_mut().into_iter().flatten() {
            let Some(id) = op
                .get("operationId")
                .and_then(Value::as_str)
                .map(String::from)
            else {
                continue;
            };
            found.insert(id.clone());
            if let Some(patches) = overlay.parameter_patches.get(&id) {
                for (name, patch) in patches {
                    let param = op
                        .get_mut("parameters")
                        .and_then(Value::as_array_mut)
                        .and_then(|ps| {
                            ps.iter_mut()
                                .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
                        });
                    let Some(param) = param else {
                        return err(format!(
                            "overlay parameterPatches.{id}.{name}: the operation has no parameter '{name}'"
                        ));
                    };
                    merge_patch(param.get_mut("schema").unwrap_or(&mut Value::Null), patch);
                }
            }
            if let Some(patch) = overlay.request_body_patches.get(&id) {
                if let Some(body) = op.get_mut("requestBody") {
                    merge_patch(body, patch);
                }
            }
            let responses = op
                .as_object_mut()
                .expect("operation object")
                .entry("responses")
                .or_insert_with(|| json!({}));
            for (status, patch) in overlay.response_patches.get(&id).into_iter().flatten() {
                let r = responses
                    .as_object_mut()
                    .expect("responses object")
                    .entry(status.clone())
                    .or_insert_with(|| json!({}));
                merge_patch(r, patch);
            }
            for (status, resp) in &overlay.common_responses {
                let rs = responses.as_object_mut().expect("responses object");
                if !rs.contains_key(status) {
                    rs.insert(status.clone(), resp.clone());
                }
            }
            sort_responses(responses);
        }
    }
    for id in overlay
        .parameter_patches
        .keys()
        .chain(overlay.response_patches.keys())
        .chain(overlay.request_body_patches.keys())
    {
        if !found.contains(id) {
            return err(format!(
                "overlay patches operation '{id}', which the document (after --paths) does not have"
            ));
        }
    }
    Ok(())
}

/// Responses by status code, `default` last.
fn sort_responses(responses: &mut Value) {
    let Some(o) = responses.as_object_mut() else {
        return;
    };
    let mut v: Vec<(String, Value)> = std::mem::take(o).into_iter().collect();
    v.sort_by_key(|(k, _)| (k == "default", k.clone()));
    *o = v.into_iter().collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn converted(s: Value) -> Value {
        let mut s = s;
        convert_schema(&mut s);
        s
    }

    #[test]
    fn nullable_becomes_a_type_array_or_an_any_of() {
        assert_eq!(
            converted(json!({"type": "string", "nullable": true})),
            json!({"type": ["string", "null"]})
        );
        assert_eq!(
            converted(json!({"type": "string", "enum": ["a", "b"], "nullable": true})),
            json!({"type": ["string", "null"], "enum": ["a", "b", null]})
        );
        assert_eq!(
            converted(json!({"type": "integer", "nullable": false})),
            json!({"type": "integer"})
        );
        assert_eq!(
            converted(json!({"allOf": [{"$ref": "#/components/schemas/A"}], "nullable": true})),
            json!({"anyOf": [{"allOf": [{"$ref": "#/components/schemas/A"}]}, {"type": "null"}]})
        );
        // Nested: properties, items, additionalProperties.
        assert_eq!(
            converted(json!({"type": "object", "properties": {
                "a": {"type": "array", "items": {"type": "number", "nullable": true}},
                "m": {"type": "object", "additionalProperties": {"type": "boolean", "nullable": true}}
            }})),
            json!({"type": "object", "properties": {
                "a": {"type": "array", "items": {"type": ["number", "null"]}},
                "m": {"type": "object", "additionalProperties": {"type": ["boolean", "null"]}}
            }})
        );
    }

    #[test]
    fn boolean_exclusive_bounds_become_numbers() {
        assert_eq!(
            converted(json!({"type": "integer", "minimum": 0, "exclusiveMinimum": true})),
            json!({"type": "integer", "exclusiveMinimum": 0})
        );
        assert_eq!(
            converted(json!({"type": "integer", "maximum": 9, "exclusiveMaximum": false})),
            json!({"type": "integer", "maximum": 9})
        );
        assert_eq!(
            converted(json!({"type": "number", "exclusiveMaximum": true})),
            json!({"type": "number"})
        );
        // Already numeric (3.1 style): left alone.
        assert_eq!(
            converted(json!({"type": "number", "exclusiveMinimum": 1.5})),
            json!({"type": "number", "exclusiveMinimum": 1.5})
        );
    }

    #[test]
    fn schema_example_becomes_examples_and_ref_siblings_go() {
        assert_eq!(
            converted(json!({"type": "string", "example": "x"})),
            json!({"type": "string", "examples": ["x"]})
        );
        assert_eq!(
            converted(
                json!({"$ref": "#/components/schemas/A", "nullable": true, "description": "d"})
            ),
            json!({"$ref": "#/components/schemas/A", "description": "d"})
        );
    }

    fn vendor() -> Value {
        json!({
            "openapi": "3.0.2",
            "info": {"title": "T", "version": "1.2.3"},
            "paths": {
                "/transit/keys/{name}": {
                    "description": "Manage keys",
                    "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
                    "x-vendor-flag": true,
                    "post": {
                        "operationId": "create-key",
                        "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Create"}}}},
                        "responses": {"200": {"description": "OK"}}
                    }
                },
                "/sys/health": {"get": {"operationId": "health", "responses": {"200": {"description": "OK"}}}}
            },
            "components": {"schemas": {
                "Create": {"type": "object", "properties": {"n": {"$ref": "#/components/schemas/Inner"},
                    "t": {"type": "string", "nullable": true, "example": "x"}}},
                "Inner": {"type": "integer", "minimum": 0, "exclusiveMinimum": true},
                "Unused": {"type": "string"}
            }}
        })
    }

    fn run(doc: &Value, filters: &[&str], overlay: &Overlay) -> Result<ImportOutput, Error> {
        let filters: Vec<String> = filters.iter().map(|s| s.to_string()).collect();
        import(
            &doc.to_string(),
            &Options {
                document_name: "v.json",
                paths: &filters,
                version: None,
            },
            overlay,
            None,
        )
    }

    fn overlay() -> Overlay {
        Overlay {
            api: "t".into(),
            ..Default::default()
        }
    }

    fn file(out: &ImportOutput, name: &str) -> Value {
        let body = &out.files.iter().find(|f| f.0 == name).expect(name).1;
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn paths_filter_keeps_matching_paths_and_their_components() {
        let out = run(&vendor(), &["/transit/"], &overlay()).unwrap();
        let d = file(&out, "1.2.3.json");
        assert_eq!(d["openapi"], "3.1.0");
        assert_eq!(
            d["paths"].as_object().unwrap().keys().collect::<Vec<_>>(),
            ["/transit/keys/{name}"]
        );
        let op = &d["paths"]["/transit/keys/{name}"]["post"];
        assert_eq!(op["operationId"], "create-key");
        assert_eq!(
            op["parameters"][0]["name"], "name",
            "path parameters pushed down"
        );
        assert_eq!(op["description"], "Manage keys");
        assert_eq!(op["x-vendor-flag"], true);
        let schemas = d["components"]["schemas"].as_object().unwrap();
        assert_eq!(
            schemas.keys().collect::<Vec<_>>(),
            ["Create", "Inner"],
            "closure of the kept paths' references, nothing else"
        );
        assert_eq!(
            schemas["Inner"],
            json!({"type": "integer", "exclusiveMinimum": 0})
        );
        assert_eq!(
            schemas["Create"]["properties"]["t"],
            json!({"type": ["string", "null"], "examples": ["x"]})
        );
        let reg = file(&out, "versions.json");
        assert_eq!(reg["versions"][0]["status"], "CURRENT");
        assert_eq!(reg["versions"][0]["operations"], 1);
        assert!(reg["versions"][0]["not_before"].is_null());

        let e = run(&vendor(), &["/nothing/"], &overlay()).unwrap_err();
        assert!(e.0.contains("no path matches"), "{e}");
    }

    #[test]
    fn not_openapi_30_is_rejected_by_name() {
        let mut d = vendor();
        d["openapi"] = json!("3.1.0");
        assert!(run(&d, &["/"], &overlay())
            .unwrap_err()
            .0
            .contains("'3.1.0'"));
        let e = run(&json!({"swagger": "2.0", "paths": {}}), &["/"], &overlay()).unwrap_err();
        assert!(e.0.contains("Swagger 2.0"), "{e}");
        let e = import(
            "{",
            &Options {
                document_name: "x",
                paths: &["/".into()],
                version: None,
            },
            &overlay(),
            None,
        )
        .unwrap_err();
        assert!(e.0.starts_with("not a JSON document"), "{e}");
    }

    #[test]
    fn overlay_entries_need_a_basis_and_apply() {
        let mut o = overlay();
        o.response_patches.insert(
            "create-key".into(),
            [("400".to_string(), json!({"description": "Bad Request"}))].into(),
        );
        let e = run(&vendor(), &["/transit/"], &o).unwrap_err();
        assert!(e.0.contains("responsePatches.create-key.400: no"), "{e}");
        o.response_patches.insert(
            "create-key".into(),
            [(
                "400".to_string(),
                json!({"description": "Bad Request", "x-kmsconform-basis": "observed: test"}),
            )]
            .into(),
        );
        o.common_responses.insert(
            "403".into(),
            json!({"description": "Forbidden", "x-kmsconform-basis": "guess"}),
        );
        let e = run(&vendor(), &["/transit/"], &o).unwrap_err();
        assert!(e.0.contains("is not \"documented|observed|assumed"), "{e}");
        o.common_responses.insert(
            "403".into(),
            json!({"description": "Forbidden", "x-kmsconform-basis": "documented: v.json#/paths/~1nope"}),
        );
        let e = run(&vendor(), &["/transit/"], &o).unwrap_err();
        assert!(e.0.contains("not in the document"), "{e}");
        o.common_responses.insert(
            "403".into(),
            json!({"description": "Forbidden", "x-kmsconform-basis": "documented: v.json#/info/title"}),
        );
        let d = file(&run(&vendor(), &["/transit/"], &o).unwrap(), "1.2.3.json");
        let rs = &d["paths"]["/transit/keys/{name}"]["post"]["responses"];
        assert_eq!(
            rs.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["200", "400", "403"]
        );
        // A request body patch needs its basis too, and is merged into the operation's body.
        o.request_body_patches
            .insert("create-key".into(), json!({"required": false}));
        let e = run(&vendor(), &["/transit/"], &o).unwrap_err();
        assert!(e.0.contains("requestBodyPatches.create-key: no"), "{e}");
        o.request_body_patches.insert(
            "create-key".into(),
            json!({"required": false, "x-kmsconform-basis": "observed: no body accepted"}),
        );
        let d = file(&run(&vendor(), &["/transit/"], &o).unwrap(), "1.2.3.json");
        let rb = &d["paths"]["/transit/keys/{name}"]["post"]["requestBody"];
        assert_eq!(rb["required"], false);
        assert_eq!(rb["x-kmsconform-basis"], "observed: no body accepted");
        o.request_body_patches.insert(
            "no-such-op".into(),
            json!({"x-kmsconform-basis": "observed: x"}),
        );
        assert!(run(&vendor(), &["/transit/"], &o)
            .unwrap_err()
            .0
            .contains("'no-such-op'"));
        o.request_body_patches.remove("no-such-op");
        o.error_schema = Some("E".into());
        assert!(run(&vendor(), &["/transit/"], &o)
            .unwrap_err()
            .0
            .contains("errorSchema"));
    }

    #[test]
    fn versions_are_ranked_and_changes_chained_whatever_the_import_order() {
        let mut newer = vendor();
        newer["info"]["version"] = json!("1.10.0");
        newer["paths"]["/transit/other"] =
            json!({"get": {"operationId": "other", "responses": {"200": {"description": "OK"}}}});
        let import_into = |docs: &[&Value]| {
            let mut existing: Option<Existing> = None;
            let mut all = BTreeMap::new();
            for d in docs {
                let out = import(
                    &d.to_string(),
                    &Options {
                        document_name: "v.json",
                        paths: &["/transit/".into()],
                        version: None,
                    },
                    &overlay(),
                    existing.clone(),
                )
                .unwrap();
                for (f, body) in out.files {
                    all.insert(f, body);
                }
                let registry: Registry = serde_json::from_str(&all["versions.json"]).unwrap();
                let docs = registry
                    .versions
                    .iter()
                    .map(|v| {
                        (
                            v.version.clone(),
                            serde_json::from_str(&all[&v.spec]).unwrap(),
                        )
                    })
                    .collect();
                existing = Some(Existing { registry, docs });
            }
            all
        };
        let a = import_into(&[&vendor(), &newer]);
        let b = import_into(&[&newer, &vendor()]);
        assert_eq!(a, b, "import order does not matter");
        let reg: Value = serde_json::from_str(&a["versions.json"]).unwrap();
        let v: Vec<(&str, &str)> = reg["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["version"].as_str().unwrap(),
                    e["status"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(v, [("1.2.3", "SUPPORTED"), ("1.10.0", "CURRENT")]);
        assert_eq!(reg["versions"][1]["changes"][0]["id"], "operation-added");
        let old: Value = serde_json::from_str(&a["1.2.3.json"]).unwrap();
        assert_eq!(old["info"]["x-status"], "SUPPORTED");
    }
}
