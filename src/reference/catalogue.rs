//! What every reference server's fault catalogue shares: the `fault_catalogue!` macro (an enum
//! of single deliberate deviations with stable kebab-case names and descriptions), the
//! unknown-name error, and the set of faults switched on in one server instance.

use std::collections::HashSet;
use std::hash::Hash;

/// Declares a fault enum: `fault_catalogue! { Name { Variant => "kebab-name", "what it does"; … } }`
/// gives `Name::all()`, `name()`, `description()`, `Display` and `FromStr` (error
/// [`UnknownFault`]).
macro_rules! fault_catalogue {
    ($enum:ident { $( $variant:ident => $name:literal, $desc:literal; )* }) => {
        /// One deliberate deviation of the reference server.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $enum { $( $variant, )* }

        impl $enum {
            /// Every fault, in catalogue order.
            pub fn all() -> &'static [$enum] {
                &[ $( $enum::$variant, )* ]
            }
            /// Stable kebab-case name (CLI flag value).
            pub fn name(&self) -> &'static str {
                match self { $( $enum::$variant => $name, )* }
            }
            /// One-line description of the deviation.
            pub fn description(&self) -> &'static str {
                match self { $( $enum::$variant => $desc, )* }
            }
        }

        impl std::fmt::Display for $enum {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl std::str::FromStr for $enum {
            type Err = $crate::reference::UnknownFault;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let s = s.trim();
                $enum::all()
                    .iter()
                    .copied()
                    .find(|f| f.name() == s)
                    .ok_or_else(|| $crate::reference::UnknownFault(s.to_string()))
            }
        }
    };
}
pub(crate) use fault_catalogue;

/// Error for an unrecognised fault name.
#[derive(Debug, thiserror::Error)]
#[error("unknown fault `{0}` (see `Fault::all()` for the catalogue)")]
pub struct UnknownFault(pub String);

/// The active faults of one server instance.
#[derive(Debug, Clone)]
pub struct FaultSet<F>(HashSet<F>);

impl<F: Copy + Eq + Hash> FaultSet<F> {
    pub fn new(faults: &[F]) -> Self {
        Self(faults.iter().copied().collect())
    }
    pub fn has(&self, f: F) -> bool {
        self.0.contains(&f)
    }
}

impl<F> Default for FaultSet<F> {
    fn default() -> Self {
        Self(HashSet::new())
    }
}

/// Test helper for each catalogue: names round-trip, are unique, kebab-case, described.
#[cfg(test)]
pub fn assert_catalogue<F>(
    all: &[F],
    name: impl Fn(&F) -> &'static str,
    desc: impl Fn(&F) -> &'static str,
    parse: impl Fn(&str) -> Option<F>,
) where
    F: Copy + PartialEq + std::fmt::Debug,
{
    let mut seen = HashSet::new();
    for f in all {
        assert!(seen.insert(name(f)), "duplicate name {}", name(f));
        assert_eq!(parse(name(f)), Some(*f));
        assert!(!desc(f).is_empty());
        assert!(name(f)
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
    }
    assert!(parse("no-such-fault").is_none());
}
