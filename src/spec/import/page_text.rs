//! Reading a page's text: `|`-tables whose cells may span lines, and example bodies (strict
//! JSON, or leniently with the problem kept for `spec lint`).

use super::page::Example;
use super::ImportError;
use serde_json::Value;

/// A `|`-table: header cells and rows of cells, each row with the line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
    /// Line of the `---|` separator.
    pub line: usize,
    /// Index (0-based) of the first line after the table.
    pub end: usize,
}

fn is_separator(l: &str) -> bool {
    let t = l.trim();
    t.contains("---") && t.chars().all(|c| c == '-' || c == '|' || c == ' ')
}

fn cells_of(l: &str) -> Vec<String> {
    l.split('|')
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect()
}

/// Index of the first header line of the table whose separator is `lines[sep]`: the
/// preceding lines, read backwards until they hold as many cells as the separator columns.
fn header_start(lines: &[&str], sep: usize) -> usize {
    let cols = lines[sep].matches("---").count();
    let (mut j, mut n) = (sep, 0);
    while j > 0 && n < cols {
        j -= 1;
        n += cells_of(lines[j]).len();
    }
    j
}

/// Every table of the page. Cells may span lines (a row's cells on one line each, or a
/// description continued on the next lines); a cell ends at `|`. The header is the cells just
/// before a `---|---|` separator; rows follow until a line outside any open row has no `|`.
pub fn tables(lines: &[&str]) -> Vec<Table> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !is_separator(lines[i]) {
            i += 1;
            continue;
        }
        let cols = lines[i].matches("---").count();
        let header: Vec<String> = lines[header_start(lines, i)..i]
            .iter()
            .flat_map(|l| cells_of(l))
            .collect();
        let sep_line = i + 1;
        i += 1;
        let mut rows = Vec::new();
        let mut row: Vec<String> = Vec::new();
        let mut cell = String::new();
        let mut row_line = 0;
        while i < lines.len() {
            let l = lines[i];
            let open = !row.is_empty() || !cell.trim().is_empty();
            if !l.contains('|') && !open {
                break;
            }
            if is_separator(l) {
                // A table that follows at once: its header cells are not rows of this one.
                let start = header_start(lines, i);
                rows.retain(|(l, _)| *l <= start);
                i = start;
                break;
            }
            if !open {
                row_line = i + 1;
            }
            let mut parts = l.split('|').peekable();
            while let Some(p) = parts.next() {
                if !cell.is_empty() && !p.trim().is_empty() {
                    cell.push('\n');
                }
                cell.push_str(p.trim());
                if parts.peek().is_some() {
                    row.push(std::mem::take(&mut cell).trim().to_string());
                    if row.len() == cols {
                        rows.push((row_line, std::mem::take(&mut row)));
                        // What follows the row's last `|` on this line starts the next row.
                        row_line = i + 1;
                    }
                }
            }
            i += 1;
        }
        out.push(Table {
            header,
            rows,
            line: sep_line,
            end: i,
        });
    }
    out
}

/// Reads an example body. Strict JSON first; failing that, trailing commas before `}`/`]` are
/// dropped and the problem is kept (for `spec lint`). Anything else is an import error.
pub fn lenient_json(text: &str, line: usize) -> Result<Example, ImportError> {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => Ok(Example {
            value,
            line,
            problem: None,
        }),
        Err(strict) => {
            let (fixed, commas) = drop_trailing_commas(text);
            match serde_json::from_str::<Value>(&fixed) {
                Ok(value) if !commas.is_empty() => Ok(Example {
                    value,
                    line,
                    problem: Some(format!(
                        "not JSON: trailing comma at {}",
                        commas
                            .iter()
                            .map(|(l, c)| format!("line {}, column {c}", line + l))
                            .collect::<Vec<_>>()
                            .join("; ")
                    )),
                }),
                _ => Err(ImportError::at(
                    line,
                    format!("example body is not JSON: {strict}"),
                )),
            }
        }
    }
}

/// The text without commas that only whitespace separates from a closing bracket, and the
/// (line offset, 1-based column) of each removed comma.
fn drop_trailing_commas(text: &str) -> (String, Vec<(usize, usize)>) {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut removed = Vec::new();
    let (mut in_str, mut esc) = (false, false);
    let (mut line, mut col) = (0usize, 0usize);
    for (i, &c) in chars.iter().enumerate() {
        col += 1;
        if c == '\n' {
            line += 1;
            col = 0;
        }
        if in_str {
            out.push(c);
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        if c == '"' {
            in_str = true;
        }
        if c == ',' {
            let next = chars[i + 1..].iter().find(|n| !n.is_whitespace());
            if matches!(next, Some('}') | Some(']')) {
                removed.push((line, col));
                continue;
            }
        }
        out.push(c);
    }
    (out, removed)
}

/// The JSON value starting at `lines[start]` (which must start with `{` or `[`), spanning
/// lines until its brackets balance. Returns the example and the index after its last line.
pub fn example_at(lines: &[&str], start: usize) -> Result<(Example, usize), ImportError> {
    let mut depth = 0i32;
    let mut text = String::new();
    let (mut in_str, mut esc) = (false, false);
    for (k, l) in lines.iter().enumerate().skip(start) {
        text.push_str(l);
        text.push('\n');
        for c in l.chars() {
            if in_str {
                if esc {
                    esc = false;
                } else if c == '\\' {
                    esc = true;
                } else if c == '"' {
                    in_str = false;
                }
                continue;
            }
            match c {
                '"' => in_str = true,
                '{' | '[' => depth += 1,
                '}' | ']' => depth -= 1,
                _ => {}
            }
        }
        if depth <= 0 {
            return Ok((lenient_json(text.trim_end(), start + 1)?, k + 1));
        }
    }
    Err(ImportError::at(
        start + 1,
        "example body never closes its brackets",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_with_cells_across_lines() {
        let lines = [
            "intro",
            "A | B | C |",
            "---|---|---|",
            "x |",
            "String | first",
            "continued |",
            "y | Long | - |",
            "after",
            "P |",
            "Q |",
            "---|---|",
            "k |",
            "v:",
            "|",
            "end",
            "R |",
            "S |",
            "---|---|",
            "r1 |",
            "s1 |",
            "T |",
            "U |",
            "---|---|",
            "t1 | u1 |",
        ];
        let t = tables(&lines);
        assert_eq!(t.len(), 4);
        assert_eq!(t[2].rows, vec![(19, vec!["r1".into(), "s1".into()])]);
        assert_eq!(t[3].header, ["T", "U"]);
        assert_eq!(t[3].rows, vec![(24, vec!["t1".into(), "u1".into()])]);
        assert_eq!(t[0].header, ["A", "B", "C"]);
        assert_eq!(
            t[0].rows,
            vec![
                (
                    4,
                    vec!["x".into(), "String".into(), "first\ncontinued".into()]
                ),
                (7, vec!["y".into(), "Long".into(), "-".into()]),
            ]
        );
        assert_eq!(t[0].end, 7);
        assert_eq!(t[1].header, ["P", "Q"]);
        assert_eq!(t[1].rows, vec![(12, vec!["k".into(), "v:".into()])]);
    }

    #[test]
    fn lenient_examples() {
        let e = lenient_json(r#"{ "a": [1, 2,], "s": "x,}" , }"#, 10).unwrap();
        assert_eq!(e.value, json!({"a": [1, 2], "s": "x,}"}));
        assert!(e
            .problem
            .unwrap()
            .contains("trailing comma at line 10, column 13; line 10, column 28"));
        assert!(lenient_json(r#"{"a": 1}"#, 1).unwrap().problem.is_none());
        assert!(lenient_json(r#"{"a": }"#, 3).is_err());
    }
}
