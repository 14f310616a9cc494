//! Valid instances of JSON Schema 2020-12 schemas (as used inside OpenAPI 3.1) as proptest
//! strategies, plus deterministic boundary values. Only the keyword subset that generated
//! OpenAPI documents use is honoured; unknown keywords are treated as annotations.

use base64::Engine;
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// Below this nesting depth optional properties and array items are no longer generated,
/// so recursive schemas terminate.
const MAX_DEPTH: usize = 6;
/// Strings without maxLength are kept short: long values add cost, not coverage.
const DEFAULT_EXTRA_LEN: usize = 16;

pub use crate::spec::model::resolve;

/// The JSON types `schema` admits (after `$ref`/`anyOf`/`oneOf`), or None when unconstrained.
pub fn allowed_types(schema: &Value, doc: &Value) -> Option<Vec<String>> {
    let s = resolve(schema, doc);
    if let Some(alts) = s
        .get("anyOf")
        .or_else(|| s.get("oneOf"))
        .and_then(Value::as_array)
    {
        let mut out = Vec::new();
        for a in alts {
            for t in allowed_types(a, doc)? {
                if !out.contains(&t) {
                    out.push(t);
                }
            }
        }
        return Some(out);
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        let mut ts: Vec<String> = Vec::new();
        for t in e.iter().map(json_type) {
            if !ts.iter().any(|x| x == t) {
                ts.push(t.to_string());
            }
        }
        return Some(ts);
    }
    if let Some(c) = s.get("const") {
        return Some(vec![json_type(c).to_string()]);
    }
    match s.get("type") {
        Some(Value::String(t)) => Some(vec![t.clone()]),
        Some(Value::Array(ts)) => Some(
            ts.iter()
                .filter_map(|t| t.as_str().map(String::from))
                .collect(),
        ),
        _ => None,
    }
}

/// JSON Schema type name of a value ("integer" for integral numbers).
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Strategy producing instances valid against `schema`, resolving `$ref`s into `doc`.
pub fn valid_strategy(schema: &Value, doc: &Value) -> BoxedStrategy<Value> {
    gen(schema, doc, 0)
}

fn gen(schema: &Value, doc: &Value, depth: usize) -> BoxedStrategy<Value> {
    if depth > MAX_DEPTH * 4 {
        // Only a cycle through required properties gets here; it has no finite instance.
        return Just(Value::Null).boxed();
    }
    let s = resolve(schema, doc);
    let obj = match s {
        Value::Bool(true) => return any_value(),
        // Nothing satisfies `false`; null keeps the strategy total.
        Value::Bool(false) => return Just(Value::Null).boxed(),
        Value::Object(o) => o,
        _ => return any_value(),
    };
    if let Some(c) = obj.get("const") {
        return Just(c.clone()).boxed();
    }
    if let Some(e) = obj.get("enum").and_then(Value::as_array) {
        if !e.is_empty() {
            return proptest::sample::select(e.clone()).boxed();
        }
    }
    if let Some(all) = obj.get("allOf").and_then(Value::as_array) {
        // Shallow merge is enough for the object-composition use of allOf.
        let mut merged = obj.clone();
        merged.remove("allOf");
        for part in all {
            if let Value::Object(p) = resolve(part, doc) {
                merge_into(&mut merged, p);
            }
        }
        return gen(&Value::Object(merged), doc, depth);
    }
    if let Some(alts) = obj
        .get("anyOf")
        .or_else(|| obj.get("oneOf"))
        .and_then(Value::as_array)
    {
        if !alts.is_empty() {
            // Keywords beside anyOf/oneOf apply to every alternative (e.g. an object's
            // properties with `anyOf: [{required: [a]}, {required: [b]}]`).
            let mut siblings = obj.clone();
            siblings.remove("anyOf");
            siblings.remove("oneOf");
            let constrained = ["type", "properties", "required", "items"]
                .iter()
                .any(|k| siblings.contains_key(*k));
            let strategies: Vec<_> = alts
                .iter()
                .map(|a| match (constrained, resolve(a, doc)) {
                    (true, Value::Object(alt)) => {
                        let mut merged = siblings.clone();
                        merge_alternative(&mut merged, alt);
                        gen(&Value::Object(merged), doc, depth)
                    }
                    _ => gen(a, doc, depth),
                })
                .collect();
            return proptest::strategy::Union::new(strategies).boxed();
        }
    }
    let types: Vec<String> = match obj.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(|t| t.as_str().map(String::from))
            .collect(),
        _ => vec![infer_type(obj).to_string()],
    };
    let strategies: Vec<_> = types.iter().map(|t| typed(t, obj, doc, depth)).collect();
    match strategies.len() {
        0 => any_value(),
        1 => strategies.into_iter().next().unwrap(),
        _ => proptest::strategy::Union::new(strategies).boxed(),
    }
}

fn merge_into(target: &mut Map<String, Value>, part: &Map<String, Value>) {
    for (k, v) in part {
        match (k.as_str(), target.get_mut(k)) {
            ("properties", Some(Value::Object(t))) => {
                if let Value::Object(p) = v {
                    t.extend(p.clone());
                }
            }
            ("required", Some(Value::Array(t))) => {
                for r in v.as_array().into_iter().flatten() {
                    if !t.contains(r) {
                        t.push(r.clone());
                    }
                }
            }
            _ => {
                target.insert(k.clone(), v.clone());
            }
        }
    }
}

/// An anyOf/oneOf alternative added to the keywords beside it: `required` lists unite, a
/// property both declare gets the keywords of both (the alternative's win on conflict).
fn merge_alternative(target: &mut Map<String, Value>, alt: &Map<String, Value>) {
    for (k, v) in alt {
        match (k.as_str(), target.get_mut(k), v) {
            ("properties", Some(Value::Object(t)), Value::Object(p)) => {
                for (name, ps) in p {
                    match (t.get_mut(name), ps) {
                        (Some(Value::Object(cur)), Value::Object(add)) => {
                            cur.extend(add.clone());
                        }
                        _ => {
                            t.insert(name.clone(), ps.clone());
                        }
                    }
                }
            }
            ("required", Some(Value::Array(t)), Value::Array(r)) => {
                for x in r {
                    if !t.contains(x) {
                        t.push(x.clone());
                    }
                }
            }
            _ => {
                target.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Type implied by the keywords present when `type` is absent.
fn infer_type(o: &Map<String, Value>) -> &'static str {
    let has = |ks: &[&str]| ks.iter().any(|k| o.contains_key(*k));
    if has(&["properties", "required", "additionalProperties"]) {
        "object"
    } else if has(&["items", "prefixItems", "minItems", "maxItems"]) {
        "array"
    } else if has(&[
        "pattern",
        "minLength",
        "maxLength",
        "format",
        "contentEncoding",
    ]) {
        "string"
    } else if has(&["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]) {
        "number"
    } else {
        "any"
    }
}

fn typed(t: &str, o: &Map<String, Value>, doc: &Value, depth: usize) -> BoxedStrategy<Value> {
    match t {
        "null" => Just(Value::Null).boxed(),
        "boolean" => any::<bool>().prop_map(Value::Bool).boxed(),
        "integer" => integer(o),
        "number" => number(o),
        "string" => string(o).prop_map(Value::String).boxed(),
        "array" => array(o, doc, depth),
        "object" => object(o, doc, depth),
        _ => any_value(),
    }
}

/// Unconstrained values: small and varied, so they stay readable in reports.
fn any_value() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-1000i64..=1000).prop_map(Value::from),
        "[a-z0-9]{0,8}".prop_map(Value::String),
    ]
    .boxed()
}

fn num(o: &Map<String, Value>, k: &str) -> Option<f64> {
    o.get(k).and_then(Value::as_f64)
}

/// Inclusive integer bounds from minimum/maximum/exclusive*; defaults keep values small.
pub(crate) fn int_bounds(o: &Map<String, Value>) -> (Option<i64>, Option<i64>) {
    let lo = match (num(o, "minimum"), num(o, "exclusiveMinimum")) {
        (Some(a), Some(b)) => Some((a.ceil() as i64).max(b.floor() as i64 + 1)),
        (Some(a), None) => Some(a.ceil() as i64),
        (None, Some(b)) => Some(b.floor() as i64 + 1),
        _ => None,
    };
    let hi = match (num(o, "maximum"), num(o, "exclusiveMaximum")) {
        (Some(a), Some(b)) => Some((a.floor() as i64).min(b.ceil() as i64 - 1)),
        (Some(a), None) => Some(a.floor() as i64),
        (None, Some(b)) => Some(b.ceil() as i64 - 1),
        _ => None,
    };
    (lo, hi)
}

fn integer(o: &Map<String, Value>) -> BoxedStrategy<Value> {
    let (lo, hi) = int_bounds(o);
    let lo = lo.unwrap_or_else(|| hi.map_or(-1000, |h| h.saturating_sub(2000)));
    let hi = hi.unwrap_or_else(|| lo.saturating_add(2000)).max(lo);
    match o
        .get("multipleOf")
        .and_then(Value::as_i64)
        .filter(|m| *m > 0)
    {
        Some(m) => {
            let (a, b) = (
                lo.div_euclid(m) + i64::from(lo.rem_euclid(m) != 0),
                hi.div_euclid(m),
            );
            (a..=b.max(a)).prop_map(move |k| Value::from(k * m)).boxed()
        }
        None => (lo..=hi).prop_map(Value::from).boxed(),
    }
}

fn number(o: &Map<String, Value>) -> BoxedStrategy<Value> {
    let lo = num(o, "minimum")
        .or_else(|| num(o, "exclusiveMinimum").map(|x| x + 1e-6))
        .unwrap_or(-1000.0);
    let hi = num(o, "maximum")
        .or_else(|| num(o, "exclusiveMaximum").map(|x| x - 1e-6))
        .unwrap_or(lo + 2000.0)
        .max(lo);
    if hi <= lo {
        return Just(Value::from(lo)).boxed();
    }
    (lo..hi)
        .prop_map(|x| Number::from_f64(x).map_or(Value::Null, Value::Number))
        .boxed()
}

/// Inclusive (min, max) character counts for strings; max defaults to min + 16.
pub(crate) fn len_bounds(o: &Map<String, Value>) -> (usize, Option<usize>) {
    let min = o.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
    let max = o
        .get("maxLength")
        .and_then(Value::as_u64)
        .map(|m| m as usize);
    (min, max)
}

/// `pattern` without its ^/$ anchors, for a full-match generator.
pub(crate) fn strip_anchors(p: &str) -> &str {
    let p = p.strip_prefix('^').unwrap_or(p);
    match p.strip_suffix('$') {
        Some(q) if !q.ends_with('\\') => q,
        _ => p,
    }
}

/// When the stripped pattern is one atom under `*`/`+` (e.g. `[a-z0-9]*`), return the atom
/// so the repetition can be bounded by minLength/maxLength exactly instead of filtered.
fn single_atom_repeat(p: &str) -> Option<(&str, usize)> {
    let (body, min) = match p.as_bytes().last()? {
        b'*' => (&p[..p.len() - 1], 0),
        b'+' => (&p[..p.len() - 1], 1),
        _ => return None,
    };
    let single = if let Some(inner) = body.strip_prefix('[') {
        let inner = inner.strip_prefix('^').unwrap_or(inner);
        !inner.is_empty() && class_end(inner) == Some(inner.len() - 1)
    } else if let Some(rest) = body.strip_prefix('\\') {
        rest.chars().count() == 1
    } else {
        body.chars().count() == 1 && !"()|?*+{}[]".contains(body)
    };
    single.then_some((body, min))
}

/// Index of the `]` closing a bracket class whose body is `inner` (first char may be a
/// literal `]`); None for nested classes, which are left to the generic path.
fn class_end(inner: &str) -> Option<usize> {
    let b = inner.as_bytes();
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'[' => return None,
            b']' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

pub(crate) fn string(o: &Map<String, Value>) -> BoxedStrategy<String> {
    let (min, max) = len_bounds(o);
    let max_gen = max.unwrap_or(min + DEFAULT_EXTRA_LEN).max(min);
    let in_len = move |s: &String| {
        let n = s.chars().count();
        n >= min && max.is_none_or(|m| n <= m)
    };
    if let Some(p) = o.get("pattern").and_then(Value::as_str) {
        let stripped = strip_anchors(p);
        let re = regex::Regex::new(p).ok();
        if let Some((atom, atom_min)) = single_atom_repeat(stripped) {
            let lo = min.max(atom_min);
            if let Ok(st) = proptest::string::string_regex(&format!("(?:{atom}){{{lo},{max_gen}}}"))
            {
                return st.boxed();
            }
        }
        if let Ok(st) = proptest::string::string_regex(stripped) {
            return st.prop_filter("minLength/maxLength", in_len).boxed();
        }
        // Pattern syntax string_regex cannot generate from: filter an alphabet instead.
        if let Some(re) = re {
            return proptest::string::string_regex(&format!("[a-zA-Z0-9_-]{{{min},{max_gen}}}"))
                .expect("static regex")
                .prop_filter("pattern", move |s| re.is_match(s))
                .boxed();
        }
    }
    match o.get("format").and_then(Value::as_str) {
        Some("date-time") => return date_time().prop_filter("length", in_len).boxed(),
        Some("date") => return date().prop_filter("length", in_len).boxed(),
        Some("uuid") => {
            return proptest::string::string_regex(
                "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
            )
            .expect("static regex")
            .boxed()
        }
        _ => {}
    }
    if o.get("contentEncoding").and_then(Value::as_str) == Some("base64") {
        return proptest::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| base64::engine::general_purpose::STANDARD.encode(b))
            .prop_filter("length", in_len)
            .boxed();
    }
    // Mostly printable ASCII, with some non-ASCII so byte/char length confusions surface.
    proptest::string::string_regex(&format!("[ -~é한]{{{min},{max_gen}}}"))
        .expect("static regex")
        .boxed()
}

fn date() -> impl Strategy<Value = String> {
    (1970u32..=2099, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"))
}

/// RFC 3339 UTC timestamps (day capped at 28 so every month is valid).
fn date_time() -> impl Strategy<Value = String> {
    (date(), 0u32..24, 0u32..60, 0u32..60)
        .prop_map(|(d, h, mi, s)| format!("{d}T{h:02}:{mi:02}:{s:02}Z"))
}

fn array(o: &Map<String, Value>, doc: &Value, depth: usize) -> BoxedStrategy<Value> {
    let min = o.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
    let mut max = o
        .get("maxItems")
        .and_then(Value::as_u64)
        .map_or(min + 3, |m| m as usize)
        .max(min);
    if depth >= MAX_DEPTH {
        max = min;
        if min == 0 {
            return Just(Value::Array(Vec::new())).boxed();
        }
    }
    let items = o.get("items").cloned().unwrap_or(Value::Bool(true));
    proptest::collection::vec(gen(&items, doc, depth + 1), min..=max)
        .prop_map(Value::Array)
        .boxed()
}

fn object(o: &Map<String, Value>, doc: &Value, depth: usize) -> BoxedStrategy<Value> {
    let empty = Map::new();
    let props = o
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let required: Vec<&str> = o
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut fields: Vec<(String, BoxedStrategy<Option<Value>>)> = Vec::new();
    for (name, ps) in props {
        // Strategies are built eagerly, so recursion must stop before building, not after.
        if required.contains(&name.as_str()) {
            let st = gen(ps, doc, depth + 1);
            fields.push((name.clone(), st.prop_map(Some).boxed()));
        } else if depth < MAX_DEPTH {
            let st = gen(ps, doc, depth + 1);
            fields.push((name.clone(), proptest::option::of(st).boxed()));
        }
    }
    // Required names without a property schema are governed by additionalProperties.
    let extra = o
        .get("additionalProperties")
        .cloned()
        .unwrap_or(Value::Bool(true));
    for name in required.iter().filter(|r| !props.contains_key(**r)) {
        let st = match &extra {
            Value::Bool(true) => string(&empty).prop_map(Value::String).boxed(),
            s => gen(s, doc, depth + 1),
        };
        fields.push((name.to_string(), st.prop_map(Some).boxed()));
    }
    let names: Vec<String> = fields.iter().map(|f| f.0.clone()).collect();
    let strategies: Vec<_> = fields.into_iter().map(|f| f.1).collect();
    strategies
        .prop_map(move |vals| {
            let mut m = Map::new();
            for (n, v) in names.iter().zip(vals) {
                if let Some(v) = v {
                    m.insert(n.clone(), v);
                }
            }
            Value::Object(m)
        })
        .boxed()
}

/// A string of exactly `n` chars that `pattern` accepts, built by repeating one of
/// [a-z0-9A-Z]; None when no such repetition matches.
pub(crate) fn repeat_matching(pattern: Option<&str>, n: usize) -> Option<String> {
    let re = match pattern {
        Some(p) => Some(regex::Regex::new(p).ok()?),
        None => None,
    };
    ('a'..='z')
        .chain('0'..='9')
        .chain('A'..='Z')
        .map(|c| c.to_string().repeat(n))
        .find(|s| re.as_ref().is_none_or(|re| re.is_match(s)))
}

/// Deterministic valid edge cases of a scalar schema: strings at exactly minLength and
/// maxLength, integers at their bounds, each enum member, null when nullable.
pub fn boundary_values(schema: &Value, doc: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    boundaries_into(resolve(schema, doc), doc, &mut out, 0);
    out
}

fn boundaries_into(s: &Value, doc: &Value, out: &mut Vec<(String, Value)>, depth: usize) {
    let Some(o) = s.as_object() else { return };
    if depth > 32 {
        return;
    }
    if let Some(c) = o.get("const") {
        out.push(("const".into(), c.clone()));
        return;
    }
    if let Some(e) = o.get("enum").and_then(Value::as_array) {
        for v in e {
            out.push((format!("enum {v}"), v.clone()));
        }
        return;
    }
    for alt in o
        .get("anyOf")
        .or_else(|| o.get("oneOf"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        boundaries_into(resolve(alt, doc), doc, out, depth + 1);
    }
    let types = allowed_types(s, doc).unwrap_or_default();
    let has = |t: &str| types.iter().any(|x| x == t);
    if o.get("type").is_some() && has("null") {
        out.push(("null (nullable)".into(), Value::Null));
    }
    if has("string") && o.get("type").is_some() {
        let (min, max) = len_bounds(o);
        let pat = o.get("pattern").and_then(Value::as_str);
        if o.contains_key("minLength") {
            if let Some(v) = repeat_matching(pat, min) {
                out.push((format!("minLength {min}"), Value::String(v)));
            }
        }
        if let Some(max) = max {
            if let Some(v) = repeat_matching(pat, max) {
                out.push((format!("maxLength {max}"), Value::String(v)));
            }
        }
    }
    if has("integer") && o.get("type").is_some() {
        let (lo, hi) = int_bounds(o);
        if let Some(lo) = lo {
            out.push((format!("minimum {lo}"), Value::from(lo)));
        }
        if let Some(hi) = hi {
            out.push((format!("maximum {hi}"), Value::from(hi)));
        }
    } else if has("number") && o.get("type").is_some() {
        // Inclusive bounds are themselves valid numbers; exclusive ones have no edge value.
        for k in ["minimum", "maximum"] {
            if let Some(v) = o.get(k).filter(|v| v.is_number()) {
                out.push((format!("{k} {v}"), v.clone()));
            }
        }
    }
}

/// Each property boundary value of an object schema substituted into a valid `base`
/// instance, labelled "field: ...".
pub fn boundary_instances(schema: &Value, doc: &Value, base: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let s = resolve(schema, doc);
    let (Some(props), Some(_)) = (
        s.get("properties").and_then(Value::as_object),
        base.as_object(),
    ) else {
        return out;
    };
    for (name, ps) in props {
        for (label, v) in boundary_values(ps, doc) {
            let mut inst = base.clone();
            inst[name] = v;
            out.push((format!("{name}: {label}"), inst));
        }
    }
    out
}
