//! `kmsconform serve`: an API's embedded reference target on a port of your choice.

use super::args::runtime;
use super::{CliError, Outcome};
use crate::exit_codes;
use crate::reference::{self, embedded};
use crate::spec::SpecSet;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[arg(long, default_value_t = 8443)]
    pub port: u16,
    /// Address to bind; loopback by default.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    #[arg(long = "fault")]
    pub faults: Vec<String>,
    /// Conforming variants to switch on (repeatable; `all` for every one).
    #[arg(long = "variant")]
    pub variants: Vec<String>,
    /// Access key the server accepts (default: the documented one of --api).
    #[arg(long)]
    pub access_key: Option<String>,
    /// Secret key the server verifies with (default: the documented one of --api).
    #[arg(long)]
    pub secret_key: Option<String>,
    /// Refuse versions past their Not Before date, as of --as-of.
    #[arg(long)]
    pub enforce_sunset: bool,
    #[arg(long)]
    pub as_of: Option<chrono::NaiveDate>,
    /// Which API's reference server (see `kmsconform serve --help`; default the first API's).
    #[arg(long, default_value = reference::DEFAULT_API)]
    pub api: String,
    #[arg(long)]
    pub spec_dir: Option<PathBuf>,
    /// List the fault catalogue and exit.
    #[arg(long)]
    pub list_faults: bool,
    /// List the variant catalogue and exit.
    #[arg(long)]
    pub list_variants: bool,
    /// Where the SCP reference's cryptography runs: `local` (default) or `openbao=URL`, an
    /// OpenBao server's `transit/` mount (token from BAO_TOKEN, else VAULT_TOKEN); checked
    /// once before serving.
    #[arg(long)]
    pub crypto: Option<String>,
}

pub fn serve_cmd(a: ServeArgs) -> Outcome {
    if a.list_faults || a.list_variants {
        let list = if a.list_faults {
            embedded::faults(&a.api)
        } else {
            embedded::variants(&a.api)
        }
        .map_err(|e| CliError::Input(e.to_string()))?;
        for (n, d) in list {
            println!("{n:<34} {d}");
        }
        return Ok(exit_codes::OK);
    }
    let sunset = if a.enforce_sunset {
        let dir = a
            .spec_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("specs").join(&a.api));
        let set = SpecSet::load(&dir).map_err(|e| CliError::Input(e.to_string()))?;
        Some(reference::Sunset {
            as_of: a.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive()),
            not_before: set
                .registry
                .versions
                .iter()
                .filter_map(|v| v.not_before_date().map(|d| (v.version.clone(), d)))
                .collect(),
        })
    } else if a.as_of.is_some() {
        return Err(CliError::Input("--as-of needs --enforce-sunset".into()).into());
    } else {
        None
    };
    let opts = embedded::Options {
        faults: a.faults.clone(),
        variants: a.variants.clone(),
        sunset,
        crypto: super::args::parse_crypto(a.crypto.as_deref())?,
        access_key: a.access_key.clone(),
        secret_key: a.secret_key.clone(),
    };
    let addr: std::net::SocketAddr = format!("{}:{}", a.bind, a.port)
        .parse()
        .map_err(|e| CliError::Input(format!("--bind/--port: {e}")))?;
    let rt = runtime()?;
    rt.block_on(async {
        let e = embedded::serve(&a.api, &opts, addr).await.map_err(|e| {
            if e.is_unusable() {
                CliError::Unusable(e.to_string())
            } else if e.is_input() {
                CliError::Input(e.to_string())
            } else {
                CliError::Internal(e.to_string())
            }
        })?;
        println!("{}; Ctrl-C stops", e.banner);
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        e.server.shutdown().await;
        Ok(exit_codes::OK)
    })
}
