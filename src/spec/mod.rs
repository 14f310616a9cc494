//! Machine-readable specs: import from vendor documents, lint, diff, and loading a spec
//! directory (`specs/<api>/`: `profile.json`, `versions.json` and one OpenAPI document per
//! version) into the one typed model the engine uses.

pub mod basis;
pub mod changes;
pub mod cli;
pub mod compare;
pub mod diff;
pub mod diff_render;
pub mod drift;
pub mod examples;
pub mod import;
pub mod lint;
pub mod model;
pub mod overlay;
pub mod profile;
pub mod registry;
pub mod validate;

pub use model::{Operation, Param};
pub use profile::Profile;

use registry::Registry;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use validate::SchemaSet;

/// One version of a loaded spec: its document, compiled schemas and operations.
pub struct VersionSpec {
    pub version: String,
    pub doc: Value,
    pub schemas: SchemaSet,
    /// Document order.
    pub operations: Vec<Operation>,
}

impl VersionSpec {
    pub fn operation(&self, id: &str) -> Option<&Operation> {
        self.operations.iter().find(|o| o.operation_id == id)
    }
}

/// A loaded spec directory.
pub struct SpecSet {
    pub dir: PathBuf,
    pub profile: Profile,
    pub registry: Registry,
    /// Registry order (oldest first).
    pub versions: Vec<VersionSpec>,
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
    #[error("{path}: {pointer}: {reason}")]
    Shape {
        path: PathBuf,
        pointer: String,
        reason: String,
    },
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

/// A directory's registry and documents as they are (no profile, no validation): what an
/// importer adding a version needs.
pub fn read_registry_and_docs(
    dir: &Path,
) -> Result<(Registry, BTreeMap<String, Value>), SpecError> {
    let reg_path = dir.join("versions.json");
    let registry: Registry =
        serde_json::from_value(read_json(&reg_path)?).map_err(|e| SpecError::Invalid {
            path: reg_path.clone(),
            message: format!("not a version registry: {e}"),
        })?;
    let mut docs = BTreeMap::new();
    for v in &registry.versions {
        docs.insert(v.version.clone(), read_json(&dir.join(&v.spec))?);
    }
    Ok((registry, docs))
}

impl SpecSet {
    /// Loads and validates a spec directory: every problem found here is an input error,
    /// reported before any request is sent.
    pub fn load(dir: &Path) -> Result<Self, SpecError> {
        Self::load_with(dir, true)
    }

    /// Loads a spec directory for `spec lint`, which reports dangling references and broken
    /// schemas as findings instead of refusing the directory.
    pub fn load_lenient(dir: &Path) -> Result<Self, SpecError> {
        Self::load_with(dir, false)
    }

    fn load_with(dir: &Path, strict: bool) -> Result<Self, SpecError> {
        let prof_path = dir.join("profile.json");
        let profile: Profile =
            serde_json::from_value(read_json(&prof_path)?).map_err(|e| SpecError::Invalid {
                path: prof_path.clone(),
                message: format!("not an API profile: {e}"),
            })?;
        let reg_path = dir.join("versions.json");
        let registry: Registry =
            serde_json::from_value(read_json(&reg_path)?).map_err(|e| SpecError::Invalid {
                path: reg_path.clone(),
                message: format!("not a version registry: {e}"),
            })?;
        if registry.api != profile.api {
            return Err(SpecError::Invalid {
                path: reg_path,
                message: format!(
                    "the registry is for '{}' but profile.json says '{}'",
                    registry.api, profile.api
                ),
            });
        }
        for v in &registry.versions {
            if profile.registry.meaning(&v.status).is_none() {
                return Err(SpecError::Invalid {
                    path: reg_path.clone(),
                    message: format!(
                        "version {} has status '{}', which profile.json's registry vocabulary does not define",
                        v.version, v.status
                    ),
                });
            }
        }
        let mut versions = Vec::new();
        for v in &registry.versions {
            let p = dir.join(&v.spec);
            let doc = read_json(&p)?;
            versions.push(Self::version(&p, &v.version, doc, strict)?);
        }
        if versions.is_empty() {
            return Err(SpecError::Invalid {
                path: reg_path,
                message: "the registry lists no version".into(),
            });
        }
        Ok(Self {
            dir: dir.into(),
            profile,
            registry,
            versions,
        })
    }

    fn version(
        path: &Path,
        version: &str,
        doc: Value,
        strict: bool,
    ) -> Result<VersionSpec, SpecError> {
        let shape = |pointer: String, reason: String| SpecError::Shape {
            path: path.into(),
            pointer,
            reason,
        };
        if !doc.is_object() {
            return Err(shape(
                String::new(),
                "an OpenAPI document must be an object".into(),
            ));
        }
        let declared = doc.pointer("/info/version").and_then(Value::as_str);
        if declared != Some(version) {
            return Err(shape(
                "/info/version".into(),
                format!("is {declared:?}, the registry says {version}"),
            ));
        }
        if !strict {
            let operations = model::operations(&doc).unwrap_or_default();
            return Ok(VersionSpec {
                version: version.to_string(),
                schemas: SchemaSet::new(&doc),
                doc,
                operations,
            });
        }
        if let Some((at, target)) = model::dangling_refs(&doc).into_iter().next() {
            return Err(shape(
                at,
                format!("'{target}' names nothing in the document"),
            ));
        }
        if let Some((at, why)) = basis::malformed(&doc).into_iter().next() {
            return Err(shape(at, why));
        }
        let operations = model::operations(&doc).map_err(|e| shape(e.pointer, e.reason))?;
        if operations.is_empty() {
            return Err(shape("/paths".into(), "documents no operation".into()));
        }
        let schemas = SchemaSet::new(&doc);
        // Compile every documented schema now: a broken one is an input error, not a finding.
        for op in &operations {
            let schemas_of_op = op
                .responses
                .values()
                .filter_map(|r| r.schema.as_ref())
                .chain(op.body.iter())
                .chain(op.params.iter().map(|p| &p.schema));
            for s in schemas_of_op {
                if let Err(e) = schemas.validator(s) {
                    return Err(shape(
                        format!("/paths ({})", op.operation_id),
                        format!("a schema does not compile: {e}"),
                    ));
                }
            }
        }
        Ok(VersionSpec {
            version: version.to_string(),
            doc,
            schemas,
            operations,
        })
    }

    /// Version ids in registry order.
    pub fn version_ids(&self) -> impl Iterator<Item = &str> {
        self.versions.iter().map(|v| v.version.as_str())
    }

    pub fn get(&self, version: &str) -> Option<&VersionSpec> {
        self.versions.iter().find(|v| v.version == version)
    }

    /// The newest version in registry order.
    pub fn latest(&self) -> &VersionSpec {
        self.versions
            .last()
            .expect("load refuses an empty registry")
    }

    pub fn api(&self) -> &str {
        &self.profile.api
    }

    /// Every operation any version documents: operationId → (method, path).
    pub fn all_operations(&self) -> BTreeMap<String, (String, String)> {
        self.versions
            .iter()
            .flat_map(|v| {
                v.operations
                    .iter()
                    .map(|o| (o.operation_id.clone(), (o.method.clone(), o.path.clone())))
            })
            .collect()
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
