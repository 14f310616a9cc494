//! A failed check is data: what was expected and what was seen, as values with their JSON
//! pointers. Nothing here is text for people; `report/` renders it. Keeping values (not
//! sentences) is what lets the recorder redact secrets by field and pointer.

use super::basis::Basis;
use super::catalogue::CheckId;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a check expected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Expected {
    /// Any HTTP response (a transport error was seen).
    Response,
    StatusBelow500,
    StatusIn {
        statuses: Vec<u16>,
    },
    /// A status of a class: 2 for 2xx, 4 for 4xx.
    StatusClass {
        class: u16,
    },
    /// Not a success: the request had no valid credentials.
    NotAccepted,
    NoBody,
    ContentType {
        media_type: String,
    },
    JsonBody,
    /// The body validates against the documented schema.
    SchemaValid,
    /// Only the fields the version documents.
    DocumentedFieldsOnly,
    Equals {
        pointer: String,
        value: Value,
    },
    NotEquals {
        pointer: String,
        value: Value,
    },
    Matches {
        pointer: String,
        pattern: String,
    },
    Present {
        pointer: String,
    },
    Absent {
        pointer: String,
    },
    /// `pointer` holds the total on every page.
    Total {
        pointer: String,
        total: u64,
    },
    /// This many items on this page.
    PageLength {
        page: u64,
        items: u64,
    },
    /// Every item's `field` contains `needle` (a filter).
    EveryContains {
        field: String,
        needle: String,
    },
    /// No item on two pages.
    NoRepeats,
    /// Items ordered by `field`.
    Ordered {
        field: String,
        descending: bool,
    },
    /// This many distinct items over all pages.
    ItemsOverAllPages {
        total: u64,
    },
    /// Within this many milliseconds.
    ResponseTime {
        max_ms: u64,
    },
    /// The recorded snapshot at `path`.
    Snapshot {
        path: String,
    },
    /// Only the differences the registry declares.
    DeclaredDifferencesOnly,
    /// What the baseline target answers at `location`.
    LikeBaseline {
        location: String,
    },
    /// A precondition of a stateful step (a binding, a numeric total) in words.
    Described {
        text: String,
    },
}

/// What a check saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actual {
    Transport {
        error: String,
    },
    /// A status, with the body (JSON, or a text excerpt) when it helps to see why.
    Status {
        status: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<Value>,
    },
    /// The value at `pointer`; None when absent.
    Value {
        pointer: String,
        value: Option<Value>,
    },
    /// The values of `field` in the order seen.
    Values {
        field: String,
        values: Vec<Value>,
    },
    ContentType {
        media_type: Option<String>,
    },
    BodyBytes {
        bytes: u64,
    },
    NotJson {
        truncated: bool,
        excerpt: String,
    },
    SchemaErrors {
        errors: Vec<SchemaError>,
    },
    UndocumentedFields {
        pointers: Vec<String>,
    },
    Count {
        n: u64,
    },
    Repeated {
        id: Value,
    },
    ResponseTime {
        ms: u64,
    },
    /// A unified diff of normalised transcripts or bodies.
    Diff {
        diff: String,
    },
    Described {
        text: String,
    },
}

/// One schema violation: where in the body, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaError {
    pub pointer: String,
    pub message: String,
}

/// One check's verdict on one exchange when it fails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub check: CheckId,
    #[serde(flatten)]
    pub basis: Basis,
    pub expected: Expected,
    pub actual: Actual,
}

impl Failure {
    /// A failure with the check's default basis; callers that know better use
    /// [`Failure::with_basis`].
    pub fn new(check: CheckId, expected: Expected, actual: Actual) -> Self {
        Self {
            check,
            basis: check.default_basis(),
            expected,
            actual,
        }
    }

    pub fn with_basis(mut self, basis: Basis) -> Self {
        self.basis = basis;
        self
    }
}

/// The verdicts of the checks applied to one exchange: the one place where a check counts
/// as evaluated. A check counts as passed when it was evaluated and produced no failure.
#[derive(Debug, Clone, Default)]
pub struct Verdicts {
    evaluated: Vec<CheckId>,
    failures: Vec<Failure>,
}

impl Verdicts {
    pub fn new() -> Self {
        Self::default()
    }

    /// `check` was evaluated and found nothing wrong (unless a failure for it follows).
    pub fn pass(&mut self, check: CheckId) {
        if !self.evaluated.contains(&check) {
            self.evaluated.push(check);
        }
    }

    pub fn fail(&mut self, f: Failure) {
        self.pass(f.check);
        self.failures.push(f);
    }

    /// Evaluate `check`: passes when `ok`, else fails with what `failure` builds.
    pub fn check(&mut self, check: CheckId, ok: bool, failure: impl FnOnce() -> Failure) {
        if ok {
            self.pass(check);
        } else {
            let f = failure();
            debug_assert_eq!(
                f.check, check,
                "a failure must belong to the check evaluated"
            );
            self.fail(f);
        }
    }

    pub fn extend(&mut self, other: Verdicts) {
        for c in other.evaluated {
            self.pass(c);
        }
        self.failures.extend(other.failures);
    }

    pub fn evaluated(&self) -> &[CheckId] {
        &self.evaluated
    }

    pub fn failures(&self) -> &[Failure] {
        &self.failures
    }

    pub fn has_failed(&self, check: CheckId) -> bool {
        self.failures.iter().any(|f| f.check == check)
    }

    /// Drop failures matching `pred` (the check still counts as evaluated and passed).
    pub fn forgive(&mut self, pred: impl Fn(&Failure) -> bool) {
        self.failures.retain(|f| !pred(f));
    }

    pub fn into_parts(self) -> (Vec<CheckId>, Vec<Failure>) {
        (self.evaluated, self.failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_counts_once_and_fails_when_any_failure_names_it() {
        let mut v = Verdicts::new();
        v.pass(CheckId::NotAServerError);
        v.check(CheckId::StatusCodeConformance, false, || {
            Failure::new(
                CheckId::StatusCodeConformance,
                Expected::StatusIn {
                    statuses: vec![200],
                },
                Actual::Status {
                    status: 201,
                    body: None,
                },
            )
        });
        v.pass(CheckId::StatusCodeConformance);
        assert_eq!(
            v.evaluated(),
            &[CheckId::NotAServerError, CheckId::StatusCodeConformance]
        );
        assert!(v.has_failed(CheckId::StatusCodeConformance));
        assert!(!v.has_failed(CheckId::NotAServerError));
    }

    #[test]
    fn failures_serialise_as_values_with_their_basis() {
        let f = Failure::new(
            CheckId::Roundtrip,
            Expected::Equals {
                pointer: "/plaintext".into(),
                value: serde_json::json!("aGk="),
            },
            Actual::Value {
                pointer: "/plaintext".into(),
                value: None,
            },
        );
        let j = serde_json::to_value(&f).unwrap();
        assert_eq!(j["check"], "roundtrip");
        assert_eq!(j["basis"], "assumed");
        assert_eq!(j["expected"]["kind"], "equals");
        assert_eq!(j["actual"]["value"], Value::Null);
        let back: Failure = serde_json::from_value(j).unwrap();
        assert_eq!(back, f);
    }
}
