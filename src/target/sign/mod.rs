//! Request signers, one per auth scheme. A signer sees the whole request (method, absolute
//! URL, headers, body) and returns the headers to add. It also says which of its headers are
//! secret (redacted from every output) and which auth-negative cases its scheme has.

pub mod scp;
pub mod token;

use crate::target::http::Auth;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// What a signer may look at.
pub struct SignInput<'a> {
    /// Upper case.
    pub method: &'a str,
    /// The absolute URL exactly as it goes on the wire.
    pub url: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// Signs outgoing requests for one auth scheme.
pub trait Signer: Send + Sync {
    /// Headers to add, signed at `now_ms` (Unix epoch milliseconds).
    fn sign(&self, req: &SignInput, now_ms: i64) -> Vec<(String, String)>;
    /// True for header names whose values are secret (signatures, tokens).
    fn is_secret_header(&self, name: &str) -> bool;
    /// The auth-negative cases this scheme has (no stale timestamp for a token).
    fn negative_cases(&self) -> &'static [Auth];
    /// The same scheme with credentials the target must refuse.
    fn wrong(&self) -> Arc<dyn Signer>;
    /// One shell line that computes the signing headers' environment variables for a
    /// pasted curl command of `method` on `url`.
    fn curl_hint(&self, method: &str, url: &str) -> String;
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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignerError {
    #[error("unknown auth scheme '{0}' (known: scp-hmac-sha256, token)")]
    UnknownScheme(String),
    #[error("the '{scheme}' scheme needs {name} (set {env})")]
    Missing {
        scheme: String,
        name: String,
        env: String,
    },
}

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
        "scp-hmac-sha256" => Ok(Arc::new(scp::ScpSigner::new(Credentials {
            access_key: need("access_key")?,
            secret_key: need("secret_key")?,
            account_id: creds.get("account_id").unwrap_or_default().to_string(),
        }))),
        "token" => Ok(Arc::new(token::TokenSigner::new(
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
}
