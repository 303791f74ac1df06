//! The circuit breaker of one poller: a `failsafe` state machine whose state is
//! mirrored through an instrument, so the API can show `closed` / `open` /
//! `half_open` and when the next attempt is due.
//!
//! The open period starts at `open_base` and doubles on every failed probe up to
//! `open_max`, with ±10% jitter. A full reset builds a new state machine, because
//! failsafe's own reset keeps the failure count of a closed breaker.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use failsafe::failure_policy::{ConsecutiveFailures, consecutive_failures};
use failsafe::{Config, Instrument, StateMachine};
use rand::Rng;

use crate::config::CircuitConfig;
use crate::model::{CircuitState, Ts};

/// Exponential open periods with jitter; remembers the last period it gave (in
/// the mirror, which reads it when the breaker opens).
#[derive(Clone, Debug)]
struct OpenPeriods {
    next: Duration,
    max: Duration,
    last_ms: Arc<Seen>,
}

impl Iterator for OpenPeriods {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        let factor = rand::thread_rng().gen_range(0.9..=1.1);
        let period = base.mul_f64(factor).min(self.max);
        self.last_ms
            .last_ms
            .store(period.as_millis() as u64, Ordering::SeqCst);
        Some(period)
    }
}

/// The state seen through the instrument, and the last open period given (one
/// allocation per breaker: 10,000 of them run at once).
#[derive(Debug, Default)]
struct Seen {
    state: Mutex<(CircuitState, Option<Ts>)>,
    last_ms: AtomicU64,
}

#[derive(Clone, Debug, Default)]
struct Mirror {
    seen: Arc<Seen>,
}

impl Mirror {
    fn set(&self, state: CircuitState, next: Option<Ts>) {
        let mut guard = self.seen.state.lock().unwrap_or_else(|p| p.into_inner());
        *guard = (state, next);
    }
}

impl Instrument for Mirror {
    fn on_call_rejected(&self) {}
    fn on_open(&self) {
        let period = Duration::from_millis(self.seen.last_ms.load(Ordering::SeqCst));
        self.set(CircuitState::Open, Some(Ts::now().plus(period)));
    }
    fn on_half_open(&self) {
        self.set(CircuitState::HalfOpen, None);
    }
    fn on_closed(&self) {
        self.set(CircuitState::Closed, None);
    }
}

type Machine = StateMachine<ConsecutiveFailures<OpenPeriods>, Mirror>;

/// A circuit breaker whose state can be read.
pub struct Breaker {
    machine: Machine,
    mirror: Mirror,
    config: CircuitConfig,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(config: &CircuitConfig) -> Breaker {
        let mirror = Mirror::default();
        let periods = OpenPeriods {
            next: config.open_base,
            max: config.open_max.max(config.open_base),
            last_ms: mirror.seen.clone(),
        };
        let policy = consecutive_failures(config.failure_threshold.max(1), periods);
        let machine = Config::new()
            .failure_policy(policy)
            .instrument(mirror.clone())
            .build();
        Breaker {
            machine,
            mirror,
            config: config.clone(),
        }
    }

    /// Whether a request may be sent now; moves an expired open breaker to half-open.
    pub fn permit(&self) -> bool {
        self.machine.is_call_permitted()
    }

    /// Records a successful poll.
    pub fn success(&self) {
        self.machine.on_success();
    }

    /// Records a failed poll (after its retries).
    pub fn failure(&self) {
        self.machine.on_error();
    }

    /// The current state and, while open, when the next attempt is due.
    pub fn state(&self) -> (CircuitState, Option<Ts>) {
        *self
            .mirror
            .seen
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Brings a new breaker to a stored state: `failures` consecutive failures, and
    /// open if `open` (its open period starts now).
    pub fn restore(&self, open: bool, failures: u32) {
        let threshold = self.config.failure_threshold.max(1);
        let count = if open {
            threshold
        } else {
            failures.min(threshold - 1)
        };
        for _ in 0..count {
            self.machine.on_error();
        }
    }

    /// Closes the breaker and forgets every failure.
    pub fn reset(&mut self) {
        *self = Breaker::new(&self.config);
    }

    /// Time left until an open breaker lets a probe through.
    pub fn wait_left(&self, now: Ts) -> Option<Duration> {
        match self.state() {
            (CircuitState::Open, Some(at)) => Some(Duration::from_millis(at.since(now))),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base_ms: u64) -> CircuitConfig {
        CircuitConfig {
            failure_threshold: 3,
            open_base: Duration::from_millis(base_ms),
            open_max: Duration::from_millis(base_ms * 4),
        }
    }

    #[test]
    fn opens_after_threshold_and_rejects() {
        let b = Breaker::new(&config(60_000));
        for _ in 0..2 {
            assert!(b.permit());
            b.failure();
            assert_eq!(b.state().0, CircuitState::Closed);
        }
        b.failure();
        let (state, next) = b.state();
        assert_eq!(state, CircuitState::Open);
        let wait = next.unwrap().since(Ts::now());
        assert!((50_000..=66_000).contains(&wait), "{wait}");
        assert!(!b.permit());
    }

    #[test]
    fn open_periods_double_up_to_the_maximum() {
        let last = Arc::new(Seen::default());
        let p = OpenPeriods {
            next: Duration::from_secs(5),
            max: Duration::from_secs(300),
            last_ms: last,
        };
        let periods: Vec<u64> = p.take(9).map(|d| d.as_secs()).collect();
        for (got, want) in periods
            .iter()
            .zip([5u64, 10, 20, 40, 80, 160, 300, 300, 300])
        {
            assert!(
                *got >= want * 9 / 10 && *got <= want.min(300) * 11 / 10,
                "{periods:?}"
            );
        }
    }

    #[test]
    fn restore_reopens_or_keeps_the_count() {
        let open = Breaker::new(&config(60_000));
        open.restore(true, 0);
        assert_eq!(open.state().0, CircuitState::Open);
        let counted = Breaker::new(&config(60_000));
        counted.restore(false, 7);
        assert_eq!(counted.state().0, CircuitState::Closed);
        counted.failure();
        assert_eq!(counted.state().0, CircuitState::Open);
    }

    #[test]
    fn half_open_probe_closes_on_success_and_reset_forgets_failures() {
        let mut b = Breaker::new(&config(1));
        for _ in 0..3 {
            b.failure();
        }
        std::thread::sleep(Duration::from_millis(5));
        assert!(b.permit());
        assert_eq!(b.state().0, CircuitState::HalfOpen);
        b.success();
        assert_eq!(b.state().0, CircuitState::Closed);
        b.failure();
        b.failure();
        b.reset();
        b.failure();
        b.failure();
        assert_eq!(b.state().0, CircuitState::Closed);
    }
}
