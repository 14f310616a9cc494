//! The embedded reference targets, one per API: the one place that knows which server serves
//! which API, how its faults and variants are named, what it seeds (the fixtures a suite may
//! name, e.g. a key the API offers no way to create) and its documented credentials.

use super::{ncp, otc, Config, CryptoChoice, Fault, RunningServer, Sunset, Variant};
use crate::target::sign::{CredentialSet, Credentials};
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// The APIs with an embedded reference target.
pub const APIS: &[&str] = &[super::DEFAULT_API, "ncp-kms", "otc-kms"];

/// What to start: fault and variant names as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub faults: Vec<String>,
    pub variants: Vec<String>,
    /// Retire versions as of a date (deprecation probes; the SCP reference).
    pub sunset: Option<Sunset>,
    /// Where the SCP reference's cryptography runs (`--crypto`).
    pub crypto: CryptoChoice,
    /// Credentials the server accepts instead of its documented ones (`serve`).
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
}

pub struct Embedded {
    pub server: RunningServer,
    /// The server's credentials, named as the API's profile names them.
    pub credentials: CredentialSet,
    /// Fixtures the server seeds, bound in suites and generation.json by name.
    pub params: BTreeMap<String, String>,
    /// e.g. `embedded (faults: a; variants: b)`.
    pub label: String,
    /// One line for `serve`: where, and with which documented credentials.
    pub banner: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("there is no embedded reference target for API '{0}' (known: {known})", known = APIS.join(", "))]
    UnknownApi(String),
    #[error("{0} (see `kmsconform serve --api {1} --list-faults`)")]
    Fault(String, String),
    #[error("{0}")]
    Variant(String),
    #[error("{0} applies to the {api} reference only", api = super::DEFAULT_API)]
    NotHere(&'static str),
    /// `--crypto` names no usable engine choice (a malformed URL, no token).
    #[error("{0}")]
    Crypto(String),
    /// The crypto engine does not answer usably at start (unreachable, unhealthy, token
    /// refused, no transit mount).
    #[error("the embedded target's crypto engine: {0}")]
    Engine(String),
    #[error("cannot start the embedded target: {0}")]
    Start(String),
}

impl EmbeddedError {
    /// A bad name is the user's input; a failed start is the machine's.
    pub fn is_input(&self) -> bool {
        !matches!(self, EmbeddedError::Start(_) | EmbeddedError::Engine(_))
    }
    /// The engine, not the harness, is at fault.
    pub fn is_unusable(&self) -> bool {
        matches!(self, EmbeddedError::Engine(_))
    }
}

/// (name, description) of each fault of the API's reference.
pub fn faults(api: &str) -> Result<Vec<(&'static str, &'static str)>, EmbeddedError> {
    Ok(match api {
        a if a == super::DEFAULT_API => Fault::all()
            .iter()
            .map(|f| (f.name(), f.description()))
            .collect(),
        "ncp-kms" => ncp::NcpFault::all()
            .iter()
            .map(|f| (f.name(), f.description()))
            .collect(),
        "otc-kms" => otc::OtcFault::all()
            .iter()
            .map(|f| (f.name(), f.description()))
            .collect(),
        other => return Err(EmbeddedError::UnknownApi(other.into())),
    })
}

/// (name, description) of each variant of the API's reference.
pub fn variants(api: &str) -> Result<Vec<(&'static str, &'static str)>, EmbeddedError> {
    match api {
        a if a == super::DEFAULT_API => Ok(Variant::all()
            .iter()
            .map(|v| (v.name(), v.description()))
            .collect()),
        "ncp-kms" | "otc-kms" => Ok(vec![]),
        other => Err(EmbeddedError::UnknownApi(other.into())),
    }
}

fn parse_faults<F: std::str::FromStr<Err = super::UnknownFault>>(
    names: &[String],
    api: &str,
) -> Result<Vec<F>, EmbeddedError> {
    names
        .iter()
        .map(|n| {
            n.parse::<F>()
                .map_err(|e| EmbeddedError::Fault(e.to_string(), api.into()))
        })
        .collect()
}

/// Checks names and options without starting anything.
pub fn validate(api: &str, o: &Options) -> Result<(), EmbeddedError> {
    match api {
        a if a == super::DEFAULT_API => {
            parse_faults::<Fault>(&o.faults, api)?;
            Variant::parse_list(&o.variants).map_err(|e| EmbeddedError::Variant(e.to_string()))?;
            o.crypto.resolve().map_err(EmbeddedError::Crypto)?;
        }
        "ncp-kms" | "otc-kms" => {
            if api == "ncp-kms" {
                parse_faults::<ncp::NcpFault>(&o.faults, api)?;
            } else {
                parse_faults::<otc::OtcFault>(&o.faults, api)?;
            }
            if !o.variants.is_empty() {
                return Err(EmbeddedError::NotHere("--variant"));
            }
            if o.sunset.is_some() {
                return Err(EmbeddedError::NotHere("--enforce-sunset"));
            }
            if o.crypto != CryptoChoice::Local {
                return Err(EmbeddedError::NotHere("--crypto"));
            }
        }
        other => return Err(EmbeddedError::UnknownApi(other.into())),
    }
    Ok(())
}

fn with_keys(mut c: Credentials, o: &Options) -> Credentials {
    if let Some(k) = &o.access_key {
        c.access_key = k.clone();
    }
    if let Some(k) = &o.secret_key {
        c.secret_key = k.clone();
    }
    c
}

fn credential_set(c: &Credentials) -> CredentialSet {
    CredentialSet(
        [
            ("access_key", c.access_key.clone()),
            ("secret_key", c.secret_key.clone()),
            ("account_id", c.account_id.clone()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    )
}

/// Starts the API's reference server on 127.0.0.1 (a free port), for a run.
pub async fn start(api: &str, o: &Options) -> Result<Embedded, EmbeddedError> {
    serve(api, o, "127.0.0.1:0".parse().expect("loopback address")).await
}

/// Starts the API's reference server on `addr`.
pub async fn serve(api: &str, o: &Options, addr: SocketAddr) -> Result<Embedded, EmbeddedError> {
    validate(api, o)?;
    let start_err =
        |e: anyhow::Error| EmbeddedError::Start(format!("cannot listen on {addr}: {e:#}"));
    // The documented default secret may be printed; one given on the command line is not.
    let shown = |c: &Credentials| {
        if o.secret_key.is_some() {
            "as given".to_string()
        } else {
            c.secret_key.clone()
        }
    };
    let mut parts = Vec::new();
    if !o.faults.is_empty() {
        parts.push(format!("faults: {}", o.faults.join(",")));
    }
    if !o.variants.is_empty() {
        parts.push(format!("variants: {}", o.variants.join(",")));
    }
    let (server, creds, params, banner) = match api {
        a if a == super::DEFAULT_API => {
            let crypto = o.crypto.resolve().map_err(EmbeddedError::Crypto)?;
            let engine = crypto.check().await.map_err(EmbeddedError::Engine)?;
            if o.crypto != CryptoChoice::Local {
                parts.push(format!("crypto: {engine}"));
            }
            let cfg = Config {
                faults: parse_faults(&o.faults, api)?,
                variants: Variant::parse_list(&o.variants)
                    .map_err(|e| EmbeddedError::Variant(e.to_string()))?,
                sunset: o.sunset.clone(),
                crypto,
                credentials: with_keys(Config::default().credentials, o),
                ..Default::default()
            };
            let creds = cfg.credentials.clone();
            let server = super::spawn(cfg, addr).await.map_err(start_err)?;
            let banner = format!(
                "{api} reference target on {} (access key {}, secret key {}; variants: {}; crypto: {engine})",
                server.base_url(),
                creds.access_key,
                shown(&creds),
                if o.variants.is_empty() { "none".to_string() } else { o.variants.join(",") }
            );
            (server, creds, BTreeMap::new(), banner)
        }
        "ncp-kms" => {
            let cfg = ncp::Config {
                faults: parse_faults(&o.faults, api)?,
                credentials: with_keys(ncp::Config::default().credentials, o),
                ..Default::default()
            };
            let creds = cfg.credentials.clone();
            let server = ncp::spawn(cfg, addr).await.map_err(start_err)?;
            let keys = ncp::seeded_keys();
            let mut params = BTreeMap::new();
            params.insert("key_tag".to_string(), keys[0].key_tag.clone());
            if let Some(k) = keys.iter().find(|k| k.destroy_date.is_some()) {
                params.insert("scheduled_key_tag".to_string(), k.key_tag.clone());
            }
            let banner = format!(
                "{api} reference target on {b}, server URL {b}{} (access key {}, secret key {}; key tag {})",
                ncp::BASE_PATH,
                creds.access_key,
                shown(&creds),
                params["key_tag"],
                b = server.base_url()
            );
            (server, creds, params, banner)
        }
        "otc-kms" => {
            let cfg = otc::Config {
                faults: parse_faults(&o.faults, api)?,
                credentials: with_keys(otc::Config::default().credentials, o),
                ..Default::default()
            };
            let creds = cfg.credentials.clone();
            let project = cfg.project_id.clone();
            let server = otc::spawn(cfg, addr).await.map_err(start_err)?;
            let keys = otc::seeded_keys();
            let mut params = BTreeMap::new();
            params.insert("project_id".to_string(), project.clone());
            params.insert("key_id".to_string(), keys[0].key_id.clone());
            if let Some(k) = keys.iter().find(|k| k.scheduled_deletion_date.is_some()) {
                params.insert("scheduled_key_id".to_string(), k.key_id.clone());
            }
            let banner = format!(
                "{api} reference target on {} (access key {}, secret key {}; project id {project}; key id {})",
                server.base_url(),
                creds.access_key,
                shown(&creds),
                params["key_id"]
            );
            (server, creds, params, banner)
        }
        other => return Err(EmbeddedError::UnknownApi(other.into())),
    };
    let label = if parts.is_empty() {
        "embedded".to_string()
    } else {
        format!("embedded ({})", parts.join("; "))
    };
    Ok(Embedded {
        server,
        credentials: credential_set(&creds),
        params,
        label,
        banner,
    })
}
