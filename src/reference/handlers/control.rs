//! Control plane: /v1/kms/transit (user keys).

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::{check_description, list};
use crate::reference::crypto::Purpose;
use crate::reference::engine::{CryptoError, NewVersion};
use crate::reference::errors::ApiError;
use crate::reference::faults::Fault;
use crate::reference::input::{json_object, req_int, req_str};
use crate::reference::model::{key_show, Shape};
use crate::reference::router::{Ctx, Reply};
use crate::reference::store::{
    now, KeyRecord, NewKey, Store, STATE_ACTIVE, STATE_STOP, STATE_TO_BE_TERMINATED,
};
use crate::reference::variants::Variant;

/// Accepted rotation cycle in days (the vendor does not document bounds).
pub const ROTATE_CYCLE_MIN: i64 = 1;
pub const ROTATE_CYCLE_MAX: i64 = 730;
/// The bounds under the `rotate-cycle-wide` variant (0 = no automatic rotation).
pub const WIDE_ROTATE_CYCLE_MIN: i64 = 0;
pub const WIDE_ROTATE_CYCLE_MAX: i64 = 3650;
/// Days between a scheduled delete and `delete_at`.
pub const DELETE_GRACE_DAYS: u64 = 7;

/// A user key visible under /v1/kms/transit, or 404.
fn user_key(ctx: &Ctx<'_>, id: &str) -> Result<Arc<KeyRecord>, ApiError> {
    match ctx.app.store.get(id) {
        Some(r) if !r.managed => Ok(r),
        _ => Err(ApiError::not_found(format!("key {} not found", short(id)))),
    }
}

/// An engine failure on the control plane is the server's (500): the SCP key exists, so even
/// a key the engine lost is not the caller's fault.
fn control_engine_error(e: CryptoError) -> ApiError {
    match e {
        CryptoError::Refused(m) | CryptoError::Engine(m) => ApiError::internal(m),
        CryptoError::KeyGone => ApiError::internal("crypto engine: the key is missing there"),
    }
}

/// Ids are echoed in details; cap their length.
pub fn short(id: &str) -> String {
    id.chars().take(64).collect()
}

fn check_rotate_cycle(ctx: &Ctx<'_>, c: i64) -> Result<(), ApiError> {
    let (min, max) = if ctx.variant(Variant::RotateCycleWide) {
        (WIDE_ROTATE_CYCLE_MIN, WIDE_ROTATE_CYCLE_MAX)
    } else {
        (ROTATE_CYCLE_MIN, ROTATE_CYCLE_MAX)
    };
    if !(min..=max).contains(&c) {
        return Err(ApiError::validation(format!(
            "rotate_cycle: must be between {min} and {max} days"
        )));
    }
    Ok(())
}

fn check_yn(field: &str, v: &str) -> Result<(), ApiError> {
    if v != "Y" && v != "N" {
        return Err(ApiError::validation(format!("{field}: must match ^[YN]$")));
    }
    Ok(())
}

fn valid_name(n: &str) -> bool {
    (3..=63).contains(&n.len())
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn show_reply(ctx: &Ctx<'_>, rec: &KeyRecord, shape: Shape) -> Reply {
    let st = rec.state.lock();
    Reply::ok(key_show(rec, &st, shape, ctx.version, &ctx.app.faults))
}

pub async fn create_key(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let b = json_object(&ctx.body)?;
    let name = req_str(&b, "name")?;
    if !ctx.has(Fault::AcceptInvalidName) && !valid_name(name) {
        return Err(ApiError::validation(
            "name: must match ^[a-z0-9]*$ with length 3 to 63",
        ));
    }
    let description = req_str(&b, "description")?;
    check_description(ctx, description)?;
    let auto_rotate = req_str(&b, "auto_rotate")?;
    check_yn("auto_rotate", auto_rotate)?;
    let rotate_cycle = req_int(&b, "rotate_cycle")?;
    check_rotate_cycle(ctx, rotate_cycle)?;
    if ctx.has(Fault::RejectLongRotateCycle) && rotate_cycle > 365 {
        return Err(ApiError::validation(
            "rotate_cycle: must be at most 365 days",
        ));
    }
    let purpose_s = req_str(&b, "purpose")?;
    let purpose = Purpose::parse(purpose_s).ok_or_else(|| {
        ApiError::validation(
            "purpose: must be one of aes256-gcm96, rsa-2048, ecdsa-p256, hmac, aria",
        )
    })?;
    let key_type = match b.get("key_type") {
        None | Some(Value::Null) => "advanced".to_string(),
        Some(Value::String(s)) if s == "basic" || s == "advanced" => s.clone(),
        Some(_) => {
            return Err(ApiError::validation(
                "key_type: must be one of basic, advanced",
            ))
        }
    };
    let tags = match b.get("tags") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            let mut tags = Vec::with_capacity(items.len());
            for (i, t) in items.iter().enumerate() {
                let pair = t.as_object().and_then(|o| {
                    Some((
                        o.get("key")?.as_str()?.to_string(),
                        o.get("value")?.as_str()?.to_string(),
                    ))
                });
                tags.push(pair.ok_or_else(|| {
                    ApiError::validation(format!(
                        "tags[{i}]: must be an object with string key and value"
                    ))
                })?);
            }
            tags
        }
        Some(_) => return Err(ApiError::validation("tags: must be an array of Tag")),
    };
    let allow_duplicate = ctx.has(Fault::DuplicateNameAllowed);
    // A taken name is refused before the engine makes a key (the store checks again).
    if !allow_duplicate && ctx.app.store.name_taken(name) {
        return Err(ApiError::validation(format!(
            "key name '{name}' already exists"
        )));
    }
    let id = Store::new_id();
    let material = ctx
        .app
        .engine
        .create(&id, purpose)
        .await
        .map_err(control_engine_error)?;
    let created = ctx.app.store.create(
        id.clone(),
        NewKey {
            name: name.to_string(),
            description: description.to_string(),
            auto_rotate: auto_rotate.to_string(),
            rotate_cycle,
            purpose,
            key_type,
            tags,
            managed: false,
            region: ctx.app.config.region.clone(),
        },
        material,
        &ctx.principal,
        allow_duplicate,
    );
    let rec = match created {
        Ok(rec) => rec,
        Err(e) => {
            ctx.app.engine.discard(&id, purpose).await;
            return Err(ApiError::validation(e));
        }
    };
    let mut reply = show_reply(ctx, &rec, Shape::for_user_key(ctx.version));
    reply.status = if ctx.has(Fault::CreateReturns200) {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(reply)
}

pub fn check_duplicate_name(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    // The spec types `name` as a plain string: an empty name is a name (and never taken).
    let name = ctx
        .raw_param("name")
        .ok_or_else(|| ApiError::validation("name: query parameter required"))?;
    Ok(Reply::ok(
        json!({"isDuplicateName": ctx.app.store.name_taken(name)}),
    ))
}

pub fn list_keys(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    list(ctx, false, Shape::for_user_key(ctx.version))
}

pub fn show_key(ctx: &Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    let rec = user_key(ctx, id).map_err(|e| {
        if ctx.has(Fault::WrongErrorStatus) {
            ApiError::validation(e.detail.join("; "))
        } else {
            e
        }
    })?;
    Ok(show_reply(ctx, &rec, Shape::for_user_key(ctx.version)))
}

pub async fn delete_key(ctx: &Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    // `is_directly=` (empty) is no boolean: refused like any other non-boolean.
    let directly = match ctx.raw_param("is_directly") {
        None => false,
        Some("true") | Some("True") => true,
        Some("false") | Some("False") => false,
        Some(_) => return Err(ApiError::validation("is_directly: must be a boolean")),
    };
    let rec = user_key(ctx, id)?;
    let no_content = Reply {
        status: StatusCode::NO_CONTENT,
        body: None,
    };
    if directly {
        if !ctx.has(Fault::DeleteNotEffective) {
            // The engine's key first: if that fails the SCP key stays, and the answer is 500.
            ctx.app
                .engine
                .delete(&rec)
                .await
                .map_err(control_engine_error)?;
            ctx.app.store.remove(&rec.id);
        }
        return Ok(no_content);
    }
    let mut st = rec.state.lock();
    if st.state == STATE_TO_BE_TERMINATED {
        return Err(ApiError::forbidden("key is already scheduled for deletion"));
    }
    st.state = STATE_TO_BE_TERMINATED.to_string();
    st.delete_target_yn = "Y".to_string();
    st.delete_at = now()
        .date_naive()
        .checked_add_days(chrono::Days::new(DELETE_GRACE_DAYS));
    st.touch(&ctx.principal);
    Ok(no_content)
}

pub fn change_rotate_info(ctx: &Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    let b = json_object(&ctx.body)?;
    let auto_rotate = req_str(&b, "auto_rotate")?;
    check_yn("auto_rotate", auto_rotate)?;
    let cycle = match b.get("rotate_cycle") {
        None => return Err(ApiError::validation("rotate_cycle: Field required")),
        Some(Value::Null) => None,
        Some(_) => {
            let c = req_int(&b, "rotate_cycle")?;
            check_rotate_cycle(ctx, c)?;
            Some(c)
        }
    };
    let rec = user_key(ctx, id)?;
    {
        let mut st = rec.state.lock();
        st.auto_rotate = auto_rotate.to_string();
        if let Some(c) = cycle {
            st.rotate_cycle = c;
        }
        st.touch(&ctx.principal);
    }
    Ok(show_reply(ctx, &rec, Shape::Key))
}

pub fn change_state(ctx: &Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    let b = json_object(&ctx.body)?;
    let state = req_str(&b, "state")?;
    if state != STATE_ACTIVE && state != STATE_STOP {
        return Err(ApiError::validation("state: must match ^(Active|Stop)$"));
    }
    let rec = user_key(ctx, id)?;
    {
        let mut st = rec.state.lock();
        if st.state == STATE_TO_BE_TERMINATED {
            return Err(ApiError::forbidden(
                "key is scheduled for deletion; its state cannot change",
            ));
        }
        st.state = state.to_string();
        st.touch(&ctx.principal);
    }
    Ok(show_reply(ctx, &rec, Shape::Key))
}

pub fn list_users(ctx: &Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    let rec = user_key(ctx, id)?;
    let st = rec.state.lock();
    let users: Vec<Value> = st
        .users
        .iter()
        .map(|(id, name)| json!({"user_id": id, "user_name": name}))
        .collect();
    Ok(Reply::ok(json!({ "user": users })))
}

pub async fn rotate_key(ctx: &Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    let rec = user_key(ctx, id)?;
    if rec.state.lock().state == STATE_TO_BE_TERMINATED {
        return Err(ApiError::forbidden("key is scheduled for deletion"));
    }
    // The new version is made outside the key lock (new material, or transit's rotate).
    // Under `rotate-no-bump` none is made: the engine's key keeps its version too.
    let version = if ctx.has(Fault::RotateNoBump) {
        None
    } else {
        Some(
            ctx.app
                .engine
                .rotate(&rec)
                .await
                .map_err(control_engine_error)?,
        )
    };
    {
        let mut st = rec.state.lock();
        if st.state == STATE_TO_BE_TERMINATED {
            // Scheduled meanwhile: refused, but a rotation the engine made is still counted.
            if let Some(v @ NewVersion::Engine(_)) = version {
                st.versions.add(v);
            }
            return Err(ApiError::forbidden("key is scheduled for deletion"));
        }
        if let Some(v) = version {
            st.versions.add(v);
        }
        st.touch(&ctx.principal);
    }
    Ok(show_reply(ctx, &rec, Shape::Key))
}

pub fn update_description(ctx: &Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    let b = json_object(&ctx.body)?;
    let d = req_str(&b, "description")?;
    check_description(ctx, d)?;
    let rec = user_key(ctx, id)?;
    let mut st = rec.state.lock();
    if ctx.has(Fault::DescriptionNotPersisted) {
        let mut v = key_show(&rec, &st, Shape::Key, ctx.version, &ctx.app.faults);
        v["key"]["description"] = Value::String(d.to_string());
        return Ok(Reply::ok(v));
    }
    st.description = d.to_string();
    st.touch(&ctx.principal);
    Ok(Reply::ok(key_show(
        &rec,
        &st,
        Shape::Key,
        ctx.version,
        &ctx.app.faults,
    )))
}
