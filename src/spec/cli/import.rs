//! `spec import --api scp-cli`: a printable CLI reference → per service
//! `<service>/<version>.json` (CLI specs) and `<service>/versions.json` (the same registry
//! shape as the API's, with changes declared by the `spec diff` rules).

use super::parse::{self, field, vocabulary, ServiceDoc};
use super::{as_openapi, CliCommand, CliSpec};
use crate::spec::changes;
use crate::spec::import::openapi::{iso_date, operation_id};
use crate::spec::import::{version_key, ImportError, ImportOutput};
use crate::spec::registry::{Registry, VersionEntry};
use serde_json::json;
use sha2::{Digest, Sha256};

pub const API_PREFIX: &str = "scp-cli";

pub fn import(text: &str, document_name: &str) -> Result<ImportOutput, ImportError> {
    let services = parse::parse(text)?;
    let words = vocabulary(&services);
    let source =
        json!({"document": document_name, "sha256": hex::encode(Sha256::digest(text.as_bytes()))});
    let mut files = Vec::new();
    for s in &services {
        let slug = service_slug(s)?;
        let specs = service_specs(s, &slug, &words)?;
        let mut entries = Vec::new();
        let mut previous: Option<&CliSpec> = None;
        for spec in &specs {
            entries.push(VersionEntry {
                version: spec.version.clone(),
                status: spec.status.clone(),
                not_before: spec.not_before.clone(),
                spec: format!("{}.json", spec.version),
                operations: spec.commands.len(),
                previous: previous.map(|p| p.version.clone()),
                changes: previous
                    .map(|p| changes::diff(&as_openapi(p), &as_openapi(spec)))
                    .unwrap_or_default(),
            });
            files.push((format!("{slug}/{}.json", spec.version), pretty(spec)));
            previous = Some(spec);
        }
        let registry = Registry {
            api: format!("{API_PREFIX}/{slug}"),
            title: s.title.clone(),
            source: source.clone(),
            versions: entries,
        };
        files.push((format!("{slug}/versions.json"), pretty(&registry)));
    }
    Ok(ImportOutput { files })
}

fn pretty<T: serde::Serialize>(v: &T) -> String {
    let mut body = serde_json::to_string_pretty(v).expect("JSON values serialise");
    body.push('\n');
    body
}

/// The CLI's own service word: `scpcli kms kms create` → `kms`.
fn service_slug(s: &ServiceDoc) -> Result<String, ImportError> {
    let first = s.commands.iter().flat_map(|c| &c.versions).next();
    first
        .and_then(|cv| cv.command.split_whitespace().nth(1))
        .map(str::to_string)
        .ok_or_else(|| {
            ImportError::at(
                s.line,
                format!(
                    "service '{}': no 'scpcli <service> …' command line",
                    s.title
                ),
            )
        })
}

fn service_specs(
    s: &ServiceDoc,
    slug: &str,
    words: &std::collections::BTreeSet<String>,
) -> Result<Vec<CliSpec>, ImportError> {
    for c in &s.commands {
        for cv in &c.versions {
            if cv.command.is_empty() {
                return Err(ImportError::at(
                    cv.line,
                    format!(
                        "'{}' version {}: no 'scpcli …' command line",
                        c.title, cv.version
                    ),
                ));
            }
            if !s.versions.iter().any(|r| r.version == cv.version) {
                return Err(ImportError::at(
                    cv.line,
                    format!(
                        "'{}' documents version {} which the service's Version table does not list",
                        c.title, cv.version
                    ),
                ));
            }
        }
    }
    let mut rows = s.versions.clone();
    rows.sort_by_key(|r| version_key(&r.version));
    Ok(rows
        .iter()
        .map(|row| CliSpec {
            service: slug.to_string(),
            title: s.title.clone(),
            version: row.version.clone(),
            status: row.status.clone(),
            not_before: (row.not_before != "-").then(|| iso_date(&row.not_before)),
            commands: s
                .commands
                .iter()
                .filter_map(|c| {
                    let cv = c.versions.iter().find(|v| v.version == row.version)?;
                    Some(CliCommand {
                        id: operation_id(&c.title),
                        title: c.title.clone(),
                        command: cv.command.clone(),
                        flags: cv.flags.clone(),
                        response: cv.response.iter().map(|r| field(r, words)).collect(),
                    })
                })
                .collect(),
        })
        .collect())
}
