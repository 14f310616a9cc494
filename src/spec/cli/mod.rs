//! CLI references (`scpcli …`): the machine-readable model of one service version, its
//! import from the vendor's printable CLI reference, and a view of it as an OpenAPI-shaped
//! document so that `spec diff` applies the same rules to both surfaces.

pub mod import;
pub mod lint;
pub mod parse;
pub mod row_split;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// One service at one CLI version (`specs/scp-cli/<rev>/<service>/<version>.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CliSpec {
    pub service: String,
    pub title: String,
    pub version: String,
    pub status: String,
    /// ISO date; None when the document prints "-".
    pub not_before: Option<String>,
    pub commands: Vec<CliCommand>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CliCommand {
    /// operationId-style name derived from the section title (`Change Rotate Info` → `changeRotateInfo`).
    pub id: String,
    pub title: String,
    /// `scpcli kms kms change rotate info`
    pub command: String,
    pub flags: Vec<CliFlag>,
    pub response: Vec<CliField>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CliFlag {
    pub name: String,
    pub required: bool,
    /// As printed (string, integer, array…); None when the flag has no Parameters row.
    #[serde(rename = "type")]
    pub ty: Option<String>,
    pub description: String,
    /// None in the flattened layout, which glues description and example together.
    pub example: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CliField {
    pub name: String,
    pub description: String,
    pub example: Option<String>,
}

/// Is this JSON document a CLI spec (rather than OpenAPI)?
pub fn is_cli_spec(doc: &Value) -> bool {
    doc.get("commands").is_some() && doc.get("openapi").is_none()
}

/// The CLI spec as an OpenAPI-shaped document: command → operation (path = the command line,
/// method `cli`), flag → parameter `in: flag`, response field → property of the 200 body.
pub fn as_openapi(spec: &CliSpec) -> Value {
    let mut paths = Map::new();
    for c in &spec.commands {
        let params: Vec<Value> = c
            .flags
            .iter()
            .map(|f| {
                let schema =
                    f.ty.as_ref()
                        .map(|t| json!({"type": t}))
                        .unwrap_or(json!({}));
                json!({"in": "flag", "name": f.name, "required": f.required, "schema": schema})
            })
            .collect();
        let props: Map<String, Value> = c
            .response
            .iter()
            .map(|f| (f.name.clone(), json!({})))
            .collect();
        let mut responses = Map::new();
        if !props.is_empty() {
            responses.insert(
                "200".into(),
                json!({"content": {"application/json": {"schema": {"type": "object", "properties": props}}}}),
            );
        }
        let op = json!({"operationId": c.id, "parameters": params, "responses": responses});
        let item = paths.entry(c.command.clone()).or_insert_with(|| json!({}));
        item["cli"] = op;
    }
    json!({"openapi": "3.1.0", "info": {"title": spec.title, "version": spec.version}, "paths": paths})
}

/// The version-status words of the SCP CLI references and what they mean (the documents'
/// Version tables: DEPRECATED is fewer than 90 days before Not Before).
pub fn vocabulary() -> crate::spec::profile::RegistryVocabulary {
    use crate::spec::profile::StatusMeaning::*;
    crate::spec::profile::RegistryVocabulary {
        statuses: [
            ("CURRENT", Current),
            ("SUPPORTED", Supported),
            ("DEPRECATED", Deprecated),
            ("PLANNED", Planned),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        deprecation_window_days: Some(90),
        basis: None,
    }
}
