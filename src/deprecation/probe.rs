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

/// The probe request for a version: the profile's probe operation, else its first GET with
/// no path and no required parameter, with the version's header; None when there is none.
pub fn probe_request(
    spec: &crate::spec::VersionSpec,
    profile: &crate::spec::Profile,
) -> Option<Request> {
    let op = match &profile.probe {
        Some(id) => spec.operation(id)?,
        None => spec.operations.iter().find(|o| {
            o.method == "GET" && !o.path.contains('{') && o.params.iter().all(|p| !p.required)
        })?,
    };
    Some(Request {
        method: op.method.clone(),
        path: op.path.clone(),
        query: vec![],
        headers: profile.version_header(&spec.version).into_iter().collect(),
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
                headers: resp
                    .headers
                    .iter()
                    .filter(|(k, _)| {
                        ["deprecation", "sunset", "warning"]
                            .contains(&k.to_ascii_lowercase().as_str())
                    })
                    .cloned()
                    .collect(),
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

/// (code, detail) of an error body, whatever the envelope: the first string under a key
/// named like a code (`code`, `error_code`) and like a message (`detail`, `message`,
/// `error_msg`), searched depth-first.
fn error_of(body: &Value) -> (Option<String>, Option<String>) {
    fn find(v: &Value, keys: &[&str]) -> Option<String> {
        match v {
            Value::Object(o) => {
                for k in keys {
                    match o.get(*k) {
                        Some(Value::String(s)) => return Some(s.clone()),
                        Some(Value::Array(a))
                            if a.iter().all(Value::is_string) && !a.is_empty() =>
                        {
                            return Some(
                                a.iter()
                                    .filter_map(Value::as_str)
                                    .collect::<Vec<_>>()
                                    .join("; "),
                            )
                        }
                        _ => {}
                    }
                }
                o.values().find_map(|x| find(x, keys))
            }
            Value::Array(a) => a.iter().find_map(|x| find(x, keys)),
            _ => None,
        }
    }
    (
        find(body, &["code", "error_code"]),
        find(body, &["detail", "message", "error_msg"]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_found_in_any_envelope() {
        let a = serde_json::json!({"errors": [{"code": "NoSuchVersion", "detail": ["a", "b"]}]});
        assert_eq!(
            error_of(&a),
            (Some("NoSuchVersion".into()), Some("a; b".into()))
        );
        let b = serde_json::json!({"error": {"error_code": "KMS.0001", "error_msg": "bad"}});
        assert_eq!(error_of(&b), (Some("KMS.0001".into()), Some("bad".into())));
    }
}
