//! `GET /api/drift` (where HAProxy and Eureka disagree, `docs/drift.md`), the
//! `watchpost_drift{kind}` metric family (both read the committed drift board), and
//! `GET /api/history` (a target's outages from the committed event log).

use std::fmt::Write;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiError, AppState};
use crate::drift::history::{History, history};
use crate::drift::{DriftKind, ItemState, Items};
use crate::model::Ts;

/// The period of `/api/history` when `since` is not given.
const DEFAULT_PERIOD_MS: u64 = 24 * 60 * 60 * 1000;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/drift", web::get().to(drift))
        .route("/api/history", web::get().to(history_of));
}

/// The query of `/api/history`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// The target id (required).
    target: Option<String>,
    /// RFC 3339 start of the period (default: 24 hours before `until`).
    since: Option<String>,
    /// RFC 3339 end of the period (default: now).
    until: Option<String>,
}

fn time(name: &str, text: Option<&str>) -> Result<Option<Ts>, ApiError> {
    let Some(text) = text else {
        return Ok(None);
    };
    let bad = || ApiError::bad_request(format!("{name} is not an RFC 3339 time: {text:?}"));
    let t = humantime::parse_rfc3339_weak(text).map_err(|_| bad())?;
    let ms = t.duration_since(std::time::UNIX_EPOCH).map_err(|_| bad())?;
    Ok(Some(Ts(ms.as_millis() as u64)))
}

/// A target's outages (and its applications') over a period, from the event log.
#[utoipa::path(get, path = "/api/history", tag = "events", params(HistoryQuery), responses(
    (status = 200, description = "`target`, `since`, `until`, `summary`, `outages`, \
        `applications`, `oldest_seq` (docs/drift.md)", body = HistoryAnswer),
    (status = 400, description = "`bad_request`: no target, or a time that is not RFC 3339", body = super::ErrorBody),
    (status = 404, description = "`not_found`: unknown target with no events", body = super::ErrorBody),
    (status = 503, description = "`storage_error`: the event log cannot be read", body = super::ErrorBody)))]
pub async fn history_of(
    q: web::Query<HistoryQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let target = q
        .target
        .as_deref()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::bad_request("target is required (a target id)"))?;
    let until = time("until", q.until.as_deref())?.unwrap_or_else(Ts::now);
    let since =
        time("since", q.since.as_deref())?.unwrap_or(Ts(until.0.saturating_sub(DEFAULT_PERIOD_MS)));
    if since > until {
        return Err(ApiError::bad_request("since is later than until"));
    }
    let known = state.status.snapshot().targets.contains_key(target);
    let store = state.status.store_arc();
    let unavailable = |why: String| {
        ApiError::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "storage_error",
            why,
        )
    };
    // Read off the HTTP workers, through the index by target.
    let (reader, id) = (store.clone(), target.to_string());
    let items = web::block(move || reader.events(0, usize::MAX, Some(&id)))
        .await
        .map_err(|e| unavailable(e.to_string()))?
        .map_err(|e| unavailable(e.to_string()))?;
    let events: Vec<_> = items
        .into_iter()
        .filter_map(|item| match item {
            crate::actors::store::LogItem::Event(e) => Some(e),
            crate::actors::store::LogItem::Gap(_) => None,
        })
        .collect();
    if !known && events.is_empty() {
        return Err(ApiError::not_found(format!("unknown target {target}")));
    }
    let (own, apps) = history(&events, since, until);
    let applications = apps
        .into_iter()
        .map(|(name, history)| AppHistory { name, history })
        .collect();
    Ok(HttpResponse::Ok().json(HistoryAnswer {
        target: target.to_string(),
        since,
        until,
        history: own,
        applications,
        oldest_seq: store.oldest_seq().ok().flatten(),
    }))
}

/// The answer of `/api/history` (docs/drift.md).
#[derive(Serialize, ToSchema)]
pub struct HistoryAnswer {
    pub target: String,
    pub since: Ts,
    pub until: Ts,
    /// The target's own `summary` and `outages`.
    #[serde(flatten)]
    pub history: History,
    pub applications: Vec<AppHistory>,
    /// The oldest event still stored; `null` when the log is empty or unreadable.
    pub oldest_seq: Option<u64>,
}

/// The history of one application of a Eureka target.
#[derive(Serialize, ToSchema)]
pub struct AppHistory {
    pub name: String,
    #[serde(flatten)]
    pub history: History,
}

/// The query of `/api/drift`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DriftQuery {
    /// Also list mismatches not yet held for `drift_for`.
    #[serde(default)]
    pending: bool,
}

/// The list of drift items, `{"drift": [...]}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct DriftList {
    pub drift: Vec<crate::drift::events::DriftNotice>,
}

/// Where HAProxy and Eureka disagree (docs/drift.md).
#[utoipa::path(get, path = "/api/drift", tag = "state", params(DriftQuery), responses(
    (status = 200, description = "Reported drift items", body = DriftList),
    (status = 400, description = "`bad_request`: a bad parameter", body = super::ErrorBody)))]
pub async fn drift(q: web::Query<DriftQuery>, state: web::Data<AppState>) -> HttpResponse {
    let items = state.status.drift();
    let list: Vec<_> = items
        .values()
        .filter(|i| i.reported || (q.pending && i.state != ItemState::Active))
        .map(|i| i.notice(None))
        .collect();
    HttpResponse::Ok().json(DriftList { drift: list })
}

/// Reported drift items (active or unknown) by kind.
pub fn metric(out: &mut String, items: &Items) {
    let name = "watchpost_drift";
    let _ = writeln!(
        out,
        "# HELP {name} Reported drift items between HAProxy and Eureka, by kind.\n# TYPE {name} gauge"
    );
    for kind in DriftKind::ALL {
        let n = items
            .values()
            .filter(|i| i.reported && i.kind == kind)
            .count();
        let _ = writeln!(out, "{name}{{kind=\"{}\"}} {n}", kind.as_str());
    }
}
