//! Operation handlers: control plane (/v1/kms/transit), data plane (/v1/kms/openapi) and managed
//! keys (/v1/managed-kms). Handlers are synchronous and return `Result<Reply, ApiError>`.

pub mod control;
pub mod data;
pub mod managed;

use std::cmp::Ordering;

use serde_json::{json, Value};

use super::errors::ApiError;
use super::faults::Fault;
use super::model::{key_json, Shape};
use super::router::{Ctx, Reply};
use super::variants::Variant;

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
/// The largest size under the `list-lenient` variant (where 0 means the default).
const LENIENT_MAX_SIZE: u64 = 1000;

/// A query value as sent: an empty one (`size=`) is a value, not an absent parameter. The
/// spec types `size`, `page`, `sort` and `is_directly` so that the empty string is none of
/// their values (integers, a `field:dir` pattern, a boolean), so it is refused, not defaulted.
fn typed_param<'a>(ctx: &'a Ctx<'_>, name: &str) -> Option<&'a str> {
    ctx.raw_param(name)
}

fn parse_uint(ctx: &Ctx<'_>, name: &str, default: u64) -> Result<u64, ApiError> {
    match typed_param(ctx, name) {
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

/// `page` under the `list-lenient` variant: any integer; a negative one or one beyond u64 is an
/// empty page (saturated for the echo).
fn parse_lenient_page(ctx: &Ctx<'_>) -> Result<i128, ApiError> {
    let Some(s) = typed_param(ctx, "page") else {
        return Ok(0);
    };
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::validation("page: must be an integer"));
    }
    // Saturate: digits beyond 38 cannot change the (clamped) result.
    let mut v: i128 = 0;
    for b in digits.bytes() {
        v = v.saturating_mul(10).saturating_add(i128::from(b - b'0'));
    }
    let v = if neg { -v } else { v };
    Ok(v.clamp(i128::from(i64::MIN), i128::from(u64::MAX)))
}

/// `sort` under the `list-lenient` variant: an unknown field drops the clause (default order),
/// the direction is case-insensitive and defaults to asc (an unknown one too).
fn parse_lenient_sort(sort: &str) -> (SortField, bool) {
    let (field, dir) = match sort.split_once(':') {
        Some((f, d)) => (f, d),
        None => (sort, ""),
    };
    let field = match field.trim() {
        "name" => SortField::Name,
        "created_at" => SortField::CreatedAt,
        "modified_at" => SortField::ModifiedAt,
        _ => return (SortField::CreatedAt, false),
    };
    (field, dir.trim().eq_ignore_ascii_case("desc"))
}

#[derive(Clone, Copy)]
enum SortField {
    Name,
    CreatedAt,
    ModifiedAt,
}

/// listKeys / listManagedKeys: filter, sort (ties by creation sequence), paginate.
pub fn list(ctx: &Ctx<'_>, managed: bool, shape: Shape) -> Result<Reply, ApiError> {
    let lenient = ctx.variant(Variant::ListLenient);
    let size = parse_uint(ctx, "size", DEFAULT_SIZE)?;
    let size = if lenient {
        match size {
            0 => DEFAULT_SIZE,
            s if s > LENIENT_MAX_SIZE => {
                return Err(ApiError::validation(format!(
                    "size: must be between 0 and {LENIENT_MAX_SIZE}"
                )))
            }
            s => s,
        }
    } else {
        if !(1..=MAX_SIZE).contains(&size) {
            return Err(ApiError::validation(format!(
                "size: must be between 1 and {MAX_SIZE}"
            )));
        }
        size
    };
    let page: i128 = if lenient {
        parse_lenient_page(ctx)?
    } else {
        i128::from(parse_uint(ctx, "page", 0)?)
    };
    let sort_given = if lenient {
        // Lenient: an empty sort is an unknown field, dropped like any other (default order).
        ctx.param("sort")
    } else {
        typed_param(ctx, "sort")
    };
    let sort = sort_given.unwrap_or("created_at:asc");
    let (field, desc) = if lenient {
        parse_lenient_sort(sort)
    } else {
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
        (field, desc)
    };
    let name_filter = ctx.param("name");

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
    // Without a tie-breaker (the `shuffled-ties` variant), ties keep the order of a fresh
    // shuffle: the stable sort below leaves them in a different random order on every call.
    let tie_break = !ctx.variant(Variant::ShuffledTies);
    if !tie_break {
        use rand::seq::SliceRandom;
        rows.shuffle(&mut rand::thread_rng());
    }
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
            Ordering::Equal if !tie_break => Ordering::Equal,
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
        // A negative page (only under `list-lenient`) is past the end.
        let start = if page < 0 {
            total
        } else {
            page.saturating_mul(i128::from(size)).min(total as i128) as usize
        };
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
    let sort_echo = if sort_given.is_none() && ctx.variant(Variant::SortEchoNull) {
        Value::Null
    } else {
        json!([format!(
            "{}:{}",
            sort_name(field),
            if desc { "desc" } else { "asc" }
        )])
    };
    // `page` was clamped to i64::MIN..=u64::MAX, so one of the two conversions holds.
    let page = u64::try_from(page)
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(i64::try_from(page).unwrap_or(i64::MIN)));
    Ok(Reply::ok(json!({
        "count": count,
        "keys": keys,
        "page": page,
        "size": size,
        "sort": sort_echo,
    })))
}

fn sort_name(f: SortField) -> &'static str {
    match f {
        SortField::Name => "name",
        SortField::CreatedAt => "created_at",
        SortField::ModifiedAt => "modified_at",
    }
}
