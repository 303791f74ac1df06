//! JSON shapes of the API (docs/api.md), built from the committed target states.

use serde_json::{Value, json};

use crate::model::{AppRecord, FetchStatus, InstanceState, TargetKind, TargetState};

/// A backend with its servers, for `/api/haproxy/backends`.
pub fn backend(t: &TargetState) -> Value {
    json!({
        "id": t.id,
        "haproxy": t.group,
        "backend_name": t.backend_name,
        "source": t.source,
        "enable_polling": t.enable_polling,
        "last_fetch_status": t.last_fetch_status,
        "last_fetch_error": t.last_fetch_error,
        "last_fetch_at": t.last_fetch_at,
        "last_success_at": t.last_success_at,
        "consecutive_failures": t.consecutive_failures,
        "circuit_state": t.circuit.state,
        "next_attempt_at": t.circuit.next_attempt_at,
        "capacity": t.capacity,
        "backend_state": t.backend_state,
        "servers": t.servers.iter().map(|s| json!({
            "name": s.name, "status": s.status, "state": s.state, "weight": s.weight,
            "check_status": s.check_status, "last_change_s": s.last_change_s, "addr": s.addr, "address": s.addr,
            "last_known_status": s.last_known_status,
        })).collect::<Vec<_>>(),
    })
}

fn app_fetch(app: &AppRecord) -> Value {
    json!({"name": app.name, "last_fetch_status": app.last_fetch_status,
           "last_fetch_error": app.last_fetch_error, "last_fetch_at": app.last_fetch_at})
}

/// Every instance of a Eureka target, for `/api/eureka/instances`.
pub fn instances(t: &TargetState) -> impl Iterator<Item = Value> + '_ {
    t.applications.iter().flat_map(move |app| {
        app.instances.iter().map(move |i| {
            json!({
                "instance_id": i.instance_id, "app": i.app, "eureka_server": t.group, "target": t.id,
                "host_name": i.host_name, "ip_addr": i.ip_addr, "port": i.port,
                "status": i.status, "state": i.state, "last_known_status": i.last_known_status,
                "removed_at": i.removed_at, "health_check_url": i.health_check_url,
                "home_page_url": i.home_page_url, "status_page_url": i.status_page_url,
                "metadata": i.metadata, "eureka_application": app_fetch(app),
                "endpoint": i.endpoint, "lease": i.lease, "lease_expired": i.lease_expired,
            })
        })
    })
}

/// Every application of a Eureka target with counts, for `/api/eureka/applications`.
pub fn applications(t: &TargetState) -> impl Iterator<Item = Value> + '_ {
    t.applications.iter().map(move |app| {
        let live = || app.instances.iter().filter(|i| i.removed_at.is_none());
        let count = |s: InstanceState| live().filter(|i| i.state == s).count();
        let mut v = app_fetch(app);
        v["eureka_server"] = json!(t.group);
        v["target"] = json!(t.id);
        v["instances"] = json!({
            "total": live().count(), "up": count(InstanceState::Up), "down": count(InstanceState::Down),
            "starting": count(InstanceState::Starting), "out_of_service": count(InstanceState::OutOfService),
            "unknown": count(InstanceState::Unknown),
            "removed": app.instances.len() - live().count(),
        });
        v
    })
}

/// Whether a Eureka server's last fetch succeeded, for the `servers` list of
/// `/api/eureka/applications` and `/api/eureka/instances`: an empty list of
/// applications is then never mistaken for a registry without applications.
pub fn eureka_server(t: &TargetState) -> Value {
    json!({
        "name": t.group, "target": t.id, "source": t.source,
        "last_fetch_status": t.last_fetch_status, "last_fetch_error": t.last_fetch_error,
        "last_fetch_at": t.last_fetch_at, "last_success_at": t.last_success_at,
        "circuit_state": t.circuit.state,
    })
}

/// A target's status and details, for `/api/targets`.
pub fn target(t: &TargetState) -> Value {
    let mut v = json!({
        "id": t.id, "kind": t.kind, "group": t.group, "source": t.source, "backend_name": t.backend_name,
        "enable_polling": t.enable_polling,
        "last_fetch_status": t.last_fetch_status, "last_fetch_error": t.last_fetch_error,
        "last_fetch_at": t.last_fetch_at, "last_success_at": t.last_success_at,
        "last_failure_at": t.last_failure_at, "consecutive_failures": t.consecutive_failures,
        "circuit_state": t.circuit.state,
        "circuit": t.circuit,
        "restarts": t.restarts, "recovery_attempts": t.recovery_attempts, "last_recovery": t.last_recovery,
    });
    if t.kind == TargetKind::EurekaServer {
        v["self_preservation_suspected"] = json!(t.self_preservation_suspected);
    }
    v
}

/// A target with everything it holds, for `/api/targets/{id}`.
pub fn target_detail(t: &TargetState) -> Value {
    let mut v = target(t);
    match t.kind {
        TargetKind::HaproxyBackend => {
            let mut b = backend(t);
            v["servers"] = b["servers"].take();
            v["capacity"] = b["capacity"].take();
            v["backend_state"] = b["backend_state"].take();
        }
        TargetKind::EurekaServer => {
            v["applications"] = json!(applications(t).collect::<Vec<_>>());
            v["instances"] = json!(instances(t).collect::<Vec<_>>());
        }
    }
    v
}

/// Counts of targets by fetch status, for `/api/health`.
pub fn health_counts<'a>(targets: impl Iterator<Item = &'a TargetState>) -> (Value, &'static str) {
    let (mut total, mut ok, mut failed, mut unknown, mut open) = (0, 0, 0, 0, 0);
    for t in targets {
        total += 1;
        match t.last_fetch_status {
            FetchStatus::Success => ok += 1,
            FetchStatus::Failed => failed += 1,
            FetchStatus::Unknown => unknown += 1,
        }
        if t.circuit.state != crate::model::CircuitState::Closed {
            open += 1;
        }
    }
    let verdict = if total > 0 && failed == total {
        "unhealthy"
    } else if failed > 0 || open > 0 {
        "degraded"
    } else {
        "healthy"
    };
    let counts = json!({"total": total, "success": ok, "failed": failed, "unknown": unknown, "circuit_open": open});
    (counts, verdict)
}
