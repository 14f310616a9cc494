//! Data plane: /v1/kms/openapi/* (transit-style crypto). The documented codes here are
//! 200/400/401/403 only, so an unknown key id is a 400 (a 403 under the `unknown-key-403`
//! variant), never a 404.

use rand::RngCore;
use serde_json::{json, Value};

use super::control::short;
use crate::reference::crypto::{transit_format, transit_parse, Purpose, B64};
use crate::reference::errors::ApiError;
use crate::reference::faults::Fault;
use crate::reference::input::{json_object, req_b64, req_str};
use crate::reference::router::{Ctx, Reply};
use crate::reference::store::{KeyRecord, KeyState, STATE_ACTIVE, STATE_STOP};
use crate::reference::variants::Variant;
use base64::Engine as _;

/// Runs `f` under the key's lock after the existence, state and purpose checks, and records the
/// use (use_count, users) only if `f` succeeds.
fn with_key<T>(
    ctx: &Ctx<'_>,
    id: &str,
    purpose_ok: fn(Purpose) -> bool,
    op: &str,
    f: impl FnOnce(&KeyRecord, &mut KeyState) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let rec = ctx.app.store.get(id).ok_or_else(|| {
        let detail = format!("key not found: {}", short(id));
        if ctx.variant(Variant::UnknownKey403) {
            ApiError::forbidden(detail)
        } else {
            ApiError::validation(detail)
        }
    })?;
    let mut st = rec.state.lock();
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
    let out = f(&rec, &mut st)?;
    st.record_use(&ctx.principal);
    Ok(out)
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

/// Decodes a transit string and returns the version's material, or 400.
fn decode_versioned<'s>(
    st: &'s KeyState,
    field: &str,
    s: &str,
) -> Result<(u32, Vec<u8>, &'s crate::reference::crypto::Material), ApiError> {
    let (v, bytes) = transit_parse(s).map_err(|e| bad(format!("{field}: {e}")))?;
    let m = st.material(v).ok_or_else(|| {
        bad(format!(
            "{field}: key version {v} does not exist (current version {})",
            st.current_version()
        ))
    })?;
    Ok((v, bytes, m))
}

pub fn encrypt(ctx: &Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    let b = json_object(&ctx.body)?;
    let pt = req_b64(&b, "plaintext")?;
    with_key(ctx, id, encrypt_purpose(ctx), "encrypt", |_, st| {
        let cv = st.current_version();
        let m = st.material(cv).ok_or_else(|| bad("key has no versions"))?;
        let ct = m.encrypt(&pt).map_err(bad)?;
        let label = if ctx.has(Fault::CiphertextStaleVersion) {
            1
        } else {
            cv
        };
        Ok(Reply::ok(
            json!({"ciphertext": transit_format(label, &ct), "key_version": cv}),
        ))
    })
}

pub fn decrypt(ctx: &Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    let b = json_object(&ctx.body)?;
    let ct = req_str(&b, "ciphertext")?;
    with_key(ctx, id, encrypt_purpose(ctx), "decrypt", |_, st| {
        let (_, blob, m) = decode_versioned(st, "ciphertext", ct)?;
        let mut pt = m
            .decrypt(&blob)
            .map_err(|e| bad(format!("ciphertext: {e}")))?;
        if ctx.has(Fault::DecryptCorrupts) {
            if let Some(last) = pt.last_mut() {
                *last ^= 0x01;
            }
        }
        Ok(Reply::ok(json!({"plaintext": B64.encode(pt)})))
    })
}

pub fn rewrap(ctx: &Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    let b = json_object(&ctx.body)?;
    let ct = req_str(&b, "ciphertext")?;
    with_key(ctx, id, encrypt_purpose(ctx), "rewrap", |_, st| {
        let (_, blob, m) = decode_versioned(st, "ciphertext", ct)?;
        let pt = m
            .decrypt(&blob)
            .map_err(|e| bad(format!("ciphertext: {e}")))?;
        let cv = st.current_version();
        if ctx.has(Fault::RewrapKeepsVersion) {
            return Ok(Reply::ok(json!({"ciphertext": ct, "key_version": cv})));
        }
        let latest = st.material(cv).ok_or_else(|| bad("key has no versions"))?;
        let new_ct = latest.encrypt(&pt).map_err(bad)?;
        Ok(Reply::ok(
            json!({"ciphertext": transit_format(cv, &new_ct), "key_version": cv}),
        ))
    })
}

pub fn datakey(ctx: &Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    let b = json_object(&ctx.body)?;
    let kind = req_str(&b, "key_type")?;
    let plaintext_wanted = match kind {
        "plaintext" => true,
        "wrapped" => false,
        _ => return Err(bad("key_type: must be plaintext or wrapped")),
    };
    with_key(ctx, id, Purpose::can_encrypt, "datakey", |_, st| {
        let mut dk = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut dk);
        let cv = st.current_version();
        let m = st.material(cv).ok_or_else(|| bad("key has no versions"))?;
        let ct = m.encrypt(&dk).map_err(bad)?;
        let mut shown = dk;
        if ctx.has(Fault::DatakeyMismatch) {
            shown[0] ^= 0xff;
        }
        let plaintext = if plaintext_wanted || ctx.has(Fault::DatakeyWrappedLeaksPlaintext) {
            Value::String(B64.encode(shown))
        } else {
            Value::Null
        };
        Ok(Reply::ok(json!({
            "ciphertext": transit_format(cv, &ct),
            "key_version": cv,
            "plaintext": plaintext,
        })))
    })
}

pub fn sign(ctx: &Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    let b = json_object(&ctx.body)?;
    let input = req_b64(&b, "input")?;
    with_key(ctx, id, Purpose::can_sign, "sign", |_, st| {
        let cv = st.current_version();
        let m = st.material(cv).ok_or_else(|| bad("key has no versions"))?;
        let sig = m.sign(&input).map_err(bad)?;
        Ok(Reply::ok(
            json!({"key_version": cv, "signature": transit_format(cv, &sig)}),
        ))
    })
}

pub fn verify(ctx: &Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    let b = json_object(&ctx.body)?;
    let input = req_b64(&b, "input")?;
    let sig = req_str(&b, "signature")?;
    with_key(ctx, id, Purpose::can_sign, "verify", |_, st| {
        let (_, bytes, m) = decode_versioned(st, "signature", sig)?;
        let valid = m.verify(&input, &bytes).map_err(bad)?;
        Ok(Reply::ok(
            json!({"valid": valid || ctx.has(Fault::VerifyAlwaysValid)}),
        ))
    })
}

fn is_hmac(p: Purpose) -> bool {
    p == Purpose::Hmac
}

pub fn hmac(ctx: &Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    let b = json_object(&ctx.body)?;
    let input = req_b64(&b, "input")?;
    with_key(ctx, id, is_hmac, "hmac", |_, st| {
        let cv = st.current_version();
        let m = st.material(cv).ok_or_else(|| bad("key has no versions"))?;
        let mac = m.hmac(&input).map_err(bad)?;
        // HmacResponse documents only `hmac` (no key_version).
        Ok(Reply::ok(json!({"hmac": transit_format(cv, &mac)})))
    })
}

pub fn verify_hmac(ctx: &Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    let b = json_object(&ctx.body)?;
    let input = req_b64(&b, "input")?;
    let mac = req_str(&b, "hmac")?;
    with_key(ctx, id, is_hmac, "hmac verify", |_, st| {
        let (_, bytes, m) = decode_versioned(st, "hmac", mac)?;
        let valid = m.hmac_verify(&input, &bytes).map_err(bad)?;
        Ok(Reply::ok(
            json!({"valid": valid || ctx.has(Fault::HmacVerifyAlwaysValid)}),
        ))
    })
}
