//! Samsung Cloud Platform OpenAPI request signing (HMAC-SHA256 over method + URL + timestamp +
//! access key + account id + client type). See `notes/protocols.md` section 1.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{Credentials, HttpRequest, Signer};
use crate::target::http::Auth;
use std::sync::Arc;

/// The scheme's name in an API profile.
pub const SCHEME: &str = "scp-hmac-sha256";

/// The only client type the SCP gateway accepts for programmatic calls; it is part of the message.
pub const CLIENT_TYPE: &str = "Openapi";

/// Builds the signed message exactly as the gateway does: no separators, URL as on the wire.
pub fn scp_message(
    method: &str,
    url: &str,
    timestamp_ms: &str,
    access_key: &str,
    account_id: &str,
) -> String {
    let mut m = String::with_capacity(method.len() + url.len() + 64);
    m.push_str(&method.to_ascii_uppercase());
    m.push_str(url);
    m.push_str(timestamp_ms);
    m.push_str(access_key);
    m.push_str(account_id);
    m.push_str(CLIENT_TYPE);
    m
}

/// base64 (standard, padded) of HMAC-SHA256(secret, message).
pub fn scp_signature(
    secret: &str,
    method: &str,
    url: &str,
    timestamp_ms: &str,
    access_key: &str,
    account_id: &str,
) -> String {
    let msg = scp_message(method, url, timestamp_ms, access_key, account_id);
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC-SHA256 accepts any key length");
    mac.update(msg.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Signs requests with SCP access-key credentials.
#[derive(Debug, Clone)]
pub struct ScpSigner {
    pub credentials: Credentials,
}

impl ScpSigner {
    pub fn new(credentials: Credentials) -> Self {
        Self { credentials }
    }

    /// The headers for `method` on `url` (the scheme signs nothing else).
    pub fn sign_url(&self, method: &str, url: &str, now_ms: i64) -> Vec<(String, String)> {
        let input = HttpRequest {
            method,
            url,
            headers: &[],
            body: b"",
        };
        self.sign(&input, now_ms)
    }
}

impl Signer for ScpSigner {
    fn sign(&self, req: &HttpRequest, now_ms: i64) -> Vec<(String, String)> {
        let (method, url) = (req.method, req.url);
        // The gateway expects exactly 13 digits (epoch milliseconds).
        let ts = format!("{now_ms:013}");
        let c = &self.credentials;
        let sig = scp_signature(
            &c.secret_key,
            method,
            url,
            &ts,
            &c.access_key,
            &c.account_id,
        );
        let mut h = vec![
            ("Scp-Accesskey".to_string(), c.access_key.clone()),
            ("Scp-Signature".to_string(), sig),
            ("Scp-Timestamp".to_string(), ts),
            ("Scp-ClientType".to_string(), CLIENT_TYPE.to_string()),
        ];
        if !c.account_id.is_empty() {
            h.push(("Scp-AccountId".to_string(), c.account_id.clone()));
        }
        h.push(("Accept-Language".to_string(), "en-US".to_string()));
        h
    }

    fn is_secret_header(&self, name: &str) -> bool {
        name.eq_ignore_ascii_case("Scp-Signature")
    }

    fn negative_cases(&self) -> &'static [Auth] {
        &[Auth::Unsigned, Auth::WrongSignature, Auth::StaleTimestamp]
    }

    fn wrong(&self) -> Arc<dyn Signer> {
        Arc::new(ScpSigner::new(Credentials {
            secret_key: format!("{}-wrong", self.credentials.secret_key),
            ..self.credentials.clone()
        }))
    }

    fn curl_hint(&self, method: &str, url: &str) -> String {
        self.curl_hint_for(method, url, Auth::Signed)
    }

    /// A wrong signature is made with the secret key the harness uses for it (the real one
    /// with `-wrong` appended); a stale timestamp is one hour old, as the case sent it.
    fn curl_hint_for(&self, method: &str, url: &str, auth: Auth) -> String {
        let (now, secret) = match auth {
            Auth::StaleTimestamp => ("$(( $(date +%s%3N) - 3600000 ))", "$SCP_SECRET_KEY"),
            Auth::WrongSignature => ("$(date +%s%3N)", "$SCP_SECRET_KEY-wrong"),
            Auth::Signed | Auth::Unsigned => ("$(date +%s%3N)", "$SCP_SECRET_KEY"),
        };
        format!(
            "export SCP_TIMESTAMP={now}; export SCP_SIGNATURE=$(printf %s {} {} \"${{SCP_TIMESTAMP}}${{SCP_ACCESS_KEY}}${{SCP_ACCOUNT_ID}}{CLIENT_TYPE}\" | openssl dgst -sha256 -hmac \"{secret}\" -binary | base64)",
            crate::target::shell_quote(&method.to_ascii_uppercase()),
            crate::target::shell_quote(url)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://kms.kr-west1.e.samsungsdscloud.com";

    #[test]
    fn vector_post_encrypt() {
        let url = format!("{BASE}/v1/kms/openapi/encrypt/0123456789abcdef0123456789abcdef");
        assert_eq!(
            scp_signature(
                "TESTSECRETKEY",
                "POST",
                &url,
                "1605290625682",
                "TESTACCESSKEY",
                ""
            ),
            "jqCHDStWY626XUYLjf/LuxO9SzKthUBZwNkl0zeLUA0="
        );
    }

    #[test]
    fn vector_get_list() {
        let url = format!("{BASE}/v1/kms/transit?page=0&size=20");
        assert_eq!(
            scp_signature(
                "TESTSECRETKEY",
                "GET",
                &url,
                "1605290625682",
                "TESTACCESSKEY",
                ""
            ),
            "7SOoGUkH5Azv9g5VMIdC3yl66rh332P3hI0zPSBCMEk="
        );
    }

    #[test]
    fn signer_headers() {
        let s = ScpSigner::new(Credentials {
            access_key: "TESTACCESSKEY".into(),
            secret_key: "TESTSECRETKEY".into(),
            account_id: String::new(),
        });
        let url = format!("{BASE}/v1/kms/transit?page=0&size=20");
        let input = HttpRequest {
            method: "GET",
            url: &url,
            headers: &[],
            body: b"",
        };
        let h = s.sign(&input, 1605290625682);
        let get = |n: &str| h.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        assert_eq!(
            get("Scp-Signature").as_deref(),
            Some("7SOoGUkH5Azv9g5VMIdC3yl66rh332P3hI0zPSBCMEk=")
        );
        assert_eq!(get("Scp-Timestamp").as_deref(), Some("1605290625682"));
        assert_eq!(get("Scp-ClientType").as_deref(), Some("Openapi"));
        assert_eq!(get("Scp-AccountId"), None);
        assert!(s.is_secret_header("scp-signature"));
        assert!(!s.is_secret_header("Scp-Accesskey"));
        assert_ne!(s.wrong().sign(&input, 1605290625682), h);
    }
}
