//! `GET /healthz` and `GET /api/health`: what the daemon can truthfully say about
//! itself. Besides the targets' last fetch results, both read the measured progress
//! of the status actor, the store and the pollers ([`crate::actors::liveness`]), so
//! a daemon that records nothing never answers `healthy`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::alerts::FiringCounts;
use super::views::{HealthCounts, Verdict};
use crate::actors::fleet_haproxy::InstanceSummary;
use crate::actors::liveness::{Failing, Part, Severity};
use crate::actors::status::Snapshot;
use crate::actors::store::{Fault, UnreadableSummary};
use crate::model::{FetchStatus, Ts};

/// Whether anything new can be recorded, for `/healthz`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Liveness {
    Ok,
    Unavailable,
}

/// The answer of `/healthz`.
#[derive(Serialize, ToSchema)]
pub struct Healthz {
    pub status: Liveness,
    /// The parts that stop recording, when `unavailable`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing: Option<Vec<Failing>>,
}

/// Whether the storage commits, for `/api/health`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StorageHealth {
    Ok,
    Error,
}

/// A Eureka application that failed on its own while its server's fetch succeeded.
#[derive(Serialize, ToSchema)]
pub struct FailedApplication {
    pub target: String,
    pub application: String,
    pub error: Option<String>,
}

/// The answer of `/api/health` (docs/api.md).
#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: Verdict,
    pub timestamp: Ts,
    pub targets: HealthCounts,
    pub storage: StorageHealth,
    pub storage_error: Option<String>,
    pub storage_fault: Option<Fault>,
    pub last_seq: u64,
    pub last_commit_age_ms: u64,
    pub commit_bound_ms: u64,
    pub failing: Vec<Failing>,
    pub failed_targets: Vec<String>,
    pub failed_applications: Vec<FailedApplication>,
    pub applications_failed: usize,
    pub unreadable_events: UnreadableSummary,
    pub haproxy_instances: Vec<InstanceSummary>,
    pub alerts: FiringCounts,
}

/// `/healthz`: 503 when nothing new can be recorded (the status actor stopped or
/// is stuck, or the storage file cannot be written), 200 otherwise.
#[utoipa::path(get, path = "/healthz", tag = "health", responses(
    (status = 200, description = "`{\"status\":\"ok\"}`", body = Healthz),
    (status = 503, description = "`unavailable`, with the `failing` parts", body = Healthz)))]
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let snap = state.status.snapshot();
    let failing: Vec<Failing> = failing_parts(&state, &snap, Ts::now())
        .into_iter()
        .filter(|f| f.severity == Severity::Unavailable)
        .collect();
    if failing.is_empty() {
        return HttpResponse::Ok().json(Healthz {
            status: Liveness::Ok,
            failing: None,
        });
    }
    HttpResponse::ServiceUnavailable().json(Healthz {
        status: Liveness::Unavailable,
        failing: Some(failing),
    })
}

/// Every part that is failing now.
fn failing_parts(state: &AppState, snap: &Snapshot, now: Ts) -> Vec<Failing> {
    let live = state.status.liveness();
    let mut out: Vec<Failing> = live
        .status_failing(now, state.status.pending())
        .into_iter()
        .collect();
    if !snap.storage_ok {
        let why = snap.storage_error.clone().unwrap_or_default();
        out.push(Failing {
            part: Part::Storage,
            severity: Severity::Unavailable,
            reason: format!(
                "commits fail; the states shown are the last committed ones and are stale: {why}"
            ),
        });
    }
    let unreadable = state.status.store().unreadable();
    if unreadable.count > 0 {
        let (a, b) = (unreadable.first.unwrap_or(0), unreadable.last.unwrap_or(0));
        out.push(Failing {
            part: Part::Storage,
            severity: Severity::Degraded,
            reason: format!(
                "{} stored event(s) cannot be read (seq {a}..={b}); readers get gaps; `watchpost repair` salvages the rest",
                unreadable.count
            ),
        });
    }
    let late: Vec<String> = live
        .late_pollers(now)
        .into_iter()
        .filter(|id| {
            snap.targets
                .get(id.as_str())
                .is_none_or(|t| t.enable_polling)
        })
        .collect();
    if !late.is_empty() {
        out.push(Failing {
            part: Part::Pollers,
            severity: Severity::Degraded,
            reason: format!("no poll ended within its bound: {}", late.join(", ")),
        });
    }
    out
}

/// Targets whose last fetch failed, and Eureka applications that failed on their
/// own while their server's fetch succeeded.
fn failures(snap: &Snapshot) -> (Vec<String>, Vec<FailedApplication>) {
    let mut targets = Vec::new();
    let mut apps = Vec::new();
    for t in snap.targets.values() {
        if t.last_fetch_status == FetchStatus::Failed {
            targets.push(t.id.clone());
            continue;
        }
        for a in t
            .applications
            .iter()
            .filter(|a| a.last_fetch_status == FetchStatus::Failed)
        {
            apps.push(FailedApplication {
                target: t.id.clone(),
                application: a.name.clone(),
                error: a.last_fetch_error.clone(),
            });
        }
    }
    (targets, apps)
}

/// The verdict of the targets, made worse by failing parts and applications.
fn overall(targets: Verdict, failing: &[Failing], apps_failed: bool) -> Verdict {
    if failing.iter().any(|f| f.severity == Severity::Unavailable) {
        Verdict::Unhealthy
    } else if targets == Verdict::Healthy && (!failing.is_empty() || apps_failed) {
        Verdict::Degraded
    } else {
        targets
    }
}

/// `/api/health`: the verdict, the failing parts, the failed targets and
/// applications, and the age of the last commit.
#[utoipa::path(get, path = "/api/health", tag = "health", responses(
    (status = 200, description = "`healthy` or `degraded` (docs/api.md)", body = Health),
    (status = 503, description = "`unhealthy`", body = Health)))]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let now = Ts::now();
    let snap = state.status.snapshot();
    let (counts, verdict) = super::views::health_counts(snap.targets.values().map(|t| t.as_ref()));
    let (failed_targets, failed_apps) = failures(&snap);
    let failing = failing_parts(&state, &snap, now);
    let verdict = overall(verdict, &failing, !failed_apps.is_empty());
    let live = state.status.liveness();
    let body = Health {
        status: verdict,
        timestamp: now,
        targets: counts,
        storage: match snap.storage_ok {
            true => StorageHealth::Ok,
            false => StorageHealth::Error,
        },
        storage_error: snap.storage_error.clone(),
        storage_fault: snap.storage_fault,
        last_seq: snap.seq,
        last_commit_age_ms: live.commit_age_ms(now),
        commit_bound_ms: live.commit_bound().as_millis() as u64,
        failing,
        failed_targets,
        applications_failed: failed_apps.len(),
        failed_applications: failed_apps,
        unreadable_events: state.status.store().unreadable(),
        haproxy_instances: super::haproxy::list(&state).await.unwrap_or_default(),
        alerts: super::alerts::health_counts(&snap),
    };
    let code = match verdict {
        Verdict::Unhealthy => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::OK,
    };
    HttpResponse::build(code).json(body)
}
