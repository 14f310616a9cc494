//! Plaintexts for the crypto properties: many lengths (empty, one byte, around the cipher
//! block and tag sizes, up to several KiB), each filled with bytes drawn by proptest from the
//! run's seed and the length alone, so a case id that names the length reproduces the value.

use base64::Engine as _;
use proptest::strategy::{Strategy, ValueTree};

/// Length classes in bytes, smallest first: the first length that fails is the minimal
/// failing one among them (shrinking by construction).
pub const LENGTHS: &[usize] = &[
    0, 1, 2, 15, 16, 17, 31, 32, 33, 64, 255, 256, 1000, 4096, 8192,
];

/// The bytes of the plaintext of `len` for `seed`, as standard padded base64.
pub fn plaintext_b64(seed: u64, len: usize) -> String {
    let strategy = proptest::collection::vec(proptest::num::u8::ANY, len);
    let mut runner = crate::case::runner(seed, &format!("plaintext/{len}"));
    let bytes = strategy
        .new_tree(&mut runner)
        .map(|t| t.current())
        .unwrap_or_else(|_| vec![0; len]);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The lengths a `repeat` group runs: all classes, or only `only` (a replayed case).
pub fn lengths(only: Option<usize>) -> Vec<usize> {
    match only {
        Some(n) => vec![n],
        None => LENGTHS.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintexts_have_their_length_and_depend_on_seed_and_length_only() {
        for &n in LENGTHS {
            let b = plaintext_b64(7, n);
            let raw = base64::engine::general_purpose::STANDARD
                .decode(&b)
                .unwrap();
            assert_eq!(raw.len(), n);
            assert_eq!(plaintext_b64(7, n), b, "reproducible");
        }
        assert_ne!(plaintext_b64(7, 32), plaintext_b64(8, 32));
        let classes: std::collections::BTreeSet<usize> = LENGTHS.iter().copied().collect();
        assert!(classes.len() >= 5 && classes.contains(&0) && classes.contains(&1));
    }
}
