//! Fuzzing the harness itself (a short smoke run; `kmsconform bench --fuzz N` runs longer):
//! arbitrary responses through the response checks of every operation of 1.3 and every
//! claim, and arbitrary JSON into every loader (specs, suites, generation.json, profiles).
//! Zero panics: a loader says what is wrong (an error), it never falls over.

use kmsconform::check::fuzz;
use kmsconform::spec::SpecSet;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn specs() -> SpecSet {
    SpecSet::load(&root().join("specs/scp-kms")).unwrap()
}

fn runner(cases: u32, seed: u8) -> TestRunner {
    TestRunner::new_with_rng(
        Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]),
    )
}

/// 3,000 responses, each against an operation and a claim: no panic, and every pair of the
/// 21 operations of 1.3 and the 7 claims was exercised.
#[test]
fn arbitrary_responses_never_panic_the_checks() {
    let set = specs();
    let spec = set.get("1.3").unwrap();
    let stats = fuzz::fuzz_responses(spec, &set.profile, 3000, 7).unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(stats.executions, 3000);
    let pairs = spec.operations.len() * fuzz::claims().len();
    assert_eq!(spec.operations.len(), 21);
    assert_eq!(stats.pairs.len(), pairs, "pairs exercised");
    assert!(stats.failures_rendered > 0);
}

/// The driver does catch a panic and shrinks it: a check that panics on any 5xx is found
/// with a minimal response.
#[test]
fn the_driver_finds_and_shrinks_a_panic() {
    let set = specs();
    let spec = set.get("1.3").unwrap();
    let vocab = fuzz::vocabulary(&spec.doc);
    let mut r = runner(500, 3);
    let result = r.run(&fuzz::response(vocab), |resp| {
        assert!(resp.status < 500 || resp.status >= 600, "a planted bug");
        Ok(())
    });
    match result {
        Err(proptest::test_runner::TestError::Fail(_, resp)) => {
            assert_eq!(resp.status, 500, "shrunk to the smallest 5xx");
        }
        other => panic!("the planted panic was not found: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Loaders
// ---------------------------------------------------------------------------------------

fn read(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// Every JSON pointer of `v` (the root included).
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    let esc = |k: &str| k.replace('~', "~0").replace('/', "~1");
    match v {
        Value::Object(o) => o
            .iter()
            .for_each(|(k, x)| pointers(x, format!("{at}/{}", esc(k)), out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| pointers(x, format!("{at}/{i}"), out)),
        _ => {}
    }
}

/// `base` with one node replaced by an arbitrary value, removed, or wrapped in an array.
fn mutated(base: Value, vocab: Vec<String>) -> impl Strategy<Value = Value> {
    let mut ptrs = Vec::new();
    pointers(&base, String::new(), &mut ptrs);
    (
        proptest::sample::select(ptrs),
        0..3u8,
        fuzz::json_value(vocab),
    )
        .prop_map(move |(ptr, action, with)| {
            let mut doc = base.clone();
            if ptr.is_empty() {
                return with;
            }
            let (parent, last) = ptr.rsplit_once('/').unwrap();
            let key = last.replace("~1", "/").replace("~0", "~");
            let Some(p) = doc.pointer_mut(parent) else {
                return doc;
            };
            match (action, p) {
                (1, Value::Object(o)) => {
                    o.remove(&key);
                }
                (1, Value::Array(a)) => {
                    if let Ok(i) = key.parse::<usize>() {
                        a.remove(i);
                    }
                }
                (2, p) => {
                    if let Some(x) = p.pointer_mut(&format!("/{last}")) {
                        *x = Value::Array(vec![x.take()]);
                    }
                }
                (_, p) => {
                    if let Some(x) = p.pointer_mut(&format!("/{last}")) {
                        *x = with;
                    }
                }
            }
            doc
        })
}

/// Keys of OpenAPI documents, profiles, registries, suites and generation.json.
fn keys() -> Vec<String> {
    let mut v: Vec<String> = [
        "openapi",
        "info",
        "paths",
        "components",
        "schemas",
        "responses",
        "operationId",
        "$ref",
        "#/components/schemas/Key",
        "properties",
        "type",
        "items",
        "anyOf",
        "allOf",
        "required",
        "content",
        "application/json",
        "schema",
        "parameters",
        "in",
        "name",
        "requestBody",
        "servers",
        "url",
        "get",
        "post",
        "put",
        "delete",
        "200",
        "201",
        "404",
        "x-kmsconform-basis",
        "x-kmsconform-doc",
        "x-kmsconform-inferred",
        "pattern",
        "minimum",
        "maximum",
        "enum",
        "format",
        "api",
        "auth",
        "scheme",
        "params",
        "env",
        "version",
        "via",
        "errors",
        "paging",
        "names",
        "unknown_id",
        "cleanup",
        "registry",
        "secrets",
        "fields",
        "versions",
        "spec",
        "status",
        "not_before",
        "steps",
        "call",
        "check",
        "basis",
        "expect",
        "bind",
        "paginate",
        "size",
        "total",
        "repeat",
        "for_each",
        "raw",
        "method",
        "path",
        "query",
        "body",
        "setup",
        "operations",
        "expected_statuses",
        "fresh",
        "positive",
        "let",
        "vars",
        "description",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(fuzz::vocabulary(&read(
        &root().join("specs/scp-kms/1.3.json"),
    )));
    v.sort();
    v.dedup();
    v
}

/// A spec directory with `profile`, `registry` and `doc` as its only version (1.3).
fn write_spec_dir(dir: &Path, profile: &Value, registry: &Value, doc: &Value) {
    std::fs::write(
        dir.join("profile.json"),
        serde_json::to_vec(profile).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("versions.json"),
        serde_json::to_vec(registry).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("1.3.json"), serde_json::to_vec(doc).unwrap()).unwrap();
}

fn one_version_registry() -> Value {
    let mut reg = read(&root().join("specs/scp-kms/versions.json"));
    let v13: Vec<Value> = reg["versions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["version"] == "1.3")
        .cloned()
        .collect();
    reg["versions"] = Value::Array(v13);
    reg
}

/// Garbage and mutated version documents, registries and profiles: SpecSet::load returns
/// a result (an error naming the file, or a spec set), never panics.
#[test]
fn spec_loading_survives_garbage_and_mutated_documents() {
    let dir = tempfile::tempdir().unwrap();
    let profile = read(&root().join("specs/scp-kms/profile.json"));
    let registry = one_version_registry();
    let doc = read(&root().join("specs/scp-kms/1.3.json"));
    // The unmutated directory loads: the fuzzing starts from a valid input.
    write_spec_dir(dir.path(), &profile, &registry, &doc);
    assert!(SpecSet::load(dir.path()).is_ok());
    let errors = std::cell::Cell::new(0);
    let check = |p: &Value, r: &Value, d: &Value| {
        write_spec_dir(dir.path(), p, r, d);
        if let Err(e) = SpecSet::load(dir.path()) {
            assert!(e.to_string().contains(dir.path().to_str().unwrap()), "{e}");
            errors.set(errors.get() + 1);
        }
        let _ = SpecSet::load_lenient(dir.path());
    };
    let k = keys();
    runner(300, 11)
        .run(&fuzz::json_value(k.clone()), |garbage| {
            check(&profile, &registry, &garbage);
            Ok(())
        })
        .unwrap();
    runner(16, 12)
        .run(&mutated(doc.clone(), k.clone()), |d| {
            check(&profile, &registry, &d);
            Ok(())
        })
        .unwrap();
    runner(80, 13)
        .run(&mutated(profile.clone(), k.clone()), |p| {
            check(&p, &registry, &doc);
            Ok(())
        })
        .unwrap();
    runner(50, 14)
        .run(&mutated(registry.clone(), k.clone()), |r| {
            check(&profile, &r, &doc);
            Ok(())
        })
        .unwrap();
    let errors = errors.get();
    assert!(errors > 250, "{errors} errors: the garbage was not garbage");
}

/// Profiles from arbitrary and mutated JSON text: a result, never a panic.
#[test]
fn profile_parsing_survives_garbage() {
    let profile = read(&root().join("specs/scp-kms/profile.json"));
    let k = keys();
    let strategy = prop_oneof![fuzz::json_value(k.clone()), mutated(profile, k),];
    runner(2000, 21)
        .run(&strategy, |v| {
            if let Ok(p) = kmsconform::spec::profile::Profile::from_json(&v.to_string()) {
                let _ = p.version_header("1.3");
                let _ = p.env_names("secret_key");
                let _ = p.upserts("createKey");
            }
            Ok(())
        })
        .unwrap();
    runner(500, 22)
        .run(&any::<String>(), |t| {
            let _ = kmsconform::spec::profile::Profile::from_json(&t);
            Ok(())
        })
        .unwrap();
}

/// Suites and generation.json from arbitrary and mutated JSON: loaded, validated against
/// the specs (the run's preflight, `Inputs::load`), never a panic.
#[test]
fn suite_and_generation_loading_survive_garbage() {
    use kmsconform::run::generation::Generation;
    use kmsconform::run::session::{Inputs, RunPlan};
    let set = specs();
    let plan = RunPlan::new(&set, vec!["1.0".into(), "1.3".into()]);
    let dir = tempfile::tempdir().unwrap();
    let generation = read(&root().join("suites/scp-kms/generation.json"));
    let k = keys();
    let suites: Vec<Value> = ["lifecycle", "pagination", "crypto_roundtrip_aes256"]
        .iter()
        .map(|n| read(&root().join(format!("suites/scp-kms/{n}.json"))))
        .collect();
    let suite_inputs = prop_oneof![
        fuzz::json_value(k.clone()),
        mutated(suites[0].clone(), k.clone()),
        mutated(suites[1].clone(), k.clone()),
        mutated(suites[2].clone(), k.clone()),
    ];
    let gen_path = dir.path().join("generation.json");
    std::fs::write(&gen_path, serde_json::to_vec(&generation).unwrap()).unwrap();
    let errors = std::cell::Cell::new(0);
    runner(400, 31)
        .run(&suite_inputs, |s| {
            std::fs::write(
                dir.path().join("fuzzed.json"),
                serde_json::to_vec(&s).unwrap(),
            )
            .unwrap();
            if kmsconform::run::suite::load_dir(dir.path()).is_err() {
                errors.set(errors.get() + 1);
            }
            let _ = Inputs::load(&set, dir.path(), &plan);
            Ok(())
        })
        .unwrap();
    std::fs::write(
        dir.path().join("fuzzed.json"),
        serde_json::to_vec(&suites[0]).unwrap(),
    )
    .unwrap();
    assert!(Inputs::load(&set, dir.path(), &plan).is_ok());
    let gen_inputs = prop_oneof![fuzz::json_value(k.clone()), mutated(generation, k)];
    runner(400, 32)
        .run(&gen_inputs, |g| {
            std::fs::write(&gen_path, serde_json::to_vec(&g).unwrap()).unwrap();
            if let Ok(g) = Generation::load(&gen_path) {
                let _ = g.validate(&set.all_operations());
            } else {
                errors.set(errors.get() + 1);
            }
            let _ = Inputs::load(&set, dir.path(), &plan);
            Ok(())
        })
        .unwrap();
    let errors = errors.get();
    assert!(errors > 400, "{errors} errors: the garbage was not garbage");
}
