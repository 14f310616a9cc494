//! `check-traffic`: recorded exchanges (a HAR from a run, a proxy or a browser) checked
//! offline against the specs, per version, with the response checks of a run: status,
//! content type, schema and version shape. Findings and reports are a run's.
//!
//! Each entry is matched to an operation by method and path template (the template must
//! match the end of the recorded path, so any base path or gateway prefix is allowed). Its
//! version comes from our own `_kmsconform` field, else from the profile's version header,
//! else from the versions given (a path-versioned API's spec paths carry it).

use super::event::{Collector, Event, Events, Observer};
use super::record::{Observation, Outcome, Recorder, RecorderConfig};
use super::session::RunOutcome;
use crate::check::response::{check_response, Claim, Scope};
use crate::check::{Selection, Verdicts};
use crate::report::har::{Entry, Har};
use crate::spec::profile::VersionSelect;
use crate::spec::{Operation, SpecSet, VersionSpec};
use crate::target::http::{header_is_secret, Auth, Body, Client, ClientOptions, Request, Response};
use crate::target::sign::CredentialSet;
use crate::target::url::BaseUrl;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// How `check-traffic` reads a HAR.
pub struct TrafficPlan {
    /// Versions to check against: entries of other versions are skipped; an entry that
    /// states no version is checked against each of these (default: the newest).
    pub versions: Option<Vec<String>>,
    pub selection: Selection,
    pub strict: bool,
    /// Per-operation statuses accepted beyond the documented ones (generation.json).
    pub expected_statuses: BTreeMap<String, Vec<u16>>,
    /// The HAR's name, for the report's target.
    pub source: String,
}

/// Why an entry was not checked (coverage, not findings).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unchecked {
    NoOperation { method: String, path: String },
    NoResponse,
    VersionNotSelected(String),
    UnknownVersion(String),
    BadUrl(String),
    BadBody(String),
}

impl std::fmt::Display for Unchecked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unchecked::NoOperation { method, path } => {
                write!(f, "no operation of the spec matches {method} {path}")
            }
            Unchecked::NoResponse => write!(f, "no response was recorded"),
            Unchecked::VersionNotSelected(v) => write!(f, "version {v} is not selected"),
            Unchecked::UnknownVersion(v) => write!(f, "version '{v}' is not in the registry"),
            Unchecked::BadUrl(scheme) => {
                write!(f, "the URL is not absolute http(s) (it begins '{scheme}:')")
            }
            Unchecked::BadBody(why) => write!(f, "{why}"),
        }
    }
}

pub struct TrafficOutcome {
    /// The checks' outcome; its request count is the number of (entry, version) checks.
    pub run: RunOutcome,
    /// Entries not checked, each once, with why (entry index, reason).
    pub unchecked: Vec<(usize, Unchecked)>,
}

#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    #[error("{0}")]
    Input(String),
}

/// Checks every entry of `har` against `set`. Fails (an input error) when the plan names a
/// version the registry lacks, or when no entry could be checked at all: a gate that
/// checked nothing must not pass.
pub fn check_traffic(
    set: &SpecSet,
    har: &Har,
    plan: &TrafficPlan,
) -> Result<TrafficOutcome, TrafficError> {
    let started = Instant::now();
    let all: Vec<String> = set.version_ids().map(String::from).collect();
    let selected = match &plan.versions {
        Some(vs) => {
            for v in vs {
                if set.get(v).is_none() {
                    return Err(TrafficError::Input(format!(
                        "--versions: '{v}' is not in the registry (have {})",
                        all.join(", ")
                    )));
                }
            }
            vs.clone()
        }
        None => all.clone(),
    };
    let stated_default = match &plan.versions {
        Some(vs) => vs.clone(),
        None => vec![set.latest().version.clone()],
    };
    let profile = &set.profile;
    let collector = Arc::new(Collector::default());
    let recorder = Recorder::new(
        RecorderConfig {
            seed: 0,
            run_id: String::new(),
            selection: plan.selection.clone(),
            secret_fields: profile.secrets.fields.clone(),
            credentials: vec![],
            replay_prefix: String::new(),
            strict: plan.strict,
            stop_after: None,
            known: vec![],
            interrupt: None,
        },
        Events::new(vec![collector.clone() as Arc<dyn Observer>]),
    );
    let signer = crate::target::sign::for_scheme(
        &profile.auth.scheme,
        &profile.auth.params,
        &placeholder_credentials(),
        &|n| n.to_string(),
    )
    .map_err(|e| TrafficError::Input(format!("the profile's auth scheme: {e}")))?;
    let mut clients: BTreeMap<String, Client> = BTreeMap::new();
    let mut checked = 0u64;
    let mut unchecked = Vec::new();
    for (i, entry) in har.log.entries.iter().enumerate() {
        let Some((origin, path, query)) = split_url(&entry.request.url) else {
            // Only the scheme is shown: the rest may carry user info or a token.
            let scheme: String = entry
                .request
                .url
                .split(':')
                .next()
                .unwrap_or_default()
                .chars()
                .take(24)
                .collect();
            unchecked.push((i, Unchecked::BadUrl(scheme)));
            continue;
        };
        if entry.response.status == 0 {
            unchecked.push((i, Unchecked::NoResponse));
            continue;
        }
        let versions = match entry_version(set, entry) {
            Stated::Version(v) if set.get(&v).is_none() => {
                unchecked.push((i, Unchecked::UnknownVersion(v)));
                continue;
            }
            Stated::Version(v) if !selected.contains(&v) => {
                unchecked.push((i, Unchecked::VersionNotSelected(v)));
                continue;
            }
            Stated::Version(v) => vec![v],
            Stated::Unstated => stated_default.clone(),
        };
        let client = match clients.get(&origin) {
            Some(c) => c,
            None => {
                let base = BaseUrl::parse(&origin)
                    .map_err(|e| TrafficError::Input(format!("{origin}: {e}")))?;
                let c = Client::new(base, signer.clone(), ClientOptions::default())
                    .map_err(|e| TrafficError::Input(e.to_string()))?;
                clients.entry(origin.clone()).or_insert(c)
            }
        };
        let response = match response_of(entry, &query) {
            Ok(r) => r,
            Err(why) => {
                unchecked.push((i, Unchecked::BadBody(why)));
                continue;
            }
        };
        let request = request_of(entry, &path, &query);
        let mut matched = false;
        for v in &versions {
            let spec = set.get(v).expect("selected versions are in the registry");
            let op = match entry.kmsconform.as_ref() {
                Some(m) => spec
                    .operation(&m.operation)
                    .filter(|o| o.method.eq_ignore_ascii_case(&entry.request.method)),
                None => None,
            }
            .or_else(|| match_operation(spec, &entry.request.method, &path));
            let Some(op) = op else { continue };
            matched = true;
            checked += 1;
            let claim = match entry.kmsconform.as_ref().map(|m| m.auth) {
                Some(Auth::Signed) | None => Claim::Recorded,
                Some(_) => Claim::BadAuth,
            };
            let scope = Scope {
                spec,
                op,
                profile,
                also_allowed: plan
                    .expected_statuses
                    .get(&op.operation_id)
                    .map(Vec::as_slice)
                    .unwrap_or(&[]),
                // A recording's timings are not the target's: no response-time limit here.
                max_response_ms: None,
            };
            let mut verdicts = Verdicts::new();
            check_response(&scope, &claim, &response, &mut verdicts);
            let (case, label) = match &entry.kmsconform {
                Some(m) if &m.version == v => (m.case.clone(), m.label.clone()),
                _ => (
                    format!("{v}/{}/recorded/{i}", op.operation_id),
                    format!("recorded {} {path}", entry.request.method.to_uppercase()),
                ),
            };
            recorder.record(
                client,
                Observation {
                    version: v,
                    operation: &op.operation_id,
                    case: &case,
                    label: &label,
                    request: Some(&request),
                    outcome: Outcome::Response(&response),
                    verdicts,
                },
            );
        }
        if !matched {
            unchecked.push((
                i,
                Unchecked::NoOperation {
                    method: entry.request.method.to_uppercase(),
                    path: path.clone(),
                },
            ));
        }
    }
    if checked == 0 {
        let why = match unchecked.first() {
            Some((_, u)) => format!(" (entry 0: {u})"),
            None => " (the HAR has no entries)".into(),
        };
        return Err(TrafficError::Input(format!(
            "no entry of {} could be checked against the {} spec{why}",
            plan.source, profile.api
        )));
    }
    recorder.events().emit(Event::RunDone {
        requests: checked,
        elapsed_ms: started.elapsed().as_millis() as u64,
        stopped_early: false,
        interrupted: false,
    });
    let run = RunOutcome {
        collected: collector.take(),
        transcript: vec![],
        seed: 0,
        strict: plan.strict,
        scrubber: recorder.secrets.final_scrubber(),
        elapsed: started.elapsed(),
        versions: selected,
        suites_run: vec![],
        stopped_early: false,
        interrupted: false,
        leftovers: vec![],
        run_id: String::new(),
        target: format!("recorded traffic: {}", plan.source),
        proxy: None,
        retried: 0,
        operations: Default::default(),
        max_response_ms: None,
    };
    Ok(TrafficOutcome { run, unchecked })
}

/// The signer is only asked which headers are secret and for curl hints: the values are
/// never used to sign anything.
fn placeholder_credentials() -> CredentialSet {
    let mut c = CredentialSet::default();
    for n in ["access_key", "secret_key", "token"] {
        c.0.insert(n.into(), "RECORDED".into());
    }
    c
}

enum Stated {
    Version(String),
    Unstated,
}

/// The version an entry states: the profile's header as the target saw it, else the one
/// our own recording names (a path-versioned or unversioned API states none).
fn entry_version(set: &SpecSet, e: &Entry) -> Stated {
    if let VersionSelect::Header { name, format, .. } = &set.profile.version {
        if let Some(value) = e.request_header(name) {
            let (pre, post) = format.split_once("{version}").unwrap_or(("", ""));
            let v = value
                .trim()
                .strip_prefix(pre)
                .and_then(|r| r.strip_suffix(post))
                .unwrap_or(value.trim());
            return Stated::Version(v.trim().to_string());
        }
    }
    match &e.kmsconform {
        Some(m) => Stated::Version(m.version.clone()),
        None => Stated::Unstated,
    }
}

/// (`scheme://host[:port]`, path, decoded query pairs) of an absolute http(s) URL.
/// (origin, path, decoded query pairs) of a recorded URL.
type RecordedUrl = (String, String, Vec<(String, String)>);

/// The parts of an absolute http(s) URL.
fn split_url(url: &str) -> Option<RecordedUrl> {
    let p = crate::target::sign::split_url(url).ok()?;
    let scheme = p.scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    Some((
        format!("{scheme}://{}", p.authority),
        p.path.to_string(),
        crate::target::url::query_pairs(p.query.unwrap_or_default()),
    ))
}

/// The operation whose method matches and whose path template matches the end of `path`;
/// among several, the one with the most literal segments (a literal beats a parameter).
pub fn match_operation<'a>(
    spec: &'a VersionSpec,
    method: &str,
    path: &str,
) -> Option<&'a Operation> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    spec.operations
        .iter()
        .filter(|o| o.method.eq_ignore_ascii_case(method))
        .filter_map(|o| {
            let t: Vec<&str> = o.path.trim_end_matches('/').split('/').skip(1).collect();
            if t.len() > segs.len() {
                return None;
            }
            let tail = &segs[segs.len() - t.len()..];
            let mut literals = 0;
            for (tp, seg) in t.iter().zip(tail) {
                if tp.starts_with('{') && tp.ends_with('}') {
                    if seg.is_empty() {
                        return None;
                    }
                } else if *tp == crate::target::url::percent_decode(seg) {
                    literals += 1;
                } else {
                    return None;
                }
            }
            Some((literals, t.len(), o))
        })
        .max_by_key(|(literals, len, _)| (*literals, *len))
        .map(|(_, _, o)| o)
}

fn request_of(e: &Entry, path: &str, query: &[(String, String)]) -> Request {
    let body = e.request.post_data.as_ref().map(|p| {
        match serde_json::from_str::<serde_json::Value>(&p.text) {
            Ok(v) => Body::Json(v),
            Err(_) => Body::Raw(p.text.clone()),
        }
    });
    let auth = e.kmsconform.as_ref().map(|m| m.auth).unwrap_or_default();
    Request {
        method: e.request.method.to_uppercase(),
        path: path.to_string(),
        query: query.to_vec(),
        headers: e
            .request
            .headers
            .iter()
            // HTTP/2 pseudo-headers of browser exports are not request headers.
            .filter(|h| !h.name.starts_with(':'))
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect(),
        body,
        auth,
    }
}

/// The recorded response as the checks see a live one. The recorded request's secret
/// header values, and the values of query parameters named like credentials
/// (`access_token=`, `X-Amz-Signature=`), go to the scrubber, as a live run's would.
fn response_of(e: &Entry, query: &[(String, String)]) -> Result<Response, String> {
    let text = e.response_text()?;
    let content_type = e
        .response_header("content-type")
        .map(String::from)
        .or_else(|| {
            let m = &e.response.content.mime_type;
            (!m.is_empty()).then(|| m.clone())
        });
    let json = serde_json::from_str(&text).ok();
    let sent_secrets = e
        .request
        .headers
        .iter()
        .filter(|h| header_is_secret(&h.name))
        .map(|h| h.value.clone())
        .chain(
            query
                .iter()
                .filter(|(k, _)| header_is_secret(k))
                .map(|(_, v)| v.clone()),
        )
        .collect();
    Ok(Response {
        status: e.response.status,
        content_type,
        text,
        json,
        truncated: false,
        elapsed_ms: e.time.max(0.0) as u64,
        headers: e
            .response
            .headers
            .iter()
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect(),
        sent_secrets,
        sent_headers: vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_origin_path_and_decoded_query() {
        let (o, p, q) =
            split_url("HTTPS://kms.example.com:8443/gw/v1/keys?sort=created_at%3Adesc&size=2#x")
                .unwrap();
        assert_eq!(o, "https://kms.example.com:8443");
        assert_eq!(p, "/gw/v1/keys");
        assert_eq!(
            q,
            vec![
                ("sort".into(), "created_at:desc".into()),
                ("size".into(), "2".into())
            ]
        );
        assert_eq!(split_url("http://h").unwrap().1, "/");
        assert!(split_url("ftp://h/x").is_none());
        assert!(split_url("/relative").is_none());
    }
}
