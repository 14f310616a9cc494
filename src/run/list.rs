//! `--list-cases`: the cases a run would send (case id, method, path, label), worked out
//! from the specs, generation.json and the suites without sending anything. Values that
//! only a response can give (ids bound by earlier steps, setup results) are printed as their
//! templates (`{{key_id}}`).

use super::ledger::Ledger;
use super::record::{Recorder, RecorderConfig};
use super::session::{Inputs, RunPlan};
use super::template::{render, render_str, text, Bindings};
use super::VersionCtx;
use crate::spec::SpecSet;
use crate::target::http::{Client, ClientOptions};
use crate::target::sign::CredentialSet;
use crate::target::url::BaseUrl;
use serde_json::Value;

/// One case as `--list-cases` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub case: String,
    pub method: String,
    /// The path (and query) with what is known filled in; the rest as templates.
    pub path: String,
    /// The body in brief (compact JSON, secret fields redacted, cut to
    /// [`BODY_SHOWN`] characters); None without a body.
    pub body: Option<String>,
    pub label: String,
}

/// Characters of a body a listing shows.
pub const BODY_SHOWN: usize = 100;

impl std::fmt::Display for Listed {
    /// `case<TAB>METHOD path<TAB>body (or -)<TAB>label`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\t{} {}\t{}\t{}",
            self.case,
            self.method,
            self.path,
            self.body.as_deref().unwrap_or("-"),
            self.label
        )
    }
}

/// A body in brief: JSON compact with the profile's secret fields redacted, a raw
/// (malformed) body as it is; cut to [`BODY_SHOWN`] characters.
pub fn body_summary(
    body: Option<&Value>,
    raw: Option<&str>,
    secret_fields: &[String],
) -> Option<String> {
    let text = match (raw, body) {
        (Some(r), _) => format!(
            "raw {}",
            serde_json::to_string(r).expect("a string serialises")
        ),
        (None, Some(v)) => super::secrets::redact_fields(v, secret_fields).to_string(),
        (None, None) => return None,
    };
    Some(if text.chars().count() > BODY_SHOWN {
        let cut: String = text.chars().take(BODY_SHOWN - 1).collect();
        format!("{cut}…")
    } else {
        text
    })
}

/// Every case `plan` selects, in the order a run (with concurrency 1) sends them:
/// per version the credentials probe (on the last version), the generated cases, the
/// operations the version lacks, then the suites. `params` are the fixtures known
/// without starting anything (`--param`).
pub fn list_cases(
    set: &SpecSet,
    plan: &RunPlan,
    inputs: &Inputs,
    params: &Bindings,
) -> Result<Vec<Listed>, String> {
    let profile = &set.profile;
    // A client that never sends: the signer only tells which bad-auth cases the scheme has.
    let names = ["access_key", "secret_key", "account_id", "token"];
    let creds = CredentialSet(
        names
            .iter()
            .map(|n| (n.to_string(), "listing-only".to_string()))
            .collect(),
    );
    let signer =
        crate::target::sign::for_scheme(&profile.auth.scheme, &profile.auth.params, &creds, &|n| {
            profile.env_names(n)
        })
        .map_err(|e| e.to_string())?;
    let base = BaseUrl::parse("http://127.0.0.1:9").map_err(|e| e.to_string())?;
    let client = Client::new(
        base,
        signer,
        ClientOptions {
            no_proxy: true,
            ..Default::default()
        },
    )
    .map_err(|e| e.to_string())?;
    let recorder = Recorder::new(
        RecorderConfig {
            seed: plan.seed,
            run_id: plan.run_id.clone(),
            selection: plan.selection.clone(),
            secret_fields: profile.secrets.fields.clone(),
            credentials: vec![],
            replay_prefix: String::new(),
            strict: plan.strict,
            stop_after: None,
            known: vec![],
            interrupt: None,
        },
        super::event::Events::new(vec![]),
    );
    let ledger = Ledger::new(None);
    let all_ops = set.all_operations();
    let mut out = Vec::new();
    for (n, v) in plan.versions.iter().enumerate() {
        let spec = set
            .get(v)
            .ok_or_else(|| format!("version {v} is not in the registry"))?;
        let ctx = VersionCtx {
            version: v.clone(),
            spec,
            profile,
            version_header: profile.version_header(v),
            client: &client,
            recorder: &recorder,
            ledger: &ledger,
            seed: plan.seed,
            run_id: plan.run_id.clone(),
            cases: plan.cases,
            concurrency: 1,
            case_filter: plan.case_filter.clone(),
            expected_statuses: &inputs.generation.expected_statuses,
            partition: plan.partition,
            params,
            operations: &plan.operations,
            max_response_ms: plan.max_response_ms,
        };
        // The credentials probe (on the last version) goes before everything else.
        if n + 1 == plan.versions.len() {
            if let Some(op) = super::session::probe_operation(&ctx) {
                out.insert(
                    0,
                    Listed {
                        case: format!("{v}/probe/0"),
                        method: op.method.clone(),
                        path: op.path.clone(),
                        body: None,
                        label: "credentials probe".into(),
                    },
                );
            }
        }
        let replaying_suite = plan
            .case_filter
            .as_deref()
            .is_some_and(|f| f.contains("/suite/"));
        if plan.wants("generated") && !replaying_suite {
            out.extend(inputs.generation.list(&ctx));
            for (id, (method, path)) in all_ops
                .iter()
                .filter(|(id, _)| spec.operation(id).is_none() && plan.operations.allows(id))
            {
                let case = format!("{v}/{id}/absent/0");
                if ctx.wants(&case) && ctx.in_partition(id) {
                    out.push(Listed {
                        case,
                        method: method.clone(),
                        path: super::fill_path_placeholders(path, &profile.unknown_id),
                        body: None,
                        label: format!("{id} is not part of version {v}"),
                    });
                }
            }
        }
        for s in inputs.suites.iter().filter(|s| {
            plan.wants(&s.name)
                && ctx.in_partition(&format!("suite/{}", s.name))
                && plan.operations.blocks(s).is_none()
        }) {
            out.extend(super::suite::list_suite(s, &ctx));
        }
    }
    Ok(out)
}

/// A path template with `{name}` parameters filled from `values` (templates rendered over
/// `b` where they can be, else printed as they are), then rendered as a whole.
pub fn fill_path(
    mut path: String,
    values: &serde_json::Map<String, Value>,
    b: &Bindings,
) -> String {
    for (k, v) in values {
        let shown = match render(v, b) {
            Ok(x) => crate::target::http::encode(&text(&x)),
            Err(_) => text(v),
        };
        path = path.replace(&format!("{{{k}}}"), &shown);
    }
    match render_str(&path, b) {
        Ok(Value::String(p)) => p,
        _ => path,
    }
}

/// `?k=v&…` for a listing, unencoded so that templates stay readable (empty without a
/// query).
pub fn query_suffix(query: &[(String, String)]) -> String {
    if query.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("?{}", pairs.join("&"))
}
