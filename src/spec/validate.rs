//! Compiled JSON Schema validators for schemas inside an OpenAPI document (JSON Schema
//! 2020-12, format validation on). Compiled once per schema and reused.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Validators for one OpenAPI document, keyed by the schema's JSON text.
pub struct SchemaSet {
    components: Value,
    cache: parking_lot::Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

impl SchemaSet {
    pub fn new(doc: &Value) -> Self {
        Self {
            components: doc.get("components").cloned().unwrap_or_else(|| json!({})),
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

    /// Follow `#/components/...` references to the schema they name.
    pub fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let mut cur = schema;
        for _ in 0..16 {
            let Some(r) = cur.get("$ref").and_then(Value::as_str) else {
                break;
            };
            match r
                .strip_prefix("#/components")
                .and_then(|p| self.components.pointer(p))
            {
                Some(t) => cur = t,
                None => break,
            }
        }
        cur
    }

    /// Error messages (with instance paths) of `value` against `schema`; empty when valid.
    pub fn errors(&self, schema: &Value, value: &Value) -> Result<Vec<String>, String> {
        let v = self.validator(schema)?;
        Ok(v.iter_errors(value)
            .map(|e| {
                let path = e.instance_path().to_string();
                format!(
                    "{}: {e}",
                    if path.is_empty() {
                        "/".to_string()
                    } else {
                        path
                    }
                )
            })
            .collect())
    }
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
    }
}
