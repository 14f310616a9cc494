//! The embedded OTC (Open Telekom Cloud) KMS reference server:
//! `POST /v1.0/{project_id}/kms/describe-key` behind an SDK-HMAC-SHA256 (AK/SK) check, with
//! seeded keys in the page's shape and a catalogue of switchable faults. See
//! `docs/reference.md` (OTC section) for every decision.

mod faults;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Map, Value};

pub use faults::OtcFault;

use super::catalogue::FaultSet;
use super::{wire, RunningServer};
use crate::target::sign::{otc, Credentials, HttpRequest, VerifyError};

/// Default access key of the OTC reference server (documented, not a secret).
pub const DEFAULT_ACCESS_KEY: &str = "KMSCONFORMOTCACCESSKEY";
/// Default secret key of the OTC reference server (documented, not a secret).
pub const DEFAULT_SECRET_KEY: &str = "kmsconform-otc-secret";
/// Default project id (32 hex digits, documented).
pub const DEFAULT_PROJECT_ID: &str = "5f3c2b1a0e9d8c7b6a5f4e3d2c1b0a99";
/// Larger request bodies are refused with 400.
pub const BODY_LIMIT: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct Config {
    pub credentials: Credentials,
    pub faults: Vec<OtcFault>,
    /// Accepted |server clock - X-Sdk-Date|, in seconds.
    pub clock_skew_secs: i64,
    /// The project whose keys the server holds.
    pub project_id: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            credentials: Credentials {
                access_key: DEFAULT_ACCESS_KEY.into(),
                secret_key: DEFAULT_SECRET_KEY.into(),
                account_id: String::new(),
            },
            faults: Vec::new(),
            clock_skew_secs: otc::CLOCK_SKEW_SECS,
            project_id: DEFAULT_PROJECT_ID.into(),
        }
    }
}

/// One key, in the page's fields (all strings, as the page types them).
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub key_id: String,
    pub domain_id: String,
    pub key_alias: String,
    pub realm: String,
    pub key_description: String,
    /// Epoch milliseconds.
    pub creation_date: i64,
    /// Epoch milliseconds, None when no deletion is scheduled.
    pub scheduled_deletion_date: Option<i64>,
    pub key_state: String,
    pub default_key_flag: String,
    pub key_type: String,
    pub expiration_time: Option<i64>,
    pub origin: String,
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
const DOMAIN_ID: &str = "b168fe00ff56492495a7d22974df2d0b";

/// The seeded keys: the page's example key (enabled), a Default Master Key, and a key
/// pending deletion.
pub fn seeded_keys() -> Vec<Key> {
    let created = 1_472_442_386_000;
    let key = |id: &str, alias: &str, state: &str, flag: &str, deletion: Option<i64>| Key {
        key_id: id.into(),
        domain_id: DOMAIN_ID.into(),
        key_alias: alias.into(),
        realm: "eu-de".into(),
        key_description: String::new(),
        creation_date: created,
        scheduled_deletion_date: deletion,
        key_state: state.into(),
        default_key_flag: flag.into(),
        key_type: "1".into(),
        expiration_time: None,
        origin: "kms".into(),
    };
    vec![
        key(
            "0d0466b0-e727-4d9c-b35d-f84bb474a37f",
            "kms_test",
            "2",
            "0",
            None,
        ),
        key(
            "4a6f1c2e-8b3d-4e5f-9a0b-1c2d3e4f5a6b",
            "obs/default",
            "2",
            "1",
            None,
        ),
        key(
            "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b",
            "kmsconform-retired",
            "4",
            "0",
            Some(created + 7 * DAY_MS),
        ),
    ]
}

struct App {
    config: Config,
    faults: FaultSet<OtcFault>,
    keys: Vec<Key>,
}

/// The server as an axum `Router` (usable without a socket).
pub fn router(config: Config) -> Router {
    let app = App {
        faults: FaultSet::new(&config.faults),
        keys: seeded_keys(),
        config,
    };
    Router::new().fallback(entry).with_state(Arc::new(app))
}

/// Binds `addr` (port 0 picks a free port) and serves in a background task.
pub async fn spawn(config: Config, addr: SocketAddr) -> anyhow::Result<RunningServer> {
    super::serve(router(config), addr).await
}

enum Failure {
    /// The API gateway's answer: flat {error_msg, error_code, request_id}.
    Gateway {
        status: StatusCode,
        code: &'static str,
        msg: String,
    },
    /// The KMS service's answer: {"error": {error_code, error_msg}}.
    Kms {
        status: StatusCode,
        code: &'static str,
        msg: String,
    },
}

fn auth_failure(e: &VerifyError) -> Failure {
    let why = match e {
        VerifyError::SignatureMismatch => "verify aksk signature fail".to_string(),
        VerifyError::UnknownAccessKey => "Get secretKey failed, err:ak not exist".to_string(),
        other => other.to_string(),
    };
    Failure::Gateway {
        status: StatusCode::UNAUTHORIZED,
        code: "APIGW.0301",
        msg: format!("Incorrect IAM authentication information: {why}"),
    }
}

fn bad_request(code: &'static str, msg: impl Into<String>) -> Failure {
    Failure::Kms {
        status: StatusCode::BAD_REQUEST,
        code,
        msg: msg.into(),
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

async fn entry(State(app): State<Arc<App>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return render_failure(
                &app,
                bad_request(
                    "KMS.0202",
                    format!("request body exceeds {BODY_LIMIT} bytes"),
                ),
            )
        }
    };
    match handle(&app, &parts, &body) {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(f) => render_failure(&app, f),
    }
}

fn render_failure(app: &App, f: Failure) -> Response {
    match f {
        Failure::Gateway { status, code, msg } => json_response(
            status,
            &json!({"error_msg": msg, "error_code": code, "request_id": wire::request_id()}),
        ),
        Failure::Kms { status, code, msg } => {
            let inner = json!({"error_code": code, "error_msg": msg});
            let body = if app.faults.has(OtcFault::ErrorEnvelopeFlat) {
                inner
            } else {
                json!({"error": inner})
            };
            json_response(status, &body)
        }
    }
}

fn handle(app: &App, parts: &axum::http::request::Parts, body: &[u8]) -> Result<Value, Failure> {
    if !app.faults.has(OtcFault::AuthIgnored) {
        let url = wire::url(parts)
            .ok_or_else(|| auth_failure(&VerifyError::MissingHeader("Host".into())))?;
        let headers = wire::headers(parts);
        let skew = if app.faults.has(OtcFault::StaleDateAccepted) {
            i64::MAX / 2000
        } else {
            app.config.clock_skew_secs
        };
        otc::verify(
            &HttpRequest {
                method: parts.method.as_str(),
                url: &url,
                headers: &headers,
                body,
            },
            &app.config.credentials,
            chrono::Utc::now().timestamp_millis(),
            skew,
        )
        .map_err(|e| auth_failure(&e))?;
    }
    let path = parts.uri.path();
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let project = match (segs.as_slice(), &parts.method) {
        (["v1.0", project, "kms", "describe-key"], &Method::POST) if !project.is_empty() => {
            *project
        }
        _ => {
            return Err(Failure::Gateway {
                status: StatusCode::NOT_FOUND,
                code: "APIGW.0101",
                msg: "The API does not exist or has not been published in the environment".into(),
            })
        }
    };
    let malformed = |msg: &str| {
        if app.faults.has(OtcFault::BadBody500) {
            Failure::Kms {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "KMS.0001",
                msg: "internal error".into(),
            }
        } else {
            bad_request("KMS.0202", msg.to_string())
        }
    };
    let req: Map<String, Value> = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err(malformed("the request body must be a JSON object")),
        Err(e) => return Err(malformed(&format!("the request body is not JSON: {e}"))),
    };
    let key_id = match req.get("key_id") {
        Some(Value::String(s)) if is_key_id(s) => s.as_str(),
        Some(Value::String(_)) => {
            return Err(bad_request(
                "KMS.0203",
                "key_id must be 36 characters matching ^[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}$",
            ))
        }
        Some(_) => return Err(bad_request("KMS.0203", "key_id must be a string")),
        None => return Err(bad_request("KMS.0203", "key_id is required")),
    };
    match req.get("sequence") {
        None => {}
        Some(Value::String(s)) if s.len() == 36 && s.is_ascii() => {}
        Some(_) => {
            return Err(bad_request(
                "KMS.0204",
                "sequence must be 36 ASCII characters (36 bytes)",
            ))
        }
    }
    let found = app
        .keys
        .iter()
        .find(|k| k.key_id == key_id && project == app.config.project_id);
    match found {
        Some(k) => {
            let info = key_json(k, &app.faults);
            Ok(if app.faults.has(OtcFault::KeyInfoArray) {
                json!({"key_info": [info]})
            } else {
                json!({"key_info": info})
            })
        }
        None => Err(Failure::Kms {
            status: if app.faults.has(OtcFault::UnknownKey400) {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::NOT_FOUND
            },
            code: "KMS.0207",
            msg: format!("the key {key_id} does not exist in project {project}"),
        }),
    }
}

/// `^[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}$`, as the page documents.
fn is_key_id(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts.iter().zip([8, 4, 4, 4, 12]).all(|(p, n)| {
            p.len() == n
                && p.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        })
}

fn timestamp(ms: Option<i64>, faults: &FaultSet<OtcFault>) -> Value {
    let Some(ms) = ms else { return json!("") };
    let n = if faults.has(OtcFault::TimestampSeconds) {
        ms / 1000
    } else {
        ms
    };
    if faults.has(OtcFault::TimestampNumber) {
        json!(n)
    } else {
        json!(n.to_string())
    }
}

fn key_json(k: &Key, faults: &FaultSet<OtcFault>) -> Value {
    let mut v = json!({
        "key_id": k.key_id,
        "domain_id": k.domain_id,
        "key_alias": k.key_alias,
        "realm": k.realm,
        "key_description": k.key_description,
        "creation_date": timestamp(Some(k.creation_date), faults),
        "scheduled_deletion_date": timestamp(k.scheduled_deletion_date, faults),
        "key_state": k.key_state,
        "default_key_flag": k.default_key_flag,
        "key_type": k.key_type,
        "expiration_time": match k.expiration_time {
            Some(t) => json!(t.to_string()),
            None => json!(""),
        },
        "origin": k.origin,
    });
    if faults.has(OtcFault::DropRequiredField) {
        v.as_object_mut().expect("object").remove("key_state");
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_follow_the_documented_pattern() {
        assert!(is_key_id("0d0466b0-e727-4d9c-b35d-f84bb474a37f"));
        assert!(!is_key_id("0D0466B0-E727-4D9C-B35D-F84BB474A37F"));
        assert!(!is_key_id("0d0466b0e7274d9cb35df84bb474a37f"));
        for k in seeded_keys() {
            assert!(is_key_id(&k.key_id));
        }
    }
}
