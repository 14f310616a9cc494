//! The embedded reference target: a faithful SCP KMS HTTP server (API versions 1.0-1.3) with real
//! cryptography and a catalogue of switchable faults. See `docs/reference.md`.

mod auth;
mod catalogue;
mod crypto;
pub mod embedded;
mod engine;
mod errors;
mod faults;
mod handlers;
mod input;
mod loadtest;
mod model;
pub mod ncp;
pub mod otc;
mod router;
mod store;
mod variants;
mod version;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use catalogue::UnknownFault;
pub use engine::{CryptoBackend, CryptoChoice, OpenBaoConfig, TOKEN_ENV};
pub use errors::ApiError;
pub use faults::Fault;
pub use loadtest::{load_test, LoadReport};
pub use router::router;
pub use variants::{UnknownVariant, Variant, VariantSet};
pub use version::ApiVersion;

use crate::target::sign::Credentials;

/// Server configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub credentials: Credentials,
    pub faults: Vec<Fault>,
    /// Conforming alternative behaviours (see [`Variant`]); empty = the default server.
    pub variants: Vec<Variant>,
    pub sunset: Option<Sunset>,
    pub region: String,
    /// Accepted |server clock - Scp-Timestamp|, in seconds.
    pub clock_skew_secs: i64,
    /// Larger request bodies are refused with 400.
    pub body_limit_bytes: usize,
    /// Where the cryptography runs: locally (default) or in an OpenBao transit mount
    /// (check it once with [`check_crypto`] before serving).
    pub crypto: CryptoBackend,
}

/// The API of the default embedded reference target (and of `--api` when not given).
pub const DEFAULT_API: &str = "scp-kms";

/// Default access key of the embedded server (documented, not a secret).
pub const DEFAULT_ACCESS_KEY: &str = store::DEFAULT_ACCESS_KEY;
/// Default secret key of the embedded server (documented, not a secret).
pub const DEFAULT_SECRET_KEY: &str = "kmsconform-embedded-secret";

impl Default for Config {
    fn default() -> Self {
        Config {
            credentials: Credentials {
                access_key: DEFAULT_ACCESS_KEY.to_string(),
                secret_key: DEFAULT_SECRET_KEY.to_string(),
                account_id: String::new(),
            },
            faults: Vec::new(),
            variants: Vec::new(),
            sunset: None,
            region: "kr-west1".to_string(),
            clock_skew_secs: 300,
            body_limit_bytes: 1024 * 1024,
            crypto: CryptoBackend::Local,
        }
    }
}

/// Version retirement: versions whose Not Before date is on or before `as_of` are refused.
#[derive(Debug, Clone)]
pub struct Sunset {
    pub as_of: chrono::NaiveDate,
    /// (version number such as "1.0", Not Before date).
    pub not_before: Vec<(String, chrono::NaiveDate)>,
}

/// A server listening on a socket; shuts down on drop or [`RunningServer::shutdown`].
pub struct RunningServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningServer {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets in-flight requests finish, and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Is the configured crypto engine usable (OpenBao: `sys/health` answers 200 and the token
/// reads a transit mount at `transit/`)? `Ok` names the engine. The server does not call
/// this itself: start-up code does, once, before serving.
pub async fn check_crypto(config: &Config) -> Result<String, String> {
    config.crypto.check().await
}

/// The OpenBao transit key that holds an SCP key's material under `--crypto openbao=…`.
pub fn transit_key_name(id: &str) -> String {
    engine::openbao::Transit::key_name(id)
}

/// Binds `addr` (port 0 picks a free port) and serves in a background task.
pub async fn spawn(config: Config, addr: SocketAddr) -> anyhow::Result<RunningServer> {
    serve(router(config), addr).await
}

/// Serves any reference router on `addr` (port 0 picks a free port) in a background task.
pub async fn serve(app: axum::Router, addr: SocketAddr) -> anyhow::Result<RunningServer> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(RunningServer {
        addr,
        stop: Some(tx),
        task: Some(task),
    })
}

/// Shared state of one server instance.
pub(crate) struct App {
    pub config: Config,
    pub faults: faults::FaultSet,
    pub variants: VariantSet,
    pub store: store::Store,
    pub engine: engine::Backend,
}

impl App {
    fn new(config: Config) -> Arc<App> {
        let app = App {
            faults: faults::FaultSet::new(&config.faults),
            variants: VariantSet::new(&config.variants),
            store: store::Store::new(config.variants.contains(&Variant::FractionalTimestamps)),
            engine: engine::Backend::new(&config.crypto),
            config,
        };
        handlers::managed::seed(&app);
        Arc::new(app)
    }
}
