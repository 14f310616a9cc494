//! Sending one request to a target and capturing what came back, bounded in time and size.
//! Transport failures are values (`Transport`), classified so that a TLS mismatch, a reset,
//! slow headers, a slow body or an undecodable body each say what they are.

use super::sign::{HttpRequest, Signer};
use super::url::BaseUrl;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
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
    /// Every header the request carried (the signer's and the extra ones included), secret
    /// values replaced by `<redacted>`: what a recording of the exchange may show.
    #[serde(skip)]
    pub sent_headers: Vec<(String, String)>,
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
    /// Worth another attempt under `--retries`: the connection failed or broke, or an answer
    /// did not come in time. TLS and decoding failures would fail the same way again.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Transport::Connect(_)
                | Transport::Reset(_)
                | Transport::HeadersTimeout(_)
                | Transport::BodyTimeout(_)
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
    /// At most this many requests per period, over every request of the client (the run).
    pub rate_limit: Option<RateLimit>,
    /// Extra attempts after a transport error (connect, reset, timeouts); never after an
    /// HTTP response, whatever its status.
    pub retries: u32,
}

/// `--rate-limit N/s` or `N/m`: `requests` per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub per: Duration,
}

impl RateLimit {
    /// The spacing between two consecutive requests.
    pub fn interval(&self) -> Duration {
        self.per / self.requests.max(1)
    }
}

impl std::str::FromStr for RateLimit {
    type Err = String;
    /// `N/s`, `N/m`, or a bare `N` (per second).
    fn from_str(s: &str) -> Result<Self, String> {
        let err = || {
            format!(
                "'{s}' is not a rate: write N/s, N/m or N (per second), N a whole number of requests, at least 1"
            )
        };
        let t = s.trim();
        let (n, unit) = t.split_once('/').unwrap_or((t, "s"));
        let requests: u32 = n.trim().parse().map_err(|_| err())?;
        let per = match unit.trim() {
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            _ => return Err(err()),
        };
        if requests == 0 {
            return Err(err());
        }
        Ok(Self { requests, per })
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = if self.per == Duration::from_secs(60) {
            "m"
        } else {
            "s"
        };
        write!(f, "{}/{unit}", self.requests)
    }
}

/// A fixed-interval limiter shared by every request of a client: request k may not start
/// before the start of request k-1 plus the interval.
#[derive(Debug)]
struct Limiter {
    interval: Duration,
    next: parking_lot::Mutex<Option<tokio::time::Instant>>,
}

impl Limiter {
    async fn acquire(&self) {
        let at = {
            let mut next = self.next.lock();
            let now = tokio::time::Instant::now();
            let at = next.map_or(now, |n| n.max(now));
            *next = Some(at + self.interval);
            at
        };
        tokio::time::sleep_until(at).await;
    }
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
            rate_limit: None,
            retries: 0,
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
    /// The proxy URL as given (with any password), None when direct.
    proxy: Option<String>,
    limiter: Option<Arc<Limiter>>,
    /// Attempts repeated after a transport error (`--retries`).
    retried: std::sync::atomic::AtomicU64,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("--ca-cert: {0}")]
    CaCert(String),
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
    #[error("the proxy {0} (from the *_PROXY variables) is not usable: {1}")]
    Proxy(String, String),
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
        // The proxy is chosen here, once, by `proxy_for` (not by reqwest's own reading of
        // the environment), so that what the report names is what the requests used.
        b = b.no_proxy();
        let proxy = if opts.no_proxy {
            None
        } else {
            proxy_for(&base)
        };
        if let Some(p) = &proxy {
            let p = reqwest::Proxy::all(p.as_str())
                .map_err(|e| ClientError::Proxy(shown_proxy(p), e.to_string()))?;
            b = b.proxy(p);
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
        let limiter = opts.rate_limit.map(|r| {
            Arc::new(Limiter {
                interval: r.interval(),
                next: parking_lot::Mutex::new(None),
            })
        });
        Ok(Self {
            base,
            http,
            wrong_signer: signer.wrong(),
            signer,
            opts,
            proxy,
            limiter,
            retried: Default::default(),
        })
    }

    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    pub fn signer(&self) -> &Arc<dyn Signer> {
        &self.signer
    }

    /// The proxy this client's requests go through, as curl would choose it from the
    /// environment, its password replaced by `<redacted>`; None when direct.
    pub fn proxy(&self) -> Option<String> {
        self.proxy.as_deref().map(shown_proxy)
    }

    /// The proxy's password and its basic-auth token, to scrub from every output.
    pub fn proxy_secrets(&self) -> Vec<String> {
        use base64::Engine as _;
        let with_scheme = |p: &str| {
            if p.contains("://") {
                p.to_string()
            } else {
                format!("http://{p}")
            }
        };
        let parsed = self
            .proxy
            .as_deref()
            .and_then(|p| reqwest::Url::parse(&with_scheme(p)).ok());
        let Some(u) = parsed else {
            return vec![];
        };
        match u.password() {
            None => vec![],
            Some(pw) => {
                let decode = crate::target::url::percent_decode;
                let (user, pw) = (decode(u.username()), decode(pw));
                let token =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"));
                vec![pw, token]
            }
        }
    }

    /// The values of the `-H` headers whose names say they carry a credential: secrets of
    /// the run, scrubbed from every output.
    pub fn header_secrets(&self) -> Vec<String> {
        self.opts
            .extra_headers
            .iter()
            .filter(|(k, _)| header_is_secret(k))
            .map(|(_, v)| v.clone())
            .collect()
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

    /// What a curl line needs beyond the request: `-k` under `--insecure`, then the `-H`
    /// headers as shell words, a credential-looking one as an environment reference in
    /// double quotes (`-H "Authorization: $AUTHORIZATION"`), the others literal.
    pub fn curl_extra_args(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.opts.insecure {
            out.push("-k".to_string());
        }
        out.extend(extra_header_words(&self.opts.extra_headers));
        out
    }

    /// How many attempts were repeated after a transport error (`--retries`).
    pub fn retried(&self) -> u64 {
        self.retried.load(std::sync::atomic::Ordering::Relaxed)
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

    /// Sends `req` (after the rate limiter), retrying transport errors up to
    /// `ClientOptions::retries` times; an HTTP response, whatever its status, is returned.
    pub async fn send(&self, req: &Request) -> Result<Response, Transport> {
        let mut attempt = 0u32;
        loop {
            if let Some(l) = &self.limiter {
                l.acquire().await;
            }
            match self.send_once(req).await {
                Err(t) if t.is_retryable() && attempt < self.opts.retries => {
                    attempt += 1;
                    self.retried
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    // 100 ms, 200 ms, 400 ms, … at most 2 s between attempts.
                    let wait = Duration::from_millis(100u64 << attempt.min(5).saturating_sub(1));
                    tokio::time::sleep(wait.min(Duration::from_secs(2))).await;
                }
                r => return r,
            }
        }
    }

    async fn send_once(&self, req: &Request) -> Result<Response, Transport> {
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
        // Secret: the signer's secret headers, and any header (extra or per request) whose
        // name says it carries a credential.
        let sent_secrets: Vec<String> = signed
            .iter()
            .filter(|(k, _)| self.signer.is_secret_header(k))
            .chain(headers.iter().filter(|(k, _)| header_is_secret(k)))
            .map(|(_, v)| v.clone())
            .collect();
        let sent_headers: Vec<(String, String)> = signed
            .iter()
            .chain(headers.iter())
            .map(|(k, v)| {
                let secret = self.signer.is_secret_header(k) || header_is_secret(k);
                (
                    k.clone(),
                    if secret {
                        "<redacted>".into()
                    } else {
                        v.clone()
                    },
                )
            })
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
            sent_headers,
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
        if no.split(',').any(|entry| no_proxy_matches(entry, &host)) {
            return None;
        }
    }
    Some(proxy)
}

/// One NO_PROXY entry: `*`, a host or domain (`example.com` and `.example.com` match it and
/// its subdomains), an IP address, or an IP block (`127.0.0.0/8`, `fd00::/8`).
fn no_proxy_matches(entry: &str, host: &str) -> bool {
    use std::net::IpAddr;
    let entry = entry.trim().to_ascii_lowercase();
    if entry == "*" {
        return true;
    }
    if let Some((net, bits)) = entry.split_once('/') {
        let net = net.trim_start_matches('[').trim_end_matches(']');
        let (Ok(net), Ok(bits), Ok(ip)) = (
            net.parse::<IpAddr>(),
            bits.parse::<u32>(),
            host.parse::<IpAddr>(),
        ) else {
            return false;
        };
        return match (net, ip) {
            (IpAddr::V4(n), IpAddr::V4(h)) if bits <= 32 => {
                let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
                u32::from(n) & mask == u32::from(h) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(h)) if bits <= 128 => {
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                u128::from(n) & mask == u128::from(h) & mask
            }
            _ => false,
        };
    }
    let e = entry
        .trim_start_matches('.')
        .trim_start_matches('[')
        .trim_end_matches(']');
    !e.is_empty() && (host == e || host.ends_with(&format!(".{e}")))
}

/// Header names whose values are credentials whatever the scheme (Authorization, cookies set
/// or sent, tokens, signatures, secrets, API keys, passwords, credentials, sessions,
/// `X-Auth-…`).
pub fn header_is_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "authorization"
        || n == "proxy-authorization"
        || n == "cookie"
        || n == "set-cookie"
        || n.contains("auth-")
        || n.contains("password")
        || n.contains("credential")
        || n.contains("session")
        || n.contains("token")
        || n.contains("signature")
        || n.contains("secret")
        || n.contains("api-key")
        || n.contains("apikey")
}

/// `-H` headers as shell words for curl or a replay line: `-H`, then `"Name: $NAME"` for a
/// credential-looking header (the value never appears), `'Name: value'` for the others.
pub fn extra_header_words(headers: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in headers {
        out.push("-H".into());
        if header_is_secret(k) {
            out.push(format!("\"{k}: ${}\"", env_reference(k)));
        } else {
            out.push(crate::target::shell_quote(&format!("{k}: {v}")));
        }
    }
    out
}

/// `X-Api-Key` → `X_API_KEY`: the environment variable a reproduction line names for a
/// secret header's value.
pub fn env_reference(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// A proxy URL for people: as given, with any password replaced by `<redacted>`.
pub fn shown_proxy(p: &str) -> String {
    let Some((scheme, rest)) = p.split_once("://") else {
        return p.to_string();
    };
    let end = rest.find('/').unwrap_or(rest.len());
    match rest[..end].rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let pw = if userinfo.contains(':') {
                ":<redacted>"
            } else {
                ""
            };
            format!("{scheme}://{user}{pw}@{host}{}", &rest[end..])
        }
        None => p.to_string(),
    }
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
    fn no_proxy_entries_match_hosts_domains_and_ip_blocks() {
        assert!(no_proxy_matches("*", "kms.example"));
        assert!(no_proxy_matches("example.com", "kms.example.com"));
        assert!(no_proxy_matches(".example.com", "example.com"));
        assert!(!no_proxy_matches("example.com", "badexample.com"));
        assert!(no_proxy_matches("127.0.0.1", "127.0.0.1"));
        assert!(no_proxy_matches("127.0.0.0/8", "127.4.5.6"));
        assert!(!no_proxy_matches("10.0.0.0/8", "127.0.0.1"));
        assert!(no_proxy_matches("0.0.0.0/0", "192.0.2.1"));
        assert!(no_proxy_matches("[::1]", "::1"));
        assert!(no_proxy_matches("fd00::/8", "fd12::1"));
        assert!(!no_proxy_matches("fd00::/8", "127.0.0.1"));
        assert!(!no_proxy_matches("", "h"));
    }

    #[test]
    fn proxy_passwords_are_not_shown() {
        assert_eq!(
            shown_proxy("http://u:p%40ss@proxy:3128"),
            "http://u:<redacted>@proxy:3128"
        );
        assert_eq!(shown_proxy("http://proxy:3128/"), "http://proxy:3128/");
        assert_eq!(shown_proxy("http://u@proxy"), "http://u@proxy");
        assert_eq!(
            crate::target::url::percent_decode("p%40ss%zz%4"),
            "p@ss%zz%4"
        );
    }

    #[test]
    fn rates_parse_per_second_and_per_minute() {
        let r: RateLimit = "10/s".parse().unwrap();
        assert_eq!(r.interval(), Duration::from_millis(100));
        let r: RateLimit = "30/m".parse().unwrap();
        assert_eq!(r.interval(), Duration::from_secs(2));
        let r: RateLimit = "5".parse().unwrap();
        assert_eq!(r, "5/s".parse().unwrap());
        assert_eq!(r.to_string(), "5/s");
        assert_eq!("30/m".parse::<RateLimit>().unwrap().to_string(), "30/m");
        for bad in ["", "0", "0/s", "-1/s", "1.5/s", "10/h", "x/s", "10/", "/s"] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad}");
        }
    }

    #[test]
    fn only_connection_and_timeout_failures_are_retried() {
        assert!(Transport::Connect("x".into()).is_retryable());
        assert!(Transport::Reset("x".into()).is_retryable());
        assert!(Transport::HeadersTimeout(1).is_retryable());
        assert!(Transport::BodyTimeout(1).is_retryable());
        assert!(!Transport::Tls("x".into()).is_retryable());
        assert!(!Transport::Decode("x".into()).is_retryable());
        assert!(!Transport::Other("x".into()).is_retryable());
        assert_eq!(env_reference("X-Api-Key"), "X_API_KEY");
    }

    #[test]
    fn query_encoding_keeps_unreserved_and_escapes_the_rest() {
        assert_eq!(encode("created_at:asc"), "created_at%3Aasc");
        assert_eq!(encode("a b&c"), "a%20b%26c");
    }
}
