//! Known failures (`known-failures.json`): findings a team has accepted for now. A run with
//! `--baseline` fails only on findings whose stable id is not listed.

use super::Report;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Baseline {
    pub tool: String,
    pub known_failures: Vec<KnownFailure>,
}

/// Only `id` is matched; the rest says to a reader what was accepted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KnownFailure {
    pub id: String,
    pub check: String,
    pub operation: String,
    pub version: String,
    pub title: String,
}

impl Baseline {
    /// Every finding of the report, one entry per id (a finding id covers all its cases).
    pub fn from_report(r: &Report) -> Self {
        let mut known_failures: Vec<KnownFailure> = r
            .findings
            .iter()
            .map(|f| KnownFailure {
                id: f.id.clone(),
                check: f.check.id().to_string(),
                operation: f.operation.clone(),
                version: f.version.clone(),
                title: super::text::title(f),
            })
            .collect();
        known_failures.sort_by(|a, b| a.id.cmp(&b.id));
        known_failures.dedup_by(|a, b| a.id == b.id);
        Baseline {
            tool: "kmsconform".into(),
            known_failures,
        }
    }

    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read baseline {}: {e}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a kmsconform baseline: {e}", path.display()))
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("baseline serialises");
        s.push('\n');
        s
    }

    pub fn contains(&self, id: &str) -> bool {
        self.known_failures.iter().any(|k| k.id == id)
    }

    /// Marks the report's findings that this baseline lists as known.
    pub fn apply(&self, r: &mut Report) {
        let mut ids: Vec<String> = r
            .findings
            .iter()
            .filter(|f| self.contains(&f.id))
            .map(|f| f.id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        r.known_failures = ids;
    }
}
