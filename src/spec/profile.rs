//! The API profile (`specs/<api>/profile.json`): what the engine must know about an API that
//! is not an operation schema — how requests are authenticated and versioned, what refusals
//! look like, how lists page, how generated resources are named and cleaned up, and the
//! registry's vocabulary. The engine reads this instead of knowing any one API.

use crate::check::basis::{from_text, from_text_opt, Basis};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(rename = "$comment", default)]
    pub comment: Option<Value>,
    pub api: String,
    pub auth: AuthProfile,
    pub version: VersionSelect,
    pub errors: ErrorProfile,
    /// None: the API's lists are not paged.
    #[serde(default)]
    pub paging: Option<Paging>,
    pub names: NamePattern,
    #[serde(default)]
    pub upsert: Option<Upsert>,
    /// The API reads a JSON `null` request body as no body: where an operation's body is
    /// optional, a `null` body is then not a violation.
    #[serde(default)]
    pub null_body: Option<NullBody>,
    /// A well-formed id that names nothing (path placeholders of "unknown resource" cases).
    pub unknown_id: String,
    #[serde(default)]
    pub cleanup: Option<Cleanup>,
    pub registry: RegistryVocabulary,
    #[serde(default)]
    pub secrets: Secrets,
    /// The operation of the credentials probe sent before anything else; default: the first
    /// GET with no required parameter.
    #[serde(default)]
    pub probe: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthProfile {
    /// `scp-hmac-sha256`, `token`, `ncp-apigw-v2` or `sdk-hmac-sha256`.
    pub scheme: String,
    /// Scheme parameters (e.g. `header` for `token`).
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Credential name → environment variables tried in order (e.g. `secret_key`).
    #[serde(default)]
    pub env: BTreeMap<String, Vec<String>>,
    /// Where the scheme's facts come from.
    #[serde(default, deserialize_with = "from_text_opt")]
    pub basis: Option<Basis>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, tag = "via", rename_all = "lowercase")]
pub enum VersionSelect {
    /// A request header, e.g. `Scp-Api-Version: kms 1.3`; `format` has `{version}`.
    Header {
        name: String,
        format: String,
        #[serde(default, deserialize_with = "from_text_opt")]
        basis: Option<Basis>,
    },
    /// A path segment: the spec's paths already carry it.
    Path {
        #[serde(default, deserialize_with = "from_text_opt")]
        basis: Option<Basis>,
    },
    /// One version per target (e.g. a server release): a run uses one version's spec.
    None {
        #[serde(default, deserialize_with = "from_text_opt")]
        basis: Option<Basis>,
    },
}

/// A status expectation with its basis.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRule {
    pub statuses: Vec<u16>,
    #[serde(deserialize_with = "from_text")]
    pub basis: Basis,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorProfile {
    /// The components schema of error bodies, when the API has one envelope.
    #[serde(default)]
    pub schema: Option<String>,
    /// Statuses that refuse a request without valid credentials.
    pub bad_auth: StatusRule,
    /// Statuses with which a signed request says "these credentials are not accepted": the
    /// run stops after its first request with the credentials exit code.
    pub credentials_rejected: Vec<u16>,
    /// Statuses that refuse an unknown API version (None: the API is not versioned per request).
    #[serde(default)]
    pub unknown_version: Option<StatusRule>,
}

/// Operations that create the resource when the id names nothing (OpenBao's encrypt): an
/// unknown id is not refused there.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upsert {
    pub operations: Vec<String>,
    #[serde(deserialize_with = "from_text")]
    pub basis: Basis,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NullBody {
    /// Only `"absent"`.
    #[serde(rename = "as")]
    pub reads_as: NullBodyReading,
    #[serde(deserialize_with = "from_text")]
    pub basis: Basis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NullBodyReading {
    Absent,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paging {
    /// Query parameter names.
    pub size: String,
    pub page: String,
    pub first_page: u64,
    /// JSON pointers into a page: the total count and the items.
    pub total: String,
    pub items: String,
    /// The field of an item that identifies it.
    pub id: String,
    /// Page size, page numbers and sort order.
    #[serde(deserialize_with = "from_text")]
    pub basis: Basis,
    /// That `total` holds the number of all matching items on every page.
    #[serde(deserialize_with = "from_text")]
    pub total_basis: Basis,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamePattern {
    pub prefix: String,
    /// Total length, prefix included.
    pub length: usize,
    pub alphabet: String,
    #[serde(default, deserialize_with = "from_text_opt")]
    pub basis: Option<Basis>,
}

impl NamePattern {
    /// A regex matching the names this pattern generates (to canonicalise them).
    pub fn regex(&self) -> regex::Regex {
        let class: String = self
            .alphabet
            .chars()
            .map(|c| regex::escape(&c.to_string()))
            .collect();
        regex::Regex::new(&format!(
            "{}[{class}]{{{}}}",
            regex::escape(&self.prefix),
            self.length.saturating_sub(self.prefix.chars().count())
        ))
        .expect("escaped pattern")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cleanup {
    /// operationId → pointer to the id of the resource its 2xx answer created.
    pub created_by: BTreeMap<String, String>,
    /// Suite steps that remove one resource, with `{{id}}` bound to it.
    pub steps: Vec<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryVocabulary {
    /// Published status word → meaning (`current`, `supported`, `deprecated`, `planned`).
    pub statuses: BTreeMap<String, StatusMeaning>,
    /// Days before Not Before in which a version counts as deprecated.
    #[serde(default)]
    pub deprecation_window_days: Option<i64>,
    #[serde(default, deserialize_with = "from_text_opt")]
    pub basis: Option<Basis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusMeaning {
    Current,
    Supported,
    Deprecated,
    Planned,
}

impl RegistryVocabulary {
    pub fn meaning(&self, published: &str) -> Option<StatusMeaning> {
        self.statuses.get(published).copied()
    }
    /// The published word for a meaning (the first one listed).
    pub fn word(&self, m: StatusMeaning) -> Option<&str> {
        self.statuses
            .iter()
            .find(|(_, v)| **v == m)
            .map(|(k, _)| k.as_str())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secrets {
    /// Body fields whose values are secret wherever they appear (requests, responses).
    #[serde(default)]
    pub fields: Vec<String>,
}

impl Profile {
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Whether an unknown id creates the resource on this operation.
    pub fn upserts(&self, operation: &str) -> bool {
        self.upsert
            .as_ref()
            .is_some_and(|u| u.operations.iter().any(|o| o == operation))
    }

    /// One version per target: a run uses one version's spec.
    pub fn one_version_per_target(&self) -> bool {
        matches!(self.version, VersionSelect::None { .. })
    }

    /// The basis of "the total is on every page" (assumed when there is no paging).
    pub fn paging_total_basis(&self) -> Basis {
        self.paging
            .as_ref()
            .map(|p| p.total_basis.clone())
            .unwrap_or_else(|| Basis::assumed("the API declares no paging"))
    }

    /// The version header and its value for `version`, when versions travel in a header.
    pub fn version_header(&self, version: &str) -> Option<(String, String)> {
        match &self.version {
            VersionSelect::Header { name, format, .. } => {
                Some((name.clone(), format.replace("{version}", version)))
            }
            _ => None,
        }
    }

    /// A credential's value from the first environment variable that is set.
    pub fn credential_from_env(&self, name: &str) -> Option<String> {
        self.auth
            .env
            .get(name)?
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
    }

    /// The environment variables of a credential, for messages.
    pub fn env_names(&self, name: &str) -> String {
        self.auth
            .env
            .get(name)
            .map(|v| v.join(" or "))
            .unwrap_or_else(|| format!("--{}", name.replace('_', "-")))
    }
}

/// A small profile for unit tests (an imaginary API).
#[cfg(test)]
pub(crate) fn example() -> Profile {
    Profile::from_json(
        r#"{
        "api": "example-kms",
        "auth": {"scheme": "token", "params": {"header": "X-Token"}, "env": {"token": ["EXAMPLE_TOKEN"]}},
        "version": {"via": "header", "name": "X-Api-Version", "format": "v{version}"},
        "errors": {"bad_auth": {"statuses": [401, 404], "basis": "observed: notes §1"},
                   "credentials_rejected": [401],
                   "unknown_version": {"statuses": [406], "basis": "observed: notes §1"}},
        "paging": {"size": "size", "page": "page", "first_page": 0, "total": "/count", "items": "/keys", "id": "id",
                   "basis": "documented: doc.txt:1", "total_basis": "assumed: count is the total"},
        "names": {"prefix": "kc", "length": 10, "alphabet": "0123456789abcdefghijklmnopqrstuvwxyz"},
        "unknown_id": "00000000000000000000000000000000",
        "registry": {"statuses": {"CURRENT": "current", "SUPPORTED": "supported"}, "deprecation_window_days": 90},
        "secrets": {"fields": ["plaintext"]}
    }"#,
    )
    .expect("the example profile parses")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_parses() {
        let p = example();
        assert_eq!(
            p.version_header("1.3"),
            Some(("X-Api-Version".into(), "v1.3".into()))
        );
        assert_eq!(p.registry.word(StatusMeaning::Current), Some("CURRENT"));
    }

    #[test]
    fn names_regex_matches_what_the_pattern_describes() {
        let p = NamePattern {
            prefix: "kc".into(),
            length: 10,
            alphabet: "0123456789abcdefghijklmnopqrstuvwxyz".into(),
            basis: None,
        };
        let re = p.regex();
        assert!(re.is_match("kc0a1b2c3d"));
        assert!(!re.is_match("kc0A1b2c3d"));
        assert!(!re.is_match("kx0a1b2c3d"));
    }

    #[test]
    fn unknown_keys_and_bad_bases_are_refused() {
        assert!(Profile::from_json(r#"{"api":"x","nope":1}"#).is_err());
        let bad = r#"{"statuses":[401],"basis":"guessed"}"#;
        assert!(serde_json::from_str::<StatusRule>(bad).is_err());
    }
}
