//! JSON shapes of the documented models, per API version (Models 2.11 Key, 2.22 KeyV1Dot2,
//! 2.23 ManagedKey). Field order follows the vendor tables (alphabetical).

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};

use super::faults::{Fault, FaultSet};
use super::store::{KeyRecord, KeyState};
use super::version::ApiVersion;

/// Which documented key model to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `Key`: no managed_type.
    Key,
    /// `KeyV1Dot2`: managed_type "user".
    KeyV1Dot2,
    /// `ManagedKey`: managed_type "scp".
    Managed,
}

impl Shape {
    /// createKey/listKeys/showKey: KeyV1Dot2 on 1.2+, Key below.
    pub fn for_user_key(v: ApiVersion) -> Shape {
        if v.has_managed() {
            Shape::KeyV1Dot2
        } else {
            Shape::Key
        }
    }
}

/// RFC 3339 UTC, whole seconds, or with milliseconds (`millis`, the `fractional-timestamps`
/// variant).
pub fn rfc3339(t: &DateTime<Utc>, millis: bool) -> String {
    if millis {
        t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }
}

/// `delete_at` / `next_rotate_at` are typed date-time: midnight UTC of the date.
fn date_value(d: Option<NaiveDate>, millis: bool) -> Value {
    let frac = if millis { ".000" } else { "" };
    match d {
        Some(d) => Value::String(format!("{}T00:00:00{frac}Z", d.format("%Y-%m-%d"))),
        None => Value::Null,
    }
}

pub fn key_json(
    rec: &KeyRecord,
    st: &KeyState,
    shape: Shape,
    version: ApiVersion,
    faults: &FaultSet,
) -> Value {
    let mut m = Map::new();
    let s = |v: &str| Value::String(v.to_string());
    m.insert("account_id".into(), s(&st.account_id));
    m.insert("auto_rotate".into(), s(&st.auto_rotate));
    m.insert("created_at".into(), s(&rfc3339(&st.created_at, st.millis)));
    m.insert("created_by".into(), s(&st.created_by));
    let cv = st.current_version();
    m.insert(
        "current_version".into(),
        if faults.has(Fault::WrongFieldType) {
            Value::String(cv.to_string())
        } else {
            Value::from(cv)
        },
    );
    m.insert("delete_at".into(), date_value(st.delete_at, st.millis));
    m.insert("delete_target_yn".into(), s(&st.delete_target_yn));
    m.insert("description".into(), s(&st.description));
    m.insert("id".into(), s(&rec.id));
    m.insert("key_type".into(), s(&st.key_type));
    let managed_type = match shape {
        Shape::Managed => Some("scp"),
        Shape::KeyV1Dot2 => Some("user"),
        Shape::Key if faults.has(Fault::ManagedTypeLeak) && !version.has_managed() => {
            Some(if rec.managed { "scp" } else { "user" })
        }
        Shape::Key => None,
    };
    if let Some(mt) = managed_type {
        m.insert("managed_type".into(), s(mt));
    }
    m.insert(
        "modified_at".into(),
        s(&rfc3339(&st.modified_at, st.millis)),
    );
    m.insert("modified_by".into(), s(&st.modified_by));
    m.insert("name".into(), s(&rec.name));
    m.insert(
        "next_rotate_at".into(),
        date_value(st.next_rotate_at(), st.millis),
    );
    m.insert("order_ref".into(), s(&st.order_ref));
    m.insert("purpose".into(), s(rec.purpose.as_str()));
    m.insert("region".into(), s(&st.region));
    m.insert("rotate_cycle".into(), Value::from(st.rotate_cycle));
    m.insert("secret_ref".into(), s(&st.secret_ref));
    m.insert("state".into(), s(&st.state));
    if !faults.has(Fault::DropRequiredField) {
        m.insert("use_count".into(), Value::from(st.use_count));
    }
    if faults.has(Fault::ExtraUndocumentedField) {
        m.insert(
            "internal_state".into(),
            Value::String(format!("seq={};versions={}", rec.seq, cv)),
        );
    }
    Value::Object(m)
}

/// `{"key": <model>}` (KeyShowResponse / KeyShowResponseV1Dot2 / ManagedKeyShowResponse).
pub fn key_show(
    rec: &KeyRecord,
    st: &KeyState,
    shape: Shape,
    version: ApiVersion,
    faults: &FaultSet,
) -> Value {
    let mut m = Map::new();
    m.insert("key".into(), key_json(rec, st, shape, version, faults));
    Value::Object(m)
}
