//! `spec import`: the vendor's printable API reference → one OpenAPI 3.1 document per API
//! version plus the version registry. Pure: text in, files out; the CLI writes them.
//!
//! Layouts: the SCP reference (`parse`, `openapi`: many operations and versions in one
//! document) and single-operation pages (`page`), read by one format module per vendor
//! (`ncp`, `otc`). [`Layout::for_api`] picks the layout from the `--api` id.

pub mod from_openapi;
pub mod infer;
pub mod ncp;
pub mod openapi;
pub mod otc;
pub mod page;
pub mod page_overlay;
pub mod page_text;
pub mod parse;
pub mod schema_expr;

use crate::spec::changes;
use crate::spec::overlay::Overlay;
use crate::spec::registry::{Registry, VersionEntry};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::fmt;

/// An import failure, located in the vendor document (line 0: in the overlay).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportError {
    pub line: usize,
    pub message: String,
}

impl ImportError {
    pub fn at(line: usize, message: impl Into<String>) -> Self {
        Self {
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "overlay: {}", self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

impl std::error::Error for ImportError {}

/// Files to write, relative to the output directory, in a stable order.
#[derive(Debug)]
pub struct ImportOutput {
    pub files: Vec<(String, String)>,
}

/// The document layout an API's vendor publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// The SCP printable API reference (the default).
    Scp,
    /// Naver Cloud Platform API pages (Korean).
    Ncp,
    /// Open Telekom Cloud API pages.
    Otc,
}

impl Layout {
    /// By the API id's vendor prefix: `ncp-…`, `otc-…`; anything else reads the SCP layout.
    pub fn for_api(api: &str) -> Layout {
        match api.split('-').next() {
            Some("ncp") => Layout::Ncp,
            Some("otc") => Layout::Otc,
            _ => Layout::Scp,
        }
    }
}

/// A single-operation page (NCP, OTC layouts) plus its overlay -> spec files.
pub fn import_page(
    layout: Layout,
    text: &str,
    document_name: &str,
    overlay: &page::PageOverlay,
) -> Result<ImportOutput, ImportError> {
    let page = match layout {
        Layout::Ncp => ncp::parse(text)?,
        Layout::Otc => otc::parse(text)?,
        Layout::Scp => {
            return Err(ImportError::at(
                0,
                "the SCP layout is not a single-operation page",
            ))
        }
    };
    let name = overlay.document.as_deref().unwrap_or(document_name);
    page::build(&page, text, name, overlay)
}

pub fn version_key(v: &str) -> (u32, u32) {
    let (a, b) = v.split_once('.').unwrap_or((v, "0"));
    (a.parse().unwrap_or(0), b.parse().unwrap_or(0))
}

pub fn import(
    text: &str,
    document_name: &str,
    overlay: &Overlay,
) -> Result<ImportOutput, ImportError> {
    for (set, name) in [
        (!overlay.servers.is_empty(), "servers"),
        (!overlay.response_patches.is_empty(), "responsePatches"),
        (
            !overlay.request_body_patches.is_empty(),
            "requestBodyPatches",
        ),
    ] {
        if set {
            return Err(ImportError::at(
                0,
                format!("{name} is applied only when importing --from openapi"),
            ));
        }
    }
    overlay.check_bases().map_err(|e| ImportError::at(0, e))?;
    let doc = parse::parse(text)?;
    let models = openapi::build_models(&doc, overlay)?;
    let sha = hex::encode(Sha256::digest(text.as_bytes()));
    let source = json!({"document": document_name, "sha256": sha});
    let shared = openapi::Shared {
        doc: &doc,
        overlay,
        models: &models,
        source: source.clone(),
    };

    // Every version an operation documents must be in the Version table, and vice versa.
    for op in &doc.operations {
        for v in &op.versions {
            if !doc.versions.iter().any(|r| r.version == v.version) {
                return Err(ImportError::at(
                    v.line,
                    format!(
                        "operation '{}' documents version {} which the Version table does not list",
                        op.title, v.version
                    ),
                ));
            }
        }
    }
    let mut rows = doc.versions.clone();
    rows.sort_by_key(|r| version_key(&r.version));

    let mut files = Vec::new();
    let mut entries = Vec::new();
    let mut previous: Option<(String, serde_json::Value)> = None;
    for row in &rows {
        let spec = openapi::build_version(&shared, &row.version)?;
        let operations = changes::operations(&spec).len();
        let declared = match &previous {
            Some((_, prev)) => changes::diff(prev, &spec),
            None => Vec::new(),
        };
        entries.push(VersionEntry {
            version: row.version.clone(),
            status: row.status.clone(),
            not_before: row.not_before.as_deref().map(openapi::iso_date),
            spec: format!("{}.json", row.version),
            operations,
            previous: previous.as_ref().map(|p| p.0.clone()),
            changes: declared,
        });
        let mut body = serde_json::to_string_pretty(&spec).expect("JSON values serialise");
        body.push('\n');
        files.push((format!("{}.json", row.version), body));
        previous = Some((row.version.clone(), spec));
    }
    let registry = Registry {
        api: overlay.api.clone(),
        title: doc.title.clone(),
        source,
        versions: entries,
    };
    let mut body = serde_json::to_string_pretty(&registry).expect("registry serialises");
    body.push('\n');
    files.push(("versions.json".into(), body));
    Ok(ImportOutput { files })
}
