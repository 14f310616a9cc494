//! `spec drift`: the CLI and the API of one service, version by version. Commands map to
//! operations by operationId (the CLI section title and the API title agree: `Change Rotate
//! Info` ↔ `changeRotateInfo`), flags to parameters or top-level request body properties,
//! response fields to the names inside the success body.

use crate::spec::changes::{operations, Change, FieldFacts, Level, Resolver};
use crate::spec::cli::{CliCommand, CliSpec};
use crate::spec::diff::Finding;
use crate::spec::import::openapi::operation_id;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

pub const RULES: &[(&str, Level, &str)] = &[
    (
        "drift-command-without-operation",
        Level::Warning,
        "a CLI command maps to no API operation",
    ),
    (
        "drift-operation-without-command",
        Level::Warning,
        "an API operation has no CLI command",
    ),
    (
        "drift-flag-without-parameter",
        Level::Warning,
        "a CLI flag matches no API parameter or request property",
    ),
    (
        "drift-parameter-without-flag",
        Level::Warning,
        "an API parameter or request property has no CLI flag",
    ),
    (
        "drift-type-mismatch",
        Level::Warning,
        "the CLI flag's type is not the API's type",
    ),
    (
        "drift-enum-vs-free-string",
        Level::Warning,
        "the API restricts a value to an enum the CLI documents as a free string",
    ),
    (
        "drift-required-mismatch",
        Level::Warning,
        "CLI and API disagree on whether a value is required",
    ),
    (
        "drift-response-field-not-in-api",
        Level::Info,
        "a CLI response field is in no API success body",
    ),
    (
        "drift-response-field-not-in-cli",
        Level::Info,
        "an API success body field is not among the CLI's response fields",
    ),
];

fn finding(version: &str, id: &str, op: &str, loc: Option<String>, text: String) -> Finding {
    let level = RULES
        .iter()
        .find(|r| r.0 == id)
        .map(|r| r.1)
        .expect("drift rule in catalogue");
    Finding {
        scope: version.to_string(),
        change: Change {
            id: id.into(),
            level,
            operation: op.into(),
            status: None,
            location: loc,
            text,
        },
    }
}

/// The API's inputs of an operation: path/query parameters and top-level body properties.
fn api_inputs(doc: &Value, op: &Value) -> BTreeMap<String, FieldFacts> {
    let r = Resolver::new(doc);
    let mut out = BTreeMap::new();
    for p in op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        // `$ref` parameters are the shared ApiVersion header, which the CLI sets itself.
        let (Some(name), Some(schema)) = (p.get("name").and_then(Value::as_str), p.get("schema"))
        else {
            continue;
        };
        let mut facts = r.flatten_root(schema);
        facts.required = p.get("required") == Some(&Value::Bool(true));
        out.insert(name.to_string(), facts);
    }
    if let Some(body) = op.pointer("/requestBody/content/application~1json/schema") {
        for (path, facts) in r.flatten(body) {
            if !path.contains(['.', '[']) {
                out.insert(path, facts);
            }
        }
    }
    out
}

/// Names of fields in the operation's 2xx bodies (last path segment), and those that are leaves.
fn api_response_names(doc: &Value, op: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let r = Resolver::new(doc);
    let (mut all, mut leaves) = (BTreeSet::new(), BTreeSet::new());
    for (status, resp) in op
        .get("responses")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let Some(schema) = resp.pointer("/content/application~1json/schema") else {
            continue;
        };
        if !status.starts_with('2') {
            continue;
        }
        let flat = r.flatten(schema);
        for path in flat.keys() {
            let name = path.rsplit(['.', ']']).next().unwrap_or(path);
            if name.is_empty() {
                continue;
            }
            all.insert(name.to_string());
            let has_child = flat
                .keys()
                .any(|q| q.len() > path.len() && q.starts_with(path.as_str()));
            if !has_child {
                leaves.insert(name.to_string());
            }
        }
    }
    (all, leaves)
}

/// `scpcli kms kms list users` → `listUsers` (the words after service and resource).
fn command_words_id(c: &CliCommand) -> String {
    let words: Vec<&str> = c.command.split_whitespace().skip(3).collect();
    operation_id(&words.join(" "))
}

fn api_type_name(f: &FieldFacts) -> String {
    let types: Vec<&str> = f
        .types
        .iter()
        .map(String::as_str)
        .filter(|t| *t != "null")
        .collect();
    types.join("|")
}

/// Drift between one CLI version and the API document of the same version.
pub fn drift(cli: &CliSpec, api: &Value) -> Vec<Finding> {
    let v = cli.version.as_str();
    let ops = operations(api);
    let mut out = Vec::new();
    let mut matched = BTreeSet::new();
    for c in &cli.commands {
        let op_id = [c.id.clone(), command_words_id(c)]
            .into_iter()
            .find(|id| ops.contains_key(id));
        let Some(op_id) = op_id else {
            out.push(finding(
                v,
                "drift-command-without-operation",
                &c.id,
                None,
                format!("`{}` has no API operation", c.command),
            ));
            continue;
        };
        matched.insert(op_id.clone());
        let op = ops[&op_id].2;
        compare_inputs(&mut out, v, &op_id, c, &api_inputs(api, op));
        compare_response(&mut out, v, &op_id, c, api_response_names(api, op));
    }
    for (id, (m, p, _)) in &ops {
        if !matched.contains(id) {
            out.push(finding(
                v,
                "drift-operation-without-command",
                id,
                None,
                format!("{} {p} has no CLI command", m.to_uppercase()),
            ));
        }
    }
    out
}

fn compare_inputs(
    out: &mut Vec<Finding>,
    v: &str,
    op: &str,
    c: &CliCommand,
    inputs: &BTreeMap<String, FieldFacts>,
) {
    let loc = |n: &str| Some(format!("flag:{n}"));
    for f in &c.flags {
        let Some(api) = inputs.get(&f.name) else {
            out.push(finding(
                v,
                "drift-flag-without-parameter",
                op,
                loc(&f.name),
                format!("--{} has no API parameter or request property", f.name),
            ));
            continue;
        };
        let api_ty = api_type_name(api);
        if let Some(ty) = &f.ty {
            if !api.types.contains(ty) && !api_ty.is_empty() {
                out.push(finding(
                    v,
                    "drift-type-mismatch",
                    op,
                    loc(&f.name),
                    format!("--{}: CLI {ty}, API {api_ty}", f.name),
                ));
            } else if let (Some(values), "string") = (&api.enumeration, ty.as_str()) {
                let values: Vec<String> = values
                    .iter()
                    .map(|x| x.as_str().map_or_else(|| x.to_string(), String::from))
                    .collect();
                out.push(finding(
                    v,
                    "drift-enum-vs-free-string",
                    op,
                    loc(&f.name),
                    format!(
                        "--{}: CLI free string, API enum ({})",
                        f.name,
                        values.join(", ")
                    ),
                ));
            }
        }
        if f.required != api.required {
            let word = |r: bool| if r { "required" } else { "optional" };
            out.push(finding(
                v,
                "drift-required-mismatch",
                op,
                loc(&f.name),
                format!(
                    "--{}: CLI {}, API {}",
                    f.name,
                    word(f.required),
                    word(api.required)
                ),
            ));
        }
    }
    for name in inputs.keys() {
        if !c.flags.iter().any(|f| &f.name == name) {
            out.push(finding(
                v,
                "drift-parameter-without-flag",
                op,
                loc(name),
                format!("API input '{name}' has no CLI flag"),
            ));
        }
    }
}

fn compare_response(
    out: &mut Vec<Finding>,
    v: &str,
    op: &str,
    c: &CliCommand,
    (all, leaves): (BTreeSet<String>, BTreeSet<String>),
) {
    if c.response.is_empty() {
        return; // the CLI documents no response for this command: nothing to compare
    }
    let cli: BTreeSet<&str> = c.response.iter().map(|f| f.name.as_str()).collect();
    for name in &cli {
        if !all.contains(*name) {
            out.push(finding(
                v,
                "drift-response-field-not-in-api",
                op,
                Some(format!("response:{name}")),
                format!("CLI response field '{name}' is in no API success body"),
            ));
        }
    }
    for name in leaves.iter().filter(|n| !cli.contains(n.as_str())) {
        out.push(finding(
            v,
            "drift-response-field-not-in-cli",
            op,
            Some(format!("response:{name}")),
            format!("API response field '{name}' is not among the CLI's response fields"),
        ));
    }
}
