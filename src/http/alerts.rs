//! Alert and silence endpoints: `GET /api/alerts`, `GET /api/silences`,
//! `POST /api/admin/silences`, `DELETE /api/admin/silences/{id}`; the alert counts
//! of `/api/health` and the `watchpost_alerts` family of `/metrics`.

use std::fmt::Write;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::admin::{authorize, read_body};
use super::bodies::{SilenceError, parse_silence};
use super::{ApiError, AppState, ErrorBody};
use crate::actors::status::Snapshot;
use crate::actors::status_alerts::AlertCommand;
use crate::alerts::config::KEEP_RESOLVED;
use crate::alerts::model::SilenceState;
use crate::alerts::silences::{listed, silenced_by};
use crate::alerts::{Alert, AlertState, Rule, Severity};
use crate::model::Ts;

/// Most alerts one answer lists.
const MAX_ALERTS: usize = 10_000;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/alerts", web::get().to(alerts))
        .route("/api/silences", web::get().to(silences))
        .route("/api/admin/silences", web::post().to(create))
        .route("/api/admin/silences/{id}", web::delete().to(end));
}

/// Every alert with its `silenced_by` at `now`: firing first, then pending, then
/// resolved; by severity, oldest first.
pub fn all_alerts(snap: &Snapshot, now: Ts) -> Vec<Alert> {
    let silences = &snap.alerts.silences;
    let mut out: Vec<Alert> = snap
        .alerts
        .books
        .values()
        .flat_map(|b| b.alerts.values())
        .map(|a| Alert {
            silenced_by: silenced_by(a, silences, now),
            ..(**a).clone()
        })
        .collect();
    out.sort_by(|a, b| {
        (a.state, a.severity, a.since, &a.id).cmp(&(b.state, b.severity, b.since, &b.id))
    });
    out
}

/// Firing alerts, and those of them that are critical, for `/api/health`.
#[derive(Serialize, ToSchema)]
pub struct FiringCounts {
    pub firing: u32,
    pub critical: u32,
}

/// `{"firing": N, "critical": N}` for `/api/health`: firing alerts, and those of
/// them that are critical.
pub fn health_counts(snap: &Snapshot) -> FiringCounts {
    let firing = snap
        .alerts
        .books
        .values()
        .flat_map(|b| b.alerts.values())
        .filter(|a| a.state == AlertState::Firing);
    let (mut n, mut critical) = (0, 0);
    for a in firing {
        n += 1;
        critical += (a.severity == Severity::Critical) as u32;
    }
    FiringCounts {
        firing: n,
        critical,
    }
}

/// `watchpost_alerts{state,rule,severity}`: how many alerts of each rule are in
/// each state (zero lines included, so a rule that never fired is visible).
pub fn metrics(out: &mut String, snap: &Snapshot, config: &crate::alerts::AlertsConfig) {
    let _ = writeln!(
        out,
        "# HELP watchpost_alerts Alerts by state, rule and severity.\n# TYPE watchpost_alerts gauge"
    );
    let mut counts = std::collections::BTreeMap::new();
    for a in snap.alerts.books.values().flat_map(|b| b.alerts.values()) {
        *counts.entry((a.state, a.rule, a.severity)).or_insert(0u64) += 1;
    }
    for rule in Rule::ALL {
        let severity = config.rule(rule).severity;
        for state in AlertState::ALL {
            counts.entry((state, rule, severity)).or_insert(0);
        }
    }
    for ((state, rule, severity), n) in counts {
        let _ = writeln!(
            out,
            "watchpost_alerts{{state=\"{}\",rule=\"{}\",severity=\"{}\"}} {n}",
            state.as_str(),
            rule.as_str(),
            severity.as_str()
        );
    }
}

/// The query of `/api/alerts`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AlertsQuery {
    /// Comma-separated states to list (`pending`, `firing`, `resolved`); all by default.
    state: Option<String>,
    /// At most this many alerts (at most 10000).
    limit: Option<usize>,
}

/// The answer of `/api/alerts`.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the JSON `alerts` answers
pub struct Alerts {
    alerts: Vec<Alert>,
}

/// Every alert: firing first, then pending, then resolved; by severity, oldest first.
#[utoipa::path(get, path = "/api/alerts", tag = "alerts", params(AlertsQuery), responses(
    (status = 200, description = "The alerts", body = Alerts),
    (status = 400, description = "`bad_request`: unknown state or bad query", body = ErrorBody)))]
pub async fn alerts(
    state: web::Data<AppState>,
    q: web::Query<AlertsQuery>,
) -> Result<HttpResponse, ApiError> {
    let wanted: Vec<AlertState> = match &q.state {
        None => AlertState::ALL.to_vec(),
        Some(list) => list
            .split(',')
            .map(|s| {
                AlertState::from_name(s.trim()).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "unknown alert state `{s}`; use pending, firing, resolved"
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let limit = q.limit.unwrap_or(MAX_ALERTS).min(MAX_ALERTS);
    let snap = state.status.snapshot();
    let list: Vec<Alert> = all_alerts(&snap, Ts::now())
        .into_iter()
        .filter(|a| wanted.contains(&a.state))
        .take(limit)
        .collect();
    Ok(HttpResponse::Ok().json(json!({"alerts": list})))
}

fn silence_json(s: &crate::alerts::Silence, now: Ts) -> serde_json::Value {
    let mut v = serde_json::to_value(s).unwrap_or_default();
    let st: SilenceState = s.state(now);
    v["state"] = json!(st);
    v
}

/// A silence with its state now.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the JSON `silence_json` builds
pub struct SilenceView {
    #[serde(flatten)]
    silence: crate::alerts::Silence,
    state: SilenceState,
}

/// The answer of `/api/silences`.
#[derive(ToSchema)]
#[allow(dead_code)] // describes the JSON `silences` answers
pub struct Silences {
    silences: Vec<SilenceView>,
}

/// The silences in force or pending, and those ended recently.
#[utoipa::path(get, path = "/api/silences", tag = "alerts",
    responses((status = 200, description = "The silences", body = Silences)))]
pub async fn silences(state: web::Data<AppState>) -> HttpResponse {
    let snap = state.status.snapshot();
    let now = Ts::now();
    let mut list: Vec<_> = snap
        .alerts
        .silences
        .iter()
        .filter(|s| listed(s, now, KEEP_RESOLVED))
        .collect();
    list.sort_by(|a, b| (a.starts_at, &a.id).cmp(&(b.starts_at, &b.id)));
    let list: Vec<_> = list.into_iter().map(|s| silence_json(s, now)).collect();
    HttpResponse::Ok().json(json!({"silences": list}))
}

/// Creates a silence (or a maintenance window, with a future `starts_at`).
#[utoipa::path(post, path = "/api/admin/silences", tag = "admin", security(("admin_token" = [])),
    request_body = super::bodies::SilenceRequest,
    responses((status = 201, description = "The silence", body = SilenceView),
        (status = 400, description = "`bad_request`, with every `problems`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`admin_disabled`", body = ErrorBody),
        (status = 413, description = "`body_too_large`", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody)))]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let body = read_body(payload).await?;
    let now = Ts::now();
    let id = format!("{:016x}", rand::random::<u64>());
    let silence = match parse_silence(&body, id, now) {
        Ok(s) => s,
        Err(SilenceError::Json(message)) => return Err(ApiError::bad_request(message)),
        Err(SilenceError::Problems(problems)) => {
            let error = super::ErrorDetail {
                code: "bad_request".into(),
                message: problems.join("; "),
                errors: None,
                problems: Some(problems),
            };
            return Ok(HttpResponse::BadRequest().json(ErrorBody { error }));
        }
    };
    let cmd = AlertCommand::CreateSilence(silence.clone());
    state.status.alert_command(cmd).await.map_err(unavailable)?;
    Ok(HttpResponse::Created().json(silence_json(&silence, now)))
}

/// Ends a silence now.
#[utoipa::path(delete, path = "/api/admin/silences/{id}", tag = "admin", security(("admin_token" = [])),
    params(("id" = String, Path, description = "Silence id")),
    responses((status = 200, description = "The ended silence", body = SilenceView),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`admin_disabled`", body = ErrorBody),
        (status = 404, description = "`not_found`: no such silence", body = ErrorBody),
        (status = 503, description = "`unavailable`", body = ErrorBody)))]
pub async fn end(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let id = path.into_inner();
    let known = state
        .status
        .snapshot()
        .alerts
        .silences
        .iter()
        .any(|s| s.id == id);
    if !known {
        return Err(ApiError::not_found(format!("no silence with id `{id}`")));
    }
    let cmd = AlertCommand::EndSilence(id.clone());
    state.status.alert_command(cmd).await.map_err(unavailable)?;
    let snap = state.status.snapshot();
    let s = snap.alerts.silences.iter().find(|s| s.id == id);
    Ok(HttpResponse::Ok().json(s.map(|s| silence_json(s, Ts::now()))))
}

fn unavailable(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        e.to_string(),
    )
}
