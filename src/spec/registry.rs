//! The version registry (`specs/<api>/versions.json`): per version its published status,
//! Not Before date and the changes declared against the previous version.

use crate::spec::changes::Change;
use crate::spec::profile::{RegistryVocabulary, StatusMeaning};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Registry {
    pub api: String,
    pub title: String,
    pub source: Value,
    pub versions: Vec<VersionEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VersionEntry {
    pub version: String,
    /// As published: CURRENT, SUPPORTED, DEPRECATED (or PLANNED).
    pub status: String,
    /// ISO date; None when the document prints "-".
    pub not_before: Option<String>,
    pub spec: String,
    pub operations: usize,
    /// The version `changes` are declared against.
    pub previous: Option<String>,
    pub changes: Vec<Change>,
}

/// Status as of a date, which may differ from the published one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effective {
    Current,
    Supported,
    /// Within the profile's deprecation window before Not Before.
    Deprecated,
    /// Not Before has arrived or passed: no longer supported.
    Expired,
}

impl VersionEntry {
    pub fn not_before_date(&self) -> Option<NaiveDate> {
        self.not_before
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    }

    /// (effective status, days until Not Before — negative when overdue), in the words of
    /// the API's registry vocabulary.
    pub fn effective(
        &self,
        as_of: NaiveDate,
        vocab: &RegistryVocabulary,
    ) -> (Effective, Option<i64>) {
        match self.not_before_date() {
            None if vocab.meaning(&self.status) == Some(StatusMeaning::Current) => {
                (Effective::Current, None)
            }
            None => (Effective::Supported, None),
            Some(nb) => {
                let days = (nb - as_of).num_days();
                let window = vocab.deprecation_window_days.unwrap_or(0);
                let e = if days <= 0 {
                    Effective::Expired
                } else if days < window {
                    Effective::Deprecated
                } else {
                    Effective::Supported
                };
                (e, Some(days))
            }
        }
    }
}

impl Registry {
    pub fn get(&self, version: &str) -> Option<&VersionEntry> {
        self.versions.iter().find(|v| v.version == version)
    }
    /// The newest version the vocabulary calls current, else the newest.
    pub fn current(&self, vocab: &RegistryVocabulary) -> Option<&VersionEntry> {
        self.versions
            .iter()
            .rev()
            .find(|v| vocab.meaning(&v.status) == Some(StatusMeaning::Current))
            .or(self.versions.last())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(status: &str, nb: Option<&str>) -> VersionEntry {
        VersionEntry {
            version: "1.0".into(),
            status: status.into(),
            not_before: nb.map(String::from),
            spec: "1.0.json".into(),
            operations: 1,
            previous: None,
            changes: vec![],
        }
    }

    fn vocab() -> RegistryVocabulary {
        crate::spec::profile::example().registry
    }

    #[test]
    fn effective_status_follows_the_vocabulary() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let v = vocab();
        assert_eq!(
            entry("DEPRECATED", Some("2025-12-31")).effective(d, &v),
            (Effective::Expired, Some(-326))
        );
        assert_eq!(
            entry("SUPPORTED", Some("2026-08-31")).effective(d, &v),
            (Effective::Expired, Some(-83))
        );
        assert_eq!(
            entry("SUPPORTED", Some("2026-12-31")).effective(d, &v),
            (Effective::Deprecated, Some(39))
        );
        assert_eq!(
            entry("CURRENT", None).effective(d, &v),
            (Effective::Current, None)
        );
        assert_eq!(
            entry("SUPPORTED", Some("2027-12-31")).effective(d, &v).0,
            Effective::Supported
        );
    }
}
