//! Merging a backend's server rows into its stored servers.

use std::collections::{HashMap, HashSet};

use super::{NO_DATA, push};
use crate::model::{
    BackendAvailability, BackendStateChange, Capacity, EventData, EventDraft, NameAddr,
    ServerChange, ServerRecord, ServerSample, ServerState, Shared, TargetState, intern,
};

/// Replaces `servers` with the rows of a successful fetch. With `emit`, a server whose
/// state differs from its last known state, and a server that appears or disappears,
/// gives a `server_state_changed` event.
pub(super) fn merge(
    servers: &mut Vec<ServerRecord>,
    samples: &[ServerSample],
    emit: bool,
    target: &str,
    ev: &mut Vec<EventDraft>,
) {
    if same_names(servers, samples) {
        // The usual poll: the same servers in the same order, updated in place.
        for (record, sample) in servers.iter_mut().zip(samples) {
            if let Some((from, previous_status)) = update(record, sample) {
                changed(ev, target, record, Some(from), previous_status);
            }
        }
        return;
    }
    let picks = pick(servers, samples);
    let mut old: Vec<Option<ServerRecord>> =
        std::mem::take(servers).into_iter().map(Some).collect();
    for (sample, pick) in samples.iter().zip(picks) {
        let record = match pick {
            Pick::Repeat => continue, // a duplicated row: the first one counts
            Pick::Kept(i) => {
                let Some(mut record) = old[i].take() else {
                    continue;
                };
                if let Some((from, previous_status)) = update(&mut record, sample) {
                    changed(ev, target, &record, Some(from), previous_status);
                }
                record
            }
            Pick::New => {
                let record = record_of(sample);
                if emit {
                    changed(ev, target, &record, None, None);
                }
                record
            }
        };
        servers.push(record);
    }
    if emit {
        for gone in old.into_iter().flatten() {
            let data = ServerChange {
                from: Some(gone.last_known_state),
                previous_status: gone.last_known_status.as_deref().map(str::to_string),
                removed: true,
                server: gone.name().to_string(),
                status: None,
                to: None,
            };
            push(ev, target, EventData::ServerStateChanged(data));
        }
    }
}

/// Whether the samples name exactly the stored servers, in the same order (the
/// stored names are unique, so the samples then have no repeated row).
fn same_names(servers: &[ServerRecord], samples: &[ServerSample]) -> bool {
    servers.len() == samples.len() && servers.iter().zip(samples).all(|(r, s)| r.name() == s.name)
}

/// What becomes of one sample.
enum Pick {
    /// A row whose name came earlier in the same answer.
    Repeat,
    /// The stored server at this index.
    Kept(usize),
    New,
}

/// Matches samples to stored servers by name with one hash lookup each: linear in
/// the size of the backend (20,000 servers in one answer stay cheap).
fn pick(servers: &[ServerRecord], samples: &[ServerSample]) -> Vec<Pick> {
    let index: HashMap<&str, usize> = servers
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name(), i))
        .collect();
    let mut seen = HashSet::with_capacity(samples.len());
    samples
        .iter()
        .map(|sample| match seen.insert(sample.name.as_str()) {
            false => Pick::Repeat,
            true => index
                .get(sample.name.as_str())
                .map_or(Pick::New, |&i| Pick::Kept(i)),
        })
        .collect()
}

fn changed(
    ev: &mut Vec<EventDraft>,
    target: &str,
    now: &ServerRecord,
    from: Option<ServerState>,
    previous_status: Option<Shared>,
) {
    let data = ServerChange {
        from,
        previous_status: previous_status.map(|s| s.to_string()),
        removed: false,
        server: now.name().to_string(),
        status: Some(now.status.to_string()),
        to: Some(now.state),
    };
    push(ev, target, EventData::ServerStateChanged(data));
}

fn record_of(sample: &ServerSample) -> ServerRecord {
    let state = ServerState::from_haproxy_status(&sample.status);
    ServerRecord {
        name_addr: NameAddr::new(&sample.name, sample.addr.as_deref()),
        status: sample.status.clone(),
        state,
        weight: sample.weight,
        check_status: sample.check_status.clone(),
        last_change_s: sample.last_change_s.into(),
        last_known_status: Some(sample.status.clone()),
        last_known_state: state,
    }
}

/// Brings a kept record up to date with a new sample (its name and address are
/// rebuilt only when the address changed, its interned statuses shared: a poll
/// that changes nothing allocates nothing). Returns the last known state and status
/// before the update when the state changed.
fn update(r: &mut ServerRecord, sample: &ServerSample) -> Option<(ServerState, Option<Shared>)> {
    let state = ServerState::from_haproxy_status(&sample.status);
    let transition =
        (r.last_known_state != state).then(|| (r.last_known_state, r.last_known_status.clone()));
    // Statuses are interned: these are reference counts, not copies.
    r.last_known_status = Some(sample.status.clone());
    r.status.clone_from(&sample.status);
    r.state = state;
    r.last_known_state = state;
    r.weight = sample.weight;
    r.last_change_s.set(sample.last_change_s);
    r.check_status.clone_from(&sample.check_status);
    if r.addr() != sample.addr.as_deref() {
        r.name_addr = NameAddr::new(&sample.name, sample.addr.as_deref());
    }
    transition
}

/// Marks every server as unreadable, keeping its last known values.
pub(super) fn mark_no_data(servers: &mut [ServerRecord]) {
    for s in servers {
        s.status = intern(NO_DATA);
        s.state = ServerState::Unknown;
    }
}

/// Updates the backend's capacity after a successful fetch. With `emit`, a backend
/// going from some server up to none, or back, gives `backend_state_changed`.
pub(super) fn capacity(next: &mut TargetState, emit: bool, target: &str, ev: &mut Vec<EventDraft>) {
    let now = Capacity::of(&next.servers);
    let level = |c: &Capacity| {
        if c.up > 0 {
            BackendAvailability::Up
        } else {
            BackendAvailability::Down
        }
    };
    if let Some(before) = next.capacity.filter(|_| emit)
        && level(&before) != level(&now)
    {
        let data = BackendStateChange {
            from: level(&before),
            to: level(&now),
            total: now.total,
            up: now.up,
        };
        push(ev, target, EventData::BackendStateChanged(data));
    }
    next.capacity = Some(now);
}
