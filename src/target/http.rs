//! Sending one request to a target and capturing what came back, bounded in time and size.
//! Transport failures are values (`Transport`), classified so that a TLS mismatch, a reset,
//! slow headers, a slow body or an undecodable body each say what they are.

use super::sign::{HttpRequest, Signer};
use super::url::BaseUrl;
use serde::{Deserialize, Serialize};
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
    /// Extra headers (the version header, or the user's `-H`).
    pub headers: Vec<(String, String)>,
    pub body: Option<Body>,
    /// How to sign: normally; not at all; with wrong credentials; or with a stale time.
    pub auth: Auth,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    Json(Value),
    /// Sent verbatim with `Content-Type: application/json` (malformed-JSON cases).
    Raw(String),
}

impl Body {
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Body::Json(v) => serde_json::to_vec(v).unwrap_or_default(),
            Body::Raw(s) => s.as_bytes().to_vec(),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum Auth {
    #[default]
    Signed,
    Unsigned,
    /// Signed with credentials the target must refuse.
    WrongSignature,
    /// Signed one hour in the past (timed schemes only).
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
    /// Every response header, in order.
    pub headers: Vec<(String, String)>,
    /// The secret header values this request carried (signatures, tokens), so that what the
    /// target reflects of them can be scrubbed. Never serialised.
    #[serde(skip)]
    pub sent_secrets: Vec<String>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A transport failure: no usable HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum Transport {
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("TLS failed: {0}")]
    Tls(String),
    #[error("no response headers within {0} ms")]
    HeadersTimeout(u64),
    #[error("the body did not finish within {0} ms")]
    BodyTimeout(u64),
    #[error("connection reset: {0}")]
    Reset(String),
    #[error("the body does not decode as its Content-Encoding says: {0}")]
    Decode(String),
    #[error("transport error: {0}")]
    Other(String),
}

impl Transport {
    /// Nothing answers at all (the target is unusable, not non-conforming).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            Transport::Connect(_) | Transport::Tls(_) | Transport::HeadersTimeout(_)
        )
    }
    pub fn kind(&self) -> &'static str {
        match self {
            Transport::Connect(_) => "connect",
            Transport::Tls(_) => "tls",
            Transport::HeadersTimeout(_) => "headers_timeout",
            Transport::BodyTimeout(_) => "body_timeout",
            Transport::Reset(_) => "reset",
            Transport::Decode(_) => "decode",
            Transport::Other(_) => "other",
        }
    }
}

/// How a client reaches its target.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub timeout: Duration,
    pub max_body: usize,
    /// Bypass HTTP(S)_PROXY (the embedded target is always reached directly).
    pub no_proxy: bool,
    pub insecure: bool,
    /// PEM bundle of extra trusted roots.
    pub ca_cert: Option<Vec<u8>>,
    /// Added to every request (`-H`).
    pub extra_headers: Vec<(String, String)>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_body: 4 * 1024 * 1024,
            no_proxy: false,
            insecure: false,
            ca_cert: None,
            extra_headers: vec![],
        }
    }
}

pub struct Client {
    base: BaseUrl,
    http: reqwest::Client,
    signer: Arc<dyn Signer>,
    /// The same scheme with credentials the target must refuse.
    wrong_signer: Arc<dyn Signer>,
    opts: ClientOptions,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("--ca-cert: {0}")]
    CaCert(String),
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
}

impl Client {
    pub fn new(
        base: BaseUrl,
        signer: Arc<dyn Signer>,
        opts: ClientOptions,
    ) -> Result<Self, ClientError> {
        let mut b = reqwest::Client::builder()
            .connect_timeout(opts.timeout.min(Duration::from_secs(5)))
            .pool_max_idle_per_host(256)
            .redirect(reqwest::redirect::Policy::none())
            .danger_accept_invalid_certs(opts.insecure);
        if opts.no_proxy {
            b = b.no_proxy();
        }
        if let Some(pem) = &opts.ca_cert {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| ClientError::CaCert(e.to_string()))?;
            if certs.is_empty() {
                return Err(ClientError::CaCert("no PEM certificate in the file".into()));
            }
            for c in certs {
                b = b.add_root_certificate(c);
            }
        }
        let http = b.build().map_err(|e| ClientError::Build(e.to_string()))?;
        Ok(Self {
            base,
            http,
            wrong_signer: signer.wrong(),
            signer,
            opts,
        })
    }

    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    pub fn signer(&self) -> &Arc<dyn Signer> {
        &self.signer
    }

    /// The proxy this client's requests go through, as curl would choose it from the
    /// environment; None when direct.
    pub fn proxy(&self) -> Option<String> {
        if self.opts.no_proxy {
            return None;
        }
        proxy_for(&self.base)
    }

    /// Signing headers for a reproduction line: values that are secret or change with time
    /// become environment references (`$SCP_SIGNATURE`), stable public ones stay literal.
    pub fn curl_auth_headers(&self, method: &str, url: &str) -> Vec<String> {
        let input = HttpRequest {
            method,
            url,
            headers: &[],
            body: b"",
        };
        let a = self.signer.sign(&input, 1_000_000_000_000);
        let b = self.signer.sign(&input, 1_000_000_000_001);
        a.iter()
            .map(|(k, v)| {
                let stable = b.iter().any(|(k2, v2)| k2 == k && v2 == v);
                if stable && !self.signer.is_secret_header(k) {
                    format!("{k}: {v}")
                } else {
                    format!("{k}: ${}", k.to_ascii_uppercase().replace('-', "_"))
                }
            })
            .collect()
    }

    /// The absolute URL exactly as it goes on the wire (and is signed).
    pub fn url(&self, req: &Request) -> String {
        let mut url = format!("{}{}", self.base.as_str(), req.path);
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
        let method_text = req.method.to_uppercase();
        let method = reqwest::Method::from_bytes(method_text.as_bytes())
            .map_err(|e| Transport::Other(e.to_string()))?;
        let body = req.body.as_ref().map(Body::bytes);
        let mut headers: Vec<(String, String)> = self.opts.extra_headers.clone();
        headers.extend(req.headers.iter().cloned());
        if body.is_some() {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        let now = chrono::Utc::now().timestamp_millis();
        let input = HttpRequest {
            method: &method_text,
            url: &url,
            headers: &headers,
            body: body.as_deref().unwrap_or(b""),
        };
        let (signer, at) = match req.auth {
            Auth::Signed => (Some(&self.signer), now),
            Auth::Unsigned => (None, now),
            Auth::WrongSignature => (Some(&self.wrong_signer), now),
            Auth::StaleTimestamp => (Some(&self.signer), now - 3_600_000),
        };
        let signed = signer.map(|s| s.sign(&input, at)).unwrap_or_default();
        let sent_secrets: Vec<String> = signed
            .iter()
            .filter(|(k, _)| self.signer.is_secret_header(k))
            .map(|(_, v)| v.clone())
            .collect();
        let mut rb = self.http.request(method, &url);
        for (k, v) in signed.iter().chain(headers.iter()) {
            rb = rb.header(k, v);
        }
        if let Some(b) = body {
            rb = rb.body(b);
        }
        let started = Instant::now();
        let deadline = started + self.opts.timeout;
        let sent = tokio::time::timeout(self.opts.timeout, rb.send()).await;
        let mut resp = match sent {
            Err(_) => return Err(Transport::HeadersTimeout(self.timeout_ms())),
            Ok(Err(e)) => return Err(self.classify(e)),
            Ok(Ok(r)) => r,
        };
        let status = resp.status().as_u16();
        let resp_headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let mut bytes = Vec::new();
        let mut truncated = false;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, resp.chunk()).await {
                Err(_) => return Err(Transport::BodyTimeout(self.timeout_ms())),
                Ok(Ok(Some(c))) => {
                    if bytes.len() + c.len() > self.opts.max_body {
                        bytes.extend_from_slice(&c[..self.opts.max_body - bytes.len()]);
                        truncated = true;
                        break;
                    }
                    bytes.extend_from_slice(&c);
                }
                Ok(Ok(None)) => break,
                Ok(Err(e)) => return Err(self.classify(e)),
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
            headers: resp_headers,
            sent_secrets,
        })
    }

    fn timeout_ms(&self) -> u64 {
        self.opts.timeout.as_millis() as u64
    }

    fn classify(&self, e: reqwest::Error) -> Transport {
        let cause = root_cause(&e);
        let lower = cause.to_ascii_lowercase();
        // The body stream runs through the decompressor, so a connection that breaks
        // mid-body surfaces as a decode error too: what broke is the connection.
        let broke = lower.contains("reset")
            || lower.contains("broken pipe")
            || lower.contains("connection closed")
            || lower.contains("incomplete message")
            || lower.contains("end of file before message length reached");
        if broke && !e.is_connect() {
            return Transport::Reset(cause);
        }
        if e.is_decode() || lower.contains("decompress") || lower.contains("invalid gzip") {
            return Transport::Decode(cause);
        }
        if lower.contains("invalidcontenttype")
            || lower.contains("corrupt message")
            || lower.contains("wrong version number")
        {
            return Transport::Tls(if self.base.is_https() {
                format!(
                    "{} does not speak TLS on this port (plain HTTP?): {cause}",
                    self.base.as_str()
                )
            } else {
                cause
            });
        }
        if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
            return Transport::Tls(cause);
        }
        if e.is_timeout() {
            return Transport::HeadersTimeout(self.timeout_ms());
        }
        if lower.contains("reset")
            || lower.contains("broken pipe")
            || lower.contains("connection closed")
            || lower.contains("incomplete message")
        {
            return Transport::Reset(cause);
        }
        if e.is_connect() {
            return Transport::Connect(format!("{} ({cause})", self.base.as_str()));
        }
        Transport::Other(cause)
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    let mut text = cur.to_string();
    while let Some(s) = cur.source() {
        cur = s;
        text = cur.to_string();
    }
    text
}

/// The proxy curl would use for `base` from HTTP(S)_PROXY / ALL_PROXY and NO_PROXY.
pub fn proxy_for(base: &BaseUrl) -> Option<String> {
    let var = |n: &str| {
        std::env::var(n)
            .ok()
            .or_else(|| std::env::var(n.to_ascii_lowercase()).ok())
            .filter(|v| !v.is_empty())
    };
    let proxy = if base.is_https() {
        var("HTTPS_PROXY")
    } else {
        var("HTTP_PROXY")
    }
    .or_else(|| var("ALL_PROXY"))?;
    let host = base.host().to_ascii_lowercase();
    if let Some(no) = var("NO_PROXY") {
        for entry in no.split(',').map(|s| s.trim().to_ascii_lowercase()) {
            let e = entry.trim_start_matches('.');
            if entry == "*" || (!e.is_empty() && (host == e || host.ends_with(&format!(".{e}")))) {
                return None;
            }
        }
    }
    Some(proxy)
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
