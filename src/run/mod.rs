//! A conformance run: for each version, a credentials probe, the spec-generated cases (valid
//! with shrinking, invalid, boundary, unknown ids, bad auth), operations the version lacks,
//! then the stateful suites, and at the end the cleanup of everything the run created.
//! Everything observed goes through the [`record::Recorder`], which emits it as
//! [`event::Event`]s to the run's observers; [`session`] wires it together.

pub mod event;
pub mod generation;
pub mod ledger;
pub mod list;
pub mod plaintext;
pub mod record;
pub mod secrets;
pub mod select;
pub mod session;
pub mod suite;
pub mod template;
pub mod traffic;

use crate::spec::profile::NamePattern;
use crate::spec::{Profile, VersionSpec};
use crate::target::http::Client;
use ledger::Ledger;
use record::Recorder;
use std::collections::BTreeMap;

/// Everything a case needs to talk about one API version.
pub struct VersionCtx<'a> {
    pub version: String,
    pub spec: &'a VersionSpec,
    pub profile: &'a Profile,
    /// (header, value) selecting this version, from the profile.
    pub version_header: Option<(String, String)>,
    pub client: &'a Client,
    pub recorder: &'a Recorder,
    pub ledger: &'a Ledger,
    pub seed: u64,
    pub run_id: String,
    pub cases: usize,
    pub concurrency: usize,
    /// Replay: only this case (and what it depends on) is sent.
    pub case_filter: Option<String>,
    /// Per-operation expected-status overrides (generation.json `expected_statuses`).
    pub expected_statuses: &'a BTreeMap<String, Vec<u16>>,
    pub partition: Option<(u32, u32)>,
    /// Fixtures (`--param`, or what the embedded target seeds), bound first in every suite
    /// and in generation.json.
    pub params: &'a template::Bindings,
    /// `--include-operation` / `--exclude-operation`.
    pub operations: &'a select::OperationFilter,
    /// `--max-response-time` in milliseconds.
    pub max_response_ms: Option<u64>,
}

impl VersionCtx<'_> {
    /// Sends one request of a case: `CaseStarted` goes out before the case's first request.
    pub async fn send(
        &self,
        operation: &str,
        case: &str,
        req: &crate::target::http::Request,
    ) -> Result<crate::target::http::Response, crate::target::http::Transport> {
        self.recorder
            .events()
            .case_started(&self.version, operation, case);
        self.client.send(req).await
    }

    /// Whether a unit of work (a version's operation or suite) belongs to this shard.
    pub fn in_partition(&self, unit: &str) -> bool {
        in_partition(self.partition, &format!("{}/{unit}", self.version))
    }

    /// A name generator scoped to this version and `scope`.
    pub fn names(&self, scope: &str) -> Names {
        Names::new(
            self.seed,
            &self.run_id,
            &format!("{}/{scope}", self.version),
            &self.profile.names,
        )
    }

    pub fn also_allowed(&self, op: &str) -> &[u16] {
        self.expected_statuses
            .get(op)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Whether a case (or a suite step) is wanted under the replay filter.
    pub fn wants(&self, case: &str) -> bool {
        !self.recorder.exhausted() && self.case_filter.as_deref().is_none_or(|f| f == case)
    }

    /// Whether the replay filter names something under `prefix` (a suite, an operation).
    pub fn wants_prefix(&self, prefix: &str) -> bool {
        self.case_filter
            .as_deref()
            .is_none_or(|f| f == prefix || f.starts_with(&format!("{prefix}/")))
    }

    /// The generic-check scope of an operation of this version.
    pub fn scope<'s>(
        &'s self,
        op: &'s crate::spec::Operation,
    ) -> crate::check::response::Scope<'s> {
        crate::check::response::Scope {
            spec: self.spec,
            op,
            profile: self.profile,
            also_allowed: self.also_allowed(&op.operation_id),
            max_response_ms: self.max_response_ms,
        }
    }
}

/// Deterministic sharding: a unit goes to shard `hash(unit) mod n`.
pub fn in_partition(partition: Option<(u32, u32)>, unit: &str) -> bool {
    use sha2::{Digest, Sha256};
    match partition {
        None => true,
        Some((k, n)) => {
            let h = Sha256::digest(unit.as_bytes());
            let x = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
            x % n == k - 1
        }
    }
}

/// Generated resource names: the profile's pattern, derived from the seed, the run id and a
/// scope. Same seed and run id, same names; a new run id gives new names, so two runs
/// against one long-lived target never collide.
pub struct Names {
    seed: u64,
    run_id: String,
    n: u64,
    scope: String,
    prefix: String,
    alphabet: Vec<char>,
    length: usize,
}

impl Names {
    pub fn new(seed: u64, run_id: &str, scope: &str, pattern: &NamePattern) -> Self {
        Self {
            seed,
            run_id: run_id.into(),
            n: 0,
            scope: scope.into(),
            prefix: pattern.prefix.clone(),
            alphabet: pattern.alphabet.chars().collect(),
            length: pattern.length,
        }
    }

    /// A fresh name without the prefix (short values that must not look generated).
    pub fn fresh_bare(&mut self) -> String {
        let n = self.fresh();
        n.chars().skip(self.prefix.chars().count()).collect()
    }

    pub fn fresh(&mut self) -> String {
        use sha2::{Digest, Sha256};
        self.n += 1;
        let h = Sha256::digest(format!(
            "{}|{}|{}|{}",
            self.seed, self.run_id, self.scope, self.n
        ));
        let mut s = self.prefix.clone();
        let k = self.alphabet.len().max(1);
        let mut i = 0;
        while s.chars().count() < self.length {
            let b = h[i % h.len()] as usize + i / h.len();
            s.push(self.alphabet.get(b % k).copied().unwrap_or('x'));
            i += 1;
        }
        s
    }
}

/// A fresh run id: 8 lower-case base-36 characters from the clock and the process.
pub fn new_run_id() -> String {
    use sha2::{Digest, Sha256};
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let h = Sha256::digest(format!(
        "{t}|{}|{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    h[..8]
        .iter()
        .map(|b| char::from_digit((*b % 36) as u32, 36).expect("digit < 36"))
        .collect()
}

/// `{key_id}` → the profile's placeholder for an id that names nothing.
pub fn fill_path_placeholders(path: &str, unknown_id: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        match rest[i..].find('}') {
            Some(j) => {
                out.push_str(unknown_id);
                rest = &rest[i + j + 1..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern() -> NamePattern {
        NamePattern {
            prefix: "kc".into(),
            length: 10,
            alphabet: "0123456789abcdefghijklmnopqrstuvwxyz".into(),
            basis: None,
        }
    }

    #[test]
    fn names_follow_the_pattern_and_the_run_id() {
        let mut a = Names::new(1, "run1", "s", &pattern());
        let mut b = Names::new(1, "run1", "s", &pattern());
        let mut c = Names::new(1, "run2", "s", &pattern());
        let (x, y, z) = (a.fresh(), b.fresh(), c.fresh());
        assert_eq!(x, y, "same seed and run id, same names");
        assert_ne!(x, z, "another run, other names");
        assert!(pattern().regex().is_match(&x) && x.len() == 10, "{x}");
        assert_ne!(a.fresh(), x);
        assert_eq!(new_run_id().len(), 8);
        assert_ne!(new_run_id(), new_run_id());
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(fill_path_placeholders("/k/{id}/x", "000"), "/k/000/x");
    }
}
