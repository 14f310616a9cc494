//! Fault catalogue: each fault switches on exactly one deliberate deviation from the contract,
//! so the harness can prove that its checks detect it. Faults combine freely.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

macro_rules! faults {
    ($( $variant:ident => $name:literal, $desc:literal; )*) => {
        /// One deliberate deviation of the reference server.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Fault { $( $variant, )* }

        impl Fault {
            /// Every fault, in catalogue order.
            pub fn all() -> &'static [Fault] {
                &[ $( Fault::$variant, )* ]
            }
            /// Stable kebab-case name (CLI flag value).
            pub fn name(&self) -> &'static str {
                match self { $( Fault::$variant => $name, )* }
            }
            /// One-line description of the deviation.
            pub fn description(&self) -> &'static str {
                match self { $( Fault::$variant => $desc, )* }
            }
        }
    };
}

faults! {
    DropRequiredField => "drop-required-field", "Key responses omit the required field `use_count`";
    WrongFieldType => "wrong-field-type", "Key.current_version is serialized as a string instead of an integer";
    ExtraUndocumentedField => "extra-undocumented-field", "Key responses carry an extra undocumented `internal_state` field";
    CreateReturns200 => "create-returns-200", "createKey answers 200 instead of the documented 201";
    TextContentType => "text-content-type", "success bodies are sent with Content-Type text/plain";
    ServerErrorOnLongDescription => "server-error-on-long-description", "a description longer than 100 characters yields 500 instead of 400";
    RejectLongRotateCycle => "reject-long-rotate-cycle", "createKey rejects rotate_cycle above 365 days although 730 is allowed (a positive-acceptance fault; shows shrinking)";
    AcceptInvalidName => "accept-invalid-name", "createKey accepts names violating the ^[a-z0-9]*$ pattern or 3..=63 length";
    DecryptCorrupts => "decrypt-corrupts", "decrypt flips the last plaintext byte when the plaintext is non-empty";
    CiphertextStaleVersion => "ciphertext-stale-version", "encrypt labels ciphertexts vault:v1: while encrypting with the current version";
    RewrapKeepsVersion => "rewrap-keeps-version", "rewrap returns the input ciphertext unchanged";
    VerifyAlwaysValid => "verify-always-valid", "verifyData returns valid:true for any well-formed signature";
    HmacVerifyAlwaysValid => "hmac-verify-always-valid", "verifyHmacWithInput returns valid:true for any well-formed hmac";
    DatakeyWrappedLeaksPlaintext => "datakey-wrapped-leaks-plaintext", "a wrapped datakey response includes the plaintext";
    DatakeyMismatch => "datakey-mismatch", "the datakey plaintext differs from what its ciphertext decrypts to";
    DescriptionNotPersisted => "description-not-persisted", "updateDescription answers with the new description but does not store it";
    RotateNoBump => "rotate-no-bump", "rotateKey does not increase current_version";
    CountIsPageLength => "count-is-page-length", "list count is the number of keys on the page instead of the total";
    SizeIgnored => "size-ignored", "list ignores size and returns every matching key";
    SortIgnored => "sort-ignored", "list ignores sort and always returns creation order";
    ManagedTypeLeak => "managed-type-leak", "managed_type is present in kms 1.0/1.1 Key responses";
    ManagedKmsBelow12 => "managed-kms-below-1-2", "managed-kms routes are served on kms 1.0/1.1";
    AuthIgnored => "auth-ignored", "any or no signature is accepted";
    StoppedKeyUsable => "stopped-key-usable", "a key in state Stop is still usable on the data plane";
    DeleteNotEffective => "delete-not-effective", "direct delete answers 204 but the key stays";
    DuplicateNameAllowed => "duplicate-name-allowed", "createKey accepts a name already used by another key";
    MissingVersionServedOldest => "missing-version-served-oldest", "a request without Scp-Api-Version is served as 1.0 instead of the CURRENT 1.3";
    UnknownVersionServed => "unknown-version-served", "an unknown Scp-Api-Version is served as 1.3 instead of 406";
    WrongErrorStatus => "wrong-error-status", "showKey of an unknown id answers 400 instead of 404";
    ErrorEnvelopeMissing => "error-envelope-missing", "errors are sent as a plain {\"message\":..} object without the envelope";
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error for an unrecognised fault name.
#[derive(Debug, thiserror::Error)]
#[error("unknown fault `{0}` (see `Fault::all()` for the catalogue)")]
pub struct UnknownFault(pub String);

impl FromStr for Fault {
    type Err = UnknownFault;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Fault::all()
            .iter()
            .copied()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFault(s.to_string()))
    }
}

/// The active faults of one server instance.
#[derive(Debug, Clone, Default)]
pub struct FaultSet(HashSet<Fault>);

impl FaultSet {
    pub fn new(faults: &[Fault]) -> Self {
        Self(faults.iter().copied().collect())
    }
    pub fn has(&self, f: Fault) -> bool {
        self.0.contains(&f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = HashSet::new();
        for f in Fault::all() {
            assert!(seen.insert(f.name()), "duplicate name {}", f.name());
            assert_eq!(f.name().parse::<Fault>().ok(), Some(*f));
            assert!(!f.description().is_empty());
            assert!(f
                .name()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        }
        assert!("no-such-fault".parse::<Fault>().is_err());
        assert!(Fault::all().len() >= 15, "at least 15 faults");
    }
}
