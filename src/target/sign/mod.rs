//! Request signers, one per API family.
//!
//! The trait is deliberately API-agnostic: a signer only sees the method, the absolute URL as it
//! will go on the wire and the clock, and returns the headers to attach.

pub mod scp;

use std::fmt;

/// Signs outgoing requests for one API family.
pub trait Signer: Send + Sync {
    /// Headers to add to a request for `method` on the absolute `url`, signed at `now_ms`
    /// (Unix epoch milliseconds).
    fn sign(&self, method: &str, url: &str, now_ms: i64) -> Vec<(String, String)>;
    /// True for header names whose values are secret (signatures) and must be redacted in logs.
    fn redact(&self, name: &str) -> bool;
}

/// Access key / secret key pair plus the optional account scope.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
    pub account_id: String,
}

impl fmt::Debug for Credentials {
    // Never print the secret: credentials end up in logs and reports.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("account_id", &self.account_id)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_secret() {
        let c = Credentials {
            access_key: "AK".into(),
            secret_key: "super-secret-value".into(),
            account_id: String::new(),
        };
        let s = format!("{c:?}");
        assert!(!s.contains("super-secret-value"));
        assert!(s.contains("AK"));
    }
}
