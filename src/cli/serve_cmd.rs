//! `kmsconform serve`: an API's embedded reference target on a port of your choice.

use super::args::runtime;
use super::{CliError, Outcome};
use crate::exit_codes;
use crate::reference::{self, Fault, Variant};
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
    /// Access key the server accepts (default: the documented KMSCONFORM-ACCESS-KEY).
    #[arg(long)]
    pub access_key: Option<String>,
    /// Secret key the server accepts (default: the documented test secret).
    #[arg(long)]
    pub secret_key: Option<String>,
    /// Refuse versions past their Not Before date, as of --as-of.
    #[arg(long)]
    pub enforce_sunset: bool,
    #[arg(long)]
    pub as_of: Option<chrono::NaiveDate>,
    #[arg(long, default_value = "scp-kms")]
    pub api: String,
    #[arg(long)]
    pub spec_dir: Option<PathBuf>,
    /// List the fault catalogue and exit.
    #[arg(long)]
    pub list_faults: bool,
    /// List the variant catalogue and exit.
    #[arg(long)]
    pub list_variants: bool,
}

pub fn serve_cmd(a: ServeArgs) -> Outcome {
    if a.api != "scp-kms" {
        return Err(CliError::Input(format!(
            "there is no embedded reference target for API '{}' (known: scp-kms)",
            a.api
        ))
        .into());
    }
    if a.list_faults {
        for f in Fault::all() {
            println!("{:<34} {}", f.name(), f.description());
        }
        return Ok(exit_codes::OK);
    }
    if a.list_variants {
        for v in Variant::all() {
            println!("{:<22} {}", v.name(), v.description());
        }
        return Ok(exit_codes::OK);
    }
    let faults = a
        .faults
        .iter()
        .map(|f| f.parse::<Fault>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CliError::Input(format!("{e} (see `kmsconform serve --list-faults`)")))?;
    let variants = Variant::parse_list(&a.variants).map_err(|e| CliError::Input(e.to_string()))?;
    let mut cfg = reference::Config {
        faults,
        variants,
        ..Default::default()
    };
    if let Some(ak) = a.access_key {
        cfg.credentials.access_key = ak;
    }
    if let Some(sk) = a.secret_key {
        cfg.credentials.secret_key = sk;
    }
    if a.enforce_sunset {
        let dir = a
            .spec_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("specs").join(&a.api));
        let set = SpecSet::load(&dir).map_err(|e| CliError::Input(e.to_string()))?;
        let not_before = set
            .registry
            .versions
            .iter()
            .filter_map(|v| v.not_before_date().map(|d| (v.version.clone(), d)))
            .collect();
        cfg.sunset = Some(reference::Sunset {
            as_of: a.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive()),
            not_before,
        });
    } else if a.as_of.is_some() {
        return Err(CliError::Input("--as-of needs --enforce-sunset".into()).into());
    }
    let addr: std::net::SocketAddr = format!("{}:{}", a.bind, a.port)
        .parse()
        .map_err(|e| CliError::Input(format!("--bind/--port: {e}")))?;
    let rt = runtime()?;
    rt.block_on(async {
        let creds = cfg.credentials.clone();
        // The documented default secret is printed; one given on the command line is not.
        let secret = if creds.secret_key == reference::DEFAULT_SECRET_KEY {
            creds.secret_key.clone()
        } else {
            "as given".to_string()
        };
        let variants = if cfg.variants.is_empty() {
            "none".to_string()
        } else {
            cfg.variants
                .iter()
                .map(|v| v.name())
                .collect::<Vec<_>>()
                .join(",")
        };
        let server = reference::spawn(cfg, addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        println!(
            "{} reference target on {} (access key {}, secret key {}; variants: {}); Ctrl-C stops",
            a.api,
            server.base_url(),
            creds.access_key,
            secret,
            variants
        );
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        server.shutdown().await;
        Ok(exit_codes::OK)
    })
}
