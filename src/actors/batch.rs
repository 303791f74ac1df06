//! Applying a batch of observations: `diff` on each, in order, against a working
//! copy of the committed state, noting per target what the alert step needs (the
//! subjects that changed state and the time of the latest observation); and
//! telling the observations that change something from those that only refresh
//! poll times, so the first are committed first.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::status::{Msg, Snapshot};
use super::status_alerts::Touched;
use crate::alerts::flap::subject_changes;
use crate::diff::diff;
use crate::model::{
    BackendSample, EventDraft, FastSet, FetchStatus, Observation, ObservationKind, Payload,
    TargetState,
};

pub(super) type Working = BTreeMap<Arc<str>, Option<Arc<TargetState>>>;

/// Applies `diff` to every observation of the batch, in order, against a working
/// copy of the state; notes what changed per target for the alert step.
/// `lease` runs after each `diff` (the lease rules of a Eureka fetch,
/// `crate::drift::lease`) and may add events.
pub(super) fn apply(
    current: &Snapshot,
    batch: &[Msg],
    lease: &dyn Fn(&mut TargetState, &Observation) -> Vec<EventDraft>,
) -> (Working, Vec<EventDraft>, BTreeMap<Arc<str>, Touched>) {
    let mut working: Working = BTreeMap::new();
    let mut drafts: Vec<EventDraft> = Vec::new();
    let mut touched: BTreeMap<Arc<str>, Touched> = BTreeMap::new();
    for obs in batch.iter().flat_map(|m| &m.observations) {
        let id = obs.target.as_str();
        let (key, prev) = match working.get_key_value(id) {
            Some((k, p)) => (k.clone(), p.clone()),
            None => match current.targets.get_key_value(id) {
                Some((k, p)) => (k.clone(), Some(p.clone())),
                None => (Arc::from(id), None),
            },
        };
        let t = diff(prev.as_deref(), obs);
        let mut next = t.next;
        drafts.extend(t.events);
        if let Some(n) = next.as_mut() {
            drafts.extend(lease(n, obs));
        }
        let seen = touched.entry(key.clone()).or_default();
        let changed = subject_changes(prev.as_deref(), next.as_ref());
        seen.changes
            .extend(changed.into_iter().map(|l| (l, obs.at)));
        seen.at = seen.at.max(obs.at);
        working.insert(key, next.map(Arc::new));
    }
    (working, drafts, touched)
}

/// Whether `obs` only refreshes the poll times of the committed state: a
/// successful read of a backend whose servers read exactly as committed (but for
/// `lastchg`, a poll time). Such observations may wait behind those that change
/// something.
pub(super) fn routine(current: &Snapshot, obs: &Observation) -> bool {
    match &obs.kind {
        ObservationKind::Fetched(Payload::Servers(backend)) => {
            routine_read(current, &obs.target, backend)
        }
        ObservationKind::Fetched(Payload::Same(same)) => current
            .targets
            .get(obs.target.as_str())
            .is_some_and(|t| Arc::ptr_eq(t, &same.basis) || same_servers(t, &same.basis)),
        _ => false,
    }
}

/// Whether `t` and `basis` read the same (what [`routine_read`] compares): a
/// read that matched `basis` is routine for `t` too.
fn same_servers(t: &TargetState, basis: &TargetState) -> bool {
    t.last_fetch_status == FetchStatus::Success
        && basis.last_fetch_status == FetchStatus::Success
        && t.backend_state == basis.backend_state
        && t.servers.len() == basis.servers.len()
        && t.servers
            .iter()
            .zip(&basis.servers)
            .all(|(r, b)| r.read() == b.read())
}

/// Whether a successful read of `backend` for target `id` only refreshes its poll
/// times (see [`routine`]).
pub(super) fn routine_read(current: &Snapshot, id: &str, backend: &BackendSample) -> bool {
    let Some(t) = current.targets.get(id) else {
        return false;
    };
    let samples = &backend.servers;
    t.last_fetch_status == FetchStatus::Success
        && t.backend_state == backend.status
        && t.servers.len() == samples.len()
        && t.servers
            .iter()
            .zip(samples.iter())
            .all(|(r, s)| r.read() == s.read())
}

/// Splits messages into those that change something and those that only refresh
/// poll times, each in arrival order. A routine message of a target that also has
/// a changing message among `msgs` goes with the changing ones, so every target's
/// observations are still applied in order.
///
/// The first `known` messages were found routine by an earlier split and are not
/// compared with the state again: what is left of a round of 10,000 polls is
/// carried from batch to batch, and a change that arrives meanwhile is sorted out
/// at the cost of the new messages only. (A target whose state changed since had
/// a changing message, which brought its carried ones along with it.)
pub(super) fn split(current: &Snapshot, msgs: Vec<Msg>, known: usize) -> (Vec<Msg>, Vec<Msg>) {
    let plain = |m: &Msg| m.is_plain() && m.observations.iter().all(|o| routine(current, o));
    let marks: Vec<bool> = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| i < known || plain(m))
        .collect();
    if marks.iter().all(|p| *p) {
        return (Vec::new(), msgs);
    }
    let urgent_targets: FastSet<&str> = msgs
        .iter()
        .zip(&marks)
        .filter(|(_, plain)| !**plain)
        .flat_map(|(m, _)| m.observations.iter().map(|o| o.target.as_str()))
        .collect();
    let keep: Vec<bool> = msgs
        .iter()
        .zip(&marks)
        .map(|(m, plain)| {
            *plain
                && !m
                    .observations
                    .iter()
                    .any(|o| urgent_targets.contains(o.target.as_str()))
        })
        .collect();
    let (mut urgent, mut later) = (Vec::new(), Vec::new());
    for (m, routine) in msgs.into_iter().zip(keep) {
        match routine {
            true => later.push(m),
            false => urgent.push(m),
        }
    }
    (urgent, later)
}
