//! Checks that apply to every response: status, content type, schema, version shape, and the
//! verdicts on positive, negative and auth cases. Each failure carries the basis of what it
//! expected: the spec's annotations, the profile's rules, or the document location.

use super::basis::Basis;
use super::catalogue::CheckId;
use super::failure::{Actual, Expected, Failure, SchemaError, Verdicts};
use crate::spec::basis as spec_basis;
use crate::spec::{Operation, Profile, VersionSpec};
use crate::target::http::Response;
use serde_json::Value;

/// What the case claims about its request.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// Satisfies the spec: must be accepted when `expect_accept`; `basis` is that of the
    /// weakest constraint the request's validity rests on.
    Valid { expect_accept: bool, basis: Basis },
    /// Violates the constraint whose basis is `basis`: must be rejected with 4xx.
    Invalid { basis: Basis },
    /// No valid credentials: must not be accepted.
    BadAuth,
    /// An unknown API version: the profile's refusal statuses are expected too.
    UnknownVersion,
    /// Part of a suite: the suite states its own expectations.
    Suite,
    /// Recorded traffic: nothing is known of the request's intent or credentials, so only
    /// the response's own checks apply, and the profile's bad-auth statuses are expected too.
    Recorded,
}

/// The spec context of one exchange.
pub struct Scope<'a> {
    pub spec: &'a VersionSpec,
    pub op: &'a Operation,
    pub profile: &'a Profile,
    /// Statuses the run's configuration accepts beyond the documented ones.
    pub also_allowed: &'a [u16],
    /// `--max-response-time` in milliseconds: a slower response fails `max_response_time`.
    pub max_response_ms: Option<u64>,
}

/// A body as a value for a failure: the JSON, or a text excerpt.
pub fn body_value(resp: &Response) -> Option<Value> {
    match &resp.json {
        Some(j) => Some(j.clone()),
        None if resp.text.is_empty() => None,
        None => Some(Value::String(excerpt(&resp.text))),
    }
}

pub fn status_actual(resp: &Response) -> Actual {
    Actual::Status {
        status: resp.status,
        body: body_value(resp),
    }
}

/// The first 200 characters.
pub fn excerpt(s: &str) -> String {
    let t: String = s.chars().take(200).collect();
    if s.chars().count() > 200 {
        format!("{t}…")
    } else {
        t
    }
}

pub fn check_response(sc: &Scope, claim: &Claim, resp: &Response, v: &mut Verdicts) {
    let doc = &sc.spec.doc;
    let status = resp.status;
    let statuses_basis = spec_basis::of_statuses(doc, sc.op);
    // No document lists a 5xx for any operation, whatever else it leaves open.
    v.check(CheckId::NotAServerError, status < 500, || {
        Failure::new(
            CheckId::NotAServerError,
            Expected::StatusBelow500,
            status_actual(resp),
        )
        .with_basis(spec_basis::of_operation(doc, sc.op))
    });
    if let Some(limit) = sc.max_response_ms {
        v.check(CheckId::MaxResponseTime, resp.elapsed_ms <= limit, || {
            Failure::new(
                CheckId::MaxResponseTime,
                Expected::Described {
                    text: format!("a complete response within {limit} ms (--max-response-time)"),
                },
                Actual::Described {
                    text: format!("the response took {} ms", resp.elapsed_ms),
                },
            )
            .with_basis(Basis::required(format!(
                "--max-response-time {limit}: the user's own limit for this run; no vendor document sets one"
            )))
        });
    }
    let documented = sc.op.documented_statuses();
    let extra: &[u16] = match claim {
        Claim::BadAuth | Claim::Recorded => &sc.profile.errors.bad_auth.statuses,
        Claim::UnknownVersion => sc
            .profile
            .errors
            .unknown_version
            .as_ref()
            .map(|r| r.statuses.as_slice())
            .unwrap_or(&[]),
        _ => &[],
    };
    if status < 500 {
        let ok = documented.contains(&status)
            || sc.also_allowed.contains(&status)
            || extra.contains(&status);
        v.check(CheckId::StatusCodeConformance, ok, || {
            let mut statuses: Vec<u16> = documented
                .iter()
                .chain(sc.also_allowed)
                .chain(extra)
                .copied()
                .collect();
            statuses.sort_unstable();
            statuses.dedup();
            Failure::new(
                CheckId::StatusCodeConformance,
                Expected::StatusIn { statuses },
                status_actual(resp),
            )
            .with_basis(statuses_basis.clone())
        });
    }
    match claim {
        Claim::Valid {
            expect_accept: true,
            basis,
        } => v.check(
            CheckId::PositiveDataAcceptance,
            (200..300).contains(&status),
            || {
                Failure::new(
                    CheckId::PositiveDataAcceptance,
                    Expected::StatusClass { class: 2 },
                    status_actual(resp),
                )
                .with_basis(basis.clone())
            },
        ),
        Claim::Invalid { basis } => v.check(
            CheckId::NegativeDataRejection,
            (400..500).contains(&status),
            || {
                Failure::new(
                    CheckId::NegativeDataRejection,
                    Expected::StatusClass { class: 4 },
                    status_actual(resp),
                )
                .with_basis(basis.clone())
            },
        ),
        Claim::BadAuth => v.check(CheckId::IgnoredAuth, status >= 400, || {
            Failure::new(
                CheckId::IgnoredAuth,
                Expected::NotAccepted,
                status_actual(resp),
            )
            .with_basis(spec_basis::of_operation(doc, sc.op))
        }),
        _ => {}
    }
    if let Some(documented_resp) = sc.op.responses.get(&status) {
        let basis = spec_basis::of_response(doc, sc.op, status);
        check_body(sc.spec, documented_resp.schema.as_ref(), &basis, resp, v);
    }
}

/// Content type, schema and shape of a body against a documented response (`schema` None:
/// the response documents no body).
pub fn check_body(
    spec: &VersionSpec,
    schema: Option<&Value>,
    basis: &Basis,
    resp: &Response,
    v: &mut Verdicts,
) {
    let Some(schema) = schema else {
        if resp.status == 204 {
            v.check(
                CheckId::ContentTypeConformance,
                resp.text.is_empty(),
                || {
                    Failure::new(
                        CheckId::ContentTypeConformance,
                        Expected::NoBody,
                        Actual::BodyBytes {
                            bytes: resp.text.len() as u64,
                        },
                    )
                    .with_basis(basis.clone())
                },
            );
        }
        return;
    };
    let ct = resp.content_type.as_deref().unwrap_or("");
    let json_ct = ct.to_ascii_lowercase().starts_with("application/json");
    v.check(CheckId::ContentTypeConformance, json_ct, || {
        Failure::new(
            CheckId::ContentTypeConformance,
            Expected::ContentType {
                media_type: "application/json".into(),
            },
            Actual::ContentType {
                media_type: (!ct.is_empty()).then(|| ct.to_string()),
            },
        )
        .with_basis(basis.clone())
    });
    let Some(body) = &resp.json else {
        v.fail(
            Failure::new(
                CheckId::ResponseSchemaConformance,
                Expected::JsonBody,
                Actual::NotJson {
                    truncated: resp.truncated,
                    excerpt: excerpt(&resp.text),
                },
            )
            .with_basis(basis.clone()),
        );
        return;
    };
    match spec.schemas.located_errors(schema, body) {
        Ok(errs) if errs.is_empty() => v.pass(CheckId::ResponseSchemaConformance),
        Ok(errs) => {
            // One failure per basis: a documented violation must not hide behind an
            // assumed one, nor an assumed one fail the gate with a documented one.
            let mut groups: Vec<(Basis, Vec<SchemaError>)> = Vec::new();
            for e in errs {
                let b = spec_basis::of_keyword(&spec.doc, schema, &e.schema_path, basis);
                let err = SchemaError {
                    pointer: e.pointer,
                    message: e.message,
                };
                match groups.iter_mut().find(|(g, _)| g.kind == b.kind) {
                    Some((_, list)) => list.push(err),
                    None => groups.push((b, vec![err])),
                }
            }
            for (b, errors) in groups {
                v.fail(
                    Failure::new(
                        CheckId::ResponseSchemaConformance,
                        Expected::SchemaValid,
                        Actual::SchemaErrors { errors },
                    )
                    .with_basis(b),
                );
            }
        }
        Err(e) => v.fail(
            Failure::new(
                CheckId::ResponseSchemaConformance,
                Expected::SchemaValid,
                Actual::Described {
                    text: format!("the documented schema does not compile: {e}"),
                },
            )
            .with_basis(basis.clone()),
        ),
    }
    let mut extra = Vec::new();
    undocumented_fields(&spec.doc, schema, body, "", &mut extra, 0);
    v.check(CheckId::VersionShape, extra.is_empty(), || {
        Failure::new(
            CheckId::VersionShape,
            Expected::DocumentedFieldsOnly,
            Actual::UndocumentedFields { pointers: extra },
        )
        .with_basis(basis.clone())
    });
}

/// Object keys the schema does not declare, as JSON pointers. A node declares its own
/// `properties` and those of its `allOf` parts (an envelope composed with `allOf`); an
/// `anyOf` contributes the alternative of the value's kind.
pub fn undocumented_fields(
    doc: &Value,
    schema: &Value,
    v: &Value,
    at: &str,
    out: &mut Vec<String>,
    depth: usize,
) {
    use crate::spec::model::resolve;
    if depth > 16 {
        return;
    }
    let s = resolve(schema, doc);
    // The schemas that apply to this value: the node and its allOf parts (transitively),
    // and of anyOf's alternatives for the value's kind the one that declares the most of it.
    let mut applying: Vec<&Value> = Vec::new();
    with_all_of(doc, s, &mut applying, 0);
    if let Some(alts) = s.get("anyOf").and_then(Value::as_array) {
        let pick = alts
            .iter()
            .map(|a| resolve(a, doc))
            .filter(|a| {
                let mut parts = Vec::new();
                with_all_of(doc, a, &mut parts, 0);
                parts.iter().any(|p| match v {
                    Value::Object(_) => p.get("properties").is_some(),
                    Value::Array(_) => p.get("items").is_some(),
                    _ => false,
                })
            })
            .min_by_key(|a| {
                let mut missing = Vec::new();
                undocumented_fields(doc, a, v, at, &mut missing, depth + 1);
                missing.len()
            });
        if let Some(a) = pick {
            with_all_of(doc, a, &mut applying, 0);
        }
    }
    match v {
        Value::Object(o) => {
            let declared: Vec<&serde_json::Map<String, Value>> = applying
                .iter()
                .filter_map(|a| a.get("properties").and_then(Value::as_object))
                .collect();
            if declared.is_empty() {
                return;
            }
            for (k, x) in o {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                // The first declaration wins: the node's own before its parts'.
                match declared.iter().find_map(|props| props.get(k)) {
                    Some(ps) => undocumented_fields(doc, ps, x, &p, out, depth + 1),
                    None => out.push(p),
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = applying.iter().find_map(|a| a.get("items")) {
                for (i, x) in a.iter().enumerate() {
                    undocumented_fields(doc, items, x, &format!("{at}/{i}"), out, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// `s` and its allOf parts, transitively (resolved).
fn with_all_of<'a>(doc: &'a Value, s: &'a Value, out: &mut Vec<&'a Value>, depth: usize) {
    out.push(s);
    if depth > 8 {
        return;
    }
    for p in s
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        with_all_of(doc, crate::spec::model::resolve(p, doc), out, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::basis::BasisKind;
    use serde_json::json;

    fn spec() -> VersionSpec {
        let doc = json!({
            "openapi": "3.1.0",
            "info": {"version": "1", "x-source": {"document": "d.txt"}},
            "paths": {"/k": {"get": {"operationId": "show", "x-kmsconform-doc": {"line": 5}, "responses": {
                "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Show"}}}},
                "404": {"description": "Not Found"}
            }}}},
            "components": {"schemas": {
                "Show": {"type": "object", "x-kmsconform-doc": {"line": 9}, "properties": {"key": {"$ref": "#/components/schemas/Key"}}, "required": ["key"]},
                "Key": {"type": "object", "x-kmsconform-doc": {"line": 12}, "properties": {
                    "id": {"type": "string"},
                    "v": {"type": "integer", "maximum": 10, "x-kmsconform-basis": "assumed: bound chosen here"}
                }, "required": ["id", "v"]}
            }}
        });
        let operations = crate::spec::model::operations(&doc).unwrap();
        VersionSpec {
            version: "1".into(),
            schemas: crate::spec::validate::SchemaSet::new(&doc),
            doc,
            operations,
        }
    }

    fn profile() -> Profile {
        crate::spec::profile::example()
    }

    fn resp(status: u16, ct: &str, body: &str) -> Response {
        Response {
            status,
            content_type: Some(ct.into()),
            text: body.into(),
            json: serde_json::from_str(body).ok(),
            truncated: false,
            elapsed_ms: 0,
            headers: vec![],
            sent_secrets: vec![],
            sent_headers: vec![],
        }
    }

    fn run(r: &Response, claim: Claim, also: &[u16]) -> Verdicts {
        let s = spec();
        let p = profile();
        let sc = Scope {
            spec: &s,
            op: &s.operations[0],
            profile: &p,
            also_allowed: also,
            max_response_ms: None,
        };
        let mut v = Verdicts::new();
        check_response(&sc, &claim, r, &mut v);
        v
    }

    fn failed(v: &Verdicts) -> Vec<&'static str> {
        v.failures().iter().map(|f| f.check.id()).collect()
    }

    fn ok() -> Claim {
        Claim::Valid {
            expect_accept: true,
            basis: Basis::documented("d.txt:5"),
        }
    }

    #[test]
    fn fields_of_allof_parts_and_anyof_siblings_are_documented() {
        let doc = json!({"components": {"schemas": {
            "Envelope": {"type": "object", "properties": {"request_id": {"type": "string"}, "data": {}}},
            "Resp": {"type": "object", "allOf": [{"$ref": "#/components/schemas/Envelope"}],
                     "properties": {"data": {"type": "object",
                         "properties": {"ciphertext": {"type": "string"}},
                         "anyOf": [{"required": ["ciphertext"]}, {"required": ["batch_results"]}]}}}
        }}});
        let schema = json!({"$ref": "#/components/schemas/Resp"});
        let mut out = Vec::new();
        let body = json!({"request_id": "r", "data": {"ciphertext": "c"}});
        undocumented_fields(&doc, &schema, &body, "", &mut out, 0);
        assert!(out.is_empty(), "{out:?}");
        let body = json!({"request_id": "r", "extra": 1, "data": {"ciphertext": "c", "x": 2}});
        undocumented_fields(&doc, &schema, &body, "", &mut out, 0);
        assert_eq!(out, ["/extra", "/data/x"]);
        // Of anyOf's alternatives, the one that fits the value is followed.
        let either = json!({"anyOf": [{"type": "object", "properties": {"errors": {}}},
                                      {"$ref": "#/components/schemas/Resp"}]});
        let mut out = Vec::new();
        let body = json!({"request_id": "r", "data": {"ciphertext": "c"}});
        undocumented_fields(&doc, &either, &body, "", &mut out, 0);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn configured_statuses_are_accepted() {
        assert!(failed(&run(
            &resp(409, "application/json", "{}"),
            Claim::Suite,
            &[409]
        ))
        .is_empty());
        assert_eq!(
            failed(&run(
                &resp(409, "application/json", "{}"),
                Claim::Suite,
                &[]
            )),
            ["status_code_conformance"]
        );
    }

    #[test]
    fn a_conforming_response_passes_every_check_it_evaluates() {
        let v = run(
            &resp(200, "application/json", r#"{"key":{"id":"a","v":1}}"#),
            ok(),
            &[],
        );
        assert!(v.failures().is_empty(), "{:?}", v.failures());
        for c in [
            CheckId::NotAServerError,
            CheckId::StatusCodeConformance,
            CheckId::PositiveDataAcceptance,
            CheckId::ContentTypeConformance,
            CheckId::ResponseSchemaConformance,
            CheckId::VersionShape,
        ] {
            assert!(v.evaluated().contains(&c), "{c} not evaluated");
        }
    }

    #[test]
    fn each_deviation_fires_its_check_with_its_basis() {
        let v = run(
            &resp(200, "application/json", r#"{"key":{"id":"a"}}"#),
            ok(),
            &[],
        );
        assert_eq!(failed(&v), ["response_schema_conformance"]);
        assert_eq!(v.failures()[0].basis.source, "d.txt:12 (Key)");
        // A violation of an assumed bound is an advisory, apart from documented ones.
        let v = run(
            &resp(200, "application/json", r#"{"key":{"id":1,"v":11}}"#),
            ok(),
            &[],
        );
        let kinds: Vec<BasisKind> = v.failures().iter().map(|f| f.basis.kind).collect();
        assert_eq!(kinds, [BasisKind::Documented, BasisKind::Assumed]);
        assert_eq!(
            failed(&run(
                &resp(200, "application/json", r#"{"key":{"id":"a","v":1,"x":0}}"#),
                ok(),
                &[]
            )),
            ["version_shape"]
        );
        assert_eq!(
            failed(&run(
                &resp(200, "text/plain", r#"{"key":{"id":"a","v":1}}"#),
                ok(),
                &[]
            )),
            ["content_type_conformance"]
        );
        assert_eq!(
            failed(&run(&resp(201, "application/json", "{}"), ok(), &[])),
            ["status_code_conformance"]
        );
        assert_eq!(
            failed(&run(&resp(500, "application/json", "{}"), ok(), &[])),
            ["not_a_server_error", "positive_data_acceptance"]
        );
        let invalid = Claim::Invalid {
            basis: Basis::assumed("bounds"),
        };
        let v = run(
            &resp(200, "application/json", r#"{"key":{"id":"a","v":1}}"#),
            invalid,
            &[],
        );
        assert_eq!(failed(&v), ["negative_data_rejection"]);
        assert!(v.failures()[0].basis.is_advisory());
        assert_eq!(
            failed(&run(
                &resp(200, "application/json", r#"{"key":{"id":"a","v":1}}"#),
                Claim::BadAuth,
                &[]
            )),
            ["ignored_auth"]
        );
        // The profile's refusal statuses (401 and the gateway's 404) are not status failures.
        assert!(failed(&run(
            &resp(401, "application/json", "{}"),
            Claim::BadAuth,
            &[]
        ))
        .is_empty());
        assert_eq!(
            failed(&run(&resp(200, "application/json", "not json"), ok(), &[])),
            ["response_schema_conformance"]
        );
    }
}
