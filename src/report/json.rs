//! `report.json`: run metadata, per check/operation/version counts, findings (failures and
//! advisories), transport problems, coverage and leftovers. Every other format reads this.

use crate::run::ledger::Leftover;
use crate::run::record::{Finding, Tally, TransportProblem};
use crate::run::session::RunOutcome;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunMeta {
    pub tool: String,
    pub tool_version: String,
    pub api: String,
    pub target: String,
    pub seed: u64,
    /// Mixed into generated resource names; replay reuses it.
    #[serde(default)]
    pub run_id: String,
    pub cases_per_operation: usize,
    pub versions: Vec<String>,
    pub suites: Vec<String>,
    pub requests: u64,
    /// Wall time; the only field that differs between two runs with the same seed and run id.
    pub duration_ms: u64,
    /// The run stopped early: `--max-failures` was exceeded.
    #[serde(default)]
    pub stopped_early: bool,
    #[serde(default)]
    pub interrupted: bool,
    /// Advisories fail the gate too (`--strict`).
    #[serde(default)]
    pub strict: bool,
    /// The proxy requests went through, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// Why snapshots were not checked, when they were not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshots_skipped: Option<String>,
    /// `--include-operation` / `--exclude-operation` globs, when the run had any.
    #[serde(default, skip_serializing_if = "OperationGlobs::is_empty")]
    pub operations: OperationGlobs,
    /// `--max-response-time` in milliseconds, when the run had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_response_ms: Option<u64>,
    /// Requests sent again after a transport error (`--retries`); 0 is not written.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retried: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The operation filter of a run, as given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationGlobs {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

impl OperationGlobs {
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Count {
    pub check: String,
    pub operation: String,
    pub version: String,
    pub passed: u64,
    pub failed: u64,
    #[serde(default)]
    pub advisory: u64,
}

/// What was sent and skipped for one operation, version and case kind.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CoverageEntry {
    pub operation: String,
    pub version: String,
    pub kind: String,
    pub sent: u64,
    /// Reason → cases not sent for it.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub skipped: std::collections::BTreeMap<String, u64>,
}

/// One distinct finding: its first occurrence, the versions it appears on and its cases.
#[derive(Debug, Clone)]
pub struct Distinct<'a> {
    pub first: &'a Finding,
    pub versions: Vec<String>,
    pub cases: usize,
}

/// The numbers every format states, computed here once: findings (every failed case) and
/// distinct findings ([`Report::distinct`]), failures and advisories apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub failures: usize,
    pub advisories: usize,
    pub distinct_failures: usize,
    pub distinct_advisories: usize,
    /// Findings that fail the gate: failures (and advisories under --strict) outside the
    /// baseline.
    pub gating: usize,
    /// Findings the baseline lists.
    pub known: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub meta: RunMeta,
    pub counts: Vec<Count>,
    pub findings: Vec<Finding>,
    #[serde(default)]
    pub transport_problems: Vec<TransportProblem>,
    #[serde(default)]
    pub coverage: Vec<CoverageEntry>,
    /// Resources the run created and could not delete.
    #[serde(default)]
    pub leftovers: Vec<Leftover>,
    /// Ids of this report's findings that the baseline (`--baseline`) lists as known: they
    /// are shown but do not fail the gate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub known_failures: Vec<String>,
}

impl Report {
    pub fn from_outcome(o: &RunOutcome, api: &str, cases: usize) -> Self {
        let counts = o
            .collected
            .tallies
            .clone()
            .into_iter()
            .map(
                |(
                    (check, operation, version),
                    Tally {
                        passed,
                        failed,
                        advisory,
                    },
                )| Count {
                    check: check.id().to_string(),
                    operation,
                    version,
                    passed,
                    failed,
                    advisory,
                },
            )
            .collect();
        let coverage = o
            .collected
            .coverage
            .clone()
            .into_iter()
            .map(|((operation, version, kind), c)| CoverageEntry {
                operation,
                version,
                kind,
                sent: c.sent,
                skipped: c.skipped,
            })
            .collect();
        Report {
            meta: RunMeta {
                tool: "kmsconform".into(),
                tool_version: env!("CARGO_PKG_VERSION").into(),
                api: api.into(),
                target: o.target.clone(),
                seed: o.seed,
                run_id: o.run_id.clone(),
                cases_per_operation: cases,
                versions: o.versions.clone(),
                suites: o.suites_run.clone(),
                requests: o.collected.requests,
                duration_ms: o.elapsed.as_millis() as u64,
                stopped_early: o.stopped_early,
                interrupted: o.interrupted,
                strict: o.strict,
                proxy: o.proxy.clone(),
                snapshots_skipped: None,
                operations: OperationGlobs {
                    include: o.operations.include.clone(),
                    exclude: o.operations.exclude.clone(),
                },
                max_response_ms: o.max_response_ms,
                retried: o.retried,
            },
            counts,
            findings: o.collected.findings.clone(),
            transport_problems: o.collected.transport_problems.clone(),
            coverage,
            leftovers: o.leftovers.clone(),
            known_failures: Vec::new(),
        }
    }

    /// Add a finding from a later stage (snapshots, diffs) and count it.
    pub fn push(&mut self, f: Finding) {
        self.count(
            f.check.id(),
            &f.operation.clone(),
            &f.version.clone(),
            Some(f.advisory),
        );
        self.findings.push(f);
    }

    /// Count one verdict: `failed` None = passed, Some(advisory).
    pub fn count(&mut self, check: &str, operation: &str, version: &str, failed: Option<bool>) {
        let pos = self
            .counts
            .iter()
            .position(|c| c.check == check && c.operation == operation && c.version == version);
        let c = match pos {
            Some(i) => &mut self.counts[i],
            None => {
                self.counts.push(Count {
                    check: check.into(),
                    operation: operation.into(),
                    version: version.into(),
                    passed: 0,
                    failed: 0,
                    advisory: 0,
                });
                self.counts.last_mut().expect("just pushed")
            }
        };
        match failed {
            None => c.passed += 1,
            Some(true) => c.advisory += 1,
            Some(false) => c.failed += 1,
        }
    }

    pub fn from_json(text: &str) -> anyhow::Result<Self> {
        Ok(serde_json::from_str(text)?)
    }

    pub fn is_known(&self, f: &Finding) -> bool {
        self.known_failures.contains(&f.id)
    }

    /// Findings that fail the gate: failures (advisories too under --strict) the baseline
    /// does not list.
    pub fn gating(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| !self.is_known(f) && f.gates(self.meta.strict))
    }

    /// Failures (documented or observed basis), known or not.
    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.advisory)
    }

    pub fn advisories(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.advisory)
    }

    /// The one notion of "distinct finding", used by every format: findings with the same
    /// check, operation and case label are one problem, whatever the version or case
    /// number; in report order.
    pub fn distinct<'a>(&self, of: impl Iterator<Item = &'a Finding>) -> Vec<Distinct<'a>> {
        let mut out: Vec<Distinct> = Vec::new();
        for f in of {
            match out.iter_mut().find(|d| {
                d.first.check == f.check
                    && d.first.operation == f.operation
                    && d.first.label == f.label
            }) {
                Some(d) => {
                    d.cases += 1;
                    if !d.versions.contains(&f.version) {
                        d.versions.push(f.version.clone());
                    }
                }
                None => out.push(Distinct {
                    first: f,
                    versions: vec![f.version.clone()],
                    cases: 1,
                }),
            }
        }
        out
    }

    pub fn totals(&self) -> Totals {
        Totals {
            failures: self.failures().count(),
            advisories: self.advisories().count(),
            distinct_failures: self.distinct(self.failures()).len(),
            distinct_advisories: self.distinct(self.advisories()).len(),
            gating: self.gating().count(),
            known: self.findings.iter().filter(|f| self.is_known(f)).count(),
        }
    }

    /// Cases the run meant to send and did not.
    pub fn skipped(&self) -> u64 {
        self.coverage
            .iter()
            .map(|c| c.skipped.values().sum::<u64>())
            .sum()
    }

    /// The report with its [`Totals`] after `meta`, so that a reader need not recount them
    /// (`from_json` ignores them: they follow from the findings).
    pub fn to_json(&self) -> String {
        let value = serde_json::to_value(self).expect("report serialises");
        let serde_json::Value::Object(fields) = value else {
            unreachable!("a struct serialises to an object")
        };
        let mut out = serde_json::Map::new();
        for (k, v) in fields {
            let after_meta = k == "meta";
            out.insert(k, v);
            if after_meta {
                out.insert(
                    "totals".into(),
                    serde_json::to_value(self.totals()).expect("totals serialise"),
                );
            }
        }
        let mut s = serde_json::to_string_pretty(&out).expect("report serialises");
        s.push('\n');
        s
    }
}

/// A small report for the formats' unit tests: one failure on two versions (two cases), one
/// failure on one version, one advisory.
#[cfg(test)]
pub(crate) fn sample() -> Report {
    use crate::check::{Actual, Basis, CheckId, Expected, Failure};
    let status = |check, want: u16, got: u16| {
        Failure::new(
            check,
            Expected::StatusIn {
                statuses: vec![want],
            },
            Actual::Status {
                status: got,
                body: None,
            },
        )
    };
    let finding = |failure: Failure, op: &str, version: &str, label: &str| {
        let case = format!("{version}/{op}/valid/0");
        Finding::comparison(failure, op, version, &case, label.into(), 1)
    };
    let advisory = Failure::new(
        CheckId::PaginationInvariants,
        Expected::Total {
            pointer: "/count".into(),
            total: 5,
        },
        Actual::Count { n: 2 },
    )
    .with_basis(Basis::assumed("the document does not say what count is"));
    let mut r = Report {
        meta: RunMeta {
            tool: "kmsconform".into(),
            tool_version: "0".into(),
            api: "scp-kms".into(),
            target: "embedded".into(),
            seed: 1,
            run_id: "r".into(),
            cases_per_operation: 1,
            versions: vec!["1.0".into(), "1.3".into()],
            suites: vec![],
            requests: 10,
            duration_ms: 1000,
            stopped_early: false,
            interrupted: false,
            strict: false,
            proxy: None,
            snapshots_skipped: None,
            operations: Default::default(),
            max_response_ms: None,
            retried: 0,
        },
        counts: vec![],
        findings: vec![],
        transport_problems: vec![],
        coverage: vec![],
        leftovers: vec![],
        known_failures: vec![],
    };
    let sc = CheckId::StatusCodeConformance;
    r.push(finding(
        status(sc, 201, 200),
        "createKey",
        "1.0",
        "fresh key",
    ));
    r.push(finding(
        status(sc, 201, 200),
        "createKey",
        "1.3",
        "fresh key",
    ));
    r.push(finding(
        status(CheckId::VersionShape, 201, 200),
        "createKey",
        "1.0",
        "version gating",
    ));
    r.push(finding(advisory, "listKeys", "1.3", "pages of 2"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_count_findings_and_distinct_findings_apart() {
        let r = sample();
        let t = r.totals();
        assert_eq!(
            (
                t.failures,
                t.advisories,
                t.distinct_failures,
                t.distinct_advisories
            ),
            (3, 1, 2, 1)
        );
        assert_eq!((t.gating, t.known), (3, 0));
        let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        let keys: Vec<&String> = json.as_object().unwrap().keys().take(2).collect();
        assert_eq!(keys, ["meta", "totals"]);
        assert_eq!(json["totals"]["distinct_failures"], 2);
        // The totals are derived: reading the report back ignores them.
        assert_eq!(Report::from_json(&r.to_json()).unwrap().totals(), t);
    }
}
