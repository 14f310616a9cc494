//! `kmsconform serve`: an API's embedded reference target on a port of your choice.

use super::args::runtime;
use super::{CliError, Outcome};
use crate::exit_codes;
use crate::reference::{self, Fault, Variant};
use crate::spec::SpecSet;
use crate::target::sign::Credentials;
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
    /// Which reference server: scp-kms, ncp-kms or otc-kms.
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
    /// Where the SCP reference's cryptography runs: `local` (default) or `openbao=URL`, an
    /// OpenBao server's `transit/` mount (token from BAO_TOKEN, else VAULT_TOKEN); checked
    /// once before serving.
    #[arg(long)]
    pub crypto: Option<String>,
}

fn with_keys(mut c: Credentials, a: &ServeArgs) -> Credentials {
    if let Some(k) = &a.access_key {
        c.access_key = k.clone();
    }
    if let Some(k) = &a.secret_key {
        c.secret_key = k.clone();
    }
    c
}

fn parse_vendor_faults<F: std::str::FromStr<Err = reference::UnknownFault>>(
    names: &[String],
    api: &str,
) -> Result<Vec<F>, CliError> {
    names
        .iter()
        .map(|n| {
            n.parse::<F>().map_err(|e| {
                CliError::Input(format!(
                    "{e} (see `kmsconform serve --api {api} --list-faults`)"
                ))
            })
        })
        .collect()
}

/// `serve --api ncp-kms|otc-kms`: the vendor reference servers.
fn serve_vendor(a: &ServeArgs) -> Outcome {
    use reference::{ncp, otc};
    if a.enforce_sunset || a.as_of.is_some() {
        return Err(
            CliError::Input("--enforce-sunset/--as-of apply to --api scp-kms only".into()).into(),
        );
    }
    if !a.variants.is_empty() || a.list_variants {
        return Err(CliError::Input("variants exist for --api scp-kms only".into()).into());
    }
    if a.crypto.is_some() {
        return Err(CliError::Input("--crypto applies to --api scp-kms only".into()).into());
    }
    if a.list_faults {
        let list: Vec<(&str, &str)> = match a.api.as_str() {
            "ncp-kms" => ncp::NcpFault::all()
                .iter()
                .map(|f| (f.name(), f.description()))
                .collect(),
            _ => otc::OtcFault::all()
                .iter()
                .map(|f| (f.name(), f.description()))
                .collect(),
        };
        for (n, d) in list {
            println!("{n:<34} {d}");
        }
        return Ok(exit_codes::OK);
    }
    let addr: std::net::SocketAddr = format!("{}:{}", a.bind, a.port)
        .parse()
        .map_err(|e| CliError::Input(format!("--bind/--port: {e}")))?;
    let rt = runtime()?;
    rt.block_on(async {
        let (server, creds, what) = match a.api.as_str() {
            "ncp-kms" => {
                let cfg = ncp::Config {
                    faults: parse_vendor_faults(&a.faults, &a.api)?,
                    credentials: with_keys(ncp::Config::default().credentials, a),
                    ..Default::default()
                };
                let creds = cfg.credentials.clone();
                let s = ncp::spawn(cfg, addr).await;
                (
                    s,
                    creds,
                    format!(
                        "ncp-kms reference target on {{base}}, server URL {{base}}{}",
                        ncp::BASE_PATH
                    ),
                )
            }
            _ => {
                let cfg = otc::Config {
                    faults: parse_vendor_faults(&a.faults, &a.api)?,
                    credentials: with_keys(otc::Config::default().credentials, a),
                    ..Default::default()
                };
                let creds = cfg.credentials.clone();
                let what = format!(
                    "otc-kms reference target on {{base}}, project id {}",
                    cfg.project_id
                );
                (otc::spawn(cfg, addr).await, creds, what)
            }
        };
        let server = server.with_context(|| format!("cannot listen on {addr}"))?;
        println!(
            "{} (access key {}, secret key {}); Ctrl-C stops",
            what.replace("{base}", &server.base_url()),
            creds.access_key,
            if a.secret_key.is_some() {
                "as given"
            } else {
                creds.secret_key.as_str()
            }
        );
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        server.shutdown().await;
        Ok(exit_codes::OK)
    })
}

pub fn serve_cmd(a: ServeArgs) -> Outcome {
    match a.api.as_str() {
        "scp-kms" => {}
        "ncp-kms" | "otc-kms" => return serve_vendor(&a),
        other => {
            return Err(CliError::Input(format!(
                "--api {other}: no reference server (scp-kms, ncp-kms, otc-kms)"
            ))
            .into())
        }
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
    let crypto = super::args::parse_crypto(a.crypto.as_deref())?
        .resolve()
        .map_err(CliError::Input)?;
    let mut cfg = reference::Config {
        faults,
        variants,
        crypto,
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
        // The engine is checked once, before serving.
        let engine = reference::check_crypto(&cfg)
            .await
            .map_err(|e| CliError::Unusable(format!("the crypto engine: {e}")))?;
        let server = reference::spawn(cfg, addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        println!(
            "{} reference target on {} (access key {}, secret key {}; variants: {}; crypto: {}); Ctrl-C stops",
            a.api,
            server.base_url(),
            creds.access_key,
            secret,
            variants,
            engine
        );
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        server.shutdown().await;
        Ok(exit_codes::OK)
    })
}
