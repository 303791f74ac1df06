//! `GET /metrics`: the committed state in the Prometheus text format.

use std::fmt::Write;

use actix_web::{HttpResponse, web};

use super::AppState;
use crate::model::{CircuitState, FetchStatus, ServerState, TargetState};

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// One metric family: its help, type and one line per sample.
fn family<'a>(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    samples: impl Iterator<Item = (String, u64)> + 'a,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{{{labels}}} {value}");
    }
}

fn per_target<'a>(
    targets: &'a [&'a TargetState],
    f: impl Fn(&TargetState) -> u64 + 'a,
) -> impl Iterator<Item = (String, u64)> + 'a {
    targets
        .iter()
        .map(move |t| (format!("target=\"{}\"", escape(&t.id)), f(t)))
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let snap = state.status.snapshot();
    let targets: Vec<&TargetState> = snap.targets.values().map(|t| t.as_ref()).collect();
    let mut out = String::new();
    family(
        &mut out,
        "watchpost_target_fetch_success",
        "gauge",
        "1 if the last fetch of the target succeeded.",
        per_target(&targets, |t| {
            (t.last_fetch_status == FetchStatus::Success) as u64
        }),
    );
    family(
        &mut out,
        "watchpost_target_circuit_open",
        "gauge",
        "1 while the circuit breaker of the target is not closed.",
        per_target(&targets, |t| {
            (t.circuit.state != CircuitState::Closed) as u64
        }),
    );
    family(
        &mut out,
        "watchpost_target_consecutive_failures",
        "gauge",
        "Failed polls in a row.",
        per_target(&targets, |t| t.consecutive_failures as u64),
    );
    family(
        &mut out,
        "watchpost_target_restarts_total",
        "counter",
        "Restarts of the target's poller.",
        per_target(&targets, |t| t.restarts as u64),
    );
    let servers = targets.iter().flat_map(|t| {
        t.servers.iter().map(move |s| {
            (
                format!(
                    "target=\"{}\",server=\"{}\"",
                    escape(&t.id),
                    escape(&s.name)
                ),
                (s.state == ServerState::Up) as u64,
            )
        })
    });
    family(
        &mut out,
        "watchpost_server_up",
        "gauge",
        "1 if the HAProxy server is up (0 also while its backend cannot be read).",
        servers,
    );
    super::alerts::metrics(&mut out, &snap, &state.config.get().alerts);
    let _ = writeln!(
        out,
        "# HELP watchpost_events_last_seq The sequence number of the last committed event."
    );
    let _ = writeln!(
        out,
        "# TYPE watchpost_events_last_seq counter\nwatchpost_events_last_seq {}",
        snap.seq
    );
    let c = state.status.counters();
    let totals = [
        (
            "watchpost_commits_total",
            "Durable write transactions (one fsync each).",
            &c.commits,
        ),
        (
            "watchpost_polls_total",
            "Polls that returned data or failed.",
            &c.polls,
        ),
        (
            "watchpost_observations_total",
            "Observations applied by the status actor.",
            &c.observations,
        ),
        (
            "watchpost_events_total",
            "Events committed by this process.",
            &c.events,
        ),
        (
            "watchpost_commit_microseconds_total",
            "Time spent committing.",
            &c.commit_micros,
        ),
    ];
    for (name, help, value) in totals {
        let v = value.load(std::sync::atomic::Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP watchpost_storage_ok 1 if the last commit to the storage file succeeded."
    );
    let _ = writeln!(
        out,
        "# TYPE watchpost_storage_ok gauge\nwatchpost_storage_ok {}",
        snap.storage_ok as u8
    );
    if let Ok(instances) = super::haproxy::list(&state).await {
        super::haproxy::metrics(&mut out, &instances);
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(out)
}
