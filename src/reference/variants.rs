//! Variant catalogue: each variant flips one decision that the vendor document leaves open, the
//! way another real implementation might decide it. Unlike a fault, a variant keeps the server
//! conforming to everything the document states. Variants and faults combine freely.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

macro_rules! variants {
    ($( $variant:ident => $name:literal, $desc:literal; )*) => {
        /// One conforming alternative behaviour of the reference server.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Variant { $( $variant, )* }

        impl Variant {
            /// Every variant, in catalogue order.
            pub fn all() -> &'static [Variant] {
                &[ $( Variant::$variant, )* ]
            }
            /// Stable kebab-case name (CLI flag value).
            pub fn name(&self) -> &'static str {
                match self { $( Variant::$variant => $name, )* }
            }
            /// One line: what the variant flips and why a real implementation might do so.
            pub fn description(&self) -> &'static str {
                match self { $( Variant::$variant => $desc, )* }
            }
        }
    };
}

variants! {
    RotateCycleWide => "rotate-cycle-wide", "rotate_cycle accepts 0..=3650 days (0 = no automatic rotation) instead of 1..=730: the document gives no bounds, and a longer ceiling with an 'off' value is a common product choice";
    ListLenient => "list-lenient", "list size may be up to 1000 and 0 means the default; sort is lenient (unknown field ignored, direction case-insensitive, missing direction = asc) and a negative or huge page is an empty page, not 400: the document gives no bounds or grammar";
    RsaEncrypt => "rsa-encrypt", "rsa-2048 keys encrypt, decrypt and rewrap with RSA-OAEP (SHA-256) as OpenBao transit's rsa-2048 keys do; hmac and datakey stay refused";
    UnknownKey403 => "unknown-key-403", "an unknown key id on the data plane answers 403 instead of 400: both are documented codes there and many services hide existence behind 403";
    AltErrorCodes => "alt-error-codes", "error envelopes use other code names and human-readable titles (InvalidParameter, AuthenticationFailed, AccessDenied, KeyNotFound, UnsupportedVersion): the document names no error codes";
    UuidRequestIds => "uuid-request-ids", "request_id and global_request_id are bare UUIDv4 strings instead of req-<32 hex>: only their presence was observed, not a format";
    ShuffledTies => "shuffled-ties", "list items that tie on the sort field come back in a random order on every call, as from a database query without a tie-breaker";
    QueryLastWins => "query-last-wins", "a repeated query parameter takes its last value instead of its first, as many web frameworks do";
    DetailString => "detail-string", "the error detail is a single string instead of an array of strings, which protocols.md section 2 observed live";
    FractionalTimestamps => "fractional-timestamps", "created_at and the other date-time fields carry milliseconds (RFC 3339 time-secfrac) and keep millisecond precision";
    SortEchoNull => "sort-echo-null", "list responses carry sort: null when the request gave no sort; KeyPageResponse documents sort as optional and nullable";
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error for an unrecognised variant name; lists the catalogue.
#[derive(Debug, thiserror::Error)]
#[error("unknown variant `{0}`; known variants: {list}, or `all`", list = names())]
pub struct UnknownVariant(pub String);

fn names() -> String {
    Variant::all()
        .iter()
        .map(|v| v.name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for Variant {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Variant::all()
            .iter()
            .copied()
            .find(|v| v.name() == s)
            .ok_or_else(|| UnknownVariant(s.to_string()))
    }
}

impl Variant {
    /// Parses CLI values: each is a variant name, a comma-separated list of names, or `all`
    /// (the whole catalogue). Duplicates are dropped; the first mention fixes the order.
    pub fn parse_list(names: &[String]) -> Result<Vec<Variant>, UnknownVariant> {
        let mut out: Vec<Variant> = Vec::new();
        for item in names.iter().flat_map(|n| n.split(',')) {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let found: Vec<Variant> = if item == "all" {
                Variant::all().to_vec()
            } else {
                vec![item.parse()?]
            };
            for v in found {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
        }
        Ok(out)
    }
}

/// The active variants of one server instance.
#[derive(Debug, Clone, Default)]
pub struct VariantSet(HashSet<Variant>);

impl VariantSet {
    pub fn new(variants: &[Variant]) -> Self {
        Self(variants.iter().copied().collect())
    }
    pub fn has(&self, v: Variant) -> bool {
        self.0.contains(&v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = HashSet::new();
        for v in Variant::all() {
            assert!(seen.insert(v.name()), "duplicate name {}", v.name());
            assert_eq!(v.name().parse::<Variant>().ok(), Some(*v));
            assert_eq!(v.to_string(), v.name());
            assert!(!v.description().is_empty());
            assert!(v
                .name()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        }
        assert!(!seen.contains("all"), "`all` is reserved");
    }

    #[test]
    fn parse_list_expands_all_and_rejects_unknown() {
        let all = Variant::parse_list(&["all".to_string()]).unwrap();
        assert_eq!(all, Variant::all());
        let two = Variant::parse_list(&[
            "list-lenient,rsa-encrypt".to_string(),
            "list-lenient".to_string(),
        ])
        .unwrap();
        assert_eq!(two, [Variant::ListLenient, Variant::RsaEncrypt]);
        assert!(Variant::parse_list(&[]).unwrap().is_empty());
        let e = Variant::parse_list(&["nope".to_string()]).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("nope") && msg.contains("rsa-encrypt") && msg.contains("all"));
        let set = VariantSet::new(&two);
        assert!(set.has(Variant::RsaEncrypt) && !set.has(Variant::ShuffledTies));
    }
}
