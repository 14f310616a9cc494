//! The live probe: one signed, harmless request per version — the spec's first GET without
//! path parameters (for SCP KMS: listKeys, `GET /v1/kms/transit`) — pinned with the version
//! header the spec declares (`Scp-Api-Version: kms X.Y`). Does the target still serve the
//! version, and if not, how does it refuse? Does it announce retirement in `Deprecation` /
//! `Sunset` / `Warning` headers?

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

/// The probe request for a version's OpenAPI document: its first GET (by operationId) with
/// no path and no required parameter, with the version header; None when there is none.
pub fn probe_request(doc: &Value) -> Option<Request> {
    let ops = crate::spec::changes::operations(doc);
    let needs_nothing = |op: &Value| {
        op.get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .all(|p| p.get("required") != Some(&Value::Bool(true)))
    };
    let (_, (_, path, _)) = ops
        .iter()
        .find(|(_, (m, p, op))| m == "get" && !p.contains('{') && needs_nothing(op))?;
    Some(Request {
        method: "GET".into(),
        path: path.clone(),
        query: vec![],
        headers: crate::run::version_header(doc).into_iter().collect(),
        body: None,
        auth: Auth::Signed,
    })
}

pub async fn probe(client: &Client, req: &Request) -> ProbeResult {
    match client.send(req).await {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_is_list_keys_with_the_version_header() {
        let doc: Value =
            serde_json::from_str(include_str!("../../specs/scp-kms/1.1.json")).unwrap();
        let r = probe_request(&doc).unwrap();
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("GET", "/v1/kms/transit")
        );
        assert_eq!(
            r.headers,
            [("Scp-Api-Version".to_string(), "kms 1.1".to_string())]
        );
    }
}
