//! Alert evaluation benchmark (divan): one poll round of 10,000 HAProxy backends ×
//! 4 servers through what the status actor adds per observation for alerts —
//! `subject_changes` (anti-flap input) and `evaluate` (conditions, lifecycle) —
//! with nothing down (the steady state), and with one server of every tenth
//! backend going DOWN (1,000 pending alerts start).
//!
//! `cargo bench --bench alerts` (or `scripts/bench alerts`).

use std::sync::{Arc, LazyLock};

use watchpost::alerts::flap::subject_changes;
use watchpost::alerts::{AlertsConfig, TargetAlerts, evaluate};
use watchpost::diff::diff;
use watchpost::model::{
    Observation, ObservationKind, Payload, ServerSample, TargetKind, TargetMeta, TargetState, Ts,
};

const BACKENDS: usize = 10_000;

fn main() {
    divan::main();
}

fn servers(down: bool) -> Payload {
    let row = |s: usize| ServerSample {
        name: format!("s{s}"),
        status: if down && s == 1 { "DOWN" } else { "UP" }.into(),
        weight: Some(1),
        check_status: Some("L7OK".into()),
        last_change_s: Some(1234),
        addr: Some(format!("10.0.0.{s}:8080")),
    };
    Payload::Servers(Arc::new((1..=4).map(row).collect::<Vec<_>>().into()))
}

fn obs(id: &str, at: u64, kind: ObservationKind) -> Observation {
    Observation {
        target: id.into(),
        at: Ts(at),
        kind,
    }
}

/// Each backend's state before the round and after it (with `down`: every tenth
/// backend has a server DOWN after it).
fn fleet(down: bool) -> Vec<(TargetState, TargetState)> {
    (0..BACKENDS)
        .map(|b| {
            let id = format!("haproxy/lb/be_{b:05}");
            let meta = TargetMeta {
                id: id.clone(),
                kind: TargetKind::HaproxyBackend,
                group: "lb".into(),
                source: watchpost::model::SourceKind::Socket,
                backend_name: Some(format!("be_{b:05}")),
                failure_threshold: 3,
            };
            let s = diff(
                None,
                &obs(&id, 1, ObservationKind::Registered(Box::new(meta))),
            )
            .next;
            let s = diff(
                s.as_ref(),
                &obs(&id, 2, ObservationKind::Fetched(servers(false))),
            );
            let before = s.next.expect("state");
            let payload = servers(down && b % 10 == 0);
            let after = diff(
                Some(&before),
                &obs(&id, 3, ObservationKind::Fetched(payload)),
            );
            (before, after.next.expect("state"))
        })
        .collect()
}

static STEADY: LazyLock<Vec<(TargetState, TargetState)>> = LazyLock::new(|| fleet(false));
static TENTH_DOWN: LazyLock<Vec<(TargetState, TargetState)>> = LazyLock::new(|| fleet(true));

fn round(fleet: &[(TargetState, TargetState)]) -> usize {
    let cfg = AlertsConfig::default();
    let mut transitions = 0;
    for (before, after) in fleet {
        let mut book = TargetAlerts::default();
        let changed: Vec<_> = subject_changes(Some(before), Some(after))
            .into_iter()
            .map(|l| (l, Ts(3)))
            .collect();
        transitions += evaluate(&mut book, Some(after), &[], &changed, Ts(3), &cfg).len();
        transitions += book.alerts.len();
    }
    transitions
}

#[divan::bench]
fn round_10000_backends_steady() -> usize {
    round(divan::black_box(&STEADY))
}

#[divan::bench]
fn round_10000_backends_tenth_down() -> usize {
    round(divan::black_box(&TENTH_DOWN))
}
