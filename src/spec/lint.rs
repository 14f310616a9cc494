//! `spec lint`: structural validity of a spec directory, and the vendor document's own
//! inconsistencies, as findings with rule ids. Errors make a spec unusable; warnings and
//! infos describe the document.

use crate::check::basis::BasisKind;
use crate::spec::basis::{self, Annotation};
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
    ("example-schema-mismatch", Severity::Warning, "a vendor example does not validate against its own schema"),
    ("example-not-json", Severity::Warning, "a vendor example is not strict JSON (e.g. a trailing comma); it was read after repairing it"),
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
];

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
        for (method, op) in item.as_object().into_iter().flatten() {
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
                match media.and_then(|m| m.get("example")) {
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
                    media.and_then(|m| m.get("example")),
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
                if resp.get("x-kmsconform-no-example").is_some() {
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
        for ex in p
            .get("examples")
            .and_then(Value::as_array)
            .into_iter()
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
