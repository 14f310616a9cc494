//! `specs/<api>/overlay.json` for single-operation pages: what the page cannot express, each
//! entry with its `x-kmsconform-basis` (docs/architecture.md). The import refuses an entry
//! without one, or a `documented` basis that does not point into the page.

use super::ImportError;
use regex::Regex;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// `specs/<api>/overlay.json` for page layouts. Every entry carries `x-kmsconform-basis`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PageOverlay {
    #[serde(rename = "$comment", default)]
    pub comment: Option<Value>,
    pub api: String,
    /// The name the page is kept under in `specs/<api>/vendor/` (the `<document>` of basis
    /// strings), whatever the imported file is called; default: the imported file's name.
    #[serde(default)]
    pub document: Option<String>,
    /// operationId, and method/path where the page does not print them.
    pub operation: Value,
    /// Published status of the one version (`CURRENT`, …).
    pub version: Value,
    /// `{"value": …}`: the API's name where the page does not print it.
    #[serde(default)]
    pub title: Option<Value>,
    /// `servers` where the page prints no URL.
    #[serde(default)]
    pub servers: Option<Vec<Value>>,
    #[serde(default)]
    pub security_schemes: BTreeMap<String, Value>,
    /// JSON merge patches on the imported models.
    #[serde(default)]
    pub schema_patches: BTreeMap<String, Value>,
    /// JSON merge patches on the path parameters, by name.
    #[serde(default)]
    pub parameter_patches: BTreeMap<String, Value>,
    #[serde(default)]
    pub extra_schemas: BTreeMap<String, Value>,
    /// Statuses the page does not print: status -> {description, schema?, x-kmsconform-basis}.
    #[serde(default)]
    pub responses: BTreeMap<String, Value>,
    #[serde(default)]
    pub normalize: Value,
}

pub const BASIS: &str = "x-kmsconform-basis";

fn basis_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^(documented|observed|assumed): \S").expect("valid regex"))
}

/// Checks one basis string: its kind, and for `documented` that it names this document and
/// lines inside it.
pub fn check_basis(
    basis: &str,
    document: &str,
    line_count: usize,
    what: &str,
) -> Result<(), ImportError> {
    if !basis_re().is_match(basis) {
        return Err(ImportError::at(
            0,
            format!("{what}: basis '{basis}' is not '<documented|observed|assumed>: <source>'"),
        ));
    }
    if let Some(src) = basis.strip_prefix("documented: ") {
        let re = Regex::new(&format!(r"{}:(\d+)(?:-(\d+))?", regex::escape(document)))
            .expect("valid regex");
        let caps: Vec<_> = re.captures_iter(src).collect();
        if caps.is_empty() {
            return Err(ImportError::at(
                0,
                format!("{what}: a documented basis must name {document}:<line>"),
            ));
        }
        for c in caps {
            for m in [c.get(1), c.get(2)].into_iter().flatten() {
                let n: usize = m.as_str().parse().unwrap_or(0);
                if n == 0 || n > line_count {
                    return Err(ImportError::at(
                        0,
                        format!(
                            "{what}: {document}:{n} is outside the document (1..={line_count})"
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn basis_of(v: &Value) -> Option<&str> {
    v.get(BASIS).and_then(Value::as_str)
}

/// A basis for the whole node (a string) or per keyword (a non-empty object of strings,
/// e.g. `{"pattern": "assumed: …"}`: the node's other keywords keep the document's).
fn has_basis(v: &Value) -> bool {
    match v.get(BASIS) {
        Some(Value::String(_)) => true,
        Some(Value::Object(o)) => !o.is_empty() && o.values().all(Value::is_string),
        _ => false,
    }
}

/// A patch has a basis of its own, or every property it patches has one.
fn patch_has_basis(v: &Value) -> bool {
    if has_basis(v) {
        return true;
    }
    let Some(o) = v.as_object() else { return false };
    let props = o.get("properties").and_then(Value::as_object);
    o.keys().all(|k| k == "properties" || k == "$comment")
        && props.is_some_and(|p| !p.is_empty() && p.values().all(patch_has_basis))
}

/// Every basis string anywhere in a value.
fn all_bases<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(o) => {
            match o.get(BASIS) {
                Some(Value::String(b)) => out.push(b),
                Some(Value::Object(per_keyword)) => {
                    out.extend(per_keyword.values().filter_map(Value::as_str))
                }
                _ => {}
            }
            o.values().for_each(|x| all_bases(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| all_bases(x, out)),
        _ => {}
    }
}

impl PageOverlay {
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Every entry carries a well-formed basis; documented ones point into the document.
    pub fn validate(&self, document: &str, line_count: usize) -> Result<(), ImportError> {
        let mut entries: Vec<(String, &Value)> = vec![
            ("operation".into(), &self.operation),
            ("version".into(), &self.version),
        ];
        if let Some(t) = &self.title {
            entries.push(("title".into(), t));
        }
        if !self.normalize.is_null() {
            entries.push(("normalize".into(), &self.normalize));
        }
        for (i, s) in self.servers.iter().flatten().enumerate() {
            entries.push((format!("servers[{i}]"), s));
        }
        for (group, map) in [
            ("securitySchemes", &self.security_schemes),
            ("extraSchemas", &self.extra_schemas),
            ("responses", &self.responses),
        ] {
            for (k, v) in map {
                entries.push((format!("{group}.{k}"), v));
            }
        }
        for (what, v) in &entries {
            if !has_basis(v) {
                return Err(ImportError::at(0, format!("{what}: no {BASIS}")));
            }
        }
        for (group, map) in [
            ("schemaPatches", &self.schema_patches),
            ("parameterPatches", &self.parameter_patches),
        ] {
            for (k, v) in map {
                if !patch_has_basis(v) {
                    return Err(ImportError::at(
                        0,
                        format!(
                            "{group}.{k}: no {BASIS} on the patch or on each property it patches"
                        ),
                    ));
                }
                entries.push((format!("{group}.{k}"), v));
            }
        }
        for (what, v) in entries {
            let mut bases = Vec::new();
            all_bases(v, &mut bases);
            for b in bases {
                check_basis(b, document, line_count, &what)?;
            }
        }
        Ok(())
    }

    pub(crate) fn op_str(&self, key: &str) -> Option<&str> {
        self.operation.get(key).and_then(Value::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn basis_strings() {
        assert!(check_basis("documented: p.txt:3", "p.txt", 10, "x").is_ok());
        assert!(check_basis("documented: p.txt:3-4", "p.txt", 10, "x").is_ok());
        assert!(check_basis("documented: p.txt:30", "p.txt", 10, "x").is_err());
        assert!(check_basis("documented: other.txt:3", "p.txt", 10, "x").is_err());
        assert!(check_basis("observed: protocols.md §3", "p.txt", 10, "x").is_ok());
        assert!(check_basis("guessed: why not", "p.txt", 10, "x").is_err());
        assert!(patch_has_basis(
            &json!({"properties": {"a": {BASIS: "assumed: x"}}})
        ));
        assert!(!patch_has_basis(&json!({"properties": {"a": {}}})));
    }
}
