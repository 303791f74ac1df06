//! `GET /api/drift` (where HAProxy and Eureka disagree, `docs/drift.md`), the
//! `watchpost_drift{kind}` metric family (both read the committed drift board), and
//! `GET /api/history` (a target's outages from the committed event log).

use std::fmt::Write;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, AppState};
use crate::drift::history::history;
use crate::drift::{DriftKind, ItemState, Items};
use crate::model::Ts;

/// The period of `/api/history` when `since` is not given.
const DEFAULT_PERIOD_MS: u64 = 24 * 60 * 60 * 1000;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/drift", web::get().to(drift))
        .route("/api/history", web::get().to(history_of));
}

#[derive(Deserialize)]
struct HistoryQuery {
    target: Option<String>,
    since: Option<String>,
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

async fn history_of(
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
    let applications: Vec<_> = apps
        .into_iter()
        .map(|(name, h)| json!({"name": name, "summary": h.summary, "outages": h.outages}))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "target": target, "since": since, "until": until,
        "summary": own.summary, "outages": own.outages, "applications": applications,
        "oldest_seq": store.oldest_seq().ok().flatten(),
    })))
}

#[derive(Deserialize)]
struct DriftQuery {
    /// Also list mismatches not yet held for `drift_for`.
    #[serde(default)]
    pending: bool,
}

async fn drift(q: web::Query<DriftQuery>, state: web::Data<AppState>) -> HttpResponse {
    let items = state.status.drift();
    let list: Vec<_> = items
        .values()
        .filter(|i| i.reported || (q.pending && i.state != ItemState::Active))
        .map(|i| i.notice(None))
        .collect();
    HttpResponse::Ok().json(json!({"drift": list}))
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
