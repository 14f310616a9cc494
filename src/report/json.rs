//! `report.json`: run metadata, per check/operation/version counts, and the findings.

use crate::run::record::{Finding, Tally};
use crate::run::RunOutcome;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunMeta {
    pub tool: String,
    pub tool_version: String,
    pub api: String,
    pub target: String,
    pub seed: u64,
    pub cases_per_operation: usize,
    pub versions: Vec<String>,
    pub suites: Vec<String>,
    pub requests: u64,
    /// Wall time; the only field that differs between two runs with the same seed.
    pub duration_ms: u64,
    /// The run stopped early: `--max-failures` was exceeded.
    #[serde(default)]
    pub stopped_early: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Count {
    pub check: String,
    pub operation: String,
    pub version: String,
    pub passed: u64,
    pub failed: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub meta: RunMeta,
    pub counts: Vec<Count>,
    pub findings: Vec<Finding>,
    /// Ids of this report's findings that the baseline (`--baseline`) lists as known: they
    /// are shown but do not fail the gate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub known_failures: Vec<String>,
}

impl Report {
    pub fn from_outcome(o: &RunOutcome, api: &str, target: &str, cases: usize) -> Self {
        let counts = o
            .recorder
            .tallies()
            .into_iter()
            .map(
                |((check, operation, version), Tally { passed, failed })| Count {
                    check,
                    operation,
                    version,
                    passed,
                    failed,
                },
            )
            .collect();
        Report {
            meta: RunMeta {
                tool: "kmsconform".into(),
                tool_version: env!("CARGO_PKG_VERSION").into(),
                api: api.into(),
                target: target.into(),
                seed: o.recorder.seed,
                cases_per_operation: cases,
                versions: o.versions.clone(),
                suites: o.suites_run.clone(),
                requests: o.recorder.requests(),
                duration_ms: o.elapsed.as_millis() as u64,
                stopped_early: o.stopped_early,
            },
            counts,
            findings: o.recorder.findings(),
            known_failures: Vec::new(),
        }
    }

    /// Add a finding from a later stage (snapshots, diffs) and count it.
    pub fn push(&mut self, f: Finding) {
        self.count(
            &f.check.clone(),
            &f.operation.clone(),
            &f.version.clone(),
            false,
        );
        self.findings.push(f);
    }

    pub fn count(&mut self, check: &str, operation: &str, version: &str, passed: bool) {
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
                });
                self.counts.last_mut().expect("just pushed")
            }
        };
        if passed {
            c.passed += 1;
        } else {
            c.failed += 1;
        }
    }

    pub fn from_json(text: &str) -> anyhow::Result<Self> {
        Ok(serde_json::from_str(text)?)
    }

    pub fn is_known(&self, f: &Finding) -> bool {
        self.known_failures.contains(&f.id)
    }

    /// Findings that fail the gate: those the baseline does not list.
    pub fn new_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !self.is_known(f))
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("report serialises");
        s.push('\n');
        s
    }
}
