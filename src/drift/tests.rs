//! Table tests of the lease rules, the join and the tracking of drift.

use super::track::{Change, Resolution, Sides, track};
use super::*;
use crate::model::{
    AppRecord, EventType, InstanceRecord, InstanceState, Lease, ServerRecord, ServerState,
    TargetKind, TargetMeta, TextPack,
};

fn target(id: &str, kind: TargetKind) -> TargetState {
    let mut t = TargetState::new(&TargetMeta {
        id: id.into(),
        kind,
        group: "g".into(),
        source: crate::model::SourceKind::Agent,
        backend_name: (kind == TargetKind::HaproxyBackend).then(|| "be".into()),
        failure_threshold: 3,
    });
    t.last_fetch_status = FetchStatus::Success;
    t.last_success_at.set(Some(Ts(1_000)));
    t
}

fn backend(id: &str, servers: &[(&str, &str, ServerState)]) -> TargetState {
    let mut t = target(id, TargetKind::HaproxyBackend);
    t.servers = servers
        .iter()
        .map(|(name, addr, state)| ServerRecord {
            name_addr: crate::model::NameAddr::new(name, Some(addr)),
            status: format!("{state:?}").to_uppercase().into(),
            state: *state,
            weight: None,
            check_status: None,
            last_change_s: None.into(),
            last_known_status: None,
            last_known_state: *state,
        })
        .collect();
    t
}

fn inst(id: &str, endpoint: &str, state: InstanceState) -> InstanceRecord {
    InstanceRecord {
        instance_id: id.into(),
        app: "APP".into(),
        texts: TextPack::new([None, None, None, None, None, Some(endpoint)]),
        port: None,
        status: format!("{state:?}").to_uppercase().into(),
        state,
        last_known_status: None,
        last_known_state: state,
        metadata: Default::default(),
        removed_at: None,
        lease: None,
        last_updated_at: None,
        lease_expired: false,
    }
}

fn registry(instances: Vec<InstanceRecord>) -> TargetState {
    let mut t = target("eureka/main", TargetKind::EurekaServer);
    t.applications = vec![AppRecord {
        name: "APP".into(),
        last_fetch_status: FetchStatus::Success,
        last_fetch_error: None,
        last_fetch_at: Some(Ts(1_000)),
        instances,
    }];
    t
}

fn kinds(found: &[Mismatch]) -> Vec<(DriftKind, Option<&str>, Option<&str>)> {
    found
        .iter()
        .map(|m| {
            (
                m.kind,
                m.haproxy.server.as_deref(),
                m.eureka.instance_id.as_deref(),
            )
        })
        .collect()
}

#[test]
fn endpoint_pairs_give_the_two_kinds() {
    use DriftKind::*;
    use InstanceState as I;
    use ServerState as S;
    let rns = Some(RegisteredNotServing);
    let snr = Some(ServingNotRegistered);
    let table = [
        (S::Up, I::Up, None),
        (S::Down, I::Up, rns),
        (S::Maint, I::Up, rns),
        (S::Drain, I::Up, None),
        (S::Up, I::Down, snr),
        (S::Up, I::OutOfService, snr),
        (S::Maint, I::OutOfService, None),
        (S::Drain, I::OutOfService, None),
        (S::Up, I::Starting, None),
        (S::Unknown, I::Up, None),
        (S::Down, I::Down, None),
    ];
    for (server, instance, want) in table {
        let b = backend("haproxy/h/be", &[("s1", "10.0.0.1:80", server)]);
        let e = registry(vec![inst("i1", "10.0.0.1:80", instance)]);
        let found = join::mismatches(&[&b, &e], &[]);
        assert_eq!(
            found.first().map(|m| m.kind),
            want,
            "{server:?} / {instance:?}"
        );
        assert!(found.len() <= 1);
    }
}

#[test]
fn links_check_membership_both_ways() {
    let b = backend(
        "haproxy/h/be",
        &[
            ("s1", "10.0.0.1:80", ServerState::Up),
            ("s9", "10.0.0.9:80", ServerState::Up),
        ],
    );
    let e = registry(vec![
        inst("i1", "10.0.0.1:80", InstanceState::Up),
        inst("i2", "10.0.0.2:80", InstanceState::Up),
        inst("i3", "10.0.0.3:80", InstanceState::Down),
    ]);
    let link = Link {
        eureka_target: "eureka/main".into(),
        app: "app".into(),
        backends: vec!["haproxy/h/be".into()],
    };
    let found = join::mismatches(&[&b, &e], std::slice::from_ref(&link));
    assert_eq!(
        kinds(&found),
        vec![
            (DriftKind::RegisteredNotServing, None, Some("i2")),
            (DriftKind::ServingNotRegistered, Some("s9"), None),
        ]
    );
    assert_eq!(found[0].endpoint, "10.0.0.2:80");
    assert!(
        join::mismatches(&[&b], std::slice::from_ref(&link)).is_empty(),
        "no registry: nothing"
    );
    assert!(
        join::mismatches(&[&e], &[link]).is_empty(),
        "no backend: nothing"
    );
}

#[test]
fn freshness_needs_success_within_two_intervals() {
    let mut t = backend("haproxy/h/be", &[]);
    assert!(is_fresh(&t, Some(500), Ts(2_000)));
    assert!(!is_fresh(&t, Some(500), Ts(2_001)));
    assert!(!is_fresh(&t, None, Ts(1_000)));
    t.last_fetch_status = FetchStatus::Failed;
    assert!(!is_fresh(&t, Some(500), Ts(1_000)));
}

fn seen(kind: DriftKind, server: &str) -> Mismatch {
    Mismatch {
        kind,
        endpoint: "10.0.0.1:80".into(),
        haproxy: HaproxySide {
            target: "haproxy/h/be".into(),
            backend: "be".into(),
            server: Some(server.into()),
            status: Some("DOWN".into()),
            fetched_at: None,
        },
        eureka: EurekaSide {
            target: "eureka/main".into(),
            app: "APP".into(),
            instance_id: Some("i1".into()),
            status: Some("UP".into()),
            fetched_at: None,
        },
    }
}

/// One round of tracking: what is seen, what is known of the rest, at `now`.
fn round(prev: &Items, found: &[Mismatch], sides: Sides, now: u64) -> (Items, Vec<Change>) {
    track(prev, found.to_vec(), &|_| sides, Ts(now), 60_000)
}

#[test]
fn a_mismatch_is_reported_after_the_hold_and_resolved_on_fresh_agreement() {
    let m = [seen(DriftKind::RegisteredNotServing, "s1")];
    let (items, ch) = round(&Items::new(), &m, Sides::Fresh, 0);
    assert!(ch.is_empty());
    assert_eq!(
        items.values().next().map(|i| i.state),
        Some(ItemState::Pending)
    );
    let (items, ch) = round(&items, &m, Sides::Fresh, 59_999);
    assert!(ch.is_empty());
    let (items, ch) = round(&items, &m, Sides::Fresh, 60_000);
    assert!(matches!(&ch[..], [Change::Detected(i)] if i.since == Ts(0)));
    assert_eq!(
        items.values().next().map(|i| i.state),
        Some(ItemState::Active)
    );
    let (same, ch) = round(&items, &m, Sides::Fresh, 70_000);
    assert!(ch.is_empty(), "reported once");
    let (none, ch) = round(&same, &[], Sides::Fresh, 80_000);
    assert!(none.is_empty());
    assert!(matches!(&ch[..], [Change::Resolved(_, Resolution::Agreed)]));
}

#[test]
fn a_brief_mismatch_raises_nothing() {
    let m = [seen(DriftKind::ServingNotRegistered, "s1")];
    let (items, _) = round(&Items::new(), &m, Sides::Fresh, 0);
    let (items, ch) = round(&items, &[], Sides::Fresh, 30_000);
    assert!(items.is_empty() && ch.is_empty());
}

#[test]
fn stale_data_freezes_items_as_unknown() {
    let m = [seen(DriftKind::RegisteredNotServing, "s1")];
    let (items, _) = round(&Items::new(), &m, Sides::Fresh, 0);
    let (items, _) = round(&items, &m, Sides::Fresh, 60_000);
    let (frozen, ch) = round(&items, &[], Sides::Stale, 120_000);
    assert!(ch.is_empty(), "never resolved from stale data");
    let item = frozen.values().next().unwrap();
    assert_eq!((item.state, item.reported), (ItemState::Unknown, true));
    let (pending, _) = round(&Items::new(), &m, Sides::Fresh, 0);
    let (pending, ch) = round(&pending, &[], Sides::Stale, 90_000);
    assert!(ch.is_empty(), "never claimed from stale data");
    assert_eq!(pending.values().next().map(|i| i.reported), Some(false));
    let (gone, ch) = round(&frozen, &[], Sides::Gone, 130_000);
    assert!(gone.is_empty());
    assert!(matches!(
        &ch[..],
        [Change::Resolved(_, Resolution::TargetRemoved)]
    ));
}

fn leased(id: &str, renewed: u64) -> InstanceRecord {
    let mut i = inst(id, "10.0.0.1:80", InstanceState::Up);
    i.lease = Some(Lease {
        last_renewal_at: Some(Ts(renewed)),
        duration_s: Some(90),
        renewal_interval_s: Some(30),
        age_s: None,
    });
    i
}

#[test]
fn three_of_ten_expired_leases_suggest_self_preservation() {
    let registry_now = 10_000_000;
    let mut list: Vec<_> = (0..7)
        .map(|n| leased(&format!("ok{n}"), registry_now))
        .collect();
    list.extend((0..3).map(|n| leased(&format!("old{n}"), registry_now - 200_000)));
    let mut t = registry(list);
    // watchpost's clock is an hour ahead of the registry's: no effect.
    let events = lease::judge(&mut t, Ts(registry_now + 3_600_000), 10_000);
    let kinds: Vec<_> = events.iter().map(|e| e.kind()).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == EventType::InstanceLeaseExpired)
            .count(),
        3
    );
    assert_eq!(kinds.last(), Some(&EventType::EurekaSelfPreservation));
    assert!(t.self_preservation_suspected);
    let old = &t.applications[0].instances[9];
    assert_eq!(
        (old.lease_expired, old.lease.as_ref().unwrap().age_s),
        (true, Some(200))
    );
    assert!(
        lease::judge(&mut t, Ts(0), 10_000).is_empty(),
        "flags change once"
    );
    for i in t.applications[0].instances.iter_mut() {
        i.lease.as_mut().unwrap().last_renewal_at = Some(Ts(registry_now + 30_000));
    }
    let events = lease::judge(&mut t, Ts(0), 10_000);
    assert_eq!(events.len(), 4, "three renewed, suspicion over");
    assert!(!t.self_preservation_suspected);
}

#[test]
fn grace_and_thresholds_bound_the_lease_rules() {
    let now = 1_000_000;
    let within_grace = leased("a", now - 95_000);
    let one_expired = leased("b", now - 200_000);
    let mut t = registry(vec![within_grace, one_expired, leased("c", now)]);
    lease::judge(&mut t, Ts(now), 10_000);
    let flags: Vec<bool> = t.applications[0]
        .instances
        .iter()
        .map(|i| i.lease_expired)
        .collect();
    assert_eq!(flags, vec![false, true, false]);
    assert!(
        !t.self_preservation_suspected,
        "one expired instance is not enough"
    );
    let mut without = registry(vec![inst("x", "10.0.0.1:80", InstanceState::Up)]);
    assert!(lease::judge(&mut without, Ts(now), 0).is_empty());
    assert!(without.applications[0].instances[0].lease.is_none());
}
