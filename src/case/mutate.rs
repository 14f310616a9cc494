//! Single-fault mutations of a valid instance: each one breaks exactly one schema keyword,
//! so a server that accepts it has skipped exactly that check.

use super::schema_gen::{
    allowed_types, int_bounds, json_type, len_bounds, repeat_matching, resolve,
};
use crate::spec::validate::SchemaSet;
use serde_json::{json, Map, Value};

/// One invalid instance derived from a valid one.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// What was broken, naming the field, e.g. "name: pattern ^[a-z0-9]*$ violated".
    pub label: String,
    /// JSON pointer of the mutated (or removed) field; "" for the whole instance.
    pub pointer: String,
    /// The whole mutated instance.
    pub value: Value,
    /// The fault is one JSON Schema does not assert (e.g. contentEncoding), so a validator
    /// accepts it; only the API's own semantics reject it.
    pub semantic: bool,
}

impl Violation {
    /// The schema keyword the violation breaks (`required` for a removed property).
    pub fn keyword(&self) -> &str {
        let leaf = self
            .label
            .split_once(": ")
            .map(|x| x.1)
            .unwrap_or(&self.label);
        leaf.split_whitespace().next().unwrap_or("")
    }
}

impl LeafFault {
    /// The schema keyword the fault breaks.
    pub fn keyword(&self) -> &str {
        self.label.split_whitespace().next().unwrap_or("")
    }
}

/// A fault of one value in isolation (no field context).
#[derive(Debug, Clone, PartialEq)]
pub struct LeafFault {
    pub label: String,
    pub value: Value,
    pub semantic: bool,
}

/// Largest maxLength for which a maxLength+1 string is built (bigger ones waste bandwidth).
const MAX_BUILT_LEN: usize = 1 << 16;

/// Candidate violations of `valid` (an instance of `schema`), verified with `set`:
/// candidates the schema still accepts are dropped, except `semantic` ones.
pub fn violations(schema: &Value, doc: &Value, valid: &Value, set: &SchemaSet) -> Vec<Violation> {
    candidate_violations(schema, doc, valid)
        .into_iter()
        .filter(|v| v.semantic || set.errors(schema, &v.value).is_ok_and(|e| !e.is_empty()))
        .collect()
}

/// All candidate single-fault mutations, unverified.
pub fn candidate_violations(schema: &Value, doc: &Value, valid: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    match object_schema(schema, doc) {
        Some(os) if valid.is_object() => {
            push(
                &mut out,
                valid,
                "",
                "(root): type array instead of object",
                json!([]),
                false,
            );
            object_faults(os, doc, valid, "", "", 0, &mut out);
        }
        _ => {
            for f in leaf_faults(schema, doc, valid) {
                push(
                    &mut out,
                    valid,
                    "",
                    &format!("(root): {}", f.label),
                    f.value,
                    f.semantic,
                );
            }
        }
    }
    out
}

/// Malformed or non-object JSON request bodies: (label, raw body text).
pub fn raw_body_violations() -> Vec<(String, String)> {
    [
        ("truncated JSON object", "{"),
        ("missing member value", "{\"a\":}"),
        ("trailing comma", "{\"a\":1,}"),
        ("not JSON", "not json"),
        ("empty body", ""),
        ("array instead of object", "[]"),
        ("null instead of object", "null"),
        ("string instead of object", "\"str\""),
    ]
    .into_iter()
    .map(|(l, b)| (l.to_string(), b.to_string()))
    .collect()
}

/// The object-typed alternative of `schema` (directly or inside anyOf/oneOf).
fn object_schema<'a>(schema: &'a Value, doc: &'a Value) -> Option<&'a Map<String, Value>> {
    let s = resolve(schema, doc);
    // An object schema whose anyOf/oneOf only adds constraints (e.g. which member is
    // required) is itself the object to mutate.
    if let Some(o) = s.as_object().filter(|o| o.contains_key("properties")) {
        return Some(o);
    }
    if let Some(alts) = s
        .get("anyOf")
        .or_else(|| s.get("oneOf"))
        .and_then(Value::as_array)
    {
        return alts.iter().find_map(|a| object_schema(a, doc));
    }
    let o = s.as_object()?;
    let is_obj = allowed_types(s, doc).is_some_and(|t| t.iter().any(|t| t == "object"))
        || o.contains_key("properties");
    is_obj.then_some(o)
}

fn push(out: &mut Vec<Violation>, root: &Value, ptr: &str, label: &str, v: Value, sem: bool) {
    let mut inst = root.clone();
    match inst.pointer_mut(ptr) {
        Some(slot) => *slot = v,
        None => return,
    }
    out.push(Violation {
        label: label.to_string(),
        pointer: ptr.to_string(),
        value: inst,
        semantic: sem,
    });
}

fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

fn object_faults(
    os: &Map<String, Value>,
    doc: &Value,
    root: &Value,
    ptr: &str,
    prefix: &str,
    depth: usize,
    out: &mut Vec<Violation>,
) {
    let Some(inst) = root.pointer(ptr).and_then(Value::as_object) else {
        return;
    };
    let required: Vec<&str> = os
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for r in required.iter().filter(|r| inst.contains_key(**r)) {
        let mut v = root.clone();
        if let Some(parent) = v.pointer_mut(ptr).and_then(Value::as_object_mut) {
            parent.shift_remove(*r);
        }
        out.push(Violation {
            label: format!("{prefix}{r}: required property removed"),
            pointer: format!("{ptr}/{}", escape(r)),
            value: v,
            semantic: false,
        });
    }
    let Some(props) = os.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (name, ps) in props {
        let child = format!("{ptr}/{}", escape(name));
        let field = format!("{prefix}{name}");
        let Some(cur) = inst.get(name) else {
            // An optional property the instance leaves out: each of the constraints JSON
            // Schema asserts is still tried, with the property set to a value that breaks
            // only that keyword. Not its type, nor a semantic fault such as contentEncoding:
            // those are tried where the property is present.
            for f in leaf_faults(ps, doc, &Value::Null)
                .into_iter()
                .filter(|f| f.keyword() != "type" && !f.semantic)
            {
                let mut v = root.clone();
                let Some(parent) = v.pointer_mut(ptr).and_then(Value::as_object_mut) else {
                    continue;
                };
                parent.insert(name.clone(), f.value);
                out.push(Violation {
                    label: format!("{field}: {} (optional property added)", f.label),
                    pointer: child.clone(),
                    value: v,
                    semantic: false,
                });
            }
            continue;
        };
        for f in leaf_faults(ps, doc, cur) {
            push(
                out,
                root,
                &child,
                &format!("{field}: {}", f.label),
                f.value,
                f.semantic,
            );
        }
        // One level into required sub-objects (and the first element of object arrays).
        if depth >= 1 || !required.contains(&name.as_str()) {
            continue;
        }
        if let (Some(sub), true) = (object_schema(ps, doc), cur.is_object()) {
            object_faults(sub, doc, root, &child, &format!("{field}."), depth + 1, out);
        } else if let (Some(items), Some(first)) = (
            resolve(ps, doc).get("items"),
            cur.as_array().and_then(|a| a.first()),
        ) {
            if let (Some(sub), true) = (object_schema(items, doc), first.is_object()) {
                let p = format!("{child}/0");
                object_faults(sub, doc, root, &p, &format!("{field}[0]."), depth + 1, out);
            }
        }
    }
}

/// Values that break one keyword of `schema`, derived from its current valid value `cur`.
pub fn leaf_faults(schema: &Value, doc: &Value, cur: &Value) -> Vec<LeafFault> {
    let mut out = Vec::new();
    let mut add = |label: String, value: Value, semantic: bool| {
        if !out
            .iter()
            .any(|f: &LeafFault| f.value == value && f.label == label)
        {
            out.push(LeafFault {
                label,
                value,
                semantic,
            })
        }
    };
    if let Some(types) = allowed_types(schema, doc) {
        let admits = |t: &str| {
            types.iter().any(|x| x == t) || (t == "integer" && types.iter().any(|x| x == "number"))
        };
        let candidates = [
            ("string", json!("abc")),
            ("integer", json!(12345)),
            ("boolean", json!(true)),
            ("object", json!({})),
            ("array", json!([])),
        ];
        // The natural swap for the current type first, then null when not nullable.
        let primary = match json_type(cur) {
            "string" => "integer",
            "object" => "array",
            "array" => "object",
            _ => "string",
        };
        let pick = candidates
            .iter()
            .find(|(t, _)| *t == primary && !admits(t))
            .or_else(|| candidates.iter().find(|(t, _)| !admits(t)));
        let want = types.join("|");
        if let Some((t, v)) = pick {
            add(format!("type {t} instead of {want}"), v.clone(), false);
        }
        if !admits("null") {
            add(format!("type null instead of {want}"), Value::Null, false);
        }
    }
    let s = resolve(schema, doc);
    let alts: Vec<&Value> = match s
        .get("anyOf")
        .or_else(|| s.get("oneOf"))
        .and_then(Value::as_array)
    {
        Some(a) => a.iter().map(|a| resolve(a, doc)).collect(),
        None => vec![s],
    };
    for a in alts {
        let Some(o) = a.as_object() else { continue };
        keyword_faults(o, cur, &mut add);
    }
    out
}

fn keyword_faults(o: &Map<String, Value>, cur: &Value, add: &mut impl FnMut(String, Value, bool)) {
    if let Some(c) = o.get("const") {
        let v = match c {
            Value::String(s) => json!(format!("{s}x")),
            _ => json!("not_the_const"),
        };
        add("const violated".into(), v, false);
    }
    if let Some(e) = o.get("enum").and_then(Value::as_array) {
        let v = if e.iter().all(Value::is_i64) {
            json!(e.iter().filter_map(Value::as_i64).max().unwrap_or(0) + 1)
        } else {
            let mut s = "not_in_enum".to_string();
            while e.contains(&json!(s)) {
                s.push('x');
            }
            json!(s)
        };
        add(format!("enum violated ({v})"), v, false);
    }
    let types = match o.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if types.contains(&"string") {
        string_faults(o, cur.as_str(), add);
    }
    if types.contains(&"integer") || types.contains(&"number") {
        let (lo, hi) = int_bounds(o);
        if let Some(lo) = lo {
            add(
                format!("minimum {lo} violated ({})", lo - 1),
                json!(lo - 1),
                false,
            );
        }
        if let Some(hi) = hi {
            add(
                format!("maximum {hi} violated ({})", hi + 1),
                json!(hi + 1),
                false,
            );
        }
    }
    if let (true, Some(arr)) = (types.contains(&"array"), cur.as_array()) {
        let min = o.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
        if min > 0 && arr.len() >= min - 1 {
            let v = Value::Array(arr[..min - 1].to_vec());
            add(
                format!("minItems {min} violated ({} items)", min - 1),
                v,
                false,
            );
        }
        if let (Some(max), Some(first)) = (o.get("maxItems").and_then(Value::as_u64), arr.first()) {
            let max = max as usize;
            if max < MAX_BUILT_LEN {
                let mut v = arr.clone();
                v.resize(max + 1, first.clone());
                add(
                    format!("maxItems {max} violated ({} items)", max + 1),
                    json!(v),
                    false,
                );
            }
        }
    }
}

fn string_faults(
    o: &Map<String, Value>,
    cur: Option<&str>,
    add: &mut impl FnMut(String, Value, bool),
) {
    let (min, max) = len_bounds(o);
    let pat = o.get("pattern").and_then(Value::as_str);
    let re = pat.and_then(|p| regex::Regex::new(p).ok());
    let in_len = |s: &str| {
        let n = s.chars().count();
        n >= min && max.is_none_or(|m| n <= m)
    };
    if let (Some(p), Some(re)) = (pat, &re) {
        // Start from a matching string of legal length, then break only the pattern.
        let base = cur
            .filter(|c| re.is_match(c) && in_len(c))
            .map(String::from)
            .or_else(|| repeat_matching(pat, min.max(1)));
        let mut candidates = Vec::new();
        if let Some(base) = base {
            candidates.push(base.to_uppercase());
            for c in ['-', ' ', '!', 'A', '~', 'é', '\n'] {
                let mut chars: Vec<char> = base.chars().collect();
                match chars.first_mut() {
                    Some(f) => *f = c,
                    None => chars.push(c),
                }
                candidates.push(chars.iter().collect());
                candidates.push(format!("{base}{c}"));
            }
        }
        for c in ['-', ' ', '!', 'A'] {
            candidates.push(c.to_string().repeat(min.max(1)));
        }
        if let Some(bad) = candidates
            .into_iter()
            .find(|s| in_len(s) && !re.is_match(s))
        {
            add(format!("pattern {p} violated ({bad:?})"), json!(bad), false);
        }
        // The empty string too, where the pattern refuses it: a server that reads an empty
        // value (`sort=`) as an absent one skips exactly this check.
        if in_len("") && !re.is_match("") {
            add(format!("pattern {p} violated (\"\")"), json!(""), false);
        }
    }
    let sized = |n: usize| {
        repeat_matching(pat, n).unwrap_or_else(|| {
            let c = cur.unwrap_or("");
            c.chars().chain(std::iter::repeat('a')).take(n).collect()
        })
    };
    if min > 0 {
        add(
            format!("minLength {min} violated (length {})", min - 1),
            json!(sized(min - 1)),
            false,
        );
    }
    if let Some(max) = max.filter(|m| *m < MAX_BUILT_LEN) {
        add(
            format!("maxLength {max} violated (length {})", max + 1),
            json!(sized(max + 1)),
            false,
        );
    }
    if let Some(f) = o.get("format").and_then(Value::as_str) {
        let bad = match f {
            "date-time" => Some("2024-13-45T25:61:61Z"),
            "date" => Some("2024-13-45"),
            "uuid" => Some("not-a-uuid"),
            "email" => Some("not an email"),
            _ => None,
        };
        if let Some(bad) = bad {
            add(format!("format {f} violated ({bad:?})"), json!(bad), false);
        }
    }
    if o.get("contentEncoding").and_then(Value::as_str) == Some("base64") {
        add(
            "contentEncoding base64 violated".into(),
            json!("%%%not base64"),
            true,
        );
    }
}
