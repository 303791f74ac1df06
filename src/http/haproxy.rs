//! HAProxy instance endpoints: `GET /api/haproxy/instances` (health from
//! `show info`, push subscription state, poll counts), `POST
//! /api/admin/haproxy/{instance}/validate`, and the instance gauges of `/metrics`.

use std::fmt::Write;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::admin::authorize;
use super::{ApiError, AppState, percent_decode};
use crate::actors::fleet::AdminError;
use crate::actors::fleet_haproxy::{InstanceSummary, ListInstances, ValidateInstance};
use crate::actors::instance::PushState;
use crate::model::ConfigValidation;
use crate::model::{FetchStatus, SourceKind};
use crate::sources::haproxy::info::InstanceInfo;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/haproxy/instances", web::get().to(instances))
        .route(
            "/api/admin/haproxy/{instance}/validate",
            web::post().to(validate),
        );
}

fn unavailable(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        format!("the fleet did not answer: {e}"),
    )
}

/// Every instance, as the fleet sees it now.
pub async fn list(state: &AppState) -> Result<Vec<InstanceSummary>, ApiError> {
    state.fleet.send(ListInstances).await.map_err(unavailable)
}

/// The answer of `GET /api/haproxy/instances`.
#[derive(Serialize, ToSchema)]
pub struct HaproxyInstances {
    pub instances: Vec<InstanceSummary>,
}

/// Every HAProxy instance: health from `show info`, push state, poll counts.
#[utoipa::path(get, path = "/api/haproxy/instances", tag = "state", responses(
    (status = 200, description = "Every instance (docs/api.md)", body = HaproxyInstances),
    (status = 503, description = "`unavailable`: shutting down", body = super::ErrorBody)))]
pub async fn instances(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let instances = list(&state).await?;
    Ok(HttpResponse::Ok().json(HaproxyInstances { instances }))
}

/// Checks an instance's configuration with its `validate` command.
#[utoipa::path(post, path = "/api/admin/haproxy/{instance}/validate", tag = "admin",
    params(("instance" = String, Path, min_length = 1, description = "`[[haproxy]]` name")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The check's result, as in `config_validated`", body = ConfigValidation),
        (status = 401, description = "`unauthorized`", body = super::ErrorBody),
        (status = 403, description = "`admin_disabled`", body = super::ErrorBody),
        (status = 404, description = "`not_found`: unknown instance", body = super::ErrorBody),
        (status = 409, description = "`not_configured`: no `validate` command", body = super::ErrorBody),
        (status = 500, description = "`admin_failed`", body = super::ErrorBody),
        (status = 503, description = "`unavailable`: shutting down", body = super::ErrorBody)))]
pub async fn validate(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let name = percent_decode(req.match_info().get("instance").unwrap_or(""));
    let answer = state
        .fleet
        .send(ValidateInstance(name))
        .await
        .map_err(unavailable)?;
    match answer {
        Ok(v) => Ok(HttpResponse::Ok().json(v)),
        Err(AdminError::UnknownTarget(m)) => Err(ApiError::not_found(format!("unknown {m}"))),
        Err(AdminError::Conflict(m)) => {
            Err(ApiError::new(StatusCode::CONFLICT, "not_configured", m))
        }
        Err(e) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "admin_failed",
            e.to_string(),
        )),
    }
}

/// One metric family of instances: name, type, help, and the value of one
/// instance (`None`: no sample for it).
type Family = (
    &'static str,
    &'static str,
    &'static str,
    fn(&InstanceSummary) -> Option<f64>,
);

fn info(i: &InstanceSummary, value: fn(&InstanceInfo) -> u64) -> Option<f64> {
    i.view.info.as_ref().map(|info| value(info) as f64)
}

fn push(i: &InstanceSummary, v: f64) -> Option<f64> {
    (i.view.push != PushState::Off).then_some(v)
}

const FAMILIES: [Family; 9] = [
    (
        "watchpost_haproxy_info_up",
        "gauge",
        "1 if the last `show info` of the instance succeeded (socket sources).",
        |i| {
            let socket = i.view.source == SourceKind::Socket;
            socket.then(|| (i.view.last_fetch_status == FetchStatus::Success) as u8 as f64)
        },
    ),
    (
        "watchpost_haproxy_uptime_seconds",
        "gauge",
        "Uptime of the HAProxy process.",
        |i| info(i, |x| x.uptime_s),
    ),
    (
        "watchpost_haproxy_current_connections",
        "gauge",
        "Connections open now.",
        |i| info(i, |x| x.curr_conns),
    ),
    (
        "watchpost_haproxy_max_connections",
        "gauge",
        "The process's connection limit (maxconn).",
        |i| info(i, |x| x.max_conn),
    ),
    (
        "watchpost_haproxy_connection_rate",
        "gauge",
        "Connections per second over the last second.",
        |i| info(i, |x| x.conn_rate),
    ),
    (
        "watchpost_haproxy_session_rate",
        "gauge",
        "Sessions per second over the last second.",
        |i| info(i, |x| x.sess_rate),
    ),
    (
        "watchpost_haproxy_idle_ratio",
        "gauge",
        "Share of time the process was idle (0 to 1).",
        |i| info(i, |x| x.idle_pct).map(|p| p / 100.0),
    ),
    (
        "watchpost_haproxy_push_connected",
        "gauge",
        "1 while the event ring subscription is connected.",
        |i| push(i, (i.view.push == PushState::Connected) as u8 as f64),
    ),
    (
        "watchpost_haproxy_push_lines_total",
        "counter",
        "Server state lines read from the event ring.",
        |i| push(i, i.view.push_lines as f64),
    ),
];

/// The instance gauges, in the Prometheus text format.
pub fn metrics(out: &mut String, instances: &[InstanceSummary]) {
    let escape = |v: &str| {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    for (name, kind, help, value) in FAMILIES {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for i in instances {
            if let Some(v) = value(i) {
                let label = escape(&i.view.name);
                let _ = writeln!(out, "{name}{{instance=\"{label}\"}} {v}");
            }
        }
    }
}
