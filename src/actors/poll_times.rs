//! The parts of a target's state that every poll changes without anything having
//! happened: when it was fetched, when it last succeeded or failed, each server's
//! `last_change_s` (HAProxy's age of the last transition) and each Eureka
//! application's fetch time.
//!
//! The store keeps them apart from the rest of the state, in a small fixed-layout
//! record: a poll that changes nothing else rewrites about 60 bytes instead of the
//! whole target. Both are written in the same transaction as everything else, so a
//! restart still shows exactly the last committed state.

use crate::model::{AppRecord, InstanceRecord, Lease, ServerRecord, TargetState, Ts};

/// `None` in the encoding.
const NONE: u64 = u64::MAX;

/// The poll times of a state, as bytes: the three target times, then each server's
/// `last_change_s`, then each application's fetch time (little-endian u64 each).
pub fn encode(t: &TargetState) -> Vec<u8> {
    let servers = t.servers.iter().map(|s| s.last_change_s.get());
    let fetched = (t.last_fetch_at.get(), t.last_success_at.get());
    encode_values(t, fetched, servers)
}

/// The poll times `t` has after a routine poll at `at` that read `samples` (the
/// same servers, in the same order, as `t.servers`).
pub fn encode_routine(
    t: &TargetState,
    at: Ts,
    last_changes: impl Iterator<Item = Option<u64>>,
) -> Vec<u8> {
    encode_values(t, (Some(at), Some(at)), last_changes)
}

fn encode_values(
    t: &TargetState,
    (fetch, success): (Option<Ts>, Option<Ts>),
    servers: impl Iterator<Item = Option<u64>>,
) -> Vec<u8> {
    let ts = |v: Option<Ts>| v.map_or(NONE, |t| t.0);
    let values = [fetch, success, t.last_failure_at]
        .into_iter()
        .map(ts)
        .chain(servers.map(|s| s.unwrap_or(NONE)))
        .chain(t.applications.iter().map(|a| ts(a.last_fetch_at)));
    let mut out = Vec::with_capacity(8 * (3 + t.servers.len() + t.applications.len()));
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Writes a committed routine poll's times into the committed state's cells
/// (see [`crate::model::Live`]): the same values [`encode_routine`] stored.
pub fn refresh(t: &TargetState, at: Ts, last_changes: impl Iterator<Item = Option<u64>>) {
    t.last_fetch_at.refresh(Some(at));
    t.last_success_at.refresh(Some(at));
    for (record, lastchg) in t.servers.iter().zip(last_changes) {
        record.last_change_s.refresh(lastchg);
    }
}

/// Puts stored poll times back into a state read from its full record. False (and
/// nothing changed) when they do not fit it.
pub fn apply(t: &mut TargetState, bytes: &[u8]) -> bool {
    if bytes.len() != 8 * (3 + t.servers.len() + t.applications.len()) {
        return false;
    }
    let mut values = bytes.chunks_exact(8).map(|c| {
        let v = u64::from_le_bytes(c.try_into().unwrap_or([0xff; 8]));
        (v != NONE).then_some(v)
    });
    let mut next = || values.next().flatten();
    t.last_fetch_at.set(next().map(Ts));
    t.last_success_at.set(next().map(Ts));
    t.last_failure_at = next().map(Ts);
    for s in &mut t.servers {
        s.last_change_s.set(next());
    }
    for a in &mut t.applications {
        a.last_fetch_at = next().map(Ts);
    }
    true
}

/// Whether the poll times of two states differ, for states that do not differ
/// beyond them (same servers and applications, in the same order).
pub fn differ(a: &TargetState, b: &TargetState) -> bool {
    a.last_fetch_at != b.last_fetch_at
        || a.last_success_at != b.last_success_at
        || a.last_failure_at != b.last_failure_at
        || a.servers
            .iter()
            .zip(&b.servers)
            .any(|(x, y)| x.last_change_s != y.last_change_s)
        || a.applications
            .iter()
            .zip(&b.applications)
            .any(|(x, y)| x.last_fetch_at != y.last_fetch_at)
}

/// Whether two states differ in more than their poll times.
pub fn differ_beyond_poll_times(a: &TargetState, b: &TargetState) -> bool {
    // Every field is named, so a new field cannot be forgotten here.
    let TargetState {
        id,
        kind,
        group,
        source,
        backend_name,
        enable_polling,
        last_fetch_status,
        last_fetch_error,
        last_fetch_at: _,
        last_success_at: _,
        last_failure_at: _,
        consecutive_failures,
        circuit,
        restarts,
        recovery_attempts,
        last_recovery,
        servers,
        capacity,
        backend_state,
        applications,
        self_preservation_suspected,
    } = a;
    *id != b.id
        || *kind != b.kind
        || *group != b.group
        || *source != b.source
        || *backend_name != b.backend_name
        || *enable_polling != b.enable_polling
        || *last_fetch_status != b.last_fetch_status
        || *last_fetch_error != b.last_fetch_error
        || *consecutive_failures != b.consecutive_failures
        || *circuit != b.circuit
        || *restarts != b.restarts
        || *recovery_attempts != b.recovery_attempts
        || *last_recovery != b.last_recovery
        || *self_preservation_suspected != b.self_preservation_suspected
        || *capacity != b.capacity
        || *backend_state != b.backend_state
        || servers.len() != b.servers.len()
        || servers
            .iter()
            .zip(&b.servers)
            .any(|(x, y)| servers_differ(x, y))
        || applications.len() != b.applications.len()
        || applications
            .iter()
            .zip(&b.applications)
            .any(|(x, y)| apps_differ(x, y))
}

fn servers_differ(a: &ServerRecord, b: &ServerRecord) -> bool {
    let ServerRecord {
        name_addr,
        status,
        state,
        weight,
        check_status,
        last_change_s: _,
        last_known_status,
        last_known_state,
    } = a;
    *name_addr != b.name_addr
        || *status != b.status
        || *state != b.state
        || *weight != b.weight
        || *check_status != b.check_status
        || *last_known_status != b.last_known_status
        || *last_known_state != b.last_known_state
}

fn apps_differ(a: &AppRecord, b: &AppRecord) -> bool {
    let AppRecord {
        name,
        last_fetch_status,
        last_fetch_error,
        last_fetch_at: _,
        instances,
    } = a;
    *name != b.name
        || *last_fetch_status != b.last_fetch_status
        || *last_fetch_error != b.last_fetch_error
        || instances.len() != b.instances.len()
        || instances
            .iter()
            .zip(&b.instances)
            .any(|(x, y)| instances_differ(x, y))
}

/// Whether two instances differ in more than their lease timestamps, which move on
/// every renewal: a poll that only sees renewals does not rewrite the target (its
/// `lease_expired` flag is compared).
fn instances_differ(a: &InstanceRecord, b: &InstanceRecord) -> bool {
    let InstanceRecord {
        instance_id,
        app,
        texts,
        port,
        status,
        state,
        last_known_status,
        last_known_state,
        metadata,
        removed_at,
        lease,
        last_updated_at,
        lease_expired,
    } = a;
    let terms = |l: &Option<Lease>| l.as_ref().map(|l| (l.duration_s, l.renewal_interval_s));
    *instance_id != b.instance_id
        || *app != b.app
        || (texts, port) != (&b.texts, &b.port)
        || (status, state) != (&b.status, &b.state)
        || (last_known_status, last_known_state) != (&b.last_known_status, &b.last_known_state)
        || *metadata != b.metadata
        || *removed_at != b.removed_at
        || terms(lease) != terms(&b.lease)
        || *last_updated_at != b.last_updated_at
        || *lease_expired != b.lease_expired
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FetchStatus, ServerState, TargetKind, TargetMeta};

    fn state() -> TargetState {
        let mut t = TargetState::new(&TargetMeta {
            id: "haproxy/lb/be".into(),
            kind: TargetKind::HaproxyBackend,
            group: "lb".into(),
            source: crate::model::SourceKind::Agent,
            backend_name: Some("be".into()),
            failure_threshold: 3,
        });
        t.last_fetch_at.set(Some(Ts(10)));
        t.last_success_at.set(Some(Ts(10)));
        t.servers = ["a", "b"]
            .iter()
            .map(|n| ServerRecord {
                name_addr: crate::model::NameAddr::new(n, None),
                status: "UP".into(),
                state: ServerState::Up,
                weight: Some(1),
                check_status: None,
                last_change_s: Some(5).into(),
                last_known_status: Some("UP".into()),
                last_known_state: ServerState::Up,
            })
            .collect();
        t.applications = vec![AppRecord {
            name: "app".into(),
            last_fetch_status: FetchStatus::Success,
            last_fetch_error: None,
            last_fetch_at: Some(Ts(10)),
            instances: vec![],
        }];
        t
    }

    #[test]
    fn poll_times_round_trip_and_are_all_that_is_ignored() {
        let old = state();
        let mut new = old.clone();
        new.last_fetch_at.set(Some(Ts(20)));
        new.last_success_at.set(Some(Ts(20)));
        new.last_failure_at = Some(Ts(15));
        new.servers[1].last_change_s.set(None);
        new.applications[0].last_fetch_at = Some(Ts(20));
        assert!(!differ_beyond_poll_times(&old, &new));
        assert!(differ(&old, &new) && !differ(&new, &new.clone()));
        let mut back = old.clone();
        assert!(apply(&mut back, &encode(&new)));
        assert_eq!(back, new);

        new.servers[0].state = ServerState::Down;
        assert!(differ_beyond_poll_times(&old, &new));
        let mut fewer = old.clone();
        fewer.servers.pop();
        assert!(differ_beyond_poll_times(&old, &fewer));
        assert!(
            !apply(&mut fewer, &encode(&old)),
            "a record that does not fit"
        );
        assert_eq!(fewer.servers.len(), 1);
    }
}
