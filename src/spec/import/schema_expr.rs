//! The document's schema expressions (`any of [string (date-time), null]`, `array[Key]`,
//! `enum (basic, advanced)`, …) and description cells (`… Example : x Pattern : ^..$ Maximum
//! length : 100`) turned into JSON Schema 2020-12.

use serde_json::{json, Map, Value};

/// A parsed schema expression. Model references stay symbolic so they can be checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Primitive { ty: String, format: Option<String> },
    Null,
    Model(String),
    Array(Box<Expr>),
    Enum(Vec<String>),
    AnyOf(Vec<Expr>),
}

const PRIMITIVES: [&str; 5] = ["string", "integer", "number", "boolean", "object"];

pub fn parse_expr(s: &str) -> Result<Expr, String> {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix("any of [").and_then(|r| r.strip_suffix(']')) {
        let parts = split_top(inner)?;
        if parts.len() < 2 {
            return Err(format!("'any of' needs at least two alternatives in '{s}'"));
        }
        return Ok(Expr::AnyOf(
            parts
                .iter()
                .map(|p| parse_expr(p))
                .collect::<Result<_, _>>()?,
        ));
    }
    if let Some(inner) = s.strip_prefix("array[").and_then(|r| r.strip_suffix(']')) {
        return Ok(Expr::Array(Box::new(parse_expr(inner)?)));
    }
    if let Some(inner) = s.strip_prefix("enum (").and_then(|r| r.strip_suffix(')')) {
        let vals: Vec<String> = inner
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        if vals.is_empty() {
            return Err(format!("empty enum in '{s}'"));
        }
        return Ok(Expr::Enum(vals));
    }
    if s == "null" {
        return Ok(Expr::Null);
    }
    let (ty, format) = match s.split_once(" (") {
        Some((t, f)) => {
            let f = f
                .strip_suffix(')')
                .ok_or_else(|| format!("unclosed format in '{s}'"))?;
            (t.trim(), Some(f.trim().to_string()))
        }
        None => (s, None),
    };
    if PRIMITIVES.contains(&ty) {
        return Ok(Expr::Primitive {
            ty: ty.to_string(),
            format,
        });
    }
    if format.is_none()
        && !ty.is_empty()
        && ty.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && ty.starts_with(|c: char| c.is_ascii_uppercase())
    {
        return Ok(Expr::Model(ty.to_string()));
    }
    Err(format!("unrecognised schema expression '{s}'"))
}

/// Split on commas that are not inside brackets or parentheses.
fn split_top(s: &str) -> Result<Vec<String>, String> {
    let (mut out, mut cur, mut depth) = (Vec::new(), String::new(), 0i32);
    for ch in s.chars() {
        match ch {
            '[' | '(' => depth += 1,
            ']' | ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        if depth < 0 {
            return Err(format!("unbalanced brackets in '{s}'"));
        }
        cur.push(ch);
    }
    if depth != 0 {
        return Err(format!("unbalanced brackets in '{s}'"));
    }
    out.push(cur.trim().to_string());
    Ok(out)
}

impl Expr {
    pub fn to_schema(&self, ref_prefix: &str) -> Value {
        match self {
            Expr::Primitive { ty, format } => {
                let mut m = Map::new();
                m.insert("type".into(), json!(ty));
                if let Some(f) = format {
                    m.insert("format".into(), json!(f));
                }
                Value::Object(m)
            }
            Expr::Null => json!({"type": "null"}),
            Expr::Model(name) => json!({"$ref": format!("{ref_prefix}{name}")}),
            Expr::Array(items) => json!({"type": "array", "items": items.to_schema(ref_prefix)}),
            Expr::Enum(vals) => json!({"type": "string", "enum": vals}),
            Expr::AnyOf(alts) => {
                json!({"anyOf": alts.iter().map(|a| a.to_schema(ref_prefix)).collect::<Vec<_>>()})
            }
        }
    }

    pub fn models(&self, out: &mut Vec<String>) {
        match self {
            Expr::Model(n) => out.push(n.clone()),
            Expr::Array(i) => i.models(out),
            Expr::AnyOf(a) => a.iter().for_each(|e| e.models(out)),
            _ => {}
        }
    }

    /// The primitive type values of this expression take (the first non-null alternative).
    pub fn value_type(&self) -> Option<&str> {
        match self {
            Expr::Primitive { ty, .. } => Some(ty),
            Expr::Enum(_) => Some("string"),
            Expr::Array(_) => Some("array"),
            Expr::Model(_) => Some("object"),
            Expr::AnyOf(a) => a
                .iter()
                .find_map(|e| (*e != Expr::Null).then(|| e.value_type()).flatten()),
            Expr::Null => None,
        }
    }
}

/// A description cell split into its prose and its labelled facts.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct DescriptionFacts {
    pub text: String,
    /// Raw example text; Some("") when the label is printed with nothing after it.
    pub example: Option<String>,
    pub pattern: Option<String>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
}

const LABELS: [&str; 7] = [
    "Example",
    "Pattern",
    "Minimum length",
    "Maximum length",
    "Minimum",
    "Maximum",
    "Default",
];

pub fn parse_description(cell: &str) -> Result<DescriptionFacts, String> {
    // Find every " Label :" occurrence (or at the start), longest labels first so that
    // "Minimum length" is not read as "Minimum".
    let padded = format!(" {}", cell.trim());
    let mut marks: Vec<(usize, usize, &str)> = Vec::new();
    let mut i = 0;
    while i < padded.len() {
        let rest = &padded[i..];
        let hit = LABELS
            .iter()
            .copied()
            .filter(|l| rest.starts_with(&format!(" {l} :")))
            .max_by_key(|l| l.len());
        if let Some(l) = hit {
            let len = l.len() + 3;
            marks.push((i, i + len, l));
            i += len;
        } else {
            i += rest.chars().next().map(char::len_utf8).unwrap_or(1);
        }
    }
    let mut facts = DescriptionFacts {
        text: padded[..marks.first().map(|m| m.0).unwrap_or(padded.len())]
            .trim()
            .to_string(),
        ..Default::default()
    };
    for (k, &(_, end, label)) in marks.iter().enumerate() {
        let stop = marks.get(k + 1).map(|m| m.0).unwrap_or(padded.len());
        let value = padded[end..stop].trim().to_string();
        let num = |v: &str| {
            v.parse::<f64>()
                .map_err(|_| format!("'{label} : {v}' is not a number"))
        };
        match label {
            "Example" => facts.example = Some(value),
            "Pattern" => facts.pattern = Some(value),
            "Minimum length" => facts.min_length = Some(num(&value)? as u64),
            "Maximum length" => facts.max_length = Some(num(&value)? as u64),
            "Minimum" => facts.minimum = Some(num(&value)?),
            "Maximum" => facts.maximum = Some(num(&value)?),
            _ => {}
        }
    }
    Ok(facts)
}

/// Read a printed literal (`True`, `7`, `['created_at:asc']`, `None`) as a value of `ty`.
/// None when it does not read as that type.
pub fn typed_literal(raw: &str, ty: Option<&str>) -> Option<Value> {
    let raw = raw.trim();
    match ty? {
        "integer" => raw.parse::<i64>().ok().map(Value::from),
        "number" => raw.parse::<f64>().ok().map(Value::from),
        "boolean" => match raw {
            "True" | "true" => Some(json!(true)),
            "False" | "false" => Some(json!(false)),
            _ => None,
        },
        "array" | "object" => serde_json::from_str(raw)
            .ok()
            .or_else(|| serde_json::from_str(&raw.replace('\'', "\"")).ok()),
        "string" => Some(json!(raw)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions() {
        assert_eq!(
            parse_expr("any of [string (date-time), null]")
                .unwrap()
                .to_schema("#/c/"),
            json!({"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]})
        );
        assert_eq!(
            parse_expr("array[Key]").unwrap().to_schema("#/c/"),
            json!({"type": "array", "items": {"$ref": "#/c/Key"}})
        );
        assert_eq!(
            parse_expr("any of [array[string], null]")
                .unwrap()
                .to_schema("#/c/"),
            json!({"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]})
        );
        assert_eq!(
            parse_expr("enum (basic, advanced)").unwrap(),
            Expr::Enum(vec!["basic".into(), "advanced".into()])
        );
        assert!(parse_expr("any of [string").is_err());
        assert!(parse_expr("strnig (x").is_err());
        assert!(parse_expr("lowercase").is_err());
    }

    #[test]
    fn description_labels() {
        let f = parse_description("Name of key Example : testkey Pattern : ^[a-z0-9]*$ Minimum length : 3 Maximum length : 63").unwrap();
        assert_eq!(f.text, "Name of key");
        assert_eq!(f.example.as_deref(), Some("testkey"));
        assert_eq!(f.pattern.as_deref(), Some("^[a-z0-9]*$"));
        assert_eq!((f.min_length, f.max_length), (Some(3), Some(63)));
        let g = parse_description("Description of Key Example : Maximum length : 100").unwrap();
        assert_eq!(g.example.as_deref(), Some(""));
        assert_eq!(g.max_length, Some(100));
        let h = parse_description("tag key Example :").unwrap();
        assert_eq!(
            (h.text.as_str(), h.example.as_deref()),
            ("tag key", Some(""))
        );
        assert!(parse_description("x Maximum length : lots").is_err());
    }

    #[test]
    fn literals() {
        assert_eq!(typed_literal("True", Some("boolean")), Some(json!(true)));
        assert_eq!(
            typed_literal("['created_at:asc']", Some("array")),
            Some(json!(["created_at:asc"]))
        );
        assert_eq!(typed_literal("7", Some("integer")), Some(json!(7)));
        assert_eq!(
            typed_literal("Duplicate check result", Some("boolean")),
            None
        );
    }
}
