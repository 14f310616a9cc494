//! Where the document omits a schema (no Responses table, no body parameter) but prints an
//! example, find the model the example is an instance of. The choice is recorded in the spec
//! (`x-kmsconform-inferred`) and reported by `spec lint`, never silent.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// How well `value` fits `schema`: None when some key is undeclared, a required property is
/// missing or a primitive has the wrong JSON type; otherwise the number of required
/// properties matched (a more specific model matches more).
pub fn fit(schema: &Value, value: &Value, models: &Map<String, Value>) -> Option<usize> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next()?;
        return fit(models.get(name)?, value, models);
    }
    if let Some(alts) = schema.get("anyOf").and_then(Value::as_array) {
        return alts.iter().filter_map(|a| fit(a, value, models)).max();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("null") => value.is_null().then_some(0),
        Some("array") => {
            let items = value.as_array()?;
            let item_schema = schema.get("items")?;
            items.iter().map(|i| fit(item_schema, i, models)).sum()
        }
        Some("object") | None if schema.get("properties").is_some() => {
            let obj = value.as_object()?;
            let props = schema.get("properties")?.as_object()?;
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if obj.keys().any(|k| !props.contains_key(k))
                || required.iter().any(|r| !obj.contains_key(*r))
            {
                return None;
            }
            let mut score = required.len();
            for (k, v) in obj {
                score += fit(&props[k], v, models)?;
            }
            Some(score)
        }
        Some("string") => value.is_string().then_some(0),
        Some("integer") => (value.is_i64() || value.is_u64()).then_some(0),
        Some("number") => value.is_number().then_some(0),
        Some("boolean") => value.is_boolean().then_some(0),
        _ => Some(0),
    }
}

/// Lower-case words of a CamelCase model name or a title, singular.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in s.chars() {
        if ch.is_ascii_uppercase() && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        if ch.is_ascii_alphanumeric() {
            cur.push(ch.to_ascii_lowercase());
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out.into_iter()
        .map(|w| {
            w.strip_suffix('s')
                .filter(|s| s.len() > 2)
                .map(str::to_string)
                .unwrap_or(w)
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct Inference {
    pub model: String,
    pub candidates: Vec<String>,
}

/// The model `example` is an instance of, ranked by (fits, words shared with the operation
/// title, specificity). Err when nothing fits or the best two tie. Every model of `models`
/// resolves references; those in `excluded` (name → why) are never the answer.
pub fn infer_model(
    example: &Value,
    title: &str,
    models: &Map<String, Value>,
    excluded: &BTreeMap<String, String>,
) -> Result<Inference, String> {
    let title_words = words(title);
    let mut ranked: Vec<(usize, usize, &String)> = models
        .iter()
        .filter(|(name, _)| !excluded.contains_key(*name))
        .filter_map(|(name, schema)| {
            let score = fit(schema, example, models)?;
            let shared = words(name)
                .iter()
                .filter(|w| title_words.contains(w))
                .count();
            Some((shared, score, name))
        })
        .collect();
    ranked.sort_by(|a, b| (b.0, b.1).cmp(&(a.0, a.1)).then(a.2.cmp(b.2)));
    let candidates: Vec<String> = ranked.iter().map(|r| r.2.clone()).collect();
    match ranked.as_slice() {
        [] => Err("no model of the document fits the example".into()),
        [a, b, ..] if (a.0, a.1) == (b.0, b.1) => Err(format!(
            "the example fits models {} and {} equally well; pin one in the overlay's responseModels",
            a.2, b.2
        )),
        [best, ..] => Ok(Inference { model: best.2.clone(), candidates }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn models() -> Map<String, Value> {
        json!({
            "Key": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
            "KeyV2": {"type": "object", "properties": {"id": {"type": "string"}, "kind": {"anyOf": [{"type": "string"}, {"type": "null"}]}}, "required": ["id", "kind"]},
            "ShowResponse": {"type": "object", "properties": {"key": {"$ref": "#/c/Key"}}, "required": ["key"]},
            "ShowResponseV2": {"type": "object", "properties": {"key": {"$ref": "#/c/KeyV2"}}, "required": ["key"]},
        })
        .as_object()
        .unwrap()
        .clone()
    }

    #[test]
    fn picks_the_model_whose_fields_match_recursively() {
        let m = models();
        let none = BTreeMap::new();
        let inf = infer_model(
            &json!({"key": {"id": "a", "kind": "user"}}),
            "Show Key",
            &m,
            &none,
        )
        .unwrap();
        assert_eq!(inf.model, "ShowResponseV2");
        let inf = infer_model(&json!({"key": {"id": "a"}}), "Show Key", &m, &none).unwrap();
        assert_eq!(inf.model, "ShowResponse");
    }

    #[test]
    fn excluded_models_are_never_the_answer_but_still_resolve() {
        let m = models();
        let excluded = BTreeMap::from([("ShowResponseV2".to_string(), "later".to_string())]);
        let ex = json!({"key": {"id": "a", "kind": "user"}});
        assert!(
            infer_model(&ex, "Show Key", &m, &excluded).is_err(),
            "only V2 fits"
        );
        let excluded = BTreeMap::from([("KeyV2".to_string(), "later".to_string())]);
        let inf = infer_model(&ex, "Show Key", &m, &excluded).unwrap();
        assert_eq!(inf.model, "ShowResponseV2", "KeyV2 resolves inside it");
        assert!(!inf.candidates.contains(&"KeyV2".to_string()));
    }

    #[test]
    fn nothing_fits_is_an_error() {
        assert!(infer_model(
            &json!({"other": 1}),
            "Show Key",
            &models(),
            &BTreeMap::new()
        )
        .is_err());
    }

    #[test]
    fn words_split_camel_case_and_plurals() {
        assert_eq!(
            words("ManagedKeyPageResponse"),
            ["managed", "key", "page", "response"]
        );
        assert_eq!(words("List Managed Keys"), ["list", "managed", "key"]);
    }
}
