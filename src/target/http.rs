//! Sending one request to a target and capturing what came back, bounded in time and size.
//! Transport failures are values (`Transport`), not panics: the runner turns them into
//! findings or, when nothing answers at all, into the "unreachable" exit code.

use crate::target::sign::Signer;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One HTTP request as the harness describes it (path already filled in).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Request {
    pub method: String,
    /// Path with parameters substituted, e.g. `/v1/kms/transit/abc`.
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Extra headers (the version header, or deliberate auth tampering).
    pub headers: Vec<(String, String)>,
    pub body: Option<Body>,
    /// How to sign: normally; not at all; or with a wrong secret.
    pub auth: Auth,
}

impl Request {
    /// Stands in for a request that could not be built (a broken suite binding): the
    /// failure is recorded against it.
    pub fn not_sent() -> Self {
        Request {
            method: "-".into(),
            path: "-".into(),
            query: vec![],
            headers: vec![],
            body: None,
            auth: Auth::Signed,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    Json(Value),
    /// Sent verbatim with `Content-Type: application/json` (malformed-JSON cases).
    Raw(String),
}

#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Auth {
    #[default]
    Signed,
    Unsigned,
    /// Signed, then the signature is replaced by a well-formed wrong one.
    WrongSignature,
    /// Signed with a timestamp 1 hour in the past.
    StaleTimestamp,
}

#[derive(Debug, Clone, Serialize)]
pub struct Response {
    pub status: u16,
    pub content_type: Option<String>,
    /// Body as text (lossy UTF-8), capped at the client's limit.
    pub text: String,
    /// Parsed body when it is JSON.
    #[serde(skip)]
    pub json: Option<Value>,
    pub truncated: bool,
    pub elapsed_ms: u64,
    /// Deprecation-related headers, kept for the deprecation report.
    pub notable_headers: Vec<(String, String)>,
}

#[derive(Debug, Clone, thiserror::Error, Serialize)]
pub enum Transport {
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("no response within {0} ms")]
    Timeout(u64),
    #[error("transport error: {0}")]
    Other(String),
}

impl Transport {
    pub fn is_connect(&self) -> bool {
        matches!(self, Transport::Connect(_))
    }
}

pub struct Client {
    base_url: String,
    http: reqwest::Client,
    signer: Arc<dyn Signer>,
    /// Signer with a wrong secret, for `Auth::WrongSignature`.
    wrong_signer: Arc<dyn Signer>,
    max_body: usize,
    timeout: Duration,
}

impl Client {
    pub fn new(
        base_url: &str,
        signer: Arc<dyn Signer>,
        wrong_signer: Arc<dyn Signer>,
        timeout: Duration,
        max_body: usize,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .pool_max_idle_per_host(256)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            http,
            signer,
            wrong_signer,
            max_body,
            timeout,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Signing headers for a reproduction line: values that are secret or change with time
    /// become environment references (`$SCP_SIGNATURE`), stable public ones stay literal.
    pub fn curl_auth_headers(&self) -> Vec<String> {
        let a = self.signer.sign("GET", &self.base_url, 1_000_000_000_000);
        let b = self.signer.sign("GET", &self.base_url, 1_000_000_000_001);
        a.iter()
            .map(|(k, v)| {
                let stable = b.iter().any(|(k2, v2)| k2 == k && v2 == v);
                if stable && !self.signer.redact(k) {
                    format!("{k}: {v}")
                } else {
                    format!("{k}: ${}", k.to_ascii_uppercase().replace('-', "_"))
                }
            })
            .collect()
    }

    /// The absolute URL exactly as it goes on the wire (and is signed).
    pub fn url(&self, req: &Request) -> String {
        let mut url = format!("{}{}", self.base_url, req.path);
        if !req.query.is_empty() {
            url.push('?');
            let pairs: Vec<String> = req
                .query
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect();
            url.push_str(&pairs.join("&"));
        }
        url
    }

    pub async fn send(&self, req: &Request) -> Result<Response, Transport> {
        let url = self.url(req);
        let method = reqwest::Method::from_bytes(req.method.to_uppercase().as_bytes())
            .map_err(|e| Transport::Other(e.to_string()))?;
        let mut rb = self.http.request(method, &url);
        let now = chrono::Utc::now().timestamp_millis();
        let signed = match req.auth {
            Auth::Signed => self.signer.sign(&req.method.to_uppercase(), &url, now),
            Auth::Unsigned => Vec::new(),
            Auth::WrongSignature => self
                .wrong_signer
                .sign(&req.method.to_uppercase(), &url, now),
            Auth::StaleTimestamp => {
                self.signer
                    .sign(&req.method.to_uppercase(), &url, now - 3_600_000)
            }
        };
        for (k, v) in signed.iter().chain(req.headers.iter()) {
            rb = rb.header(k, v);
        }
        rb = match &req.body {
            Some(Body::Json(v)) => rb
                .header("Content-Type", "application/json")
                .body(serde_json::to_vec(v).unwrap_or_default()),
            Some(Body::Raw(s)) => rb
                .header("Content-Type", "application/json")
                .body(s.clone()),
            None => rb,
        };
        let started = Instant::now();
        let mut resp = rb.send().await.map_err(|e| self.classify(e))?;
        let status = resp.status().as_u16();
        let header = |n: &str| {
            resp.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        };
        let content_type = header("content-type");
        let notable_headers = ["deprecation", "sunset", "warning"]
            .iter()
            .filter_map(|n| header(n).map(|v| (n.to_string(), v)))
            .collect();
        let mut bytes = Vec::new();
        let mut truncated = false;
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    if bytes.len() + c.len() > self.max_body {
                        bytes.extend_from_slice(&c[..self.max_body - bytes.len()]);
                        truncated = true;
                        break;
                    }
                    bytes.extend_from_slice(&c);
                }
                Ok(None) => break,
                Err(e) => return Err(self.classify(e)),
            }
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = if truncated {
            None
        } else {
            serde_json::from_slice(&bytes).ok()
        };
        Ok(Response {
            status,
            content_type,
            text,
            json,
            truncated,
            elapsed_ms: started.elapsed().as_millis() as u64,
            notable_headers,
        })
    }

    fn classify(&self, e: reqwest::Error) -> Transport {
        if e.is_timeout() {
            Transport::Timeout(self.timeout.as_millis() as u64)
        } else if e.is_connect() {
            Transport::Connect(format!("{} ({})", self.base_url, root_cause(&e)))
        } else {
            Transport::Other(root_cause(&e))
        }
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(s) = cur.source() {
        cur = s;
    }
    cur.to_string()
}

/// Percent-encode a query component (RFC 3986 unreserved characters stay).
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_encoding_keeps_unreserved_and_escapes_the_rest() {
        assert_eq!(encode("created_at:asc"), "created_at%3Aasc");
        assert_eq!(encode("a b&c"), "a%20b%26c");
    }
}
