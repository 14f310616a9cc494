//! Text for people: the one place where expectations and observations become sentences,
//! plus the escaping shared by the XML-based formats.

use super::Totals;
use crate::check::{Actual, Expected};
use crate::run::record::Finding;
use serde_json::Value;

/// Escapes markup characters and drops characters XML 1.0 cannot carry (most C0 controls),
/// which a hostile response body may contain.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn value(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 200 {
        format!("{}…", s.chars().take(200).collect::<String>())
    } else {
        s
    }
}

fn statuses(list: &[u16]) -> String {
    match list {
        [one] => format!("status {one}"),
        many => format!(
            "status one of {}",
            many.iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

pub fn expected(e: &Expected) -> String {
    match e {
        Expected::Response => "a response".into(),
        Expected::StatusBelow500 => "a status below 500".into(),
        Expected::StatusIn { statuses: s } => statuses(s),
        Expected::StatusClass { class: 2 } => "2xx for a request that satisfies the spec".into(),
        Expected::StatusClass { class: 4 } => "4xx for a request that violates the spec".into(),
        Expected::StatusClass { class } => format!("{class}xx"),
        Expected::NotAccepted => "a refusal (4xx) of a request without valid credentials".into(),
        Expected::NoBody => "no body for 204".into(),
        Expected::ContentType { media_type } => media_type.clone(),
        Expected::JsonBody => "a JSON body".into(),
        Expected::SchemaValid => "a body valid against the documented schema".into(),
        Expected::DocumentedFieldsOnly => "only the fields this version documents".into(),
        Expected::Equals { pointer, value: v } => format!("{pointer} = {}", value(v)),
        Expected::NotEquals { pointer, value: v } => format!("{pointer} ≠ {}", value(v)),
        Expected::Matches { pointer, pattern } => format!("{pointer} matches {pattern}"),
        Expected::Present { pointer } => format!("{pointer} present"),
        Expected::Absent { pointer } => format!("{pointer} absent"),
        Expected::Total { pointer, total } => {
            format!("{pointer} = {total} (the total, on every page)")
        }
        Expected::PageLength { page, items } => format!("{items} item(s) on page {page}"),
        Expected::EveryContains { field, needle } => format!("every {field} contains '{needle}'"),
        Expected::NoRepeats => "no item on two pages".into(),
        Expected::Ordered { field, descending } => format!(
            "items ordered by {field} {}",
            if *descending { "desc" } else { "asc" }
        ),
        Expected::ItemsOverAllPages { total } => format!("{total} distinct item(s) over all pages"),
        Expected::ResponseTime { max_ms } => format!("a response within {max_ms} ms"),
        Expected::Snapshot { path } => format!("the recorded snapshot {path}"),
        Expected::DeclaredDifferencesOnly => "only the differences versions.json declares".into(),
        Expected::LikeBaseline { location } => format!("{location} as on the baseline"),
        Expected::Described { text } => text.clone(),
    }
}

pub fn actual(a: &Actual) -> String {
    match a {
        Actual::Transport { error } => error.clone(),
        Actual::Status { status, body } => match body {
            None => status.to_string(),
            Some(Value::String(s)) => format!("{status}: {s}"),
            Some(b) => format!("{status}: {}", value(b)),
        },
        Actual::Value {
            pointer,
            value: None,
        } => format!("{pointer} absent"),
        Actual::Value {
            pointer,
            value: Some(v),
        } => format!("{pointer} = {}", value(v)),
        Actual::Values { field, values } => format!(
            "{field}: [{}]",
            values.iter().map(value).collect::<Vec<_>>().join(", ")
        ),
        Actual::ContentType { media_type: None } => "no Content-Type".into(),
        Actual::ContentType {
            media_type: Some(m),
        } => m.clone(),
        Actual::BodyBytes { bytes } => format!("{bytes} bytes"),
        Actual::NotJson {
            truncated: true,
            excerpt,
        } => {
            format!("body exceeds the response size cap: {excerpt}")
        }
        Actual::NotJson { excerpt, .. } => format!("body is not JSON: {excerpt}"),
        Actual::SchemaErrors { errors } => errors
            .iter()
            .map(|e| {
                format!(
                    "{}: {}",
                    if e.pointer.is_empty() {
                        "/"
                    } else {
                        &e.pointer
                    },
                    e.message
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        Actual::UndocumentedFields { pointers } => {
            format!("undocumented field(s): {}", pointers.join(", "))
        }
        Actual::Count { n } => format!("{n}"),
        Actual::Repeated { id } => format!("id {} repeated", value(id)),
        Actual::ResponseTime { ms } => format!("{ms} ms"),
        Actual::Diff { diff } => diff.clone(),
        Actual::Described { text } => text.clone(),
    }
}

/// One line naming the finding.
pub fn title(f: &Finding) -> String {
    format!(
        "{} {} on {} ({}): {}",
        f.check,
        if f.advisory { "advisory" } else { "failed" },
        f.operation,
        f.version,
        f.label
    )
}

/// The run's numbers as one sentence, the same in every format:
/// `130 failures, 31 advisories (49 + 17 distinct)`.
pub fn totals(t: &Totals) -> String {
    format!(
        "{} failure{}, {} advisor{} ({} + {} distinct)",
        t.failures,
        if t.failures == 1 { "" } else { "s" },
        t.advisories,
        if t.advisories == 1 { "y" } else { "ies" },
        t.distinct_failures,
        t.distinct_advisories
    )
}

/// `[basis] source`, e.g. `[assumed] the document gives no bounds`.
pub fn basis(f: &Finding) -> String {
    format!("[{}] {}", f.basis.kind, f.basis.source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_replaces_control_characters() {
        assert_eq!(
            xml_escape("<a href=\"x\">&'\u{1}\n"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;\u{FFFD}\n"
        );
    }

    #[test]
    fn sentences() {
        assert_eq!(
            expected(&Expected::StatusIn {
                statuses: vec![201]
            }),
            "status 201"
        );
        assert_eq!(
            actual(&Actual::Value {
                pointer: "/a".into(),
                value: None
            }),
            "/a absent"
        );
        let t = Totals {
            failures: 1,
            advisories: 3,
            distinct_failures: 1,
            distinct_advisories: 2,
            ..Totals::default()
        };
        assert_eq!(totals(&t), "1 failure, 3 advisories (1 + 2 distinct)");
    }
}
