//! Open Telekom Cloud / Huawei Cloud AK/SK signing (`sdk-hmac-sha256`), see
//! `notes/protocols.md` §4. Byte-for-byte what the official Python SDK core
//! (`huaweicloudsdkcore.signer.signer.Signer`) computes; `tests/otc_signer_oracle.rs` holds the
//! two against each other.
//!
//! ```text
//! CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n
//!                    SignedHeaders \n hex(SHA256(body))
//! StringToSign     = "SDK-HMAC-SHA256" \n X-Sdk-Date \n hex(SHA256(CanonicalRequest))
//! Authorization    = SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b;c, Signature=hex(HMAC(SK, StringToSign))
//! ```
//!
//! - CanonicalURI: the path percent-decoded, split on `/`, each segment encoded (RFC 3986
//!   unreserved characters kept, everything else `%XX` upper case), joined, ending in `/`.
//! - CanonicalQuery: pairs percent-decoded (`+` is a literal plus), sorted by decoded key then
//!   value (code point order), each encoded like a segment, `k=v` joined by `&`; a parameter
//!   without `=` counts as an empty value and is written `k=`; repeated keys stay repeated.
//! - Signed headers: every header of the request whose name has no `_`, lower-cased and sorted
//!   (`Host` and `X-Sdk-Date` are added when absent); canonical values are trimmed.
//! - Payload: SHA-256 of the body; an empty body hashes as empty. When the request has a
//!   `Content-Type` other than `application/json…`/`application/bson…`, the SDK adds
//!   `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` and (for a non-empty body) signs that literal
//!   instead of the hash. Unlike the SDK, which looks the header up by the exact name
//!   `Content-Type`, the name is matched case-insensitively here.

use chrono::{DateTime, NaiveDateTime, Utc};
use sha2::{Digest, Sha256};

use super::{ct_eq, hmac_sha256, split_url, Credentials, HttpRequest, SignError, VerifyError};

/// Scheme id (`x-signer` in the specs, `auth.scheme` in the profile).
pub const SCHEME: &str = "sdk-hmac-sha256";
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
pub const HEADER_DATE: &str = "X-Sdk-Date";
pub const HEADER_CONTENT_SHA256: &str = "X-Sdk-Content-Sha256";
pub const HEADER_AUTHORIZATION: &str = "Authorization";
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// `YYYYMMDDTHHMMSSZ`, UTC.
pub const DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";
/// Accepted |server clock - X-Sdk-Date| (our decision, after the Huawei API Gateway FAQ's
/// "within 15 minutes"; docs/reference.md).
pub const CLOCK_SKEW_SECS: i64 = 15 * 60;

pub use crate::target::url::percent_decode;

/// Encodes every byte except ASCII letters, digits and `-._~` as `%XX` (upper case).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || b"-._~".contains(&c) {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

/// The path as signed: decoded, split on `/`, each segment encoded, ending in `/`.
pub fn canonical_uri(path: &str) -> String {
    let decoded = percent_decode(path);
    let mut uri = decoded
        .split('/')
        .map(percent_encode)
        .collect::<Vec<_>>()
        .join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// Decoded `(key, value)` pairs of a raw query, in their order.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// The query as signed (and as the SDK sends it): sorted, encoded, `k=v` joined by `&`.
pub fn canonical_query(query: Option<&str>) -> String {
    let mut pairs = query_pairs(query);
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Lower-case hex SHA-256.
pub fn hex_sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The canonical request. `signed` holds (lower-case name, value) pairs sorted by name.
pub fn canonical_request(
    method: &str,
    path: &str,
    query: Option<&str>,
    signed: &[(String, String)],
    payload_hash: &str,
) -> String {
    let mut headers = String::new();
    for (k, v) in signed {
        headers.push_str(k);
        headers.push(':');
        headers.push_str(v.trim());
        headers.push('\n');
    }
    let names: Vec<&str> = signed.iter().map(|(k, _)| k.as_str()).collect();
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        method.to_ascii_uppercase(),
        canonical_uri(path),
        canonical_query(query),
        headers,
        names.join(";"),
        payload_hash
    )
}

/// `SDK-HMAC-SHA256\nDATE\nhex(SHA256(canonical_request))`.
pub fn string_to_sign(date: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{date}\n{}",
        hex_sha256(canonical_request.as_bytes())
    )
}

/// Lower-case hex HMAC-SHA256(secret, string_to_sign).
pub fn signature(secret_key: &str, string_to_sign: &str) -> String {
    hex::encode(hmac_sha256(
        secret_key.as_bytes(),
        string_to_sign.as_bytes(),
    ))
}

/// `X-Sdk-Date` for a Unix time in milliseconds.
pub fn sdk_date(now_ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(now_ms)
        .unwrap_or_default()
        .format(DATE_FORMAT)
        .to_string()
}

fn payload_hash(body: &[u8], content_sha256: Option<&str>) -> String {
    if body.is_empty() {
        return hex_sha256(b"");
    }
    match content_sha256.filter(|v| !v.is_empty()) {
        Some(v) => v.to_string(),
        None => hex_sha256(body),
    }
}

/// Whether the SDK would send the body unsigned for this Content-Type.
fn unsigned_content(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        !ct.is_empty() && !ct.starts_with("application/json") && !ct.starts_with("application/bson")
    })
}

/// Headers to add to `req`, signed at `now_ms`: `X-Sdk-Date` and `Host` when the request does
/// not carry them, `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` for non-JSON content types, and
/// `Authorization`. A request that already carries `X-Sdk-Date` is signed with that date.
pub fn sign(
    req: &HttpRequest<'_>,
    creds: &Credentials,
    now_ms: i64,
) -> Result<Vec<(String, String)>, SignError> {
    let u = split_url(req.url)?;
    let mut added = Vec::new();
    if req.header(HEADER_DATE).is_none() {
        added.push((HEADER_DATE.to_string(), sdk_date(now_ms)));
    }
    if req.header("Host").is_none() {
        added.push(("Host".to_string(), u.authority.to_string()));
    }
    if unsigned_content(req.header("Content-Type")) {
        added.push((
            HEADER_CONTENT_SHA256.to_string(),
            UNSIGNED_PAYLOAD.to_string(),
        ));
    }
    // All headers, the added ones overriding; names lower-cased; `_` names are not signed.
    let mut all: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    for (k, v) in req.headers.iter().chain(added.iter()) {
        all.insert(k.to_ascii_lowercase(), v.clone());
    }
    let date = all[&HEADER_DATE.to_ascii_lowercase()].clone();
    let content = all
        .get(&HEADER_CONTENT_SHA256.to_ascii_lowercase())
        .cloned();
    let signed: Vec<(String, String)> = all.into_iter().filter(|(k, _)| !k.contains('_')).collect();
    let canonical = canonical_request(
        req.method,
        u.path,
        u.query,
        &signed,
        &payload_hash(req.body, content.as_deref()),
    );
    let sig = signature(&creds.secret_key, &string_to_sign(&date, &canonical));
    let names: Vec<&str> = signed.iter().map(|(k, _)| k.as_str()).collect();
    added.push((
        HEADER_AUTHORIZATION.to_string(),
        format!(
            "{ALGORITHM} Access={}, SignedHeaders={}, Signature={sig}",
            creds.access_key,
            names.join(";")
        ),
    ));
    Ok(added)
}

/// True for header names whose values must be redacted in logs and reports.
pub fn redact(name: &str) -> bool {
    name.eq_ignore_ascii_case(HEADER_AUTHORIZATION)
}

/// The parts of an `Authorization: SDK-HMAC-SHA256 …` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

fn malformed(header: &str, reason: impl Into<String>) -> VerifyError {
    VerifyError::Malformed {
        header: header.to_string(),
        reason: reason.into(),
    }
}

/// Parses `SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex`.
pub fn parse_authorization(value: &str) -> Result<Authorization, VerifyError> {
    let bad = |r: &str| malformed(HEADER_AUTHORIZATION, r);
    let rest = value
        .strip_prefix(ALGORITHM)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or_else(|| bad("must start with 'SDK-HMAC-SHA256 '"))?;
    let (mut access, mut signed, mut sig) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| bad("expected Access=…, SignedHeaders=…, Signature=…"))?;
        let slot = match k {
            "Access" => &mut access,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut sig,
            _ => return Err(bad("unknown part")),
        };
        if slot.replace(v.to_string()).is_some() {
            return Err(bad("repeated part"));
        }
    }
    let (Some(access), Some(signed), Some(signature)) = (access, signed, sig) else {
        return Err(bad("Access, SignedHeaders and Signature are all required"));
    };
    let signed_headers: Vec<String> = signed.split(';').map(str::to_string).collect();
    if signed_headers.iter().any(|h| h.is_empty()) {
        return Err(bad("empty name in SignedHeaders"));
    }
    Ok(Authorization {
        access,
        signed_headers,
        signature,
    })
}

/// Server side. `req.url` is the absolute URL as received (scheme + Host + request target).
/// The signed header list is the client's; it must name `host` and `x-sdk-date`, and every
/// header it names must be present.
pub fn verify(
    req: &HttpRequest<'_>,
    creds: &Credentials,
    now_ms: i64,
    skew_secs: i64,
) -> Result<(), VerifyError> {
    let auth = parse_authorization(
        req.header(HEADER_AUTHORIZATION)
            .ok_or_else(|| VerifyError::MissingHeader(HEADER_AUTHORIZATION.into()))?,
    )?;
    let date = req
        .header(HEADER_DATE)
        .ok_or_else(|| VerifyError::MissingHeader(HEADER_DATE.into()))?;
    let t = NaiveDateTime::parse_from_str(date, DATE_FORMAT)
        .ok()
        .filter(|_| date.len() == 16)
        .ok_or_else(|| malformed(HEADER_DATE, "expected YYYYMMDDTHHMMSSZ (UTC)"))?;
    let t_ms = t.and_utc().timestamp_millis();
    if (now_ms - t_ms).abs() > skew_secs.saturating_mul(1000) {
        return Err(VerifyError::ClockSkew {
            header: HEADER_DATE.into(),
            skew_secs,
        });
    }
    if !ct_eq(auth.access.as_bytes(), creds.access_key.as_bytes()) {
        return Err(VerifyError::UnknownAccessKey);
    }
    for must in ["host", "x-sdk-date"] {
        if !auth.signed_headers.iter().any(|h| h == must) {
            return Err(malformed(
                HEADER_AUTHORIZATION,
                format!("SignedHeaders must include {must}"),
            ));
        }
    }
    let mut signed = Vec::with_capacity(auth.signed_headers.len());
    for name in &auth.signed_headers {
        let v = req
            .header(name)
            .ok_or_else(|| VerifyError::MissingHeader(name.clone()))?;
        signed.push((name.clone(), v.to_string()));
    }
    let u = split_url(req.url).map_err(|e| malformed("Host", e.to_string()))?;
    let canonical = canonical_request(
        req.method,
        u.path,
        u.query,
        &signed,
        &payload_hash(req.body, req.header(HEADER_CONTENT_SHA256)),
    );
    let expected = hmac_sha256(
        creds.secret_key.as_bytes(),
        string_to_sign(date, &canonical).as_bytes(),
    );
    let given = hex::decode(&auth.signature).map_err(|_| VerifyError::SignatureMismatch)?;
    if ct_eq(&given, &expected) {
        Ok(())
    } else {
        Err(VerifyError::SignatureMismatch)
    }
}

/// The scheme as the engine uses it.
pub struct OtcSigner {
    pub credentials: Credentials,
}

impl super::Signer for OtcSigner {
    fn sign(&self, req: &HttpRequest, now_ms: i64) -> Vec<(String, String)> {
        // The client only sends absolute http(s) URLs, which always split.
        sign(req, &self.credentials, now_ms).unwrap_or_default()
    }
    fn is_secret_header(&self, name: &str) -> bool {
        name.eq_ignore_ascii_case(HEADER_AUTHORIZATION)
    }
    fn negative_cases(&self) -> &'static [crate::target::http::Auth] {
        use crate::target::http::Auth;
        &[Auth::Unsigned, Auth::WrongSignature, Auth::StaleTimestamp]
    }
    fn wrong(&self) -> std::sync::Arc<dyn super::Signer> {
        std::sync::Arc::new(OtcSigner {
            credentials: Credentials {
                secret_key: format!("{}-wrong", self.credentials.secret_key),
                ..self.credentials.clone()
            },
        })
    }
    fn curl_hint(&self, _method: &str, _url: &str) -> String {
        "AUTHORIZATION and X_SDK_DATE come from an SDK-HMAC-SHA256 signer over the exact request (method, path, sorted query, signed headers, body hash), e.g. huaweicloudsdkcore's Signer (scripts/otc_sign.py)".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR_URL: &str = "https://service.region.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0";
    const VECTOR_SK: &str = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc";

    fn vector_headers() -> Vec<(String, String)> {
        vec![
            ("Content-Type".into(), "application/json".into()),
            ("Host".into(), "service.region.example.com".into()),
            (HEADER_DATE.into(), "20191115T033655Z".into()),
        ]
    }

    /// protocols.md §4, the official vector.
    #[test]
    fn official_vector() {
        let u = split_url(VECTOR_URL).unwrap();
        let signed: Vec<(String, String)> = vector_headers()
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        let canonical = canonical_request("GET", u.path, u.query, &signed, &hex_sha256(b""));
        assert_eq!(
            canonical,
            "GET\n/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/\nlimit=2&marker=13551d6b-755d-4757-b956-536f674975c0\ncontent-type:application/json\nhost:service.region.example.com\nx-sdk-date:20191115T033655Z\n\ncontent-type;host;x-sdk-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex_sha256(canonical.as_bytes()),
            "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a"
        );
        assert_eq!(
            signature(VECTOR_SK, &string_to_sign("20191115T033655Z", &canonical)),
            "7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
        );
    }

    #[test]
    fn sign_reproduces_the_vector_header() {
        let creds = Credentials {
            access_key: "AK".into(),
            secret_key: VECTOR_SK.into(),
            account_id: String::new(),
        };
        let headers = vector_headers();
        let req = HttpRequest {
            method: "GET",
            url: VECTOR_URL,
            headers: &headers,
            body: b"",
        };
        let h = sign(&req, &creds, 0).unwrap();
        assert_eq!(
            h,
            vec![(
                "Authorization".into(),
                "SDK-HMAC-SHA256 Access=AK, SignedHeaders=content-type;host;x-sdk-date, Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe".into()
            )]
        );
        // Without Host and X-Sdk-Date the signer adds both.
        let req = HttpRequest {
            method: "GET",
            url: VECTOR_URL,
            headers: &headers[..1],
            body: b"",
        };
        let h = sign(&req, &creds, 1573789015000).unwrap();
        assert_eq!(h[0], (HEADER_DATE.into(), "20191115T033655Z".into()));
        assert_eq!(h[1], ("Host".into(), "service.region.example.com".into()));
        assert!(h[2]
            .1
            .ends_with("7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"));
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(
            canonical_uri("/v1.0/p/kms/describe-key"),
            "/v1.0/p/kms/describe-key/"
        );
        assert_eq!(canonical_uri("/a b/%7e%41/é"), "/a%20b/~A/%C3%A9/");
        // An encoded slash is decoded first, so it separates segments (as in the SDK).
        assert_eq!(canonical_uri("/a%2Fb/"), "/a/b/");
        assert_eq!(
            canonical_query(Some("b=2&a=&a=1&c&x=%2B+y&k=%E2%82%AC")),
            "a=&a=1&b=2&c=&k=%E2%82%AC&x=%2B%2By"
        );
        assert_eq!(canonical_query(None), "");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%ff"), "\u{fffd}");
    }

    #[test]
    fn unsigned_payload_for_non_json_content() {
        let creds = Credentials {
            access_key: "AK".into(),
            secret_key: "SK".into(),
            account_id: String::new(),
        };
        let headers = vec![("content-type".into(), "text/plain".into())];
        let req = HttpRequest {
            method: "PUT",
            url: "http://h/x",
            headers: &headers,
            body: b"data",
        };
        let h = sign(&req, &creds, 0).unwrap();
        assert!(h.contains(&(HEADER_CONTENT_SHA256.into(), UNSIGNED_PAYLOAD.into())));
        assert!(h
            .last()
            .unwrap()
            .1
            .contains("SignedHeaders=content-type;host;x-sdk-content-sha256;x-sdk-date,"));
    }

    #[test]
    fn verify_round_trip_and_refusals() {
        let creds = Credentials {
            access_key: "AK".into(),
            secret_key: "SK".into(),
            account_id: String::new(),
        };
        let now = 1_700_000_000_000;
        let url = "http://127.0.0.1:8080/v1.0/p/kms/describe-key?b=1&a=2";
        let base = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("X-Project_Id".to_string(), "not signed".to_string()),
        ];
        let body = br#"{"key_id":"x"}"#;
        let req = HttpRequest {
            method: "POST",
            url,
            headers: &base,
            body,
        };
        let mut headers = base.clone();
        headers.extend(sign(&req, &creds, now).unwrap());
        let check = |url: &str, h: &[(String, String)], body: &[u8], now: i64| {
            verify(
                &HttpRequest {
                    method: "POST",
                    url,
                    headers: h,
                    body,
                },
                &creds,
                now,
                CLOCK_SKEW_SECS,
            )
        };
        assert_eq!(check(url, &headers, body, now), Ok(()));
        // The query order does not matter; its content does.
        let reordered = "http://127.0.0.1:8080/v1.0/p/kms/describe-key?a=2&b=1";
        assert_eq!(check(reordered, &headers, body, now), Ok(()));
        assert_eq!(
            check(&url.replace("a=2", "a=3"), &headers, body, now),
            Err(VerifyError::SignatureMismatch)
        );
        assert_eq!(
            check(url, &headers, b"{}", now),
            Err(VerifyError::SignatureMismatch)
        );
        assert!(matches!(
            check(url, &headers, body, now + 16 * 60 * 1000),
            Err(VerifyError::ClockSkew { .. })
        ));
        let mut h = headers.clone();
        h.retain(|(k, _)| k != "Authorization");
        assert_eq!(
            check(url, &h, body, now),
            Err(VerifyError::MissingHeader("Authorization".into()))
        );
        let mut h = headers.clone();
        h.retain(|(k, _)| k != "Content-Type");
        assert_eq!(
            check(url, &h, body, now),
            Err(VerifyError::MissingHeader("content-type".into()))
        );
        let mut h = headers.clone();
        let auth = h.iter_mut().find(|(k, _)| k == "Authorization").unwrap();
        auth.1 = auth.1.replace("Access=AK", "Access=ZZ");
        assert_eq!(
            check(url, &h, body, now),
            Err(VerifyError::UnknownAccessKey)
        );
        // The unsigned `_` header may change freely.
        let mut h = headers.clone();
        h[1].1 = "changed".into();
        assert_eq!(check(url, &h, body, now), Ok(()));
    }

    #[test]
    fn authorization_parsing() {
        let a = parse_authorization(
            "SDK-HMAC-SHA256 Access=A, SignedHeaders=host;x-sdk-date, Signature=00",
        )
        .unwrap();
        assert_eq!(a.signed_headers, ["host", "x-sdk-date"]);
        assert!(parse_authorization("AWS4-HMAC-SHA256 Access=A").is_err());
        assert!(parse_authorization("SDK-HMAC-SHA256 Access=A, Signature=00").is_err());
    }
}
