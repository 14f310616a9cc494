//! Verification of SCP OpenAPI signatures (the server side of `target::sign::scp`).

use axum::http::HeaderMap;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::errors::ApiError;
use super::store::Principal;
use crate::target::sign::scp::{scp_message, CLIENT_TYPE};
use crate::target::sign::Credentials;

fn header<'a>(h: &'a HeaderMap, name: &str) -> Result<&'a str, ApiError> {
    h.get(name)
        .ok_or_else(|| ApiError::unauthorized(format!("missing header {name}")))?
        .to_str()
        .map_err(|_| ApiError::unauthorized(format!("header {name} is not valid text")))
}

/// Checks the signature headers. `url` is the absolute URL as received. Details never contain
/// the received signature or the secret.
pub fn authenticate(
    headers: &HeaderMap,
    method: &str,
    url: &str,
    creds: &Credentials,
    skew_secs: i64,
    now_ms: i64,
) -> Result<Principal, ApiError> {
    let ak = header(headers, "Scp-Accesskey")?;
    let sig = header(headers, "Scp-Signature")?;
    let ts = header(headers, "Scp-Timestamp")?;
    let client_type = header(headers, "Scp-ClientType")?;
    let account = match headers.get("Scp-AccountId") {
        Some(v) => v
            .to_str()
            .map_err(|_| ApiError::unauthorized("header Scp-AccountId is not valid text"))?,
        None => "",
    };
    if client_type != CLIENT_TYPE {
        return Err(ApiError::unauthorized("Scp-ClientType must be Openapi"));
    }
    if ts.len() != 13 || !ts.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::unauthorized(
            "Scp-Timestamp must be 13 digits (epoch milliseconds)",
        ));
    }
    let ts_ms: i64 = ts
        .parse()
        .map_err(|_| ApiError::unauthorized("Scp-Timestamp is not a number"))?;
    if (now_ms - ts_ms).abs() > skew_secs.saturating_mul(1000) {
        return Err(ApiError::unauthorized(
            "Scp-Timestamp is outside the allowed clock skew",
        ));
    }
    // Compare the access key without early exit on length differences leaking the key.
    if ak.len() != creds.access_key.len()
        || !ak
            .bytes()
            .zip(creds.access_key.bytes())
            .fold(true, |ok, (a, b)| ok & (a == b))
    {
        return Err(ApiError::unauthorized("unknown access key"));
    }
    if !account.is_empty() && !creds.account_id.is_empty() && account != creds.account_id {
        return Err(ApiError::unauthorized(
            "access key not valid for this account",
        ));
    }
    let wrong = || ApiError::unauthorized("signature does not match");
    let given = base64::engine::general_purpose::STANDARD
        .decode(sig)
        .map_err(|_| wrong())?;
    let msg = scp_message(method, url, ts, ak, account);
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(creds.secret_key.as_bytes()).map_err(|_| wrong())?;
    mac.update(msg.as_bytes());
    // `verify_slice` compares in constant time.
    mac.verify_slice(&given).map_err(|_| wrong())?;
    Ok(Principal::from_access_key(ak))
}
