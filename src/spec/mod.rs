//! Machine-readable specs: import from vendor documents, lint, diff, and loading a spec
//! directory (`specs/<api>/`: `versions.json` plus one OpenAPI document per version).

pub mod changes;
pub mod cli;
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

/// The base path requests go under: the path part of `servers[0].url` with its variables at
/// their defaults (`{origin}/v1` → `/v1`; `https://kms.{region}.example.com` → ``).
pub fn base_path(doc: &Value) -> String {
    let Some(server) = doc.pointer("/servers/0") else {
        return String::new();
    };
    let mut url = server
        .get("url")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    for (name, var) in server
        .get("variables")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let default = var.get("default").and_then(Value::as_str).unwrap_or("");
        url = url.replace(&format!("{{{name}}}"), default);
    }
    let after_scheme = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map(|i| &rest[i..]).unwrap_or(""),
        None => url.as_str(),
    };
    after_scheme.trim_end_matches('/').to_string()
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base_path_is_the_server_urls_path() {
        let ob = json!({"servers": [{"url": "{origin}/v1", "variables": {"origin": {"default": "http://127.0.0.1:8200"}}}]});
        assert_eq!(base_path(&ob), "/v1");
        let scp = json!({"servers": [{"url": "https://kms.{region}.{environment}.samsungsdscloud.com",
            "variables": {"region": {"default": "kr-west1"}, "environment": {"default": "e"}}}]});
        assert_eq!(base_path(&scp), "");
        assert_eq!(base_path(&json!({"servers": [{"url": "/api/"}]})), "/api");
        assert_eq!(base_path(&json!({})), "");
    }
}
