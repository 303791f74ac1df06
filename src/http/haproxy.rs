//! HAProxy instance endpoints: `GET /api/haproxy/instances` (health from
//! `show info`, push subscription state, poll counts), `POST
//! /api/admin/haproxy/{instance}/validate`, and the instance gauges of `/metrics`.

use std::fmt::Write;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::admin::authorize;
use super::{ApiError, AppState, percent_decode};
use crate::actors::fleet::AdminError;
use crate::actors::fleet_haproxy::{ListInstances, ValidateInstance};

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
pub async fn list(state: &AppState) -> Result<Vec<Value>, ApiError> {
    state.fleet.send(ListInstances).await.map_err(unavailable)
}

async fn instances(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let list = list(&state).await?;
    Ok(HttpResponse::Ok().json(json!({"instances": list})))
}

async fn validate(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
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
    fn(&Value) -> Option<f64>,
);

fn info(i: &Value, key: &str) -> Option<f64> {
    i["info"][key].as_f64()
}

fn push(i: &Value, v: f64) -> Option<f64> {
    (i["push"] != "off").then_some(v)
}

const FAMILIES: [Family; 9] = [
    (
        "watchpost_haproxy_info_up",
        "gauge",
        "1 if the last `show info` of the instance succeeded (socket sources).",
        |i| (i["source"] == "socket").then(|| (i["last_fetch_status"] == "success") as u8 as f64),
    ),
    (
        "watchpost_haproxy_uptime_seconds",
        "gauge",
        "Uptime of the HAProxy process.",
        |i| info(i, "uptime_s"),
    ),
    (
        "watchpost_haproxy_current_connections",
        "gauge",
        "Connections open now.",
        |i| info(i, "curr_conns"),
    ),
    (
        "watchpost_haproxy_max_connections",
        "gauge",
        "The process's connection limit (maxconn).",
        |i| info(i, "max_conn"),
    ),
    (
        "watchpost_haproxy_connection_rate",
        "gauge",
        "Connections per second over the last second.",
        |i| info(i, "conn_rate"),
    ),
    (
        "watchpost_haproxy_session_rate",
        "gauge",
        "Sessions per second over the last second.",
        |i| info(i, "sess_rate"),
    ),
    (
        "watchpost_haproxy_idle_ratio",
        "gauge",
        "Share of time the process was idle (0 to 1).",
        |i| info(i, "idle_pct").map(|p| p / 100.0),
    ),
    (
        "watchpost_haproxy_push_connected",
        "gauge",
        "1 while the event ring subscription is connected.",
        |i| push(i, (i["push"] == "connected") as u8 as f64),
    ),
    (
        "watchpost_haproxy_push_lines_total",
        "counter",
        "Server state lines read from the event ring.",
        |i| push(i, i["push_lines"].as_f64().unwrap_or(0.0)),
    ),
];

/// The instance gauges, in the Prometheus text format.
pub fn metrics(out: &mut String, instances: &[Value]) {
    let escape = |v: &str| {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    for (name, kind, help, value) in FAMILIES {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for i in instances {
            if let Some(v) = value(i) {
                let label = escape(i["name"].as_str().unwrap_or(""));
                let _ = writeln!(out, "{name}{{instance=\"{label}\"}} {v}");
            }
        }
    }
}
