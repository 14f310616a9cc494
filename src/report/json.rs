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
            .recorder
            .tallies()
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
            .recorder
            .coverage()
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
                seed: o.recorder.seed(),
                run_id: o.run_id.clone(),
                cases_per_operation: cases,
                versions: o.versions.clone(),
                suites: o.suites_run.clone(),
                requests: o.recorder.requests(),
                duration_ms: o.elapsed.as_millis() as u64,
                stopped_early: o.stopped_early,
                interrupted: o.interrupted,
                strict: o.recorder.strict(),
                proxy: o.proxy.clone(),
                snapshots_skipped: None,
            },
            counts,
            findings: o.recorder.findings(),
            transport_problems: o.recorder.transport_problems(),
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

    /// Cases the run meant to send and did not.
    pub fn skipped(&self) -> u64 {
        self.coverage
            .iter()
            .map(|c| c.skipped.values().sum::<u64>())
            .sum()
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("report serialises");
        s.push('\n');
        s
    }
}
