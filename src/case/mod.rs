//! Test-case generation from an OpenAPI 3.1 document: valid values (proptest strategies
//! over JSON Schema 2020-12), single-fault invalid values, and whole requests. Pure: no
//! I/O. Every random choice flows from a [`runner`] seeded by (seed, stream), so a run is
//! reproducible from its seed alone.

pub mod mutate;
pub mod request;
pub mod schema_gen;

#[cfg(test)]
mod tests;

pub use mutate::{
    candidate_violations, leaf_faults, raw_body_violations, violations, LeafFault, Violation,
};
pub use request::{
    coerce, invalid_requests, operations, render, valid_request_strategy, GeneratedRequest,
    OperationSchema, ParamSchema, ViolationSite,
};
pub use schema_gen::{
    allowed_types, boundary_instances, boundary_values, json_type, resolve, valid_strategy,
};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use sha2::{Digest, Sha256};

/// A runner whose RNG is ChaCha seeded with SHA-256(seed as 8 LE bytes || stream), so each
/// stream (e.g. "1.3/createKey") gets an independent, reproducible sequence that does not
/// shift when other streams draw more or fewer values.
pub fn runner(seed: u64, stream: &str) -> TestRunner {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(stream.as_bytes());
    let bytes: [u8; 32] = h.finalize().into();
    let config = Config {
        // The harness is not a test binary: never write proptest-regressions files.
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

/// Draw one value tree (`.current()` is the value; `.simplify()`/`.complicate()` shrink).
/// Panics when the strategy rejects too often; see [`try_draw`].
pub fn draw<S: Strategy>(s: &S, runner: &mut TestRunner) -> S::Tree {
    try_draw(s, runner).unwrap_or_else(|e| panic!("strategy gave up: {e}"))
}

/// [`draw`] that reports a strategy's rejection (e.g. an unsatisfiable filter) as an error.
pub fn try_draw<S: Strategy>(s: &S, runner: &mut TestRunner) -> Result<S::Tree, String> {
    s.new_tree(runner).map_err(|r| r.to_string())
}
