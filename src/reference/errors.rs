//! The SCP error envelope and the documented error codes.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::store::uuid_v4;
use super::variants::{Variant, VariantSet};

/// An error answer; rendered by [`ApiError::into_response_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: Vec<String>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: vec![detail.into()],
        }
    }
    pub fn validation(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "ValidationError", detail)
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "ResourceNotFound", detail)
    }
    pub fn no_such_version(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_ACCEPTABLE, "NoSuchVersion", detail)
    }
    /// Only produced by faults or by the panic safety net; the live service uses this code for 500.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ContactAdminForAssistance",
            detail,
        )
    }

    /// Renders the envelope, or the bare `{"message":..}` object when the
    /// `error-envelope-missing` fault is on.
    pub fn into_response_with(self, envelope: bool) -> Response {
        self.render(envelope, &VariantSet::default())
    }

    /// Renders the envelope (shaped by the active variants), or the bare `{"message":..}`
    /// object when `envelope` is false.
    pub fn render(self, envelope: bool, variants: &VariantSet) -> Response {
        let body = if envelope {
            let (code, title) = if variants.has(Variant::AltErrorCodes) {
                alt_code(self.code)
            } else {
                (self.code, self.code)
            };
            let detail = if variants.has(Variant::DetailString) {
                json!(self.detail.join("; "))
            } else {
                json!(self.detail)
            };
            let id = || {
                if variants.has(Variant::UuidRequestIds) {
                    uuid_v4()
                } else {
                    request_id()
                }
            };
            json!({"errors": [{
                "code": code,
                "title": title,
                "detail": detail,
                "status": self.status.as_u16(),
                "request_id": id(),
                "global_request_id": id(),
                "links": [],
                "related_resources": [],
                "response": null,
            }]})
        } else {
            json!({"message": self.detail.join("; ")})
        };
        let mut resp = (self.status, body.to_string()).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp
    }
}

/// The `alt-error-codes` variant: (code, title) in place of a default code.
fn alt_code(code: &'static str) -> (&'static str, &'static str) {
    match code {
        "ValidationError" => ("InvalidParameter", "Invalid parameter"),
        "Unauthorized" => ("AuthenticationFailed", "Authentication failed"),
        "Forbidden" => ("AccessDenied", "Access denied"),
        "ResourceNotFound" => ("KeyNotFound", "Key not found"),
        "NoSuchVersion" => ("UnsupportedVersion", "Unsupported version"),
        "ContactAdminForAssistance" => ("InternalError", "Internal error"),
        other => (other, other),
    }
}

/// `req-` followed by 32 random lowercase hex digits.
pub fn request_id() -> String {
    format!("req-{}", hex::encode(rand::random::<[u8; 16]>()))
}
