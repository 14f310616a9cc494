//! Request pipeline: version -> auth -> body limit -> route -> handler -> render.
//!
//! Routing is a hand-written match on path segments so that unknown paths *and* wrong methods on
//! known paths both answer the documented 404 (axum would emit 405), and so that every error is
//! rendered through one place (the error envelope, or its absence under a fault).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;

use super::errors::ApiError;
use super::faults::Fault;
use super::handlers::{control, data, managed};
use super::input::{parse_query, query_param, raw_query_param};
use super::store::Principal;
use super::variants::Variant;
use super::version::{negotiate, ApiVersion};
use super::{auth, App, Config};

/// A successful answer: status plus optional JSON body (None = empty, for 204).
pub struct Reply {
    pub status: StatusCode,
    pub body: Option<Value>,
}

impl Reply {
    pub fn ok(v: Value) -> Reply {
        Reply {
            status: StatusCode::OK,
            body: Some(v),
        }
    }
}

/// Everything a handler may look at.
pub struct Ctx<'a> {
    pub app: &'a App,
    pub version: ApiVersion,
    pub principal: Principal,
    pub query: Vec<(String, String)>,
    pub body: Bytes,
}

impl Ctx<'_> {
    pub fn has(&self, f: Fault) -> bool {
        self.app.faults.has(f)
    }
    pub fn variant(&self, v: Variant) -> bool {
        self.app.variants.has(v)
    }
    /// A query parameter: its first occurrence (its last under the `query-last-wins` variant);
    /// an empty value counts as absent.
    pub fn param(&self, name: &str) -> Option<&str> {
        query_param(&self.query, name, self.variant(Variant::QueryLastWins))
    }
    /// Like [`Ctx::param`], but an empty value is returned as such.
    pub fn raw_param(&self, name: &str) -> Option<&str> {
        raw_query_param(&self.query, name, self.variant(Variant::QueryLastWins))
    }
}

/// The server as an axum `Router` (usable without a socket, e.g. with `tower::ServiceExt`).
pub fn router(config: Config) -> Router {
    Router::new().fallback(entry).with_state(App::new(config))
}

async fn entry(State(app): State<Arc<App>>, req: Request) -> Response {
    let envelope = !app.faults.has(Fault::ErrorEnvelopeMissing);
    match handle(app.clone(), req).await {
        Ok(reply) => render(&app, reply),
        Err(e) => e.render(envelope, &app.variants),
    }
}

async fn handle(app: Arc<App>, req: Request) -> Result<Reply, ApiError> {
    let (parts, body) = req.into_parts();
    let version_header = match parts.headers.get("Scp-Api-Version") {
        Some(v) => Some(v.to_str().unwrap_or("\u{fffd}")),
        None => None,
    };
    let version = match version_header {
        None if app.faults.has(Fault::MissingVersionServedOldest) => ApiVersion::V1_0,
        _ => negotiate(
            version_header,
            app.config.sunset.as_ref(),
            app.faults.has(Fault::UnknownVersionServed),
        )?,
    };

    let method = parts.method.as_str().to_string();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| parts.uri.path().to_string());
    let principal = if app.faults.has(Fault::AuthIgnored) {
        let ak = parts
            .headers
            .get("Scp-Accesskey")
            .and_then(|v| v.to_str().ok())
            .unwrap_or(&app.config.credentials.access_key);
        Principal::from_access_key(ak)
    } else {
        // The URL as on the wire: scheme + Host header + request target, no re-encoding.
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .or_else(|| parts.uri.authority().map(|a| a.as_str().to_string()))
            .ok_or_else(|| ApiError::unauthorized("missing Host header"))?;
        let url = format!("http://{host}{path_and_query}");
        auth::authenticate(
            &parts.headers,
            &method,
            &url,
            &app.config.credentials,
            app.config.clock_skew_secs,
            chrono::Utc::now().timestamp_millis(),
        )?
    };

    let limit = app.config.body_limit_bytes;
    let body = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::validation(format!(
            "body: request body exceeds the {limit} byte limit or could not be read"
        ))
    })?;

    let query = parse_query(parts.uri.query());
    let path = parts.uri.path().to_string();
    let m = parts.method.clone();
    // The handler runs in its own task (local crypto moves on to a blocking thread, engine
    // calls are awaited). A panic surfaces as a JoinError and becomes a 500: a last-resort
    // safety net, never an expected path.
    let joined = tokio::spawn(async move {
        let ctx = Ctx {
            app: &app,
            version,
            principal,
            query,
            body,
        };
        dispatch(&ctx, &m, &path).await
    })
    .await;
    match joined {
        Ok(r) => r,
        Err(_) => Err(ApiError::internal("internal error")),
    }
}

async fn dispatch(ctx: &Ctx<'_>, method: &Method, path: &str) -> Result<Reply, ApiError> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let no_route = || ApiError::not_found(format!("no such resource: {method} {path}"));
    if segs.iter().any(|s| s.is_empty()) {
        return Err(no_route());
    }
    let m = method.as_str();
    match segs.as_slice() {
        ["v1", "kms", "transit"] => match m {
            "GET" => control::list_keys(ctx),
            "POST" => control::create_key(ctx).await,
            _ => Err(no_route()),
        },
        ["v1", "kms", "transit", "duplicate"] if m == "GET" => control::check_duplicate_name(ctx),
        ["v1", "kms", "transit", id] => match m {
            "GET" => control::show_key(ctx, id),
            "DELETE" => control::delete_key(ctx, id).await,
            _ => Err(no_route()),
        },
        ["v1", "kms", "transit", id, op] => match (m, *op) {
            ("PUT", "rotate-info") => control::change_rotate_info(ctx, id),
            ("PUT", "state") => control::change_state(ctx, id),
            ("GET", "users") => control::list_users(ctx, id),
            ("POST", "rotate") => control::rotate_key(ctx, id).await,
            ("PUT", "description") => control::update_description(ctx, id),
            _ => Err(no_route()),
        },
        ["v1", "kms", "openapi", "hmac", "verify", id] if m == "POST" => {
            data::verify_hmac(ctx, id).await
        }
        ["v1", "kms", "openapi", op, id] if m == "POST" => match *op {
            "datakey" => data::datakey(ctx, id).await,
            "decrypt" => data::decrypt(ctx, id).await,
            "encrypt" => data::encrypt(ctx, id).await,
            "hmac" => data::hmac(ctx, id).await,
            "rewrap" => data::rewrap(ctx, id).await,
            "sign" => data::sign(ctx, id).await,
            "verify" => data::verify(ctx, id).await,
            _ => Err(no_route()),
        },
        ["v1", "managed-kms", "transit", ..] => {
            if !ctx.version.has_managed() && !ctx.has(Fault::ManagedKmsBelow12) {
                return Err(ApiError::not_found(format!(
                    "no such operation in kms {}",
                    ctx.version.as_str()
                )));
            }
            match (m, &segs[3..]) {
                ("GET", []) => managed::list(ctx),
                ("GET", [id]) => managed::show(ctx, id),
                ("PUT", [id, "description"]) => managed::update_description(ctx, id),
                _ => Err(no_route()),
            }
        }
        _ => Err(no_route()),
    }
}

fn render(app: &App, reply: Reply) -> Response {
    let Some(body) = reply.body else {
        return reply.status.into_response();
    };
    let ct = if app.faults.has(Fault::TextContentType) {
        "text/plain; charset=utf-8"
    } else {
        "application/json"
    };
    let mut resp = (reply.status, body.to_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    resp
}
