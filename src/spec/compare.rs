//! `spec compare`: one operation of several APIs side by side (e.g. SCP showKey, NCP getKey,
//! OTC describeKey): where the key object sits in the success response, which fields map to
//! which, how timestamps are written, the state vocabularies, the error envelopes and the auth
//! schemes. Field mappings come from names and types only, and every mapping that is not the
//! same name (or the field the request addresses the key by) is labelled a guess.

use crate::spec::validate::SchemaSet;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;

/// One API's operation, as the comparison sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    /// `<api> <version>`, e.g. `scp-kms 1.3`.
    pub label: String,
    pub operation_id: String,
    pub method: String,
    pub path: String,
    pub server: String,
    pub success_status: String,
    /// JSON pointer of the key object inside the success body (`/key`, `/data`).
    pub key_object_at: String,
    /// The key-object field the request addresses the key by, and the parameter naming it.
    pub addressed_by: Option<(String, String)>,
    pub fields: Vec<FieldInfo>,
    pub errors: Vec<ErrorInfo>,
    pub auth: Vec<AuthInfo>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FieldInfo {
    pub name: String,
    /// e.g. `string(date-time)|null`, `integer(int64)`.
    pub ty: String,
    pub required: bool,
    pub example: Option<Value>,
    /// How a timestamp is written, when the field is one.
    pub timestamp: Option<String>,
    /// Enumerated values and where they come from (`enum`, `description`, `example`).
    pub values: Option<(String, Vec<String>)>,
    pub basis: Option<String>,
    #[serde(skip)]
    raw_tokens: Vec<String>,
    #[serde(skip)]
    tokens: BTreeSet<String>,
    #[serde(skip)]
    synonym: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ErrorInfo {
    pub status: String,
    pub schema: String,
    /// The body's shape, e.g. `{error: {errorCode, message, details}}`.
    pub shape: String,
    pub basis: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuthInfo {
    pub scheme: String,
    pub signer: Option<String>,
    pub headers: Vec<String>,
    pub clock_skew_seconds: Option<i64>,
}

/// How the fields of one row were matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Match {
    /// Only one API has the field.
    Single,
    /// The same name once case and separators are set aside (semantics not checked).
    SameName,
    /// The field each request addresses the key by (path parameter or body field).
    Addressed,
    /// Guess: equal after mapping synonyms (e.g. created/register, state/status).
    SynonymGuess,
    /// Guess: names share some words.
    SimilarGuess,
}

impl Match {
    fn rank(&self) -> u8 {
        match self {
            Match::Addressed => 4,
            Match::SameName => 3,
            Match::SynonymGuess => 2,
            Match::SimilarGuess => 1,
            Match::Single => 0,
        }
    }
    fn label(&self) -> &'static str {
        match self {
            Match::Single => "only one API",
            Match::SameName => "same name",
            Match::Addressed => "addresses the key",
            Match::SynonymGuess => "guess: synonym",
            Match::SimilarGuess => "guess: similar name",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub concept: String,
    /// Per side: index into that side's `fields`.
    pub cells: Vec<Option<usize>>,
    /// The weakest match that joined the row.
    pub matched: Match,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub sides: Vec<Side>,
    pub rows: Vec<Row>,
}

/// Words that carry no meaning for matching.
const STOP: &[&str] = &["key", "is", "at", "date", "time", "yn", "scheduled"];
/// Generic KMS vocabulary: (canonical word, words that mean it).
const SYNONYMS: &[(&str, &[&str])] = &[
    (
        "created",
        &[
            "created",
            "creation",
            "create",
            "register",
            "registered",
            "registration",
        ],
    ),
    ("modified", &["modified", "modify", "updated", "update"]),
    (
        "deletion",
        &[
            "delete",
            "deletion",
            "deleted",
            "destroy",
            "destroyed",
            "destruction",
        ],
    ),
    ("description", &["description", "desc", "memo"]),
    ("name", &["name", "alias"]),
    ("state", &["state", "status"]),
    ("rotation", &["rotate", "rotation", "rotating"]),
    ("period", &["cycle", "period", "interval"]),
    ("region", &["region", "realm"]),
    ("account", &["account", "domain", "tenant"]),
];
/// Words too generic to join two fields on their own.
const WEAK: &[&str] = &["id", "type", "flag", "by", "ref"];

/// `keyTag` -> [key, tag]; `next_rotate_at` -> [next, rotate, at].
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// (tokens after stop words and synonyms, whether a synonym changed a word).
fn tokens(raw: &[String]) -> (BTreeSet<String>, bool) {
    let mut changed = false;
    let mut set = BTreeSet::new();
    for w in raw.iter().filter(|w| !STOP.contains(&w.as_str())) {
        let canon = SYNONYMS
            .iter()
            .find(|(_, ws)| ws.contains(&w.as_str()))
            .map(|(c, _)| *c);
        match canon {
            Some(c) => {
                changed |= c != w;
                set.insert(c.to_string());
            }
            None => {
                set.insert(w.clone());
            }
        }
    }
    if set.is_empty() {
        set.extend(raw.iter().cloned());
    }
    (set, changed)
}

fn similarity(a: &FieldInfo, b: &FieldInfo) -> Option<(Match, f64)> {
    if a.timestamp.is_some() != b.timestamp.is_some() {
        return None;
    }
    if a.raw_tokens == b.raw_tokens {
        return Some((Match::SameName, 1.0));
    }
    let inter = a.tokens.intersection(&b.tokens).count() as f64;
    let union = a.tokens.union(&b.tokens).count() as f64;
    let j = if union == 0.0 { 0.0 } else { inter / union };
    if j >= 1.0 {
        let m = if a.synonym || b.synonym || a.tokens != words_set(&a.raw_tokens) {
            Match::SynonymGuess
        } else {
            Match::SameName
        };
        Some((m, 1.0))
    } else if j >= 0.5
        && base_kind(&a.ty) == base_kind(&b.ty)
        && a.tokens
            .intersection(&b.tokens)
            .any(|t| !WEAK.contains(&t.as_str()))
    {
        Some((Match::SimilarGuess, j))
    } else {
        None
    }
}

/// `string(date-time)|null` -> `string`.
fn base_kind(ty: &str) -> &str {
    ty.split('|')
        .find(|t| *t != "null")
        .unwrap_or(ty)
        .split('(')
        .next()
        .unwrap_or(ty)
}

/// The row's name: the field's words without stop words, synonyms mapped, in its order.
fn concept(f: &FieldInfo) -> String {
    let mut out: Vec<String> = Vec::new();
    for w in &f.raw_tokens {
        let (t, _) = tokens(std::slice::from_ref(w));
        if STOP.contains(&w.as_str()) && f.raw_tokens.len() > 1 {
            continue;
        }
        for x in t {
            if !out.contains(&x) {
                out.push(x);
            }
        }
    }
    out.join(" ")
}

fn words_set(raw: &[String]) -> BTreeSet<String> {
    raw.iter().cloned().collect()
}

fn type_of(set: &SchemaSet, s: &Value) -> String {
    let s = set.resolve(s);
    if let Some(alts) = s.get("anyOf").and_then(Value::as_array) {
        return alts
            .iter()
            .map(|a| type_of(set, a))
            .collect::<Vec<_>>()
            .join("|");
    }
    let base = match s.get("type").and_then(Value::as_str) {
        Some(t) => t.to_string(),
        None if s.get("properties").is_some() => "object".into(),
        None => "any".into(),
    };
    match s.get("format").and_then(Value::as_str) {
        Some(f) => format!("{base}({f})"),
        None => base,
    }
}

fn has_date_time(set: &SchemaSet, s: &Value) -> bool {
    let s = set.resolve(s);
    s.get("format").and_then(Value::as_str) == Some("date-time")
        || s.get("anyOf")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|x| has_date_time(set, x)))
}

fn timestamp_of(set: &SchemaSet, p: &Value, ty: &str, example: Option<&Value>) -> Option<String> {
    let doc_unit = p.pointer("/x-kmsconform-doc/unit").and_then(Value::as_str);
    let unit = p
        .get("x-kmsconform-unit")
        .and_then(Value::as_str)
        .or(doc_unit);
    let mut text = if has_date_time(set, p) {
        let mut t = "RFC 3339 date-time string".to_string();
        if ty.contains("null") {
            t.push_str(" or null");
        }
        t
    } else {
        let u = match unit? {
            "epoch-ms" => "epoch milliseconds",
            _ => "epoch seconds",
        };
        if ty.starts_with("string") {
            format!("string of digits, {u}")
        } else {
            format!("integer, {u}")
        }
    };
    if let (Some(d), Some(u)) = (doc_unit, unit) {
        if d != u {
            text.push_str(&format!(
                " (the document's text says {})",
                if d == "epoch-ms" {
                    "milliseconds"
                } else {
                    "seconds"
                }
            ));
        }
    }
    if let Some(Value::String(e)) = example {
        if has_date_time(set, p) && !e.contains('T') {
            text.push_str(&format!(" (its example prints \"{e}\")"));
        }
    }
    Some(text)
}

/// Values of a field: `enum`, else a parenthesised list in the description.
fn values_of(set: &SchemaSet, p: &Value) -> Option<(String, Vec<String>)> {
    let r = set.resolve(p);
    let e = r.get("enum").or_else(|| {
        r.get("anyOf")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().find_map(|x| x.get("enum")))
    });
    if let Some(e) = e.and_then(Value::as_array) {
        let mut vals: Vec<String> = e
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .collect();
        if let Some(m) = r.get("x-kmsconform-meanings").and_then(Value::as_object) {
            for v in &mut vals {
                if let Some(Value::String(meaning)) = m.get(v.as_str()) {
                    *v = format!("{v} ({meaning})");
                }
            }
        }
        return Some(("enum".into(), vals));
    }
    let d = r.get("description").and_then(Value::as_str)?;
    let inner = d.split_once('(')?.1.split_once(')')?.0;
    let vals: Vec<String> = inner.split(',').map(|v| v.trim().to_string()).collect();
    (vals.len() >= 2).then(|| ("description".into(), vals))
}

/// The object with the most properties inside a schema, and its JSON pointer.
fn key_object(set: &SchemaSet, s: &Value, at: String, best: &mut Option<(usize, String, Value)>) {
    let r = set.resolve(s);
    if let Some(items) = r.get("items") {
        key_object(set, items, format!("{at}/[]"), best);
        return;
    }
    let Some(props) = r.get("properties").and_then(Value::as_object) else {
        return;
    };
    if best.as_ref().is_none_or(|b| props.len() > b.0) {
        *best = Some((
            props.len(),
            if at.is_empty() {
                "/".into()
            } else {
                at.clone()
            },
            r.clone(),
        ));
    }
    for (k, v) in props {
        key_object(set, v, format!("{at}/{k}"), best);
    }
}

/// `{error: {error_code, error_msg}}`.
fn shape(set: &SchemaSet, s: &Value, depth: usize) -> String {
    let r = set.resolve(s);
    if depth > 4 {
        return "…".into();
    }
    if let Some(items) = r.get("items") {
        return format!("[{}]", shape(set, items, depth + 1));
    }
    if let Some(alts) = r.get("anyOf").and_then(Value::as_array) {
        return alts
            .iter()
            .map(|a| shape(set, a, depth + 1))
            .collect::<Vec<_>>()
            .join("|");
    }
    match r.get("properties").and_then(Value::as_object) {
        Some(p) => {
            let inner: Vec<String> = p
                .iter()
                .map(|(k, v)| {
                    let rv = set.resolve(v);
                    if rv.get("properties").is_some() || rv.get("items").is_some() {
                        format!("{k}: {}", shape(set, v, depth + 1))
                    } else {
                        k.clone()
                    }
                })
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        None => r
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("any")
            .to_string(),
    }
}

fn basis(v: &Value) -> Option<String> {
    v.get("x-kmsconform-basis")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Reads one side: the operation `op_id` of `doc`.
pub fn side(doc: &Value, op_id: &str) -> Result<Side, String> {
    let set = SchemaSet::new(doc);
    let label = format!(
        "{} {}",
        doc.pointer("/info/x-api")
            .and_then(Value::as_str)
            .unwrap_or("?"),
        doc.pointer("/info/version")
            .and_then(Value::as_str)
            .unwrap_or("?")
    );
    let (path, method, op) = doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .flat_map(|(p, item)| {
            item.as_object()
                .into_iter()
                .flatten()
                .map(move |(m, op)| (p.clone(), m.clone(), op))
        })
        .find(|(_, _, op)| op.get("operationId").and_then(Value::as_str) == Some(op_id))
        .ok_or_else(|| format!("{label}: no operation '{op_id}'"))?;
    let responses = op
        .get("responses")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("{label}: {op_id} has no responses"))?;
    let (status, success) = responses
        .iter()
        .find(|(s, _)| s.starts_with('2'))
        .ok_or_else(|| format!("{label}: {op_id} documents no 2xx response"))?;
    let schema = success
        .pointer("/content/application~1json/schema")
        .ok_or_else(|| format!("{label}: {op_id} {status} has no JSON schema"))?;
    let example = success
        .pointer("/content/application~1json")
        .and_then(crate::spec::examples::any_example);
    let mut best = None;
    key_object(&set, schema, String::new(), &mut best);
    let (_, at, obj) = best.ok_or_else(|| format!("{label}: {op_id} {status} is not an object"))?;
    let obj_example = example.and_then(|e| {
        if at == "/" {
            Some(e)
        } else {
            e.pointer(&at.replace("/[]", "/0"))
        }
    });
    let required: BTreeSet<&str> = obj
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut fields = Vec::new();
    for (name, p) in obj
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let ty = type_of(&set, p);
        let ex = obj_example
            .and_then(|e| e.get(name))
            .cloned()
            .or_else(|| crate::spec::examples::any_schema_example(set.resolve(p)).cloned());
        let raw_tokens = words(name);
        let (tokens, synonym) = tokens(&raw_tokens);
        fields.push(FieldInfo {
            name: name.clone(),
            timestamp: timestamp_of(&set, p, &ty, ex.as_ref()),
            values: values_of(&set, p),
            ty,
            required: required.contains(name.as_str()),
            example: ex,
            basis: basis(p),
            raw_tokens,
            tokens,
            synonym,
        });
    }
    let mut errors = Vec::new();
    for (s, r) in responses {
        if !(s.starts_with('4') || s.starts_with('5') || s == "default") {
            continue;
        }
        let schema = r.pointer("/content/application~1json/schema");
        errors.push(ErrorInfo {
            status: s.clone(),
            schema: schema
                .and_then(|x| x.get("$ref"))
                .and_then(Value::as_str)
                .map(|x| x.rsplit('/').next().unwrap_or(x).to_string())
                .unwrap_or_else(|| "-".into()),
            shape: schema
                .map(|x| shape(&set, x, 0))
                .unwrap_or_else(|| "-".into()),
            basis: basis(r),
        });
    }
    let mut auth = Vec::new();
    for (name, s) in doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        auth.push(AuthInfo {
            scheme: name.clone(),
            signer: s
                .get("x-signer")
                .and_then(Value::as_str)
                .map(str::to_string),
            headers: s
                .get("x-headers")
                .and_then(Value::as_array)
                .map(|h| {
                    h.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            clock_skew_seconds: s.get("x-clock-skew-seconds").and_then(Value::as_i64),
        });
    }
    let server = doc
        .pointer("/servers/0/url")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    // The field the request addresses the key by: a path parameter or a required body field
    // whose name means the same as a field of the key object.
    let mut address: Vec<String> = op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| p.get("in").and_then(Value::as_str) == Some("path"))
        .filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    if let Some(b) = op.pointer("/requestBody/content/application~1json/schema") {
        if let Some(req) = set.resolve(b).get("required").and_then(Value::as_array) {
            address.extend(req.iter().filter_map(Value::as_str).map(str::to_string));
        }
    }
    let addressed = address.iter().find_map(|a| {
        let (t, _) = tokens(&words(a));
        fields
            .iter()
            .position(|f| f.tokens == t)
            .map(|i| (i, a.clone()))
    });
    let mut addressed_by = None;
    if let Some((i, param)) = addressed {
        let f = fields.remove(i);
        addressed_by = Some((f.name.clone(), param));
        fields.insert(0, f);
    }
    Ok(Side {
        label,
        operation_id: op_id.to_string(),
        method: method.to_uppercase(),
        path,
        server,
        success_status: status.clone(),
        key_object_at: at,
        addressed_by,
        fields,
        errors,
        auth,
    })
}

/// Puts the sides' fields into rows (see the module doc).
pub fn compare(sides: Vec<Side>) -> Comparison {
    let n = sides.len();
    let mut rows: Vec<Row> = Vec::new();
    let addressed_all = sides.iter().all(|s| s.addressed_by.is_some());
    let mut used: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    if addressed_all && n > 1 {
        rows.push(Row {
            concept: "key identifier (as the request addresses it)".into(),
            cells: (0..n).map(|_| Some(0)).collect(),
            matched: Match::Addressed,
        });
        for u in &mut used {
            u.insert(0);
        }
    }
    for (si, side) in sides.iter().enumerate() {
        // Candidate (score, field, row) pairs against the rows so far.
        let mut cands: Vec<(u8, f64, usize, usize, Match)> = Vec::new();
        for (fi, f) in side.fields.iter().enumerate() {
            if used[si].contains(&fi) {
                continue;
            }
            for (ri, row) in rows.iter().enumerate() {
                if row.cells[si].is_some() || row.matched == Match::Addressed {
                    continue;
                }
                let best = row
                    .cells
                    .iter()
                    .enumerate()
                    .filter_map(|(sj, c)| c.map(|c| &sides[sj].fields[c]))
                    .filter_map(|other| similarity(f, other))
                    .max_by(|a, b| {
                        (a.0.rank(), a.1)
                            .partial_cmp(&(b.0.rank(), b.1))
                            .expect("finite")
                    });
                if let Some((m, score)) = best {
                    cands.push((m.rank(), score, fi, ri, m));
                }
            }
        }
        cands.sort_by(|a, b| (b.0, b.1).partial_cmp(&(a.0, a.1)).expect("finite"));
        for (_, _, fi, ri, m) in cands {
            if used[si].contains(&fi) || rows[ri].cells[si].is_some() {
                continue;
            }
            rows[ri].cells[si] = Some(fi);
            if rows[ri].matched == Match::Single || m.rank() < rows[ri].matched.rank() {
                rows[ri].matched = m;
            }
            used[si].insert(fi);
        }
        for (fi, f) in side.fields.iter().enumerate() {
            if used[si].insert(fi) {
                let mut cells = vec![None; n];
                cells[si] = Some(fi);
                rows.push(Row {
                    concept: concept(f),
                    cells,
                    matched: Match::Single,
                });
            }
        }
    }
    // Rows with the most APIs first, in the order they were found.
    rows.sort_by_key(|r| std::cmp::Reverse(r.cells.iter().filter(|c| c.is_some()).count()));
    Comparison { sides, rows }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 26 {
        format!("{}…", s.chars().take(25).collect::<String>())
    } else {
        s
    }
}

fn cell(f: &FieldInfo) -> String {
    let mut s = format!("`{}` {}", f.name, f.ty);
    if !f.required {
        s.push_str(" (optional)");
    }
    if let Some(e) = &f.example {
        s.push_str(&format!(" e.g. `{}`", short(e)));
    }
    s.replace('|', "\\|")
}

/// The comparison as a Markdown document.
pub fn markdown(c: &Comparison) -> String {
    let mut o = String::new();
    let ids: Vec<&str> = c.sides.iter().map(|s| s.operation_id.as_str()).collect();
    o.push_str(&format!("# Cross-vendor view: {}\n\n", ids.join(" = ")));
    o.push_str("Field mappings come from names and types only. *same name*: equal once case and separators are set aside (semantics not checked); *addresses the key*: the field the request names the key by; everything marked *guess* is one.\n\n");
    let header = |o: &mut String, first: &str| {
        o.push_str(&format!("| {first} |"));
        for s in &c.sides {
            o.push_str(&format!(" {} |", s.label));
        }
        o.push('\n');
        o.push_str(&"|---".repeat(c.sides.len() + 1));
        o.push_str("|\n");
    };
    let line = |o: &mut String, what: &str, f: &dyn Fn(&Side) -> String| {
        o.push_str(&format!("| {what} |"));
        for s in &c.sides {
            o.push_str(&format!(" {} |", f(s).replace('|', "\\|")));
        }
        o.push('\n');
    };
    o.push_str("## Operation\n\n");
    header(&mut o, "");
    line(&mut o, "operation", &|s| format!("`{}`", s.operation_id));
    line(&mut o, "request", &|s| format!("`{} {}`", s.method, s.path));
    line(&mut o, "server", &|s| format!("`{}`", s.server));
    line(&mut o, "success", &|s| s.success_status.clone());
    line(&mut o, "key object at", &|s| {
        format!("`{}`", s.key_object_at)
    });
    line(&mut o, "key addressed by", &|s| match &s.addressed_by {
        Some((field, param)) => format!("`{param}` (field `{field}`)"),
        None => "—".into(),
    });
    line(&mut o, "fields", &|s| s.fields.len().to_string());

    o.push_str("\n## Fields\n\n");
    o.push_str("| concept |");
    for s in &c.sides {
        o.push_str(&format!(" {} |", s.label));
    }
    o.push_str(" match |\n");
    o.push_str(&"|---".repeat(c.sides.len() + 2));
    o.push_str("|\n");
    for r in &c.rows {
        o.push_str(&format!("| {} |", r.concept));
        for (si, cl) in r.cells.iter().enumerate() {
            match cl {
                Some(i) => o.push_str(&format!(" {} |", cell(&c.sides[si].fields[*i]))),
                None => o.push_str(" — |"),
            }
        }
        o.push_str(&format!(" {} |\n", r.matched.label()));
    }

    o.push_str("\n## Timestamps\n\n");
    header(&mut o, "field");
    let mut seen = BTreeSet::new();
    for r in &c.rows {
        let ts: Vec<Option<&FieldInfo>> = r
            .cells
            .iter()
            .enumerate()
            .map(|(si, cl)| cl.map(|i| &c.sides[si].fields[i]))
            .collect();
        if ts.iter().flatten().all(|f| f.timestamp.is_none()) || !seen.insert(r.concept.clone()) {
            continue;
        }
        o.push_str(&format!("| {} |", r.concept));
        for f in ts {
            match f.and_then(|f| f.timestamp.as_ref().map(|t| (f, t))) {
                Some((f, t)) => o.push_str(&format!(" `{}`: {} |", f.name, t)),
                None => o.push_str(" — |"),
            }
        }
        o.push('\n');
    }

    o.push_str("\n## State vocabularies\n\n");
    header(&mut o, "field");
    for r in c
        .rows
        .iter()
        .filter(|r| r.concept.split(' ').any(|w| w == "state"))
    {
        o.push_str(&format!("| {} |", r.concept));
        for (si, cl) in r.cells.iter().enumerate() {
            let text = match cl.map(|i| &c.sides[si].fields[i]) {
                None => "—".to_string(),
                Some(f) => match &f.values {
                    Some((src, v)) => format!("`{}` ({src}): {}", f.name, v.join(", ")),
                    None => format!(
                        "`{}`: not enumerated{}",
                        f.name,
                        f.example
                            .as_ref()
                            .map(|e| format!(" (example {})", short(e)))
                            .unwrap_or_default()
                    ),
                },
            };
            o.push_str(&format!(" {} |", text.replace('|', "\\|")));
        }
        o.push('\n');
    }

    o.push_str("\n## Error envelopes\n\n");
    header(&mut o, "");
    line(&mut o, "statuses", &|s| {
        s.errors
            .iter()
            .map(|e| e.status.clone())
            .collect::<Vec<_>>()
            .join(", ")
    });
    let mut shapes: Vec<(String, String)> = Vec::new();
    for s in &c.sides {
        for e in &s.errors {
            if !shapes.iter().any(|x| x.0 == e.shape) {
                shapes.push((e.shape.clone(), e.schema.clone()));
            }
        }
    }
    for (sh, schema) in &shapes {
        line(&mut o, &format!("`{sh}`"), &|s| {
            let st: Vec<String> = s
                .errors
                .iter()
                .filter(|e| &e.shape == sh)
                .map(|e| {
                    let kind = e
                        .basis
                        .as_deref()
                        .and_then(|b| b.split(':').next())
                        .map(|k| format!(" ({k})"))
                        .unwrap_or_default();
                    format!("{}{kind}", e.status)
                })
                .collect();
            if st.is_empty() {
                "—".into()
            } else {
                format!("{}: {}", schema, st.join(", "))
            }
        });
    }

    o.push_str("\n## Authentication\n\n");
    header(&mut o, "");
    line(&mut o, "scheme (signer)", &|s| {
        s.auth
            .iter()
            .map(|a| format!("`{}` ({})", a.scheme, a.signer.as_deref().unwrap_or("?")))
            .collect::<Vec<_>>()
            .join("; ")
    });
    line(&mut o, "headers", &|s| {
        s.auth
            .iter()
            .flat_map(|a| a.headers.iter().map(|h| format!("`{h}`")))
            .collect::<Vec<_>>()
            .join(", ")
    });
    line(&mut o, "clock skew", &|s| {
        s.auth
            .iter()
            .map(|a| match a.clock_skew_seconds {
                Some(n) => format!("{} min", n / 60),
                None => "not stated".into(),
            })
            .collect::<Vec<_>>()
            .join("; ")
    });
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_tokens() {
        assert_eq!(words("keyTag"), ["key", "tag"]);
        assert_eq!(words("next_rotate_at"), ["next", "rotate", "at"]);
        assert_eq!(words("isAutoRotation"), ["is", "auto", "rotation"]);
        let (t, syn) = tokens(&words("registerDate"));
        assert_eq!(t.into_iter().collect::<Vec<_>>(), ["created"]);
        assert!(syn);
        let (t, syn) = tokens(&words("created_at"));
        assert_eq!(t.into_iter().collect::<Vec<_>>(), ["created"]);
        assert!(!syn);
        let (t, _) = tokens(&words("key_id"));
        assert_eq!(t.into_iter().collect::<Vec<_>>(), ["id"]);
    }
}
