//! The check catalogue: one item per check id, with its doc and its default basis. Suites and
//! flags name checks by id; reports count and group by it.

use super::basis::{Basis, BasisKind};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a check is about: one exchange, or a comparison of several.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Exchange,
    Comparison,
}

macro_rules! checks {
    ($( $(#[doc = $doc:literal])+ $variant:ident = $id:literal, $scope:ident, $kind:ident, $source:literal; )*) => {
        /// A check of the catalogue.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum CheckId { $( $(#[doc = $doc])+ $variant, )* }

        impl CheckId {
            /// Every check, in catalogue order.
            pub const ALL: &'static [CheckId] = &[ $( CheckId::$variant, )* ];

            /// The stable id used by suites, flags and reports.
            pub fn id(self) -> &'static str {
                match self { $( CheckId::$variant => $id, )* }
            }

            /// One line: what the check verifies.
            pub fn doc(self) -> &'static str {
                match self { $( CheckId::$variant => concat!($($doc),+).trim_ascii(), )* }
            }

            pub fn scope(self) -> Scope {
                match self { $( CheckId::$variant => Scope::$scope, )* }
            }

            /// The basis of a failure when the caller knows nothing more specific (the spec,
            /// a suite step or the profile usually does).
            pub fn default_basis(self) -> Basis {
                match self { $( CheckId::$variant => Basis::new(BasisKind::$kind, $source), )* }
            }
        }
    };
}

checks! {
    /// no response has a 5xx status
    NotAServerError = "not_a_server_error", Exchange, Documented, "the spec documents no 5xx status for any operation";
    /// the status is one the spec documents for the operation (plus the profile's statuses for auth and version cases)
    StatusCodeConformance = "status_code_conformance", Exchange, Documented, "the operation's documented statuses";
    /// a documented JSON response is sent as application/json; 204 has no body
    ContentTypeConformance = "content_type_conformance", Exchange, Documented, "the documented media type of the response";
    /// the body validates against the documented schema of its status (JSON Schema 2020-12, formats on)
    ResponseSchemaConformance = "response_schema_conformance", Exchange, Documented, "the documented response schema";
    /// responses carry only the fields the version documents; operations a version lacks are absent; unknown versions are refused
    VersionShape = "version_shape", Exchange, Documented, "the version's documented models and operations";
    /// a request that violates the spec is rejected with 4xx
    NegativeDataRejection = "negative_data_rejection", Exchange, Documented, "the violated constraint of the documented request schema";
    /// a request that satisfies the spec is accepted with 2xx
    PositiveDataAcceptance = "positive_data_acceptance", Exchange, Documented, "the request satisfies the documented request schema";
    /// a request without valid credentials (missing, wrong, or stale where the scheme is timed) is not accepted
    IgnoredAuth = "ignored_auth", Exchange, Documented, "the spec's security scheme applies to the operation";
    /// a deleted resource is gone: show answers 404, use is refused
    UseAfterDelete = "use_after_delete", Exchange, Assumed, "no basis given by the suite step";
    /// a created resource can be read back at once
    ResourceAvailability = "resource_availability", Exchange, Assumed, "no basis given by the suite step";
    /// decrypt(encrypt(x)) = x for every purpose that encrypts, for plaintexts of many lengths
    Roundtrip = "roundtrip", Exchange, Assumed, "no basis given by the suite step";
    /// ciphertexts, signatures and HMACs carry the key version that produced them
    CiphertextFormat = "ciphertext_format", Exchange, Assumed, "no basis given by the suite step";
    /// after rotate, rewrap moves a ciphertext to the latest key version and it still decrypts
    RewrapLatest = "rewrap_latest", Exchange, Assumed, "no basis given by the suite step";
    /// verify accepts a genuine signature and rejects a tampered input
    VerifyRejectsTampered = "verify_rejects_tampered", Exchange, Assumed, "no basis given by the suite step";
    /// hmac verify accepts a genuine HMAC and rejects a tampered input
    HmacRejectsTampered = "hmac_rejects_tampered", Exchange, Assumed, "no basis given by the suite step";
    /// a plaintext data key decrypts from its ciphertext; a wrapped one carries no plaintext
    DatakeyConsistency = "datakey_consistency", Exchange, Assumed, "no basis given by the suite step";
    /// count is the total, pages honour size, no duplicates or gaps where the order is total, order follows sort, the filter filters
    PaginationInvariants = "pagination_invariants", Exchange, Assumed, "no basis given by the suite step";
    /// what a mutation answers is what a later read returns
    Persistence = "persistence", Exchange, Assumed, "no basis given by the suite step";
    /// a response arrives within --max-response-time (from sending to the end of its body)
    MaxResponseTime = "max_response_time", Exchange, Required, "the run's --max-response-time: the user's own limit, not the vendor document's";
    /// suite transcripts (normalised) equal the recorded snapshots of the embedded reference
    SnapshotConformance = "snapshot_conformance", Comparison, Assumed, "the recorded snapshot is what the embedded reference answered";
    /// differences between consecutive versions are exactly the declared ones
    VersionDiff = "version_diff", Comparison, Documented, "the registry's declared changes, derived from the vendor document";
    /// the candidate target answers like the baseline, beyond the baseline's own noise
    TargetDiff = "target_diff", Comparison, Observed, "the baseline target's answers, recorded in the same run";
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown check '{0}' (see `kmsconform checks`)")]
pub struct UnknownCheck(pub String);

impl std::str::FromStr for CheckId {
    type Err = UnknownCheck;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CheckId::ALL
            .iter()
            .copied()
            .find(|c| c.id() == s.trim())
            .ok_or_else(|| UnknownCheck(s.trim().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_documented_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for c in CheckId::ALL {
            assert!(seen.insert(c.id()), "duplicate id {}", c.id());
            assert!(!c.doc().is_empty());
            assert_eq!(c.id().parse::<CheckId>().unwrap(), *c);
            let json = serde_json::to_value(c).unwrap();
            assert_eq!(json, serde_json::json!(c.id()), "serde name = id");
            assert!(!c.default_basis().source.is_empty());
        }
        assert!("no_such_check".parse::<CheckId>().is_err());
    }

    /// Semantic checks have no basis of their own: the suite step that asks for them must
    /// give one, so their fallback is the weakest.
    #[test]
    fn semantic_checks_fall_back_to_assumed() {
        for c in [
            CheckId::Roundtrip,
            CheckId::PaginationInvariants,
            CheckId::Persistence,
        ] {
            assert_eq!(c.default_basis().kind, BasisKind::Assumed);
        }
    }
}
