//! The live probe: one signed listKeys (`GET /v1/kms/transit`) per version, pinned with
//! `Scp-Api-Version: kms X.Y`. Does the target still serve the version, and if not, how does
//! it refuse? Does it announce retirement in `Deprecation` / `Sunset` / `Warning` headers?

use crate::target::http::{Auth, Client, Request};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProbeResult {
    /// None when no HTTP answer came back (see `transport_error`).
    pub status: Option<u16>,
    pub served: bool,
    /// The SCP error envelope's code (e.g. `NoSuchVersion`), when refused.
    pub error_code: Option<String>,
    pub detail: Option<String>,
    /// `Deprecation`, `Sunset` and `Warning` response headers.
    pub headers: Vec<(String, String)>,
    pub transport_error: Option<String>,
}

pub async fn probe(client: &Client, version: &str) -> ProbeResult {
    let req = Request {
        method: "GET".into(),
        path: "/v1/kms/transit".into(),
        query: vec![("size".into(), "1".into())],
        headers: vec![("Scp-Api-Version".into(), format!("kms {version}"))],
        body: None,
        auth: Auth::Signed,
    };
    match client.send(&req).await {
        Ok(resp) => {
            let served = (200..300).contains(&resp.status);
            let error = (!served)
                .then(|| resp.json.as_ref().map(error_of))
                .flatten();
            let (error_code, detail) = error.unwrap_or((None, None));
            ProbeResult {
                status: Some(resp.status),
                served,
                error_code,
                detail: detail.or_else(|| {
                    (!served && !resp.text.is_empty())
                        .then(|| resp.text.chars().take(200).collect())
                }),
                headers: resp.notable_headers,
                transport_error: None,
            }
        }
        Err(e) => ProbeResult {
            status: None,
            served: false,
            error_code: None,
            detail: None,
            headers: Vec::new(),
            transport_error: Some(e.to_string()),
        },
    }
}

/// (code, detail) from `{"errors":[{"code":..,"detail":[..]}]}` or `{"message":..}`.
fn error_of(body: &Value) -> (Option<String>, Option<String>) {
    let first = body.get("errors").and_then(|e| e.get(0));
    let code = first
        .and_then(|e| e.get("code"))
        .and_then(Value::as_str)
        .map(String::from);
    let detail = first
        .and_then(|e| e.get("detail"))
        .or_else(|| body.get("message"))
        .map(|d| match d {
            Value::String(s) => s.clone(),
            Value::Array(a) => a
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        });
    (code, detail)
}
