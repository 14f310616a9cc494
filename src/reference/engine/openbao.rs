//! A small client of an OpenBao transit mount: the calls the SCP reference delegates to it
//! (docs/openbao.md records the request and response shapes it relies on, §1–§14).
//!
//! Every answer is read from the success envelope's `data` (§1); an error is the status and
//! the `errors` strings. The token goes in `X-Vault-Token` and never into a message.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

use super::OpenBaoConfig;
use crate::reference::crypto::{Purpose, B64};

/// Per-request bound for a transit call (an RSA key is generated inside create).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound for the start-up probes.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// What went wrong with one transit call.
#[derive(Debug, Clone)]
pub enum TransitError {
    /// OpenBao answered with an error status; `message` joins its `errors` strings.
    Status { status: u16, message: String },
    /// No usable answer: connection refused, timeout, a body that is not the envelope.
    Transport(String),
}

impl TransitError {
    /// §13: every transit operation but read names a missing key in a 400 "… not found".
    pub fn is_not_found(&self) -> bool {
        matches!(self, TransitError::Status { status: 400, message } if message.contains("not found"))
    }
    pub fn status(&self) -> Option<u16> {
        match self {
            TransitError::Status { status, .. } => Some(*status),
            TransitError::Transport(_) => None,
        }
    }
    pub fn message(&self) -> String {
        match self {
            TransitError::Status { message, .. } => message.clone(),
            TransitError::Transport(m) => m.clone(),
        }
    }
}

impl std::fmt::Display for TransitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransitError::Status { status, message } => {
                write!(f, "OpenBao answered {status}: {message}")
            }
            TransitError::Transport(m) => write!(f, "OpenBao did not answer usably: {m}"),
        }
    }
}

/// One transit mount of one OpenBao server.
pub struct Transit {
    http: reqwest::Client,
    /// `scheme://host[:port]` (a path prefix kept), no trailing slash.
    addr: String,
    mount: String,
    token: String,
}

/// `errors` strings of an error body, without the request router's "1 error occurred" frame
/// (§1).
fn error_message(body: &Value) -> String {
    let parts: Vec<String> = body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|s| {
                    let s = s.trim();
                    let s = s
                        .strip_prefix("1 error occurred:")
                        .map(str::trim)
                        .unwrap_or(s);
                    s.strip_prefix("* ").unwrap_or(s).trim().to_string()
                })
                .collect()
        })
        .unwrap_or_default();
    if parts.is_empty() {
        "(no message)".to_string()
    } else {
        parts.join("; ")
    }
}

/// The transit key type of an SCP purpose; ARIA has none (docs/reference.md, "On a real
/// engine").
pub fn transit_type(p: Purpose) -> Option<&'static str> {
    match p {
        Purpose::Aes256Gcm96 => Some("aes256-gcm96"),
        Purpose::Rsa2048 => Some("rsa-2048"),
        Purpose::EcdsaP256 => Some("ecdsa-p256"),
        Purpose::Hmac => Some("hmac"),
        Purpose::Aria => None,
    }
}

fn str_field(data: &Value, field: &str) -> Result<String, TransitError> {
    data[field].as_str().map(str::to_string).ok_or_else(|| {
        TransitError::Transport(format!("the answer has no string data.{field}: {data}"))
    })
}

fn version_field(data: &Value) -> Result<u32, TransitError> {
    data["key_version"]
        .as_u64()
        .or_else(|| data["latest_version"].as_u64())
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| TransitError::Transport(format!("the answer has no key version: {data}")))
}

fn b64_field(data: &Value, field: &str) -> Result<Vec<u8>, TransitError> {
    B64.decode(str_field(data, field)?)
        .map_err(|e| TransitError::Transport(format!("data.{field} is not base64: {e}")))
}

impl Transit {
    pub fn new(cfg: &OpenBaoConfig) -> Transit {
        let mut b = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none());
        if cfg.is_loopback() {
            // A loopback server is never reached through a proxy.
            b = b.no_proxy();
        }
        Transit {
            http: b.build().unwrap_or_default(),
            addr: cfg.addr.clone(),
            mount: cfg.mount.clone(),
            token: cfg.token.clone(),
        }
    }

    /// The transit key name of an SCP key id.
    pub fn key_name(id: &str) -> String {
        format!("scp-{id}")
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        timeout: Duration,
    ) -> Result<Option<Value>, TransitError> {
        let url = format!("{}/v1/{path}", self.addr);
        let mut rb = self
            .http
            .request(method, &url)
            .header("X-Vault-Token", &self.token)
            .timeout(timeout);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb
            .send()
            .await
            .map_err(|e| TransitError::Transport(format!("{url}: {}", without_url(&e))))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| TransitError::Transport(format!("{url}: {}", without_url(&e))))?;
        if status == 204 {
            return Ok(None);
        }
        let v: Value = serde_json::from_slice(&bytes).map_err(|_| {
            TransitError::Transport(format!(
                "{url} answered {status} with a body that is not JSON"
            ))
        })?;
        if (200..300).contains(&status) {
            Ok(Some(v))
        } else {
            Err(TransitError::Status {
                status,
                message: error_message(&v),
            })
        }
    }

    /// POST to `<mount>/<path>` and return the envelope's `data`.
    async fn post(&self, path: &str, body: Value) -> Result<Value, TransitError> {
        let v = self
            .call(
                reqwest::Method::POST,
                &format!("{}/{path}", self.mount),
                Some(body),
                CALL_TIMEOUT,
            )
            .await?;
        Ok(v.map(|mut v| v["data"].take()).unwrap_or(Value::Null))
    }

    /// Once, before serving: the server is healthy (`sys/health` 200) and the token reads a
    /// transit mount at `<mount>/`. Returns e.g. `OpenBao 2.7.2`.
    pub async fn check(&self) -> Result<String, String> {
        let health = self
            .call(reqwest::Method::GET, "sys/health", None, CHECK_TIMEOUT)
            .await
            .map_err(|e| match e {
                TransitError::Transport(m) => format!("cannot reach OpenBao: {m}"),
                e @ TransitError::Status { .. } => format!(
                    "OpenBao at {} is not ready ({}): GET /v1/sys/health must answer 200",
                    self.addr, e
                ),
            })?
            .unwrap_or(Value::Null);
        let version = health["version"].as_str().unwrap_or("?").to_string();
        let mount = self
            .call(
                reqwest::Method::GET,
                &format!("sys/mounts/{}", self.mount),
                None,
                CHECK_TIMEOUT,
            )
            .await
            .map_err(|e| match e.status() {
                Some(403) => format!(
                    "OpenBao at {} refused the token (403 on GET /v1/sys/mounts/{}): check BAO_TOKEN or VAULT_TOKEN",
                    self.addr, self.mount
                ),
                Some(400) | Some(404) => format!(
                    "OpenBao at {} has no secrets engine mounted at {}/ ({}); enable one with `bao secrets enable transit`",
                    self.addr, self.mount, e.message()
                ),
                _ => format!("OpenBao at {}: {e}", self.addr),
            })?
            .unwrap_or(Value::Null);
        let kind = mount["type"]
            .as_str()
            .or_else(|| mount["data"]["type"].as_str())
            .unwrap_or("");
        if kind != "transit" {
            return Err(format!(
                "OpenBao at {}: the engine mounted at {}/ is '{kind}', not transit",
                self.addr, self.mount
            ));
        }
        Ok(format!("OpenBao {version}"))
    }

    /// Creates the key (§2; hmac keys need `key_size`, without it OpenBao answers 500) and
    /// returns its latest version.
    pub async fn create_key(&self, name: &str, purpose: Purpose) -> Result<u32, TransitError> {
        let Some(kind) = transit_type(purpose) else {
            return Err(TransitError::Transport(format!(
                "transit has no key type for {}",
                purpose.as_str()
            )));
        };
        let body = if purpose == Purpose::Hmac {
            json!({"type": kind, "key_size": 32})
        } else {
            json!({"type": kind})
        };
        let data = self.post(&format!("keys/{name}"), body).await?;
        let got = data["type"].as_str().unwrap_or("");
        if got != kind {
            // Creating an existing name answers the existing key (E2.9).
            return Err(TransitError::Transport(format!(
                "transit key {name} exists with type '{got}', not {kind}"
            )));
        }
        version_field(&data)
    }

    /// §6: rotate, and the new latest version.
    pub async fn rotate(&self, name: &str) -> Result<u32, TransitError> {
        let data = self.post(&format!("keys/{name}/rotate"), json!({})).await?;
        version_field(&data)
    }

    /// §12: `deletion_allowed` first, then DELETE. A key that is already gone is not an error.
    pub async fn delete_key(&self, name: &str) -> Result<(), TransitError> {
        match self
            .post(
                &format!("keys/{name}/config"),
                json!({"deletion_allowed": true}),
            )
            .await
        {
            Ok(_) => {}
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e),
        }
        match self
            .call(
                reqwest::Method::DELETE,
                &format!("{}/keys/{name}", self.mount),
                None,
                CALL_TIMEOUT,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// §5: (ciphertext, key_version).
    pub async fn encrypt(&self, name: &str, pt: &[u8]) -> Result<(String, u32), TransitError> {
        let data = self
            .post(
                &format!("encrypt/{name}"),
                json!({"plaintext": B64.encode(pt)}),
            )
            .await?;
        Ok((str_field(&data, "ciphertext")?, version_field(&data)?))
    }

    /// §5: the plaintext bytes.
    pub async fn decrypt(&self, name: &str, ct: &str) -> Result<Vec<u8>, TransitError> {
        let data = self
            .post(&format!("decrypt/{name}"), json!({"ciphertext": ct}))
            .await?;
        b64_field(&data, "plaintext")
    }

    /// §7: (ciphertext under the latest version, key_version).
    pub async fn rewrap(&self, name: &str, ct: &str) -> Result<(String, u32), TransitError> {
        let data = self
            .post(&format!("rewrap/{name}"), json!({"ciphertext": ct}))
            .await?;
        Ok((str_field(&data, "ciphertext")?, version_field(&data)?))
    }

    /// §9: a 256-bit data key: (ciphertext, key_version, plaintext when `plaintext`).
    pub async fn datakey(
        &self,
        name: &str,
        plaintext: bool,
    ) -> Result<(String, u32, Option<Vec<u8>>), TransitError> {
        let kind = if plaintext { "plaintext" } else { "wrapped" };
        let data = self
            .post(&format!("datakey/{kind}/{name}"), json!({"bits": 256}))
            .await?;
        let pt = if plaintext {
            Some(b64_field(&data, "plaintext")?)
        } else {
            None
        };
        Ok((str_field(&data, "ciphertext")?, version_field(&data)?, pt))
    }

    /// §10: (signature, key_version), with transit's defaults (SHA-256; RSA-PSS for rsa-2048,
    /// ASN.1 for ECDSA).
    pub async fn sign(&self, name: &str, input: &[u8]) -> Result<(String, u32), TransitError> {
        let data = self
            .post(&format!("sign/{name}"), json!({"input": B64.encode(input)}))
            .await?;
        Ok((str_field(&data, "signature")?, version_field(&data)?))
    }

    /// §10/§11: verify a `signature` or an `hmac` (`field`).
    pub async fn verify(
        &self,
        name: &str,
        input: &[u8],
        field: &str,
        value: &str,
    ) -> Result<bool, TransitError> {
        let mut body = json!({"input": B64.encode(input)});
        body[field] = Value::String(value.to_string());
        let data = self.post(&format!("verify/{name}"), body).await?;
        data["valid"].as_bool().ok_or_else(|| {
            TransitError::Transport(format!("the answer has no boolean data.valid: {data}"))
        })
    }

    /// §11: the hmac string (HMAC-SHA256 with the latest version).
    pub async fn hmac(&self, name: &str, input: &[u8]) -> Result<String, TransitError> {
        let data = self
            .post(&format!("hmac/{name}"), json!({"input": B64.encode(input)}))
            .await?;
        str_field(&data, "hmac")
    }
}

/// A reqwest error's text without the URL (the caller names it once).
fn without_url(e: &reqwest::Error) -> String {
    let mut out = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "connection failed".to_string()
    } else {
        "request failed".to_string()
    };
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_lose_the_router_frame() {
        let v = json!({"errors": ["1 error occurred:\n\t* invalid key size for HMAC key\n\n"]});
        assert_eq!(error_message(&v), "invalid key size for HMAC key");
        assert_eq!(
            error_message(&json!({"errors": ["cipher: message authentication failed"]})),
            "cipher: message authentication failed"
        );
        assert_eq!(error_message(&json!({"errors": []})), "(no message)");
    }

    #[test]
    fn not_found_is_a_400_naming_it() {
        let e = TransitError::Status {
            status: 400,
            message: "encryption key not found".into(),
        };
        assert!(e.is_not_found());
        let e = TransitError::Status {
            status: 400,
            message: "cipher: message authentication failed".into(),
        };
        assert!(!e.is_not_found());
    }

    #[test]
    fn every_purpose_but_aria_has_a_transit_type() {
        for p in Purpose::ALL {
            assert_eq!(transit_type(p).is_none(), p == Purpose::Aria, "{p:?}");
        }
    }
}
