//! `GET /api/notifiers`, the notifier counters on `/metrics`, and
//! `POST /api/admin/notifiers/{name}/test` (send a test message, answer what the
//! receiver said).

use std::fmt::Write;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::admin::authorize;
use super::{ApiError, AppState};
use crate::notify::status::NotifierView;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/notifiers", web::get().to(list)).route(
        "/api/admin/notifiers/{name}/test",
        web::post().to(send_test),
    );
}

/// The answer of `GET /api/notifiers`.
#[derive(Serialize, ToSchema)]
pub struct Notifiers {
    pub notifiers: Vec<NotifierView>,
}

/// The answer of a notifier test the receiver accepted.
#[derive(Serialize, ToSchema)]
pub struct NotifierTestAnswer {
    pub notifier: String,
    /// Always `true`.
    pub accepted: bool,
    /// What the receiver said.
    pub answer: String,
}

/// Every configured notifier with its delivery state.
#[utoipa::path(get, path = "/api/notifiers", tag = "alerts",
    responses((status = 200, description = "Every notifier", body = Notifiers)))]
pub async fn list(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(Notifiers {
        notifiers: state.notifiers.views(),
    })
}

/// Sends a test notification through one notifier.
#[utoipa::path(post, path = "/api/admin/notifiers/{name}/test", tag = "admin",
    security(("admin_token" = [])),
    params(("name" = String, Path, description = "Notifier name")),
    responses((status = 200, description = "The receiver accepted it", body = NotifierTestAnswer),
        (status = 401, description = "`unauthorized`", body = super::ErrorBody),
        (status = 403, description = "`admin_disabled`", body = super::ErrorBody),
        (status = 404, description = "`not_found`: no such notifier", body = super::ErrorBody),
        (status = 502, description = "`not_accepted`: the receiver refused or failed", body = super::ErrorBody)))]
pub async fn send_test(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let name = req.match_info().get("name").unwrap_or_default().to_string();
    let config = state.config.get();
    let Some(notifier) = config.notify.iter().find(|n| n.name == name) else {
        return Err(ApiError::not_found(format!("no notifier named {name:?}")));
    };
    match crate::notify::send_test(&config, notifier).await {
        Ok(answer) => Ok(HttpResponse::Ok().json(NotifierTestAnswer {
            notifier: name,
            accepted: true,
            answer,
        })),
        Err(error) => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "not_accepted",
            format!("notifier {name}: {error}"),
        )),
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A metric family: name, type, help and the value of one notifier.
type Family = (
    &'static str,
    &'static str,
    &'static str,
    fn(&NotifierView) -> u64,
);

/// The notifier families of `/metrics`.
pub fn metrics(out: &mut String, state: &AppState) {
    let views = state.notifiers.views();
    let families: [Family; 4] = [
        (
            "watchpost_notifier_delivered_total",
            "counter",
            "Messages the receiver accepted.",
            |v| v.delivered_total,
        ),
        (
            "watchpost_notifier_failed_attempts_total",
            "counter",
            "Delivery attempts the receiver did not accept (each retry counts).",
            |v| v.failed_attempts_total,
        ),
        (
            "watchpost_notifier_pending",
            "gauge",
            "Alert transitions waiting to be delivered.",
            |v| v.pending,
        ),
        (
            "watchpost_notifier_up",
            "gauge",
            "1 while the notifier's last delivery succeeded and its circuit is closed.",
            |v| (v.state == crate::notify::status::NotifierState::Ok) as u64,
        ),
    ];
    for (name, kind, help, value) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for v in &views {
            let _ = writeln!(
                out,
                "{name}{{notifier=\"{}\"}} {}",
                escape(&v.name),
                value(v)
            );
        }
    }
}
