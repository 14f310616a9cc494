//! Machine-readable specs: import from vendor documents, lint, diff, and loading a spec
//! directory (`specs/<api>/`: `versions.json` plus one OpenAPI document per version).

pub mod changes;
pub mod cli;
pub mod compare;
pub mod diff;
pub mod diff_render;
pub mod drift;
pub mod import;
pub mod lint;
pub mod overlay;
pub mod registry;
pub mod validate;

use registry::Registry;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A loaded spec directory.
#[derive(Debug, Clone)]
pub struct SpecSet {
    pub dir: PathBuf,
    pub registry: Registry,
    /// version → OpenAPI document.
    pub docs: BTreeMap<String, Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not valid JSON: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

pub fn read_json(path: &Path) -> Result<Value, SpecError> {
    let text = crate::bundled::read_to_string(path).map_err(|source| SpecError::Io {
        path: path.into(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| SpecError::Json {
        path: path.into(),
        source,
    })
}

impl SpecSet {
    pub fn load(dir: &Path) -> Result<Self, SpecError> {
        let reg_path = dir.join("versions.json");
        let registry: Registry =
            serde_json::from_value(read_json(&reg_path)?).map_err(|e| SpecError::Invalid {
                path: reg_path.clone(),
                message: format!("not a version registry: {e}"),
            })?;
        let mut docs = BTreeMap::new();
        for v in &registry.versions {
            let p = dir.join(&v.spec);
            let doc = read_json(&p)?;
            let declared = doc.pointer("/info/version").and_then(Value::as_str);
            if declared != Some(v.version.as_str()) {
                return Err(SpecError::Invalid {
                    path: p,
                    message: format!(
                        "info.version is {declared:?}, the registry says {}",
                        v.version
                    ),
                });
            }
            docs.insert(v.version.clone(), doc);
        }
        if docs.is_empty() {
            return Err(SpecError::Invalid {
                path: reg_path,
                message: "the registry lists no version".into(),
            });
        }
        Ok(Self {
            dir: dir.into(),
            registry,
            docs,
        })
    }

    pub fn versions(&self) -> impl Iterator<Item = &str> {
        self.registry.versions.iter().map(|v| v.version.as_str())
    }
}
