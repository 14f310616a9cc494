//! Flags shared by the commands that talk to a target (`run`, `replay`, `diff`,
//! `deprecations`, `bench`), and their mapping onto the library's types. Values are checked
//! here, before anything is started or sent.

use super::CliError;
use crate::reference::{embedded, CryptoChoice};
use crate::run::session::{TargetKind, TargetSpec};
use crate::spec::SpecSet;
use crate::target::http::ClientOptions;
use crate::target::sign::CredentialSet;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

/// Which API, and where its specs and suites are.
#[derive(Debug, Args, Clone)]
pub struct ApiArgs {
    /// API id; specs come from specs/<api>, suites from suites/<api>.
    #[arg(long, default_value = crate::reference::DEFAULT_API)]
    pub api: String,
    /// Spec directory (default specs/<api>).
    #[arg(long)]
    pub spec_dir: Option<PathBuf>,
    /// Suite directory (default suites/<api>).
    #[arg(long)]
    pub suites_dir: Option<PathBuf>,
}

impl ApiArgs {
    pub fn spec_dir(&self) -> PathBuf {
        self.spec_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("specs").join(&self.api))
    }
    pub fn suites_dir(&self) -> PathBuf {
        self.suites_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("suites").join(&self.api))
    }
    /// Loads the spec set; a problem is an input error naming the file.
    pub fn load(&self) -> Result<SpecSet, CliError> {
        let set = SpecSet::load(&self.spec_dir()).map_err(|e| CliError::Input(e.to_string()))?;
        if set.api() != self.api {
            return Err(CliError::Input(format!(
                "{} holds the API '{}', not '{}' (--api)",
                self.spec_dir().display(),
                set.api(),
                self.api
            )));
        }
        Ok(set)
    }
}

/// Credentials for a URL target; each overrides the profile's environment variables
/// (`kmsconform run --help` names them per API in the README).
#[derive(Debug, Args, Clone, Default)]
pub struct CredentialArgs {
    /// Access key (HMAC schemes).
    #[arg(long)]
    pub access_key: Option<String>,
    /// Secret key (HMAC schemes); never written to any output.
    #[arg(long)]
    pub secret_key: Option<String>,
    /// Account id, part of the signed message where the scheme has one.
    #[arg(long)]
    pub account_id: Option<String>,
    /// Token (token schemes); never written to any output.
    #[arg(long)]
    pub token: Option<String>,
}

impl CredentialArgs {
    /// Flags first, then the profile's environment variables.
    pub fn resolve(&self, set: &SpecSet) -> CredentialSet {
        let p = &set.profile;
        let mut out = std::collections::BTreeMap::new();
        let flags = [
            ("access_key", &self.access_key),
            ("secret_key", &self.secret_key),
            ("account_id", &self.account_id),
            ("token", &self.token),
        ];
        for name in p.auth.env.keys() {
            let flag = flags
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, v)| (*v).clone());
            if let Some(v) = flag.or_else(|| p.credential_from_env(name)) {
                out.insert(name.clone(), v);
            }
        }
        CredentialSet(out)
    }
}

/// How requests travel: extra headers, TLS trust, pacing and retries (`run`, `replay`,
/// `diff`).
#[derive(Debug, Args, Clone, Default)]
pub struct HttpArgs {
    /// Extra header sent on every request, 'Name: value' (repeatable), added before signing
    /// (a scheme that signs headers covers it). Values of credential-looking headers
    /// (Authorization, Cookie, names with token, secret, signature, api-key) are secrets:
    /// never written to any output. Host, Content-Length, Content-Type, Connection and
    /// Transfer-Encoding are the client's own and refused.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", value_parser = HeaderParser)]
    pub headers: Vec<(String, String)>,
    /// Accept any TLS certificate of the target (self-signed, expired, another host's).
    #[arg(long)]
    pub insecure: bool,
    /// Also trust the CA certificate(s) in this PEM file for the target's TLS (read and
    /// checked before anything is sent).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// At most N requests per second (N/s, or a bare N) or per minute (N/m), over the whole
    /// run and every concurrent case; retries count too.
    #[arg(long, value_name = "N/s|N/m|N", value_parser = parse_rate)]
    pub rate_limit: Option<crate::target::http::RateLimit>,
    /// Send a request again, up to N times, after a transport error (connection refused or
    /// reset, no answer within --timeout); an HTTP response, even a 5xx, is never retried.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retries: u32,
}

/// Headers the HTTP client sets itself: a second value would make the request ambiguous.
const CLIENT_HEADERS: [&str; 5] = [
    "host",
    "content-length",
    "content-type",
    "connection",
    "transfer-encoding",
];

/// `-H` through clap: clap's own error would quote the whole argument (a header value may be
/// a credential), so the error is raw: [`parse_header`]'s message only.
#[derive(Debug, Clone, Copy)]
pub struct HeaderParser;

impl clap::builder::TypedValueParser for HeaderParser {
    type Value = (String, String);
    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Self::Value, clap::Error> {
        let bad = |m: String| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid --header: {m}\n"),
            )
        };
        let text = value.to_str().ok_or_else(|| bad("not UTF-8".into()))?;
        parse_header(text).map_err(bad)
    }
}

/// `-H 'Name: value'`: a header name (RFC 9110 token) and a value that HTTP can carry. The
/// message never repeats the value (it may be a credential).
pub fn parse_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or("expected 'Name: value' (no ':' found)")?;
    let name = name.trim();
    if name.is_empty() || reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(format!(
            "'{}' is not a header name (letters, digits and !#$%&'*+-.^_`|~)",
            name.chars().take(40).collect::<String>()
        ));
    }
    if CLIENT_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(format!(
            "{name} is set by the HTTP client itself; it cannot be given with -H"
        ));
    }
    let value = value.trim();
    if reqwest::header::HeaderValue::from_str(value).is_err() {
        return Err(format!(
            "the value of header {name} contains characters HTTP cannot carry (control characters or non-ASCII)"
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

fn parse_rate(s: &str) -> Result<crate::target::http::RateLimit, String> {
    s.parse()
}

impl HttpArgs {
    /// The client options these flags give, over `timeout`. The CA file is read and parsed
    /// here, before anything is started or sent.
    pub fn client_options(&self, timeout: Duration) -> Result<ClientOptions, CliError> {
        let ca_cert = match &self.ca_cert {
            None => None,
            Some(path) => Some(read_ca_cert(path)?),
        };
        Ok(ClientOptions {
            timeout,
            insecure: self.insecure,
            ca_cert,
            extra_headers: self.headers.clone(),
            rate_limit: self.rate_limit,
            retries: self.retries,
            ..Default::default()
        })
    }

    /// Shell words that recreate these settings in a replay line, quoted: a secret header's
    /// value is an environment reference (`-H "Authorization: $AUTHORIZATION"`).
    pub fn replay_words(&self) -> Vec<String> {
        let mut out = crate::target::http::extra_header_words(&self.headers);
        if self.insecure {
            out.push("--insecure".into());
        }
        if let Some(p) = &self.ca_cert {
            out.push("--ca-cert".into());
            out.push(crate::target::shell_quote(&p.display().to_string()));
        }
        if let Some(r) = &self.rate_limit {
            out.push("--rate-limit".into());
            out.push(r.to_string());
        }
        if self.retries > 0 {
            out.push("--retries".into());
            out.push(self.retries.to_string());
        }
        out
    }
}

/// `--ca-cert FILE`: readable, at least one PEM certificate, each one a certificate rustls
/// accepts as a root (a client is built with them: PEM framing around garbage fails here,
/// not at the first request).
fn read_ca_cert(path: &std::path::Path) -> Result<Vec<u8>, CliError> {
    let bad = |why: String| CliError::Input(format!("--ca-cert {}: {why}", path.display()));
    let pem = std::fs::read(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| bad(format!("not a PEM certificate: {e}")))?;
    if certs.is_empty() {
        return Err(bad(
            "no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    let mut b = reqwest::Client::builder();
    for c in certs {
        b = b.add_root_certificate(c);
    }
    b.build()
        .map_err(|e| bad(format!("not a usable CA certificate: {e:#}")))?;
    Ok(pem)
}

#[derive(Debug, Args, Clone)]
pub struct TargetArgs {
    /// `embedded` (the API's reference server on a loopback port) or a base URL (http or
    /// https; a path prefix is kept; no query or fragment).
    #[arg(long, default_value = "embedded")]
    pub target: String,
    /// Faults to switch on in the embedded target (see `kmsconform serve --list-faults`).
    #[arg(long = "fault")]
    pub faults: Vec<String>,
    /// Conforming variants of the embedded target (repeatable; `all` for every one; see
    /// `kmsconform serve --list-variants`).
    #[arg(long = "variant")]
    pub variants: Vec<String>,
    /// Where the embedded target's cryptography runs: `local` (default) or `openbao=URL`, an
    /// OpenBao server's `transit/` mount (token from BAO_TOKEN, else VAULT_TOKEN).
    #[arg(long)]
    pub crypto: Option<String>,
    #[command(flatten)]
    pub credentials: CredentialArgs,
    /// Per-request timeout in seconds (at least 1).
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// A fixture the suites name and the API offers no way to create, e.g. `--param
    /// key_tag=…` (repeatable; the embedded target supplies its own).
    #[arg(long = "param", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    #[command(flatten)]
    pub http: HttpArgs,
}

pub fn parse_param(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or("expected NAME=VALUE")?;
    if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "'{k}' is not a parameter name (letters, digits, _)"
        ));
    }
    Ok((k.to_string(), v.to_string()))
}

impl TargetArgs {
    pub fn is_embedded(&self) -> bool {
        self.target == "embedded"
    }

    /// The target as the library takes it, checked (URL shape, fault and variant names,
    /// numbers) without starting or sending anything.
    pub fn spec(&self, api: &str) -> Result<TargetSpec, CliError> {
        if self.timeout == 0 {
            return Err(CliError::Input(
                "--timeout must be at least 1 second".into(),
            ));
        }
        let client = self
            .http
            .client_options(Duration::from_secs(self.timeout))?;
        let kind = if self.is_embedded() {
            let o = embedded::Options {
                faults: self.faults.clone(),
                variants: self.variants.clone(),
                crypto: parse_crypto(self.crypto.as_deref())?,
                ..Default::default()
            };
            embedded::validate(api, &o).map_err(|e| CliError::Input(e.to_string()))?;
            TargetKind::Embedded(o)
        } else {
            if !self.faults.is_empty() {
                return Err(CliError::Input(
                    "--fault applies to the embedded target only".into(),
                ));
            }
            if !self.variants.is_empty() {
                return Err(CliError::Input(
                    "--variant applies to the embedded target only".into(),
                ));
            }
            if self.crypto.is_some() {
                return Err(CliError::Input(
                    "--crypto applies to the embedded target only".into(),
                ));
            }
            crate::target::url::BaseUrl::parse(&self.target)
                .map_err(|e| CliError::Input(e.to_string()))?;
            TargetKind::Url(self.target.clone())
        };
        Ok(TargetSpec {
            kind,
            client,
            params: self.params.iter().cloned().collect(),
        })
    }

    /// The flags that recreate this target in a replay line.
    pub fn replay_flags(&self) -> Vec<String> {
        let mut out = vec!["--target".into(), self.target.clone()];
        for f in &self.faults {
            out.push("--fault".into());
            out.push(f.clone());
        }
        for v in &self.variants {
            out.push("--variant".into());
            out.push(v.clone());
        }
        if let Some(c) = &self.crypto {
            out.push("--crypto".into());
            out.push(c.clone());
        }
        if self.timeout != 10 {
            out.push("--timeout".into());
            out.push(self.timeout.to_string());
        }
        for (k, v) in &self.params {
            out.push("--param".into());
            out.push(format!("{k}={v}"));
        }
        out
    }
}

/// `--crypto`: `local` when absent; a malformed value is an input error.
pub fn parse_crypto(flag: Option<&str>) -> Result<CryptoChoice, CliError> {
    flag.map(str::parse::<CryptoChoice>)
        .transpose()
        .map(Option::unwrap_or_default)
        .map_err(CliError::Input)
}

/// `all`, a list (`1.0,1.3`) or a range (`1.0..1.3`) of registry versions, de-duplicated.
pub fn parse_versions(spec: &str, set: &SpecSet) -> Result<Vec<String>, CliError> {
    let all: Vec<String> = set.version_ids().map(String::from).collect();
    let unknown = |v: &str| {
        CliError::Input(format!(
            "version {v} is not in the registry of {} (have {})",
            set.api(),
            all.join(", ")
        ))
    };
    let out: Vec<String> = if spec == "all" && set.profile.one_version_per_target() {
        // One release per server: a run checks it against the newest spec unless told.
        vec![set.latest().version.clone()]
    } else if spec == "all" {
        all.clone()
    } else if let Some((a, b)) = spec.split_once("..") {
        let pos = |v: &str| all.iter().position(|x| x == v).ok_or_else(|| unknown(v));
        let (i, j) = (pos(a.trim())?, pos(b.trim())?);
        if i >= j {
            return Err(CliError::Input(format!(
                "--versions {spec}: the range must go from an older to a newer version"
            )));
        }
        all[i..=j].to_vec()
    } else {
        spec.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    if out.is_empty() {
        return Err(CliError::Input(format!(
            "--versions '{spec}' names no version"
        )));
    }
    for v in &out {
        if !all.contains(v) {
            return Err(unknown(v));
        }
    }
    Ok(crate::run::session::dedup(out))
}

/// A positive count flag (`--cases`, `--concurrency`): 0 is an error, not silently 1.
pub fn at_least_one(name: &str, n: usize) -> Result<usize, CliError> {
    if n == 0 {
        Err(CliError::Input(format!("--{name} must be at least 1")))
    } else {
        Ok(n)
    }
}

pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Internal(format!("cannot start the async runtime: {e}")))
}
