//! A bearer-style token in one header (OpenBao's `X-Vault-Token`). Nothing is timed, so the
//! scheme has no stale-timestamp case.

use super::{HttpRequest, Signer};
use crate::target::http::Auth;
use std::sync::Arc;

/// The scheme's name in an API profile.
pub const SCHEME: &str = "token";

pub struct TokenSigner {
    header: String,
    prefix: String,
    token: String,
}

impl TokenSigner {
    pub fn new(header: String, prefix: String, token: String) -> Self {
        Self {
            header,
            prefix,
            token,
        }
    }
}

impl Signer for TokenSigner {
    fn sign(&self, _req: &HttpRequest, _now_ms: i64) -> Vec<(String, String)> {
        vec![(
            self.header.clone(),
            format!("{}{}", self.prefix, self.token),
        )]
    }
    fn is_secret_header(&self, name: &str) -> bool {
        name.eq_ignore_ascii_case(&self.header)
    }
    fn negative_cases(&self) -> &'static [Auth] {
        &[Auth::Unsigned, Auth::WrongSignature]
    }
    fn wrong(&self) -> Arc<dyn Signer> {
        Arc::new(TokenSigner::new(
            self.header.clone(),
            self.prefix.clone(),
            format!("{}-not-valid", self.token),
        ))
    }
    fn curl_hint(&self, _method: &str, _url: &str) -> String {
        format!("export {}=<your token>", env_name(&self.header))
    }
    fn curl_hint_for(&self, method: &str, url: &str, auth: Auth) -> String {
        match auth {
            Auth::WrongSignature => format!("export {}=not-a-valid-token", env_name(&self.header)),
            _ => self.curl_hint(method, url),
        }
    }
}

/// `X-Vault-Token` → `X_VAULT_TOKEN`: the variable a curl line refers to.
pub fn env_name(header: &str) -> String {
    header.to_ascii_uppercase().replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_its_header_and_has_no_timed_case() {
        let s = TokenSigner::new("X-Vault-Token".into(), String::new(), "root".into());
        let input = HttpRequest {
            method: "GET",
            url: "http://h/v1/x",
            headers: &[],
            body: b"",
        };
        assert_eq!(
            s.sign(&input, 0),
            vec![("X-Vault-Token".to_string(), "root".to_string())]
        );
        assert!(s.is_secret_header("x-vault-token"));
        assert!(!s.negative_cases().contains(&Auth::StaleTimestamp));
        assert_ne!(s.wrong().sign(&input, 0), s.sign(&input, 0));
    }
}
