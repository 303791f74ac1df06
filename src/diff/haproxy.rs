//! Merging a backend's server rows into its stored servers.

use serde_json::json;

use super::{NO_DATA, push};
use crate::model::{EventDraft, EventType, ServerRecord, ServerSample, ServerState};

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
    let mut old = std::mem::take(servers);
    for sample in samples {
        if servers.iter().any(|s| s.name == sample.name) {
            continue; // a duplicated row: the first one counts
        }
        let record = record_of(sample);
        match old.iter().position(|s| s.name == sample.name) {
            Some(i) => {
                let prev = old.swap_remove(i);
                if prev.last_known_state != record.state {
                    changed(
                        ev,
                        target,
                        &record,
                        Some(prev.last_known_state),
                        prev.last_known_status,
                    );
                }
            }
            None if emit => changed(ev, target, &record, None, None),
            None => {}
        }
        servers.push(record);
    }
    if emit {
        for gone in old {
            let data = json!({"server": gone.name, "from": gone.last_known_state, "to": null,
                              "status": null, "previous_status": gone.last_known_status,
                              "removed": true});
            push(ev, EventType::ServerStateChanged, target, data);
        }
    }
}

fn changed(
    ev: &mut Vec<EventDraft>,
    target: &str,
    now: &ServerRecord,
    from: Option<ServerState>,
    previous_status: Option<String>,
) {
    let data = json!({"server": now.name, "from": from, "to": now.state,
                      "status": now.status, "previous_status": previous_status});
    push(ev, EventType::ServerStateChanged, target, data);
}

fn record_of(sample: &ServerSample) -> ServerRecord {
    let state = ServerState::from_haproxy_status(&sample.status);
    ServerRecord {
        name: sample.name.clone(),
        status: sample.status.clone(),
        state,
        weight: sample.weight,
        check_status: sample.check_status.clone(),
        last_change_s: sample.last_change_s,
        addr: sample.addr.clone(),
        last_known_status: Some(sample.status.clone()),
        last_known_state: state,
    }
}

/// Marks every server as unreadable, keeping its last known values.
pub(super) fn mark_no_data(servers: &mut [ServerRecord]) {
    for s in servers {
        s.status = NO_DATA.to_string();
        s.state = ServerState::Unknown;
    }
}
