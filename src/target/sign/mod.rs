//! Request signers, one per auth scheme. A signer sees the whole request (method, absolute
//! URL, headers, body) and returns the headers to add. It also says which of its headers are
//! secret (redacted from every output) and which auth-negative cases its scheme has.

pub mod ncp;
pub mod otc;
pub mod scp;
pub mod token;

use crate::target::http::Auth;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// Signs outgoing requests for one auth scheme.
pub trait Signer: Send + Sync {
    /// Headers to add, signed at `now_ms` (Unix epoch milliseconds).
    fn sign(&self, req: &HttpRequest, now_ms: i64) -> Vec<(String, String)>;
    /// True for header names whose values are secret (signatures, tokens).
    fn is_secret_header(&self, name: &str) -> bool;
    /// The auth-negative cases this scheme has (no stale timestamp for a token).
    fn negative_cases(&self) -> &'static [Auth];
    /// The same scheme with credentials the target must refuse.
    fn wrong(&self) -> Arc<dyn Signer>;
    /// One shell line that computes the signing headers' environment variables for a
    /// pasted curl command of `method` on `url`.
    fn curl_hint(&self, method: &str, url: &str) -> String;
    /// The hint for a case signed as `auth` says (`WrongSignature`, `StaleTimestamp`), so
    /// that the pasted curl line sends what the case sent. By default the ordinary hint:
    /// schemes with negative cases override it.
    fn curl_hint_for(&self, method: &str, url: &str, auth: Auth) -> String {
        let _ = auth;
        self.curl_hint(method, url)
    }
}

/// Access key / secret key pair plus the optional account scope (HMAC schemes).
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

/// Named credential values, as a profile's `auth.env` names them (`access_key`,
/// `secret_key`, `token`…). Values other than access keys and account ids are secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CredentialSet(pub BTreeMap<String, String>);

impl CredentialSet {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }
    pub fn is_public(name: &str) -> bool {
        matches!(name, "access_key" | "account_id")
    }
    /// The secret values, to scrub from every output.
    pub fn secret_values(&self) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| !Self::is_public(k) && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect()
    }
}

impl fmt::Debug for CredentialSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in &self.0 {
            if Self::is_public(k) {
                m.entry(k, v);
            } else {
                m.entry(k, &"<redacted>");
            }
        }
        m.finish()
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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignerError {
    #[error("unknown auth scheme '{0}' (known: {known})", known = SCHEMES.join(", "))]
    UnknownScheme(String),
    #[error("the '{scheme}' scheme needs {name} (set {env})")]
    Missing {
        scheme: String,
        name: String,
        env: String,
    },
}

/// Every auth scheme a profile may name.
pub const SCHEMES: &[&str] = &[scp::SCHEME, token::SCHEME, ncp::SCHEME, otc::SCHEME];

/// The signer of a profile's auth scheme with these credentials; `env` names where each
/// credential comes from, for the error message.
pub fn for_scheme(
    scheme: &str,
    params: &BTreeMap<String, String>,
    creds: &CredentialSet,
    env: &dyn Fn(&str) -> String,
) -> Result<Arc<dyn Signer>, SignerError> {
    let need = |name: &str| {
        creds
            .get(name)
            .map(String::from)
            .ok_or_else(|| SignerError::Missing {
                scheme: scheme.into(),
                name: name.into(),
                env: env(name),
            })
    };
    match scheme {
        s if s == scp::SCHEME => Ok(Arc::new(scp::ScpSigner::new(Credentials {
            access_key: need("access_key")?,
            secret_key: need("secret_key")?,
            account_id: creds.get("account_id").unwrap_or_default().to_string(),
        }))),
        s if s == ncp::SCHEME => Ok(Arc::new(ncp::NcpSigner {
            credentials: Credentials {
                access_key: need("access_key")?,
                secret_key: need("secret_key")?,
                account_id: String::new(),
            },
        })),
        s if s == otc::SCHEME => Ok(Arc::new(otc::OtcSigner {
            credentials: Credentials {
                access_key: need("access_key")?,
                secret_key: need("secret_key")?,
                account_id: String::new(),
            },
        })),
        s if s == token::SCHEME => Ok(Arc::new(token::TokenSigner::new(
            params
                .get("header")
                .cloned()
                .unwrap_or_else(|| "Authorization".into()),
            params.get("prefix").cloned().unwrap_or_default(),
            need("token")?,
        ))),
        other => Err(SignerError::UnknownScheme(other.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_secrets() {
        let c = Credentials {
            access_key: "AK".into(),
            secret_key: "super-secret-value".into(),
            account_id: String::new(),
        };
        let s = format!("{c:?}");
        assert!(!s.contains("super-secret-value"));
        assert!(s.contains("AK"));
        let set = CredentialSet(
            [("access_key", "AK"), ("token", "tok-secret")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        let s = format!("{set:?}");
        assert!(!s.contains("tok-secret") && s.contains("AK"));
        assert_eq!(set.secret_values(), vec!["tok-secret".to_string()]);
    }

    #[test]
    fn schemes_name_what_they_miss() {
        let e = for_scheme("token", &BTreeMap::new(), &CredentialSet::default(), &|n| {
            format!("ENV_{n}")
        })
        .err()
        .unwrap();
        assert_eq!(
            e.to_string(),
            "the 'token' scheme needs token (set ENV_token)"
        );
        assert!(
            for_scheme("nope", &BTreeMap::new(), &CredentialSet::default(), &|n| n
                .into())
            .is_err()
        );
    }
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
