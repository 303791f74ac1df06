//! One poll cycle of one target, outside any actor: ask the breaker, fetch with
//! retries (a panic in it is caught and ends the cycle), record the outcome in the
//! breaker, and commit the observations through the status actor.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix::{Message, Recipient};
use futures_util::FutureExt as _;

pub use super::outcome::{PollReport, PollResult};
use super::status::StatusHandle;
use crate::breaker::Breaker;
use crate::config::{Policy, RecoverAction};
use crate::model::{
    CircuitState, CommandRun, Observation, ObservationKind, Payload, RecoveryOutcome,
    RecoveryTrigger, TargetMeta, TargetState, Ts,
};
use crate::retry::{self, RetryPolicy};
use crate::sources::client::{SourceSpec, stats_payload};
use crate::sources::haproxy::stats::{RoundOutcome, RoundWaiter};

/// What a poller polls and how.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetSpec {
    pub meta: TargetMeta,
    pub source: SourceSpec,
    /// Shared by the targets of one source, like its commands.
    pub policy: Arc<Policy>,
    pub recover: Option<Arc<RecoverAction>>,
    /// Checks the configuration before every recovery (HAProxy sections).
    pub validate: Option<Arc<RecoverAction>>,
}

impl TargetSpec {
    /// Whether this target shares fetches with the other backends of its source.
    pub fn coalesced(&self) -> bool {
        matches!(self.source, SourceSpec::HaproxyStats { .. })
    }

    /// The retry policy of this target.
    pub fn retry(&self) -> RetryPolicy {
        RetryPolicy {
            retry: self.policy.retry.clone(),
            timeout: self.policy.timeout,
            interval: self.policy.interval,
        }
    }
}

/// Poller state that outlives a restart of the poller actor.
pub struct Shared {
    pub breaker: Mutex<Breaker>,
    pub enabled: AtomicBool,
    /// Polls started by the poller's own timer.
    pub scheduled: AtomicU64,
    /// Polls started because HAProxy's event ring named the backend.
    pub pushed: AtomicU64,
}

impl Shared {
    /// A closed breaker, polling enabled or not.
    pub fn new(spec: &TargetSpec, enabled: bool) -> Shared {
        Shared {
            breaker: Mutex::new(Breaker::new(&spec.policy.circuit)),
            enabled: AtomicBool::new(enabled),
            scheduled: AtomicU64::new(0),
            pushed: AtomicU64::new(0),
        }
    }

    /// A breaker and polling flag carried over from the committed state of the
    /// target (after a restart or a reload), with the observation that records the
    /// breaker's new open period if it is open.
    pub fn restored(
        spec: &TargetSpec,
        stored: Option<&TargetState>,
    ) -> (Shared, Option<Observation>) {
        let Some(t) = stored else {
            return (Shared::new(spec, true), None);
        };
        let shared = Shared::new(spec, t.enable_polling);
        let open = t.circuit.state != CircuitState::Closed;
        shared.breaker().restore(open, t.consecutive_failures);
        let obs = open.then(|| circuit(&spec.meta.id, shared.breaker().state()));
        (shared, obs)
    }

    /// The breaker (a poisoned lock is recovered: the breaker has no invariant a
    /// panic elsewhere could break).
    pub fn breaker(&self) -> MutexGuard<'_, Breaker> {
        self.breaker.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::SeqCst)
    }
}

/// The end of a cycle, for the poller's scheduling.
pub enum CycleEnd {
    Done(PollReport),
    /// The fetch task panicked; the poller must be restarted.
    Panicked(String),
}

/// Runs one cycle. `panic` makes the fetch panic (used to test supervision).
///
/// 10,000 backends sharing a stats round have 10,000 of these waiting at once, so
/// what waits is kept small: the fetch is on the heap only while it runs, a
/// commit is waited for through its answer alone ([`super::status::Commit`]), the
/// fetch runs inside the cycle (a panic is caught here rather than by a task of
/// its own), and the observations are sent in a vector of their exact length.
pub async fn run(
    spec: Arc<TargetSpec>,
    shared: Arc<Shared>,
    status: StatusHandle,
    client: reqwest::Client,
    panic: bool,
    first: Option<Box<FirstAttempt>>,
) -> CycleEnd {
    let id = &spec.meta.id;
    let before = shared.breaker().state();
    if !shared.breaker().permit() {
        return CycleEnd::Done(report(
            PollResult::Skipped,
            Some("circuit open".into()),
            before,
        ));
    }
    let probing = shared.breaker().state();
    if probing.0 != before.0 {
        // Committed before the probe is sent, so `half_open` shows while it runs.
        if let Err(e) = status.observe(vec![circuit(id, probing)]).await {
            tracing::warn!(target_id = %id, error = %e, "circuit state not recorded");
        }
    }
    let fetching = AssertUnwindSafe(fetch(&spec, &client, panic, first)).catch_unwind();
    let fetched = match Box::pin(fetching).await {
        Ok(r) => r,
        Err(payload) => return CycleEnd::Panicked(panic_text(payload)),
    };
    let (kind, result, error) = match fetched {
        Ok(payload) => {
            shared.breaker().success();
            (ObservationKind::Fetched(payload), PollResult::Success, None)
        }
        Err(e) => {
            shared.breaker().failure();
            (
                ObservationKind::FetchFailed {
                    error: e.message.clone(),
                    kind: e.kind,
                },
                PollResult::Failed,
                Some(e.message),
            )
        }
    };
    let after = shared.breaker().state();
    let polled = Observation {
        target: id.clone(),
        at: Ts::now(),
        kind,
    };
    let obs = if after.0 != probing.0 {
        vec![polled, circuit(id, after)]
    } else {
        vec![polled]
    };
    if let Err(e) = status.observe(obs).await {
        tracing::warn!(target_id = %id, error = %e, "poll result not recorded");
    }
    CycleEnd::Done(report(result, error, after))
}

/// How a poll answered by its stats round ended, for its poller.
#[derive(Message)]
#[rtype(result = "()")]
pub enum RoundEnded {
    /// Read and committed (or not: the report says what the poll saw).
    Done(PollReport),
    /// The round has no usable read of the backend (the fetch failed, the backend
    /// is missing or too large): the poll goes on the full way from this first
    /// attempt, with its retries if the error is transient
    /// ([`retry::resume`]), and its failure is counted against the breaker.
    Failed(Box<FirstAttempt>),
}

/// The first attempt of a poll, made by its stats round, which failed.
pub struct FirstAttempt {
    pub at: tokio::time::Instant,
    pub error: crate::sources::FetchError,
}

/// The short way of [`run`] for a backend of a shared stats round whose circuit
/// is closed: the poll waits as this waiter in the round rather than as a
/// suspended cycle, and its commit is told to the poller rather than waited for.
/// A failed round sends the poll the full way ([`RoundEnded::Failed`]), so the
/// first attempt of such a poll is the round's and the full way's come after it.
pub struct RoundPoll {
    /// When the poll joined its round (its first attempt began).
    pub at: tokio::time::Instant,
    pub spec: Arc<TargetSpec>,
    pub shared: Arc<Shared>,
    pub status: StatusHandle,
    pub poller: Recipient<RoundEnded>,
}

impl RoundPoll {
    /// Joins the gathering round of the backend's instance; gives the poll back
    /// (nothing done) unless the target is a backend of a shared stats reader
    /// with its circuit closed.
    pub fn join(self, client: &reqwest::Client) -> Result<(), RoundPoll> {
        let SourceSpec::HaproxyStats { source, backend } = &self.spec.source else {
            return Err(self);
        };
        let closed = self.shared.breaker().state().0 == CircuitState::Closed;
        if !closed || !self.shared.breaker().permit() {
            return Err(self);
        }
        let (source, backend) = (source.clone(), backend.clone());
        let policy = &self.spec.policy;
        let (timeout, max_servers) = (policy.timeout, policy.limits.max_servers);
        source.wait_in_round(client, &backend, timeout, max_servers, Box::new(self));
        Ok(())
    }

    /// The backend's read in `round` as this poll's payload, or why there is none.
    fn read(&self, round: RoundOutcome<'_>) -> Result<Payload, crate::sources::FetchError> {
        let SourceSpec::HaproxyStats { backend, .. } = &self.spec.source else {
            return Err(crate::sources::FetchError::new(
                crate::sources::FetchErrorKind::Invalid,
                "not a backend of a stats round",
            ));
        };
        let limits = self.spec.policy.limits;
        round
            .backend(backend)
            .and_then(|s| stats_payload(round.source(), s, limits))
    }
}

impl RoundWaiter for RoundPoll {
    fn urgent(&self, round: RoundOutcome<'_>) -> bool {
        match self.read(round) {
            Ok(Payload::Servers(read)) => !self.status.routine_read(&self.spec.meta.id, &read),
            // Read as committed, compared while the answer was read.
            Ok(Payload::Same(_)) => false,
            _ => true,
        }
    }

    fn basis(&self) -> Option<(Arc<str>, Arc<TargetState>)> {
        let SourceSpec::HaproxyStats { backend, .. } = &self.spec.source else {
            return None;
        };
        let snapshot = self.status.snapshot();
        let state = snapshot.targets.get(self.spec.meta.id.as_str())?;
        Some((backend.clone(), state.clone()))
    }

    fn answer(self: Box<Self>, round: RoundOutcome<'_>) {
        let read = self.read(round);
        let RoundPoll {
            at,
            spec,
            shared,
            status,
            poller,
        } = *self;
        let payload = match read {
            Ok(p) => p,
            Err(error) => {
                let first = Box::new(FirstAttempt { at, error });
                return poller.do_send(RoundEnded::Failed(first));
            }
        };
        let before = shared.breaker().state();
        shared.breaker().success();
        let after = shared.breaker().state();
        let polled = Observation {
            target: spec.meta.id.clone(),
            at: Ts::now(),
            kind: ObservationKind::Fetched(payload),
        };
        let obs = match after.0 != before.0 {
            true => vec![polled, circuit(&spec.meta.id, after)],
            false => vec![polled],
        };
        let report = report(PollResult::Success, None, after);
        // Told from the status actor's thread with the rest of its batch, in one
        // message to this (the pollers') thread.
        let home = super::told::Home::here();
        let then = move |committed: Result<(), super::status::CommitFailed>| {
            if let Err(e) = committed {
                tracing::warn!(target_id = %spec.meta.id, error = %e, "poll result not recorded");
            }
            super::told::tell(home, poller, RoundEnded::Done(report));
        };
        status.observe_then(obs, Box::new(then));
    }
}

fn report(
    result: PollResult,
    error: Option<String>,
    state: (CircuitState, Option<Ts>),
) -> PollReport {
    PollReport {
        result,
        error,
        circuit_state: state.0,
        next_attempt_at: state.1,
    }
}

/// An observation of a breaker state.
pub fn circuit(target: &str, (state, next_attempt_at): (CircuitState, Option<Ts>)) -> Observation {
    Observation {
        target: target.to_string(),
        at: Ts::now(),
        kind: ObservationKind::Circuit {
            state,
            next_attempt_at,
        },
    }
}

async fn fetch(
    spec: &TargetSpec,
    client: &reqwest::Client,
    panic: bool,
    first: Option<Box<FirstAttempt>>,
) -> Result<crate::model::Payload, crate::sources::FetchError> {
    #[cfg(any(test, feature = "fault-injection"))]
    if panic {
        panic!("injected panic in the poller of {}", spec.meta.id);
    }
    #[cfg(not(any(test, feature = "fault-injection")))]
    let _ = panic;
    let (timeout, limits) = (spec.policy.timeout, spec.policy.limits);
    let first = first.map(|f| (f.at, f.error));
    retry::resume(&spec.retry(), first, || {
        spec.source.fetch_within(client, timeout, limits)
    })
    .await
}

/// The text of a panic's payload.
fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panic".into())
}

/// Runs a recovery command with its timeout.
pub async fn run_recovery(
    action: Option<&RecoverAction>,
    trigger: RecoveryTrigger,
) -> RecoveryOutcome {
    let Some(action) = action else {
        return RecoveryOutcome {
            action: None,
            detail: "no recover command configured; circuit reset only".into(),
            refused: false,
            run: None,
            trigger,
            validation: None,
        };
    };
    let started = std::time::Instant::now();
    let (ok, detail, exit_code) = run_command(&action.command, action.timeout).await;
    let run = CommandRun {
        duration_ms: started.elapsed().as_millis() as u64,
        exit_code,
        ok,
    };
    RecoveryOutcome {
        action: Some(action.command.clone()),
        detail,
        refused: false,
        run: Some(run),
        trigger,
        validation: None,
    }
}

/// Runs a command without a shell: (success, the tail of its output, exit code).
pub async fn run_command(argv: &[String], timeout: Duration) -> (bool, String, Option<i32>) {
    let Some((program, args)) = argv.split_first() else {
        return (false, "empty command".into(), None);
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null());
    match tokio::time::timeout(timeout, cmd.output()).await {
        Err(_) => (
            false,
            format!("timed out after {}", humantime::format_duration(timeout)),
            None,
        ),
        Ok(Err(e)) => (false, format!("cannot run {program}: {e}"), None),
        Ok(Ok(out)) => {
            let text = String::from_utf8_lossy(if out.status.success() {
                &out.stdout
            } else {
                &out.stderr
            });
            let tail: String = text
                .chars()
                .rev()
                .take(500)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            (
                out.status.success(),
                tail.trim().to_string(),
                out.status.code(),
            )
        }
    }
}
