//! Open Telekom Cloud API pages (the Huawei Cloud documentation layout): a title, `Function`,
//! `URI`, `Requests` and `Responses` field tables (`Parameter | Mandatory | Type |
//! Description`, one cell per line; nested objects in further, uncaptioned tables that a
//! description refers to as "see Table N"), `Examples` with `- Example request` and
//! `- Example response` bodies (alternatives introduced by `or`), and `Status Codes`.

use super::page::{self, Columns, Example, Field, Page};
use super::ImportError;

const COLUMNS: Columns<'static> = Columns {
    name: "Parameter",
    ty: "Type",
    required: "Mandatory",
    description: "Description",
    yes: &["Yes"],
    no: &["No"],
};

pub fn parse(text: &str) -> Result<Page, ImportError> {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let at = |h: &str| lines.iter().position(|l| l.trim() == h);
    let (Some(function), Some(uri), Some(requests), Some(responses)) =
        (at("Function"), at("URI"), at("Requests"), at("Responses"))
    else {
        return Err(ImportError::at(
            1,
            "not an OTC API page: no 'Function', 'URI', 'Requests' and 'Responses' headings",
        ));
    };
    let examples = at("Examples").unwrap_or(lines.len());
    let mut p = Page {
        title: lines[..function]
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| l.trim().to_string())
            .ok_or_else(|| ImportError::at(function + 1, "no title before 'Function'"))?,
        description: lines[function + 1..uri]
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        ..Page::default()
    };
    // URI: "POST /v1.0/{project_id}/…" when printed.
    for (k, l) in lines.iter().enumerate().take(requests).skip(uri + 1) {
        if let Some((m, path)) = l.trim().split_once(' ') {
            if ["GET", "POST", "PUT", "DELETE", "PATCH"].contains(&m) && path.starts_with('/') {
                p.method = Some((m.to_lowercase(), k + 1));
                p.path = Some((path.trim().to_string(), k + 1));
            }
        }
    }

    let tables = page::tables(&lines);
    let within = |from: usize, to: usize| {
        tables
            .iter()
            .filter(move |t| t.line - 1 > from && t.line - 1 < to)
            .collect::<Vec<_>>()
    };
    for t in within(requests, responses) {
        if !COLUMNS.matches(t) {
            return Err(ImportError::at(
                t.line,
                format!("unrecognised table header {:?}", t.header),
            ));
        }
        let path_names: Vec<String> = p
            .path
            .as_ref()
            .map(|(path, _)| path_params(path))
            .unwrap_or_default();
        for f in COLUMNS.fields(t)? {
            if path_names.contains(&f.name) {
                p.path_params.push(f);
            } else {
                p.body.push(f);
            }
        }
    }
    let mut response_tables = within(responses, examples).into_iter();
    let top = response_tables
        .next()
        .ok_or_else(|| ImportError::at(responses + 1, "'Responses' without a table"))?;
    let mut rest: Vec<Vec<Field>> = Vec::new();
    for t in response_tables {
        if !COLUMNS.matches(t) {
            return Err(ImportError::at(
                t.line,
                format!("unrecognised table header {:?}", t.header),
            ));
        }
        rest.push(COLUMNS.fields(t)?);
    }
    let mut rest = rest.into_iter();
    p.response = attach_referenced(COLUMNS.fields(top)?, &mut rest)?;
    if let Some(extra) = rest.next() {
        return Err(ImportError::at(
            extra[0].line,
            "a response table no field refers to ('see Table N')",
        ));
    }

    if examples < lines.len() {
        read_examples(&lines, examples, &mut p)?;
    }
    Ok(p)
}

fn path_params(path: &str) -> Vec<String> {
    path.split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|x| x.0.to_string()))
        .collect()
}

/// Fields whose description says "see Table N" take the next table as their children.
fn attach_referenced(
    fields: Vec<Field>,
    rest: &mut impl Iterator<Item = Vec<Field>>,
) -> Result<Vec<Field>, ImportError> {
    let mut out = Vec::new();
    for mut f in fields {
        if f.description.contains("see Table") {
            let children = rest.next().ok_or_else(|| {
                ImportError::at(
                    f.line,
                    format!(
                        "field '{}' refers to a table the page does not print",
                        f.name
                    ),
                )
            })?;
            f.children = attach_referenced(children, rest)?;
        }
        out.push(f);
    }
    Ok(out)
}

/// `- Example request` / `- Example response` bodies; blocks after `or` are alternatives:
/// error bodies when their only key is `error`.
fn read_examples(lines: &[&str], from: usize, p: &mut Page) -> Result<(), ImportError> {
    #[derive(PartialEq)]
    enum Slot {
        None,
        Request,
        Response,
    }
    let mut slot = Slot::None;
    let mut k = from + 1;
    while k < lines.len() {
        let t = lines[k].trim();
        if t == "Status Codes" {
            break;
        }
        if t.starts_with("- Example request") {
            slot = Slot::Request;
        } else if t.starts_with("- Example response") {
            slot = Slot::Response;
        } else if t.starts_with(['{', '[']) && slot != Slot::None {
            let (ex, next) = page::example_at(lines, k)?;
            place(ex, slot == Slot::Request, p, k)?;
            k = next;
            continue;
        }
        k += 1;
    }
    fn place(ex: Example, request: bool, p: &mut Page, k: usize) -> Result<(), ImportError> {
        let is_error = ex
            .value
            .as_object()
            .is_some_and(|o| o.len() == 1 && o.contains_key("error"));
        if is_error {
            p.error_examples.push(ex);
        } else if request && p.request_example.is_none() {
            p.request_example = Some(ex);
        } else if !request && p.response_example.is_none() {
            p.response_example = Some(ex);
        } else {
            return Err(ImportError::at(
                k + 1,
                "a second example for the same message",
            ));
        }
        Ok(())
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_text_is_refused() {
        assert!(parse("# Some other API\nGET /foo\n").is_err());
    }

    #[test]
    fn path_parameter_names() {
        assert_eq!(
            path_params("/v1.0/{project_id}/kms/{x}"),
            ["project_id", "x"]
        );
    }
}
