//! Checks that apply to every response: status, content type, schema, version shape, and the
//! verdicts on positive, negative and auth cases.

use super::Failure;
use crate::spec::validate::SchemaSet;
use crate::target::http::Response;
use serde_json::Value;

/// What the case claims about its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Satisfies the spec: must be accepted (when the operation is configured as positive).
    Valid { expect_accept: bool },
    /// Violates the spec: must be rejected with 4xx.
    Invalid,
    /// Bad signature: must be 401.
    BadAuth,
    /// Part of a suite: the suite states its own expectations.
    Suite,
}

/// Documented statuses of an operation.
pub fn documented_statuses(op: &Value) -> Vec<u16> {
    op.get("responses")
        .and_then(Value::as_object)
        .map(|r| r.keys().filter_map(|k| k.parse().ok()).collect())
        .unwrap_or_default()
}

/// `also_allowed`: statuses the run's configuration accepts for this operation beyond the
/// documented ones (per-operation expected-status overrides).
pub fn check_response(
    schemas: &SchemaSet,
    op: &Value,
    also_allowed: &[u16],
    claim: Claim,
    resp: &Response,
    out: &mut Vec<Failure>,
) {
    let status = resp.status;
    if status >= 500 {
        out.push(Failure::new(
            "not_a_server_error",
            "a status below 500",
            format!("{status}: {}", snippet(&resp.text)),
        ));
    }
    let documented = documented_statuses(op);
    let extra_ok = match claim {
        Claim::BadAuth => status == 401,
        _ => false,
    };
    if !documented.contains(&status) && !also_allowed.contains(&status) && !extra_ok && status < 500
    {
        out.push(Failure::new(
            "status_code_conformance",
            format!("one of {documented:?}"),
            format!("{status}"),
        ));
    }
    match claim {
        Claim::Valid {
            expect_accept: true,
        } if !(200..300).contains(&status) => out.push(Failure::new(
            "positive_data_acceptance",
            "2xx for a request that satisfies the spec",
            format!("{status}: {}", snippet(&resp.text)),
        )),
        Claim::Invalid if !(400..500).contains(&status) => out.push(Failure::new(
            "negative_data_rejection",
            "4xx for a request that violates the spec",
            format!("{status}: {}", snippet(&resp.text)),
        )),
        Claim::BadAuth if status != 401 => out.push(Failure::new(
            "ignored_auth",
            "401 for a missing, wrong or stale signature",
            format!("{status}"),
        )),
        _ => {}
    }
    let Some(documented_resp) = op.pointer(&format!("/responses/{status}")) else {
        return;
    };
    check_body(schemas, documented_resp, resp, out);
}

/// Content type, schema and shape of a body against the documented response.
pub fn check_body(
    schemas: &SchemaSet,
    documented: &Value,
    resp: &Response,
    out: &mut Vec<Failure>,
) {
    let Some(schema) = documented.pointer("/content/application~1json/schema") else {
        if resp.status == 204 && !resp.text.is_empty() {
            out.push(Failure::new(
                "content_type_conformance",
                "no body for 204",
                format!("{} bytes", resp.text.len()),
            ));
        }
        return;
    };
    let ct = resp.content_type.as_deref().unwrap_or("");
    if !ct.to_ascii_lowercase().starts_with("application/json") {
        out.push(Failure::new(
            "content_type_conformance",
            "application/json",
            if ct.is_empty() {
                "no Content-Type".to_string()
            } else {
                ct.to_string()
            },
        ));
    }
    let Some(body) = &resp.json else {
        let why = if resp.truncated {
            "body exceeds the response size cap"
        } else {
            "body is not JSON"
        };
        out.push(Failure::new(
            "response_schema_conformance",
            "a JSON body",
            format!("{why}: {}", snippet(&resp.text)),
        ));
        return;
    };
    match schemas.errors(schema, body) {
        Ok(errs) if errs.is_empty() => {}
        Ok(errs) => out.push(Failure::new(
            "response_schema_conformance",
            "a body valid against the documented schema",
            errs.join("; "),
        )),
        Err(e) => out.push(Failure::new(
            "response_schema_conformance",
            "a compilable schema",
            e,
        )),
    }
    let mut extra = Vec::new();
    undocumented_fields(schemas, schema, body, "", &mut extra, 0);
    if !extra.is_empty() {
        out.push(Failure::new(
            "version_shape",
            "only the fields this version documents",
            format!("undocumented field(s): {}", extra.join(", ")),
        ));
    }
}

/// Object keys the schema does not declare, as JSON pointers.
pub fn undocumented_fields(
    schemas: &SchemaSet,
    schema: &Value,
    v: &Value,
    at: &str,
    out: &mut Vec<String>,
    depth: usize,
) {
    if depth > 16 {
        return;
    }
    let s = schemas.resolve(schema);
    if let Some(alts) = s.get("anyOf").and_then(Value::as_array) {
        // Follow the alternative of the value's kind.
        let pick = alts.iter().map(|a| schemas.resolve(a)).find(|a| match v {
            Value::Object(_) => a.get("properties").is_some(),
            Value::Array(_) => a.get("items").is_some(),
            _ => false,
        });
        if let Some(a) = pick {
            undocumented_fields(schemas, a, v, at, out, depth + 1);
        }
        return;
    }
    match v {
        Value::Object(o) => {
            let Some(props) = s.get("properties").and_then(Value::as_object) else {
                return;
            };
            for (k, x) in o {
                let p = format!("{at}/{k}");
                match props.get(k) {
                    Some(ps) => undocumented_fields(schemas, ps, x, &p, out, depth + 1),
                    None => out.push(p),
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = s.get("items") {
                for (i, x) in a.iter().enumerate() {
                    undocumented_fields(schemas, items, x, &format!("{at}/{i}"), out, depth + 1);
                }
            }
        }
        _ => {}
    }
}

pub fn snippet(s: &str) -> String {
    let t: String = s.chars().take(200).collect();
    if s.chars().count() > 200 {
        format!("{t}…")
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({"components": {"schemas": {
            "Show": {"type": "object", "properties": {"key": {"$ref": "#/components/schemas/Key"}}, "required": ["key"]},
            "Key": {"type": "object", "properties": {"id": {"type": "string"}, "v": {"type": "integer"}}, "required": ["id", "v"]}
        }}})
    }

    fn op() -> Value {
        json!({"responses": {
            "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Show"}}}},
            "404": {"description": "Not Found"}
        }})
    }

    fn resp(status: u16, ct: &str, body: &str) -> Response {
        Response {
            status,
            content_type: Some(ct.into()),
            text: body.into(),
            json: serde_json::from_str(body).ok(),
            truncated: false,
            elapsed_ms: 0,
            notable_headers: vec![],
        }
    }

    fn checks_of(r: &Response, claim: Claim) -> Vec<String> {
        let d = doc();
        let s = SchemaSet::new(&d);
        let mut out = vec![];
        check_response(&s, &op(), &[], claim, r, &mut out);
        out.into_iter().map(|f| f.check).collect()
    }

    #[test]
    fn configured_statuses_are_accepted() {
        let d = doc();
        let s = SchemaSet::new(&d);
        let mut out = vec![];
        check_response(
            &s,
            &op(),
            &[409],
            Claim::Suite,
            &resp(409, "application/json", "{}"),
            &mut out,
        );
        assert!(out.is_empty(), "{out:?}");
        check_response(
            &s,
            &op(),
            &[],
            Claim::Suite,
            &resp(409, "application/json", "{}"),
            &mut out,
        );
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn a_conforming_response_passes() {
        assert!(checks_of(
            &resp(200, "application/json", r#"{"key":{"id":"a","v":1}}"#),
            Claim::Valid {
                expect_accept: true
            }
        )
        .is_empty());
    }

    #[test]
    fn each_deviation_fires_its_check() {
        let ok = Claim::Valid {
            expect_accept: true,
        };
        assert_eq!(
            checks_of(&resp(200, "application/json", r#"{"key":{"id":"a"}}"#), ok),
            ["response_schema_conformance"]
        );
        assert_eq!(
            checks_of(
                &resp(200, "application/json", r#"{"key":{"id":"a","v":1,"x":0}}"#),
                ok
            ),
            ["version_shape"]
        );
        assert_eq!(
            checks_of(&resp(200, "text/plain", r#"{"key":{"id":"a","v":1}}"#), ok),
            ["content_type_conformance"]
        );
        assert_eq!(
            checks_of(&resp(201, "application/json", "{}"), ok),
            ["status_code_conformance"]
        );
        assert_eq!(
            checks_of(&resp(500, "application/json", "{}"), ok),
            ["not_a_server_error", "positive_data_acceptance"]
        );
        assert_eq!(
            checks_of(
                &resp(200, "application/json", r#"{"key":{"id":"a","v":1}}"#),
                Claim::Invalid
            ),
            ["negative_data_rejection"]
        );
        assert_eq!(
            checks_of(&resp(404, "application/json", "{}"), Claim::BadAuth),
            ["ignored_auth"]
        );
        assert!(checks_of(&resp(401, "application/json", "{}"), Claim::BadAuth).is_empty());
        assert_eq!(
            checks_of(&resp(200, "application/json", "not json"), ok),
            ["response_schema_conformance"]
        );
    }
}
