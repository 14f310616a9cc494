//! Vendor examples that contradict their own schema.
//!
//! The vendor document prints examples that its own types refuse (`"delete_at": "20251008"`
//! in a `date-time` field). They stay as printed, but not under `example` / `examples`, where
//! OpenAPI tools (Spectral's `oas3-valid-media-example`, client and mock generators) take them
//! for valid instances: the importer moves each one beside itself under the same keyword with
//! an `x-vendor-` prefix, and `spec lint` reports it there (`example-schema-mismatch`).
//!
//! - a Media Type or Parameter Object's `example` → `x-vendor-example`;
//! - a schema's `examples` (an array) → `x-vendor-examples`: only the values that do not
//!   validate move, the others stay.

use super::validate::SchemaSet;
use serde_json::{Map, Value};

/// Where a Media Type or Parameter Object keeps an example its schema refuses.
pub const VENDOR_EXAMPLE: &str = "x-vendor-example";
/// Where a schema keeps the values of its `examples` that it refuses.
pub const VENDOR_EXAMPLES: &str = "x-vendor-examples";

/// A Media Type or Parameter Object's example, valid or not: `example`, else `x-vendor-example`.
pub fn any_example(node: &Value) -> Option<&Value> {
    node.get("example").or_else(|| node.get(VENDOR_EXAMPLE))
}

/// A schema's first example, valid or not: `examples[0]`, else `x-vendor-examples[0]`.
pub fn any_schema_example(schema: &Value) -> Option<&Value> {
    schema
        .pointer("/examples/0")
        .or_else(|| schema.pointer(&format!("/{VENDOR_EXAMPLES}/0")))
}

/// Moves every example of an OpenAPI document that does not validate against its schema
/// (JSON Schema 2020-12 with formats asserted, as lint and the checks validate) to its
/// `x-vendor-` keyword. Returns how many moved. A schema that does not compile leaves its
/// examples where they are (lint reports the schema).
pub fn separate(spec: &mut Value) -> usize {
    let set = SchemaSet::new(spec);
    let mut moved = 0;
    if let Some(schemas) = spec
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for s in schemas.values_mut() {
            moved += in_schema(&set, s);
        }
    }
    let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) else {
        return moved;
    };
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        for (key, op) in item.iter_mut() {
            if key == "parameters" {
                moved += in_parameters(&set, op);
                continue;
            }
            let Some(op) = op.as_object_mut() else {
                continue;
            };
            if let Some(p) = op.get_mut("parameters") {
                moved += in_parameters(&set, p);
            }
            if let Some(c) = op.get_mut("requestBody").and_then(|b| b.get_mut("content")) {
                moved += in_content(&set, c);
            }
            for r in op
                .get_mut("responses")
                .and_then(Value::as_object_mut)
                .into_iter()
                .flat_map(|r| r.values_mut())
            {
                if let Some(c) = r.get_mut("content") {
                    moved += in_content(&set, c);
                }
            }
        }
    }
    moved
}

/// Whether `example` is an instance of `schema`; None when the schema does not compile.
fn valid(set: &SchemaSet, schema: &Value, example: &Value) -> Option<bool> {
    set.validator(schema).ok().map(|v| v.is_valid(example))
}

/// A Media Type or Parameter Object: `example` against its `schema`.
fn in_object(set: &SchemaSet, o: &mut Map<String, Value>) -> usize {
    let (Some(schema), Some(example)) = (o.get("schema"), o.get("example")) else {
        return 0;
    };
    if valid(set, schema, example) != Some(false) {
        return 0;
    }
    let example = o.remove("example").expect("checked above");
    o.insert(VENDOR_EXAMPLE.into(), example);
    1
}

fn in_content(set: &SchemaSet, content: &mut Value) -> usize {
    content
        .as_object_mut()
        .into_iter()
        .flat_map(|c| c.values_mut())
        .filter_map(Value::as_object_mut)
        .map(|m| in_object(set, m))
        .sum()
}

fn in_parameters(set: &SchemaSet, params: &mut Value) -> usize {
    params
        .as_array_mut()
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
        .map(|p| in_object(set, p))
        .sum()
}

/// Every schema node under `s` with `examples`: the values it refuses move.
fn in_schema(set: &SchemaSet, s: &mut Value) -> usize {
    let mut moved = 0;
    match s {
        Value::Object(o) => {
            if let Some(Value::Array(examples)) = o.get("examples") {
                let node = Value::Object(o.clone());
                let (keep, refuse): (Vec<Value>, Vec<Value>) = examples
                    .iter()
                    .cloned()
                    .partition(|e| valid(set, &node, e) != Some(false));
                if !refuse.is_empty() {
                    moved += refuse.len();
                    if keep.is_empty() {
                        o.remove("examples");
                    } else {
                        o.insert("examples".into(), Value::Array(keep));
                    }
                    o.insert(VENDOR_EXAMPLES.into(), Value::Array(refuse));
                }
            }
            for (k, x) in o.iter_mut() {
                // Example values and annotations are instances or text, not schemas.
                if k == "examples"
                    || k == "default"
                    || k == "const"
                    || k == "enum"
                    || k.starts_with("x-")
                {
                    continue;
                }
                moved += in_schema(set, x);
            }
        }
        Value::Array(a) => {
            for x in a {
                moved += in_schema(set, x);
            }
        }
        _ => {}
    }
    moved
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refused_examples_move_beside_themselves_and_valid_ones_stay() {
        let mut spec = json!({
            "components": {"schemas": {"K": {"type": "object", "properties": {
                "at": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}],
                       "examples": ["20251008"]},
                "made": {"type": "string", "format": "date-time",
                         "examples": ["2024-05-17T00:23:17Z", "yesterday"]},
                "n": {"type": "integer", "examples": [7]}}}}},
            "paths": {"/k": {"get": {
                "parameters": [
                    {"name": "s", "in": "query", "schema": {"type": "string", "pattern": "^a"}, "example": "b"},
                    {"name": "t", "in": "query", "schema": {"type": "string"}, "example": "b"}],
                "responses": {"200": {"content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/K"},
                    "example": {"at": "20251008", "made": "2024-05-17T00:23:17Z", "n": 7}}}}}}}}
        });
        assert_eq!(separate(&mut spec), 4);
        let k = &spec["components"]["schemas"]["K"]["properties"];
        assert!(k["at"].get("examples").is_none());
        assert_eq!(k["at"][VENDOR_EXAMPLES], json!(["20251008"]));
        assert_eq!(k["made"]["examples"], json!(["2024-05-17T00:23:17Z"]));
        assert_eq!(k["made"][VENDOR_EXAMPLES], json!(["yesterday"]));
        assert_eq!(k["n"]["examples"], json!([7]));
        assert!(k["n"].get(VENDOR_EXAMPLES).is_none());
        let op = &spec["paths"]["/k"]["get"];
        assert_eq!(op["parameters"][0][VENDOR_EXAMPLE], "b");
        assert!(op["parameters"][0].get("example").is_none());
        assert_eq!(op["parameters"][1]["example"], "b");
        let media = &op["responses"]["200"]["content"]["application/json"];
        assert!(media.get("example").is_none());
        assert_eq!(any_example(media).unwrap()["at"], "20251008");
        assert_eq!(any_schema_example(&k["at"]), Some(&json!("20251008")));
        // Idempotent: nothing left to move.
        assert_eq!(separate(&mut spec), 0);
    }
}
