//! The request as it arrived, for signature verification: headers as (name, value) pairs and
//! the absolute URL (scheme + Host + request target, nothing re-encoded).

use axum::http::header;
use axum::http::request::Parts;

/// Header pairs (names lower-case, as hyper gives them). Values that are not visible text
/// are left out: a signature over them cannot be checked.
pub fn headers(parts: &Parts) -> Vec<(String, String)> {
    parts
        .headers
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_string(), v.to_string()))
        })
        .collect()
}

/// `http://` + Host + path and query as received; None without a Host.
pub fn url(parts: &Parts) -> Option<String> {
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| parts.uri.authority().map(|a| a.as_str().to_string()))?;
    let pq = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| parts.uri.path().to_string());
    Some(format!("http://{host}{pq}"))
}

/// A random request id: 32 lower-case hex digits.
pub fn request_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}
