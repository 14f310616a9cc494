//! `kmsconform spec …`

use super::Outcome;
use crate::exit_codes;
use crate::spec::changes::Level;
use crate::spec::cli::{self, CliSpec};
use crate::spec::diff::{self, Finding, Side};
use crate::spec::import::page::PageOverlay;
use crate::spec::import::{from_openapi, import, import_page, ImportOutput, Layout};
use crate::spec::lint::{lint, Severity, RULES};
use crate::spec::overlay::Overlay;
use crate::spec::SpecSet;
use crate::spec::{compare, diff_render, drift};
use anyhow::{bail, Context};
use clap::{Subcommand, ValueEnum};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFrom {
    /// A printable vendor document; its layout follows from `--api` (see `spec import`).
    Document,
    /// An OpenAPI 3.0 document (JSON), e.g. the one an OpenBao server serves.
    Openapi,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CompareFormat {
    Markdown,
    Json,
}

/// The lowest level that makes the command exit 1.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FailOn {
    Breaking,
    Warning,
    Info,
    Never,
}

impl FailOn {
    fn threshold(self) -> Option<Level> {
        match self {
            FailOn::Breaking => Some(Level::Breaking),
            FailOn::Warning => Some(Level::Warning),
            FailOn::Info => Some(Level::Info),
            FailOn::Never => None,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum SpecCommand {
    /// Import a vendor API reference (printable layout) into OpenAPI 3.1 specs + versions.json;
    /// with `--api scp-cli`, a CLI reference into `<out>/<service>/<version>.json` CLI specs;
    /// with `--from openapi`, a vendor's OpenAPI 3.0 document into `<out>/<version>.json`
    /// (converted to 3.1, filtered by `--paths`), added to `<out>/versions.json`;
    /// with `--api ncp-…` / `otc-…`, a Naver Cloud / Open Telekom Cloud API page (needs the
    /// overlay; also writes `<out>/vendor/<document>`).
    Import {
        /// The vendor document: a file; with `--from openapi` also an http(s) URL.
        document: String,
        /// What the document is.
        #[arg(long, value_enum, default_value = "document")]
        from: ImportFrom,
        /// API id, e.g. scp-kms; must match the overlay's `api`.
        #[arg(long)]
        api: String,
        /// Output directory, e.g. specs/scp-kms.
        #[arg(long)]
        out: PathBuf,
        /// Overlay file; default: <out>/overlay.json when it exists.
        #[arg(long)]
        overlay: Option<PathBuf>,
        /// `--from openapi`: keep the paths containing this text (repeatable; required).
        #[arg(long = "paths", value_name = "TEXT")]
        paths: Vec<String>,
        /// `--from openapi`: the version to import as (default: the document's info.version,
        /// which must agree when both are given).
        #[arg(long)]
        version: Option<String>,
        /// `--from openapi` with a URL: a request header, `NAME: VALUE` (repeatable), e.g. the
        /// token a server wants before it lists authenticated paths.
        #[arg(long = "header", value_name = "NAME: VALUE")]
        headers: Vec<String>,
    },
    /// Check a spec directory's validity and report the vendor document's inconsistencies.
    Lint {
        /// Spec directory (default: the default API's, specs/<api>).
        dir: Option<PathBuf>,
        /// Date for version-status rules (YYYY-MM-DD); default: today.
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// List the rule catalogue and exit.
        #[arg(long)]
        list_rules: bool,
    },
    /// Changes between two specs (OpenAPI or CLI; files or spec directories) as named rules.
    Diff {
        /// Old spec (file or directory); with --chain, the one directory to walk.
        old: Option<PathBuf>,
        /// New spec (file or directory).
        new: Option<PathBuf>,
        /// Diff consecutive versions of OLD (1.0→1.1→…).
        #[arg(long)]
        chain: bool,
        #[arg(long, value_enum, default_value = "text")]
        format: ReportFormat,
        /// Exit 1 when a change at or above this level exists.
        #[arg(long, value_enum, default_value = "breaking")]
        fail_on: FailOn,
        /// Override a rule's level: RULE=info|warning|breaking (repeatable).
        #[arg(long = "level", value_name = "RULE=LEVEL")]
        levels: Vec<String>,
        /// List the rule catalogue and exit.
        #[arg(long)]
        list_rules: bool,
    },
    /// One operation of several APIs side by side: field mapping (guesses marked), timestamp
    /// formats, state vocabularies, error envelopes, auth schemes.
    Compare {
        /// OpenAPI documents, e.g. specs/scp-kms/1.3.json specs/ncp-kms/v1.json.
        #[arg(required = true, num_args = 2..)]
        specs: Vec<PathBuf>,
        /// operationIds in the order of the specs, joined by '=' (showKey=getKey=describeKey).
        #[arg(long)]
        operation: String,
        #[arg(long, value_enum, default_value = "markdown")]
        format: CompareFormat,
    },
    /// Drift between a service's CLI specs and its API specs, per common version.
    Drift {
        /// API spec directory.
        #[arg(long)]
        api: PathBuf,
        /// CLI spec directory of the same service.
        #[arg(long)]
        cli: PathBuf,
        #[arg(long, value_enum, default_value = "text")]
        format: ReportFormat,
        /// Exit 1 when a finding at or above this level exists.
        #[arg(long, value_enum, default_value = "warning")]
        fail_on: FailOn,
        /// List the rule catalogue and exit.
        #[arg(long)]
        list_rules: bool,
    },
}

pub fn run(cmd: SpecCommand) -> Outcome {
    match cmd {
        SpecCommand::Import {
            document,
            from,
            api,
            out,
            overlay,
            paths,
            version,
            headers,
        } => {
            if from == ImportFrom::Openapi {
                return run_import_openapi(
                    &document,
                    &api,
                    &out,
                    overlay.as_deref(),
                    &paths,
                    version.as_deref(),
                    &headers,
                );
            }
            if !paths.is_empty() || version.is_some() || !headers.is_empty() {
                bail!("--paths, --version and --header apply only with --from openapi");
            }
            run_import(Path::new(&document), &api, &out, overlay.as_deref())
        }
        SpecCommand::Lint {
            dir,
            as_of,
            format,
            list_rules,
        } => {
            if list_rules {
                for (id, sev, doc) in RULES.iter().chain(cli::lint::RULES) {
                    println!("{id:<28} {:<8} {doc}", format!("{sev:?}").to_lowercase());
                }
                return Ok(exit_codes::OK);
            }
            run_lint(
                &dir.unwrap_or_else(|| PathBuf::from("specs").join(crate::reference::DEFAULT_API)),
                as_of.unwrap_or_else(|| chrono::Utc::now().date_naive()),
                format,
            )
        }
        SpecCommand::Diff {
            old,
            new,
            chain,
            format,
            fail_on,
            levels,
            list_rules,
        } => {
            if list_rules {
                print_rules(diff::RULES);
                return Ok(exit_codes::OK);
            }
            run_diff(old, new, chain, format, fail_on, &levels)
        }
        SpecCommand::Compare {
            specs,
            operation,
            format,
        } => run_compare(&specs, &operation, format),
        SpecCommand::Drift {
            api,
            cli,
            format,
            fail_on,
            list_rules,
        } => {
            if list_rules {
                print_rules(drift::RULES);
                return Ok(exit_codes::OK);
            }
            run_drift(&api, &cli, format, fail_on)
        }
    }
}

fn run_compare(specs: &[PathBuf], operation: &str, format: CompareFormat) -> Outcome {
    let ids: Vec<&str> = operation.split('=').map(str::trim).collect();
    if ids.len() != specs.len() || ids.iter().any(|i| i.is_empty()) {
        bail!(
            "--operation names {} operationId(s) for {} spec(s); give one per spec, joined by '='",
            ids.len(),
            specs.len()
        );
    }
    let mut sides = Vec::new();
    for (path, id) in specs.iter().zip(&ids) {
        let doc = crate::spec::read_json(path)?;
        sides
            .push(compare::side(&doc, id).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?);
    }
    let c = compare::compare(sides);
    match format {
        CompareFormat::Markdown => print!("{}", compare::markdown(&c)),
        CompareFormat::Json => println!("{}", serde_json::to_string_pretty(&c)?),
    }
    Ok(exit_codes::OK)
}

fn print_rules(rules: &[(&str, Level, &str)]) {
    for (id, level, doc) in rules {
        println!("{id:<40} {:<8} {doc}", format!("{level:?}").to_lowercase());
    }
}

fn run_diff(
    old: Option<PathBuf>,
    new: Option<PathBuf>,
    chain: bool,
    format: ReportFormat,
    fail_on: FailOn,
    levels: &[String],
) -> Outcome {
    let overrides = diff::parse_overrides(levels)?;
    let (mut findings, title) = match (old, new, chain) {
        (Some(dir), None, true) => (
            diff::diff_chain(&Side::load(&dir)?)?,
            format!("{} (consecutive versions)", dir.display()),
        ),
        (Some(old), Some(new), false) => (
            diff::diff_sides(&Side::load(&old)?, &Side::load(&new)?)?,
            format!("{} → {}", old.display(), new.display()),
        ),
        _ => bail!("usage: spec diff OLD NEW, or spec diff DIR --chain"),
    };
    diff::apply_overrides(&mut findings, &overrides);
    report(&findings, &title, format, fail_on)
}

fn run_drift(api: &Path, cli_dir: &Path, format: ReportFormat, fail_on: FailOn) -> Outcome {
    let set = SpecSet::load(api)?;
    let reg: crate::spec::registry::Registry =
        serde_json::from_value(crate::spec::read_json(&cli_dir.join("versions.json"))?)
            .with_context(|| format!("{}: not a version registry", cli_dir.display()))?;
    let mut findings = Vec::new();
    let mut compared = 0;
    for e in &reg.versions {
        let Some(api_doc) = set.get(&e.version).map(|v| &v.doc) else {
            continue;
        };
        let path = cli_dir.join(&e.spec);
        let spec: CliSpec = serde_json::from_value(crate::spec::read_json(&path)?)
            .with_context(|| format!("{}: not a CLI spec", path.display()))?;
        findings.extend(drift::drift(&spec, api_doc));
        compared += 1;
    }
    if compared == 0 {
        bail!(
            "{} and {} share no version",
            cli_dir.display(),
            api.display()
        );
    }
    let title = format!("CLI {} vs API {}", cli_dir.display(), api.display());
    report(&findings, &title, format, fail_on)
}

fn report(findings: &[Finding], title: &str, format: ReportFormat, fail_on: FailOn) -> Outcome {
    match format {
        ReportFormat::Json => println!("{}", serde_json::to_string_pretty(findings)?),
        ReportFormat::Text => print!("{}", diff_render::text(findings, title)),
        ReportFormat::Markdown => print!("{}", diff_render::markdown(findings, title)),
    }
    let failing = fail_on
        .threshold()
        .is_some_and(|t| findings.iter().any(|f| f.change.level >= t));
    Ok(if failing {
        exit_codes::FINDINGS
    } else {
        exit_codes::OK
    })
}

fn run_import(document: &Path, api: &str, out: &Path, overlay_path: Option<&Path>) -> Outcome {
    let text = read_document(document)?;
    let name = document
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if api == cli::import::API_PREFIX {
        let output = cli::import::import(&text, &name)
            .map_err(|e| anyhow::anyhow!("{}: {e}", document.display()))?;
        return write_output(out, &output);
    }
    let layout = Layout::for_api(api);
    if layout != Layout::Scp {
        // Page layouts: the overlay gives what the page cannot (operationId, status, …).
        let default_overlay = out.join("overlay.json");
        let p = overlay_path
            .map(Path::to_path_buf)
            .or_else(|| default_overlay.exists().then_some(default_overlay))
            .with_context(|| {
                format!(
                    "--api {api} needs an overlay (--overlay, or {}/overlay.json)",
                    out.display()
                )
            })?;
        let t = std::fs::read_to_string(&p)
            .with_context(|| format!("cannot read overlay {}", p.display()))?;
        let overlay =
            PageOverlay::from_json(&t).with_context(|| format!("overlay {}", p.display()))?;
        if overlay.api != api {
            bail!(
                "--api {api} does not match the overlay's api '{}'",
                overlay.api
            );
        }
        let output = import_page(layout, &text, &name, &overlay)
            .map_err(|e| anyhow::anyhow!("{}: {e}", document.display()))?;
        return write_output(out, &output);
    }
    let overlay = load_overlay(api, out, overlay_path)?;
    // Everything is produced in memory first: a failure leaves --out untouched.
    let output = import(&text, &name, &overlay)
        .map_err(|e| anyhow::anyhow!("{}: {e}", document.display()))?;
    write_output(out, &output)
}

fn run_import_openapi(
    document: &str,
    api: &str,
    out: &Path,
    overlay_path: Option<&Path>,
    paths: &[String],
    version: Option<&str>,
    headers: &[String],
) -> Outcome {
    if paths.is_empty() {
        bail!("--from openapi needs --paths TEXT (e.g. --paths /transit/)");
    }
    let is_url = document.starts_with("http://") || document.starts_with("https://");
    if !is_url && !headers.is_empty() {
        bail!("--header applies only when the document is a URL");
    }
    let (text, name) = if is_url {
        (fetch_document(document, headers)?, document.to_string())
    } else {
        let p = Path::new(document);
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        (read_document(p)?, name)
    };
    let overlay = load_overlay(api, out, overlay_path)?;
    let existing = if out.join("versions.json").exists() {
        let (registry, docs) = crate::spec::read_registry_and_docs(out)?;
        Some(from_openapi::Existing { registry, docs })
    } else {
        None
    };
    let opts = from_openapi::Options {
        document_name: &name,
        paths,
        version,
    };
    // Everything is produced in memory first: a failure leaves --out untouched.
    let output = from_openapi::import(&text, &opts, &overlay, existing).map_err(|e| {
        let hint = if is_url && headers.is_empty() && e.0.starts_with("no path matches") {
            " (without --header, a server may list only the paths that need no credentials)"
        } else {
            ""
        };
        anyhow::anyhow!("{document}: {e}{hint}")
    })?;
    write_output(out, &output)
}

/// GET the document (OpenBao lists authenticated paths only to a token: pass it as a header).
fn fetch_document(url: &str, headers: &[String]) -> anyhow::Result<String> {
    let mut map = reqwest::header::HeaderMap::new();
    for h in headers {
        let (k, v) = h
            .split_once(':')
            .with_context(|| format!("--header '{h}' is not NAME: VALUE"))?;
        map.insert(
            reqwest::header::HeaderName::from_bytes(k.trim().as_bytes())
                .with_context(|| format!("--header '{h}': bad name"))?,
            reqwest::header::HeaderValue::from_str(v.trim())
                .with_context(|| format!("--header '{h}': bad value"))?,
        );
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let resp = reqwest::Client::new()
            .get(url)
            .headers(map)
            .timeout(std::time::Duration::from_secs(60))
            .send()
            .await
            .with_context(|| format!("cannot fetch {url}"))?;
        let status = resp.status();
        let body = resp
            .text()
            .await
            .with_context(|| format!("cannot read the body of {url}"))?;
        if !status.is_success() {
            bail!(
                "{url} answered HTTP {status}: {}",
                body.chars().take(200).collect::<String>()
            );
        }
        Ok(body)
    })
}

fn load_overlay(api: &str, out: &Path, overlay_path: Option<&Path>) -> anyhow::Result<Overlay> {
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
    Ok(overlay)
}

fn read_document(document: &Path) -> anyhow::Result<String> {
    let text = std::fs::read(document)
        .with_context(|| format!("cannot read vendor document {}", document.display()))?;
    let text = String::from_utf8(text).map_err(|e| {
        anyhow::anyhow!(
            "{}: not UTF-8 text (byte {})",
            document.display(),
            e.utf8_error().valid_up_to()
        )
    })?;
    Ok(text)
}

fn write_output(out: &Path, output: &ImportOutput) -> Outcome {
    for (file, body) in &output.files {
        let path = out.join(file);
        let dir = path.parent().unwrap_or(out);
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        crate::report::write_atomic(&path, body.as_bytes())?;
    }
    for (file, _) in &output.files {
        println!("wrote {}", out.join(file).display());
    }
    Ok(exit_codes::OK)
}

fn run_lint(dir: &Path, as_of: chrono::NaiveDate, format: Format) -> Outcome {
    let findings = if cli::lint::is_cli_dir(dir) {
        cli::lint::lint(dir, as_of)?
    } else {
        lint(&SpecSet::load_lenient(dir)?, as_of)
    };
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
