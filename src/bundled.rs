//! The default specs and suites, compiled into the binary, so an installed `kmsconform` works
//! outside the repository. Files on disk always take precedence: these are read only when a
//! default relative path (`specs/scp-kms/…`, `suites/scp-kms/…`) does not exist.

use std::path::{Path, PathBuf};

macro_rules! bundle {
    ($($path:literal),* $(,)?) => {
        const FILES: &[(&str, &str)] = &[$(($path, include_str!(concat!("../", $path)))),*];
    };
}

bundle!(
    "specs/ncp-kms/profile.json",
    "specs/ncp-kms/versions.json",
    "specs/ncp-kms/v1.json",
    "specs/openbao-transit/profile.json",
    "specs/openbao-transit/versions.json",
    "specs/openbao-transit/2.6.1.json",
    "specs/openbao-transit/2.7.2.json",
    "specs/otc-kms/profile.json",
    "specs/otc-kms/versions.json",
    "specs/otc-kms/v1.0.json",
    "specs/scp-kms/profile.json",
    "specs/scp-kms/versions.json",
    "specs/scp-kms/1.0.json",
    "specs/scp-kms/1.1.json",
    "specs/scp-kms/1.2.json",
    "specs/scp-kms/1.3.json",
    "suites/ncp-kms/generation.json",
    "suites/ncp-kms/get_key.json",
    "suites/otc-kms/generation.json",
    "suites/otc-kms/describe_key.json",
    "suites/openbao-transit/crypto_roundtrip_aes256.json",
    "suites/openbao-transit/crypto_roundtrip_chacha20.json",
    "suites/openbao-transit/crypto_roundtrip_rsa2048.json",
    "suites/openbao-transit/datakey.json",
    "suites/openbao-transit/generation.json",
    "suites/openbao-transit/hmac.json",
    "suites/openbao-transit/key_config_list_delete.json",
    "suites/openbao-transit/rotate_rewrap.json",
    "suites/openbao-transit/sign_verify.json",
    "suites/openbao-transit-departures/departures.json",
    "suites/openbao-transit-departures/generation.json",
    "suites/scp-kms/generation.json",
    "suites/scp-kms/crypto_roundtrip_aes256.json",
    "suites/scp-kms/crypto_roundtrip_aria.json",
    "suites/scp-kms/datakey.json",
    "suites/shared/crypto_roundtrip.json",
    "suites/scp-kms/duplicate_name.json",
    "suites/scp-kms/lifecycle.json",
    "suites/scp-kms/pagination.json",
    "suites/scp-kms/sign_verify_hmac.json",
    "suites/scp-kms/version_gating.json",
);

fn key(path: &Path) -> Option<String> {
    let p = path.to_str()?;
    Some(p.strip_prefix("./").unwrap_or(p).to_string())
}

/// The bundled text of a default file that is not on disk.
pub fn read(path: &Path) -> Option<&'static str> {
    if path.exists() {
        return None;
    }
    let k = key(path)?;
    FILES.iter().find(|f| f.0 == k).map(|f| f.1)
}

/// Read a file from disk, or its bundled copy when a default path is missing.
pub fn read_to_string(path: &Path) -> std::io::Result<String> {
    match std::fs::read_to_string(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => read(path).map(String::from).ok_or(e),
        other => other,
    }
}

/// The bundled files of a default directory that is not on disk.
pub fn list_dir(dir: &Path) -> Option<Vec<PathBuf>> {
    if dir.exists() {
        return None;
    }
    let k = key(dir)?;
    let k = k.trim_end_matches('/');
    let files: Vec<PathBuf> = FILES
        .iter()
        .filter(|f| Path::new(f.0).parent().and_then(Path::to_str) == Some(k))
        .map(|f| PathBuf::from(f.0))
        .collect();
    (!files.is_empty()).then_some(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every spec and suite file of the repository is bundled (and nothing else), so an
    /// installed binary runs what the repository runs.
    #[test]
    fn the_bundle_matches_the_repository() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut on_disk: Vec<String> = Vec::new();
        let mut dirs: Vec<String> = Vec::new();
        for top in ["specs", "suites"] {
            for e in std::fs::read_dir(root.join(top)).unwrap() {
                let e = e.unwrap();
                let name = e.file_name().into_string().unwrap();
                // CLI specs are read by `spec` commands from their own directories.
                if e.path().is_dir() && name != "scp-cli" {
                    dirs.push(format!("{top}/{name}"));
                }
            }
        }
        for dir in &dirs {
            for e in std::fs::read_dir(root.join(dir)).unwrap() {
                let name = e.unwrap().file_name().into_string().unwrap();
                if name.ends_with(".json") && name != "overlay.json" {
                    on_disk.push(format!("{dir}/{name}"));
                }
            }
        }
        on_disk.sort();
        let mut bundled: Vec<String> = FILES.iter().map(|f| f.0.to_string()).collect();
        bundled.sort();
        assert_eq!(
            on_disk, bundled,
            "add new spec or suite files to src/bundled.rs"
        );
    }

    #[test]
    fn files_on_disk_and_unknown_paths_are_not_served_from_the_bundle() {
        // Relative to the test's working directory (the crate root) the files exist: disk wins.
        // The fallback itself is exercised by tests/robustness.rs from an empty directory.
        assert!(read(Path::new("specs/scp-kms/1.3.json")).is_none());
        assert!(read(Path::new("/nonexistent/specs/scp-kms/1.3.json")).is_none());
    }
}
