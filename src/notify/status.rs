//! What each notifier reports to `GET /api/notifiers` and `/metrics`: its state,
//! last success and error, pending transitions and running counters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::model::{CircuitState, Ts};

/// A notifier's health as `GET /api/notifiers` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotifierState {
    Ok,
    Failing,
    CircuitOpen,
}

#[derive(Clone, Debug, Default)]
struct Details {
    last_success_at: Option<Ts>,
    last_error: Option<String>,
    last_error_at: Option<Ts>,
    failing: bool,
    circuit: CircuitState,
    next_attempt_at: Option<Ts>,
}

/// The live status of one notifier, updated by its task.
#[derive(Debug)]
pub struct NotifierStatus {
    pub name: String,
    pub kind: &'static str,
    details: Mutex<Details>,
    pending: AtomicU64,
    delivered: AtomicU64,
    failed_attempts: AtomicU64,
    given_up: AtomicU64,
}

/// One row of `GET /api/notifiers`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct NotifierView {
    pub name: String,
    pub kind: &'static str,
    pub state: NotifierState,
    pub last_success_at: Option<Ts>,
    pub last_error: Option<String>,
    pub last_error_at: Option<Ts>,
    pub pending: u64,
    pub delivered_total: u64,
    pub failed_attempts_total: u64,
    pub given_up_total: u64,
    pub circuit: CircuitView,
}

/// The breaker of a notifier.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CircuitView {
    pub state: CircuitState,
    pub next_attempt_at: Option<Ts>,
}

impl NotifierStatus {
    pub fn new(name: &str, kind: &'static str) -> Arc<NotifierStatus> {
        Arc::new(NotifierStatus {
            name: name.to_string(),
            kind,
            details: Mutex::new(Details::default()),
            pending: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            failed_attempts: AtomicU64::new(0),
            given_up: AtomicU64::new(0),
        })
    }

    fn details(&self) -> std::sync::MutexGuard<'_, Details> {
        self.details.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A message was accepted.
    pub fn delivered(&self, at: Ts) {
        self.delivered.fetch_add(1, Ordering::Relaxed);
        let mut d = self.details();
        d.last_success_at = Some(at);
        d.failing = false;
    }

    /// One attempt (of possibly several retries) failed.
    pub fn attempt_failed(&self) {
        self.failed_attempts.fetch_add(1, Ordering::Relaxed);
    }

    /// A message was not accepted after its retries.
    pub fn failed(&self, at: Ts, error: &str) {
        let mut d = self.details();
        d.last_error = Some(error.to_string());
        d.last_error_at = Some(at);
        d.failing = true;
    }

    /// The task starts again with new settings: what the old settings failed
    /// with no longer says how it fares (`last_error` stays, as history).
    pub fn restarted(&self) {
        let mut d = self.details();
        d.failing = false;
        d.circuit = CircuitState::default();
        d.next_attempt_at = None;
    }

    /// A message was given up after `max_age`.
    pub fn gave_up(&self) {
        self.given_up.fetch_add(1, Ordering::Relaxed);
    }

    /// Mirrors the breaker.
    pub fn circuit(&self, state: CircuitState, next: Option<Ts>) {
        let mut d = self.details();
        d.circuit = state;
        d.next_attempt_at = next;
    }

    /// Transitions waiting to be delivered.
    pub fn set_pending(&self, n: usize) {
        self.pending.store(n as u64, Ordering::Relaxed);
    }

    /// The row of `GET /api/notifiers`.
    pub fn view(&self) -> NotifierView {
        let d = self.details().clone();
        let state = match (d.circuit, d.failing) {
            (CircuitState::Open, _) => NotifierState::CircuitOpen,
            (_, true) => NotifierState::Failing,
            _ => NotifierState::Ok,
        };
        NotifierView {
            name: self.name.clone(),
            kind: self.kind,
            state,
            last_success_at: d.last_success_at,
            last_error: d.last_error,
            last_error_at: d.last_error_at,
            pending: self.pending.load(Ordering::Relaxed),
            delivered_total: self.delivered.load(Ordering::Relaxed),
            failed_attempts_total: self.failed_attempts.load(Ordering::Relaxed),
            given_up_total: self.given_up.load(Ordering::Relaxed),
            circuit: CircuitView {
                state: d.circuit,
                next_attempt_at: d.next_attempt_at,
            },
        }
    }
}
