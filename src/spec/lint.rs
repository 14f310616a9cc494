//! `spec lint`: structural validity of a spec directory, and the vendor document's own
//! inconsistencies, as findings with rule ids. Errors make a spec unusable; warnings and
//! infos describe the document.

use crate::check::basis::BasisKind;
use crate::spec::basis::{self, Annotation};
use crate::spec::examples;
use crate::spec::registry::Effective;
use crate::spec::validate::SchemaSet;
use crate::spec::SpecSet;
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// The catalogue: (rule id, severity, one-line description).
pub const RULES: &[(&str, Severity, &str)] = &[
    ("openapi-shape", Severity::Error, "the document is not an OpenAPI 3.1 document with info, paths and operations"),
    ("operation-id-duplicate", Severity::Error, "two operations share an operationId"),
    ("ref-unresolved", Severity::Error, "a $ref does not resolve inside the document"),
    ("schema-compile", Severity::Error, "a schema does not compile as JSON Schema 2020-12"),
    ("registry-mismatch", Severity::Error, "versions.json disagrees with the version's document"),
    ("example-schema-mismatch", Severity::Warning, "a vendor example does not validate against its own schema (the spec keeps it under x-vendor-example(s), not example(s))"),
    ("example-not-json", Severity::Warning, "a printed example body is not strict JSON (e.g. a trailing comma); it was read leniently"),
    ("example-unreadable", Severity::Warning, "a printed example cannot be read as a value of its field's type"),
    ("default-type-mismatch", Severity::Warning, "a printed default is not a value of its field's type"),
    ("response-example-missing", Severity::Warning, "a success response has no example body"),
    ("request-example-missing", Severity::Warning, "a request body has no example"),
    ("responses-inferred", Severity::Warning, "statuses or schemas the document does not print were inferred (sibling version, example, or overlay)"),
    ("request-body-inferred", Severity::Warning, "the document lists no body parameter although it prints a request body"),
    ("example-without-schema", Severity::Warning, "an example is printed for a response the document gives no schema"),
    ("pattern-suspicious-range", Severity::Warning, "a regex character class holds a range across character kinds (e.g. ')-_')"),
    ("version-past-not-before", Severity::Warning, "a version is past its Not Before date but still published"),
    ("version-status-stale", Severity::Warning, "a version's published status disagrees with its Not Before date"),
    ("optional-always-present", Severity::Info, "an optional field is carried by every example of its model"),
    ("basis-assumed", Severity::Info, "an expectation of the spec rests on our decision (x-kmsconform-basis \"assumed: …\"), not on the document or observation"),
    ("example-documented-type-mismatch", Severity::Warning, "an example value's JSON type contradicts the type the document prints for its field"),
    ("timestamp-unit-mismatch", Severity::Warning, "the document says a timestamp counts seconds (or milliseconds) but an example holds the other unit"),
    ("enum-values-missing", Severity::Warning, "the document announces a list of values for a field but prints none"),
    ("documented-field-never-in-example", Severity::Info, "a documented field is absent from every example instance of its model"),
    ("required-unspecified", Severity::Warning, "the document's required column says nothing ('-') for a model's fields"),
    ("basis-malformed", Severity::Error, "an x-kmsconform-basis is not \"documented|observed|assumed: <source>\""),
    ("response-schema-missing", Severity::Warning, "a success response (other than 204) gives no body schema"),
    ("error-responses-missing", Severity::Warning, "an operation documents no 4xx, 5xx or default response"),
    ("parameter-schema-missing", Severity::Warning, "a parameter has no schema, or a schema that states no type"),
    ("parameter-required-default", Severity::Warning, "a required parameter declares a default, which can never apply"),
    ("format-unknown", Severity::Info, "a schema format that neither JSON Schema nor the OpenAPI format registry defines"),
    ("object-without-properties", Severity::Info, "an object schema names no properties: anything, or nothing, is accepted"),
];

/// Formats of JSON Schema 2020-12 and the OpenAPI format registry.
const KNOWN_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
    "int32",
    "int64",
    "float",
    "double",
    "byte",
    "binary",
    "password",
    "char",
    "commonmark",
    "decimal",
    "decimal128",
    "html",
    "int8",
    "int16",
    "uint8",
    "media-range",
    "sf-binary",
    "sf-boolean",
    "sf-decimal",
    "sf-integer",
    "sf-string",
    "sf-token",
    "unixtime",
    "http-date",
    "base64url",
];

const HTTP_METHODS: &[&str] = crate::spec::import::from_openapi::HTTP_METHODS;

pub fn severity_of(rule: &str) -> Severity {
    RULES
        .iter()
        .find(|r| r.0 == rule)
        .map(|r| r.1)
        .unwrap_or(Severity::Error)
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct LintFinding {
    pub severity: Severity,
    pub rule: String,
    pub location: String,
    pub message: String,
    /// Versions whose document shows the same finding.
    pub versions: Vec<String>,
}

struct Sink {
    found: BTreeMap<(String, String, String), BTreeSet<String>>,
    version: String,
}

impl Sink {
    fn add(&mut self, rule: &str, location: impl Into<String>, message: impl Into<String>) {
        self.found
            .entry((rule.to_string(), location.into(), message.into()))
            .or_default()
            .insert(self.version.clone());
    }
}

pub fn lint(set: &SpecSet, as_of: NaiveDate) -> Vec<LintFinding> {
    let mut sink = Sink {
        found: BTreeMap::new(),
        version: String::new(),
    };
    for vs in &set.versions {
        let (version, doc) = (&vs.version, &vs.doc);
        sink.version = version.clone();
        lint_doc(doc, &mut sink);
        if let Some(entry) = set.registry.get(version) {
            let ops = crate::spec::changes::operations(doc).len();
            if ops != entry.operations {
                sink.add(
                    "registry-mismatch",
                    "versions.json",
                    format!(
                        "registry says {} operations, the document has {ops}",
                        entry.operations
                    ),
                );
            }
            if doc.pointer("/info/x-status").and_then(Value::as_str) != Some(entry.status.as_str())
            {
                sink.add(
                    "registry-mismatch",
                    "versions.json",
                    "info.x-status differs from the registry status",
                );
            }
            let vocab = &set.profile.registry;
            let (eff, days) = entry.effective(as_of, vocab);
            let deprecated_word = vocab
                .word(crate::spec::profile::StatusMeaning::Deprecated)
                .unwrap_or("deprecated");
            match (eff, entry.status.as_str()) {
                (Effective::Expired, _) => sink.add(
                    "version-past-not-before",
                    format!("version {version}"),
                    format!(
                        "published {} with Not Before {} — {} days overdue as of {as_of}; the vendor: such versions are no longer supported",
                        entry.status,
                        entry.not_before.as_deref().unwrap_or("-"),
                        -days.unwrap_or(0)
                    ),
                ),
                (Effective::Deprecated, s) if s != deprecated_word => sink.add(
                    "version-status-stale",
                    format!("version {version}"),
                    format!("published {s} but {} days before its Not Before date (the vendor calls that {deprecated_word})", days.unwrap_or(0)),
                ),
                _ => {}
            }
        }
    }
    sink.version.clear();
    let mut out: Vec<LintFinding> = sink
        .found
        .into_iter()
        .map(|((rule, location, message), versions)| LintFinding {
            severity: severity_of(&rule),
            rule,
            location,
            message,
            versions: versions.into_iter().collect(),
        })
        .collect();
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.cmp(b)));
    out
}

fn lint_doc(doc: &Value, sink: &mut Sink) {
    let openapi = doc.get("openapi").and_then(Value::as_str).unwrap_or("");
    if !openapi.starts_with("3.1") {
        sink.add(
            "openapi-shape",
            "openapi",
            format!("expected 3.1.x, found '{openapi}'"),
        );
    }
    if doc.pointer("/info/title").and_then(Value::as_str).is_none() {
        sink.add("openapi-shape", "info", "info.title missing");
    }
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        sink.add("openapi-shape", "paths", "paths missing");
        return;
    };
    check_refs(doc, doc, "#", sink);
    check_bases(doc, "#", sink);
    check_schema_nodes(doc, "#", sink);
    let schemas = SchemaSet::new(doc);
    let models = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (name, s) in &models {
        let loc = format!("#/components/schemas/{name}");
        if let Err(e) = schemas.validator(s) {
            sink.add("schema-compile", loc.clone(), e);
            continue;
        }
        lint_model_fields(name, s, &schemas, sink);
    }

    let mut ids = BTreeSet::new();
    let mut presence: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    for (path, item) in paths {
        for (method, op) in item
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(m, _)| HTTP_METHODS.contains(&m.as_str()))
        {
            let id = op.get("operationId").and_then(Value::as_str).unwrap_or("");
            let loc = format!("{id} ({} {path})", method.to_uppercase());
            if id.is_empty() {
                sink.add(
                    "openapi-shape",
                    loc.clone(),
                    "operation without operationId",
                );
            } else if !ids.insert(id.to_string()) {
                sink.add(
                    "operation-id-duplicate",
                    loc.clone(),
                    format!("operationId '{id}' is used twice"),
                );
            }
            let Some(responses) = op.get("responses").and_then(Value::as_object) else {
                sink.add("openapi-shape", loc.clone(), "operation without responses");
                continue;
            };
            lint_parameters(doc, &schemas, op, &loc, sink);
            if !responses
                .keys()
                .any(|s| s == "default" || s.starts_with('4') || s.starts_with('5'))
            {
                sink.add(
                    "error-responses-missing",
                    loc.clone(),
                    format!(
                        "documents only {}",
                        responses.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                );
            }
            if let Some(rb) = op.get("requestBody") {
                let media = rb.pointer("/content/application~1json");
                if let Some(r) = media
                    .and_then(|m| m.get("x-kmsconform-example-repaired"))
                    .and_then(Value::as_str)
                {
                    sink.add(
                        "example-not-json",
                        format!("{loc} request example"),
                        format!("not strict JSON; read after repairing it: {r}"),
                    );
                }
                match media.and_then(examples::any_example) {
                    Some(ex) => {
                        let schema = media
                            .and_then(|m| m.get("schema"))
                            .cloned()
                            .unwrap_or(Value::Bool(true));
                        example_check(
                            &schemas,
                            &schema,
                            ex,
                            &format!("{loc} request example"),
                            sink,
                        );
                        walk_presence(&models, &schema, ex, &mut presence);
                    }
                    None => sink.add(
                        "request-example-missing",
                        loc.clone(),
                        "the request body has no example",
                    ),
                }
                if rb.get("x-kmsconform-inferred").is_some() {
                    let model = rb
                        .pointer("/content/application~1json/schema/$ref")
                        .and_then(Value::as_str)
                        .unwrap_or("?");
                    sink.add(
                        "request-body-inferred",
                        loc.clone(),
                        format!(
                            "no body parameter documented; the example matches {}",
                            model.rsplit('/').next().unwrap_or(model)
                        ),
                    );
                }
            }
            let mut inferred = Vec::new();
            for (status, resp) in responses.iter().filter(|(k, _)| !k.starts_with("x-")) {
                let media = resp.pointer("/content/application~1json");
                if let Some(r) = media
                    .and_then(|m| m.get("x-kmsconform-example-repaired"))
                    .or_else(|| resp.get("x-kmsconform-example-repaired"))
                    .and_then(Value::as_str)
                {
                    sink.add(
                        "example-not-json",
                        format!("{loc} response {status} example"),
                        format!("not strict JSON; read after repairing it: {r}"),
                    );
                }
                if let (Some(schema), Some(ex)) = (
                    media.and_then(|m| m.get("schema")),
                    media.and_then(examples::any_example),
                ) {
                    example_check(
                        &schemas,
                        schema,
                        ex,
                        &format!("{loc} response {status} example"),
                        sink,
                    );
                    walk_presence(&models, schema, ex, &mut presence);
                }
                let success = status.starts_with('2') && status != "204";
                if success && media.and_then(|m| m.get("schema")).is_none() {
                    sink.add(
                        "response-schema-missing",
                        loc.clone(),
                        format!(
                            "response {status} ({}) gives no body schema",
                            resp.get("description")
                                .and_then(Value::as_str)
                                .unwrap_or("no description")
                        ),
                    );
                }
                let no_example = media.is_some_and(|m| {
                    m.get("schema").is_some()
                        && examples::any_example(m).is_none()
                        && m.get("examples").is_none()
                });
                if resp.get("x-kmsconform-no-example").is_some() || (success && no_example) {
                    sink.add(
                        "response-example-missing",
                        loc.clone(),
                        format!("response {status} has no example body"),
                    );
                }
                if resp.get("x-example-without-schema").is_some() {
                    sink.add(
                        "example-without-schema",
                        loc.clone(),
                        format!("response {status} prints an example but no schema"),
                    );
                }
                if let Some(from) = resp
                    .pointer("/x-kmsconform-inferred/from")
                    .and_then(Value::as_str)
                {
                    inferred.push(format!("{status} from {from}"));
                } else if let Some((kind, _)) = resp
                    .get(BASIS_KEY)
                    .and_then(Value::as_str)
                    .and_then(parse_basis)
                    .filter(|(k, _)| *k != "documented")
                {
                    inferred.push(format!("{status} from the overlay ({kind})"));
                }
            }
            if !inferred.is_empty() {
                sink.add(
                    "responses-inferred",
                    loc.clone(),
                    format!(
                        "statuses or schemas the document does not print: {}",
                        inferred.join(", ")
                    ),
                );
            }
        }
    }
    doc_fact_rules(doc, &schemas, &models, sink);
    assumed_bases(doc, sink);
    for ((model, field), (instances, present)) in presence {
        if instances > 0 && instances == present {
            sink.add(
                "optional-always-present",
                format!("#/components/schemas/{model}/properties/{field}"),
                format!("optional field '{field}' of {model} is present in all {instances} example instance(s)"),
            );
        }
    }
}

/// Every `assumed` annotation of the document, located and with its reason: the project's
/// own decisions, listed next to the document's defects.
fn assumed_bases(doc: &Value, sink: &mut Sink) {
    fn walk(doc: &Value, v: &Value, at: &mut Vec<String>, sink: &mut Sink) {
        match v {
            Value::Object(o) => {
                // (keywords, reason); no keywords: the whole node.
                let mut reasons: Vec<(Vec<String>, String)> = Vec::new();
                match basis::annotation_of(v) {
                    Some(Annotation::Whole(b)) if b.kind == BasisKind::Assumed => {
                        reasons.push((Vec::new(), b.source))
                    }
                    Some(Annotation::PerKeyword(m)) => {
                        for (k, b) in m.into_iter().filter(|(_, b)| b.kind == BasisKind::Assumed) {
                            match reasons.iter_mut().find(|r| r.1 == b.source) {
                                Some(r) => r.0.push(k),
                                None => reasons.push((vec![k], b.source)),
                            }
                        }
                    }
                    _ => {}
                }
                for (keywords, why) in reasons {
                    let message = match keywords.is_empty() {
                        true => why,
                        false => format!("{}: {why}", keywords.join(", ")),
                    };
                    sink.add("basis-assumed", location(doc, at), message);
                }
                for (k, x) in o {
                    at.push(k.clone());
                    walk(doc, x, at, sink);
                    at.pop();
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    at.push(i.to_string());
                    walk(doc, x, at, sink);
                    at.pop();
                }
            }
            _ => {}
        }
    }
    walk(doc, doc, &mut Vec::new(), sink);
}

/// A readable location for a node of the document: `#/components/…` pointers as they are;
/// inside an operation, `<operationId> (<METHOD> <path>)` and the rest, parameters by name.
fn location(doc: &Value, at: &[String]) -> String {
    let esc = |s: &str| s.replace('~', "~0").replace('/', "~1");
    if let [first, path, method, rest @ ..] = at {
        if first == "paths" {
            let op = &doc["paths"][path][method];
            let id = op.get("operationId").and_then(Value::as_str).unwrap_or("?");
            let mut segs: Vec<String> = Vec::new();
            let mut it = rest.iter();
            while let Some(seg) = it.next() {
                segs.push(esc(seg));
                if seg == "parameters" {
                    if let Some(i) = it.next() {
                        let p = &op["parameters"][i.parse::<usize>().unwrap_or(usize::MAX)];
                        let name = p.get("name").and_then(Value::as_str).unwrap_or(i);
                        segs.push(esc(name));
                    }
                }
            }
            let op_loc = format!("{id} ({} {path})", method.to_uppercase());
            return match segs.is_empty() {
                true => op_loc,
                false => format!("{op_loc} {}", segs.join("/")),
            };
        }
    }
    let mut out = "#".to_string();
    for s in at {
        out.push('/');
        out.push_str(&esc(s));
    }
    out
}

fn example_check(
    schemas: &SchemaSet,
    schema: &Value,
    example: &Value,
    what: &str,
    sink: &mut Sink,
) {
    match schemas.errors(schema, example) {
        Ok(errs) => {
            for e in errs {
                sink.add("example-schema-mismatch", what.to_string(), e);
            }
        }
        Err(e) => sink.add("schema-compile", what.to_string(), e),
    }
}

/// Field-level facts: printed examples and defaults that do not fit, suspicious patterns.
fn lint_model_fields(model: &str, s: &Value, schemas: &SchemaSet, sink: &mut Sink) {
    for (field, p) in s
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let loc = format!("#/components/schemas/{model}/properties/{field}");
        for ex in [p.get("examples"), p.get(examples::VENDOR_EXAMPLES)]
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
        {
            if let Ok(errs) = schemas.errors(p, ex) {
                for e in errs {
                    sink.add(
                        "example-schema-mismatch",
                        loc.clone(),
                        format!("example {ex}: {e}"),
                    );
                }
            }
        }
        if let Some(raw) = p.get("x-kmsconform-doc-example") {
            sink.add(
                "example-unreadable",
                loc.clone(),
                format!("example {raw} is not a value of the field's type"),
            );
        }
        if let Some(raw) = p.get("x-kmsconform-doc-default") {
            sink.add(
                "default-type-mismatch",
                loc.clone(),
                format!("default {raw} is not a value of the field's type"),
            );
        }
        let mut patterns = Vec::new();
        collect_key(p, "pattern", &mut patterns);
        for pat in patterns {
            if let Some(r) = suspicious_range(&pat) {
                sink.add(
                    "pattern-suspicious-range",
                    loc.clone(),
                    format!(
                        "pattern {pat} has the range '{r}', which spans {}",
                        span_desc(&r)
                    ),
                );
            }
        }
    }
}

fn collect_key(v: &Value, key: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(s)) = o.get(key) {
                out.push(s.clone());
            }
            // An annotation's keys name keywords; its values are bases, not patterns.
            o.iter()
                .filter(|(k, _)| *k != basis::KEY)
                .for_each(|(_, x)| collect_key(x, key, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_key(x, key, out)),
        _ => {}
    }
}

/// A range inside `[...]` whose ends are not both lower-case, upper-case or digits.
pub fn suspicious_range(pattern: &str) -> Option<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut in_class = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            i += 2;
            continue;
        }
        if !in_class && c == '[' {
            in_class = true;
            i += 1;
            if chars.get(i) == Some(&'^') {
                i += 1;
            }
            continue;
        }
        if in_class && c == ']' {
            in_class = false;
        } else if in_class && i + 2 < chars.len() && chars[i + 1] == '-' && chars[i + 2] != ']' {
            let (a, b) = (c, chars[i + 2]);
            let same_kind = (a.is_ascii_lowercase() && b.is_ascii_lowercase())
                || (a.is_ascii_uppercase() && b.is_ascii_uppercase())
                || (a.is_ascii_digit() && b.is_ascii_digit());
            if !same_kind {
                return Some(format!("{a}-{b}"));
            }
            i += 3;
            continue;
        }
        i += 1;
    }
    None
}

fn span_desc(r: &str) -> String {
    let mut cs = r.chars();
    let (a, b) = (cs.next().unwrap_or(' '), cs.nth(1).unwrap_or(' '));
    let n = (b as u32).saturating_sub(a as u32) + 1;
    let letters = (a..=b).filter(|c| c.is_ascii_uppercase()).count();
    let digits = (a..=b).filter(|c| c.is_ascii_digit()).count();
    format!("{n} characters incl. {letters} upper-case letters and {digits} digits")
}

/// Record, per (model, optional field), how many example instances of the model exist and
/// how many carry the field.
fn walk_presence(
    models: &serde_json::Map<String, Value>,
    schema: &Value,
    v: &Value,
    acc: &mut BTreeMap<(String, String), (usize, usize)>,
) {
    let (name, s) = match schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
    {
        Some(n) => match models.get(n) {
            Some(s) => (Some(n.to_string()), s),
            None => return,
        },
        None => (None, schema),
    };
    if let Some(alts) = s.get("anyOf").and_then(Value::as_array) {
        for a in alts {
            let is_obj = a.get("$ref").is_some() || a.get("properties").is_some();
            if (v.is_object() && is_obj) || (v.is_array() && a.get("items").is_some()) {
                walk_presence(models, a, v, acc);
                return;
            }
        }
        return;
    }
    if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
        arr.iter()
            .for_each(|x| walk_presence(models, items, x, acc));
        return;
    }
    let (Some(props), Some(obj)) = (
        s.get("properties").and_then(Value::as_object),
        v.as_object(),
    ) else {
        return;
    };
    let required: BTreeSet<&str> = s
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(n) = &name {
        for f in props.keys().filter(|f| !required.contains(f.as_str())) {
            let e = acc.entry((n.clone(), f.clone())).or_insert((0, 0));
            e.0 += 1;
            if obj.contains_key(f) {
                e.1 += 1;
            }
        }
    }
    for (k, x) in obj {
        if let Some(ps) = props.get(k) {
            walk_presence(models, ps, x, acc);
        }
    }
}

/// Parameters (operation-level, `$ref`s followed): a schema with a type; no default on a
/// required one.
fn lint_parameters(doc: &Value, schemas: &SchemaSet, op: &Value, loc: &str, sink: &mut Sink) {
    for p in op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let p = match p
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(ptr) => doc.pointer(ptr).unwrap_or(p),
            None => p,
        };
        let name = format!(
            "{} parameter '{}'",
            p.get("in").and_then(Value::as_str).unwrap_or("?"),
            p.get("name").and_then(Value::as_str).unwrap_or("?")
        );
        let schema = p.get("schema");
        if let (Some(s), Some(ex)) = (schema, examples::any_example(p)) {
            example_check(schemas, s, ex, &format!("{loc} {name} example"), sink);
        }
        let typed = schema.is_some_and(|s| {
            ["type", "$ref", "enum", "const", "anyOf", "oneOf", "allOf"]
                .iter()
                .any(|k| s.get(k).is_some())
        });
        if p.get("content").is_none() && !typed {
            sink.add(
                "parameter-schema-missing",
                loc.to_string(),
                match schema {
                    None => format!("{name} has no schema"),
                    Some(_) => format!("{name} has a schema that states no type"),
                },
            );
        }
        if p.get("required") == Some(&Value::Bool(true)) {
            if let Some(d) = schema.and_then(|s| s.get("default")) {
                sink.add(
                    "parameter-required-default",
                    loc.to_string(),
                    format!("{name} is required and declares default {d}"),
                );
            }
        }
    }
}

const BASIS_KEY: &str = crate::spec::import::from_openapi::BASIS_KEY;
use crate::spec::import::from_openapi::parse_basis;

/// Every `x-kmsconform-basis` must say its kind and source.
/// Every malformed basis annotation (the engine's own reader decides, both forms).
fn check_bases(v: &Value, at: &str, sink: &mut Sink) {
    for (ptr, why) in crate::spec::basis::malformed(v) {
        let loc = format!("{at}{}", ptr.trim_end_matches(&format!("/{BASIS_KEY}")));
        sink.add("basis-malformed", loc, why);
    }
}

fn escape(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

/// Schema nodes anywhere in the document (objects with a string `type` or `format` beside
/// schema keywords): unknown formats, objects that name no properties. Examples are skipped.
fn check_schema_nodes(v: &Value, at: &str, sink: &mut Sink) {
    match v {
        Value::Object(o) => {
            if let Some(f) = o.get("format").and_then(Value::as_str) {
                if o.contains_key("type") && !KNOWN_FORMATS.contains(&f) {
                    sink.add(
                        "format-unknown",
                        at.to_string(),
                        format!("format '{f}' is not a JSON Schema or OpenAPI registry format"),
                    );
                }
            }
            let is_object = match o.get("type") {
                Some(Value::String(t)) => t == "object",
                Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
                _ => false,
            };
            let shaped = [
                "properties",
                "additionalProperties",
                "patternProperties",
                "$ref",
                "allOf",
                "anyOf",
                "oneOf",
            ]
            .iter()
            .any(|k| o.contains_key(*k));
            if is_object && !shaped {
                sink.add(
                    "object-without-properties",
                    at.to_string(),
                    "an object schema with no properties",
                );
            }
            for (k, x) in o {
                if k == "example"
                    || k == "examples"
                    || k.starts_with("x-example")
                    || k.starts_with("x-vendor-example")
                {
                    continue;
                }
                check_schema_nodes(x, &format!("{at}/{}", escape(k)), sink);
            }
        }
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| check_schema_nodes(x, &format!("{at}/{i}"), sink)),
        _ => {}
    }
}

/// What the examples show about one documented field.
#[derive(Default)]
struct FieldSeen {
    instances: usize,
    values: Vec<Value>,
}

/// Rules over the facts the importer kept from the document (`x-kmsconform-doc` on fields,
/// `x-kmsconform-example-problem` on examples) set against the examples.
fn doc_fact_rules(
    doc: &Value,
    schemas: &SchemaSet,
    models: &serde_json::Map<String, Value>,
    sink: &mut Sink,
) {
    let mut seen: BTreeMap<(String, String), FieldSeen> = BTreeMap::new();
    let paths = doc.get("paths").and_then(Value::as_object);
    for (path, item) in paths.into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let id = op.get("operationId").and_then(Value::as_str).unwrap_or("");
            let loc = format!("{id} ({} {path})", method.to_uppercase());
            let mut media: Vec<(String, &Value)> = Vec::new();
            if let Some(m) = op.pointer("/requestBody/content/application~1json") {
                media.push(("request".into(), m));
            }
            for (status, r) in op
                .get("responses")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if let Some(m) = r.pointer("/content/application~1json") {
                    media.push((format!("response {status}"), m));
                }
            }
            for (what, m) in media {
                if let Some(p) = m.get("x-kmsconform-example-problem") {
                    sink.add(
                        "example-not-json",
                        format!("{loc} {what} example"),
                        format!(
                            "line {}: {}",
                            p.get("line").and_then(Value::as_u64).unwrap_or(0),
                            p.get("problem").and_then(Value::as_str).unwrap_or("")
                        ),
                    );
                }
                if let (Some(schema), Some(ex)) = (m.get("schema"), examples::any_example(m)) {
                    walk_fields(schemas, schema, ex, &mut seen);
                }
            }
        }
    }
    for (name, model) in models {
        let Some(props) = model.get("properties").and_then(Value::as_object) else {
            continue;
        };
        let mut unspecified = Vec::new();
        let mut documented = 0;
        for (field, p) in props {
            let Some(d) = p.get("x-kmsconform-doc") else {
                continue;
            };
            documented += 1;
            let loc = format!("#/components/schemas/{name}/properties/{field}");
            let line = d.get("line").and_then(Value::as_u64).unwrap_or(0);
            let printed = d.get("type").and_then(Value::as_str).unwrap_or("");
            if d.get("required").and_then(Value::as_str) == Some("-") {
                unspecified.push(field.as_str());
            }
            if d.get("values")
                .and_then(Value::as_array)
                .is_some_and(|v| v.is_empty())
            {
                let spec = match p.get("enum").and_then(Value::as_array) {
                    Some(e) => format!(
                        "the spec uses {}",
                        e.iter()
                            .map(Value::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    None => "the spec leaves it open".into(),
                };
                sink.add(
                    "enum-values-missing",
                    loc.clone(),
                    format!("line {line} announces the values of '{field}' but lists none; {spec}"),
                );
            }
            let Some(s) = seen.get(&(name.clone(), field.clone())) else {
                continue;
            };
            if s.instances > 0 && s.values.is_empty() {
                sink.add(
                    "documented-field-never-in-example",
                    loc.clone(),
                    format!(
                        "'{field}' (line {line}) is absent from all {} example instance(s) of {name}",
                        s.instances
                    ),
                );
            }
            if let Some(want) = printed_kind(printed) {
                for v in &s.values {
                    let got = json_kind(v);
                    if got != want && !(want == "number" && got == "integer") {
                        sink.add(
                            "example-documented-type-mismatch",
                            loc.clone(),
                            format!(
                                "the document types '{field}' '{printed}' (line {line}) but an example holds {}; the spec types it {}",
                                with_article(got),
                                spec_kind(schemas, p)
                            ),
                        );
                    }
                }
            }
            if let Some(unit) = d.get("unit").and_then(Value::as_str) {
                for v in &s.values {
                    let n = match v {
                        Value::Number(n) => n.as_f64(),
                        Value::String(t)
                            if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) =>
                        {
                            t.parse::<f64>().ok()
                        }
                        _ => None,
                    };
                    let Some(n) = n.filter(|n| *n > 0.0) else {
                        continue;
                    };
                    // Up to 1e11 seconds is year 5138; from 1e11 milliseconds is 1973.
                    let looks = if n >= 1e11 { "epoch-ms" } else { "epoch-s" };
                    if looks != unit {
                        sink.add(
                            "timestamp-unit-mismatch",
                            loc.clone(),
                            format!(
                                "line {line} says {} but an example holds {v} ({} digits: {})",
                                unit_words(unit),
                                n.log10().floor() as i64 + 1,
                                unit_words(looks)
                            ),
                        );
                    }
                }
            }
        }
        if documented > 0 && !unspecified.is_empty() {
            let req = model
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.len())
                .unwrap_or(0);
            sink.add(
                "required-unspecified",
                format!("#/components/schemas/{name}"),
                format!(
                    "the required column is '-' for {} of {documented} documented field(s) ({}); the spec requires {req}",
                    unspecified.len(),
                    unspecified.join(", ")
                ),
            );
        }
    }
}

fn unit_words(unit: &str) -> &'static str {
    match unit {
        "epoch-ms" => "milliseconds since the epoch",
        _ => "seconds since the epoch",
    }
}

/// The JSON kind a printed type (`String`, `Long`, `Array of objects`, …) stands for.
fn printed_kind(t: &str) -> Option<&'static str> {
    let t = t.trim().to_lowercase();
    Some(match t.as_str() {
        "string" => "string",
        "integer" | "int" | "long" => "integer",
        "number" | "double" | "float" => "number",
        "boolean" => "boolean",
        "object" => "object",
        _ if t.starts_with("array") => "array",
        _ => return None,
    })
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn with_article(kind: &str) -> String {
    match kind {
        "array" | "object" | "integer" => format!("an {kind}"),
        "null" => "null".into(),
        k => format!("a {k}"),
    }
}

fn spec_kind(schemas: &SchemaSet, p: &Value) -> String {
    let r = schemas.resolve(p);
    match r.get("type").and_then(Value::as_str) {
        Some(t) => t.to_string(),
        None if r.get("properties").is_some() => "object".into(),
        None => "without a single type".into(),
    }
}

/// Per (model, field): how many example instances of the model exist and the values the
/// field takes in them.
fn walk_fields(
    schemas: &SchemaSet,
    schema: &Value,
    v: &Value,
    acc: &mut BTreeMap<(String, String), FieldSeen>,
) {
    let name = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .map(str::to_string);
    let s = schemas.resolve(schema);
    if let Some(alts) = s.get("anyOf").and_then(Value::as_array) {
        if let Some(a) = alts.iter().find(|a| {
            let r = schemas.resolve(a);
            (v.is_object() && (r.get("properties").is_some()))
                || (v.is_array() && r.get("items").is_some())
        }) {
            walk_fields(schemas, a, v, acc);
        }
        return;
    }
    if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
        arr.iter().for_each(|x| walk_fields(schemas, items, x, acc));
        return;
    }
    let (Some(props), Some(obj)) = (
        s.get("properties").and_then(Value::as_object),
        v.as_object(),
    ) else {
        return;
    };
    for (field, ps) in props {
        if let Some(n) = &name {
            let e = acc.entry((n.clone(), field.clone())).or_default();
            e.instances += 1;
            if let Some(x) = obj.get(field) {
                e.values.push(x.clone());
            }
        }
        if let Some(x) = obj.get(field) {
            walk_fields(schemas, ps, x, acc);
        }
    }
}

/// Every `$ref` must point at something inside the document.
fn check_refs(root: &Value, v: &Value, at: &str, sink: &mut Sink) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get("$ref") {
                let ok = r
                    .strip_prefix('#')
                    .map(|p| root.pointer(p).is_some())
                    .unwrap_or(false);
                if !ok {
                    sink.add(
                        "ref-unresolved",
                        at.to_string(),
                        format!("$ref '{r}' does not resolve"),
                    );
                }
            }
            for (k, x) in o {
                check_refs(
                    root,
                    x,
                    &format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    sink,
                );
            }
        }
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| check_refs(root, x, &format!("{at}/{i}"), sink)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suspicious_ranges() {
        assert_eq!(
            suspicious_range("^[a-z0-9!@#$%^&*()-_]*$"),
            Some(")-_".into())
        );
        assert_eq!(suspicious_range("^[a-z0-9]*$"), None);
        assert_eq!(suspicious_range("^[a-z-]*$"), None);
        assert_eq!(suspicious_range("^(Active|Stop)$"), None);
    }
}
