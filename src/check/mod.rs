//! The check catalogue. A check looks at one exchange (request + response, with what the
//! case claims about it) and returns failures; a failure is data, reported as a finding.

pub mod response;

use serde::Serialize;

/// (id, one-line doc). Suites refer to checks by id.
pub const CATALOGUE: &[(&str, &str)] = &[
    ("not_a_server_error", "no response has a 5xx status"),
    ("status_code_conformance", "the status is one the spec documents for the operation (plus 401/406 for auth and version cases)"),
    ("content_type_conformance", "a documented JSON response is sent as application/json; 204 has no body"),
    ("response_schema_conformance", "the body validates against the documented schema of its status (JSON Schema 2020-12, formats on)"),
    ("version_shape", "responses carry only the fields the version documents; operations a version lacks are absent; unknown versions are refused"),
    ("negative_data_rejection", "a request that violates the spec is rejected with 4xx"),
    ("positive_data_acceptance", "a request that satisfies the spec is accepted with 2xx"),
    ("ignored_auth", "a missing, wrong or stale signature is rejected with 401"),
    ("use_after_delete", "a deleted resource is gone: show answers 404, use is refused"),
    ("resource_availability", "a created resource can be read back at once"),
    ("roundtrip", "decrypt(encrypt(x)) = x for every purpose that encrypts"),
    ("ciphertext_format", "ciphertexts, signatures and HMACs read vault:vN: with N = key_version"),
    ("rewrap_latest", "after rotate, rewrap moves a ciphertext to the latest key version and it still decrypts"),
    ("verify_rejects_tampered", "verify accepts a genuine signature and rejects a tampered input"),
    ("hmac_rejects_tampered", "hmac verify accepts a genuine HMAC and rejects a tampered input"),
    ("datakey_consistency", "a plaintext data key decrypts from its ciphertext; a wrapped one carries no plaintext"),
    ("pagination_invariants", "count is the total, pages honour size, no duplicates or gaps, order follows sort, the name filter filters"),
    ("persistence", "what a mutation answers is what a later read returns"),
    ("snapshot_conformance", "suite transcripts (normalised) equal the recorded snapshots"),
    ("version_diff", "differences between consecutive versions are exactly the declared ones"),
    ("target_diff", "the candidate target answers like the baseline, beyond the baseline's own noise"),
];

pub fn is_known(id: &str) -> bool {
    CATALOGUE.iter().any(|c| c.0 == id)
}

/// One check's verdict on one exchange.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Failure {
    pub check: String,
    pub expected: String,
    pub actual: String,
}

impl Failure {
    pub fn new(check: &str, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Self {
            check: check.into(),
            expected: expected.into(),
            actual: actual.into(),
        }
    }
}

/// Which checks a run applies (from --checks / --exclude-checks).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub only: Option<Vec<String>>,
    pub exclude: Vec<String>,
}

impl Selection {
    pub fn enabled(&self, id: &str) -> bool {
        self.only
            .as_ref()
            .map(|o| o.iter().any(|x| x == id))
            .unwrap_or(true)
            && !self.exclude.iter().any(|x| x == id)
    }
    pub fn validate(&self) -> Result<(), String> {
        for id in self.only.iter().flatten().chain(self.exclude.iter()) {
            if !is_known(id) {
                return Err(format!("unknown check '{id}' (see `kmsconform checks`)"));
            }
        }
        Ok(())
    }
}
