//! Where the bases of expectations live inside a spec. A schema node, parameter, response or
//! operation may carry `x-kmsconform-basis` ("<kind>: <source>", or per keyword: an
//! operation's `{"responses": …}` is the basis of its list of statuses); anything without
//! one was imported from the vendor document and is `documented`, cited by the
//! `x-kmsconform-doc` location of the nearest model or operation.

use super::model::{resolve, Operation};
use crate::check::basis::Basis;
use serde_json::Value;

pub const KEY: &str = "x-kmsconform-basis";

/// An annotation: for the whole node (a string), or per keyword (an object such as
/// `{"minimum": "assumed: …", "maximum": "assumed: …"}`) when only some of the node's
/// constraints rest on another ground than the document.
#[derive(Debug, Clone, PartialEq)]
pub enum Annotation {
    Whole(Basis),
    PerKeyword(Vec<(String, Basis)>),
}

impl Annotation {
    fn keyword(&self, k: &str) -> Option<&Basis> {
        match self {
            Annotation::Whole(b) => Some(b),
            Annotation::PerKeyword(m) => m.iter().find(|(x, _)| x == k).map(|(_, b)| b),
        }
    }
    fn whole(&self) -> Option<&Basis> {
        match self {
            Annotation::Whole(b) => Some(b),
            Annotation::PerKeyword(_) => None,
        }
    }
    /// The weakest basis any of the node's constraints rests on.
    fn weakest(&self) -> Basis {
        match self {
            Annotation::Whole(b) => b.clone(),
            Annotation::PerKeyword(m) => m
                .iter()
                .map(|(_, b)| b.clone())
                .reduce(Basis::weakest)
                .expect("parse refuses empty maps"),
        }
    }
}

fn parse_annotation(v: &Value) -> Result<Annotation, String> {
    match v {
        Value::String(s) => Basis::parse(s)
            .map(Annotation::Whole)
            .map_err(|e| e.to_string()),
        Value::Object(o) if !o.is_empty() => o
            .iter()
            .map(|(k, x)| match x.as_str() {
                Some(s) => Basis::parse(s)
                    .map(|b| (k.clone(), b))
                    .map_err(|e| format!("{k}: {e}")),
                None => Err(format!("{k}: must be a string")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Annotation::PerKeyword),
        _ => Err("must be a string or an object of keyword → basis".into()),
    }
}

/// The annotation of a node, if it has a well-formed one (loading rejects malformed ones,
/// see [`malformed`]).
pub fn annotation_of(node: &Value) -> Option<Annotation> {
    node.get(KEY).and_then(|v| parse_annotation(v).ok())
}

/// The whole-node basis of a node (operations, responses, parameters).
pub fn annotation(node: &Value) -> Option<Basis> {
    annotation_of(node).and_then(|a| a.whole().cloned())
}

/// Every `x-kmsconform-basis` in `doc` that does not parse, as (pointer, message).
pub fn malformed(doc: &Value) -> Vec<(String, String)> {
    fn walk(v: &Value, at: &mut String, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(o) => {
                if let Some(b) = o.get(KEY) {
                    if let Err(e) = parse_annotation(b) {
                        out.push((format!("{at}/{KEY}"), e));
                    }
                }
                for (k, x) in o {
                    let len = at.len();
                    at.push('/');
                    at.push_str(&k.replace('~', "~0").replace('/', "~1"));
                    walk(x, at, out);
                    at.truncate(len);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    let len = at.len();
                    at.push_str(&format!("/{i}"));
                    walk(x, at, out);
                    at.truncate(len);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, &mut String::new(), &mut out);
    out
}

/// The name of the vendor document a spec was imported from.
pub fn document_name(doc: &Value) -> &str {
    doc.pointer("/info/x-source/document")
        .and_then(Value::as_str)
        .unwrap_or("the vendor document")
}

/// `<document>:<line> (<what>)` for a node with an `x-kmsconform-doc` location.
pub fn cite(doc: &Value, node: &Value, what: &str) -> String {
    let document = document_name(doc);
    match node.get("x-kmsconform-doc") {
        Some(d) => match (d.get("line"), d.get("pointer").and_then(Value::as_str)) {
            (Some(l), _) => format!("{document}:{l} ({what})"),
            (None, Some(p)) => format!("{document}#{p} ({what})"),
            _ => format!("{document} ({what})"),
        },
        None => format!("{document} ({what})"),
    }
}

/// The operation as the document states it.
pub fn of_operation(doc: &Value, op: &Operation) -> Basis {
    annotation(&op.raw).unwrap_or_else(|| Basis::documented(cite(doc, &op.raw, &op.operation_id)))
}

/// The operation's list of statuses: the operation's annotation of its `responses` keyword
/// (`"x-kmsconform-basis": {"responses": "assumed: …"}`) marks a list the document does not
/// give, e.g. one taken from another version. An annotation on the Responses Object itself
/// is read too (older specs), though generators refuse one there.
pub fn of_statuses(doc: &Value, op: &Operation) -> Basis {
    annotation_of(&op.raw)
        .and_then(|a| match a {
            Annotation::PerKeyword(_) => a.keyword("responses").cloned(),
            Annotation::Whole(_) => None,
        })
        .or_else(|| op.raw.get("responses").and_then(annotation))
        .unwrap_or_else(|| {
            Basis::documented(cite(
                doc,
                &op.raw,
                &format!("{} responses", op.operation_id),
            ))
        })
}

/// One documented response (its status, media type and schema as a whole).
pub fn of_response(doc: &Value, op: &Operation, status: u16) -> Basis {
    op.responses
        .get(&status)
        .and_then(|r| annotation(&r.raw))
        .unwrap_or_else(|| of_statuses(doc, op))
}

/// The basis of the keyword at `schema_path` (a keyword location as a validator reports it:
/// relative to `root`, or under `/components/…` of `doc`): the annotation of that keyword,
/// else the deepest whole-node annotation on the way, else the nearest model's document
/// location, else `fallback`.
pub fn of_keyword(doc: &Value, root: &Value, schema_path: &str, fallback: &Basis) -> Basis {
    let segs: Vec<String> = schema_path
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    let mut node = root;
    let mut found: Option<Basis> = annotation(node);
    let mut model: Option<(&str, &Value)> = None;
    for (i, seg) in segs.iter().enumerate() {
        if i + 1 == segs.len() {
            // The keyword itself: its own annotation on the node that holds it.
            if let Some(b) = annotation_of(node).and_then(|a| a.keyword(seg).cloned()) {
                found = Some(b);
            }
            break;
        }
        if i == 0 && seg == "components" {
            match doc.get("components") {
                Some(c) => node = c,
                None => break,
            }
            continue;
        }
        let next = match node {
            Value::Object(o) => o.get(seg),
            Value::Array(a) => seg.parse::<usize>().ok().and_then(|j| a.get(j)),
            _ => None,
        };
        let Some(next) = next else { break };
        node = next;
        if i == 2 && segs[0] == "components" && segs[1] == "schemas" {
            model = Some((seg.as_str(), node));
        }
        if let Some(b) = annotation(node) {
            found = Some(b);
        }
    }
    found
        .or_else(|| model.map(|(name, m)| Basis::documented(cite(doc, m, name))))
        .unwrap_or_else(|| fallback.clone())
}

/// What an instance location of a `schema` instance rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constraint<'k> {
    /// One keyword of the node (an invalid value breaks exactly one).
    Keyword(&'k str),
    /// All of the node's constraints (a valid value satisfies all of them).
    All,
}

/// The basis of the schema node an instance location falls on (`pointer` into an instance
/// of `schema`): the annotation of the constraint asked about, else the deepest whole-node
/// annotation on the way, else the nearest model's location, else `fallback`.
pub fn of_instance(
    doc: &Value,
    schema: &Value,
    pointer: &str,
    constraint: Constraint,
    fallback: &Basis,
) -> Basis {
    let mut w = Walk {
        doc,
        found: None,
        model: None,
    };
    let mut node = w.enter(schema);
    for seg in pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
    {
        node = w.branch(node);
        let child = node
            .get("properties")
            .and_then(|p| p.get(&seg))
            .or_else(|| node.get("items").filter(|_| seg.parse::<usize>().is_ok()));
        match child {
            Some(c) => node = w.enter(c),
            None => break,
        }
    }
    // Constraints may sit on the node or on its alternatives (a nullable bounded integer).
    let mut nodes = vec![node];
    if let Some(alts) = node
        .get("anyOf")
        .or_else(|| node.get("oneOf"))
        .and_then(Value::as_array)
    {
        nodes.extend(alts.iter().map(|a| resolve(a, doc)));
    }
    let mut own: Option<Basis> = None;
    for n in nodes {
        let Some(a) = annotation_of(n) else { continue };
        let b = match constraint {
            Constraint::Keyword(k) => a.keyword(k).cloned(),
            Constraint::All => Some(a.weakest()),
        };
        if let Some(b) = b {
            own = Some(match own {
                Some(o) => o.weakest(b),
                None => b,
            });
        }
    }
    own.or(w.found)
        .or_else(|| {
            w.model
                .map(|(name, m)| Basis::documented(cite(doc, m, name)))
        })
        .unwrap_or_else(|| fallback.clone())
}

/// A walk down a schema that remembers the deepest whole-node annotation and the last
/// model entered.
struct Walk<'a> {
    doc: &'a Value,
    found: Option<Basis>,
    model: Option<(&'a str, &'a Value)>,
}

impl<'a> Walk<'a> {
    fn note(&mut self, s: &'a Value) {
        if let Some(b) = annotation(s) {
            self.found = Some(b);
        }
    }

    /// Follow `$ref`s, noting annotations and the models they name.
    fn enter(&mut self, mut s: &'a Value) -> &'a Value {
        self.note(s);
        for _ in 0..32 {
            let Some(r) = s.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let Some(t) = r.strip_prefix('#').and_then(|p| self.doc.pointer(p)) else {
                break;
            };
            if let Some(name) = r.strip_prefix("#/components/schemas/") {
                self.model = Some((name, t));
            }
            s = t;
            self.note(s);
        }
        s
    }

    /// Inside anyOf/oneOf, the alternative that can hold children.
    fn branch(&mut self, s: &'a Value) -> &'a Value {
        let Some(alts) = s
            .get("anyOf")
            .or_else(|| s.get("oneOf"))
            .and_then(Value::as_array)
        else {
            return s;
        };
        for a in alts {
            let saved = (self.found.clone(), self.model);
            let r = self.enter(a);
            if r.get("properties").is_some() || r.get("items").is_some() {
                return r;
            }
            (self.found, self.model) = saved;
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "info": {"x-source": {"document": "ref.txt"}},
            "components": {"schemas": {
                "Req": {"type": "object", "x-kmsconform-doc": {"line": 10}, "properties": {
                    "cycle": {"type": "integer", "maximum": 730, "x-kmsconform-basis": {"maximum": "assumed: no bounds documented"}},
                    "purpose": {"type": "string", "enum": ["a"], "x-kmsconform-basis": "observed: notes §2"},
                    "name": {"type": "string", "pattern": "^[a-z]*$"},
                    "inner": {"anyOf": [{"$ref": "#/components/schemas/In"}, {"type": "null"}]}
                }},
                "In": {"type": "object", "x-kmsconform-doc": {"line": 20}, "properties": {"v": {"type": "integer"}}}
            }}
        })
    }

    #[test]
    fn instance_locations_find_the_deepest_annotation_or_their_model() {
        let d = doc();
        let s = json!({"$ref": "#/components/schemas/Req"});
        let fb = Basis::documented("fallback");
        use crate::check::basis::BasisKind::*;
        let at = |p: &str, c: Constraint| of_instance(&d, &s, p, c, &fb);
        assert_eq!(at("/cycle", Constraint::Keyword("maximum")).kind, Assumed);
        assert_eq!(
            at("/cycle", Constraint::Keyword("type")).kind,
            Documented,
            "the type is the document's"
        );
        assert_eq!(
            at("/cycle", Constraint::All).kind,
            Assumed,
            "a valid value rests on every bound"
        );
        assert_eq!(at("/purpose", Constraint::Keyword("enum")).kind, Observed);
        assert_eq!(at("/name", Constraint::All).source, "ref.txt:10 (Req)");
        assert_eq!(at("/inner/v", Constraint::All).source, "ref.txt:20 (In)");
        assert_eq!(
            of_instance(&d, &json!({"type": "string"}), "", Constraint::All, &fb),
            fb
        );
    }

    #[test]
    fn keyword_locations_resolve_through_components() {
        let d = doc();
        let root = json!({"$ref": "#/components/schemas/Req"});
        let fb = Basis::documented("fallback");
        let b = of_keyword(
            &d,
            &root,
            "/components/schemas/Req/properties/cycle/maximum",
            &fb,
        );
        assert_eq!(b.kind, crate::check::basis::BasisKind::Assumed);
        let b = of_keyword(
            &d,
            &root,
            "/components/schemas/Req/properties/cycle/type",
            &fb,
        );
        assert_eq!(b.source, "ref.txt:10 (Req)");
        let b = of_keyword(
            &d,
            &root,
            "/components/schemas/Req/properties/purpose/enum",
            &fb,
        );
        assert_eq!(b.kind, crate::check::basis::BasisKind::Observed);
        let b = of_keyword(
            &d,
            &root,
            "/components/schemas/Req/properties/name/pattern",
            &fb,
        );
        assert_eq!(b.source, "ref.txt:10 (Req)");
        assert_eq!(of_keyword(&d, &root, "/$ref", &fb), fb);
    }

    #[test]
    fn malformed_annotations_are_found() {
        let d = json!({"a": {"x-kmsconform-basis": "guessed"}, "b": [{"x-kmsconform-basis": 3}],
                       "c": {"x-kmsconform-basis": {"maximum": "assumed: fine"}}, "d": {"x-kmsconform-basis": {}}});
        let m = malformed(&d);
        assert_eq!(m.len(), 3, "{m:?}");
        assert_eq!(m[0].0, "/a/x-kmsconform-basis");
    }
}
