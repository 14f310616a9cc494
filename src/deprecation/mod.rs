//! Deprecation report: each version's published and effective status as of a date, an
//! optional live probe per version, and the breakage a client pinned to an older version
//! meets when moved to the current one (from the changes declared in the version registry).

pub mod probe;
pub mod render;

use crate::spec::changes::Change;
use crate::spec::profile::{RegistryVocabulary, StatusMeaning};
use crate::spec::registry::{Effective, Registry};
use chrono::NaiveDate;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct DeprecationReport {
    pub api: String,
    /// Days before Not Before in which a version counts as deprecated.
    pub window_days: i64,
    /// ISO date.
    pub as_of: String,
    pub current: String,
    /// Where the probe went, when there was one.
    pub probed: Option<String>,
    /// What the probe sent, e.g. `GET /v1/kms/transit with the version header`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe_request: Option<String>,
    pub versions: Vec<VersionStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VersionStatus {
    pub version: String,
    /// As the vendor document prints it.
    pub published: String,
    pub not_before: Option<String>,
    pub effective: Effective,
    /// Days until Not Before; negative once overdue.
    pub days_left: Option<i64>,
    /// The published label understates the effective status.
    pub stale: bool,
    pub probe: Option<probe::ProbeResult>,
    /// What a client pinned to this version meets on the current one (None for current).
    pub breakage: Option<Breakage>,
    /// The same, observed on a target by the cross-version diff (with `--observe`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<crate::compare::versions::VersionReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Breakage {
    pub from: String,
    pub to: String,
    /// Declared changes of every version after `from` up to `to`, each with its version.
    pub changes: Vec<(String, Change)>,
}

impl VersionStatus {
    /// The vendor's published label understates the situation (e.g. supported but expired).
    pub fn published_is_stale(&self, vocab: &RegistryVocabulary) -> bool {
        match self.effective {
            Effective::Expired | Effective::Deprecated => {
                vocab.meaning(&self.published) != Some(StatusMeaning::Deprecated)
            }
            _ => false,
        }
    }
}

pub fn assess(
    registry: &Registry,
    vocab: &RegistryVocabulary,
    as_of: NaiveDate,
) -> DeprecationReport {
    let current = registry
        .current(vocab)
        .map(|v| v.version.clone())
        .unwrap_or_default();
    let versions = registry
        .versions
        .iter()
        .map(|v| {
            let (effective, days_left) = v.effective(as_of, vocab);
            VersionStatus {
                version: v.version.clone(),
                published: v.status.clone(),
                not_before: v.not_before.clone(),
                effective,
                days_left,
                stale: false,
                probe: None,
                breakage: (v.version != current).then(|| breakage(registry, &v.version, &current)),
                observed: None,
            }
        })
        .collect::<Vec<VersionStatus>>()
        .into_iter()
        .map(|mut v| {
            v.stale = v.published_is_stale(vocab);
            v
        })
        .collect();
    DeprecationReport {
        api: registry.api.clone(),
        window_days: vocab.deprecation_window_days.unwrap_or(0),
        as_of: as_of.to_string(),
        current,
        probed: None,
        probe_request: None,
        versions,
    }
}

/// Accumulates the declared changes of the versions after `from`, up to and including `to`,
/// in registry order.
pub fn breakage(registry: &Registry, from: &str, to: &str) -> Breakage {
    let start = registry.versions.iter().position(|v| v.version == from);
    let end = registry.versions.iter().position(|v| v.version == to);
    let changes = match (start, end) {
        (Some(s), Some(e)) if s < e => registry.versions[s + 1..=e]
            .iter()
            .flat_map(|v| v.changes.iter().map(|c| (v.version.clone(), c.clone())))
            .collect(),
        _ => Vec::new(),
    };
    Breakage {
        from: from.into(),
        to: to.into(),
        changes,
    }
}
