//! Naver Cloud Platform API Gateway signature v2 (`ncp-apigw-v2`), see `notes/protocols.md` §3.
//!
//! ```text
//! string_to_sign = METHOD + " " + URI + "\n" + TIMESTAMP_MS + "\n" + ACCESS_KEY
//! x-ncp-apigw-signature-v2 = base64_std(HMAC-SHA256(secret_key, string_to_sign))
//! ```
//!
//! URI is the path plus `?query` exactly as on the wire (no scheme or host, nothing
//! re-encoded). The body is not signed. The gateway refuses timestamps more than 5 minutes
//! away from its clock.

use base64::Engine as _;

use super::{ct_eq, hmac_sha256, split_url, Credentials, HttpRequest, SignError, VerifyError};

/// Scheme id (`x-signer` in the specs, `auth.scheme` in the profile).
pub const SCHEME: &str = "ncp-apigw-v2";
pub const HEADER_TIMESTAMP: &str = "x-ncp-apigw-timestamp";
pub const HEADER_ACCESS_KEY: &str = "x-ncp-iam-access-key";
pub const HEADER_SIGNATURE: &str = "x-ncp-apigw-signature-v2";
/// The gateway's window (protocols.md §3): |server clock - timestamp| <= 5 minutes.
pub const CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;

/// `METHOD URI\nTIMESTAMP\nACCESS_KEY`.
pub fn string_to_sign(method: &str, uri: &str, timestamp_ms: &str, access_key: &str) -> String {
    format!(
        "{} {uri}\n{timestamp_ms}\n{access_key}",
        method.to_ascii_uppercase()
    )
}

/// base64 (standard, padded) of HMAC-SHA256(secret, string_to_sign).
pub fn signature(secret_key: &str, string_to_sign: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(hmac_sha256(
        secret_key.as_bytes(),
        string_to_sign.as_bytes(),
    ))
}

/// The signed URI of an absolute URL: path plus `?query` as written.
pub fn signed_uri(url: &str) -> Result<String, SignError> {
    let u = split_url(url)?;
    Ok(match u.query {
        Some(q) => format!("{}?{q}", u.path),
        None => u.path.to_string(),
    })
}

/// The three headers to add to `req`, signed at `now_ms` (Unix epoch milliseconds).
pub fn sign(
    req: &HttpRequest<'_>,
    creds: &Credentials,
    now_ms: i64,
) -> Result<Vec<(String, String)>, SignError> {
    let ts = format!("{now_ms:013}");
    let sts = string_to_sign(req.method, &signed_uri(req.url)?, &ts, &creds.access_key);
    Ok(vec![
        (HEADER_TIMESTAMP.to_string(), ts),
        (HEADER_ACCESS_KEY.to_string(), creds.access_key.clone()),
        (
            HEADER_SIGNATURE.to_string(),
            signature(&creds.secret_key, &sts),
        ),
    ])
}

/// True for header names whose values must be redacted in logs and reports.
pub fn redact(name: &str) -> bool {
    name.eq_ignore_ascii_case(HEADER_SIGNATURE)
}

/// Server side: checks the three headers of a received request. `req.url` is the absolute URL
/// as received (scheme + Host + request target, not re-encoded).
pub fn verify(
    req: &HttpRequest<'_>,
    creds: &Credentials,
    now_ms: i64,
    skew_ms: i64,
) -> Result<(), VerifyError> {
    let get = |name: &str| {
        req.header(name)
            .ok_or_else(|| VerifyError::MissingHeader(name.to_string()))
    };
    let ts = get(HEADER_TIMESTAMP)?;
    let ak = get(HEADER_ACCESS_KEY)?;
    let sig = get(HEADER_SIGNATURE)?;
    if ts.len() != 13 || !ts.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::Malformed {
            header: HEADER_TIMESTAMP.into(),
            reason: "must be 13 digits (epoch milliseconds)".into(),
        });
    }
    let ts_ms: i64 = ts.parse().map_err(|_| VerifyError::Malformed {
        header: HEADER_TIMESTAMP.into(),
        reason: "not a number".into(),
    })?;
    if (now_ms - ts_ms).abs() > skew_ms {
        return Err(VerifyError::ClockSkew {
            header: HEADER_TIMESTAMP.into(),
            skew_secs: skew_ms / 1000,
        });
    }
    if !ct_eq(ak.as_bytes(), creds.access_key.as_bytes()) {
        return Err(VerifyError::UnknownAccessKey);
    }
    let given = base64::engine::general_purpose::STANDARD
        .decode(sig)
        .map_err(|_| VerifyError::SignatureMismatch)?;
    let uri = signed_uri(req.url).map_err(|e| VerifyError::Malformed {
        header: "Host".into(),
        reason: e.to_string(),
    })?;
    let expected = hmac_sha256(
        creds.secret_key.as_bytes(),
        string_to_sign(req.method, &uri, ts, ak).as_bytes(),
    );
    if ct_eq(&given, &expected) {
        Ok(())
    } else {
        Err(VerifyError::SignatureMismatch)
    }
}

/// The scheme as the engine uses it.
pub struct NcpSigner {
    pub credentials: Credentials,
}

impl super::Signer for NcpSigner {
    fn sign(&self, req: &HttpRequest, now_ms: i64) -> Vec<(String, String)> {
        // The client only sends absolute http(s) URLs, which always split.
        sign(req, &self.credentials, now_ms).unwrap_or_default()
    }
    fn is_secret_header(&self, name: &str) -> bool {
        redact(name)
    }
    fn negative_cases(&self) -> &'static [crate::target::http::Auth] {
        use crate::target::http::Auth;
        &[Auth::Unsigned, Auth::WrongSignature, Auth::StaleTimestamp]
    }
    fn wrong(&self) -> std::sync::Arc<dyn super::Signer> {
        std::sync::Arc::new(NcpSigner {
            credentials: Credentials {
                secret_key: format!("{}-wrong", self.credentials.secret_key),
                ..self.credentials.clone()
            },
        })
    }
    fn curl_hint(&self, method: &str, url: &str) -> String {
        let uri = signed_uri(url).unwrap_or_default();
        format!(
            "export X_NCP_APIGW_TIMESTAMP=$(date +%s%3N); export X_NCP_APIGW_SIGNATURE_V2=$(printf '%s %s\\n%s\\n%s' {} {} \"$X_NCP_APIGW_TIMESTAMP\" \"$NCP_ACCESS_KEY\" | openssl dgst -sha256 -hmac \"$NCP_SECRET_KEY\" -binary | base64)",
            crate::target::shell_quote(&method.to_ascii_uppercase()),
            crate::target::shell_quote(&uri)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials {
            access_key: "TESTACCESSKEY".into(),
            secret_key: "TESTSECRETKEY".into(),
            account_id: String::new(),
        }
    }

    const KEY_URL: &str =
        "https://ocapi.ncloud.com/kms/v1/keys/a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v2w3x4y5z6";

    /// protocols.md §3.
    #[test]
    fn vector_get_key() {
        let sts = string_to_sign(
            "GET",
            "/kms/v1/keys/a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v2w3x4y5z6",
            "1593848345548",
            "TESTACCESSKEY",
        );
        assert_eq!(
            signature("TESTSECRETKEY", &sts),
            "DtLymqaiSzAjFGr/G7OGnftd/T++xRGqRGaGBaa3Tos="
        );
    }

    #[test]
    fn sign_gives_the_three_headers() {
        let req = HttpRequest {
            method: "get",
            url: KEY_URL,
            headers: &[],
            body: b"ignored: the body is not signed",
        };
        let h = sign(&req, &creds(), 1593848345548).unwrap();
        assert_eq!(
            h,
            vec![
                (HEADER_TIMESTAMP.into(), "1593848345548".into()),
                (HEADER_ACCESS_KEY.into(), "TESTACCESSKEY".into()),
                (
                    HEADER_SIGNATURE.into(),
                    "DtLymqaiSzAjFGr/G7OGnftd/T++xRGqRGaGBaa3Tos=".into()
                ),
            ]
        );
        assert!(redact("X-NCP-APIGW-SIGNATURE-V2"));
        assert!(!redact(HEADER_ACCESS_KEY));
    }

    #[test]
    fn query_is_signed_as_written_and_fragment_dropped() {
        assert_eq!(
            signed_uri("https://h/kms/v1/keys?pageNo=1&a=%2F#x").unwrap(),
            "/kms/v1/keys?pageNo=1&a=%2F"
        );
        assert!(signed_uri("/kms/v1/keys").is_err());
    }

    #[test]
    fn verify_accepts_its_own_and_refuses_tampering() {
        let now = 1_700_000_000_000;
        let c = creds();
        let headers = sign(
            &HttpRequest {
                method: "GET",
                url: KEY_URL,
                headers: &[],
                body: b"",
            },
            &c,
            now,
        )
        .unwrap();
        let req = |url, h: &[(String, String)]| {
            verify(
                &HttpRequest {
                    method: "GET",
                    url,
                    headers: h,
                    body: b"",
                },
                &c,
                now + 1000,
                CLOCK_SKEW_MS,
            )
        };
        assert_eq!(req(KEY_URL, &headers), Ok(()));
        // Other host, same path: still valid (the host is not signed).
        let other = KEY_URL.replace("ocapi.ncloud.com", "127.0.0.1:9");
        assert_eq!(req(&other, &headers), Ok(()));
        let tampered = format!("{KEY_URL}x");
        assert_eq!(
            req(&tampered, &headers),
            Err(VerifyError::SignatureMismatch)
        );
        let mut h = headers.clone();
        h[0].1 = format!("{:013}", now - CLOCK_SKEW_MS - 2000);
        assert!(matches!(
            req(KEY_URL, &h),
            Err(VerifyError::ClockSkew { .. })
        ));
        let mut h = headers.clone();
        h[0].1 = "1700000000".into();
        assert!(matches!(
            req(KEY_URL, &h),
            Err(VerifyError::Malformed { .. })
        ));
        let mut h = headers.clone();
        h[1].1 = "OTHER".into();
        assert_eq!(req(KEY_URL, &h), Err(VerifyError::UnknownAccessKey));
        assert_eq!(
            req(KEY_URL, &headers[..2]),
            Err(VerifyError::MissingHeader(HEADER_SIGNATURE.into()))
        );
    }
}
