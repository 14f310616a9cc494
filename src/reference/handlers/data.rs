//! Data plane: /v1/kms/openapi/* (transit-style crypto). The documented codes here are
//! 200/400/401/403 only, so an unknown key id is a 400 (a 403 under the `unknown-key-403`
//! variant), never a 404.
//!
//! Each call: body checks, then the key's existence, state and purpose under its lock (which
//! also snapshots its versions), then the crypto outside the lock (the engine of
//! `engine.rs`: local, or OpenBao transit), then faults, and the use is recorded under the
//! lock again, only on success.

use std::sync::Arc;

use serde_json::{json, Value};

use super::control::short;
use crate::reference::crypto::{transit_parse, Purpose, B64};
use crate::reference::engine::{CryptoError, KeyCrypto};
use crate::reference::errors::ApiError;
use crate::reference::faults::Fault;
use crate::reference::input::{json_object, req_b64, req_str};
use crate::reference::router::{Ctx, Reply};
use crate::reference::store::{KeyRecord, STATE_ACTIVE, STATE_STOP};
use crate::reference::variants::Variant;
use base64::Engine as _;

fn key_not_found(ctx: &Ctx<'_>, id: &str) -> ApiError {
    let detail = format!("key not found: {}", short(id));
    if ctx.variant(Variant::UnknownKey403) {
        ApiError::forbidden(detail)
    } else {
        ApiError::validation(detail)
    }
}

/// A key that passed the existence, state and purpose checks, with its crypto.
struct Usable {
    rec: Arc<KeyRecord>,
    crypto: KeyCrypto,
}

/// The checks, in order (existence, state, purpose), under the key's lock.
fn usable(
    ctx: &Ctx<'_>,
    id: &str,
    purpose_ok: fn(Purpose) -> bool,
    op: &str,
) -> Result<Usable, ApiError> {
    let rec = ctx
        .app
        .store
        .get(id)
        .ok_or_else(|| key_not_found(ctx, id))?;
    let st = rec.state.lock();
    let usable =
        st.state == STATE_ACTIVE || (st.state == STATE_STOP && ctx.has(Fault::StoppedKeyUsable));
    if !usable {
        return Err(ApiError::forbidden(format!(
            "key is in state {} and cannot be used",
            st.state
        )));
    }
    if !purpose_ok(rec.purpose) {
        return Err(ApiError::validation(format!(
            "{op} is not supported by a {} key",
            rec.purpose.as_str()
        )));
    }
    let crypto = ctx.app.engine.key_crypto(&rec, &st.versions);
    drop(st);
    Ok(Usable { rec, crypto })
}

impl Usable {
    /// Records a successful use (use_count, users) and the version the engine used.
    fn used(&self, ctx: &Ctx<'_>, version: Option<u32>) {
        let mut st = self.rec.state.lock();
        if let Some(v) = version {
            st.versions.saw(v);
        }
        st.record_use(&ctx.principal);
    }

    /// A crypto failure as the reference answers it; `field` prefixes a refusal's detail.
    fn error(&self, ctx: &Ctx<'_>, field: Option<&str>, e: CryptoError) -> ApiError {
        match e {
            CryptoError::Refused(m) => match field {
                Some(f) => bad(format!("{f}: {m}")),
                None => bad(m),
            },
            CryptoError::KeyGone => key_not_found(ctx, &self.rec.id),
            CryptoError::Engine(m) => ApiError::internal(m),
        }
    }

    /// Parses a transit string and checks its version exists (1..=current), or 400.
    fn versioned(&self, field: &str, s: &str) -> Result<(u32, Vec<u8>), ApiError> {
        let (v, bytes) = transit_parse(s).map_err(|e| bad(format!("{field}: {e}")))?;
        if v > self.crypto.current {
            return Err(bad(format!(
                "{field}: key version {v} does not exist (current version {})",
                self.crypto.current
            )));
        }
        Ok((v, bytes))
    }
}

/// Purposes that encrypt, decrypt and rewrap: rsa-2048 too under the `rsa-encrypt` variant.
/// (datakey keeps [`Purpose::can_encrypt`]: an rsa-2048 key refused datakey live.)
fn encrypt_purpose(ctx: &Ctx<'_>) -> fn(Purpose) -> bool {
    if ctx.variant(Variant::RsaEncrypt) {
        |p| p.can_encrypt() || p == Purpose::Rsa2048
    } else {
        Purpose::can_encrypt
    }
}

fn bad(e: impl Into<String>) -> ApiError {
    ApiError::validation(e.into())
}

/// `vault:vN:rest` relabelled `vault:v1:rest` (the `ciphertext-stale-version` fault).
fn relabel_v1(s: &str) -> String {
    let mut parts = s.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(prefix), Some(_), Some(rest)) => format!("{prefix}:v1:{rest}"),
        _ => s.to_string(),
    }
}

pub async fn encrypt(ctx: &Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    let b = json_object(&ctx.body)?;
    let pt = req_b64(&b, "plaintext")?;
    let key = usable(ctx, id, encrypt_purpose(ctx), "encrypt")?;
    let (ct, v) = key
        .crypto
        .encrypt(pt)
        .await
        .map_err(|e| key.error(ctx, None, e))?;
    let ct = if ctx.has(Fault::CiphertextStaleVersion) {
        relabel_v1(&ct)
    } else {
        ct
    };
    key.used(ctx, Some(v));
    Ok(Reply::ok(json!({"ciphertext": ct, "key_version": v})))
}

pub async fn decrypt(ctx: &Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    let b = json_object(&ctx.body)?;
    let ct = req_str(&b, "ciphertext")?;
    let key = usable(ctx, id, encrypt_purpose(ctx), "decrypt")?;
    let (v, blob) = key.versioned("ciphertext", ct)?;
    let mut pt = key
        .crypto
        .decrypt(ct, v, blob)
        .await
        .map_err(|e| key.error(ctx, Some("ciphertext"), e))?;
    if ctx.has(Fault::DecryptCorrupts) {
        if let Some(last) = pt.last_mut() {
            *last ^= 0x01;
        }
    }
    key.used(ctx, None);
    Ok(Reply::ok(json!({"plaintext": B64.encode(pt)})))
}

pub async fn rewrap(ctx: &Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    let b = json_object(&ctx.body)?;
    let ct = req_str(&b, "ciphertext")?;
    let key = usable(ctx, id, encrypt_purpose(ctx), "rewrap")?;
    let (v, blob) = key.versioned("ciphertext", ct)?;
    // Under `rewrap-keeps-version` the ciphertext is still rewrapped (and so checked), but
    // the input is answered.
    let (new_ct, nv) = key
        .crypto
        .rewrap(ct, v, blob)
        .await
        .map_err(|e| key.error(ctx, Some("ciphertext"), e))?;
    key.used(ctx, Some(nv));
    if ctx.has(Fault::RewrapKeepsVersion) {
        return Ok(Reply::ok(
            json!({"ciphertext": ct, "key_version": key.crypto.current}),
        ));
    }
    Ok(Reply::ok(json!({"ciphertext": new_ct, "key_version": nv})))
}

pub async fn datakey(ctx: &Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    let b = json_object(&ctx.body)?;
    let kind = req_str(&b, "key_type")?;
    let plaintext_wanted = match kind {
        "plaintext" => true,
        "wrapped" => false,
        _ => return Err(bad("key_type: must be plaintext or wrapped")),
    };
    let key = usable(ctx, id, Purpose::can_encrypt, "datakey")?;
    let show = plaintext_wanted || ctx.has(Fault::DatakeyWrappedLeaksPlaintext);
    let (ct, v, dk) = key
        .crypto
        .datakey(show)
        .await
        .map_err(|e| key.error(ctx, None, e))?;
    let plaintext = match dk {
        Some(mut shown) if show => {
            if ctx.has(Fault::DatakeyMismatch) {
                if let Some(first) = shown.first_mut() {
                    *first ^= 0xff;
                }
            }
            Value::String(B64.encode(shown))
        }
        _ => Value::Null,
    };
    key.used(ctx, Some(v));
    Ok(Reply::ok(json!({
        "ciphertext": ct,
        "key_version": v,
        "plaintext": plaintext,
    })))
}

pub async fn sign(ctx: &Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    let b = json_object(&ctx.body)?;
    let input = req_b64(&b, "input")?;
    let key = usable(ctx, id, Purpose::can_sign, "sign")?;
    let (sig, v) = key
        .crypto
        .sign(input)
        .await
        .map_err(|e| key.error(ctx, None, e))?;
    key.used(ctx, Some(v));
    Ok(Reply::ok(json!({"key_version": v, "signature": sig})))
}

pub async fn verify(ctx: &Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    let b = json_object(&ctx.body)?;
    let input = req_b64(&b, "input")?;
    let sig = req_str(&b, "signature")?;
    let key = usable(ctx, id, Purpose::can_sign, "verify")?;
    let (v, bytes) = key.versioned("signature", sig)?;
    let valid = key
        .crypto
        .verify(input, sig, v, bytes)
        .await
        .map_err(|e| key.error(ctx, None, e))?;
    key.used(ctx, None);
    Ok(Reply::ok(
        json!({"valid": valid || ctx.has(Fault::VerifyAlwaysValid)}),
    ))
}

fn is_hmac(p: Purpose) -> bool {
    p == Purpose::Hmac
}

pub async fn hmac(ctx: &Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    let b = json_object(&ctx.body)?;
    let input = req_b64(&b, "input")?;
    let key = usable(ctx, id, is_hmac, "hmac")?;
    let (mac, v) = key
        .crypto
        .hmac(input)
        .await
        .map_err(|e| key.error(ctx, None, e))?;
    key.used(ctx, Some(v));
    // HmacResponse documents only `hmac` (no key_version).
    Ok(Reply::ok(json!({ "hmac": mac })))
}

pub async fn verify_hmac(ctx: &Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    let b = json_object(&ctx.body)?;
    let input = req_b64(&b, "input")?;
    let mac = req_str(&b, "hmac")?;
    let key = usable(ctx, id, is_hmac, "hmac verify")?;
    let (v, bytes) = key.versioned("hmac", mac)?;
    let valid = key
        .crypto
        .hmac_verify(input, mac, v, bytes)
        .await
        .map_err(|e| key.error(ctx, None, e))?;
    key.used(ctx, None);
    Ok(Reply::ok(
        json!({"valid": valid || ctx.has(Fault::HmacVerifyAlwaysValid)}),
    ))
}

#[cfg(test)]
mod tests {
    use super::relabel_v1;

    #[test]
    fn stale_labels_keep_the_payload() {
        assert_eq!(relabel_v1("vault:v7:QUJD"), "vault:v1:QUJD");
        assert_eq!(relabel_v1("nonsense"), "nonsense");
    }
}
