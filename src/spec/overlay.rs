//! The one hand-written file per API (`specs/<api>/overlay.json`): what the vendor document
//! cannot express. The importer applies it; nothing else edits generated specs.

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
    /// Statuses the document omits, per operationId: status -> description.
    #[serde(default)]
    pub extra_responses: BTreeMap<String, BTreeMap<String, String>>,
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
    /// (`--from openapi` imports only).
    #[serde(default)]
    pub common_responses: BTreeMap<String, Value>,
    /// Normalisation rules for comparing responses (volatile and secret fields), copied into
    /// every spec as `x-kmsconform-normalize`.
    #[serde(default)]
    pub normalize: Value,
}

impl Overlay {
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
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
    }
}
