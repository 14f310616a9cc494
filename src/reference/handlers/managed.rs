//! SCP-managed keys: /v1/managed-kms/transit (kms 1.2+). Pre-seeded at startup; not listed under
//! /v1/kms/transit but usable on the data plane by id.

use std::sync::Arc;

use serde_json::Value;

use super::check_description;
use super::control::short;
use crate::reference::crypto::Purpose;
use crate::reference::errors::ApiError;
use crate::reference::input::{json_object, req_str};
use crate::reference::model::{key_show, Shape};
use crate::reference::router::{Ctx, Reply};
use crate::reference::store::{KeyRecord, NewKey, Principal, Store};
use crate::reference::App;

/// Names of the pre-seeded managed keys (ManagedKey names may contain `-`).
pub const SEEDED: [(&str, &str); 3] = [
    ("scp-obs-default", "SCP managed key for Object Storage"),
    ("scp-bs-default", "SCP managed key for Block Storage"),
    ("scp-db-default", "SCP managed key for databases"),
];

pub fn seed(app: &App) {
    let mut owner = Principal::scp_system();
    owner.account_id = Principal::from_access_key(&app.config.credentials.access_key).account_id;
    for (name, description) in SEEDED {
        // Managed keys bypass the user-key duplicate check, so this cannot fail. Under an
        // OpenBao engine their transit keys are created on first use.
        let id = Store::new_id();
        let material = app.engine.planned(&id, Purpose::Aes256Gcm96);
        let _ = app.store.create(
            id,
            NewKey {
                name: name.to_string(),
                description: description.to_string(),
                auto_rotate: "Y".to_string(),
                rotate_cycle: 365,
                purpose: Purpose::Aes256Gcm96,
                key_type: "advanced".to_string(),
                tags: Vec::new(),
                managed: true,
                region: app.config.region.clone(),
            },
            material,
            &owner,
            false,
        );
    }
}

fn managed_key(ctx: &Ctx<'_>, id: &str) -> Result<Arc<KeyRecord>, ApiError> {
    match ctx.app.store.get(id) {
        Some(r) if r.managed => Ok(r),
        _ => Err(ApiError::not_found(format!(
            "managed key {} not found",
            short(id)
        ))),
    }
}

pub fn list(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    super::list(ctx, true, Shape::Managed)
}

pub fn show(ctx: &Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    let rec = managed_key(ctx, id)?;
    let st = rec.state.lock();
    Ok(Reply::ok(key_show(
        &rec,
        &st,
        Shape::Managed,
        ctx.version,
        &ctx.app.faults,
    )))
}

pub fn update_description(ctx: &Ctx<'_>, id: &str) -> Result<Reply, ApiError> {
    let b = json_object(&ctx.body)?;
    let d = req_str(&b, "description")?;
    check_description(ctx, d)?;
    let rec = managed_key(ctx, id)?;
    let mut st = rec.state.lock();
    st.description = d.to_string();
    st.touch(&ctx.principal);
    let v: Value = key_show(&rec, &st, Shape::Managed, ctx.version, &ctx.app.faults);
    Ok(Reply::ok(v))
}
