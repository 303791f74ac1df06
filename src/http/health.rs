//! `GET /healthz` and `GET /api/health`: what the daemon can truthfully say about
//! itself. Besides the targets' last fetch results, both read the measured progress
//! of the status actor, the store and the pollers ([`crate::actors::liveness`]), so
//! a daemon that records nothing never answers `healthy`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::AppState;
use crate::actors::liveness::{Failing, Part, Severity};
use crate::actors::status::Snapshot;
use crate::model::{FetchStatus, Ts};

/// `/healthz`: 503 when nothing new can be recorded (the status actor stopped or
/// is stuck, or the storage file cannot be written), 200 otherwise.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let snap = state.status.snapshot();
    let failing: Vec<Failing> = failing_parts(&state, &snap, Ts::now())
        .into_iter()
        .filter(|f| f.severity == Severity::Unavailable)
        .collect();
    if failing.is_empty() {
        return HttpResponse::Ok().json(json!({"status": "ok"}));
    }
    HttpResponse::ServiceUnavailable().json(json!({"status": "unavailable", "failing": failing}))
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
fn failures(snap: &Snapshot) -> (Vec<&str>, Vec<Value>) {
    let mut targets = Vec::new();
    let mut apps = Vec::new();
    for t in snap.targets.values() {
        if t.last_fetch_status == FetchStatus::Failed {
            targets.push(t.id.as_str());
            continue;
        }
        for a in t
            .applications
            .iter()
            .filter(|a| a.last_fetch_status == FetchStatus::Failed)
        {
            apps.push(json!({"target": t.id, "application": a.name, "error": a.last_fetch_error}));
        }
    }
    (targets, apps)
}

/// `/api/health`: the verdict, the failing parts, the failed targets and
/// applications, and the age of the last commit.
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let now = Ts::now();
    let snap = state.status.snapshot();
    let (counts, verdict) = super::views::health_counts(snap.targets.values().map(|t| t.as_ref()));
    let (failed_targets, failed_apps) = failures(&snap);
    let failing = failing_parts(&state, &snap, now);
    let verdict = if failing.iter().any(|f| f.severity == Severity::Unavailable) {
        "unhealthy"
    } else if verdict == "healthy" && (!failing.is_empty() || !failed_apps.is_empty()) {
        "degraded"
    } else {
        verdict
    };
    let live = state.status.liveness();
    let body = json!({
        "status": verdict, "timestamp": now, "targets": counts,
        "storage": if snap.storage_ok { "ok" } else { "error" },
        "storage_error": snap.storage_error, "storage_fault": snap.storage_fault, "last_seq": snap.seq,
        "last_commit_age_ms": live.commit_age_ms(now), "commit_bound_ms": live.commit_bound().as_millis() as u64,
        "failing": failing, "failed_targets": failed_targets, "failed_applications": failed_apps, "applications_failed": failed_apps.len(),
        "unreadable_events": state.status.store().unreadable(),
        "haproxy_instances": super::haproxy::list(&state).await.unwrap_or_default(),
        "alerts": super::alerts::health_counts(&snap),
    });
    let code = match verdict {
        "unhealthy" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::OK,
    };
    HttpResponse::build(code).json(body)
}
