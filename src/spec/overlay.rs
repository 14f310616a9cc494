//! The one hand-written file per API (`specs/<api>/overlay.json`): what the vendor document
//! cannot express. The importer applies it; nothing else edits generated specs.
//!
//! Every constraint the overlay adds carries its ground as `x-kmsconform-basis` (see
//! `docs/architecture.md`): on the node, or per keyword where a node mixes grounds. The
//! importer copies the annotations into the generated specs, where the engine reads them
//! (`crate::spec::basis`). [`Overlay::check_bases`] refuses an overlay whose bases are
//! malformed or missing.

use crate::spec::basis::{self, Annotation};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Overlay {
    /// Free-form notes for human readers; ignored.
    #[serde(rename = "$comment", default)]
    pub comment: Option<Value>,
    /// API id, e.g. `scp-kms`; must match `--api`.
    pub api: String,
    /// Header that selects the API version; its value is read from the document's examples.
    #[serde(default)]
    pub version_header: Option<String>,
    /// `components.securitySchemes` entries; every operation requires all of them.
    #[serde(default)]
    pub security_schemes: BTreeMap<String, Value>,
    /// JSON merge patches (RFC 7386) applied to the imported models, each with a reason in `$comment`.
    #[serde(default)]
    pub schema_patches: BTreeMap<String, Value>,
    /// JSON merge patches for parameter schemas: operationId -> parameter name -> patch.
    #[serde(default)]
    pub parameter_patches: BTreeMap<String, BTreeMap<String, Value>>,
    /// Schemas the document does not print (e.g. the error envelope).
    #[serde(default)]
    pub extra_schemas: BTreeMap<String, Value>,
    /// Schema given to documented error statuses whose schema the document prints as "None".
    #[serde(default)]
    pub error_schema: Option<String>,
    /// Statuses the document omits, per operationId: status -> description and basis.
    #[serde(default)]
    pub extra_responses: BTreeMap<String, BTreeMap<String, ExtraResponse>>,
    /// Pins for example-based inference when two models fit equally: "operationId status" -> model.
    #[serde(default)]
    pub response_models: BTreeMap<String, String>,
    /// `servers` of every spec (`--from openapi` imports only).
    #[serde(default)]
    pub servers: Vec<Value>,
    /// JSON merge patches of Response Objects: operationId -> status -> patch; a status the
    /// document lacks is created (`--from openapi` imports only).
    #[serde(default)]
    pub response_patches: BTreeMap<String, BTreeMap<String, Value>>,
    /// JSON merge patches of Request Body Objects: operationId -> patch (e.g. `required:
    /// false` where the server observably takes no body); a version whose operation has no
    /// request body is left alone (`--from openapi` imports only).
    #[serde(default)]
    pub request_body_patches: BTreeMap<String, Value>,
    /// Responses every operation gets where it lacks the status: status -> Response Object
    /// (`--from openapi`), or -> `{description, x-kmsconform-basis}` (the printable layout:
    /// every operation under the security schemes; the schema is `errorSchema`).
    #[serde(default)]
    pub common_responses: BTreeMap<String, Value>,
    /// Operation groups (OpenAPI `tags`), each the operations under a path prefix (the longest
    /// matching prefix wins; with tags set, every operation must match one). The document
    /// groups nothing; tags only name groups for tools (generated clients' modules).
    #[serde(default)]
    pub tags: Vec<TagRule>,
    /// Normalisation rules for comparing responses (volatile and secret fields), copied into
    /// every spec as `x-kmsconform-normalize`.
    #[serde(default)]
    pub normalize: Value,
}

/// One operation group: a tag for the operations whose path starts with `path_prefix`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TagRule {
    #[serde(rename = "$comment", default)]
    pub comment: Option<Value>,
    pub name: String,
    pub description: String,
    pub path_prefix: String,
}

/// A status the document omits for an operation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraResponse {
    #[serde(rename = "$comment", default)]
    pub comment: Option<Value>,
    pub description: String,
    /// Why the status is expected (`"<kind>: <source>"`); copied onto the generated response.
    #[serde(rename = "x-kmsconform-basis")]
    pub basis: String,
}

/// Schema keywords that constrain instances: each one an overlay adds needs a basis.
const CONSTRAINTS: &[&str] = &[
    "enum",
    "const",
    "pattern",
    "format",
    "contentEncoding",
    "contentMediaType",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "required",
    "additionalProperties",
];

/// Keywords whose value is a schema, and those whose value is a list or map of schemas.
const SUBSCHEMA: &[&str] = &["items", "not", "contains", "if", "then", "else"];
const SUBSCHEMA_LISTS: &[&str] = &["anyOf", "oneOf", "allOf", "prefixItems"];
const SUBSCHEMA_MAPS: &[&str] = &["properties", "patternProperties", "$defs"];

impl Overlay {
    /// Parses an overlay; unknown keys are refused. Call [`Overlay::check_bases`] before use.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Every `x-kmsconform-basis` must parse, every per-keyword annotation must name a keyword
    /// of its node, and every constraint a patch or extra schema adds must carry a basis (on
    /// the node, per keyword, or on an enclosing node). Err names the entry.
    pub fn check_bases(&self) -> Result<(), String> {
        for (name, patch) in &self.schema_patches {
            check_schema(patch, &format!("schemaPatches.{name}"), "", false)?;
        }
        for (op, params) in &self.parameter_patches {
            for (name, patch) in params {
                check_schema(patch, &format!("parameterPatches.{op}.{name}"), "", false)?;
            }
        }
        for (name, schema) in &self.extra_schemas {
            check_schema(schema, &format!("extraSchemas.{name}"), "", false)?;
        }
        for (status, r) in &self.common_responses {
            let b = r
                .get(basis::KEY)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("commonResponses.{status}: no {} string", basis::KEY))?;
            crate::check::basis::Basis::parse(b)
                .map_err(|e| format!("commonResponses.{status}: {}: {e}", basis::KEY))?;
        }
        for (op, statuses) in &self.extra_responses {
            for (status, r) in statuses {
                crate::check::basis::Basis::parse(&r.basis)
                    .map_err(|e| format!("extraResponses.{op}.{status}: {}: {e}", basis::KEY))?;
            }
        }
        Ok(())
    }
}

/// Checks one schema node of an overlay entry (`entry`, at `at` inside it); `covered`: an
/// enclosing node carries a whole-node basis.
fn check_schema(node: &Value, entry: &str, at: &str, covered: bool) -> Result<(), String> {
    let Some(o) = node.as_object() else {
        return Ok(()); // null (a merge-patch removal), booleans
    };
    let mut covered = covered;
    let mut per_keyword: Vec<String> = Vec::new();
    if let Some(raw) = o.get(basis::KEY) {
        if let Some((_, why)) = basis::malformed(&serde_json::json!({basis::KEY: raw}))
            .into_iter()
            .next()
        {
            return Err(format!("{entry}: {at}/{}: {why}", basis::KEY));
        }
        match basis::annotation_of(node) {
            Some(Annotation::Whole(_)) => covered = true,
            Some(Annotation::PerKeyword(m)) => {
                for (k, _) in &m {
                    if !o.contains_key(k) {
                        return Err(format!(
                            "{entry}: {at}/{}: names '{k}', which this node does not set",
                            basis::KEY
                        ));
                    }
                }
                per_keyword = m.into_iter().map(|(k, _)| k).collect();
            }
            None => unreachable!("malformed annotations were refused above"),
        }
    }
    for k in CONSTRAINTS {
        // A schema-valued additionalProperties is walked below; only `false` constrains here.
        let constrains = match (*k, o.get(*k)) {
            (_, None) => false,
            ("additionalProperties", Some(v)) => v == &Value::Bool(false),
            _ => true,
        };
        if constrains && !covered && !per_keyword.iter().any(|p| p == k) {
            return Err(format!(
                "{entry}: {at}/{k} is a constraint without {} (write \"documented: <document>:<line> (…)\", \"observed: <notes section> (…)\" or \"assumed: <why>\")",
                basis::KEY
            ));
        }
    }
    for (k, v) in o {
        let k = k.as_str();
        if SUBSCHEMA.contains(&k) || k == "additionalProperties" {
            check_schema(v, entry, &format!("{at}/{k}"), covered)?;
        } else if SUBSCHEMA_LISTS.contains(&k) {
            for (i, x) in v.as_array().into_iter().flatten().enumerate() {
                check_schema(x, entry, &format!("{at}/{k}/{i}"), covered)?;
            }
        } else if SUBSCHEMA_MAPS.contains(&k) {
            for (name, x) in v.as_object().into_iter().flatten() {
                check_schema(x, entry, &format!("{at}/{k}/{name}"), covered)?;
            }
        }
    }
    Ok(())
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            let t = target.as_object_mut().expect("made an object above");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc7386() {
        let mut t = json!({"a": {"b": 1, "c": 2}, "d": [1]});
        merge_patch(&mut t, &json!({"a": {"b": null, "e": 3}, "d": [2]}));
        assert_eq!(t, json!({"a": {"c": 2, "e": 3}, "d": [2]}));
    }

    #[test]
    fn unknown_overlay_keys_are_rejected() {
        assert!(Overlay::from_json(r#"{"api":"x","schemaPatchez":{}}"#).is_err());
        let bare = r#"{"api":"x","extraResponses":{"op":{"400":"Bad Request"}}}"#;
        assert!(
            Overlay::from_json(bare).is_err(),
            "an extra response needs its basis"
        );
        let extra = r#"{"api":"x","extraResponses":{"op":{"400":{"description":"d","x-kmsconform-basis":"assumed: ours","why":1}}}}"#;
        assert!(Overlay::from_json(extra).is_err());
    }

    fn checked(v: Value) -> Result<(), String> {
        serde_json::from_value::<Overlay>(v)
            .expect("well-formed overlay")
            .check_bases()
    }

    #[test]
    fn every_added_constraint_carries_a_well_formed_basis() {
        let ok = json!({"api": "x",
            "schemaPatches": {"M": {"$comment": "why", "properties": {
                "n": {"minimum": 1, "maximum": 9, "x-kmsconform-basis": {"minimum": "assumed: ours", "maximum": "assumed: ours"}},
                "o": {"anyOf": [{"type": "integer", "minimum": 0, "x-kmsconform-basis": {"minimum": "assumed: ours"}}, {"type": "null"}]},
                "gone": null}}},
            "extraSchemas": {"E": {"x-kmsconform-basis": "observed: notes §2", "type": "object", "required": ["e"],
                "properties": {"e": {"type": "array", "minItems": 1}}}},
            "extraResponses": {"op": {"404": {"description": "Not Found", "x-kmsconform-basis": "assumed: ours"}}}
        });
        assert_eq!(checked(ok), Ok(()));

        let missing = json!({"api": "x", "schemaPatches": {"M": {"properties": {"n": {"minimum": 1, "maximum": 9,
            "x-kmsconform-basis": {"minimum": "assumed: ours"}}}}}});
        let e = checked(missing).unwrap_err();
        assert!(
            e.starts_with("schemaPatches.M: /properties/n/maximum is a constraint without"),
            "{e}"
        );

        let in_alt = json!({"api": "x", "parameterPatches": {"list": {"size": {"anyOf": [{"type": "integer", "maximum": 100}, {"type": "null"}]}}}});
        let e = checked(in_alt).unwrap_err();
        assert!(
            e.starts_with("parameterPatches.list.size: /anyOf/0/maximum"),
            "{e}"
        );

        let malformed = json!({"api": "x", "schemaPatches": {"M": {"properties": {"p": {"enum": ["a"], "x-kmsconform-basis": "guessed: it"}}}}});
        let e = checked(malformed).unwrap_err();
        assert!(
            e.starts_with("schemaPatches.M: /properties/p/x-kmsconform-basis: "),
            "{e}"
        );

        let typo = json!({"api": "x", "schemaPatches": {"M": {"properties": {"p": {"enum": ["a"], "x-kmsconform-basis": {"enm": "assumed: ours", "enum": "assumed: ours"}}}}}});
        assert!(checked(typo).unwrap_err().contains("names 'enm'"));

        let response = json!({"api": "x", "extraResponses": {"op": {"400": {"description": "d", "x-kmsconform-basis": "assumed"}}}});
        let e = checked(response).unwrap_err();
        assert!(
            e.starts_with("extraResponses.op.400: x-kmsconform-basis: "),
            "{e}"
        );
    }
}
