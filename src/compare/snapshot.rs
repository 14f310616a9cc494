//! Snapshots of suite transcripts in insta's file format (`---` header, then the body), one
//! file per API version and suite: `snapshots/<api>/<version>/<suite>.snap`. A changed
//! transcript is written beside the old one as `.snap.new`, for `kmsconform snapshots review`
//! or `cargo insta review`.

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

pub fn render(api: &str, version: &str, suite: &str, exchanges: &[&Exchange]) -> String {
    let mut s =
        format!("---\nsource: kmsconform\nexpression: \"{api} {version} suite {suite}\"\n---\n");
    for e in exchanges {
        let case = e.case.split_once('/').map(|x| x.1).unwrap_or(&e.case);
        s.push_str(&format!("## {case} {} — {}\n", e.operation, e.label));
        s.push_str(&render_exchange(e));
    }
    s
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

/// Diff of a pending snapshot against the accepted one.
pub fn review_diff(new_path: &Path) -> std::io::Result<String> {
    let old_path = PathBuf::from(
        new_path
            .to_string_lossy()
            .trim_end_matches(".new")
            .to_string(),
    );
    let new = std::fs::read_to_string(new_path)?;
    let old = std::fs::read_to_string(&old_path).unwrap_or_default();
    Ok(super::unified(
        body(&old),
        body(&new),
        &old_path.display().to_string(),
        &new_path.display().to_string(),
    ))
}

pub fn accept(new_path: &Path) -> std::io::Result<()> {
    let old_path = PathBuf::from(
        new_path
            .to_string_lossy()
            .trim_end_matches(".new")
            .to_string(),
    );
    std::fs::rename(new_path, old_path)
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
