//! The state-transition function: `diff(previous, observation)` gives the next state
//! of a target and the events the change causes. Pure code: no clocks, no I/O. Every
//! rule of docs/api.md ("Fetch status", "Events") and docs/architecture.md
//! ("State transitions") lives here.
//!
//! - A failed fetch marks the target (and, for Eureka, every application) failed; the
//!   servers and instances keep their last known values with `state: unknown` and
//!   `status: "no data"`. It is never reported as them being down.
//! - `fetch_failed` fires on the edge from `success`/`unknown` to `failed`, and
//!   `fetch_recovered` on the edge back.
//! - Per-server and per-instance events compare against the last state actually read
//!   from the source, so an outage in between neither hides nor invents a transition.
//! - The first successful fetch of a target is its baseline: it adds no per-server or
//!   per-instance events.

use crate::model::{
    BackendSample, CircuitChange, CircuitState, EventData, EventDraft, FetchFailure, FetchRecovery,
    FetchStatus, NoData, Observation, ObservationKind, Payload, TargetAdded, TargetRemoved,
    TargetState,
};
use crate::sources::FetchErrorKind;

mod eureka;
mod haproxy;

/// Placeholder status of a server or instance whose source could not be read.
pub const NO_DATA: &str = "no data";

/// The result of applying one observation.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The new state, or `None` if the target does not exist (any more).
    pub next: Option<TargetState>,
    pub events: Vec<EventDraft>,
}

/// Applies `obs` to `prev` (the target's current state, if it exists).
pub fn diff(prev: Option<&TargetState>, obs: &Observation) -> Transition {
    let mut events = Vec::new();
    let next = match (&obs.kind, prev) {
        (ObservationKind::Registered(meta), None) => {
            let data = TargetAdded {
                backend: meta.backend_name.clone(),
                group: meta.group.to_string(),
                kind: meta.kind,
                source: meta.source,
            };
            push(&mut events, &obs.target, EventData::TargetAdded(data));
            Some(TargetState::new(meta))
        }
        (ObservationKind::Registered(meta), Some(p)) => {
            let mut next = p.clone();
            next.circuit.failure_threshold = meta.failure_threshold;
            next.source = meta.source;
            next.group = meta.group.clone();
            Some(next)
        }
        (ObservationKind::Removed { reason }, Some(_)) => {
            let reason = reason.clone();
            push(
                &mut events,
                &obs.target,
                EventData::TargetRemoved(TargetRemoved { reason }),
            );
            None
        }
        (ObservationKind::Instance(data), p) => {
            push(&mut events, &obs.target, (**data).clone());
            p.cloned()
        }
        (_, None) => None,
        (kind, Some(p)) => {
            let mut next = p.clone();
            apply(&mut next, kind, obs, &mut events);
            Some(next)
        }
    };
    Transition { next, events }
}

fn push(events: &mut Vec<EventDraft>, target: &str, data: EventData) {
    events.push(EventDraft {
        target: target.to_string(),
        data,
    });
}

fn apply(
    next: &mut TargetState,
    kind: &ObservationKind,
    obs: &Observation,
    ev: &mut Vec<EventDraft>,
) {
    match kind {
        ObservationKind::Fetched(payload) => fetched(next, payload, obs, ev),
        ObservationKind::FetchFailed { error, kind } => fetch_failed(next, (error, *kind), obs, ev),
        ObservationKind::Circuit {
            state,
            next_attempt_at,
        } => circuit(next, *state, *next_attempt_at, obs, ev),
        ObservationKind::CircuitReset => {
            next.consecutive_failures = 0;
            circuit(next, CircuitState::Closed, None, obs, ev);
        }
        ObservationKind::Polling { enabled } => {
            if next.enable_polling != *enabled {
                next.enable_polling = *enabled;
                let data = if *enabled {
                    EventData::PollingEnabled(NoData {})
                } else {
                    EventData::PollingDisabled(NoData {})
                };
                push(ev, &obs.target, data);
            }
        }
        ObservationKind::Recovery { outcome } => {
            next.recovery_attempts += 1;
            next.last_recovery = Some(outcome.clone());
            push(
                ev,
                &obs.target,
                EventData::RecoveryAttempted((**outcome).clone()),
            );
        }
        ObservationKind::ServerAction { outcome } => {
            push(
                ev,
                &obs.target,
                EventData::ServerAdminAction((**outcome).clone()),
            );
        }
        ObservationKind::Restarted { .. } => next.restarts += 1,
        ObservationKind::Registered(_)
        | ObservationKind::Removed { .. }
        | ObservationKind::Instance(_) => {}
    }
}

fn servers(
    next: &mut TargetState,
    backend: &BackendSample,
    emit: bool,
    target: &str,
    ev: &mut Vec<EventDraft>,
) {
    haproxy::merge(&mut next.servers, &backend.servers, emit, target, ev);
    haproxy::capacity(next, emit, target, ev);
    next.backend_state = backend.status.clone();
}

fn fetched(next: &mut TargetState, payload: &Payload, obs: &Observation, ev: &mut Vec<EventDraft>) {
    let baseline = next.last_success_at.get().is_none();
    let target_was_ok = next.last_fetch_status == FetchStatus::Success;
    if next.last_fetch_status == FetchStatus::Failed {
        let data = FetchRecovery {
            application: None,
            consecutive_failures: Some(next.consecutive_failures),
            previous_error: next.last_fetch_error.clone(),
        };
        push(ev, &obs.target, EventData::FetchRecovered(data));
    }
    next.last_fetch_status = FetchStatus::Success;
    next.last_fetch_error = None;
    next.last_fetch_at.set(Some(obs.at));
    next.last_success_at.set(Some(obs.at));
    next.consecutive_failures = 0;
    match payload {
        Payload::Servers(backend) => servers(next, backend, !baseline, &obs.target, ev),
        // The state changed since the read was compared with it: the read in full.
        Payload::Same(same) => servers(next, &same.sample(), !baseline, &obs.target, ev),
        Payload::Applications(apps) => {
            let ctx = eureka::Ctx {
                at: obs.at,
                emit_members: !baseline,
                target_was_ok,
                target: &obs.target,
            };
            eureka::merge(&mut next.applications, apps, &ctx, ev)
        }
    }
}

fn fetch_failed(
    next: &mut TargetState,
    (error, kind): (&str, FetchErrorKind),
    obs: &Observation,
    ev: &mut Vec<EventDraft>,
) {
    next.consecutive_failures += 1;
    if next.last_fetch_status != FetchStatus::Failed {
        let data = FetchFailure {
            application: None,
            consecutive_failures: Some(next.consecutive_failures),
            error: error.to_string(),
            kind: Some(kind.failure_kind()),
        };
        push(ev, &obs.target, EventData::FetchFailed(data));
    }
    next.last_fetch_status = FetchStatus::Failed;
    next.last_fetch_error = Some(error.to_string());
    next.last_fetch_at.set(Some(obs.at));
    next.last_failure_at = Some(obs.at);
    haproxy::mark_no_data(&mut next.servers);
    eureka::mark_failed(&mut next.applications, error, obs.at);
}

fn circuit(
    next: &mut TargetState,
    state: CircuitState,
    next_attempt_at: Option<crate::model::Ts>,
    obs: &Observation,
    ev: &mut Vec<EventDraft>,
) {
    let info = &mut next.circuit;
    info.next_attempt_at = if state == CircuitState::Open {
        next_attempt_at
    } else {
        None
    };
    if info.state == state {
        return;
    }
    let from = info.state;
    info.state = state;
    info.last_state_change = Some(obs.at);
    let data = CircuitChange {
        consecutive_failures: next.consecutive_failures,
        from,
        next_attempt_at: info.next_attempt_at,
    };
    let data = match state {
        CircuitState::Open => {
            info.opened_count += 1;
            EventData::CircuitOpened(data)
        }
        CircuitState::HalfOpen => EventData::CircuitHalfOpen(data),
        CircuitState::Closed => EventData::CircuitClosed(data),
    };
    push(ev, &obs.target, data);
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "diff/capacity_tests.rs"]
mod capacity_tests;
