use super::*;
use crate::spec::validate::SchemaSet;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};

fn doc() -> Value {
    serde_json::from_str(include_str!("../../specs/scp-kms/1.3.json")).unwrap()
}

fn component_names(doc: &Value) -> Vec<String> {
    doc["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

fn sref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// A small document exercising keywords the KMS spec does not use.
fn synthetic() -> Value {
    json!({"components": {"schemas": {
        "Thing": {"type": "object", "required": ["name", "count", "blob", "inner", "kind", "at", "state", "code"],
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z0-9]*$", "minLength": 3, "maxLength": 8},
                "count": {"type": "integer", "minimum": 1, "maximum": 100},
                "ratio": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
                "blob": {"type": "string", "contentEncoding": "base64"},
                "kind": {"enum": ["a", "b"]},
                "at": {"type": "string", "format": "date-time"},
                "inner": {"$ref": "#/components/schemas/Inner"},
                "tags": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "string"}},
                "state": {"type": "string", "pattern": "^(Active|Stop)$"},
                "code": {"type": "string", "pattern": "^[A-Z]{2}-[0-9]{3}$"}
            }},
        "Inner": {"type": "object", "required": ["id"],
            "properties": {"id": {"type": "string", "minLength": 1, "maxLength": 4},
                           "next": {"anyOf": [{"$ref": "#/components/schemas/Inner"}, {"type": "null"}]}}}
    }}})
}

fn check_all_valid(doc: &Value, name: &str, cases: u32) {
    let set = SchemaSet::new(doc);
    let schema = sref(name);
    let strategy = valid_strategy(&schema, doc);
    let mut r = runner(7, name);
    let mut cfg = r.config().clone();
    cfg.cases = cases;
    let mut r = proptest::test_runner::TestRunner::new_with_rng(cfg, r.new_rng());
    r.run(&strategy, |v| {
        let errs = set.errors(&schema, &v).map_err(TestCaseError::fail)?;
        prop_assert!(errs.is_empty(), "{name}: {v} invalid: {errs:?}");
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{name}: {e}"));
}

#[test]
fn every_component_schema_generates_valid_values() {
    let d = doc();
    let names = component_names(&d);
    assert!(names.len() >= 30);
    for n in names {
        check_all_valid(&d, &n, 64);
    }
}

#[test]
fn synthetic_keywords_generate_valid_values() {
    let d = synthetic();
    check_all_valid(&d, "Thing", 128);
    check_all_valid(&d, "Inner", 64);
}

#[test]
fn anyof_beside_properties_constrains_them_instead_of_replacing_them() {
    // OpenBao's encrypt body: typed properties, and anyOf saying which must be present.
    let d = json!({"components": {"schemas": {"Enc": {"type": "object",
        "properties": {"plaintext": {"type": "string", "contentEncoding": "base64"},
                       "batch_input": {"type": "array", "items": {"type": "object"}},
                       "kind": {"type": "string"}},
        "anyOf": [{"required": ["plaintext"]}, {"required": ["batch_input"]},
                  {"properties": {"kind": {"const": "x"}}, "required": ["kind"]}]}}}});
    check_all_valid(&d, "Enc", 128);
    let st = valid_strategy(&sref("Enc"), &d);
    let mut r = runner(5, "enc");
    for _ in 0..50 {
        let v = draw(&st, &mut r).current();
        if let Some(p) = v.get("plaintext") {
            let text = p.as_str().unwrap();
            assert!(
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text).is_ok(),
                "{v}"
            );
        }
        if let Some(b) = v.get("batch_input") {
            assert!(b.is_array(), "{v}");
        }
    }
    // Mutations break the typed properties, not the alternatives' bare `required`.
    let valid = json!({"plaintext": "aGk="});
    let labels: Vec<String> = candidate_violations(&sref("Enc"), &d, &valid)
        .into_iter()
        .map(|v| v.label)
        .collect();
    assert!(
        labels
            .iter()
            .any(|l| l == "plaintext: contentEncoding base64 violated"),
        "{labels:?}"
    );
}

#[test]
fn openbao_request_schemas_generate_valid_values() {
    for v in ["2.6.1", "2.7.2"] {
        let d: Value = serde_json::from_str(
            &std::fs::read_to_string(format!("specs/openbao-transit/{v}.json")).unwrap(),
        )
        .unwrap();
        for n in component_names(&d)
            .into_iter()
            .filter(|n| n.ends_with("Request"))
        {
            // if/then is not generated from; the run redraws what the validator refuses.
            if d["components"]["schemas"][&n].get("if").is_some() {
                continue;
            }
            check_all_valid(&d, &n, 32);
        }
    }
}

#[test]
fn pattern_and_length_are_both_respected() {
    let d = synthetic();
    let s = json!({"type": "string", "pattern": "^[a-z0-9]*$", "minLength": 3, "maxLength": 8});
    let mut r = runner(1, "len");
    let st = valid_strategy(&s, &d);
    let mut lens = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let v = draw(&st, &mut r).current();
        let s = v.as_str().unwrap();
        assert!((3..=8).contains(&s.len()), "{s}");
        assert!(s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        lens.insert(s.len());
    }
    assert_eq!(lens.len(), 6, "all lengths 3..=8 appear: {lens:?}");
}

#[test]
fn optional_properties_sometimes_present_sometimes_absent() {
    let d = synthetic();
    let st = valid_strategy(&sref("Thing"), &d);
    let mut r = runner(2, "opt");
    let present = (0..100)
        .filter(|_| draw(&st, &mut r).current().get("ratio").is_some())
        .count();
    assert!((20..=80).contains(&present), "{present}");
}

#[test]
fn shrinking_moves_toward_simpler_values() {
    let d = synthetic();
    let st = valid_strategy(
        &json!({"type": "integer", "minimum": 10, "maximum": 1000}),
        &d,
    );
    let mut r = runner(3, "shrink");
    let mut t = draw(&st, &mut r);
    while t.current() == json!(10) {
        t = draw(&st, &mut r);
    }
    while t.simplify() {}
    assert_eq!(t.current(), json!(10));
}

fn assert_violations_invalid(d: &Value, name: &str, seeds: u64) -> usize {
    let set = SchemaSet::new(d);
    let schema = sref(name);
    let st = valid_strategy(&schema, d);
    let mut total = 0;
    for seed in 0..seeds {
        let valid = draw(&st, &mut runner(seed, name)).current();
        let vs = violations(&schema, d, &valid, &set);
        for v in &vs {
            let errs = set.errors(&schema, &v.value).unwrap();
            if v.semantic {
                continue;
            }
            assert!(
                !errs.is_empty(),
                "{name}: {} still valid: {}",
                v.label,
                v.value
            );
            let field = v.pointer.rsplit('/').next().unwrap();
            assert!(
                v.label.contains(field) || v.pointer.is_empty(),
                "label {:?} names {}",
                v.label,
                v.pointer
            );
        }
        total += vs.len();
    }
    total
}

#[test]
fn kms_violations_are_invalid_and_name_their_field() {
    let d = doc();
    let mut total = 0;
    for n in component_names(&d) {
        total += assert_violations_invalid(&d, &n, 4);
    }
    assert!(total > 500, "{total}");
}

#[test]
fn violation_kinds_cover_the_keywords() {
    let d = synthetic();
    let set = SchemaSet::new(&d);
    assert!(assert_violations_invalid(&d, "Thing", 16) > 0);
    let valid = draw(&valid_strategy(&sref("Thing"), &d), &mut runner(0, "kinds")).current();
    let vs = violations(&sref("Thing"), &d, &valid, &set);
    let labels: Vec<&str> = vs.iter().map(|v| v.label.as_str()).collect();
    for want in [
        "name: required property removed",
        "name: type integer instead of string",
        "name: pattern ^[a-z0-9]*$ violated",
        "name: minLength 3 violated (length 2)",
        "name: maxLength 8 violated (length 9)",
        "count: minimum 1 violated (0)",
        "count: maximum 100 violated (101)",
        "kind: enum violated",
        "at: format date-time violated",
        "inner.id: required property removed",
        "inner.id: maxLength 4 violated",
        "(root): type array instead of object",
        "state: pattern ^(Active|Stop)$ violated",
        "code: pattern",
    ] {
        assert!(
            labels.iter().any(|l| l.starts_with(want)),
            "missing {want}: {labels:#?}"
        );
    }
    let sem: Vec<_> = vs.iter().filter(|v| v.semantic).collect();
    assert_eq!(sem.len(), 1);
    assert_eq!(sem[0].pointer, "/blob");
    assert_eq!(sem[0].value["blob"], json!("%%%not base64"));
    // The schema validator does not assert contentEncoding, hence `semantic`.
    assert!(set
        .errors(&sref("Thing"), &sem[0].value)
        .unwrap()
        .is_empty());
    let long = vs
        .iter()
        .find(|v| v.label.starts_with("name: maxLength"))
        .unwrap();
    let s = long.value["name"].as_str().unwrap();
    assert_eq!(s.chars().count(), 9);
    assert!(
        s.chars().all(|c| c.is_ascii_lowercase()),
        "pattern kept: {s}"
    );
    let pat = vs
        .iter()
        .find(|v| v.label.starts_with("name: pattern"))
        .unwrap();
    let n = pat.value["name"].as_str().unwrap().chars().count();
    assert!((3..=8).contains(&n), "length kept in bounds");
    let mut unchanged = pat.value.clone();
    unchanged["name"] = valid["name"].clone();
    assert_eq!(unchanged, valid, "only one field changes");
}

#[test]
fn boundary_values_are_valid() {
    let d = synthetic();
    let set = SchemaSet::new(&d);
    let props = d["components"]["schemas"]["Thing"]["properties"].clone();
    let name = boundary_values(&props["name"], &d);
    assert_eq!(
        name,
        vec![
            ("minLength 3".to_string(), json!("aaa")),
            ("maxLength 8".to_string(), json!("aaaaaaaa"))
        ]
    );
    let count = boundary_values(&props["count"], &d);
    assert_eq!(
        count.iter().map(|x| &x.1).collect::<Vec<_>>(),
        [&json!(1), &json!(100)]
    );
    assert_eq!(boundary_values(&props["kind"], &d).len(), 2);
    assert!(boundary_values(&props["ratio"], &d)
        .iter()
        .any(|x| x.1.is_null()));
    let mut n = 0;
    for (p, s) in props.as_object().unwrap() {
        for (label, v) in boundary_values(s, &d) {
            assert!(set.errors(s, &v).unwrap().is_empty(), "{p} {label}: {v}");
            n += 1;
        }
    }
    assert!(n >= 8);
    // Whole-instance boundaries over every KMS component schema.
    let k = doc();
    let kset = SchemaSet::new(&k);
    let mut m = 0;
    for c in component_names(&k) {
        let base = draw(&valid_strategy(&sref(&c), &k), &mut runner(0, &c)).current();
        for (label, v) in boundary_instances(&sref(&c), &k, &base) {
            assert!(
                kset.errors(&sref(&c), &v).unwrap().is_empty(),
                "{c} {label}: {v}"
            );
            m += 1;
        }
    }
    assert!(m > 20, "{m}");
}

#[test]
fn same_seed_and_stream_replays() {
    let d = doc();
    let st = valid_strategy(&sref("KeyCreateMasterKeyRequest"), &d);
    let seq = |seed, stream: &str| {
        let mut r = runner(seed, stream);
        (0..20)
            .map(|_| draw(&st, &mut r).current())
            .collect::<Vec<_>>()
    };
    let a = seq(42, "1.3/createKey");
    assert_eq!(a, seq(42, "1.3/createKey"));
    assert_ne!(a, seq(42, "1.3/createKey2"));
    assert_ne!(a, seq(43, "1.3/createKey"));
}

#[test]
fn operations_of_1_3() {
    let d = doc();
    let ops = operations(&d);
    assert_eq!(ops.len(), 21);
    let get = |id: &str| ops.iter().find(|o| o.operation_id == id).unwrap();
    let list = get("listKeys");
    assert_eq!(
        (list.method.as_str(), list.path.as_str()),
        ("GET", "/v1/kms/transit")
    );
    let names: Vec<_> = list
        .params
        .iter()
        .map(|p| (p.name.as_str(), p.location.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("size", "query"),
            ("page", "query"),
            ("sort", "query"),
            ("name", "query")
        ]
    );
    assert!(list.body.is_none() && list.params.iter().all(|p| !p.required));
    let del = get("deleteKey");
    let names: Vec<_> = del
        .params
        .iter()
        .map(|p| (p.name.as_str(), p.location.as_str(), p.required))
        .collect();
    assert_eq!(
        names,
        [("key_id", "path", true), ("is_directly", "query", false)]
    );
    let create = get("createKey");
    assert_eq!(create.method, "POST");
    assert!(create.body_required);
    assert_eq!(create.body, Some(sref("KeyCreateMasterKeyRequest")));
    assert!(ops
        .iter()
        .all(|o| o.params.iter().all(|p| p.location != "header")));
    assert_eq!(ops.iter().filter(|o| o.body.is_some()).count(), 13);
}

#[test]
fn valid_requests_validate_and_render_scalars() {
    let d = doc();
    let set = SchemaSet::new(&d);
    let ops = operations(&d);
    let mut seen_size = false;
    for op in &ops {
        let st = valid_request_strategy(op, &d);
        let mut r = runner(9, &op.operation_id);
        for _ in 0..32 {
            let req = draw(&st, &mut r).current();
            assert!(req.valid && req.raw_body.is_none());
            for p in op.params.iter().filter(|p| p.location == "path") {
                assert!(!req.path_params[&p.name].is_empty());
            }
            for (n, v) in &req.query {
                let p = op.params.iter().find(|p| &p.name == n).unwrap();
                let decoded = coerce(v, &p.schema, &d);
                assert!(
                    set.errors(&p.schema, &decoded).unwrap().is_empty(),
                    "{n}={v}"
                );
                if n == "size" {
                    seen_size = true;
                    assert!(v.parse::<i64>().is_ok(), "{v}");
                }
                if n == "is_directly" {
                    assert!(v == "true" || v == "false");
                }
            }
            match (&op.body, &req.body) {
                (Some(s), Some(b)) => assert!(set.errors(s, b).unwrap().is_empty()),
                (Some(_), None) => assert!(!op.body_required),
                (None, b) => assert!(b.is_none()),
            }
        }
    }
    assert!(seen_size);
}

#[test]
fn invalid_requests_are_invalid() {
    let d = doc();
    let set = SchemaSet::new(&d);
    let ops = operations(&d);
    let get = |id: &str| ops.iter().find(|o| o.operation_id == id).unwrap();
    let list = get("listKeys");
    let mut base = draw(&valid_request_strategy(list, &d), &mut runner(1, "l")).current();
    base.query = vec![("size".into(), "20".into())];
    let inv = invalid_requests(list, &d, &base, &set);
    assert!(inv.iter().all(|r| !r.valid));
    let size_abc = inv
        .iter()
        .find(|r| r.query == [("size".to_string(), "abc".to_string())])
        .expect("size=abc");
    assert!(
        size_abc.label.starts_with("query size: type string"),
        "{}",
        size_abc.label
    );
    assert!(inv.iter().all(|r| r.raw_body.is_none() && r.body.is_none()));

    let create = get("createKey");
    let base = draw(&valid_request_strategy(create, &d), &mut runner(1, "c")).current();
    let inv = invalid_requests(create, &d, &base, &set);
    let schema = create.body.as_ref().unwrap();
    for r in &inv {
        if let Some(b) = &r.body {
            assert!(!set.errors(schema, b).unwrap().is_empty(), "{}", r.label);
        }
    }
    assert!(inv
        .iter()
        .any(|r| r.label == "body: required request body missing" && r.body.is_none()));
    assert!(inv.iter().any(|r| r.raw_body.as_deref() == Some("{")));
    assert!(inv.iter().any(|r| r.raw_body.as_deref() == Some("")));
    // Where the body is optional, an empty one is no body: not a violation.
    let mut optional = create.clone();
    optional.body_required = false;
    let inv = invalid_requests(&optional, &d, &base, &set);
    assert!(inv.iter().all(|r| r.raw_body.as_deref() != Some("")));
    assert!(inv
        .iter()
        .all(|r| r.violation != Some(ViolationSite::BodyMissing)));
    assert!(inv.iter().any(|r| r.raw_body.as_deref() == Some("null")));
    assert!(inv
        .iter()
        .any(|r| r.label.starts_with("body name: pattern")));

    let del = get("deleteKey");
    let base = GeneratedRequest {
        operation_id: "deleteKey".into(),
        path_params: [("key_id".to_string(), "k".to_string())].into(),
        query: vec![("is_directly".into(), "true".into())],
        body: None,
        raw_body: None,
        valid: true,
        label: "valid".into(),
        violation: None,
    };
    let inv = invalid_requests(del, &d, &base, &set);
    assert!(inv
        .iter()
        .any(|r| r.query == [("is_directly".to_string(), "abc".to_string())]));
    assert!(inv
        .iter()
        .all(|r| r.path_params == base.path_params && r.raw_body.is_none()));

    // A required, bounded, patterned query parameter.
    let op = OperationSchema {
        operation_id: "x".into(),
        method: "GET".into(),
        path: "/x".into(),
        params: vec![ParamSchema {
            name: "q".into(),
            location: "query".into(),
            required: true,
            schema: json!({"type": "integer", "minimum": 1, "maximum": 9}),
            raw: json!({}),
        }],
        body: None,
        body_required: false,
        responses: Default::default(),
        raw: json!({}),
    };
    let base = draw(&valid_request_strategy(&op, &d), &mut runner(0, "x")).current();
    assert_eq!(base.query.len(), 1);
    let inv = invalid_requests(&op, &d, &base, &set);
    let qs: Vec<_> = inv.iter().map(|r| r.query.clone()).collect();
    assert!(qs.contains(&vec![]));
    assert!(qs.contains(&vec![("q".to_string(), "0".to_string())]));
    assert!(qs.contains(&vec![("q".to_string(), "10".to_string())]));
    assert!(qs.contains(&vec![("q".to_string(), "abc".to_string())]));
}

#[test]
fn raw_bodies_are_not_json_objects() {
    for (label, raw) in raw_body_violations() {
        let parsed: Result<Value, _> = serde_json::from_str(&raw);
        assert!(!matches!(parsed, Ok(Value::Object(_))), "{label}");
    }
}

#[test]
fn optional_properties_left_out_still_have_their_constraints_tried() {
    let d = json!({"components": {"schemas": {}}});
    let s = json!({"type": "object", "required": ["name"], "properties": {
        "name": {"type": "string"},
        "kind": {"type": "string", "enum": ["a", "b"]},
        "blob": {"type": "string", "contentEncoding": "base64"}}});
    let set = SchemaSet::new(&d);
    let v = violations(&s, &d, &json!({"name": "x"}), &set);
    let added: Vec<&str> = v
        .iter()
        .filter(|x| x.label.ends_with("(optional property added)"))
        .map(|x| x.label.as_str())
        .collect();
    // The enum is tried with the property added; neither its type nor a semantic fault is.
    assert_eq!(
        added,
        ["kind: enum violated (\"not_in_enum\") (optional property added)"]
    );
    let kind = v.iter().find(|x| x.pointer == "/kind").unwrap();
    assert_eq!(kind.keyword(), "enum");
    assert_eq!(kind.value, json!({"name": "x", "kind": "not_in_enum"}));
}

#[test]
fn the_empty_string_breaks_a_pattern_that_refuses_it_and_an_empty_query_value_is_tried() {
    let d = json!({"components": {"schemas": {}}});
    let faults = leaf_faults(
        &json!({"anyOf": [{"type": "string", "pattern": "^(a|b):(x|y)$"}, {"type": "null"}]}),
        &d,
        &Value::Null,
    );
    assert!(
        faults
            .iter()
            .any(|f| f.value == json!("") && f.keyword() == "pattern"),
        "{faults:?}"
    );
    // A pattern the empty string matches gets no such fault.
    let faults = leaf_faults(
        &json!({"type": "string", "pattern": "^[a-z]*$"}),
        &d,
        &Value::Null,
    );
    assert!(!faults.iter().any(|f| f.value == json!("")), "{faults:?}");

    let doc = json!({"paths": {"/k": {"get": {"operationId": "list", "parameters": [
        {"name": "size", "in": "query", "schema": {"anyOf": [{"type": "integer"}, {"type": "null"}]}},
        {"name": "name", "in": "query", "schema": {"type": "string"}}],
        "responses": {"200": {"description": "OK"}}}}}});
    let op = &operations(&doc)[0];
    let base = GeneratedRequest {
        operation_id: "list".into(),
        path_params: Default::default(),
        query: Vec::new(),
        body: None,
        raw_body: None,
        valid: true,
        label: "valid".into(),
        violation: None,
    };
    let labels: Vec<String> = invalid_requests(op, &doc, &base, &SchemaSet::new(&doc))
        .into_iter()
        .filter(|r| r.query.iter().any(|(_, v)| v.is_empty()))
        .map(|r| r.label)
        .collect();
    // `size=` is no integer; `name=` is a string like any other.
    assert_eq!(labels, ["query size: empty value (size=)"]);
}
