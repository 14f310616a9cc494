//! Comparing what targets answered: normalisation (rules declared with the spec), JSON path
//! differences, unified diffs. `versions` compares API versions, `targets` compares targets
//! with noise cancellation, `snapshot` compares against recorded transcripts.

pub mod snapshot;
pub mod targets;
pub mod versions;

use crate::run::record::Exchange;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Placeholders written in place of volatile and secret values.
pub const VOLATILE: &str = "<volatile>";
pub const SECRET: &str = "<secret>";

/// Rules from the spec's `x-kmsconform-normalize`: field names whose values vary between
/// equally correct runs, secret field names, and regexes for volatile text inside strings.
#[derive(Debug, Clone)]
pub struct Normalizer {
    volatile: BTreeSet<String>,
    secret: BTreeSet<String>,
    patterns: Vec<regex::Regex>,
    /// Names kmsconform generates (`Names`): canonicalised by order of first appearance.
    names: regex::Regex,
    /// The API's version labels as whole tokens, replaced in text.
    version_labels: Option<regex::Regex>,
}

impl Normalizer {
    /// No field rules: only generated names are canonicalised.
    pub fn names_only(profile: &crate::spec::Profile) -> Self {
        Self {
            volatile: BTreeSet::new(),
            secret: profile.secrets.fields.iter().cloned().collect(),
            patterns: vec![],
            names: profile.names.regex(),
            version_labels: None,
        }
    }

    /// The spec's `x-kmsconform-normalize` rules, the profile's secret fields and names.
    pub fn from_spec(doc: &Value, profile: &crate::spec::Profile) -> Result<Self, String> {
        let rules = doc
            .get("x-kmsconform-normalize")
            .cloned()
            .unwrap_or(Value::Null);
        let list = |k: &str| -> BTreeSet<String> {
            rules
                .get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default()
        };
        let patterns = list("patterns")
            .iter()
            .map(|p| {
                regex::Regex::new(p).map_err(|e| format!("x-kmsconform-normalize pattern {p}: {e}"))
            })
            .collect::<Result<_, _>>()?;
        let mut secret = list("secret");
        secret.extend(profile.secrets.fields.iter().cloned());
        Ok(Self {
            volatile: list("volatile"),
            secret,
            patterns,
            names: profile.names.regex(),
            version_labels: None,
        })
    }

    /// Also replace these version labels (e.g. `1.0`) where they stand as tokens in text.
    pub fn with_versions<'a>(mut self, versions: impl Iterator<Item = &'a str>) -> Self {
        let alts: Vec<String> = versions.map(regex::escape).collect();
        if !alts.is_empty() {
            self.version_labels =
                regex::Regex::new(&format!(r"(^|[^0-9.])(?:{})($|[^0-9.])", alts.join("|"))).ok();
        }
        self
    }

    /// Normalise a transcript: field rules, text patterns, then generated names numbered by
    /// first appearance within their group (a suite, or an operation's generated cases),
    /// because groups run concurrently and only their inner order is deterministic.
    pub fn transcript(&self, t: &[Exchange]) -> Vec<Exchange> {
        let mut seen: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        t.iter()
            .map(|e| {
                let mut e = e.clone();
                let names = seen.entry(group_of(&e.case)).or_default();
                e.body = e.body.as_ref().map(|b| self.value(b, None, names));
                e.label = self.text(&e.label, names);
                // Versions name themselves in text ("no such operation in kms 1.0").
                if let Some(re) = &self.version_labels {
                    let rewrite = |v: &Value| -> Value {
                        replace_strings(v, &|t| re.replace_all(t, "${1}<version>${2}").into_owned())
                    };
                    e.body = e.body.as_ref().map(rewrite);
                }
                e
            })
            .collect()
    }

    fn value(&self, v: &Value, key: Option<&str>, seen: &mut BTreeMap<String, usize>) -> Value {
        if let Some(k) = key {
            if self.secret.contains(k) && !v.is_null() {
                return Value::String(SECRET.into());
            }
            if self.volatile.contains(k) && !v.is_null() {
                return Value::String(VOLATILE.into());
            }
        }
        match v {
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| (k.clone(), self.value(x, Some(k), seen)))
                    .collect::<Map<_, _>>(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.value(x, key, seen)).collect()),
            Value::String(s) => Value::String(self.text(s, seen)),
            other => other.clone(),
        }
    }

    fn text(&self, s: &str, seen: &mut BTreeMap<String, usize>) -> String {
        let mut out = s.to_string();
        for p in &self.patterns {
            out = p.replace_all(&out, VOLATILE).into_owned();
        }
        self.names
            .replace_all(&out, |c: &regex::Captures| {
                let n = seen.len() + 1;
                let i = *seen.entry(c[0].to_string()).or_insert(n);
                format!("<name-{i}>")
            })
            .into_owned()
    }
}

fn replace_strings(v: &Value, f: &dyn Fn(&str) -> String) -> Value {
    match v {
        Value::String(s) => Value::String(f(s)),
        Value::Array(a) => Value::Array(a.iter().map(|x| replace_strings(x, f)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), replace_strings(x, f)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `1.3/suite/lifecycle/4` → `1.3/suite/lifecycle`; `1.3/createKey/valid/2` → `1.3/createKey`.
fn group_of(case: &str) -> String {
    let parts: Vec<&str> = case.split('/').collect();
    let n = if parts.get(1) == Some(&"suite") { 3 } else { 2 };
    parts[..n.min(parts.len())].join("/")
}

/// A difference at one JSON path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PathDiff {
    Added(String),
    Removed(String),
    Changed(String),
}

impl PathDiff {
    pub fn pointer(&self) -> &str {
        match self {
            PathDiff::Added(p) | PathDiff::Removed(p) | PathDiff::Changed(p) => p,
        }
    }
}

/// Leaf-level differences between two JSON values, as JSON pointers.
pub fn json_diff(a: &Value, b: &Value) -> Vec<PathDiff> {
    let mut out = Vec::new();
    walk(a, b, String::new(), &mut out);
    out
}

fn walk(a: &Value, b: &Value, at: String, out: &mut Vec<PathDiff>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                let p = format!("{at}/{}", escape(k));
                match y.get(k) {
                    Some(vb) => walk(va, vb, p, out),
                    None => out.push(PathDiff::Removed(p)),
                }
            }
            for k in y.keys().filter(|k| !x.contains_key(*k)) {
                out.push(PathDiff::Added(format!("{at}/{}", escape(k))));
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for i in 0..x.len().max(y.len()) {
                let p = format!("{at}/{i}");
                match (x.get(i), y.get(i)) {
                    (Some(va), Some(vb)) => walk(va, vb, p, out),
                    (Some(_), None) => out.push(PathDiff::Removed(p)),
                    (None, Some(_)) => out.push(PathDiff::Added(p)),
                    (None, None) => {}
                }
            }
        }
        _ if a != b => out.push(PathDiff::Changed(at)),
        _ => {}
    }
}

fn escape(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

/// `/keys/0/managed_type` → `keys[].managed_type` (the location syntax of declared changes).
pub fn location(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        if seg.bytes().all(|b| b.is_ascii_digit()) && !seg.is_empty() {
            out.push_str("[]");
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg.replace("~1", "/").replace("~0", "~"));
        }
    }
    out
}

/// Pretty JSON of a response for diffs and snapshots.
pub fn render_exchange(e: &Exchange) -> String {
    let status = e
        .status
        .map(|s| s.to_string())
        .unwrap_or_else(|| "no response".into());
    let body = match &e.body {
        Some(b) => serde_json::to_string_pretty(b).unwrap_or_default(),
        None => "(no body)".into(),
    };
    format!("status: {status}\n{body}\n")
}

pub fn unified(a: &str, b: &str, a_label: &str, b_label: &str) -> String {
    similar::TextDiff::from_lines(a, b)
        .unified_diff()
        .context_radius(3)
        .header(a_label, b_label)
        .to_string()
}

/// Key that aligns one exchange across runs: the case without its version, plus the label
/// (mutation labels are stable where indices may shift).
pub fn align_key(e: &Exchange) -> String {
    let case = e.case.split_once('/').map(|x| x.1).unwrap_or(&e.case);
    format!("{case} | {}", e.label)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diffs_and_locations() {
        let a = json!({"key": {"id": "a", "v": 1}, "keys": [{"x": 1}]});
        let b =
            json!({"key": {"id": "a", "v": 2, "managed_type": "user"}, "keys": [{"x": 1, "y": 0}]});
        let d = json_diff(&a, &b);
        assert!(d.contains(&PathDiff::Changed("/key/v".into())));
        assert!(d.contains(&PathDiff::Added("/key/managed_type".into())));
        assert_eq!(location("/keys/0/y"), "keys[].y");
        assert_eq!(location("/key/managed_type"), "key.managed_type");
        assert!(json_diff(&a, &a).is_empty());
    }

    #[test]
    fn normalisation_replaces_volatile_secret_and_names() {
        let doc = json!({"x-kmsconform-normalize": {"volatile": ["id"], "secret": ["plaintext"], "patterns": ["[0-9a-f]{32}"]}});
        let n = Normalizer::from_spec(&doc, &crate::spec::profile::example()).unwrap();
        let mk = |name: &str, id: &str| Exchange {
            version: "1.3".into(),
            case: "1.3/suite/x/1".into(),
            label: "l".into(),
            operation: "op".into(),
            status: Some(200),
            body: Some(
                json!({"id": id, "name": name, "plaintext": "c2VjcmV0", "detail": format!("key {} gone", "0123456789abcdef0123456789abcdef")}),
            ),
        };
        let a = n.transcript(&[mk("kcaaaaaaaa", "1"), mk("kcbbbbbbbb", "2")]);
        let b = n.transcript(&[mk("kczzzzzzzz", "9"), mk("kcyyyyyyyy", "8")]);
        assert_eq!(a, b);
        assert_eq!(a[0].body.as_ref().unwrap()["name"], "<name-1>");
        assert_eq!(a[1].body.as_ref().unwrap()["name"], "<name-2>");
        assert_eq!(a[0].body.as_ref().unwrap()["plaintext"], SECRET);
        assert_eq!(a[0].body.as_ref().unwrap()["detail"], "key <volatile> gone");
    }
}
