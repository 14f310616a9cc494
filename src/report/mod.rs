//! Reports of a run: one module per format, plus the CI gate (baseline, merge).

pub mod baseline;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod merge;
pub mod summary;
mod text;

pub use json::{Report, RunMeta};

use anyhow::Context;
use std::path::{Path, PathBuf};

/// A report format of `--format` (repeatable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Junit,
    Markdown,
    Html,
}

impl Format {
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Json => "report.json",
            Format::Junit => "report.junit.xml",
            Format::Markdown => "report.md",
            Format::Html => "report.html",
        }
    }

    pub fn render(self, r: &Report) -> String {
        match self {
            Format::Json => r.to_json(),
            Format::Junit => junit::render(r),
            Format::Markdown => markdown::render(r),
            Format::Html => html::render(r),
        }
    }
}

/// Writes each requested format into `dir` (created if needed); returns the files written.
pub fn write_all(dir: &Path, formats: &[Format], r: &Report) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    for (i, &f) in formats.iter().enumerate() {
        if formats[..i].contains(&f) {
            continue;
        }
        let path = dir.join(f.file_name());
        write_atomic(&path, f.render(r).as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

/// Write via a temporary sibling and rename, so a reader never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot move {} into place", path.display()))
}

/// The CI verdict: findings outside the baseline fail the run once there are more than
/// `max_failures` of them (default 0).
pub fn gate(r: &Report, max_failures: Option<usize>) -> i32 {
    if r.new_findings().count() > max_failures.unwrap_or(0) {
        crate::exit_codes::FINDINGS
    } else {
        crate::exit_codes::OK
    }
}
