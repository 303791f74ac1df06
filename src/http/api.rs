//! Read endpoints. They read the committed snapshot (or the event log through a redb
//! read transaction) and never wait behind a write.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::large::{Shared, Version};
use super::views;
use super::{ApiError, AppState, ErrorBody, percent_decode};
use crate::actors::store::LogItem;
use crate::model::TargetKind;

/// Largest page of `/api/events`.
const MAX_EVENTS: usize = 10_000;
/// Largest `since`: sequence numbers are signed 64-bit integers in the description.
const MAX_SEQ: u64 = i64::MAX as u64;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(super::health::healthz))
        .route("/api/health", web::get().to(super::health::health))
        .route("/api/haproxy/backends", web::get().to(backends))
        .route("/api/eureka/instances", web::get().to(instances))
        .route("/api/eureka/applications", web::get().to(applications))
        .route("/api/targets", web::get().to(targets))
        .route("/api/targets/{id:.+}", web::get().to(target))
        .route("/api/events", web::get().to(events))
        .route("/metrics", web::get().to(super::metrics::metrics))
        .route("/api/openapi.json", web::get().to(super::openapi::serve));
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

/// The answer of `/api/haproxy/backends`.
#[derive(Serialize, ToSchema)]
pub struct Backends {
    pub backends: Vec<views::BackendView>,
}

/// Every HAProxy backend with its servers.
#[utoipa::path(get, path = "/api/haproxy/backends", tag = "state",
    responses((status = 200, description = "Every backend", body = Backends)))]
pub async fn backends(state: web::Data<AppState>) -> HttpResponse {
    let (snap, version) = Version::now(&state.status);
    let build = || Backends {
        backends: snap
            .targets
            .values()
            .filter(|t| t.kind == TargetKind::HaproxyBackend)
            .map(|t| views::BackendView {
                stale: Some(!snap.storage_ok),
                ..views::backend(t)
            })
            .collect(),
    };
    state
        .large
        .json_shared(Shared::Backends, version, build)
        .await
}

/// The answer of `/api/eureka/instances`.
#[derive(Serialize, ToSchema)]
pub struct Instances {
    pub instances: Vec<views::InstanceView>,
    /// One entry per Eureka server, saying whether its last fetch succeeded.
    pub servers: Vec<views::EurekaServerView>,
}

/// Every instance of every Eureka server.
#[utoipa::path(get, path = "/api/eureka/instances", tag = "state",
    responses((status = 200, description = "Every instance", body = Instances)))]
pub async fn instances(state: web::Data<AppState>) -> HttpResponse {
    let (targets, old) = of_kind(&state, TargetKind::EurekaServer);
    HttpResponse::Ok().json(Instances {
        instances: targets
            .iter()
            .flat_map(|t| views::instances(t))
            .map(|i| views::InstanceView {
                stale: Some(old),
                ..i
            })
            .collect(),
        servers: targets.iter().map(|t| views::eureka_server(t)).collect(),
    })
}

/// The answer of `/api/eureka/applications`.
#[derive(Serialize, ToSchema)]
pub struct Applications {
    pub applications: Vec<views::ApplicationView>,
    /// One entry per Eureka server, saying whether its last fetch succeeded.
    pub servers: Vec<views::EurekaServerView>,
}

/// Every application of every Eureka server, with instance counts.
#[utoipa::path(get, path = "/api/eureka/applications", tag = "state",
    responses((status = 200, description = "Every application", body = Applications)))]
pub async fn applications(state: web::Data<AppState>) -> HttpResponse {
    let (targets, old) = of_kind(&state, TargetKind::EurekaServer);
    HttpResponse::Ok().json(Applications {
        applications: targets
            .iter()
            .flat_map(|t| views::applications(t))
            .map(|a| views::ApplicationView {
                stale: Some(old),
                ..a
            })
            .collect(),
        servers: targets.iter().map(|t| views::eureka_server(t)).collect(),
    })
}

/// The answer of `/api/targets`.
#[derive(Serialize, ToSchema)]
pub struct Targets {
    pub targets: Vec<views::TargetView>,
    /// The last committed event the list reflects.
    pub seq: u64,
}

/// Every target with its fetch status and details.
#[utoipa::path(get, path = "/api/targets", tag = "state",
    responses((status = 200, description = "Every target", body = Targets)))]
pub async fn targets(state: web::Data<AppState>) -> HttpResponse {
    let (snap, version) = Version::now(&state.status);
    state
        .large
        .json_shared(Shared::Targets, version, || Targets {
            targets: snap
                .targets
                .values()
                .map(|t| views::TargetView {
                    stale: Some(!snap.storage_ok),
                    ..views::target(t)
                })
                .collect(),
            seq: snap.seq,
        })
        .await
}

/// The target id of a request: the `{id}` segment, percent-decoded.
pub fn target_id(req: &HttpRequest) -> String {
    percent_decode(req.match_info().get("id").unwrap_or(""))
}

/// One target with everything it holds.
#[utoipa::path(get, path = "/api/targets/{id}", tag = "state",
    params(("id" = String, Path, min_length = 1, example = "haproxy/fdmz01/jurws",
        description = "Target id, percent-encoded (`haproxy%2Ffdmz01%2Fjurws`)")),
    responses(
        (status = 200, description = "The target", body = views::TargetDetail),
        (status = 404, description = "`not_found`: unknown target", body = ErrorBody)))]
pub async fn target(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = target_id(&req);
    let snap = state.status.snapshot();
    let t = snap
        .targets
        .get(id.as_str())
        .ok_or_else(|| ApiError::not_found(format!("unknown target {id}")))?;
    let mut detail = views::target_detail(t);
    detail.target.stale = Some(!snap.storage_ok);
    Ok(HttpResponse::Ok().json(detail))
}

/// The query of `/api/events`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Events with `seq` greater than this (default 0).
    #[param(minimum = 0, maximum = 9223372036854775807_i64)]
    since: Option<u64>,
    /// At most this many events (default 100).
    #[param(minimum = 1, maximum = 10000)]
    limit: Option<usize>,
    /// Events of this target only.
    target: Option<String>,
}

/// A page of the event log.
#[derive(Serialize, ToSchema)]
pub struct Events {
    /// Oldest first; stored events that cannot be read are `gap` items.
    pub events: Vec<LogItem>,
    /// The `since` of the next page.
    pub next_since: u64,
    /// The oldest event still kept, `null` when the log is empty.
    pub oldest_seq: Option<u64>,
    /// The newest committed event.
    pub last_seq: u64,
}

/// The stored event log, oldest first.
#[utoipa::path(get, path = "/api/events", tag = "events", params(EventsQuery), responses(
    (status = 200, description = "A page of events", body = Events),
    (status = 400, description = "`bad_request`: a parameter out of range or not a number", body = ErrorBody),
    (status = 503, description = "`storage_error`: the event log cannot be read", body = ErrorBody)))]
pub async fn events(
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
    if since > MAX_SEQ {
        return Err(ApiError::bad_request(format!(
            "since must be between 0 and {MAX_SEQ}"
        )));
    }
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
    Ok(HttpResponse::Ok().json(Events {
        events,
        next_since,
        oldest_seq: oldest,
        last_seq: last,
    }))
}
