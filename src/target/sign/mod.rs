//! Request signers, one per API family.
//!
//! The trait is deliberately API-agnostic: a signer only sees the method, the absolute URL as it
//! will go on the wire and the clock, and returns the headers to attach.
//!
//! The NCP and OTC signers are pure functions over a whole [`HttpRequest`] (method, absolute URL,
//! headers, body) plus the clock and the credentials; each also has the verification function
//! its reference server uses.

pub mod ncp;
pub mod otc;
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

/// A request as a signer sees it: everything that may go into a signature.
#[derive(Debug, Clone, Copy)]
pub struct HttpRequest<'a> {
    /// HTTP method (any case; signers upper-case it).
    pub method: &'a str,
    /// Absolute URL exactly as it goes on the wire: `scheme://authority/path?query`.
    pub url: &'a str,
    /// Headers as sent (names in any case).
    pub headers: &'a [(String, String)],
    /// Body bytes as sent (empty for none).
    pub body: &'a [u8],
}

impl HttpRequest<'_> {
    /// First value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An absolute URL split as written (nothing decoded or normalised).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlParts<'a> {
    pub scheme: &'a str,
    /// `host[:port]` as written, without user info.
    pub authority: &'a str,
    /// Starts with `/` (`/` when the URL has no path).
    pub path: &'a str,
    /// Without the `?`; None when the URL has no `?`.
    pub query: Option<&'a str>,
}

/// The URL a signer was given is not absolute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an absolute http(s) URL: {0}")]
pub struct SignError(pub String);

/// Splits `scheme://authority/path?query#fragment` without decoding anything.
pub fn split_url(url: &str) -> Result<UrlParts<'_>, SignError> {
    let bad = || SignError(url.to_string());
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return Err(bad());
    }
    let rest = rest.split('#').next().unwrap_or_default();
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let authority = authority.rsplit('@').next().unwrap_or_default();
    if authority.is_empty() {
        return Err(bad());
    }
    let tail = &rest[end..];
    let (path, query) = match tail.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (tail, None),
    };
    Ok(UrlParts {
        scheme,
        authority,
        path: if path.is_empty() { "/" } else { path },
        query,
    })
}

/// Why a server refuses a request's signature. Messages never contain the secret or the
/// received signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing header {0}")]
    MissingHeader(String),
    #[error("malformed {header}: {reason}")]
    Malformed { header: String, reason: String },
    #[error("{header} is outside the allowed clock skew of {skew_secs} s")]
    ClockSkew { header: String, skew_secs: i64 },
    #[error("unknown access key")]
    UnknownAccessKey,
    #[error("signature does not match")]
    SignatureMismatch,
}

/// Constant-time equality of two byte strings (length is not secret).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// HMAC-SHA256 of `msg` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key)
        .expect("HMAC-SHA256 accepts any key length");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_as_written() {
        let u = split_url("https://u:p@h.example:8443/a%2Fb/c?x=1&y#frag").unwrap();
        assert_eq!(
            u,
            UrlParts {
                scheme: "https",
                authority: "h.example:8443",
                path: "/a%2Fb/c",
                query: Some("x=1&y")
            }
        );
        let u = split_url("http://h?q").unwrap();
        assert_eq!((u.path, u.query), ("/", Some("q")));
        assert!(split_url("/relative/path").is_err());
        assert!(split_url("http:///nohost").is_err());
    }

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
