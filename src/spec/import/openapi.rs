//! Turns the parsed document into one OpenAPI 3.1 document per API version.

use super::infer::infer_model;
use super::parse::{ModelDoc, OperationDoc, OperationVersionDoc, VendorDoc};
use super::schema_expr::{parse_description, parse_expr, typed_literal, Expr};
use super::{version_key, ImportError};
use crate::check::basis::Basis;
use crate::spec::basis;
use crate::spec::overlay::{merge_patch, Overlay};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

pub const SCHEMA_PREFIX: &str = "#/components/schemas/";
pub const VERSION_PARAM: &str = "ApiVersion";

/// `Change Rotate Info` → `changeRotateInfo`; `Verify hmac with input` → `verifyHmacWithInput`.
pub fn operation_id(title: &str) -> String {
    let mut out = String::new();
    for (i, w) in title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .enumerate()
    {
        let mut cs = w.chars();
        let first = cs.next().expect("non-empty word");
        if i == 0 {
            out.push(first.to_ascii_lowercase());
            out.extend(cs.map(|c| c.to_ascii_lowercase()));
        } else {
            out.push(first.to_ascii_uppercase());
            out.extend(cs.map(|c| c.to_ascii_lowercase()));
        }
    }
    out
}

/// All models of the document as JSON Schemas, with overlay patches and extra schemas.
pub fn build_models(doc: &VendorDoc, overlay: &Overlay) -> Result<Map<String, Value>, ImportError> {
    let known: BTreeSet<&str> = doc.models.iter().map(|m| m.name.as_str()).collect();
    let mut out = Map::new();
    for m in &doc.models {
        out.insert(m.name.clone(), model_schema(m, &known)?);
    }
    for (name, patch) in &overlay.schema_patches {
        let target = out.get_mut(name).ok_or_else(|| {
            ImportError::at(
                0,
                format!("overlay patches model '{name}', which the document does not define"),
            )
        })?;
        merge_patch(target, patch);
    }
    for (name, schema) in &overlay.extra_schemas {
        if out.contains_key(name) {
            return Err(ImportError::at(
                0,
                format!("overlay adds schema '{name}', which the document already defines"),
            ));
        }
        let mut s = schema.clone();
        if let Some(o) = s.as_object_mut() {
            o.insert("x-kmsconform-source".into(), json!("overlay"));
        }
        out.insert(name.clone(), s);
    }
    Ok(out)
}

fn model_schema(m: &ModelDoc, known: &BTreeSet<&str>) -> Result<Value, ImportError> {
    let mut props = Map::new();
    let mut required = Vec::new();
    for f in &m.fields {
        let expr = parse_expr(&f.schema).map_err(|e| {
            ImportError::at(
                f.line + 1,
                format!("model '{}', field '{}': {e}", m.name, f.name),
            )
        })?;
        check_refs(
            &expr,
            known,
            f.line + 1,
            &format!("model '{}', field '{}'", m.name, f.name),
        )?;
        let facts = parse_description(&f.description).map_err(|e| {
            ImportError::at(
                f.line,
                format!("model '{}', field '{}': {e}", m.name, f.name),
            )
        })?;
        props.insert(
            f.name.clone(),
            property_schema(&expr, &facts, f.default.as_deref()),
        );
        if f.required {
            required.push(json!(f.name));
        }
    }
    let mut s = Map::new();
    s.insert("type".into(), json!("object"));
    s.insert("properties".into(), Value::Object(props));
    if !required.is_empty() {
        s.insert("required".into(), Value::Array(required));
    }
    s.insert("x-kmsconform-doc".into(), json!({"line": m.line}));
    Ok(Value::Object(s))
}

fn check_refs(
    expr: &Expr,
    known: &BTreeSet<&str>,
    line: usize,
    what: &str,
) -> Result<(), ImportError> {
    let mut refs = Vec::new();
    expr.models(&mut refs);
    match refs.iter().find(|r| !known.contains(r.as_str())) {
        Some(r) => Err(ImportError::at(
            line,
            format!("{what}: unknown model reference '{r}' (no '2.N - {r}' section)"),
        )),
        None => Ok(()),
    }
}

/// Schema of one field or parameter: the expression plus the facts of its description cell.
fn property_schema(
    expr: &Expr,
    facts: &super::schema_expr::DescriptionFacts,
    default: Option<&str>,
) -> Value {
    let mut s = expr.to_schema(SCHEMA_PREFIX);
    // String constraints belong on the string alternative.
    let string_target = if matches!(expr, Expr::Primitive { ty, .. } if ty == "string") {
        Some(&mut s)
    } else if let Some(alts) = s.get_mut("anyOf").and_then(Value::as_array_mut) {
        alts.iter_mut()
            .find(|a| a.get("type") == Some(&json!("string")))
    } else {
        None
    };
    if let Some(t) = string_target.and_then(Value::as_object_mut) {
        if let Some(p) = &facts.pattern {
            t.insert("pattern".into(), json!(p));
        }
        if let Some(n) = facts.min_length {
            t.insert("minLength".into(), json!(n));
        }
        if let Some(n) = facts.max_length {
            t.insert("maxLength".into(), json!(n));
        }
    }
    let o = s.as_object_mut().expect("schemas are objects");
    if let Some(n) = facts.minimum {
        o.insert("minimum".into(), json!(n));
    }
    if let Some(n) = facts.maximum {
        o.insert("maximum".into(), json!(n));
    }
    if !facts.text.is_empty() {
        o.insert("description".into(), json!(facts.text));
    }
    let ty = expr.value_type();
    if let Some(d) = default.filter(|d| *d != "None") {
        match typed_literal(d, ty) {
            Some(v) => {
                o.insert("default".into(), v);
            }
            None => {
                o.insert("x-kmsconform-doc-default".into(), json!(d));
            }
        }
    }
    if let Some(ex) = facts.example.as_deref().filter(|e| !e.is_empty()) {
        match typed_literal(ex, ty) {
            Some(v) => o.insert("examples".into(), json!([v])),
            None => o.insert("x-kmsconform-doc-example".into(), json!(ex)),
        };
    }
    s
}

/// Everything a version's document needs besides its operations.
pub struct Shared<'a> {
    pub doc: &'a VendorDoc,
    pub overlay: &'a Overlay,
    pub models: &'a Map<String, Value>,
    pub source: Value,
}

impl Shared<'_> {
    /// The vendor document's file name, as bases cite it.
    fn document(&self) -> &str {
        self.source
            .get("document")
            .and_then(Value::as_str)
            .unwrap_or("the vendor document")
    }
}

/// `KeyV1Dot2` → (1, 2): the version a model's name says it belongs to.
pub fn name_version(model: &str) -> Option<(u32, u32)> {
    let at = model.rfind('V')?;
    let (major, minor) = model[at + 1..].split_once("Dot")?;
    let num = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    Some((num(major)?, num(minor)?))
}

/// The models an operation of `version` may not be inferred as, with why: those the document
/// names for a later version (a `V<major>Dot<minor>` suffix above `version`), and those that
/// only the tables of later versions reference (directly or through other models).
pub fn later_models(
    doc: &VendorDoc,
    models: &Map<String, Value>,
    version: &str,
) -> BTreeMap<String, String> {
    let me = version_key(version);
    let (mut early, mut late) = (Vec::new(), Vec::new());
    for ov in doc.operations.iter().flat_map(|o| &o.versions) {
        let refs = if version_key(&ov.version) <= me {
            &mut early
        } else {
            &mut late
        };
        for p in &ov.params {
            if let Ok(e) = parse_expr(&p.schema) {
                e.models(refs);
            }
        }
        refs.extend(
            ov.responses
                .iter()
                .flatten()
                .filter_map(|r| r.schema.clone()),
        );
    }
    let closure = |mut todo: Vec<String>| {
        let mut seen = BTreeSet::new();
        while let Some(n) = todo.pop() {
            if seen.insert(n.clone()) {
                if let Some(s) = models.get(&n) {
                    collect_refs(s, &mut todo);
                }
            }
        }
        seen
    };
    let (early, late) = (closure(early), closure(late));
    let mut out = BTreeMap::new();
    for name in models.keys() {
        if let Some(v) = name_version(name).filter(|v| *v > me) {
            out.insert(
                name.clone(),
                format!("its name is for version {}.{}", v.0, v.1),
            );
        } else if late.contains(name) && !early.contains(name) {
            out.insert(
                name.clone(),
                "only tables of later versions reference it".into(),
            );
        }
    }
    out
}

pub fn build_version(sh: &Shared, version: &str) -> Result<Value, ImportError> {
    let row = sh
        .doc
        .versions
        .iter()
        .find(|r| r.version == version)
        .expect("caller passes registry versions");
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut header_values = BTreeSet::new();
    let mut used = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for op in &sh.doc.operations {
        let Some(ov) = op.versions.iter().find(|v| v.version == version) else {
            continue;
        };
        let id = operation_id(&op.title);
        if !ids.insert(id.clone()) {
            return Err(ImportError::at(
                op.line,
                format!("two operations share the operationId '{id}'"),
            ));
        }
        if let Some(h) = &sh.overlay.version_header {
            if let Some((_, v)) = ov.example_headers.iter().find(|(k, _)| k == h) {
                header_values.insert(v.clone());
            }
        }
        let operation = build_operation(sh, op, ov, &id, &mut used)?;
        let item = paths.entry(ov.path.clone()).or_default();
        if item.insert(ov.method.clone(), operation).is_some() {
            return Err(ImportError::at(
                ov.line,
                format!(
                    "{} {} is documented twice for version {version}",
                    ov.method, ov.path
                ),
            ));
        }
    }
    if paths.is_empty() {
        return Err(ImportError::at(
            row.line,
            format!("version {version} is in the Version table but no operation documents it"),
        ));
    }
    let mut components = Map::new();
    components.insert(
        "schemas".into(),
        Value::Object(reachable(sh.models, &used, sh.overlay)),
    );
    if let Some(h) = &sh.overlay.version_header {
        let value = match header_values.len() {
            1 => header_values.into_iter().next().expect("one value"),
            0 => {
                return Err(ImportError::at(
                    row.line,
                    format!("no example of version {version} shows the '{h}' header"),
                ))
            }
            _ => {
                return Err(ImportError::at(
                    row.line,
                    format!("examples of version {version} disagree on '{h}': {header_values:?}"),
                ))
            }
        };
        components.insert(
            "parameters".into(),
            json!({VERSION_PARAM: {
                "name": h, "in": "header", "required": false,
                "description": "API version selector. Without it the latest CURRENT version is served.",
                // A one-value enum, not `const`: generators (openapi-python-client) refuse
                // an optional header whose type is a literal, and drop every operation using it.
                "schema": {"type": "string", "enum": [value]}
            }}),
        );
    }
    if !sh.overlay.security_schemes.is_empty() {
        components.insert("securitySchemes".into(), json!(sh.overlay.security_schemes));
    }
    let security: Vec<Value> = sh
        .overlay
        .security_schemes
        .keys()
        .map(|k| json!({k: []}))
        .collect();
    let tags: Vec<Value> = sh
        .overlay
        .tags
        .iter()
        .filter(|t| {
            paths
                .values()
                .flat_map(|i| i.values())
                .any(|o| o["tags"][0] == json!(t.name))
        })
        .map(|t| json!({"name": t.name, "description": t.description}))
        .collect();
    let not_before = row.not_before.as_deref().map(iso_date);
    let mut regions_by_env: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (env, region) in &sh.doc.regions {
        regions_by_env.entry(env).or_default().push(region);
    }
    let mut region_enum: Vec<&str> = sh.doc.regions.iter().map(|r| r.1.as_str()).collect();
    region_enum.sort();
    region_enum.dedup();
    let env_enum: Vec<&str> = regions_by_env.keys().copied().collect();
    let mut server_vars = Map::new();
    if sh.doc.url_template.contains("{region}") && !region_enum.is_empty() {
        server_vars.insert(
            "region".into(),
            json!({"default": sh.doc.regions[0].1, "enum": region_enum}),
        );
    }
    if sh.doc.url_template.contains("{environment}") && !env_enum.is_empty() {
        server_vars.insert(
            "environment".into(),
            json!({"default": sh.doc.regions[0].0, "enum": env_enum}),
        );
    }
    let mut spec = json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": sh.doc.title,
            "version": version,
            "description": sh.doc.overview,
            "x-api": sh.overlay.api,
            "x-status": row.status,
            "x-not-before": not_before,
            "x-source": sh.source,
        },
        "servers": [{"url": sh.doc.url_template, "variables": server_vars, "x-regions-by-environment": regions_by_env}],
        "security": security,
        "paths": paths,
        "components": components,
        "x-kmsconform-normalize": sh.overlay.normalize,
    });
    if !tags.is_empty() {
        spec["tags"] = Value::Array(tags);
    }
    // Examples the document prints against its own schema stay, under x-vendor-example(s).
    crate::spec::examples::separate(&mut spec);
    Ok(spec)
}

/// `20251231` → `2025-12-31`.
pub fn iso_date(d: &str) -> String {
    format!("{}-{}-{}", &d[0..4], &d[4..6], &d[6..8])
}

/// The models reachable from `used`, plus the error schema.
fn reachable(
    models: &Map<String, Value>,
    used: &BTreeSet<String>,
    overlay: &Overlay,
) -> Map<String, Value> {
    let mut todo: Vec<String> = used.iter().cloned().collect();
    todo.extend(overlay.error_schema.clone());
    let mut seen = BTreeSet::new();
    while let Some(n) = todo.pop() {
        if !seen.insert(n.clone()) {
            continue;
        }
        if let Some(s) = models.get(&n) {
            collect_refs(s, &mut todo);
        }
    }
    models
        .iter()
        .filter(|(k, _)| seen.contains(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            if let Some(r) = o.get("$ref").and_then(Value::as_str) {
                if let Some(n) = r.strip_prefix(SCHEMA_PREFIX) {
                    out.push(n.to_string());
                }
            }
            o.values().for_each(|x| collect_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("{SCHEMA_PREFIX}{name}")})
}

fn build_operation(
    sh: &Shared,
    op: &OperationDoc,
    ov: &OperationVersionDoc,
    id: &str,
    used: &mut BTreeSet<String>,
) -> Result<Value, ImportError> {
    let known: BTreeSet<&str> = sh.doc.models.iter().map(|m| m.name.as_str()).collect();
    let mut params = Vec::new();
    let mut body: Option<(String, bool, usize)> = None;
    for p in &ov.params {
        let what = format!(
            "operation '{}' ({}), parameter '{}'",
            op.title, ov.version, p.name
        );
        let expr = parse_expr(&p.schema)
            .map_err(|e| ImportError::at(p.line + 1, format!("{what}: {e}")))?;
        check_refs(&expr, &known, p.line + 1, &what)?;
        if p.location == "body" {
            let Expr::Model(m) = expr else {
                return Err(ImportError::at(
                    p.line + 1,
                    format!("{what}: a body must name a model, found '{}'", p.schema),
                ));
            };
            body = Some((m, p.required, p.line));
            continue;
        }
        if !["path", "query", "header", "cookie"].contains(&p.location.as_str()) {
            return Err(ImportError::at(
                p.line,
                format!("{what}: unknown parameter location '{}'", p.location),
            ));
        }
        let facts = parse_description(&p.description)
            .map_err(|e| ImportError::at(p.line, format!("{what}: {e}")))?;
        let mut schema = property_schema(&expr, &facts, p.default.as_deref());
        if let Some(patch) = sh
            .overlay
            .parameter_patches
            .get(id)
            .and_then(|m| m.get(&p.name))
        {
            merge_patch(&mut schema, patch);
        }
        let so = schema.as_object_mut().expect("object");
        let description = so.remove("description");
        let examples = so.remove("examples");
        let mut param = json!({"name": p.name, "in": p.location, "required": p.required || p.location == "path"});
        let po = param.as_object_mut().expect("object");
        if let Some(d) = description {
            po.insert("description".into(), d);
        }
        po.insert("schema".into(), schema);
        if let Some(Value::Array(mut ex)) = examples {
            po.insert("example".into(), ex.remove(0));
        }
        params.push(param);
    }
    if sh.overlay.version_header.is_some() {
        params.push(json!({"$ref": format!("#/components/parameters/{VERSION_PARAM}")}));
    }

    let mut operation = Map::new();
    operation.insert("operationId".into(), json!(id));
    if !sh.overlay.tags.is_empty() {
        let tag = sh
            .overlay
            .tags
            .iter()
            .filter(|t| ov.path.starts_with(&t.path_prefix))
            .max_by_key(|t| t.path_prefix.len())
            .ok_or_else(|| {
                ImportError::at(
                    ov.line,
                    format!(
                        "operation '{}' ({}): no overlay tag's pathPrefix matches {}",
                        op.title, ov.version, ov.path
                    ),
                )
            })?;
        operation.insert("tags".into(), json!([tag.name]));
    }
    operation.insert("summary".into(), json!(op.title));
    operation.insert("description".into(), json!(ov.description));
    operation.insert("parameters".into(), Value::Array(params));

    // Request body: declared by a body parameter, or only visible from the example.
    let example_request = ov.example_request.clone().flatten();
    let body = match (body, &example_request) {
        (Some((m, req, _)), _) => Some((m, req, None)),
        (None, Some(ex)) => {
            let later = later_models(sh.doc, sh.models, &ov.version);
            let inf = infer_model(ex, &op.title, sh.models, &later).map_err(|e| {
                ImportError::at(
                    ov.line,
                    format!(
                        "operation '{}' ({}): request body example without a body parameter: {e}",
                        op.title, ov.version
                    ),
                )
            })?;
            Some((
                inf.model.clone(),
                true,
                Some(
                    json!({"from": "request example", "reason": "the document lists no body parameter", "candidates": inf.candidates}),
                ),
            ))
        }
        (None, None) => None,
    };
    if let Some((model, required, inferred)) = body {
        used.insert(model.clone());
        let mut content = json!({"schema": schema_ref(&model)});
        if let Some(ex) = &example_request {
            content["example"] = ex.clone();
            if let Some(r) = &ov.example_request_repaired {
                content["x-kmsconform-example-repaired"] = json!(r);
            }
        }
        let mut rb = json!({"required": required, "content": {"application/json": content}});
        if let Some(i) = inferred {
            rb["x-kmsconform-inferred"] = i;
        }
        operation.insert("requestBody".into(), rb);
    }

    let (responses, statuses_basis) = build_responses(sh, op, ov, id, used)?;
    operation.insert("responses".into(), Value::Object(responses));
    if let Some(b) = statuses_basis {
        // Per keyword on the operation: the Responses Object allows no extension whose
        // value is not a Response to generators (openapi-python-client refuses the document).
        operation.insert(basis::KEY.into(), json!({"responses": b.to_string()}));
    }
    let security: Vec<Value> = sh
        .overlay
        .security_schemes
        .keys()
        .map(|k| json!({k: []}))
        .collect();
    if !security.is_empty() {
        operation.insert("security".into(), Value::Array(security));
    }
    operation.insert("x-state".into(), json!(ov.state));
    if let Some(p) = &ov.example_path {
        operation.insert("x-example-path".into(), json!(p));
    }
    operation.insert(
        "x-kmsconform-doc".into(),
        json!({"section": ov.section, "line": ov.line}),
    );
    Ok(Value::Object(operation))
}

/// One response of an operation version while it is assembled.
struct Row {
    status: u16,
    description: String,
    /// Schema model; None when the document prints "None" or no schema.
    model: Option<String>,
    /// `x-kmsconform-inferred`: where a status or schema the table does not give came from.
    note: Option<Value>,
    /// `x-kmsconform-basis` of the response, when it is not that of the statuses (a row
    /// copied from another version's table has none: it rests on the `responses` object's).
    basis: Option<Basis>,
}

fn build_responses(
    sh: &Shared,
    op: &OperationDoc,
    ov: &OperationVersionDoc,
    id: &str,
    used: &mut BTreeSet<String>,
) -> Result<(Map<String, Value>, Option<Basis>), ImportError> {
    let mut rows: Vec<Row> = Vec::new();
    // The basis of the list of statuses, when it is not the document's.
    let mut statuses_basis: Option<Basis> = None;
    match &ov.responses {
        Some(table) => rows.extend(table.iter().map(|r| Row {
            status: r.status,
            description: r.description.clone(),
            model: r.schema.clone(),
            note: None,
            basis: None,
        })),
        None => {
            // Statuses from the nearest version that prints a table; success schemas from the example.
            let sibling = nearest_with_table(op, ov);
            if let Some(s) = sibling {
                statuses_basis = Some(Basis::assumed(format!(
                    "the document prints no Responses table for {id} in {}; its statuses are copied from {}",
                    ov.version, s.version
                )));
                let note = json!({"from": format!("version {}", s.version), "reason": "the document has no Responses table for this version"});
                for r in s.responses.as_ref().expect("filtered on tables") {
                    rows.push(Row {
                        status: r.status,
                        description: r.description.clone(),
                        model: r.schema.clone(),
                        note: Some(note.clone()),
                        basis: None,
                    });
                }
            }
            let later = later_models(sh.doc, sh.models, &ov.version);
            for ex in &ov.example_responses {
                let pinned = sh
                    .overlay
                    .response_models
                    .get(&format!("{id} {}", ex.status));
                let (model, note) = match (pinned, &ex.body) {
                    (Some(m), _) => (
                        Some(m.clone()),
                        json!({"from": "overlay responseModels", "reason": "the document has no Responses table for this version"}),
                    ),
                    (None, Some(body)) => {
                        let inf = infer_model(body, &op.title, sh.models, &later).map_err(|e| {
                            ImportError::at(ex.line, format!("operation '{}' ({}): no Responses table and the example fits no single model: {e}", op.title, ov.version))
                        })?;
                        (
                            Some(inf.model),
                            json!({"from": "response example", "reason": "the document has no Responses table for this version", "candidates": inf.candidates}),
                        )
                    }
                    (None, None) => (
                        None,
                        json!({"from": "response example", "reason": "the document has no Responses table for this version"}),
                    ),
                };
                // The example is the document's: its status (and a schema it is an instance
                // of) are documented, whatever the list of statuses rests on. A pin is ours.
                let basis = (pinned.is_none() && statuses_basis.is_some()).then(|| {
                    Basis::documented(format!(
                        "{}:{} ({id} {}: example Response {})",
                        sh.document(),
                        ex.line,
                        ov.version,
                        ex.status
                    ))
                });
                match rows.iter_mut().find(|r| r.status == ex.status) {
                    Some(r) => {
                        r.model = model;
                        r.note = Some(note);
                        r.basis = basis;
                    }
                    None => rows.push(Row {
                        status: ex.status,
                        description: reason_phrase(ex.status).to_string(),
                        model,
                        note: Some(note),
                        basis,
                    }),
                }
            }
        }
    }
    for (status, extra) in sh.overlay.extra_responses.get(id).into_iter().flatten() {
        let code: u16 = status.parse().map_err(|_| {
            ImportError::at(
                0,
                format!("overlay extraResponses.{id}: bad status '{status}'"),
            )
        })?;
        if rows.iter().any(|r| r.status == code) {
            continue; // the document documents it for this version
        }
        let basis = Basis::parse(&extra.basis)
            .map_err(|e| ImportError::at(0, format!("extraResponses.{id}.{status}: {e}")))?;
        rows.push(Row {
            status: code,
            description: extra.description.clone(),
            model: None,
            note: Some(json!({"from": "overlay extraResponses", "reason": "status the document omits for this operation"})),
            basis: Some(basis),
        });
    }
    // Statuses every operation has (e.g. 401 wherever the signature scheme applies), where
    // neither the document nor extraResponses gives them.
    if !sh.overlay.security_schemes.is_empty() {
        for (status, common) in &sh.overlay.common_responses {
            let code: u16 = status.parse().map_err(|_| {
                ImportError::at(0, format!("overlay commonResponses: bad status '{status}'"))
            })?;
            if rows.iter().any(|r| r.status == code) {
                continue;
            }
            let extra = common_response(status, common)?;
            let basis = Basis::parse(&extra.basis)
                .map_err(|e| ImportError::at(0, format!("commonResponses.{status}: {e}")))?;
            rows.push(Row {
                status: code,
                description: extra.description,
                model: None,
                note: Some(json!({"from": "overlay commonResponses", "reason": "status the document omits for this operation"})),
                basis: Some(basis),
            });
        }
    }
    rows.sort_by_key(|r| r.status);

    let mut out = Map::new();
    for row in rows {
        let Row {
            status,
            description: desc,
            model,
            note,
            basis,
        } = row;
        let mut resp = Map::new();
        resp.insert("description".into(), json!(desc));
        let example = ov.example_responses.iter().find(|e| e.status == status);
        let schema = match (&model, status) {
            (Some(m), _) => Some(schema_ref(m)),
            (None, s) if s >= 400 => sh.overlay.error_schema.as_deref().map(|e| {
                let from_overlay = note
                    .as_ref()
                    .and_then(|n| n.get("from"))
                    .and_then(Value::as_str)
                    .is_some_and(|f| {
                        f.starts_with("overlay extraResponses")
                            || f.starts_with("overlay commonResponses")
                    });
                resp.insert(
                    "x-kmsconform-error-schema".into(),
                    json!(if from_overlay {
                        "overlay errorSchema: the document does not print this status"
                    } else {
                        "overlay errorSchema: the document prints None"
                    }),
                );
                schema_ref(e)
            }),
            _ => None,
        };
        if let Some(m) = &model {
            used.insert(m.clone());
        }
        let repaired = example.and_then(|e| e.repaired.as_ref());
        if let Some(s) = schema {
            let mut media = json!({"schema": s});
            if let Some(b) = example.and_then(|e| e.body.clone()) {
                media["example"] = b;
                if let Some(r) = repaired {
                    media["x-kmsconform-example-repaired"] = json!(r);
                }
            }
            resp.insert("content".into(), json!({"application/json": media}));
        } else if let Some(b) = example.and_then(|e| e.body.clone()) {
            resp.insert("x-example-without-schema".into(), b);
            if let Some(r) = repaired {
                resp.insert("x-kmsconform-example-repaired".into(), json!(r));
            }
        }
        if let Some(n) = note {
            resp.insert("x-kmsconform-inferred".into(), n);
        }
        if example.and_then(|e| e.body.as_ref()).is_none()
            && (200..300).contains(&status)
            && status != 204
        {
            resp.insert("x-kmsconform-no-example".into(), json!(true));
        }
        if let Some(b) = basis {
            resp.insert(basis::KEY.into(), json!(b.to_string()));
        }
        out.insert(status.to_string(), Value::Object(resp));
    }
    // An example for a status no table or inference produced still counts as documented.
    Ok((out, statuses_basis))
}

/// A `commonResponses` entry of the printable layout: a description and its basis (the
/// schema is the overlay's errorSchema, as for extraResponses).
fn common_response(
    status: &str,
    v: &Value,
) -> Result<crate::spec::overlay::ExtraResponse, ImportError> {
    serde_json::from_value(v.clone())
        .map_err(|e| ImportError::at(0, format!("commonResponses.{status}: {e}")))
}

fn nearest_with_table<'a>(
    op: &'a OperationDoc,
    ov: &OperationVersionDoc,
) -> Option<&'a OperationVersionDoc> {
    let key = version_key;
    let me = key(&ov.version);
    op.versions
        .iter()
        .filter(|v| v.responses.is_some())
        .min_by_key(|v| {
            let k = key(&v.version);
            ((k.0 as i64 * 1000 + k.1 as i64) - (me.0 as i64 * 1000 + me.1 as i64)).abs()
        })
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Response",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::import::{import, parse};

    /// Version 1.1 prints tables naming GadgetPage and GadgetShowResponseV1Dot1; version 1.0
    /// prints none, only examples that the 1.1 models fit better than the 1.0 ones (they
    /// require `size`, which 1.0's Gadget leaves optional).
    const GADGETS: &str = "Gadget Service
Overview
Synthetic: a later version's models must not be inferred for an earlier version.
Version
| Version | Status | Not Before |
|---|
| 1.1 | CURRENT | - |
| 1.0 | SUPPORTED | - |
OpenAPI URL
https://gadget.example.com
1 - APIs
1.1 - Show Gadget
1.1.1 - 1.1
get /v1/gadgets/{id}
Description
Show a gadget.
State
ACTIVE (CURRENT)
Parameters
| Type | Name | Description | Schema | Default |
|---|
| path | id required | Gadget id Example : g1
| string | None |
Responses
| HTTP Code | Description | Schema |
|---|
| 200 | OK | GadgetShowResponseV1Dot1 |
| 404 | Not Found | None |
Example HTTP request
Request path
/v1/gadgets/{id}
Example HTTP response
Response 200
{\"gadget\": {\"id\": \"g1\", \"size\": 3}}
1.1.2 - 1.0
get /v1/gadgets/{id}
Description
Show a gadget.
State
ACTIVE (SUPPORTED)
Parameters
| Type | Name | Description | Schema | Default |
|---|
| path | id required | Gadget id Example : g1
| string | None |
Responses
Example HTTP request
Request path
/v1/gadgets/{id}
Example HTTP response
Response 200
{\"gadget\": {\"id\": \"g1\", \"size\": 3}}
1.2 - List Gadgets
1.2.1 - 1.1
get /v1/gadgets
Description
List gadgets.
State
ACTIVE (CURRENT)
Parameters
Responses
| HTTP Code | Description | Schema |
|---|
| 200 | OK | GadgetPage |
Example HTTP request
Request path
/v1/gadgets
Example HTTP response
Response 200
{\"items\": [{\"id\": \"g1\", \"size\": 3}]}
1.2.2 - 1.0
get /v1/gadgets
Description
List gadgets.
State
ACTIVE (SUPPORTED)
Parameters
Responses
Example HTTP request
Request path
/v1/gadgets
Example HTTP response
Response 200
{\"items\": [{\"id\": \"g1\", \"size\": 3}]}
2 - Models
2.1 - Gadget
| Name | Description | Schema | Default |
|---|
id required | Id Example : g1
| string | |
size optional | Size Example : 3
| integer | |
2.2 - GadgetV1Dot1
| Name | Description | Schema | Default |
|---|
id required | Id Example : g1
| string | |
size required | Size Example : 3
| integer | |
2.3 - GadgetShowResponse
| Name | Description | Schema | Default |
|---|
gadget required |
| Gadget | |
2.4 - GadgetShowResponseV1Dot1
| Name | Description | Schema | Default |
|---|
gadget required |
| GadgetV1Dot1 | |
2.5 - Gadgets
| Name | Description | Schema | Default |
|---|
items required |
| array[Gadget] | |
2.6 - GadgetPage
| Name | Description | Schema | Default |
|---|
items required |
| array[GadgetV1Dot1] | |
";

    fn inferred(spec: &str, path: &str) -> Value {
        let v: Value = serde_json::from_str(spec).unwrap();
        v["paths"][path]["get"]["responses"]["200"].clone()
    }

    #[test]
    fn a_later_versions_model_is_never_inferred_for_an_earlier_version() {
        let doc = parse::parse(GADGETS).unwrap();
        let overlay = Overlay {
            api: "gadget".into(),
            ..Default::default()
        };
        let models = build_models(&doc, &overlay).unwrap();
        let later = later_models(&doc, &models, "1.0");
        assert_eq!(
            later.keys().collect::<Vec<_>>(),
            ["GadgetPage", "GadgetShowResponseV1Dot1", "GadgetV1Dot1"]
        );
        assert_eq!(
            later["GadgetShowResponseV1Dot1"],
            "its name is for version 1.1"
        );
        assert_eq!(
            later["GadgetPage"],
            "only tables of later versions reference it"
        );
        assert!(later_models(&doc, &models, "1.1").is_empty());

        // Without the rule the later models win: they fit the examples more specifically.
        let none = BTreeMap::new();
        let show = json!({"gadget": {"id": "g1", "size": 3}});
        let list = json!({"items": [{"id": "g1", "size": 3}]});
        assert_eq!(
            infer_model(&show, "Show Gadget", &models, &none)
                .unwrap()
                .model,
            "GadgetShowResponseV1Dot1"
        );
        assert_eq!(
            infer_model(&list, "List Gadgets", &models, &none)
                .unwrap()
                .model,
            "GadgetPage"
        );

        // With it, version 1.0 gets its own models; 1.1 keeps its tables.
        let out = import(GADGETS, "gadget.txt", &overlay).unwrap();
        let file = |n: &str| &out.files.iter().find(|f| f.0 == n).unwrap().1;
        let ref_of = |r: &Value| r["content"]["application/json"]["schema"]["$ref"].clone();
        let show10 = inferred(file("1.0.json"), "/v1/gadgets/{id}");
        assert_eq!(ref_of(&show10), "#/components/schemas/GadgetShowResponse");
        assert_eq!(
            show10["x-kmsconform-inferred"]["candidates"],
            json!(["GadgetShowResponse"])
        );
        let list10 = inferred(file("1.0.json"), "/v1/gadgets");
        assert_eq!(ref_of(&list10), "#/components/schemas/Gadgets");
        let show11 = inferred(file("1.1.json"), "/v1/gadgets/{id}");
        assert_eq!(
            ref_of(&show11),
            "#/components/schemas/GadgetShowResponseV1Dot1"
        );
    }

    #[test]
    fn statuses_copied_from_another_version_are_assumed_and_the_example_stays_documented() {
        let overlay = Overlay {
            api: "gadget".into(),
            ..Default::default()
        };
        let out = import(GADGETS, "gadget.txt", &overlay).unwrap();
        let v10: Value = serde_json::from_str(&out.files[0].1).unwrap();
        assert_eq!(out.files[0].0, "1.0.json");
        let op = &v10["paths"]["/v1/gadgets/{id}"]["get"];
        let responses = &op["responses"];
        assert_eq!(
            op[basis::KEY]["responses"],
            "assumed: the document prints no Responses table for showGadget in 1.0; its statuses are copied from 1.1"
        );
        assert!(
            responses.get(basis::KEY).is_none(),
            "the Responses Object carries responses only"
        );
        assert_eq!(
            responses["200"][basis::KEY],
            "documented: gadget.txt:51 (showGadget 1.0: example Response 200)"
        );
        assert!(
            responses["404"].get(basis::KEY).is_none(),
            "rests on the list's basis"
        );
        let v11: Value = serde_json::from_str(&out.files[1].1).unwrap();
        assert!(v11["paths"]["/v1/gadgets/{id}"]["get"]
            .get(basis::KEY)
            .is_none());
    }

    #[test]
    fn model_names_carry_versions_only_as_a_suffix() {
        assert_eq!(name_version("KeyV1Dot2"), Some((1, 2)));
        assert_eq!(name_version("ManagedKeyPageResponseV10Dot0"), Some((10, 0)));
        assert_eq!(name_version("VerifyRequest"), None);
        assert_eq!(name_version("KeyV1Dot2Extra"), None);
        assert_eq!(name_version("KeyVDot2"), None);
    }

    #[test]
    fn operation_ids_are_camel_case_titles() {
        assert_eq!(operation_id("Change Rotate Info"), "changeRotateInfo");
        assert_eq!(
            operation_id("Verify hmac with input"),
            "verifyHmacWithInput"
        );
        assert_eq!(operation_id("List Keys"), "listKeys");
    }
}
