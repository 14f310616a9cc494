//! Snapshots of suite transcripts in insta's file format, one file per API version and suite:
//! `snapshots/<api>/<version>/<suite>.snap`. A changed transcript is written beside the old
//! one as `.snap.new`, for `kmsconform snapshots review` or `cargo insta review`.
//!
//! The file is what insta itself writes for a text snapshot (insta 1.42 and later; Cargo.lock
//! has 1.49): a YAML header between two `---` lines with insta's fields in insta's order —
//! `source`, then `expression` (insta's order is source, assertion_line, description,
//! expression, info, input_file; text snapshots carry no `snapshot_kind` since 1.42) — each
//! value a plain YAML scalar unless YAML needs quotes, then the body with trailing whitespace
//! trimmed and one final newline. Accepting a `.snap.new` with `cargo insta review` (which
//! reads it with `Snapshot::from_file` and writes it with `Snapshot::save`) therefore leaves
//! the same bytes as `kmsconform snapshots review --accept` (tests/snapshots_insta.rs).

use super::render_exchange;
use crate::run::record::Exchange;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    Check,
    Update,
    Off,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Matched,
    Written,
    /// No snapshot yet: the new one waits as `.snap.new`.
    Missing,
    /// Differs: unified diff (old → new); the new one waits as `.snap.new`.
    Changed(String),
}

#[derive(Debug, Clone)]
pub struct Result {
    pub version: String,
    pub suite: String,
    pub path: PathBuf,
    pub outcome: Outcome,
}

/// Suite exchanges grouped by (version, suite), in the order observed.
pub fn group(t: &[Exchange]) -> BTreeMap<(String, String), Vec<&Exchange>> {
    let mut out: BTreeMap<(String, String), Vec<&Exchange>> = BTreeMap::new();
    for e in t {
        let mut parts = e.case.split('/');
        if let (Some(v), Some("suite"), Some(suite)) = (parts.next(), parts.next(), parts.next()) {
            out.entry((v.to_string(), suite.to_string()))
                .or_default()
                .push(e);
        }
    }
    out
}

/// The `source` of every snapshot header: the tool that wrote it (insta writes the test file).
pub const SOURCE: &str = "kmsconform";

pub fn render(api: &str, version: &str, suite: &str, exchanges: &[&Exchange]) -> String {
    let mut body = String::new();
    for e in exchanges {
        let case = e.case.split_once('/').map(|x| x.1).unwrap_or(&e.case);
        body.push_str(&format!("## {case} {} — {}\n", e.operation, e.label));
        body.push_str(&render_exchange(e));
    }
    file(SOURCE, &format!("{api} {version} suite {suite}"), &body)
}

/// A whole snapshot file: insta's header, then the body as insta stores it (CRLF as LF,
/// trailing whitespace trimmed, one final newline).
pub fn file(source: &str, expression: &str, body: &str) -> String {
    format!(
        "---\nsource: {}\nexpression: {}\n---\n{}\n",
        yaml_scalar(source),
        yaml_scalar(expression),
        body.trim_end().replace("\r\n", "\n")
    )
}

/// One YAML scalar as insta's header emitter writes it: plain when YAML would read it back
/// as the same string, else double-quoted with escapes.
pub fn yaml_scalar(s: &str) -> String {
    if !needs_quotes(s) {
        return s.to_string();
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// When insta's emitter quotes a string: empty, space at either end, a leading YAML
/// indicator, a flow or comment character or quote anywhere, most control characters, a
/// word YAML reads as a boolean or null, or something that reads as a number.
fn needs_quotes(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "yes", "Yes", "YES", "no", "No", "NO", "True", "TRUE", "true", "False", "FALSE", "false",
        "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL", "~",
    ];
    s.is_empty()
        || s.starts_with(' ')
        || s.ends_with(' ')
        || s.starts_with(['&', '*', '?', '|', '-', '<', '>', '=', '!', '%', '@'])
        || s.chars().any(|c| {
            matches!(
                c,
                ':' | '{' | '}' | '[' | ']' | ',' | '#' | '`' | '"' | '\'' | '\\'
                    | '\0'..='\x06'
                    | '\t'
                    | '\n'
                    | '\r'
                    | '\x0e'..='\x1a'
                    | '\x1c'..='\x1f'
            )
        })
        || WORDS.contains(&s)
        || s.starts_with('.')
        || s.starts_with("0x")
        || s.parse::<i64>().is_ok()
        || s.parse::<f64>().is_ok()
}

/// The body of a snapshot file (after the header), for comparison.
fn body(text: &str) -> &str {
    let mut it = text.splitn(3, "---\n");
    match (it.next(), it.next(), it.next()) {
        (Some(""), Some(_header), Some(b)) => b,
        _ => text,
    }
}

pub fn process(
    dir: &Path,
    api: &str,
    mode: Mode,
    transcript: &[Exchange],
) -> std::io::Result<Vec<Result>> {
    let mut out = Vec::new();
    if mode == Mode::Off {
        return Ok(out);
    }
    for ((version, suite), ex) in group(transcript) {
        let path = dir.join(&version).join(format!("{suite}.snap"));
        let new_path = path.with_extension("snap.new");
        let text = render(api, &version, &suite, &ex);
        let outcome = match (mode, std::fs::read_to_string(&path)) {
            (Mode::Update, _) => {
                std::fs::create_dir_all(path.parent().expect("has a parent"))?;
                write_atomic(&path, &text)?;
                let _ = std::fs::remove_file(&new_path);
                Outcome::Written
            }
            (_, Ok(old)) if body(&old) == body(&text) => {
                let _ = std::fs::remove_file(&new_path);
                Outcome::Matched
            }
            (_, Ok(old)) => {
                write_atomic(&new_path, &text)?;
                Outcome::Changed(super::unified(
                    body(&old),
                    body(&text),
                    "snapshot",
                    "this run",
                ))
            }
            (_, Err(_)) => {
                std::fs::create_dir_all(path.parent().expect("has a parent"))?;
                write_atomic(&new_path, &text)?;
                Outcome::Missing
            }
        };
        out.push(Result {
            version,
            suite,
            path,
            outcome,
        });
    }
    Ok(out)
}

/// Write through a temporary sibling and a rename: an interrupted run never leaves half a
/// snapshot behind.
fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Pending `.snap.new` files under `dir`.
pub fn pending(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".snap.new") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The snapshot a pending `.snap.new` would replace.
pub fn target_of(new_path: &Path) -> PathBuf {
    PathBuf::from(
        new_path
            .to_string_lossy()
            .trim_end_matches(".new")
            .to_string(),
    )
}

/// The pending file `path` names: `x.snap.new` itself, or the `.snap.new` beside `x.snap`.
pub fn pending_of(path: &Path) -> Option<PathBuf> {
    let s = path.to_string_lossy();
    if s.ends_with(".snap.new") {
        Some(path.to_path_buf())
    } else if s.ends_with(".snap") {
        Some(PathBuf::from(format!("{s}.new")))
    } else {
        None
    }
}

/// Diff of a pending snapshot against the accepted one.
pub fn review_diff(new_path: &Path) -> std::io::Result<String> {
    let old_path = target_of(new_path);
    let new = std::fs::read_to_string(new_path)?;
    let old = std::fs::read_to_string(&old_path).unwrap_or_default();
    Ok(super::unified(
        body(&old),
        body(&new),
        &old_path.display().to_string(),
        &new_path.display().to_string(),
    ))
}

/// The pending snapshot replaces the accepted one (a rename: the file is already in the
/// form insta would save).
pub fn accept(new_path: &Path) -> std::io::Result<()> {
    std::fs::rename(new_path, target_of(new_path))
}

/// The pending snapshot is dropped; the accepted one stays.
pub fn reject(new_path: &Path) -> std::io::Result<()> {
    std::fs::remove_file(new_path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ex(step: u32, v: i64) -> Exchange {
        Exchange {
            version: "1.3".into(),
            case: format!("1.3/suite/demo/{step}"),
            label: "l".into(),
            operation: "showKey".into(),
            status: Some(200),
            body: Some(json!({"v": v})),
        }
    }

    #[test]
    fn check_update_and_review_cycle() {
        let dir = tempfile::tempdir().unwrap();
        let t = vec![ex(1, 1), ex(2, 2)];
        let r = process(dir.path(), "api", Mode::Check, &t).unwrap();
        assert_eq!(r[0].outcome, Outcome::Missing);
        assert_eq!(pending(dir.path()).len(), 1);
        process(dir.path(), "api", Mode::Update, &t).unwrap();
        assert!(pending(dir.path()).is_empty());
        assert_eq!(
            process(dir.path(), "api", Mode::Check, &t).unwrap()[0].outcome,
            Outcome::Matched
        );
        let changed = vec![ex(1, 1), ex(2, 3)];
        match &process(dir.path(), "api", Mode::Check, &changed).unwrap()[0].outcome {
            Outcome::Changed(d) => assert!(
                d.contains("-  \"v\": 2") && d.contains("+  \"v\": 3"),
                "{d}"
            ),
            o => panic!("{o:?}"),
        }
        let p = pending(dir.path());
        assert_eq!(p.len(), 1);
        assert!(review_diff(&p[0]).unwrap().contains("+  \"v\": 3"));
        accept(&p[0]).unwrap();
        assert_eq!(
            process(dir.path(), "api", Mode::Check, &changed).unwrap()[0].outcome,
            Outcome::Matched
        );
    }
}
