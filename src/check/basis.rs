//! Why the harness expects what it expects. Every expectation is `documented` (the vendor
//! document says so), `observed` (recorded live facts), `required` (a limit the user set
//! for this run, e.g. `--max-response-time`) or `assumed` (our decision). All but the last
//! fail the gate by default; an assumed expectation that fails is an advisory.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How strong the ground of an expectation is, weakest first (so `min` picks the weakest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BasisKind {
    /// Our decision, or behaviour only the embedded reference defines.
    Assumed,
    /// The user's own requirement, given to this run (`--max-response-time`): no document
    /// or observation says it, but the user asked the gate to hold it.
    Required,
    /// Recorded live facts.
    Observed,
    /// The vendor document states it.
    Documented,
}

impl BasisKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BasisKind::Assumed => "assumed",
            BasisKind::Required => "required",
            BasisKind::Observed => "observed",
            BasisKind::Documented => "documented",
        }
    }
}

impl fmt::Display for BasisKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A basis and where it comes from: the document and line, the notes' section, or why we
/// decided so.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Basis {
    #[serde(rename = "basis")]
    pub kind: BasisKind,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not a basis: write \"documented: <document>:<line>\", \"observed: <section>\" or \"assumed: <why>\"")]
pub struct BasisParseError {
    pub text: String,
}

impl Basis {
    pub fn new(kind: BasisKind, source: impl Into<String>) -> Self {
        Self {
            kind,
            source: source.into(),
        }
    }
    pub fn documented(source: impl Into<String>) -> Self {
        Self::new(BasisKind::Documented, source)
    }
    pub fn observed(source: impl Into<String>) -> Self {
        Self::new(BasisKind::Observed, source)
    }
    pub fn assumed(source: impl Into<String>) -> Self {
        Self::new(BasisKind::Assumed, source)
    }
    pub fn required(source: impl Into<String>) -> Self {
        Self::new(BasisKind::Required, source)
    }

    /// Parses the one-string form used in specs and suites: `"<kind>: <source>"`. The
    /// source must say something: a basis without its citation or reason is no basis.
    pub fn parse(text: &str) -> Result<Self, BasisParseError> {
        let err = || BasisParseError { text: text.into() };
        let (kind, source) = text.split_once(':').ok_or_else(err)?;
        let kind = match kind.trim() {
            "documented" => BasisKind::Documented,
            "observed" => BasisKind::Observed,
            "assumed" => BasisKind::Assumed,
            _ => return Err(err()),
        };
        let source = source.trim();
        if source.is_empty() {
            return Err(err());
        }
        Ok(Self::new(kind, source))
    }

    /// The weaker of two bases (a conclusion is only as strong as its weakest premise).
    pub fn weakest(self, other: Basis) -> Basis {
        if other.kind < self.kind {
            other
        } else {
            self
        }
    }

    /// An advisory: it is reported, but it fails the gate only under `--strict`.
    pub fn is_advisory(&self) -> bool {
        self.kind == BasisKind::Assumed
    }
}

impl fmt::Display for Basis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.source)
    }
}

/// Reads the one-string form (specs, suites, profiles) or the `{basis, source}` object that
/// reports write.
impl<'de> Deserialize<'de> for Basis {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Text(String),
            Object { basis: BasisKind, source: String },
        }
        match Form::deserialize(d)? {
            Form::Text(t) => Basis::parse(&t).map_err(serde::de::Error::custom),
            Form::Object { basis, source } => Ok(Basis::new(basis, source)),
        }
    }
}

/// Input files (suites, profiles) write a basis as text only. The `{basis, source}` object is
/// what reports write; reading it from an input file would let a file claim `required`
/// (the CLI's alone) or an empty source. Use as `#[serde(deserialize_with = "…::from_text")]`.
pub fn from_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Basis, D::Error> {
    let text = String::deserialize(d)?;
    Basis::parse(&text).map_err(serde::de::Error::custom)
}

/// [`from_text`] for an optional basis (with `#[serde(default)]`).
pub fn from_text_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Basis>, D::Error> {
    from_text(d).map(Some)
}

impl std::str::FromStr for Basis {
    type Err = BasisParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Basis::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_files_read_text_bases_only() {
        #[derive(Deserialize)]
        struct Step {
            #[serde(default, deserialize_with = "from_text_opt")]
            basis: Option<Basis>,
        }
        let read = |j: &str| serde_json::from_str::<Step>(j).map(|s| s.basis);
        assert_eq!(
            read(r#"{"basis": "observed: protocols.md §2"}"#).unwrap(),
            Some(Basis::observed("protocols.md §2"))
        );
        assert_eq!(read("{}").unwrap(), None);
        // The report's object form is refused, so a file cannot claim `required`.
        assert!(read(r#"{"basis": {"basis": "required", "source": "smuggled"}}"#).is_err());
        assert!(read(r#"{"basis": "required: smuggled"}"#).is_err());
        // Reports still read their own object form.
        let b: Basis =
            serde_json::from_str(r#"{"basis": "required", "source": "--max-response-time 5"}"#)
                .unwrap();
        assert_eq!(b.kind, BasisKind::Required);
    }

    #[test]
    fn parses_the_one_string_form_and_refuses_bare_kinds() {
        let b = Basis::parse("observed: protocols.md §2 (purpose values)").unwrap();
        assert_eq!(b.kind, BasisKind::Observed);
        assert_eq!(b.source, "protocols.md §2 (purpose values)");
        assert_eq!(b.to_string(), "observed: protocols.md §2 (purpose values)");
        assert!(Basis::parse("documented").is_err());
        assert!(Basis::parse("documented:  ").is_err());
        assert!(Basis::parse("guessed: because").is_err());
    }

    #[test]
    fn the_weakest_premise_wins() {
        let d = Basis::documented("doc:1");
        let a = Basis::assumed("bounds");
        assert_eq!(d.clone().weakest(a.clone()), a);
        assert_eq!(a.clone().weakest(d.clone()), a);
        assert!(a.is_advisory() && !d.is_advisory());
    }
}
