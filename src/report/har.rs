//! HTTP Archive (HAR 1.2): `run --record FILE.har` writes every exchange of a run, redacted
//! like every other output; `check-traffic` reads a HAR written by us or by any other tool
//! (a browser, a proxy). Reading is lenient: only what the checks need is required, and
//! everything else a browser adds is ignored.
//!
//! Our own entries carry `_kmsconform` (HAR's custom-field convention: a leading `_`) with
//! the version, operation and case, so a re-check knows what each exchange was.

use crate::run::event::{Event, ExchangeDetail, Observer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Har {
    pub log: Log,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Log {
    #[serde(default = "default_version")]
    pub version: String,
    #[serde(default)]
    pub creator: Creator,
    #[serde(default)]
    pub entries: Vec<Entry>,
}

fn default_version() -> String {
    "1.2".into()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Creator {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    #[serde(default)]
    pub started_date_time: String,
    /// Total time in milliseconds (browsers write fractions).
    #[serde(default)]
    pub time: f64,
    pub request: HarRequest,
    pub response: HarResponse,
    #[serde(default)]
    pub cache: Value,
    #[serde(default)]
    pub timings: Timings,
    #[serde(
        rename = "_kmsconform",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub kmsconform: Option<EntryMeta>,
}

/// What the run knew of an exchange: a re-check uses it instead of guessing.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EntryMeta {
    pub version: String,
    pub operation: String,
    pub case: String,
    pub label: String,
    #[serde(default)]
    pub auth: crate::target::http::Auth,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HarRequest {
    pub method: String,
    pub url: String,
    #[serde(default = "http11")]
    pub http_version: String,
    #[serde(default)]
    pub headers: Vec<NameValue>,
    #[serde(default)]
    pub query_string: Vec<NameValue>,
    #[serde(default)]
    pub cookies: Vec<Value>,
    #[serde(default = "unknown_size")]
    pub headers_size: i64,
    #[serde(default = "unknown_size")]
    pub body_size: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_data: Option<PostData>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HarResponse {
    pub status: u16,
    #[serde(default)]
    pub status_text: String,
    #[serde(default = "http11")]
    pub http_version: String,
    #[serde(default)]
    pub headers: Vec<NameValue>,
    #[serde(default)]
    pub cookies: Vec<Value>,
    #[serde(default)]
    pub content: Content,
    #[serde(default, rename = "redirectURL")]
    pub redirect_url: String,
    #[serde(default = "unknown_size")]
    pub headers_size: i64,
    #[serde(default = "unknown_size")]
    pub body_size: i64,
}

fn http11() -> String {
    "HTTP/1.1".into()
}
fn unknown_size() -> i64 {
    -1
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NameValue {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostData {
    #[serde(default)]
    pub mime_type: String,
    #[serde(default)]
    pub text: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    #[serde(default)]
    pub size: i64,
    #[serde(default)]
    pub mime_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `base64` when `text` is base64 (binary bodies, some browser exports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timings {
    #[serde(default)]
    pub send: f64,
    #[serde(default)]
    pub wait: f64,
    #[serde(default)]
    pub receive: f64,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            send: 0.0,
            wait: 0.0,
            receive: 0.0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HarError {
    #[error("cannot read {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{path} is not a HAR file: {error}")]
    Parse { path: String, error: String },
}

impl Har {
    pub fn load(path: &std::path::Path) -> Result<Self, HarError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| HarError::Read {
            path: p.clone(),
            error,
        })?;
        Self::parse(&text).map_err(|error| HarError::Parse { path: p, error })
    }

    /// Parses a HAR text; the error names where it went wrong (line, column, field).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let har: Har = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if !har.log.version.starts_with("1.") {
            return Err(format!(
                "log.version is '{}'; HAR 1.x is read",
                har.log.version
            ));
        }
        Ok(har)
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("HAR serialises");
        s.push('\n');
        s
    }
}

impl Entry {
    pub fn request_header(&self, name: &str) -> Option<&str> {
        self.request
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    pub fn response_header(&self, name: &str) -> Option<&str> {
        self.response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// The response body as text (base64 decoded when the export says so).
    pub fn response_text(&self) -> Result<String, String> {
        let Some(text) = &self.response.content.text else {
            return Ok(String::new());
        };
        match self.response.content.encoding.as_deref() {
            Some(e) if e.eq_ignore_ascii_case("base64") => {
                use base64::Engine;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(text.trim())
                    .map_err(|e| format!("response.content.text is not base64: {e}"))?;
                Ok(String::from_utf8_lossy(&bytes).into_owned())
            }
            _ => Ok(text.clone()),
        }
    }
}

/// `run --record`: keeps every sent exchange's redacted detail as a HAR entry.
#[derive(Default)]
pub struct HarRecorder {
    entries: parking_lot::Mutex<Vec<Entry>>,
}

impl HarRecorder {
    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The archive of what was recorded, in the order the exchanges finished.
    pub fn har(&self) -> Har {
        Har {
            log: Log {
                version: "1.2".into(),
                creator: Creator {
                    name: "kmsconform".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                },
                entries: self.entries.lock().clone(),
            },
        }
    }
}

impl Observer for HarRecorder {
    fn wants_exchanges(&self) -> bool {
        true
    }
    fn on(&self, e: &Event) {
        let Event::Exchange(x) = e else { return };
        let Some(d) = &x.detail else { return };
        if !x.sent || d.request.method == "-" {
            return;
        }
        let meta = EntryMeta {
            version: x.version.clone(),
            operation: x.operation.clone(),
            case: x.case.clone(),
            label: x.label.clone(),
            auth: d.request.auth,
        };
        self.entries.lock().push(entry_of(d, meta));
    }
}

fn pairs(v: &[(String, String)]) -> Vec<NameValue> {
    v.iter()
        .map(|(name, value)| NameValue {
            name: name.clone(),
            value: value.clone(),
        })
        .collect()
}

/// One HAR entry of a redacted exchange. A transport failure is recorded as HAR's
/// "no response" (status 0), with the error in `statusText`.
fn entry_of(d: &ExchangeDetail, meta: EntryMeta) -> Entry {
    let headers = if d.sent_headers.is_empty() {
        &d.request.headers
    } else {
        &d.sent_headers
    };
    let body_text = d.request.body.as_ref().map(|b| match b {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    });
    let query_string = url_query(&d.request.url);
    let request = HarRequest {
        method: d.request.method.clone(),
        url: d.request.url.clone(),
        http_version: http11(),
        headers: pairs(headers),
        query_string,
        cookies: vec![],
        headers_size: -1,
        body_size: body_text.as_ref().map(|t| t.len() as i64).unwrap_or(0),
        post_data: body_text.map(|text| PostData {
            mime_type: "application/json".into(),
            text,
        }),
    };
    let (response, time) = match (&d.response, &d.transport) {
        (Some(r), _) => {
            let text = r.body.as_ref().map(|b| match b {
                Value::String(s) if !is_json_ct(r.content_type.as_deref()) => s.clone(),
                v => v.to_string(),
            });
            (
                HarResponse {
                    status: r.status,
                    status_text: reason(r.status).into(),
                    http_version: http11(),
                    headers: pairs(&r.headers),
                    cookies: vec![],
                    content: Content {
                        size: text.as_ref().map(|t| t.len() as i64).unwrap_or(0),
                        mime_type: r.content_type.clone().unwrap_or_default(),
                        text,
                        encoding: None,
                    },
                    redirect_url: String::new(),
                    headers_size: -1,
                    body_size: -1,
                },
                r.elapsed_ms as f64,
            )
        }
        (None, t) => (
            HarResponse {
                status: 0,
                status_text: t
                    .as_ref()
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "no response".into()),
                http_version: http11(),
                headers: vec![],
                cookies: vec![],
                content: Content::default(),
                redirect_url: String::new(),
                headers_size: -1,
                body_size: -1,
            },
            0.0,
        ),
    };
    Entry {
        started_date_time: d.at.clone(),
        time,
        request,
        response,
        cache: Value::Object(Default::default()),
        timings: Timings {
            send: 0.0,
            wait: time,
            receive: 0.0,
        },
        kmsconform: Some(meta),
    }
}

fn is_json_ct(ct: Option<&str>) -> bool {
    ct.is_some_and(|c| c.to_ascii_lowercase().contains("json"))
}

fn url_query(url: &str) -> Vec<NameValue> {
    let q = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    crate::target::url::query_pairs(q)
        .into_iter()
        .map(|(name, value)| NameValue { name, value })
        .collect()
}

fn reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browser_export_parses_and_unknown_fields_are_ignored() {
        let text = r#"{"log":{"version":"1.2","creator":{"name":"WebInspector","version":"537.36"},
          "pages":[{"id":"page_1"}],
          "entries":[{"_initiator":{"type":"script"},"_priority":"High","startedDateTime":"2026-12-01T10:00:00.000Z","time":12.5,
            "request":{"method":"GET","url":"https://kms.example.com/v1/kms/openapi/keys?size=2","httpVersion":"http/2.0",
              "headers":[{"name":":authority","value":"kms.example.com"}],"queryString":[{"name":"size","value":"2"}],"cookies":[],"headersSize":-1,"bodySize":0},
            "response":{"status":200,"statusText":"","httpVersion":"http/2.0","headers":[{"name":"content-type","value":"application/json"}],
              "cookies":[],"content":{"size":2,"mimeType":"application/json","text":"e30=","encoding":"base64"},"redirectURL":"","headersSize":-1,"bodySize":-1,"_transferSize":120},
            "cache":{},"timings":{"blocked":1,"dns":-1,"ssl":-1,"connect":-1,"send":0.1,"wait":10,"receive":2.4,"_blocked_queueing":0.5}}]}}"#;
        let h = Har::parse(text).unwrap();
        assert_eq!(h.log.entries.len(), 1);
        assert_eq!(h.log.entries[0].response_text().unwrap(), "{}");
        assert!(h.log.entries[0].kmsconform.is_none());
    }

    #[test]
    fn not_a_har_is_refused_with_the_reason() {
        assert!(Har::parse("42").unwrap_err().contains("invalid type"));
        assert!(Har::parse(r#"{"entries":[]}"#)
            .unwrap_err()
            .contains("missing field `log`"));
        assert!(Har::parse(r#"{"log":{"version":"2.0","entries":[]}}"#)
            .unwrap_err()
            .contains("HAR 1.x"));
    }
}
