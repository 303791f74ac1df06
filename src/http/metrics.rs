//! `GET /metrics`: the committed state in the Prometheus text format.
//!
//! Names follow Prometheus conventions: a `watchpost_` prefix, base units in the
//! name (`_seconds`), `_total` on counters and only there, a `HELP` and `TYPE` line
//! for every family. The page passes `promtool check metrics` (checked by the
//! integration tests); docs/operations.md lists every family.

use std::fmt::{Display, Write};
use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::Arc;

use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};

use super::AppState;
use crate::model::{CircuitState, FetchStatus, ServerState, TargetState};

/// The content type of the Prometheus text format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

fn escape(v: &str) -> std::borrow::Cow<'_, str> {
    if !v.contains(['\\', '"', '\n']) {
        return std::borrow::Cow::Borrowed(v);
    }
    std::borrow::Cow::Owned(
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n"),
    )
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

/// The families with a sample per target (the last one, per server), in order:
/// name, type, help.
const TARGET_FAMILIES: [(&str, &str, &str); 5] = [
    (
        "watchpost_target_fetch_success",
        "gauge",
        "1 if the last fetch of the target succeeded, 0 if it failed or none ended yet.",
    ),
    (
        "watchpost_target_circuit_open",
        "gauge",
        "1 while the circuit breaker of the target is not closed (open or half-open).",
    ),
    (
        "watchpost_target_consecutive_failures",
        "gauge",
        "Failed polls of the target in a row.",
    ),
    (
        "watchpost_target_restarts_total",
        "counter",
        "Restarts of the target's poller after a crash.",
    ),
    (
        "watchpost_server_up",
        "gauge",
        "1 if the HAProxy server is up (0 also while its backend cannot be read).",
    ),
];

/// The samples of family `family` (an index of [`TARGET_FAMILIES`]) for one target.
fn target_samples(out: &mut String, family: usize, t: &TargetState) {
    let name = TARGET_FAMILIES[family].0;
    let id = escape(&t.id);
    let value = match family {
        0 => (t.last_fetch_status == FetchStatus::Success) as u64,
        1 => (t.circuit.state != CircuitState::Closed) as u64,
        2 => t.consecutive_failures as u64,
        3 => t.restarts as u64,
        _ => {
            for s in &t.servers {
                let up = (s.state == ServerState::Up) as u64;
                let server = escape(s.name());
                let _ = writeln!(out, "{name}{{target=\"{id}\",server=\"{server}\"}} {up}");
            }
            return;
        }
    };
    let _ = writeln!(out, "{name}{{target=\"{id}\"}} {value}");
}

/// The per-target families, written a chunk at a time as the body is sent: at
/// 10,000 backends they are ≈ 6 MB, which a scrape held whole (and half as much
/// again while its buffer grew) before.
struct TargetPages {
    targets: Vec<Arc<TargetState>>,
    family: usize,
    headed: bool,
    at: usize,
}

impl Iterator for TargetPages {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        if self.family >= TARGET_FAMILIES.len() {
            return None;
        }
        let mut out = String::with_capacity(super::large::CHUNK + 1024);
        while self.family < TARGET_FAMILIES.len() && out.len() < super::large::CHUNK {
            if !self.headed {
                let (name, kind, help) = TARGET_FAMILIES[self.family];
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
                self.headed = true;
            }
            while let Some(t) = self
                .targets
                .get(self.at)
                .filter(|_| out.len() < super::large::CHUNK)
            {
                target_samples(&mut out, self.family, t);
                self.at += 1;
            }
            if self.at >= self.targets.len() {
                (self.family, self.headed, self.at) = (self.family + 1, false, 0);
            }
        }
        Some(Bytes::from(out))
    }
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
    let targets: Vec<Arc<TargetState>> = snap.targets.values().cloned().collect();
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
    let pages = TargetPages {
        targets,
        family: 0,
        headed: false,
        at: 0,
    };
    super::large::stream(turn, CONTENT_TYPE, out.into_bytes(), pages)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ServerRecord, TargetKind, TargetMeta};

    fn target(i: usize) -> Arc<TargetState> {
        let mut t = TargetState::new(&TargetMeta {
            id: format!("haproxy/lb/be\"{i}"),
            kind: TargetKind::HaproxyBackend,
            group: "lb".into(),
            source: crate::model::SourceKind::Socket,
            backend_name: Some(format!("be{i}")),
            failure_threshold: 3,
        });
        t.servers = (0..3)
            .map(|s| ServerRecord {
                name_addr: crate::model::NameAddr::new(&format!("s{s}"), None),
                status: crate::model::intern(if s == 0 { "DOWN" } else { "UP" }),
                state: if s == 0 {
                    ServerState::Down
                } else {
                    ServerState::Up
                },
                weight: None,
                check_status: None,
                last_change_s: None.into(),
                last_known_status: None,
                last_known_state: ServerState::Unknown,
            })
            .collect();
        Arc::new(t)
    }

    /// Written a chunk at a time, the families come out whole: one header each,
    /// every target's and every server's sample once, across many chunks.
    #[test]
    fn target_pages_write_every_sample_once_across_chunks() {
        let n = 3000;
        let pages = TargetPages {
            targets: (0..n).map(target).collect(),
            family: 0,
            headed: false,
            at: 0,
        };
        let chunks: Vec<Bytes> = pages.collect();
        assert!(chunks.len() > 3, "{} chunks", chunks.len());
        assert!(
            chunks
                .iter()
                .all(|c| c.len() < super::super::large::CHUNK + 1024)
        );
        let text: String = chunks
            .iter()
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        for (name, kind, _) in TARGET_FAMILIES {
            let header = format!("# TYPE {name} {kind}");
            assert_eq!(text.lines().filter(|l| *l == header).count(), 1, "{name}");
            let want = if name == "watchpost_server_up" {
                3 * n
            } else {
                n
            };
            let prefix = format!("{name}{{");
            assert_eq!(
                text.lines().filter(|l| l.starts_with(&prefix)).count(),
                want
            );
        }
        // Label values are escaped; a family's samples follow its own header.
        assert!(
            text.contains("watchpost_server_up{target=\"haproxy/lb/be\\\"7\",server=\"s0\"} 0\n")
        );
        let last_header = text.find("# TYPE watchpost_server_up").unwrap();
        assert!(text.find("watchpost_server_up{").unwrap() > last_header);
    }
}
