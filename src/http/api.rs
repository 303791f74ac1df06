//! Read endpoints. They read the committed snapshot (or the event log through a redb
//! read transaction) and never wait behind a write.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, AppState, percent_decode, views};
use crate::model::TargetKind;

/// Largest page of `/api/events`.
const MAX_EVENTS: usize = 10_000;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(super::health::healthz))
        .route("/api/health", web::get().to(super::health::health))
        .route("/api/haproxy/backends", web::get().to(backends))
        .route("/api/eureka/instances", web::get().to(instances))
        .route("/api/eureka/applications", web::get().to(applications))
        .route("/api/targets", web::get().to(targets))
        .route("/api/targets/{id:.+}", web::get().to(target))
        .route("/api/events", web::get().to(events))
        .route("/metrics", web::get().to(super::metrics::metrics));
}

/// The targets of one kind, and whether they are stale (the storage cannot commit,
/// so newer polls are not reflected).
fn of_kind(
    state: &AppState,
    kind: TargetKind,
) -> (Vec<std::sync::Arc<crate::model::TargetState>>, bool) {
    let snap = state.status.snapshot();
    let list = snap
        .targets
        .values()
        .filter(|t| t.kind == kind)
        .cloned()
        .collect();
    (list, !snap.storage_ok)
}

/// Adds `stale` to a target's JSON.
fn stale(mut v: serde_json::Value, stale: bool) -> serde_json::Value {
    v["stale"] = json!(stale);
    v
}

async fn backends(state: web::Data<AppState>) -> HttpResponse {
    let (targets, old) = of_kind(&state, TargetKind::HaproxyBackend);
    let list: Vec<_> = targets
        .iter()
        .map(|t| stale(views::backend(t), old))
        .collect();
    HttpResponse::Ok().json(json!({"backends": list}))
}

async fn instances(state: web::Data<AppState>) -> HttpResponse {
    let (targets, old) = of_kind(&state, TargetKind::EurekaServer);
    let list: Vec<_> = targets
        .iter()
        .flat_map(|t| views::instances(t))
        .map(|v| stale(v, old))
        .collect();
    let servers: Vec<_> = targets.iter().map(|t| views::eureka_server(t)).collect();
    HttpResponse::Ok().json(json!({"instances": list, "servers": servers}))
}

async fn applications(state: web::Data<AppState>) -> HttpResponse {
    let (targets, old) = of_kind(&state, TargetKind::EurekaServer);
    let list: Vec<_> = targets
        .iter()
        .flat_map(|t| views::applications(t))
        .map(|v| stale(v, old))
        .collect();
    let servers: Vec<_> = targets.iter().map(|t| views::eureka_server(t)).collect();
    HttpResponse::Ok().json(json!({"applications": list, "servers": servers}))
}

async fn targets(state: web::Data<AppState>) -> HttpResponse {
    let snap = state.status.snapshot();
    let old = !snap.storage_ok;
    let list: Vec<_> = snap
        .targets
        .values()
        .map(|t| stale(views::target(t), old))
        .collect();
    HttpResponse::Ok().json(json!({"targets": list, "seq": snap.seq}))
}

/// The target id of a request: the `{id}` segment, percent-decoded.
pub fn target_id(req: &HttpRequest) -> String {
    percent_decode(req.match_info().get("id").unwrap_or(""))
}

async fn target(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = target_id(&req);
    let snap = state.status.snapshot();
    let t = snap
        .targets
        .get(id.as_str())
        .ok_or_else(|| ApiError::not_found(format!("unknown target {id}")))?;
    Ok(HttpResponse::Ok().json(stale(views::target_detail(t), !snap.storage_ok)))
}

#[derive(Deserialize)]
struct EventsQuery {
    since: Option<u64>,
    limit: Option<usize>,
    target: Option<String>,
}

async fn events(
    q: web::Query<EventsQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_EVENTS {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_EVENTS}"
        )));
    }
    let store = state.status.store_arc();
    let storage = |e: crate::actors::store::StoreError| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_error",
            e.to_string(),
        )
    };
    let since = q.since.unwrap_or(0);
    let target = q.target.clone();
    let read = web::block(move || {
        let events = store.events(since, limit, target.as_deref())?;
        Ok((events, store.oldest_seq()?, store.last_seq()))
    });
    let (events, oldest, last) = read
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_error",
                e.to_string(),
            )
        })?
        .map_err(storage)?;
    let next_since = events.last().map(|e| e.last_seq()).unwrap_or(since);
    Ok(HttpResponse::Ok().json(json!({
        "events": events, "next_since": next_since, "oldest_seq": oldest, "last_seq": last,
    })))
}
