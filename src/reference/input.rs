//! Parsing of untrusted request input (query strings and JSON bodies) into 400s that name the
//! offending field. Nothing here may panic.

use base64::Engine as _;
use serde_json::{Map, Value};

use super::errors::ApiError;

/// Decoded `application/x-www-form-urlencoded` query pairs, in order.
pub fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    q.map(crate::target::url::query_pairs).unwrap_or_default()
}

/// Value of a query parameter: its first occurrence, or its last when `last` is set; an empty
/// value counts as absent.
pub fn query_param<'a>(q: &'a [(String, String)], name: &str, last: bool) -> Option<&'a str> {
    raw_query_param(q, name, last).filter(|v| !v.is_empty())
}

/// Like [`query_param`], but an empty value is returned as such.
pub fn raw_query_param<'a>(q: &'a [(String, String)], name: &str, last: bool) -> Option<&'a str> {
    let mut hits = q.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if last {
        hits.next_back()
    } else {
        hits.next()
    }
}

/// The body must be a JSON object.
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ApiError::validation("request body is required"));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::validation(format!("body: malformed JSON: {e}")))?;
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(ApiError::validation("body: must be a JSON object")),
    }
}

pub fn req_str<'a>(m: &'a Map<String, Value>, field: &str) -> Result<&'a str, ApiError> {
    match m.get(field) {
        None | Some(Value::Null) => Err(ApiError::validation(format!("{field}: Field required"))),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ApiError::validation(format!(
            "{field}: Input should be a valid string"
        ))),
    }
}

/// Required string field holding standard base64 (padded); empty is allowed (empty data).
pub fn req_b64(m: &Map<String, Value>, field: &str) -> Result<Vec<u8>, ApiError> {
    let s = req_str(m, field)?;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|_| ApiError::validation(format!("{field}: must be valid base64")))
}

/// Required JSON integer (not a float, not a string).
pub fn req_int(m: &Map<String, Value>, field: &str) -> Result<i64, ApiError> {
    match m.get(field) {
        None | Some(Value::Null) => Err(ApiError::validation(format!("{field}: Field required"))),
        Some(v) => v.as_i64().ok_or_else(|| {
            ApiError::validation(format!("{field}: Input should be a valid integer"))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        let q = parse_query(Some("a=1&name=x%20y+z&bad=%zz&t=%4"));
        assert_eq!(query_param(&q, "a", false), Some("1"));
        assert_eq!(query_param(&q, "name", false), Some("x y z"));
        assert_eq!(query_param(&q, "bad", false), Some("%zz"));
        assert_eq!(query_param(&q, "t", false), Some("%4"));
        assert_eq!(query_param(&q, "missing", false), None);
        let rep = parse_query(Some("s=1&s=2&e=x&e="));
        assert_eq!(query_param(&rep, "s", false), Some("1"));
        assert_eq!(query_param(&rep, "s", true), Some("2"));
        assert_eq!(query_param(&rep, "e", false), Some("x"));
        assert_eq!(query_param(&rep, "e", true), None);
        assert_eq!(raw_query_param(&rep, "e", true), Some(""));
    }

    #[test]
    fn bodies() {
        assert!(json_object(b"").is_err());
        assert!(json_object(b"[]").is_err());
        assert!(json_object(b"{").is_err());
        let m = json_object(br#"{"a":"YQ==","n":3,"f":1.5}"#).unwrap();
        assert_eq!(req_b64(&m, "a").unwrap(), b"a");
        assert_eq!(req_int(&m, "n").unwrap(), 3);
        assert!(req_int(&m, "f").is_err());
        assert!(req_str(&m, "n").is_err());
        assert!(req_str(&m, "zz").is_err());
    }
}
