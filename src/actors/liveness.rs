//! Progress, measured: the status actor, the store and each poller report when they
//! last got somewhere, and [`Liveness::verdict`] says which part is failing (and
//! why) for `/healthz` and `/api/health`. A daemon whose status actor stopped, or that
//! has work waiting and has not committed for longer than a bound derived from the
//! poll intervals, is not healthy, whatever the targets' last states say.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use crate::model::{FastMap, Ts};

/// The shortest allowed silence of the status actor while work waits.
const MIN_COMMIT_BOUND: Duration = Duration::from_secs(15);

/// A part of the daemon that can fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Status,
    Storage,
    Pollers,
}

/// How bad a part's failure is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = PartSeverity)]
pub enum Severity {
    /// Data is still recorded, but some of it is missing or late.
    Degraded,
    /// Nothing new is recorded: what is served is stale.
    Unavailable,
}

/// One failing part and why.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Failing {
    pub part: Part,
    pub severity: Severity,
    pub reason: String,
}

/// 16 bytes, for 10,000 pollers: durations in milliseconds, up to 49 days.
struct PollerBeat {
    at: Ts,
    bound_ms: u32,
    interval_ms: u32,
}

fn ms(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

/// Progress reports of every part.
pub struct Liveness {
    stopped: AtomicBool,
    stop_reason: Mutex<Option<String>>,
    stopped_tx: watch::Sender<bool>,
    last_commit: AtomicU64,
    busy_since: AtomicU64,
    pollers: Mutex<FastMap<Box<str>, PollerBeat>>,
}

impl Default for Liveness {
    fn default() -> Liveness {
        Liveness {
            stopped: AtomicBool::new(false),
            stop_reason: Mutex::new(None),
            stopped_tx: watch::channel(false).0,
            last_commit: AtomicU64::new(Ts::now().0),
            busy_since: AtomicU64::new(0),
            pollers: Mutex::new(FastMap::default()),
        }
    }
}

impl Liveness {
    /// The status actor committed a batch.
    pub fn committed(&self, at: Ts) {
        self.last_commit.store(at.0, Ordering::SeqCst);
    }

    /// The status actor starts (`Some`) or ends (`None`) work on a batch.
    pub fn busy(&self, since: Option<Ts>) {
        self.busy_since
            .store(since.map_or(0, |t| t.0), Ordering::SeqCst);
    }

    /// The status actor cannot go on; the daemon must exit.
    pub fn status_stopped(&self, reason: String) {
        tracing::error!(%reason, "the status actor stopped; nothing more can be recorded");
        *self.stop_reason.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason);
        self.stopped.store(true, Ordering::SeqCst);
        self.stopped_tx.send_replace(true);
    }

    /// Why the status actor stopped, once it has.
    pub fn stop_reason(&self) -> Option<String> {
        self.stop_reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Resolves when the status actor has stopped.
    pub async fn wait_stopped(&self) {
        let mut rx = self.stopped_tx.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    /// A poller polling every `interval` got somewhere (a poll ended, or it
    /// started); it must report again within `bound`.
    pub fn poller_beat(&self, id: &str, interval: Duration, bound: Duration) {
        let mut p = self.pollers.lock().unwrap_or_else(|p| p.into_inner());
        let beat = PollerBeat {
            at: Ts::now(),
            bound_ms: ms(bound),
            interval_ms: ms(interval),
        };
        match p.get_mut(id) {
            Some(b) => *b = beat,
            None => {
                p.insert(id.into(), beat);
            }
        }
    }

    /// A poller stopped on purpose (target removed, polling disabled, shutdown).
    pub fn poller_gone(&self, id: &str) {
        self.pollers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    /// How long the status actor may go without a commit while work waits: twice
    /// the longest poll interval, at least [`MIN_COMMIT_BOUND`].
    pub fn commit_bound(&self) -> Duration {
        let p = self.pollers.lock().unwrap_or_else(|p| p.into_inner());
        let longest = p.values().map(|b| b.interval_ms).max().unwrap_or_default();
        (Duration::from_millis(longest.into()) * 2).max(MIN_COMMIT_BOUND)
    }

    /// Milliseconds since the last successful commit.
    pub fn commit_age_ms(&self, now: Ts) -> u64 {
        now.0
            .saturating_sub(self.last_commit.load(Ordering::SeqCst))
    }

    /// The status actor's part of the verdict. `pending` says whether work waits.
    pub fn status_failing(&self, now: Ts, pending: bool) -> Option<Failing> {
        let fail = |reason: String| Failing {
            part: Part::Status,
            severity: Severity::Unavailable,
            reason,
        };
        if self.stopped.load(Ordering::SeqCst) {
            let why = self.stop_reason().unwrap_or_default();
            return Some(fail(format!("the status actor stopped: {why}")));
        }
        let busy = self.busy_since.load(Ordering::SeqCst);
        let bound = self.commit_bound().as_millis() as u64;
        let age = self.commit_age_ms(now);
        if (pending || busy != 0) && age > bound {
            return Some(fail(format!(
                "no commit for {} s while work waits (bound {} s)",
                age / 1000,
                bound / 1000
            )));
        }
        None
    }

    /// Pollers that have not reported within their bound, by target id.
    pub fn late_pollers(&self, now: Ts) -> Vec<String> {
        let p = self.pollers.lock().unwrap_or_else(|p| p.into_inner());
        let mut late: Vec<String> = p
            .iter()
            .filter(|(_, b)| now.0.saturating_sub(b.at.0) > u64::from(b.bound_ms))
            .map(|(id, _)| id.to_string())
            .collect();
        late.sort();
        late
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_actor_fails_when_stopped_or_silent_with_work_waiting() {
        let l = Liveness::default();
        let now = Ts::now();
        assert_eq!(l.status_failing(now, true), None);
        let later = Ts(now.0 + 16_000);
        assert_eq!(l.status_failing(later, false), None, "idle is not failing");
        let f = l.status_failing(later, true).unwrap();
        assert_eq!((f.part, f.severity), (Part::Status, Severity::Unavailable));
        l.committed(later);
        assert_eq!(l.status_failing(later, true), None);
        l.status_stopped("a panic".into());
        assert!(
            l.status_failing(later, false)
                .unwrap()
                .reason
                .contains("a panic")
        );
    }

    #[test]
    fn pollers_are_late_past_their_bound_and_lengthen_the_commit_bound() {
        let l = Liveness::default();
        let s = Duration::from_secs;
        l.poller_beat("a", s(20), s(20));
        l.poller_beat("b", s(1), s(1));
        assert_eq!(l.commit_bound(), Duration::from_secs(40));
        let later = Ts(Ts::now().0 + 5_000);
        assert_eq!(l.late_pollers(later), vec!["b".to_string()]);
        l.poller_gone("b");
        assert!(l.late_pollers(later).is_empty());
        // 2^32 ms and 1 s: a bound past 49 days is kept as the longest one,
        // not wrapped around to a short one.
        l.poller_beat("c", s(3600), Duration::from_millis((1 << 32) + 1000));
        assert!(l.late_pollers(later).is_empty());
    }
}
