//! The HTTP API (actix-web): read endpoints served from the status actor's committed
//! snapshot, and admin endpoints that become messages to the fleet.

use std::sync::Arc;

use actix::Addr;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use crate::actors::fleet::Fleet;
use crate::actors::status::StatusHandle;
use crate::config::LiveConfig;

mod admin;
mod alerts;
mod api;
pub mod bodies;
mod dashboard;
mod drift;
mod haproxy;
mod health;
pub mod large;
mod metrics;
mod notifiers;
pub mod openapi;
pub mod tls;
mod transactions;
mod views;
pub mod ws;

/// Largest request body accepted.
pub const MAX_BODY: usize = 16 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub status: StatusHandle,
    pub fleet: Addr<Fleet>,
    /// The configuration in force (replaced by a reload).
    pub config: Arc<LiveConfig>,
    /// The running notifiers.
    pub notifiers: Arc<crate::notify::Registry>,
    /// This daemon's id (kept in its redb file), told to WebSocket clients.
    pub instance_id: Arc<str>,
    /// Answers as large as the fleet, a few at a time.
    pub large: large::Gate,
}

/// The body of every error answer: `{"error":{"code","message"}}`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong: a stable `code` to act on and a message for people.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// `bad_request`, `not_found`, `unauthorized`, `admin_disabled`, ... (docs/api.md).
    pub code: String,
    pub message: String,
    /// Every problem of a configuration that was refused (`invalid_config` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<crate::config::ConfigError>>,
    /// Every problem of a request that was refused (`bad_request` of a silence,
    /// `invalid_transaction`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<String>>,
}

/// An API error: `{"error":{"code","message"}}` with its HTTP status.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message.clone(),
                errors: None,
                problems: None,
            },
        };
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header(("WWW-Authenticate", "Bearer realm=\"watchpost admin\""));
        }
        response.json(body)
    }
}

/// Registers every route and the JSON error handlers.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let json = web::JsonConfig::default()
        .limit(MAX_BODY)
        .error_handler(|e, _| ApiError::bad_request(format!("invalid JSON body: {e}")).into());
    let query = web::QueryConfig::default()
        .error_handler(|e, _| ApiError::bad_request(format!("invalid query: {e}")).into());
    cfg.app_data(json)
        .app_data(query)
        .configure(api::routes)
        .configure(drift::routes)
        .configure(admin::routes)
        .configure(haproxy::routes)
        .configure(transactions::routes)
        .configure(notifiers::routes)
        .configure(alerts::routes)
        .configure(ws::routes)
        .configure(dashboard::routes)
        .default_service(web::to(not_found));
}

/// No route took the request: 405 with `Allow` when the path exists with other
/// methods (as the OpenAPI description says), 404 otherwise.
async fn not_found(req: HttpRequest) -> HttpResponse {
    let allowed = openapi::allowed_methods(req.path());
    if allowed.is_empty() {
        return ApiError::not_found(format!("no such endpoint: {} {}", req.method(), req.path()))
            .error_response();
    }
    let allow = allowed.join(", ");
    let message = format!(
        "{} is not allowed on {}; use {allow}",
        req.method(),
        req.path()
    );
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        message,
    )
    .error_response();
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allow) {
        response
            .headers_mut()
            .insert(actix_web::http::header::ALLOW, value);
    }
    response
}

/// Decodes `%XX` escapes (target ids arrive as `haproxy%2Ffdmz01%2Fjurws`).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn decodes_target_ids() {
        assert_eq!(
            percent_decode("haproxy%2Ffdmz01%2Fjurws"),
            "haproxy/fdmz01/jurws"
        );
        assert_eq!(
            percent_decode("haproxy/fdmz01/jurws"),
            "haproxy/fdmz01/jurws"
        );
        assert_eq!(percent_decode("a%2fb%zz%"), "a/b%zz%");
    }
}
