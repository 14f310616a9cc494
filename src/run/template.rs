//! `{{name}}` substitution in suite values. A string that is exactly `{{name}}` takes the
//! bound value with its JSON type; inside a longer string the value is spliced as text.

use serde_json::Value;
use std::collections::BTreeMap;

pub type Bindings = BTreeMap<String, Value>;

pub fn render(v: &Value, b: &Bindings) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => render_str(s, b)?,
        Value::Array(a) => Value::Array(a.iter().map(|x| render(x, b)).collect::<Result<_, _>>()?),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| Ok((k.clone(), render(x, b)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

pub fn render_str(s: &str, b: &Bindings) -> Result<Value, String> {
    if let Some(name) = s.strip_prefix("{{").and_then(|r| r.strip_suffix("}}")) {
        if !name.contains("{{") {
            return lookup(name.trim(), b).cloned();
        }
    }
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let j = after
            .find("}}")
            .ok_or_else(|| format!("unclosed '{{{{' in '{s}'"))?;
        let v = lookup(after[..j].trim(), b)?;
        match v {
            Value::String(x) => out.push_str(x),
            other => out.push_str(&other.to_string()),
        }
        rest = &after[j + 2..];
    }
    out.push_str(rest);
    Ok(Value::String(out))
}

pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every `{{name}}` a value uses (in strings and object keys).
pub fn names_used(v: &Value, out: &mut std::collections::BTreeSet<String>) {
    match v {
        Value::String(s) => names_in(s, out),
        Value::Array(a) => a.iter().for_each(|x| names_used(x, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            names_in(k, out);
            names_used(x, out)
        }),
        _ => {}
    }
}

/// Every `{{name}}` in a string.
pub fn names_in(s: &str, out: &mut std::collections::BTreeSet<String>) {
    let mut rest = s;
    while let Some(i) = rest.find("{{") {
        let after = &rest[i + 2..];
        let Some(j) = after.find("}}") else { return };
        out.insert(after[..j].trim().to_string());
        rest = &after[j + 2..];
    }
}

fn lookup<'a>(name: &str, b: &'a Bindings) -> Result<&'a Value, String> {
    b.get(name)
        .ok_or_else(|| format!("unbound variable '{{{{{name}}}}}'"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn whole_and_spliced() {
        let mut b = Bindings::new();
        b.insert("v".into(), json!(3));
        b.insert("id".into(), json!("abc"));
        assert_eq!(render(&json!("{{v}}"), &b).unwrap(), json!(3));
        assert_eq!(
            render(&json!({"p": "^vault:v{{v}}:", "k": ["{{id}}"]}), &b).unwrap(),
            json!({"p": "^vault:v3:", "k": ["abc"]})
        );
        assert!(render(&json!("{{nope}}"), &b).is_err());
    }

    #[test]
    fn names_are_found_in_strings_and_keys() {
        let mut out = std::collections::BTreeSet::new();
        names_used(
            &json!({"{{k}}": ["a{{x}}b{{ y }}", 1, {"z": "{{z}}"}], "w": "{{"}),
            &mut out,
        );
        let got: Vec<&str> = out.iter().map(String::as_str).collect();
        assert_eq!(got, ["k", "x", "y", "z"]);
    }
}
