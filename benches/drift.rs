//! Drift benchmarks (divan): the cost of one evaluation round of the HAProxy ↔
//! Eureka join at fleet scale, 10,000 HAProxy backends × 4 servers against 20 Eureka
//! servers × 500 instances (every instance at the endpoint of one server; 1 % of the
//! servers DOWN, 1 % of the instances OUT_OF_SERVICE, 100 links), and the lease
//! rules over one 500-instance registry.
//!
//! `cargo bench --bench drift`. Figures go to docs/PERFORMANCE.md.

use std::sync::LazyLock;

use watchpost::drift::track::{Sides, track};
use watchpost::drift::{Items, Link, is_fresh, join, lease};
use watchpost::model::{
    AppRecord, FetchStatus, InstanceRecord, InstanceState, Lease, NameAddr, ServerRecord,
    ServerState, TargetKind, TargetMeta, TargetState, TextPack, Ts,
};

const BACKENDS: usize = 10_000;
const SERVERS: usize = 4;
const REGISTRIES: usize = 20;
const PER_REGISTRY: usize = 500;
const NOW: u64 = 1_700_000_000_000;

fn main() {
    divan::main();
}

fn target(id: String, kind: TargetKind) -> TargetState {
    let mut t = TargetState::new(&TargetMeta {
        id: id.clone(),
        kind,
        group: "g".into(),
        source: watchpost::model::SourceKind::Socket,
        backend_name: Some(id.rsplit('/').next().unwrap_or_default().into()),
        failure_threshold: 3,
    });
    t.last_fetch_status = FetchStatus::Success;
    t.last_success_at.set(Some(Ts(NOW)));
    t
}

fn addr(n: usize) -> String {
    format!("10.{}.{}.{}:8080", n / 65536, (n / 256) % 256, n % 256)
}

fn backend(b: usize) -> TargetState {
    let mut t = target(format!("haproxy/lb/be{b}"), TargetKind::HaproxyBackend);
    t.servers = (0..SERVERS)
        .map(|s| {
            let n = b * SERVERS + s;
            let state = if n % 100 == 7 {
                ServerState::Down
            } else {
                ServerState::Up
            };
            ServerRecord {
                name_addr: NameAddr::new(&format!("s{s}"), Some(&addr(n))),
                status: format!("{state:?}").to_uppercase().into(),
                state,
                weight: Some(1),
                check_status: None,
                last_change_s: None.into(),
                last_known_status: None,
                last_known_state: state,
            }
        })
        .collect();
    t
}

fn instance(n: usize, renewed: u64) -> InstanceRecord {
    let state = if n % 100 == 3 {
        InstanceState::OutOfService
    } else {
        InstanceState::Up
    };
    InstanceRecord {
        instance_id: format!("h{n}:app:8080").into(),
        app: format!("APP{}", n / 50).into(),
        texts: TextPack::new([None, None, None, None, None, Some(&addr(n))]),
        port: Some(8080),
        status: format!("{state:?}").to_uppercase().into(),
        state,
        last_known_status: None,
        last_known_state: state,
        metadata: Default::default(),
        removed_at: None,
        lease: Some(Lease {
            last_renewal_at: Some(Ts(renewed)),
            duration_s: Some(90),
            renewal_interval_s: Some(30),
            age_s: None,
        }),
        last_updated_at: None,
        lease_expired: false,
    }
}

fn registry(r: usize) -> TargetState {
    let mut t = target(format!("eureka/r{r}"), TargetKind::EurekaServer);
    let first = r * PER_REGISTRY;
    t.applications = (0..PER_REGISTRY / 50)
        .map(|a| AppRecord {
            name: format!("APP{}", first / 50 + a),
            last_fetch_status: FetchStatus::Success,
            last_fetch_error: None,
            last_fetch_at: Some(Ts(NOW)),
            instances: (0..50)
                .map(|i| instance(first + a * 50 + i, NOW - (i as u64 % 7) * 60_000))
                .collect(),
        })
        .collect();
    t
}

static FLEET: LazyLock<Vec<TargetState>> = LazyLock::new(|| {
    (0..BACKENDS)
        .map(backend)
        .chain((0..REGISTRIES).map(registry))
        .collect()
});

/// One link per Eureka application of the first registry, to one backend each.
static LINKS: LazyLock<Vec<Link>> = LazyLock::new(|| {
    (0..PER_REGISTRY / 5)
        .map(|a| Link {
            eureka_target: "eureka/r0".into(),
            app: format!("APP{}", a % 10),
            backends: vec![format!("haproxy/lb/be{a}")],
        })
        .collect()
});

/// One round as the status actor runs it: freshness, the join, and the tracking.
#[divan::bench]
fn join_round_10000x4_vs_20x500() -> usize {
    let fresh: Vec<&TargetState> = FLEET
        .iter()
        .filter(|t| is_fresh(t, Some(10_000), Ts(NOW)))
        .collect();
    let seen = join::mismatches(&fresh, &LINKS);
    let (items, _) = track(&Items::new(), seen, &|_| Sides::Fresh, Ts(NOW), 60_000);
    items.len()
}

/// The lease rules over one registry of 500 instances (after each of its fetches).
#[divan::bench]
fn lease_rules_500_instances(bencher: divan::Bencher) {
    bencher
        .with_inputs(|| registry(0))
        .bench_local_values(|mut t| lease::judge(&mut t, Ts(NOW), 10_000).len());
}
