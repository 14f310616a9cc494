//! Parser for the vendor's printable API reference layout.
//!
//! The layout (SCP product pages): a title line, an "Overview", a "Version" table, an
//! "OpenAPI URL" line, an environment/region table, then "1 - APIs" with one section
//! "1.N - Title" per operation and one sub-section "1.N.M - X.Y" per API version, then
//! "2 - Models" with one table per model. Nothing here knows about KMS.

use super::ImportError;
use serde_json::Value;

/// One line of the document, with its 1-based number for error messages.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    no: usize,
    text: &'a str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VersionRow {
    pub version: String,
    pub status: String,
    /// `YYYYMMDD` as printed, or None for "-".
    pub not_before: Option<String>,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct ParamDoc {
    pub location: String,
    pub name: String,
    pub required: bool,
    pub description: String,
    /// Schema expression as printed (e.g. `any of [integer, null]`, or a model name for bodies).
    pub schema: String,
    /// Default column as printed; None when empty.
    pub default: Option<String>,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct ResponseDoc {
    pub status: u16,
    pub description: String,
    /// Model name, or None when the document prints "None".
    pub schema: Option<String>,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct ExampleResponse {
    pub status: u16,
    pub body: Option<Value>,
    /// What had to be repaired for the body to parse (None: strict JSON).
    pub repaired: Option<String>,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct OperationVersionDoc {
    pub section: String,
    pub version: String,
    pub method: String,
    pub path: String,
    pub description: String,
    pub state: String,
    pub params: Vec<ParamDoc>,
    /// None when the document has no Responses table for this version.
    pub responses: Option<Vec<ResponseDoc>>,
    pub example_path: Option<String>,
    pub example_headers: Vec<(String, String)>,
    /// `Some(None)`: the document has a "Request body" heading with no body under it.
    pub example_request: Option<Option<Value>>,
    /// What had to be repaired for the request example to parse (None: strict JSON).
    pub example_request_repaired: Option<String>,
    pub example_responses: Vec<ExampleResponse>,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct OperationDoc {
    pub section: String,
    pub title: String,
    pub versions: Vec<OperationVersionDoc>,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct FieldDoc {
    pub name: String,
    pub required: bool,
    pub description: String,
    pub schema: String,
    pub default: Option<String>,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct ModelDoc {
    pub name: String,
    pub fields: Vec<FieldDoc>,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct VendorDoc {
    pub title: String,
    pub overview: String,
    pub versions: Vec<VersionRow>,
    pub url_template: String,
    /// (environment, region) rows.
    pub regions: Vec<(String, String)>,
    pub operations: Vec<OperationDoc>,
    pub models: Vec<ModelDoc>,
}

const HTTP_METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];

pub fn parse(text: &str) -> Result<VendorDoc, ImportError> {
    let lines: Vec<Line> = text
        .lines()
        .enumerate()
        .map(|(i, t)| Line {
            no: i + 1,
            text: t.trim_end(),
        })
        .collect();
    let mut p = Parser { lines, pos: 0 };
    p.document()
}

struct Parser<'a> {
    lines: Vec<Line<'a>>,
    pos: usize,
}

/// Section heading `1.4.2 - 1.2` → (["1","4","2"], "1.2").
fn heading(text: &str) -> Option<(Vec<&str>, &str)> {
    let (num, rest) = text.split_once(" - ")?;
    let parts: Vec<&str> = num.split('.').collect();
    if parts
        .iter()
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        Some((parts, rest.trim()))
    } else {
        None
    }
}

fn is_version_label(s: &str) -> bool {
    let mut it = s.split('.');
    matches!((it.next(), it.next(), it.next()), (Some(a), Some(b), None)
        if !a.is_empty() && !b.is_empty() && a.bytes().all(|c| c.is_ascii_digit()) && b.bytes().all(|c| c.is_ascii_digit()))
}

/// Cells of a `| a | b | c |` row; a row may also omit its trailing pipe.
fn cells(text: &str) -> Vec<String> {
    let t = text.trim();
    let t = t.strip_prefix('|').unwrap_or(t);
    let t = t.strip_suffix('|').unwrap_or(t);
    t.split(" | ")
        .map(|c| c.trim().trim_matches('|').trim().to_string())
        .collect()
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<Line<'a>> {
        self.lines.get(self.pos).copied()
    }
    fn next(&mut self) -> Option<Line<'a>> {
        let l = self.peek();
        self.pos += 1;
        l
    }
    fn last_line_no(&self) -> usize {
        self.lines.last().map(|l| l.no).unwrap_or(0)
    }
    fn err(&self, line: usize, msg: impl Into<String>) -> ImportError {
        ImportError::at(line, msg)
    }
    fn skip_blank(&mut self) {
        while matches!(self.peek(), Some(l) if l.text.trim().is_empty()) {
            self.pos += 1;
        }
    }
    /// Next non-blank line, or a "truncated" error mentioning what was expected.
    fn expect_line(&mut self, what: &str) -> Result<Line<'a>, ImportError> {
        self.skip_blank();
        self.next().ok_or_else(|| {
            self.err(
                self.last_line_no(),
                format!("document ends early: expected {what}"),
            )
        })
    }
    fn expect_exact(&mut self, want: &str) -> Result<Line<'a>, ImportError> {
        let l = self.expect_line(&format!("'{want}'"))?;
        if l.text.trim() == want {
            Ok(l)
        } else {
            Err(self.err(
                l.no,
                format!("expected '{want}', found '{}'", l.text.trim()),
            ))
        }
    }
    fn at(&mut self, want: &str) -> bool {
        self.skip_blank();
        matches!(self.peek(), Some(l) if l.text.trim() == want)
    }

    fn document(&mut self) -> Result<VendorDoc, ImportError> {
        // A foreign document is recognised early, before anything else is attempted.
        if !self.lines.iter().any(|l| l.text.trim() == "1 - APIs") {
            return Err(self.err(
                1,
                "not a vendor API reference: no '1 - APIs' section (expected the printable OpenAPI reference layout)",
            ));
        }
        let title = self
            .expect_line("the service title")?
            .text
            .trim()
            .to_string();
        self.expect_exact("Overview")?;
        let mut overview = Vec::new();
        while !self.at("Version") {
            let l = self.expect_line("'Version'")?;
            overview.push(l.text.trim());
        }
        self.next();
        let versions = self.version_table()?;
        self.expect_exact("OpenAPI URL")?;
        let url_template = self
            .expect_line("the OpenAPI URL template")?
            .text
            .trim()
            .to_string();
        let mut regions = Vec::new();
        if self.at("Environment and Region List") {
            self.next();
            for row in self.table(&["environment", "region"])? {
                let (no, c) = row;
                if c.len() != 2 {
                    return Err(self.err(no, "malformed environment/region row: expected 2 cells"));
                }
                regions.push((c[0].clone(), c[1].clone()));
            }
        }
        self.expect_exact("1 - APIs")?;
        let mut operations = Vec::new();
        loop {
            self.skip_blank();
            let Some(l) = self.peek() else {
                return Err(self.err(
                    self.last_line_no(),
                    "document ends early: no '2 - Models' section",
                ));
            };
            if l.text.trim() == "2 - Models" {
                self.next();
                break;
            }
            operations.push(self.operation()?);
        }
        let mut models = Vec::new();
        loop {
            self.skip_blank();
            if self.peek().is_none() {
                break;
            }
            models.push(self.model()?);
        }
        if operations.is_empty() {
            return Err(self.err(1, "the '1 - APIs' section holds no operation"));
        }
        Ok(VendorDoc {
            title,
            overview: overview.join("\n"),
            versions,
            url_template,
            regions,
            operations,
            models,
        })
    }

    /// A `| h1 | h2 |` header, a `|---|` rule, then rows until a line that is not a row.
    /// Returns (line number, cells) per row.
    fn table(&mut self, header: &[&str]) -> Result<Vec<(usize, Vec<String>)>, ImportError> {
        let h = self.expect_line("a table header")?;
        let got = cells(h.text);
        let want: Vec<String> = header.iter().map(|s| s.to_string()).collect();
        if got != want {
            return Err(self.err(
                h.no,
                format!(
                    "expected table header {:?}, found '{}'",
                    header,
                    h.text.trim()
                ),
            ));
        }
        let rule = self.expect_line("a table rule '|---|'")?;
        if !rule.text.trim().starts_with("|-") {
            return Err(self.err(
                rule.no,
                format!("expected table rule '|---|', found '{}'", rule.text.trim()),
            ));
        }
        let mut rows = Vec::new();
        while let Some(l) = self.peek() {
            if !l.text.trim_start().starts_with('|') {
                break;
            }
            self.next();
            rows.push((l.no, cells(l.text)));
        }
        Ok(rows)
    }

    fn version_table(&mut self) -> Result<Vec<VersionRow>, ImportError> {
        // The Version heading may be followed by a prose line before the table.
        self.skip_blank();
        while matches!(self.peek(), Some(l) if !l.text.trim_start().starts_with('|')) {
            self.next();
            self.skip_blank();
        }
        let rows = self.table(&["Version", "Status", "Not Before"])?;
        let mut out = Vec::new();
        for (no, c) in rows {
            if c.len() != 3 || !is_version_label(&c[0]) {
                return Err(self.err(
                    no,
                    "malformed version row: expected '| X.Y | STATUS | YYYYMMDD or - |'",
                ));
            }
            let nb = match c[2].as_str() {
                "-" | "" => None,
                d if d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()) => Some(d.to_string()),
                d => {
                    return Err(self.err(
                        no,
                        format!("malformed Not Before date '{d}': expected YYYYMMDD or -"),
                    ))
                }
            };
            out.push(VersionRow {
                version: c[0].clone(),
                status: c[1].clone(),
                not_before: nb,
                line: no,
            });
        }
        if out.is_empty() {
            return Err(self.err(self.last_line_no(), "the Version table has no rows"));
        }
        Ok(out)
    }

    fn operation(&mut self) -> Result<OperationDoc, ImportError> {
        let h = self.expect_line("an operation heading '1.N - Title'")?;
        let Some((num, title)) = heading(h.text.trim()) else {
            return Err(self.err(
                h.no,
                format!(
                    "expected an operation heading '1.N - Title', found '{}'",
                    h.text.trim()
                ),
            ));
        };
        if num.len() != 2 || num[0] != "1" {
            return Err(self.err(
                h.no,
                format!(
                    "expected an operation heading '1.N - Title', found '{}'",
                    h.text.trim()
                ),
            ));
        }
        let section = num.join(".");
        let mut versions = Vec::new();
        loop {
            self.skip_blank();
            let Some(l) = self.peek() else { break };
            match heading(l.text.trim()) {
                Some((n, v)) if n.len() == 3 && n[..2] == num[..] && is_version_label(v) => {
                    versions.push(self.operation_version(&n.join("."), v)?);
                }
                _ => break,
            }
        }
        if versions.is_empty() {
            return Err(self.err(
                h.no,
                format!("operation '{title}' has no version sub-section '{section}.1 - X.Y'"),
            ));
        }
        Ok(OperationDoc {
            section,
            title: title.to_string(),
            versions,
            line: h.no,
        })
    }

    fn operation_version(
        &mut self,
        section: &str,
        version: &str,
    ) -> Result<OperationVersionDoc, ImportError> {
        let h = self.next().expect("caller peeked the heading");
        let m = self.expect_line("'<method> <path>'")?;
        let (method, path) = m
            .text
            .trim()
            .split_once(' ')
            .filter(|(meth, p)| HTTP_METHODS.contains(meth) && p.starts_with('/'))
            .ok_or_else(|| {
                self.err(
                    m.no,
                    format!(
                        "expected '<method> <path>' (e.g. 'get /v1/...'), found '{}'",
                        m.text.trim()
                    ),
                )
            })?;
        self.expect_exact("Description")?;
        let mut description = Vec::new();
        while !self.at("State") {
            let l = self.expect_line("'State'")?;
            description.push(l.text.trim());
        }
        self.next();
        let state = self
            .expect_line("the operation state")?
            .text
            .trim()
            .to_string();
        // Optional deprecation prose and per-version Not Before table: informational only,
        // the top-level Version table is authoritative.
        while !self.at("Parameters") {
            let l = self.expect_line("'Parameters'")?;
            if l.text.trim() == "| Version | Not Before |" {
                self.pos -= 1;
                self.table(&["Version", "Not Before"])?;
            }
        }
        self.next();
        let params = self.parameters()?;
        self.expect_exact("Responses")?;
        let responses = if matches!(self.peek(), Some(l) if l.text.trim_start().starts_with('|')) {
            Some(self.responses()?)
        } else {
            None
        };
        let mut op = OperationVersionDoc {
            section: section.to_string(),
            version: version.to_string(),
            method: method.to_string(),
            path: path.to_string(),
            description: description.join("\n"),
            state,
            params,
            responses,
            example_path: None,
            example_headers: Vec::new(),
            example_request: None,
            example_request_repaired: None,
            example_responses: Vec::new(),
            line: h.no,
        };
        self.examples(&mut op)?;
        Ok(op)
    }

    fn parameters(&mut self) -> Result<Vec<ParamDoc>, ImportError> {
        self.skip_blank();
        if !matches!(self.peek(), Some(l) if l.text.trim_start().starts_with('|')) {
            return Ok(Vec::new());
        }
        let h = self.expect_line("a parameter table")?;
        if cells(h.text) != ["Type", "Name", "Description", "Schema", "Default"] {
            return Err(self.err(
                h.no,
                format!("expected parameter table header, found '{}'", h.text.trim()),
            ));
        }
        self.expect_line("a table rule")?;
        let mut out = Vec::new();
        while let Some(l) = self.peek() {
            let t = l.text.trim();
            if !t.starts_with('|') {
                break;
            }
            self.next();
            // First physical line: | location | name required|optional | description...
            let first = cells(t);
            if first.len() < 2 {
                return Err(self.err(l.no, format!("malformed parameter row '{t}'")));
            }
            let (name, required) = name_and_presence(&first[1]).ok_or_else(|| {
                self.err(
                    l.no,
                    format!(
                        "malformed parameter name cell '{}': expected '<name> required|optional'",
                        first[1]
                    ),
                )
            })?;
            let mut description = first.get(2).cloned().unwrap_or_default();
            // Second physical line: | schema | default |  (descriptions may wrap before it)
            let second = loop {
                let n = self.next().ok_or_else(|| {
                    self.err(
                        l.no,
                        format!("parameter '{name}': document ends before its schema row"),
                    )
                })?;
                if n.text.trim_start().starts_with('|') {
                    break n;
                }
                description.push(' ');
                description.push_str(n.text.trim());
            };
            let c = cells(second.text);
            if c.is_empty() || c[0].is_empty() {
                return Err(self.err(
                    second.no,
                    format!(
                        "parameter '{name}': malformed schema row '{}'",
                        second.text.trim()
                    ),
                ));
            }
            out.push(ParamDoc {
                location: first[0].clone(),
                name,
                required,
                description: description.trim().to_string(),
                schema: c[0].clone(),
                default: c.get(1).filter(|d| !d.is_empty()).cloned(),
                line: l.no,
            });
        }
        Ok(out)
    }

    fn responses(&mut self) -> Result<Vec<ResponseDoc>, ImportError> {
        let rows = self.table(&["HTTP Code", "Description", "Schema"])?;
        let mut out = Vec::new();
        for (no, c) in rows {
            if c.len() != 3 {
                return Err(self.err(
                    no,
                    "malformed response row: expected '| code | description | schema |'",
                ));
            }
            let status: u16 = c[0]
                .parse()
                .ok()
                .filter(|s| (100..600).contains(s))
                .ok_or_else(|| self.err(no, format!("malformed HTTP status '{}'", c[0])))?;
            let schema = match c[2].as_str() {
                "None" | "" => None,
                s => Some(s.to_string()),
            };
            out.push(ResponseDoc {
                status,
                description: c[1].clone(),
                schema,
                line: no,
            });
        }
        Ok(out)
    }

    fn examples(&mut self, op: &mut OperationVersionDoc) -> Result<(), ImportError> {
        self.expect_exact("Example HTTP request")?;
        self.expect_exact("Request path")?;
        op.example_path = Some(
            self.expect_line("the example request path")?
                .text
                .trim()
                .to_string(),
        );
        // Header lines: "Name = value",
        while let Some(l) = self.peek() {
            let t = l.text.trim();
            let Some(inner) = t.strip_prefix('"') else {
                break;
            };
            self.next();
            let inner = inner.trim_end_matches(',').trim_end_matches('"');
            let (k, v) = inner.split_once(" = ").ok_or_else(|| {
                self.err(
                    l.no,
                    format!("malformed example header '{t}': expected \"Name = value\""),
                )
            })?;
            op.example_headers
                .push((k.trim().to_string(), v.trim().to_string()));
        }
        if self.at("Request body") {
            self.next();
            let (body, repaired) = self.json_block()?;
            op.example_request = Some(body);
            op.example_request_repaired = repaired;
        }
        self.expect_exact("Example HTTP response")?;
        loop {
            self.skip_blank();
            let Some(l) = self.peek() else { break };
            let Some(code) = l.text.trim().strip_prefix("Response ") else {
                break;
            };
            self.next();
            let status: u16 = code.trim().parse().map_err(|_| {
                self.err(l.no, format!("malformed example response status '{code}'"))
            })?;
            let (body, repaired) = self.json_block()?;
            op.example_responses.push(ExampleResponse {
                status,
                body,
                repaired,
                line: l.no,
            });
        }
        Ok(())
    }

    /// A JSON value printed over several lines, if the next non-blank line opens one, with
    /// what had to be repaired for it to parse (see [`lenient_json`]).
    fn json_block(&mut self) -> Result<(Option<Value>, Option<String>), ImportError> {
        self.skip_blank();
        let Some(start) = self.peek() else {
            return Ok((None, None));
        };
        let t = start.text.trim_start();
        if !(t.starts_with('{') || t.starts_with('[')) {
            return Ok((None, None));
        }
        let mut buf = String::new();
        let (mut depth, mut in_str, mut esc) = (0i64, false, false);
        loop {
            let l = self.next().ok_or_else(|| {
                self.err(
                    start.no,
                    "example JSON is not closed before the document ends",
                )
            })?;
            for ch in l.text.chars() {
                if in_str {
                    match ch {
                        _ if esc => esc = false,
                        '\\' => esc = true,
                        '"' => in_str = false,
                        _ => {}
                    }
                } else {
                    match ch {
                        '"' => in_str = true,
                        '{' | '[' => depth += 1,
                        '}' | ']' => depth -= 1,
                        _ => {}
                    }
                }
            }
            buf.push_str(l.text);
            buf.push('\n');
            if depth <= 0 && !in_str {
                break;
            }
        }
        let (value, repairs) = lenient_json(&buf, start.no).map_err(|(line, e)| {
            self.err(
                line,
                format!("example JSON does not parse, even leniently: {e}"),
            )
        })?;
        Ok((
            Some(value),
            (!repairs.is_empty()).then(|| repairs.join("; ")),
        ))
    }

    fn model(&mut self) -> Result<ModelDoc, ImportError> {
        let h = self.expect_line("a model heading '2.N - Name'")?;
        let name = match heading(h.text.trim()) {
            Some((n, name)) if n.len() == 2 && n[0] == "2" && !name.is_empty() => name.to_string(),
            _ => {
                return Err(self.err(
                    h.no,
                    format!(
                        "expected a model heading '2.N - Name', found '{}'",
                        h.text.trim()
                    ),
                ))
            }
        };
        let th = self.expect_line("a model table header")?;
        if cells(th.text) != ["Name", "Description", "Schema", "Default"] {
            return Err(self.err(th.no, format!("model '{name}': expected table header '| Name | Description | Schema | Default |', found '{}'", th.text.trim())));
        }
        self.expect_line("a table rule")?;
        let mut fields = Vec::new();
        loop {
            self.skip_blank();
            let Some(l) = self.peek() else { break };
            let t = l.text.trim();
            if heading(t).is_some() {
                break;
            }
            self.next();
            let (name_cell, desc) = t
                .split_once(" |")
                .map(|(a, b)| (a, b.trim()))
                .unwrap_or((t, ""));
            let (fname, required) = name_and_presence(name_cell).ok_or_else(|| {
                self.err(l.no, format!("model '{name}': malformed field row '{t}': expected '<field> required|optional | description'"))
            })?;
            let mut description = desc.to_string();
            let second = loop {
                let n = self.next().ok_or_else(|| {
                    self.err(
                        l.no,
                        format!(
                            "model '{name}', field '{fname}': document ends before its schema row"
                        ),
                    )
                })?;
                if n.text.trim_start().starts_with('|') {
                    break n;
                }
                if heading(n.text.trim()).is_some() {
                    return Err(self.err(n.no, format!("model '{name}', field '{fname}': schema row missing before the next section")));
                }
                description.push(' ');
                description.push_str(n.text.trim());
            };
            let c = cells(second.text);
            if c.is_empty() || c[0].is_empty() {
                return Err(self.err(
                    second.no,
                    format!(
                        "model '{name}', field '{fname}': malformed schema row '{}'",
                        second.text.trim()
                    ),
                ));
            }
            fields.push(FieldDoc {
                name: fname,
                required,
                description: description.trim().to_string(),
                schema: c[0].clone(),
                default: c.get(1).filter(|d| !d.is_empty()).cloned(),
                line: l.no,
            });
        }
        if fields.is_empty() {
            return Err(self.err(h.no, format!("model '{name}' has no fields")));
        }
        Ok(ModelDoc {
            name,
            fields,
            line: h.no,
        })
    }
}

/// Parses a printed JSON example whose first line is line `first_line` of the document:
/// strictly, else after repairing what printed examples get wrong and JSON forbids —
/// a trailing comma before `}` or `]`, Python's `True`/`False`/`None` for
/// `true`/`false`/`null`, a comma missing between two values on separate lines. Returns the
/// value and the repairs made (empty: strict JSON); Err: (document line, message) when even
/// the repaired text does not parse.
pub fn lenient_json(
    text: &str,
    first_line: usize,
) -> Result<(Value, Vec<String>), (usize, String)> {
    let strict = match serde_json::from_str(text) {
        Ok(v) => return Ok((v, Vec::new())),
        Err(e) => e,
    };
    let (repaired, repairs) = repair_json(text, first_line);
    if repairs.is_empty() {
        return Err((
            first_line + strict.line().saturating_sub(1),
            strict.to_string(),
        ));
    }
    serde_json::from_str(&repaired)
        .map(|v| (v, repairs))
        .map_err(|e| (first_line + e.line().saturating_sub(1), e.to_string()))
}

/// The repairs of [`lenient_json`], outside strings only; line numbers are preserved.
fn repair_json(text: &str, first_line: usize) -> (String, Vec<String>) {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    let mut repairs = Vec::new();
    let mut line = first_line;
    // The last token outside strings ended a value, and a line break came after it.
    let (mut after_value, mut broke_line) = (false, false);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts_value =
            c == '"' || c == '{' || c == '[' || c == '-' || c.is_ascii_alphanumeric();
        if starts_value && after_value && broke_line {
            out.push(',');
            repairs.push(format!("missing comma inserted before line {line}"));
        }
        match c {
            '"' => {
                out.push(c);
                i += 1;
                while i < chars.len() {
                    let d = chars[i];
                    out.push(d);
                    i += 1;
                    match d {
                        '\\' if i < chars.len() => {
                            out.push(chars[i]);
                            i += 1;
                        }
                        '\n' => line += 1,
                        '"' => break,
                        _ => {}
                    }
                }
                (after_value, broke_line) = (true, false);
                continue;
            }
            ',' => {
                let next = chars[i + 1..].iter().find(|x| !x.is_whitespace());
                if matches!(next, Some('}') | Some(']')) {
                    repairs.push(format!("trailing comma removed at line {line}"));
                } else {
                    out.push(c);
                }
                (after_value, broke_line) = (false, false);
            }
            '{' | '[' => {
                out.push(c);
                (after_value, broke_line) = (false, false);
            }
            '}' | ']' => {
                out.push(c);
                (after_value, broke_line) = (true, false);
            }
            '\n' => {
                out.push(c);
                line += 1;
                broke_line = true;
            }
            _ if starts_value => {
                let end = chars[i..]
                    .iter()
                    .position(|x| !(x.is_ascii_alphanumeric() || matches!(x, '-' | '+' | '.')))
                    .map_or(chars.len(), |n| i + n);
                let end = end.max(i + 1); // always advance
                let word: String = chars[i..end].iter().collect();
                let fixed = match word.as_str() {
                    "True" => "true",
                    "False" => "false",
                    "None" => "null",
                    w => w,
                };
                if fixed != word {
                    repairs.push(format!("{word} read as {fixed} at line {line}"));
                }
                out.push_str(fixed);
                (after_value, broke_line) = (true, false);
                i = end;
                continue;
            }
            _ if c.is_whitespace() => out.push(c),
            _ => {
                out.push(c);
                (after_value, broke_line) = (false, false);
            }
        }
        i += 1;
    }
    (out, repairs)
}

/// `key_id required` → ("key_id", true).
fn name_and_presence(cell: &str) -> Option<(String, bool)> {
    let (name, presence) = cell.trim().rsplit_once(' ')?;
    let required = match presence {
        "required" => true,
        "optional" => false,
        _ => return None,
    };
    (!name.trim().is_empty()).then(|| (name.trim().to_string(), required))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_split_rows_with_and_without_trailing_pipe() {
        assert_eq!(
            cells("| path | key_id required | Resource id"),
            ["path", "key_id required", "Resource id"]
        );
        assert_eq!(cells("| string | None |"), ["string", "None"]);
        assert_eq!(
            cells("| KeyRotateInfoRequest | |"),
            ["KeyRotateInfoRequest", ""]
        );
    }

    #[test]
    fn headings_and_versions() {
        assert_eq!(heading("1.4.2 - 1.2"), Some((vec!["1", "4", "2"], "1.2")));
        assert_eq!(heading("2 - Models"), Some((vec!["2"], "Models")));
        assert!(heading("Response 200").is_none());
        assert!(is_version_label("1.3") && !is_version_label("1.3.1") && !is_version_label("x.1"));
    }

    #[test]
    fn lenient_json_repairs_what_printed_examples_get_wrong() {
        let strict = lenient_json("{\"a\": [1, 2]}", 10).unwrap();
        assert_eq!(strict, (serde_json::json!({"a": [1, 2]}), vec![]));

        let (v, r) = lenient_json("{\n\"a\": [1, 2,],\n\"b\": \"x, }\",\n}\n", 10).unwrap();
        assert_eq!(v, serde_json::json!({"a": [1, 2], "b": "x, }"}));
        assert_eq!(
            r,
            [
                "trailing comma removed at line 11",
                "trailing comma removed at line 12"
            ]
        );

        let (v, r) = lenient_json("{\n\"ok\": True,\n\"n\": None\n\"s\": \"True\"\n}", 1).unwrap();
        assert_eq!(v, serde_json::json!({"ok": true, "n": null, "s": "True"}));
        assert_eq!(
            r,
            [
                "True read as true at line 2",
                "None read as null at line 3",
                "missing comma inserted before line 4"
            ]
        );

        let (v, _) = lenient_json("[\n{\"a\": 1}\n{\"a\": 2},\n]", 1).unwrap();
        assert_eq!(v, serde_json::json!([{"a": 1}, {"a": 2}]));

        // What no repair makes JSON is still an error, at its line.
        assert_eq!(lenient_json("{\n\"a\" 1\n}", 5).unwrap_err().0, 6);
        assert_eq!(
            lenient_json("{\n\"a\": 1,\n\"b\" 2,\n}", 5).unwrap_err().0,
            7
        );
    }

    #[test]
    fn presence() {
        assert_eq!(
            name_and_presence("is_directly optional"),
            Some(("is_directly".into(), false))
        );
        assert_eq!(
            name_and_presence("key required "),
            Some(("key".into(), true))
        );
        assert_eq!(name_and_presence("key"), None);
    }
}
