//! Reports of a run: one module per format, plus the CI gate (baseline, merge). Formats read
//! a finished [`Report`]; text is made only here.

pub mod baseline;
pub mod har;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod merge;
pub mod summary;
pub mod text;

pub use json::{Report, RunMeta, Totals};

use std::path::{Path, PathBuf};

/// A report format of `--format` (repeatable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Junit,
    Markdown,
    Html,
    /// One event per line, streamed while the run goes (`run` only).
    Jsonl,
}

impl Format {
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Json => "report.json",
            Format::Junit => "report.junit.xml",
            Format::Markdown => "report.md",
            Format::Html => "report.html",
            Format::Jsonl => "events.jsonl",
        }
    }

    /// The format's text of a finished report; `None` for a format the run streams instead.
    pub fn render(self, r: &Report) -> Option<String> {
        match self {
            Format::Json => Some(r.to_json()),
            Format::Junit => Some(junit::render(r)),
            Format::Markdown => Some(markdown::render(r)),
            Format::Html => Some(html::render(r)),
            Format::Jsonl => None,
        }
    }

    /// Written event by event during a run, not from the finished report.
    pub fn is_streamed(self) -> bool {
        self == Format::Jsonl
    }
}

/// The I/O error is part of the message, not a separate source (it would print twice).
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {error}")]
pub struct WriteError {
    pub path: PathBuf,
    pub error: std::io::Error,
}

/// Creates `dir` and proves it writable (before a run sends anything).
pub fn ensure_writable_dir(dir: &Path) -> Result<(), WriteError> {
    let err = |error| WriteError {
        path: dir.into(),
        error,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    let probe = dir.join(format!(".kmsconform-write-test.{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(err)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// [`ensure_writable_dir`], and no report file of `formats` is in the way: a directory of
/// that name cannot be replaced by the report written at the end of the run.
pub fn ensure_writable(dir: &Path, formats: &[Format]) -> Result<(), WriteError> {
    ensure_writable_dir(dir)?;
    for f in formats {
        let path = dir.join(f.file_name());
        if path.is_dir() {
            return Err(WriteError {
                error: std::io::Error::other("a directory is in the way of the report file"),
                path,
            });
        }
    }
    Ok(())
}

/// Writes each requested format into `dir`, each text passed through `scrub` (the final
/// pass against reflected secrets); returns the files written.
pub fn write_all(
    dir: &Path,
    formats: &[Format],
    r: &Report,
    scrub: &dyn Fn(&str) -> String,
) -> Result<Vec<PathBuf>, WriteError> {
    std::fs::create_dir_all(dir).map_err(|error| WriteError {
        path: dir.into(),
        error,
    })?;
    let mut written = Vec::new();
    for (i, &f) in formats.iter().enumerate() {
        if formats[..i].contains(&f) {
            continue;
        }
        let Some(text) = f.render(r) else { continue };
        let path = dir.join(f.file_name());
        write_atomic(&path, scrub(&text).as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

/// Write via a temporary sibling and rename, so a reader never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|error| WriteError {
        path: tmp.clone(),
        error,
    })?;
    std::fs::rename(&tmp, path).map_err(|error| {
        let _ = std::fs::remove_file(&tmp);
        WriteError {
            path: path.into(),
            error,
        }
    })
}

/// The CI verdict: gating findings outside the baseline fail the run once there are more
/// than `max_failures` of them (default 0); transport problems always fail it.
pub fn gate(r: &Report, max_failures: Option<usize>) -> i32 {
    if r.gating().count() > max_failures.unwrap_or(0) || !r.transport_problems.is_empty() {
        crate::exit_codes::FINDINGS
    } else {
        crate::exit_codes::OK
    }
}
