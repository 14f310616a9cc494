//! The embedded NCP (Naver Cloud Platform) KMS reference server: `GET /kms/v1/keys/{keyTag}`
//! behind an API-gateway signature-v2 check, with seeded keys in the page's shape and a
//! catalogue of switchable faults. See `docs/reference.md` (NCP section) for every decision.

mod faults;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

pub use faults::NcpFault;

use super::catalogue::FaultSet;
use super::{wire, RunningServer};
use crate::target::sign::{ncp, Credentials, HttpRequest, VerifyError};

/// Default access key of the NCP reference server (documented, not a secret).
pub const DEFAULT_ACCESS_KEY: &str = "KMSCONFORM-NCP-ACCESS-KEY";
/// Default secret key of the NCP reference server (documented, not a secret).
pub const DEFAULT_SECRET_KEY: &str = "kmsconform-ncp-secret";
/// The path prefix the server's URL carries (`https://ocapi.ncloud.com/kms/v1`).
pub const BASE_PATH: &str = "/kms/v1";

#[derive(Debug, Clone)]
pub struct Config {
    pub credentials: Credentials,
    pub faults: Vec<NcpFault>,
    /// Accepted |server clock - x-ncp-apigw-timestamp|, in milliseconds.
    pub clock_skew_ms: i64,
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
            clock_skew_ms: ncp::CLOCK_SKEW_MS,
        }
    }
}

/// One key, in the page's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub key_id: i64,
    pub key_tag: String,
    pub key_name: String,
    pub key_type: String,
    pub status: String,
    pub keystore_id: i64,
    pub current_version: i64,
    pub protection_type: String,
    pub memo: String,
    pub is_convergent: bool,
    pub is_auto_rotation: bool,
    pub rotation_period: i64,
    pub next_rotation_date: i64,
    pub register_date: i64,
    /// Only for a key whose deletion is scheduled.
    pub destroy_date: Option<i64>,
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The seeded keys: the page's example key, and a key scheduled for deletion.
pub fn seeded_keys() -> Vec<Key> {
    let registered = 1_733_380_631_000;
    vec![
        Key {
            key_id: 12345,
            key_tag: "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v2w3x4y5z6".into(),
            key_name: "kmsconform-aes".into(),
            key_type: "AES256".into(),
            status: "ENABLE".into(),
            keystore_id: 1234,
            current_version: 1,
            protection_type: "BASIC".into(),
            memo: "kmsconform seeded key".into(),
            is_convergent: true,
            is_auto_rotation: true,
            rotation_period: 90,
            next_rotation_date: registered + 90 * DAY_MS,
            register_date: registered,
            destroy_date: None,
        },
        Key {
            key_id: 12346,
            key_tag: "z9y8x7w6v5u4t3s2r1q0p9o8n7m6l5k4j3i2h1g0f9e8d7c6b5a4".into(),
            key_name: "kmsconform-retired".into(),
            key_type: "AES256".into(),
            status: "DISABLE".into(),
            keystore_id: 1234,
            current_version: 3,
            protection_type: "BASIC".into(),
            memo: "scheduled for deletion".into(),
            is_convergent: false,
            is_auto_rotation: true,
            rotation_period: 30,
            next_rotation_date: registered + 60 * DAY_MS,
            register_date: registered - 30 * DAY_MS,
            destroy_date: Some(registered + 7 * DAY_MS),
        },
    ]
}

struct App {
    config: Config,
    faults: FaultSet<NcpFault>,
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

/// Binds `addr` (port 0 picks a free port) and serves in a background task. Clients use
/// `base_url() + BASE_PATH` as the server URL.
pub async fn spawn(config: Config, addr: SocketAddr) -> anyhow::Result<RunningServer> {
    super::serve(router(config), addr).await
}

/// An error answer in the gateway's shape.
struct GatewayError {
    status: StatusCode,
    code: &'static str,
    message: &'static str,
    details: String,
}

impl GatewayError {
    fn auth(e: &VerifyError) -> Self {
        GatewayError {
            status: StatusCode::UNAUTHORIZED,
            code: "200",
            message: "Authentication Failed",
            details: e.to_string(),
        }
    }
    fn not_found(details: impl Into<String>) -> Self {
        GatewayError {
            status: StatusCode::NOT_FOUND,
            code: "300",
            message: "Not Found Exception",
            details: details.into(),
        }
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
    let (parts, _body) = req.into_parts();
    match handle(&app, &parts) {
        Ok(body) => json_response(StatusCode::OK, &body),
        Err(mut e) => {
            if e.status == StatusCode::UNAUTHORIZED && app.faults.has(NcpFault::AuthError403) {
                e.status = StatusCode::FORBIDDEN;
            }
            let body = if app.faults.has(NcpFault::ErrorEnvelopeMissing) {
                json!({"message": format!("{}: {}", e.message, e.details)})
            } else {
                json!({"error": {"errorCode": e.code, "message": e.message, "details": e.details}})
            };
            json_response(e.status, &body)
        }
    }
}

fn handle(app: &App, parts: &axum::http::request::Parts) -> Result<Value, GatewayError> {
    if !app.faults.has(NcpFault::AuthIgnored) {
        let url = wire::url(parts)
            .ok_or_else(|| GatewayError::auth(&VerifyError::MissingHeader("Host".into())))?;
        let headers = wire::headers(parts);
        let skew = if app.faults.has(NcpFault::StaleTimestampAccepted) {
            i64::MAX / 2
        } else {
            app.config.clock_skew_ms
        };
        ncp::verify(
            &HttpRequest {
                method: parts.method.as_str(),
                url: &url,
                headers: &headers,
                body: b"",
            },
            &app.config.credentials,
            chrono::Utc::now().timestamp_millis(),
            skew,
        )
        .map_err(|e| GatewayError::auth(&e))?;
    }
    let path = parts.uri.path();
    let tag = path
        .strip_prefix(BASE_PATH)
        .and_then(|p| p.strip_prefix("/keys/"))
        .filter(|t| !t.is_empty() && !t.contains('/'));
    let (Some(tag), &Method::GET) = (tag, &parts.method) else {
        return Err(GatewayError::not_found(format!(
            "no such API: {} {path}",
            parts.method
        )));
    };
    match app.keys.iter().find(|k| k.key_tag == tag) {
        Some(k) => {
            let data = key_json(k, &app.faults);
            Ok(if app.faults.has(NcpFault::EnvelopeMissing) {
                data
            } else {
                json!({"code": "SUCCESS", "data": data})
            })
        }
        None if app.faults.has(NcpFault::UnknownKeySuccess) => {
            Ok(json!({"code": "SUCCESS", "data": null}))
        }
        None => Err(GatewayError::not_found(format!("no key with keyTag {tag}"))),
    }
}

fn timestamp(ms: i64, faults: &FaultSet<NcpFault>) -> Value {
    if faults.has(NcpFault::TimestampIso8601) {
        let t = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms).unwrap_or_default();
        json!(t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
    } else if faults.has(NcpFault::TimestampSeconds) {
        json!(ms / 1000)
    } else {
        json!(ms)
    }
}

fn key_json(k: &Key, faults: &FaultSet<NcpFault>) -> Value {
    let mut v = json!({
        "keyId": k.key_id,
        "keyTag": k.key_tag,
        "keyName": k.key_name,
        "keyType": k.key_type,
        "status": k.status,
        "keystoreId": k.keystore_id,
        "currentVersion": k.current_version,
        "protectionType": k.protection_type,
        "memo": k.memo,
        "isConvergent": k.is_convergent,
        "isAutoRotation": k.is_auto_rotation,
        "rotationPeriod": k.rotation_period,
        "nextRotationDate": timestamp(k.next_rotation_date, faults),
        "registerDate": timestamp(k.register_date, faults),
    });
    if let Some(d) = k.destroy_date {
        v["destroyDate"] = timestamp(d, faults);
    }
    if faults.has(NcpFault::DropRequiredField) {
        v.as_object_mut().expect("object").remove("currentVersion");
    }
    if faults.has(NcpFault::WrongFieldType) {
        v["keyId"] = json!(k.key_id.to_string());
    }
    v
}
