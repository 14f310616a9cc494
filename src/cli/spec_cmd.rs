//! `kmsconform spec …`

use super::Outcome;
use crate::exit_codes;
use crate::spec::import::import;
use crate::spec::lint::{lint, Severity, RULES};
use crate::spec::overlay::Overlay;
use crate::spec::SpecSet;
use anyhow::{bail, Context};
use clap::{Subcommand, ValueEnum};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum SpecCommand {
    /// Import a vendor API reference (printable layout) into OpenAPI 3.1 specs + versions.json.
    Import {
        /// The vendor document (text of the printable reference).
        document: PathBuf,
        /// API id, e.g. scp-kms; must match the overlay's `api`.
        #[arg(long)]
        api: String,
        /// Output directory, e.g. specs/scp-kms.
        #[arg(long)]
        out: PathBuf,
        /// Overlay file; default: <out>/overlay.json when it exists.
        #[arg(long)]
        overlay: Option<PathBuf>,
    },
    /// Check a spec directory's validity and report the vendor document's inconsistencies.
    Lint {
        /// Spec directory.
        #[arg(default_value = "specs/scp-kms")]
        dir: PathBuf,
        /// Date for version-status rules (YYYY-MM-DD); default: today.
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// List the rule catalogue and exit.
        #[arg(long)]
        list_rules: bool,
    },
}

pub fn run(cmd: SpecCommand) -> Outcome {
    match cmd {
        SpecCommand::Import {
            document,
            api,
            out,
            overlay,
        } => run_import(&document, &api, &out, overlay.as_deref()),
        SpecCommand::Lint {
            dir,
            as_of,
            format,
            list_rules,
        } => {
            if list_rules {
                for (id, sev, doc) in RULES {
                    println!("{id:<28} {:<8} {doc}", format!("{sev:?}").to_lowercase());
                }
                return Ok(exit_codes::OK);
            }
            run_lint(
                &dir,
                as_of.unwrap_or_else(|| chrono::Utc::now().date_naive()),
                format,
            )
        }
    }
}

fn run_import(document: &Path, api: &str, out: &Path, overlay_path: Option<&Path>) -> Outcome {
    let text = std::fs::read(document)
        .with_context(|| format!("cannot read vendor document {}", document.display()))?;
    let text = String::from_utf8(text).map_err(|e| {
        anyhow::anyhow!(
            "{}: not UTF-8 text (byte {})",
            document.display(),
            e.utf8_error().valid_up_to()
        )
    })?;
    let default_overlay = out.join("overlay.json");
    let overlay_path = overlay_path
        .map(Path::to_path_buf)
        .or_else(|| default_overlay.exists().then_some(default_overlay));
    let overlay = match &overlay_path {
        Some(p) => {
            let t = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read overlay {}", p.display()))?;
            Overlay::from_json(&t).with_context(|| format!("overlay {}", p.display()))?
        }
        None => Overlay {
            api: api.to_string(),
            ..Default::default()
        },
    };
    if overlay.api != api {
        bail!(
            "--api {api} does not match the overlay's api '{}'",
            overlay.api
        );
    }
    let name = document
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Everything is produced in memory first: a failure leaves --out untouched.
    let output = import(&text, &name, &overlay)
        .map_err(|e| anyhow::anyhow!("{}: {e}", document.display()))?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for (file, body) in &output.files {
        write_atomic(&out.join(file), body.as_bytes())?;
    }
    for (file, _) in &output.files {
        println!("wrote {}", out.join(file).display());
    }
    Ok(exit_codes::OK)
}

/// Write via a temporary sibling and rename, so a reader never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot move {} into place", path.display()))
}

fn run_lint(dir: &Path, as_of: chrono::NaiveDate, format: Format) -> Outcome {
    let set = SpecSet::load(dir)?;
    let findings = lint(&set, as_of);
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&findings)?),
        Format::Text => {
            for f in &findings {
                println!(
                    "{:<7} {:<26} [{}] {}: {}",
                    format!("{:?}", f.severity).to_lowercase(),
                    f.rule,
                    f.versions.join(","),
                    f.location,
                    f.message
                );
            }
            let count = |s| findings.iter().filter(|f| f.severity == s).count();
            println!(
                "{} errors, {} warnings, {} infos in {} (as of {as_of})",
                count(Severity::Error),
                count(Severity::Warning),
                count(Severity::Info),
                dir.display()
            );
        }
    }
    Ok(if findings.iter().any(|f| f.severity == Severity::Error) {
        exit_codes::FINDINGS
    } else {
        exit_codes::OK
    })
}
