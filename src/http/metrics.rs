//! `GET /metrics`: the committed state in the Prometheus text format.
//!
//! Names follow Prometheus conventions: a `watchpost_` prefix, base units in the
//! name (`_seconds`), `_total` on counters and only there, a `HELP` and `TYPE` line
//! for every family. The page passes `promtool check metrics` (checked by the
//! integration tests); docs/operations.md lists every family.

use std::fmt::{Display, Write};
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::{HttpResponse, web};

use super::AppState;
use crate::model::{CircuitState, FetchStatus, ServerState, TargetState};

/// The content type of the Prometheus text format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// One metric family: its help, type and one line per sample (`labels` may be
/// empty).
fn family<V: Display>(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    samples: impl Iterator<Item = (String, V)>,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = match labels.is_empty() {
            true => writeln!(out, "{name} {value}"),
            false => writeln!(out, "{name}{{{labels}}} {value}"),
        };
    }
}

/// A family of one sample without labels.
fn single<V: Display>(out: &mut String, name: &str, kind: &str, help: &str, value: V) {
    family(
        out,
        name,
        kind,
        help,
        std::iter::once((String::new(), value)),
    );
}

fn per_target<'a>(
    targets: &'a [&'a TargetState],
    f: impl Fn(&TargetState) -> u64 + 'a,
) -> impl Iterator<Item = (String, u64)> + 'a {
    targets
        .iter()
        .map(move |t| (format!("target=\"{}\"", escape(&t.id)), f(t)))
}

fn target_families(out: &mut String, targets: &[&TargetState]) {
    family(
        out,
        "watchpost_target_fetch_success",
        "gauge",
        "1 if the last fetch of the target succeeded, 0 if it failed or none ended yet.",
        per_target(targets, |t| {
            (t.last_fetch_status == FetchStatus::Success) as u64
        }),
    );
    family(
        out,
        "watchpost_target_circuit_open",
        "gauge",
        "1 while the circuit breaker of the target is not closed (open or half-open).",
        per_target(targets, |t| {
            (t.circuit.state != CircuitState::Closed) as u64
        }),
    );
    family(
        out,
        "watchpost_target_consecutive_failures",
        "gauge",
        "Failed polls of the target in a row.",
        per_target(targets, |t| t.consecutive_failures as u64),
    );
    family(
        out,
        "watchpost_target_restarts_total",
        "counter",
        "Restarts of the target's poller after a crash.",
        per_target(targets, |t| t.restarts as u64),
    );
    let servers = targets.iter().flat_map(|t| {
        t.servers.iter().map(move |s| {
            let labels = format!(
                "target=\"{}\",server=\"{}\"",
                escape(&t.id),
                escape(&s.name)
            );
            (labels, (s.state == ServerState::Up) as u64)
        })
    });
    family(
        out,
        "watchpost_server_up",
        "gauge",
        "1 if the HAProxy server is up (0 also while its backend cannot be read).",
        servers,
    );
}

fn load(v: &AtomicU64) -> u64 {
    v.load(Ordering::Relaxed)
}

fn process_families(out: &mut String, state: &AppState) {
    let c = state.status.counters();
    let counters = [
        (
            "watchpost_commits_total",
            "Durable write transactions to the storage file (one fsync each).",
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
    ];
    for (name, help, value) in counters {
        single(out, name, "counter", help, load(value));
    }
    let seconds = load(&c.commit_micros) as f64 / 1e6;
    let help = "Time spent committing to the storage file, fsync included.";
    single(
        out,
        "watchpost_commit_seconds_total",
        "counter",
        help,
        seconds,
    );
}

/// The committed state in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "metrics", responses(
    (status = 200, description = "Prometheus text format 0.0.4", body = String,
        content_type = "text/plain; version=0.0.4; charset=utf-8")))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let Some(turn) = state.large.turn().await else {
        return HttpResponse::ServiceUnavailable().finish();
    };
    let snap = state.status.snapshot();
    let targets: Vec<&TargetState> = snap.targets.values().map(|t| t.as_ref()).collect();
    let mut out = String::new();
    let version = format!("version=\"{}\"", escape(env!("CARGO_PKG_VERSION")));
    let help = "Always 1; the label says which version of watchpost runs.";
    family(
        &mut out,
        "watchpost_build_info",
        "gauge",
        help,
        std::iter::once((version, 1)),
    );
    target_families(&mut out, &targets);
    super::alerts::metrics(&mut out, &snap, &state.config.get().alerts);
    let help = "The sequence number of the last committed event (kept across restarts).";
    single(
        &mut out,
        "watchpost_last_event_sequence",
        "gauge",
        help,
        snap.seq,
    );
    process_families(&mut out, &state);
    let help = "1 if no commit to the storage file has failed in the last 5 s, 0 otherwise.";
    single(
        &mut out,
        "watchpost_storage_ok",
        "gauge",
        help,
        snap.storage_ok as u8,
    );
    liveness(&mut out, &state);
    super::notifiers::metrics(&mut out, &state);
    super::drift::metric(&mut out, &state.status.drift());
    if let Ok(instances) = super::haproxy::list(&state).await {
        super::haproxy::metrics(&mut out, &instances);
    }
    super::large::send(turn, CONTENT_TYPE, out.into_bytes())
}

/// The measured progress: unreadable stored events, the age of the last commit,
/// late pollers, and whether the status actor runs.
fn liveness(out: &mut String, state: &AppState) {
    let now = crate::model::Ts::now();
    let live = state.status.liveness();
    let gauges = [
        (
            "watchpost_events_unreadable",
            "Stored events found unreadable (served as gaps).",
            state.status.store().unreadable().count,
        ),
        (
            "watchpost_last_commit_age_seconds",
            "Seconds since the last successful commit.",
            live.commit_age_ms(now) / 1000,
        ),
        (
            "watchpost_pollers_late",
            "Pollers that have not ended a poll within their bound.",
            live.late_pollers(now).len() as u64,
        ),
        (
            "watchpost_status_actor_up",
            "1 while the status actor runs and commits within its bound.",
            live.status_failing(now, state.status.pending()).is_none() as u64,
        ),
    ];
    for (name, help, v) in gauges {
        single(out, name, "gauge", help, v);
    }
}
