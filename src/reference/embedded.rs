//! Starting the embedded reference target of an API on a loopback port: the one place that
//! knows which server serves which API, and how its faults and variants are named.

use super::{Config, CryptoChoice, Fault, RunningServer, Sunset, Variant};
use crate::target::sign::CredentialSet;

/// What to start: fault and variant names as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub faults: Vec<String>,
    pub variants: Vec<String>,
    /// Retire versions as of a date (deprecation probes).
    pub sunset: Option<Sunset>,
    /// Where the SCP reference's cryptography runs (`--crypto`; scp-kms only).
    pub crypto: CryptoChoice,
}

pub struct Embedded {
    pub server: RunningServer,
    /// The server's credentials, named as the API's profile names them.
    pub credentials: CredentialSet,
    /// e.g. `embedded (faults: a; variants: b)`.
    pub label: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("there is no embedded reference target for API '{0}' (known: scp-kms)")]
    UnknownApi(String),
    #[error("{0} (see `kmsconform serve --list-faults`)")]
    Fault(String),
    #[error("{0}")]
    Variant(String),
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

/// Checks fault and variant names without starting anything.
pub fn validate(api: &str, o: &Options) -> Result<(), EmbeddedError> {
    match api {
        "scp-kms" => {
            for f in &o.faults {
                f.parse::<Fault>()
                    .map_err(|e| EmbeddedError::Fault(e.to_string()))?;
            }
            Variant::parse_list(&o.variants).map_err(|e| EmbeddedError::Variant(e.to_string()))?;
            o.crypto.resolve().map_err(EmbeddedError::Crypto)?;
            Ok(())
        }
        other => Err(EmbeddedError::UnknownApi(other.into())),
    }
}

/// Starts the API's reference server on 127.0.0.1 (a free port).
pub async fn start(api: &str, o: &Options) -> Result<Embedded, EmbeddedError> {
    validate(api, o)?;
    let faults: Vec<Fault> = o.faults.iter().filter_map(|f| f.parse().ok()).collect();
    let variants =
        Variant::parse_list(&o.variants).map_err(|e| EmbeddedError::Variant(e.to_string()))?;
    let crypto = o.crypto.resolve().map_err(EmbeddedError::Crypto)?;
    let engine = crypto.check().await.map_err(EmbeddedError::Engine)?;
    let cfg = Config {
        faults,
        variants,
        sunset: o.sunset.clone(),
        crypto,
        ..Default::default()
    };
    let creds = cfg.credentials.clone();
    let server = super::spawn(cfg, "127.0.0.1:0".parse().expect("loopback address"))
        .await
        .map_err(|e| EmbeddedError::Start(format!("{e:#}")))?;
    let mut parts = Vec::new();
    if !o.faults.is_empty() {
        parts.push(format!("faults: {}", o.faults.join(",")));
    }
    if !o.variants.is_empty() {
        parts.push(format!("variants: {}", o.variants.join(",")));
    }
    if o.crypto != CryptoChoice::Local {
        parts.push(format!("crypto: {engine}"));
    }
    let label = if parts.is_empty() {
        "embedded".to_string()
    } else {
        format!("embedded ({})", parts.join("; "))
    };
    let credentials = CredentialSet(
        [
            ("access_key", creds.access_key),
            ("secret_key", creds.secret_key),
            ("account_id", creds.account_id),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    );
    Ok(Embedded {
        server,
        credentials,
        label,
    })
}
