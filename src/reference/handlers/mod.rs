//! Operation handlers: control plane (/v1/kms/transit), data plane (/v1/kms/openapi) and managed
//! keys (/v1/managed-kms). Handlers are synchronous and return `Result<Reply, ApiError>`.

pub mod control;
pub mod data;
pub mod managed;

use std::cmp::Ordering;

use serde_json::{json, Value};

use super::errors::ApiError;
use super::faults::Fault;
use super::input::query_param;
use super::model::{key_json, Shape};
use super::router::{Ctx, Reply};

/// Documented maximum description length (characters).
pub const MAX_DESCRIPTION: usize = 100;

/// Shared by createKey, updateDescription and updateManagedKeyDescription.
pub fn check_description(ctx: &Ctx<'_>, d: &str) -> Result<(), ApiError> {
    if d.chars().count() > MAX_DESCRIPTION {
        if ctx.has(Fault::ServerErrorOnLongDescription) {
            return Err(ApiError::internal("description too long"));
        }
        return Err(ApiError::validation(format!(
            "description: must be at most {MAX_DESCRIPTION} characters"
        )));
    }
    Ok(())
}

/// Bounds for list paging.
const MAX_SIZE: u64 = 100;
const DEFAULT_SIZE: u64 = 20;

fn parse_uint(ctx: &Ctx<'_>, name: &str, default: u64) -> Result<u64, ApiError> {
    match query_param(&ctx.query, name) {
        None => Ok(default),
        Some(s) => {
            if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ApiError::validation(format!(
                    "{name}: must be a non-negative integer"
                )));
            }
            s.parse::<u64>().map_err(|_| {
                ApiError::validation(format!("{name}: must be a non-negative integer"))
            })
        }
    }
}

#[derive(Clone, Copy)]
enum SortField {
    Name,
    CreatedAt,
    ModifiedAt,
}

/// listKeys / listManagedKeys: filter, sort (ties by creation sequence), paginate.
pub fn list(ctx: &Ctx<'_>, managed: bool, shape: Shape) -> Result<Reply, ApiError> {
    let size = parse_uint(ctx, "size", DEFAULT_SIZE)?;
    if !(1..=MAX_SIZE).contains(&size) {
        return Err(ApiError::validation(format!(
            "size: must be between 1 and {MAX_SIZE}"
        )));
    }
    let page = parse_uint(ctx, "page", 0)?;
    let sort = query_param(&ctx.query, "sort").unwrap_or("created_at:asc");
    let (field, dir) = sort
        .split_once(':')
        .ok_or_else(|| ApiError::validation("sort: must be <field>:<asc|desc>"))?;
    let field = match field {
        "name" => SortField::Name,
        "created_at" => SortField::CreatedAt,
        "modified_at" => SortField::ModifiedAt,
        _ => {
            return Err(ApiError::validation(
                "sort: field must be one of name, created_at, modified_at",
            ))
        }
    };
    let desc = match dir {
        "asc" => false,
        "desc" => true,
        _ => return Err(ApiError::validation("sort: direction must be asc or desc")),
    };
    let name_filter = query_param(&ctx.query, "name");

    // Snapshot the sort keys (one short lock per key), then sort and render the page only.
    let mut rows: Vec<_> = ctx
        .app
        .store
        .all()
        .into_iter()
        .filter(|r| r.managed == managed)
        .filter(|r| name_filter.is_none_or(|n| r.name.contains(n)))
        .map(|r| {
            let (c, m) = {
                let st = r.state.lock();
                (st.created_at, st.modified_at)
            };
            (r, c, m)
        })
        .collect();
    let effective = if ctx.has(Fault::SortIgnored) {
        (SortField::CreatedAt, false)
    } else {
        (field, desc)
    };
    rows.sort_by(|a, b| {
        let primary = match effective.0 {
            SortField::Name => a.0.name.cmp(&b.0.name),
            SortField::CreatedAt => a.1.cmp(&b.1),
            SortField::ModifiedAt => a.2.cmp(&b.2),
        };
        let primary = if effective.1 {
            primary.reverse()
        } else {
            primary
        };
        match primary {
            Ordering::Equal => {
                let t = a.0.seq.cmp(&b.0.seq);
                if effective.1 {
                    t.reverse()
                } else {
                    t
                }
            }
            o => o,
        }
    });
    let total = rows.len();
    let page_rows: Vec<_> = if ctx.has(Fault::SizeIgnored) {
        rows
    } else {
        let start = page.saturating_mul(size).min(total as u64) as usize;
        rows.into_iter().skip(start).take(size as usize).collect()
    };
    let keys: Vec<Value> = page_rows
        .iter()
        .map(|(r, _, _)| {
            let st = r.state.lock();
            key_json(r, &st, shape, ctx.version, &ctx.app.faults)
        })
        .collect();
    let count = if ctx.has(Fault::CountIsPageLength) {
        keys.len()
    } else {
        total
    };
    Ok(Reply::ok(json!({
        "count": count,
        "keys": keys,
        "page": page,
        "size": size,
        "sort": [format!("{}:{}", sort_name(field), if desc { "desc" } else { "asc" })],
    })))
}

fn sort_name(f: SortField) -> &'static str {
    match f {
        SortField::Name => "name",
        SortField::CreatedAt => "created_at",
        SortField::ModifiedAt => "modified_at",
    }
}
