//! Fault catalogue: each fault switches on exactly one deliberate deviation from the contract,
//! so the harness can prove that its checks detect it. Faults combine freely.

use super::catalogue::fault_catalogue;

fault_catalogue! { Fault {
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
} }

/// The active faults of one server instance.
pub type FaultSet = super::catalogue::FaultSet<Fault>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

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
