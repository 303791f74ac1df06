//! State benchmarks (divan): `diff` over a large fleet (1,000 HAProxy backends × 4
//! servers; one Eureka server with 5,000 instances) and the redb batch commit of
//! 1,000 target updates (`Durability::Immediate`, so one fsync is included).
//!
//! `cargo bench --bench state` (or `scripts/bench state`). The redb file lives in a
//! temp dir under `$TMPDIR` (default /tmp): its fsync cost is that disk's.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use watchpost::actors::store::{Change, Store};
use watchpost::diff::diff;
use watchpost::model::{
    AppSample, EventData, EventDraft, InstanceSample, Observation, ObservationKind, Payload,
    ServerChange, ServerSample, ServerState, TargetKind, TargetMeta, TargetState, Ts,
};

const BACKENDS: usize = 1000;
const INSTANCES: usize = 5000;

fn main() {
    divan::main();
}

fn meta(id: &str, kind: TargetKind) -> TargetMeta {
    TargetMeta {
        id: id.into(),
        kind,
        group: "lb".into(),
        source: watchpost::model::SourceKind::Socket,
        backend_name: Some(id.rsplit('/').next().unwrap_or(id).into()),
        failure_threshold: 3,
    }
}

fn server(s: usize, status: &str) -> ServerSample {
    ServerSample {
        name: format!("s{s}"),
        status: status.into(),
        weight: Some(1),
        check_status: Some("L7OK".into()),
        last_change_s: Some(1234),
        addr: Some(format!("10.0.0.{s}:8080")),
    }
}

fn fetched(id: &str, at: u64, payload: Payload) -> Observation {
    Observation {
        target: id.into(),
        at: Ts(at),
        kind: ObservationKind::Fetched(payload),
    }
}

/// Applies observations in order from nothing: the target's state after them.
fn state_after(obs: &[Observation]) -> TargetState {
    let mut s: Option<TargetState> = None;
    for o in obs {
        s = diff(s.as_ref(), o).next;
    }
    s.expect("the target exists")
}

/// 1,000 backends after a baseline fetch, and the next observation of each: every
/// tenth backend has one server going DOWN.
static FLEET: LazyLock<Vec<(TargetState, Observation)>> = LazyLock::new(|| {
    (1..=BACKENDS)
        .map(|b| {
            let id = format!("haproxy/lb/be_{b:05}");
            let up = Payload::Servers(Arc::new(
                (1..=4).map(|s| server(s, "UP")).collect::<Vec<_>>().into(),
            ));
            let reg = Observation {
                target: id.clone(),
                at: Ts(1),
                kind: ObservationKind::Registered(Box::new(meta(&id, TargetKind::HaproxyBackend))),
            };
            let state = state_after(&[reg, fetched(&id, 2, up)]);
            let status = |s| if b % 10 == 0 && s == 1 { "DOWN" } else { "UP" };
            let next = Payload::Servers(Arc::new(
                (1..=4)
                    .map(|s| server(s, status(s)))
                    .collect::<Vec<_>>()
                    .into(),
            ));
            (state, fetched(&id, 3, next))
        })
        .collect()
});

fn instance(j: usize, status: &str) -> InstanceSample {
    InstanceSample {
        instance_id: format!("h{j}.sim.local:app{:03}:8080", j / 10),
        app: format!("APP{:03}", j / 10),
        host_name: Some(format!("h{j}.sim.local")),
        ip_addr: Some(format!("10.1.{}.{}", j / 250, j % 250)),
        port: Some(8080),
        status: status.into(),
        health_check_url: Some(format!("http://h{j}.sim.local:8080/actuator/health")),
        home_page_url: Some(format!("http://h{j}.sim.local:8080/")),
        status_page_url: Some(format!("http://h{j}.sim.local:8080/actuator/info")),
        metadata: BTreeMap::from([("zone".to_string(), "a".to_string())]),
        overridden_status: None,
        action_type: Some("ADDED".into()),
        ..InstanceSample::default()
    }
}

fn registry(down_every: usize) -> Payload {
    let apps = (0..INSTANCES / 10)
        .map(|a| {
            let status = |j: usize| {
                if down_every > 0 && j.is_multiple_of(down_every) {
                    "DOWN"
                } else {
                    "UP"
                }
            };
            let list = (a * 10..a * 10 + 10)
                .map(|j| instance(j, status(j)))
                .collect();
            AppSample {
                name: format!("APP{a:03}"),
                instances: Ok(list),
            }
        })
        .collect();
    Payload::Applications(apps)
}

/// One Eureka server with 5,000 instances after a baseline fetch, and two next
/// observations: nothing changed, and 1% of the instances DOWN.
static EUREKA: LazyLock<(TargetState, Observation, Observation)> = LazyLock::new(|| {
    let id = "eureka/e01";
    let reg = Observation {
        target: id.into(),
        at: Ts(1),
        kind: ObservationKind::Registered(Box::new(meta(id, TargetKind::EurekaServer))),
    };
    let state = state_after(&[reg, fetched(id, 2, registry(0))]);
    (
        state,
        fetched(id, 3, registry(0)),
        fetched(id, 3, registry(100)),
    )
});

/// One poll round of 1,000 backends through `diff` (100 server events).
#[divan::bench(sample_count = 20)]
fn diff_haproxy_1000_backends(b: divan::Bencher) {
    let fleet = &*FLEET;
    b.bench(|| {
        fleet
            .iter()
            .map(|(s, o)| diff(Some(s), o).events.len())
            .sum::<usize>()
    });
}

#[divan::bench(sample_count = 20)]
fn diff_eureka_5000_instances_unchanged(b: divan::Bencher) {
    let (s, same, _) = &*EUREKA;
    b.bench(|| diff(Some(s), same).events.len());
}

#[divan::bench(sample_count = 20)]
fn diff_eureka_5000_instances_1pct_down(b: divan::Bencher) {
    let (s, _, changed) = &*EUREKA;
    b.bench(|| diff(Some(s), changed).events.len());
}

/// Benches one write transaction of the 1,000 changed states of `FLEET` and
/// `drafts`, on a store where that commit was made `before` times already.
fn bench_commit(b: divan::Bencher, drafts: Vec<EventDraft>, before: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("bench.redb"), 100_000).expect("store opens");
    let changes: Vec<Change> = FLEET
        .iter()
        .filter_map(|(s, o)| diff(Some(s), o).next)
        .map(|s| Change::Full(std::sync::Arc::new(s)))
        .collect();
    for _ in 0..before {
        store
            .commit(&changes, drafts.clone(), Ts::now())
            .expect("prefill");
    }
    b.with_inputs(|| drafts.clone())
        .bench_values(|d| store.commit(&changes, d, Ts::now()).expect("commit").len());
}

/// One write transaction with 1,000 target states (4 servers each) and 100 events:
/// what the status actor commits after a poll round of 1,000 backends.
#[divan::bench(sample_count = 30)]
fn redb_commit_1000_targets(b: divan::Bencher) {
    let drafts: Vec<EventDraft> = (0..100)
        .map(|i| EventDraft {
            target: format!("haproxy/lb/be_{:05}", i * 10 + 10),
            data: server_change(ServerState::Up, ServerState::Down),
        })
        .collect();
    bench_commit(b, drafts, 0);
}

/// A storm's commit: 1,000 target states and 5,000 events (every server of 1,000
/// backends changed, and their alerts), on a log that already holds 100,000.
#[divan::bench(sample_count = 10)]
fn redb_commit_storm_1000_targets_5000_events(b: divan::Bencher) {
    let drafts: Vec<EventDraft> = (0..5_000)
        .map(|i| EventDraft {
            target: format!("haproxy/lb/be_{:05}", i / 5 + 1),
            data: server_change(ServerState::Up, ServerState::Maint),
        })
        .collect();
    bench_commit(b, drafts, 20);
}

/// The usual commit after a round in which nothing happened: 1,000 targets whose poll
/// times alone changed, no event.
#[divan::bench(sample_count = 30)]
fn redb_commit_1000_poll_times(b: divan::Bencher) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("bench.redb"), 100_000).expect("store opens");
    let full: Vec<Change> = FLEET
        .iter()
        .map(|(s, _)| Change::Full(std::sync::Arc::new(s.clone())))
        .collect();
    store.commit(&full, vec![], Ts::now()).expect("commit");
    let changes: Vec<Change> = FLEET
        .iter()
        .map(|(s, _)| Change::PollTimes(std::sync::Arc::new(s.clone())))
        .collect();
    b.bench(|| {
        store
            .commit(&changes, vec![], Ts::now())
            .expect("commit")
            .len()
    });
}

/// The same commit with one target and one event: the fixed cost of a transaction.
#[divan::bench(sample_count = 30)]
fn redb_commit_1_target(b: divan::Bencher) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("bench.redb"), 100_000).expect("store opens");
    let (s, o) = &FLEET[9];
    let next = diff(Some(s), o).next.expect("the target exists");
    let changes = vec![Change::Full(std::sync::Arc::new(next))];
    let draft = EventDraft {
        target: s.id.clone(),
        data: server_change(ServerState::Up, ServerState::Down),
    };
    b.with_inputs(|| vec![draft.clone()])
        .bench_values(|d| store.commit(&changes, d, Ts::now()).expect("commit").len());
}

/// A `server_state_changed` event of server `s1`.
fn server_change(from: ServerState, to: ServerState) -> EventData {
    EventData::ServerStateChanged(ServerChange {
        from: Some(from),
        previous_status: Some("UP".into()),
        removed: false,
        server: "s1".into(),
        status: Some("DOWN".into()),
        to: Some(to),
    })
}
