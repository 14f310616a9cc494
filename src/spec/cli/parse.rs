//! Line-based parser of the vendor's printable CLI reference. Two layouts occur: `|`-tables
//! (`| 1.0 | DEPRECATED | 20251231 |`, `key_id required | string | … | … |`) and a flattened
//! one where cells are glued (`1.1SUPPORTED20260831`, `name` / `required` /
//! `stringCertificate Name-`). Both are read by the same state machine.

use super::row_split::{clear_name, split_row};
use super::{CliField, CliFlag};
use crate::spec::import::ImportError;
use regex::Regex;
use std::collections::BTreeSet;
use std::sync::LazyLock;

/// Types the Parameters rows print; the flattened layout glues them to the description.
pub const FLAG_TYPES: &[&str] = &["string", "integer", "number", "boolean", "array", "object"];

#[derive(Debug, Clone, PartialEq)]
pub struct VersionRow {
    pub version: String,
    pub status: String,
    /// As printed: `20251231` or `-`.
    pub not_before: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommandVersion {
    pub version: String,
    pub line: usize,
    pub command: String,
    pub flags: Vec<CliFlag>,
    /// Flattened response rows stay raw until the document's vocabulary is known.
    pub response: Vec<RawField>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RawField {
    Split(CliField),
    Glued(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommandDoc {
    pub title: String,
    pub versions: Vec<CommandVersion>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceDoc {
    pub title: String,
    pub line: usize,
    pub versions: Vec<VersionRow>,
    pub commands: Vec<CommandDoc>,
}

static HEADING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\d+(?:\.\d+)*) - (.+)$").unwrap());
static VERSION_TABLE_ROW: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\|\s*(\d+\.\d+)\s*\|\s*([A-Z]+)\s*\|\s*(-|\d{8})\s*\|$").unwrap()
});
static VERSION_FLAT_ROW: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\d+\.\d+)([A-Z]+)(-|\d{8})$").unwrap());
static FLAG_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\[)?--([A-Za-z0-9_-]+) <value>(\])?$").unwrap());
static PARAM_TABLE_ROW: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\S+) (required|optional) \| (.*) \|$").unwrap());
static VERSION_TITLE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\d+\.\d+$").unwrap());
static IDENT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-z][a-z0-9_]*$").unwrap());

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Before the `CLIs` heading of a service: the version table.
    Preamble,
    /// Inside a command version, right after the `scpcli` line: flag lines.
    Flags,
    Params,
    Responses,
    /// Description, State, per-command version tables: not needed.
    Skip,
}

/// A flattened Parameters row is spread over three lines.
#[derive(Debug, Clone, PartialEq)]
enum FlatParam {
    Name(String),
    Required(String, bool),
}

struct Parser {
    services: Vec<ServiceDoc>,
    mode: Mode,
    /// Depth of the current `CLIs` heading (commands are one deeper, versions two).
    clis_depth: Option<usize>,
    pending_param: Option<(usize, FlatParam)>,
}

pub fn parse(text: &str) -> Result<Vec<ServiceDoc>, ImportError> {
    let first_line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default()
        .to_string();
    let mut p = Parser {
        services: vec![],
        mode: Mode::Preamble,
        clis_depth: None,
        pending_param: None,
    };
    // A reference of one service prints its title on the first line and no service heading.
    p.services.push(ServiceDoc {
        title: first_line,
        line: 1,
        versions: vec![],
        commands: vec![],
    });
    for (i, raw) in text.lines().enumerate() {
        p.line(i + 1, raw.trim_end())?;
    }
    p.finish_param(text.lines().count())?;
    p.services.retain(|s| !s.commands.is_empty());
    if p.services.is_empty() {
        return Err(ImportError::at(
            1,
            "no CLI commands found (expected a 'N - CLIs' heading followed by command sections)",
        ));
    }
    for s in &p.services {
        if s.versions.is_empty() {
            return Err(ImportError::at(
                s.line,
                format!("service '{}' prints no version table", s.title),
            ));
        }
    }
    Ok(p.services)
}

impl Parser {
    fn service(&mut self) -> &mut ServiceDoc {
        self.services.last_mut().expect("a service")
    }

    fn current(&mut self, n: usize) -> Result<&mut CommandVersion, ImportError> {
        self.service()
            .commands
            .last_mut()
            .and_then(|c| c.versions.last_mut())
            .ok_or_else(|| ImportError::at(n, "content outside a command version section"))
    }

    fn line(&mut self, n: usize, line: &str) -> Result<(), ImportError> {
        if let Some(c) = HEADING.captures(line) {
            self.finish_param(n)?;
            let depth = c[1].split('.').count();
            return self.heading(n, depth, c[2].trim());
        }
        match self.mode {
            Mode::Preamble => self.preamble(line),
            _ if line.is_empty() => {
                if self.mode == Mode::Responses
                    && self.current(n)?.response.is_empty()
                    && self.pending_param.is_none()
                {
                    return Ok(()); // blank between header and first row
                }
                if self.mode == Mode::Responses {
                    self.mode = Mode::Skip;
                }
                Ok(())
            }
            _ => self.section_line(n, line),
        }
    }

    fn heading(&mut self, n: usize, depth: usize, title: &str) -> Result<(), ImportError> {
        if title == "CLIs" {
            self.clis_depth = Some(depth);
            self.mode = Mode::Skip;
            return Ok(());
        }
        let Some(clis) = self.clis_depth.filter(|&d| depth > d) else {
            // A service heading (`3 - Key Management Service`).
            self.services.push(ServiceDoc {
                title: title.to_string(),
                line: n,
                versions: vec![],
                commands: vec![],
            });
            self.clis_depth = None;
            self.mode = Mode::Preamble;
            return Ok(());
        };
        if depth == clis + 1 {
            self.service().commands.push(CommandDoc {
                title: title.to_string(),
                versions: vec![],
            });
            self.mode = Mode::Skip;
            return Ok(());
        }
        if depth != clis + 2 || !VERSION_TITLE.is_match(title) {
            return Err(ImportError::at(
                n,
                format!("expected a version section like '1.1.1 - 1.1', found '{title}'"),
            ));
        }
        let Some(cmd) = self.service().commands.last_mut() else {
            return Err(ImportError::at(n, "version section outside a command"));
        };
        cmd.versions.push(CommandVersion {
            version: title.to_string(),
            line: n,
            command: String::new(),
            flags: vec![],
            response: vec![],
        });
        self.mode = Mode::Flags;
        Ok(())
    }

    fn preamble(&mut self, line: &str) -> Result<(), ImportError> {
        let caps = VERSION_TABLE_ROW
            .captures(line)
            .or_else(|| VERSION_FLAT_ROW.captures(line));
        if let Some(c) = caps {
            self.service().versions.push(VersionRow {
                version: c[1].to_string(),
                status: c[2].to_string(),
                not_before: c[3].to_string(),
            });
        }
        Ok(())
    }

    fn section_line(&mut self, n: usize, line: &str) -> Result<(), ImportError> {
        match line.trim() {
            "Description" | "State" | "Request Example" | "Response Example" => {
                self.finish_param(n)?;
                self.mode = Mode::Skip;
                return Ok(());
            }
            "Parameters" => {
                self.mode = Mode::Params;
                return Ok(());
            }
            "Responses" => {
                self.finish_param(n)?;
                self.mode = Mode::Responses;
                return Ok(());
            }
            _ => {}
        }
        match self.mode {
            Mode::Flags => self.flag_line(n, line),
            Mode::Params => self.param_line(n, line),
            Mode::Responses => self.response_line(n, line),
            Mode::Skip | Mode::Preamble => Ok(()),
        }
    }

    fn flag_line(&mut self, n: usize, line: &str) -> Result<(), ImportError> {
        let cv = self.current(n)?;
        if cv.command.is_empty() {
            if !line.starts_with("scpcli ") {
                return Err(ImportError::at(
                    n,
                    format!(
                        "expected the 'scpcli …' command line of version {}, found '{line}'",
                        cv.version
                    ),
                ));
            }
            cv.command = line.trim().to_string();
            return Ok(());
        }
        let Some(c) = FLAG_LINE.captures(line) else {
            return Err(ImportError::at(
                n,
                format!("expected a flag line like '--name <value>' or '[--name <value>]', found '{line}'"),
            ));
        };
        let name = c[2].to_string();
        let optional = c.get(1).is_some() && c.get(3).is_some();
        cv.flags.push(CliFlag {
            name,
            required: !optional,
            ty: None,
            description: String::new(),
            example: None,
        });
        Ok(())
    }

    fn param_line(&mut self, n: usize, line: &str) -> Result<(), ImportError> {
        if line.starts_with("| Name |") || line == "|---|" || line == "NameTypeDescriptionExample" {
            return Ok(());
        }
        if let Some(c) = PARAM_TABLE_ROW.captures(line) {
            let cells: Vec<&str> = c[3].split(" | ").collect();
            if cells.len() < 3 {
                return Err(ImportError::at(
                    n,
                    format!("parameter row '{}' has {} cells after the name, expected type | description | example", &c[1], cells.len()),
                ));
            }
            let ty = cells[0].trim();
            check_type(n, ty)?;
            let description = cells[1..cells.len() - 1].join(" | ");
            let example = cells[cells.len() - 1].trim().to_string();
            return self.set_flag(
                n,
                &c[1],
                &c[2] == "required",
                ty,
                description,
                Some(example),
            );
        }
        let pending = self.pending_param.take();
        match pending {
            None if IDENT.is_match(line) => {
                self.pending_param = Some((n, FlatParam::Name(line.to_string())));
                Ok(())
            }
            Some((_, FlatParam::Name(name))) if line == "required" || line == "optional" => {
                self.pending_param = Some((n, FlatParam::Required(name, line == "required")));
                Ok(())
            }
            Some((_, FlatParam::Name(name))) => Err(ImportError::at(
                n,
                format!("expected 'required' or 'optional' after parameter '{name}', found '{line}'"),
            )),
            Some((_, FlatParam::Required(name, required))) => {
                let Some(ty) = FLAG_TYPES.iter().find(|t| line.starts_with(**t)) else {
                    return Err(ImportError::at(
                        n,
                        format!(
                            "parameter '{name}': expected the row to start with a type ({}), found '{line}'",
                            FLAG_TYPES.join(", ")
                        ),
                    ));
                };
                let rest = line[ty.len()..].to_string();
                self.set_flag(n, &name, required, ty, rest, None)
            }
            None => Err(ImportError::at(
                n,
                format!("expected a parameter row (`name required | type | description | example |` or a name line), found '{line}'"),
            )),
        }
    }

    /// A flattened parameter cut short by the end of its section.
    fn finish_param(&mut self, n: usize) -> Result<(), ImportError> {
        match self.pending_param.take() {
            None => Ok(()),
            Some((at, FlatParam::Name(name) | FlatParam::Required(name, _))) => Err(ImportError::at(
                at,
                format!("parameter '{name}' is incomplete: its section ends at line {n} before its type row"),
            )),
        }
    }

    fn set_flag(
        &mut self,
        n: usize,
        name: &str,
        required: bool,
        ty: &str,
        description: String,
        example: Option<String>,
    ) -> Result<(), ImportError> {
        let cv = self.current(n)?;
        let flag = CliFlag {
            name: name.to_string(),
            required,
            ty: Some(ty.to_string()),
            description: description.trim().to_string(),
            example,
        };
        match cv.flags.iter_mut().find(|f| f.name == name) {
            Some(f) => *f = flag,
            None => cv.flags.push(flag),
        }
        Ok(())
    }

    fn response_line(&mut self, n: usize, line: &str) -> Result<(), ImportError> {
        if line.starts_with("| Name |") || line == "|---|" || line == "NameDescriptionExample" {
            return Ok(());
        }
        let cv = self.current(n)?;
        if let Some(inner) = line.strip_prefix("| ").and_then(|l| l.strip_suffix(" |")) {
            let cells: Vec<&str> = inner.split(" | ").collect();
            if cells.len() < 2 {
                return Err(ImportError::at(
                    n,
                    format!(
                        "response row has {} cells, expected name | description | example",
                        cells.len()
                    ),
                ));
            }
            let example = (cells.len() >= 3).then(|| cells[cells.len() - 1].trim().to_string());
            let desc_end = if cells.len() >= 3 { cells.len() - 1 } else { 2 };
            cv.response.push(RawField::Split(CliField {
                name: cells[0].trim().to_string(),
                description: cells[1..desc_end].join(" | ").trim().to_string(),
                example,
            }));
            return Ok(());
        }
        if line.starts_with(|c: char| c.is_ascii_lowercase()) {
            cv.response.push(RawField::Glued(line.to_string()));
            return Ok(());
        }
        // A description continued on the next line (`① …`).
        match cv.response.last_mut() {
            Some(RawField::Glued(prev)) => {
                prev.push('\n');
                prev.push_str(line);
                Ok(())
            }
            _ => Err(ImportError::at(
                n,
                format!("expected a response row (`| name | description | example |` or `nameDescriptionExample`), found '{line}'"),
            )),
        }
    }
}

fn check_type(n: usize, ty: &str) -> Result<(), ImportError> {
    if FLAG_TYPES.contains(&ty) {
        Ok(())
    } else {
        Err(ImportError::at(
            n,
            format!(
                "unknown parameter type '{ty}' (expected one of {})",
                FLAG_TYPES.join(", ")
            ),
        ))
    }
}

/// Words known to occur in names: every flag name's segments and every clearly split
/// response name's segments, over the whole document.
pub fn vocabulary(services: &[ServiceDoc]) -> BTreeSet<String> {
    let mut words = BTreeSet::new();
    let mut add = |name: &str| {
        for w in name.split('_').filter(|w| !w.is_empty()) {
            words.insert(w.to_string());
        }
    };
    for cv in services
        .iter()
        .flat_map(|s| &s.commands)
        .flat_map(|c| &c.versions)
    {
        cv.flags.iter().for_each(|f| add(&f.name));
        for r in &cv.response {
            match r {
                RawField::Split(f) => add(&f.name),
                RawField::Glued(g) => {
                    if let Some(name) = clear_name(g) {
                        add(name);
                    }
                }
            }
        }
    }
    words
}

/// Resolve a response row against the document's vocabulary.
pub fn field(raw: &RawField, vocabulary: &BTreeSet<String>) -> CliField {
    match raw {
        RawField::Split(f) => f.clone(),
        RawField::Glued(g) => {
            let (name, rest) = split_row(g, vocabulary);
            CliField {
                name: name.to_string(),
                description: rest.to_string(),
                example: None,
            }
        }
    }
}
