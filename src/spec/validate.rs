//! Compiled JSON Schema validators for schemas inside an OpenAPI document (JSON Schema
//! 2020-12, format validation on). Compiled once per schema and reused.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Validators for one OpenAPI document, keyed by the schema's JSON text.
pub struct SchemaSet {
    components: Value,
    /// `{"components": …}`: what local `$ref`s point into.
    root: Value,
    cache: parking_lot::Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

impl SchemaSet {
    pub fn new(doc: &Value) -> Self {
        let components = doc.get("components").cloned().unwrap_or_else(|| json!({}));
        Self {
            root: json!({ "components": components.clone() }),
            components,
            cache: Default::default(),
        }
    }

    /// Compile `schema` (which may `$ref` into `#/components/...`) in the document's context.
    pub fn validator(&self, schema: &Value) -> Result<Arc<jsonschema::Validator>, String> {
        let key = schema.to_string();
        if let Some(v) = self.cache.lock().get(&key) {
            return Ok(v.clone());
        }
        let mut root = match schema {
            Value::Object(o) => Value::Object(o.clone()),
            Value::Bool(_) => return Err("boolean schemas are not used here".into()),
            _ => return Err(format!("not a schema: {schema}")),
        };
        root["components"] = self.components.clone();
        let v = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&root)
            .map_err(|e| e.to_string())?;
        let v = Arc::new(v);
        self.cache.lock().insert(key, v.clone());
        Ok(v)
    }

    /// Follows `#/components/…` references (the spec model's one resolver).
    pub fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        super::model::resolve(schema, &self.root)
    }

    /// Error messages (with instance paths) of `value` against `schema`; empty when valid.
    pub fn errors(&self, schema: &Value, value: &Value) -> Result<Vec<String>, String> {
        Ok(self
            .located_errors(schema, value)?
            .into_iter()
            .map(|e| {
                format!(
                    "{}: {}",
                    if e.pointer.is_empty() {
                        "/"
                    } else {
                        &e.pointer
                    },
                    e.message
                )
            })
            .collect())
    }

    /// Whether `value` is valid against `schema` (false when the schema does not compile).
    pub fn is_valid(&self, schema: &Value, value: &Value) -> bool {
        self.validator(schema).is_ok_and(|v| v.is_valid(value))
    }

    /// The errors of `value` against `schema`, each with its instance pointer and the
    /// keyword location that failed (to find the constraint's basis).
    pub fn located_errors(
        &self,
        schema: &Value,
        value: &Value,
    ) -> Result<Vec<LocatedError>, String> {
        let v = self.validator(schema)?;
        let mut out = Vec::new();
        for e in v.iter_errors(value) {
            describe(&e, &mut out);
        }
        Ok(out)
    }
}

/// One validation error: where in the instance, which keyword, and the validator's message.
#[derive(Debug, Clone, PartialEq)]
pub struct LocatedError {
    pub pointer: String,
    pub schema_path: String,
    pub message: String,
}

/// One line per error, "instance path: message". An `anyOf` failure is replaced by the
/// errors of its closest alternative (the one that got deepest into the instance), so a
/// nullable object reports the field that is wrong rather than the whole object.
fn describe(e: &jsonschema::ValidationError<'_>, out: &mut Vec<LocatedError>) {
    use jsonschema::error::ValidationErrorKind;
    if let ValidationErrorKind::AnyOf { context } = e.kind() {
        let depth = |branch: &Vec<jsonschema::ValidationError<'static>>| {
            branch
                .iter()
                .map(|x| x.instance_path().to_string().matches('/').count())
                .max()
                .unwrap_or(0)
        };
        // The alternative the value was meant for: no type mismatch, or the deepest.
        let wrong_type = |branch: &Vec<jsonschema::ValidationError<'static>>| {
            branch.iter().any(|x| {
                matches!(x.kind(), ValidationErrorKind::Type { .. })
                    && x.instance_path() == e.instance_path()
            })
        };
        let own = e.instance_path().to_string().matches('/').count();
        if let Some(best) = context
            .iter()
            .filter(|b| !b.is_empty())
            .max_by_key(|b| (depth(b), !wrong_type(b)))
        {
            if depth(best) > own || !wrong_type(best) {
                best.iter().for_each(|x| describe(x, out));
                return;
            }
        }
    }
    out.push(LocatedError {
        pointer: e.instance_path().to_string(),
        schema_path: e.schema_path().to_string(),
        message: e.to_string(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_resolve_and_formats_are_checked() {
        let doc = json!({"components": {"schemas": {"K": {"type": "object", "properties": {"at": {"type": "string", "format": "date-time"}}}}}});
        let set = SchemaSet::new(&doc);
        let s = json!({"$ref": "#/components/schemas/K"});
        assert!(set
            .errors(&s, &json!({"at": "2024-05-17T00:23:17Z"}))
            .unwrap()
            .is_empty());
        let errs = set.errors(&s, &json!({"at": "20251008"})).unwrap();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].starts_with("/at"), "{errs:?}");
        assert!(set
            .validator(&json!({"$ref": "#/components/schemas/Missing"}))
            .is_err());
        // A nullable object reports the wrong field, not the whole object.
        let nullable = json!({"anyOf": [{"$ref": "#/components/schemas/K"}, {"type": "null"}]});
        let wrapper = json!({"type": "object", "properties": {"k": nullable}});
        let errs = set.errors(&wrapper, &json!({"k": {"at": "x"}})).unwrap();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].starts_with("/k/at:"), "{errs:?}");
        assert!(set
            .errors(&wrapper, &json!({"k": null}))
            .unwrap()
            .is_empty());
    }
}
