//! Fuzzing the harness itself: a hostile target controls every byte of a response, so the
//! response path must hold for any status, header list, content type and body. The driver
//! feeds proptest-generated responses through [`check_response`] for every operation of a
//! version and every [`Claim`], and renders each failure as the reports would. Used by the
//! tests (a short smoke run) and by `kmsconform bench --fuzz N` (executions per second).
//!
//! One execution is one `check_response` call (one response, one operation, one claim) plus
//! the rendering of its failures. A panic is caught by proptest's runner, shrunk to a
//! minimal input and returned as [`FuzzFailure`].

use super::basis::Basis;
use super::response::{check_response, Claim, Scope};
use super::Verdicts;
use crate::spec::{Profile, VersionSpec};
use crate::target::http::Response;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use serde_json::{Map, Number, Value};
use std::time::{Duration, Instant};

/// Every claim a case can make about its request.
pub fn claims() -> Vec<Claim> {
    vec![
        Claim::Valid {
            expect_accept: true,
            basis: Basis::documented("fuzz: documented"),
        },
        Claim::Valid {
            expect_accept: false,
            basis: Basis::assumed("fuzz: assumed"),
        },
        Claim::Invalid {
            basis: Basis::documented("fuzz: documented"),
        },
        Claim::Invalid {
            basis: Basis::assumed("fuzz: assumed"),
        },
        Claim::BadAuth,
        Claim::UnknownVersion,
        Claim::Suite,
        Claim::Recorded,
    ]
}

/// Every property name the document declares (`properties` keys at any depth), so that
/// generated bodies often have the shapes the schemas look into.
pub fn vocabulary(doc: &Value) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::Object(p)) = o.get("properties") {
                    out.extend(p.keys().cloned());
                }
                o.values().for_each(|x| walk(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, &mut out);
    out.extend(
        [
            "", "code", "message", "error", "id", "a/b", "~0", "\u{0}", "ключ",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    out.sort();
    out.dedup();
    out
}

/// Strings a schema, a pattern or a report may choke on.
fn nasty_string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        2 => "[a-z0-9_:-]{0,40}",
        1 => Just(String::new()),
        1 => Just("vault:v1:".to_string()),
        1 => "vault:v[0-9]{1,3}:[A-Za-z0-9+/=]{0,64}",
        1 => "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})",
        1 => Just("\u{FFFF}\u{FFFE}\u{0}\u{1b}[31m</td><script>&amp;".to_string()),
        1 => Just("x".repeat(5000)),
    ]
}

fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        any::<f64>().prop_filter_map("finite", Number::from_f64),
        Just(Number::from(0)),
        (-3i64..1000).prop_map(Number::from),
    ]
}

/// Arbitrary JSON values whose object keys come from `vocab` (mostly) or anywhere.
pub fn json_value(vocab: Vec<String>) -> BoxedStrategy<Value> {
    let key = prop_oneof![
        4 => proptest::sample::select(vocab),
        1 => any::<String>(),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number().prop_map(Value::Number),
        nasty_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<String, Value>>())),
        ]
    })
    .boxed()
}

/// Body bytes: arbitrary bytes, JSON values (compact or pretty), JSON text made awkward
/// (deep nesting, huge or odd numbers, duplicate keys, a BOM, trailing garbage).
pub fn body(vocab: Vec<String>) -> impl Strategy<Value = Vec<u8>> {
    let json = json_value(vocab);
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..512),
        5 => json.clone().prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
        1 => json.clone().prop_map(|v| serde_json::to_vec_pretty(&v).unwrap_or_default()),
        1 => (1usize..126).prop_map(|d| format!("{}{}", "[".repeat(d), "]".repeat(d)).into_bytes()),
        1 => (1usize..126).prop_map(|d| {
            format!("{}1{}", "{\"key\":".repeat(d), "}".repeat(d)).into_bytes()
        }),
        1 => prop_oneof![
            Just("1e400"), Just("-0"), Just("{\"count\":1e309}"), Just("{\"count\":-1}"),
            Just("{\"key\":{},\"key\":[]}"), Just("\u{feff}{}"), Just("{} trailing"),
            Just("null"), Just("\"\""), Just("{\"keys\":null,\"count\":18446744073709551616}"),
        ]
        .prop_map(|s| s.as_bytes().to_vec()),
        1 => (json, prop::collection::vec(any::<u8>(), 1..16)).prop_map(|(v, junk)| {
            let mut b = serde_json::to_vec(&v).unwrap_or_default();
            b.extend(junk);
            b
        }),
    ]
}

fn content_type() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just("application/json".to_string()),
        1 => Just("application/json; charset=utf-8".to_string()),
        1 => Just("APPLICATION/JSON;charset=\"UTF-8\"".to_string()),
        1 => Just("application/problem+json".to_string()),
        1 => Just("text/plain".to_string()),
        1 => Just(String::new()),
        2 => any::<String>(),
    ]
}

/// A response exactly as the client would build it from what a target sent: status,
/// headers in order (the content type read from them), body bytes (text lossy, JSON when
/// the bytes parse and were not cut at the size cap).
pub fn response(vocab: Vec<String>) -> impl Strategy<Value = Response> {
    let status = prop_oneof![
        6 => prop_oneof![Just(200u16), Just(201), Just(204), Just(400), Just(401),
                         Just(403), Just(404), Just(406), Just(500)],
        3 => 100u16..600,
        1 => any::<u16>(),
    ];
    let header = prop_oneof![
        3 => ("[a-z][a-z0-9-]{0,20}", any::<String>()),
        1 => (Just("content-type".to_string()), content_type()),
    ];
    (
        status,
        prop::option::weighted(0.9, content_type()),
        prop::collection::vec(header, 0..6),
        body(vocab),
        prop::bool::weighted(0.05),
        any::<u64>(),
    )
        .prop_map(|(status, ct, mut headers, bytes, truncated, elapsed_ms)| {
            if let Some(ct) = ct {
                headers.insert(0, ("content-type".into(), ct));
            }
            let content_type = headers
                .iter()
                .find(|(k, _)| k == "content-type")
                .map(|(_, v)| v.clone());
            Response {
                status,
                content_type,
                text: String::from_utf8_lossy(&bytes).into_owned(),
                json: if truncated {
                    None
                } else {
                    serde_json::from_slice(&bytes).ok()
                },
                truncated,
                elapsed_ms,
                headers,
                sent_secrets: vec![],
                sent_headers: vec![],
            }
        })
}

/// One execution: `resp` checked as the answer to `spec.operations[op]` under
/// `claims()[claim]`, with `also_allowed` statuses; every failure rendered as text. Returns
/// the number of failures.
pub fn execute(
    spec: &VersionSpec,
    profile: &Profile,
    op: usize,
    claim: &Claim,
    also_allowed: &[u16],
    resp: &Response,
) -> usize {
    let sc = Scope {
        spec,
        op: &spec.operations[op],
        profile,
        also_allowed,
        max_response_ms: Some(50),
    };
    let mut v = Verdicts::new();
    check_response(&sc, claim, resp, &mut v);
    let failures = v.failures();
    for f in failures {
        let _ = crate::report::text::expected(&f.expected);
        let _ = crate::report::text::actual(&f.actual);
        let _ = serde_json::to_string(f);
    }
    failures.len()
}

/// What a fuzzing run did.
#[derive(Debug, Clone)]
pub struct FuzzStats {
    pub executions: u64,
    pub failures_rendered: u64,
    pub elapsed: Duration,
    /// (operation index, claim index) pairs exercised.
    pub pairs: std::collections::BTreeSet<(usize, usize)>,
}

impl FuzzStats {
    pub fn per_second(&self) -> f64 {
        self.executions as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// A panic, shrunk to a minimal input.
#[derive(Debug)]
pub struct FuzzFailure {
    pub message: String,
    pub operation: String,
    pub claim: String,
    pub response: String,
}

impl std::fmt::Display for FuzzFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "check_response panicked ({}) on {} with claim {}: {}",
            self.message, self.operation, self.claim, self.response
        )
    }
}

/// Runs `executions` generated responses through [`execute`] against every operation of
/// `spec` and every claim (both chosen by the generator), deterministically from `seed`.
pub fn fuzz_responses(
    spec: &VersionSpec,
    profile: &Profile,
    executions: u32,
    seed: u64,
) -> Result<FuzzStats, FuzzFailure> {
    let claims = claims();
    let strategy = (
        0..spec.operations.len(),
        0..claims.len(),
        prop::collection::vec(prop_oneof![100u16..600, any::<u16>()], 0..3),
        response(vocabulary(&spec.doc)),
    );
    let config = Config {
        cases: executions,
        failure_persistence: None,
        max_shrink_iters: 4096,
        ..Config::default()
    };
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let pairs = std::cell::RefCell::new(std::collections::BTreeSet::new());
    let rendered = std::cell::Cell::new(0u64);
    let started = Instant::now();
    let result = runner.run(&strategy, |(op, claim, also, resp)| {
        pairs.borrow_mut().insert((op, claim));
        let n = execute(spec, profile, op, &claims[claim], &also, &resp);
        rendered.set(rendered.get() + n as u64);
        Ok::<(), TestCaseError>(())
    });
    let elapsed = started.elapsed();
    match result {
        Ok(()) => Ok(FuzzStats {
            executions: executions as u64,
            failures_rendered: rendered.get(),
            elapsed,
            pairs: pairs.into_inner(),
        }),
        Err(TestError::Fail(why, (op, claim, also, resp))) => Err(FuzzFailure {
            message: why.to_string(),
            operation: spec.operations[op].operation_id.clone(),
            claim: format!("{:?} (also allowed {also:?})", claims[claim]),
            response: serde_json::to_string(&resp).unwrap_or_default(),
        }),
        Err(TestError::Abort(why)) => Err(FuzzFailure {
            message: why.to_string(),
            operation: String::new(),
            claim: String::new(),
            response: String::new(),
        }),
    }
}
