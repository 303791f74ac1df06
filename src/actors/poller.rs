//! The poller actor of one target: a timer (first poll spread by a hash of the id,
//! then the interval with ±10% jitter, or the end of the open period while the
//! circuit is open) that runs [`cycle::run`], and admin messages (poll now, reset the
//! circuit, recover, enable/disable). All decisions live in `cycle` and `breaker`;
//! this file only schedules.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use actix::prelude::*;
use rand::Rng;
use tokio::sync::oneshot;
use tracing::Instrument as _;

use super::cycle::{
    self, CycleEnd, FirstAttempt, PollReport, RoundEnded, RoundPoll, Shared, TargetSpec,
};
use super::status::StatusHandle;
use crate::model::{Observation, ObservationKind, Ts};

/// Sent to the fleet when a poller stops without being asked to.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PollerExited {
    pub id: String,
    pub generation: u64,
    pub reason: String,
}

/// Poll now and answer with the result.
#[derive(Message)]
#[rtype(result = "Result<PollReport, String>")]
pub struct PollNow;

/// Poll now because HAProxy's event ring named this backend; a poke while a poll
/// runs asks for one more poll after it, however many pokes come.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Poke;

/// Stop for good (target removed or shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Stop;

/// Makes the next fetch panic, to exercise supervision (test builds only).
#[cfg(any(test, feature = "fault-injection"))]
#[derive(Message)]
#[rtype(result = "()")]
pub struct InjectPanic;

/// What every poller of a fleet holds the same: one copy, shared.
pub struct PollerEnv {
    pub status: StatusHandle,
    pub client: reqwest::Client,
    /// Told when a poller stops without being asked to.
    pub fleet: Recipient<PollerExited>,
}

/// A poller actor. 10,000 of them run at once, so what each one holds is kept
/// small: what all share is behind one [`PollerEnv`], and the callers of
/// [`PollNow`] (rare) are boxed.
pub struct Poller {
    pub spec: Arc<TargetSpec>,
    pub shared: Arc<Shared>,
    env: Arc<PollerEnv>,
    pub generation: u64,
    timer: Option<SpawnHandle>,
    /// What few pollers ever hold, boxed: callers of [`PollNow`], why the
    /// poller crashed.
    rare: Option<Box<Rare>>,
    in_flight: bool,
    stopping: bool,
    panic_next: bool,
    poked: bool,
}

/// Kept out of [`Poller`], whose size is that of 10,000 tokio tasks: 8 bytes
/// less brings each task from 640 bytes (five 128-byte lines) to 512.
#[derive(Default)]
struct Rare {
    /// Callers of [`PollNow`] waiting for the poll in flight.
    now: Vec<oneshot::Sender<PollReport>>,
    /// Those waiting for the poll after it.
    next: Vec<oneshot::Sender<PollReport>>,
    /// Why the poller stopped, when a poll panicked.
    crash: Option<Box<str>>,
}

impl Poller {
    /// A poller for `spec`, using the breaker and flags in `shared`.
    pub fn new(
        spec: Arc<TargetSpec>,
        shared: Arc<Shared>,
        env: Arc<PollerEnv>,
        generation: u64,
    ) -> Poller {
        Poller {
            spec,
            shared,
            env,
            generation,
            timer: None,
            rare: None,
            in_flight: false,
            stopping: false,
            panic_next: false,
            poked: false,
        }
    }

    fn status(&self) -> &StatusHandle {
        &self.env.status
    }

    fn schedule(&mut self, ctx: &mut Context<Self>, delay: Duration) {
        if let Some(t) = self.timer.take() {
            ctx.cancel_future(t);
        }
        self.timer = Some(ctx.run_later(delay, |act, ctx| {
            act.timer = None;
            if act.start_cycle(ctx) {
                act.shared.scheduled.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    /// Starts a poll unless one runs; whether one was started.
    fn start_cycle(&mut self, ctx: &mut Context<Self>) -> bool {
        self.start(ctx, Way::Short)
    }

    /// Starts a poll, the short way ([`RoundPoll`]) when it can be taken.
    fn start(&mut self, ctx: &mut Context<Self>, way: Way) -> bool {
        if self.in_flight {
            return false;
        }
        if !self.shared.enabled() {
            let circuit_state = self.shared.breaker().state().0;
            let error = Some("polling disabled".to_string());
            self.answer(PollReport {
                result: cycle::PollResult::Skipped,
                error,
                circuit_state,
                next_attempt_at: None,
            });
            return false;
        }
        self.in_flight = true;
        let panic = std::mem::take(&mut self.panic_next);
        if matches!(way, Way::Short) && !panic {
            let poll = RoundPoll {
                at: tokio::time::Instant::now(),
                spec: self.spec.clone(),
                shared: self.shared.clone(),
                status: self.env.status.clone(),
                poller: ctx.address().recipient(),
            };
            if poll.join(&self.env.client).is_ok() {
                return true;
            }
        }
        // Log lines of the cycle carry the target id (a field of JSON logs).
        let span = tracing::info_span!("poll", target_id = %self.spec.meta.id);
        let fut = cycle::run(
            self.spec.clone(),
            self.shared.clone(),
            self.env.status.clone(),
            self.env.client.clone(),
            panic,
            match way {
                Way::Short => None,
                Way::Resume(first) => Some(first),
            },
        )
        .instrument(span);
        ctx.spawn(
            fut.into_actor(self)
                .map(|end, act, ctx| act.finish(end, ctx)),
        );
        true
    }

    fn poke(&mut self, ctx: &mut Context<Self>) {
        if self.in_flight {
            self.poked = true;
        } else if self.start_cycle(ctx) {
            self.shared.pushed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Tells the liveness registry this poller got somewhere.
    fn beat(&self) {
        let policy = &self.spec.policy;
        let live = self.status().liveness();
        live.poller_beat(&self.spec.meta.id, policy.interval, beat_bound(policy));
    }

    fn finish(&mut self, end: CycleEnd, ctx: &mut Context<Self>) {
        self.in_flight = false;
        self.beat();
        let report = match end {
            CycleEnd::Done(r) => r,
            CycleEnd::Panicked(why) => {
                tracing::error!(target_id = %self.spec.meta.id, reason = %why, "poller crashed; restarting");
                self.rare.get_or_insert_default().crash = Some(why.into());
                ctx.stop();
                return;
            }
        };
        if report.circuit_state == crate::model::CircuitState::Open
            && report.result == cycle::PollResult::Failed
        {
            self.maybe_auto_recover(ctx);
        }
        self.answer(report);
        if let Some(w) = self.rare.as_mut()
            && !w.next.is_empty()
        {
            w.now = std::mem::take(&mut w.next);
            self.start_cycle(ctx);
            return;
        }
        self.rare = None;
        if std::mem::take(&mut self.poked) && self.start_cycle(ctx) {
            self.shared.pushed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let delay = self.next_delay();
        self.schedule(ctx, delay);
    }

    fn answer(&mut self, report: PollReport) {
        let Some(w) = self.rare.as_mut() else {
            return;
        };
        for tx in w.now.drain(..) {
            let _ = tx.send(report.clone());
        }
    }

    fn next_delay(&self) -> Duration {
        if let Some(wait) = self.shared.breaker().wait_left(Ts::now()) {
            return wait + Duration::from_millis(5);
        }
        if self.spec.coalesced() {
            return self.slot_delay();
        }
        self.spec
            .policy
            .interval
            .mul_f64(rand::thread_rng().gen_range(0.9..=1.1))
    }

    /// The first poll is spread over one interval by a hash of the target id, or, for
    /// sources whose backends share fetches, of the source name.
    fn first_delay(&self) -> Duration {
        if self.spec.coalesced() {
            return self.slot_delay();
        }
        let interval = self.spec.policy.interval.as_millis().max(1) as u64;
        Duration::from_millis(hash(&self.spec.meta.id) % interval)
    }

    /// Time to the next poll slot shared by every backend of the same source, so
    /// their polls fall due together and share one fetch.
    fn slot_delay(&self) -> Duration {
        let interval = self.spec.policy.interval.as_millis().max(1) as u64;
        let offset = hash(&self.spec.meta.group) % interval;
        let phase = (Ts::now().0 + interval - offset) % interval;
        Duration::from_millis(interval - phase)
    }

    fn maybe_auto_recover(&self, ctx: &mut Context<Self>) {
        if self.spec.recover.is_none() || !self.spec.policy.auto_recover {
            return;
        }
        let (status, id, spec) = (
            self.env.status.clone(),
            self.spec.meta.id.clone(),
            self.spec.clone(),
        );
        ctx.spawn(
            async move {
                let outcome = super::validate::recovery(
                    &spec,
                    crate::model::RecoveryTrigger::CircuitOpened,
                    &status,
                )
                .await;
                let obs = Observation {
                    target: id,
                    at: Ts::now(),
                    kind: ObservationKind::Recovery {
                        outcome: Box::new(outcome),
                    },
                };
                let _ = status.observe(vec![obs]).await;
            }
            .into_actor(self),
        );
    }
}

/// Which way a poll is made.
enum Way {
    /// Answered by its stats round when the source shares one and the circuit is
    /// closed; the full cycle otherwise.
    Short,
    /// The full cycle ([`cycle::run`]) on from a first attempt that failed.
    Resume(Box<FirstAttempt>),
}

impl Handler<RoundEnded> for Poller {
    type Result = ();
    fn handle(&mut self, msg: RoundEnded, ctx: &mut Context<Self>) {
        match msg {
            RoundEnded::Done(report) => self.finish(CycleEnd::Done(report), ctx),
            RoundEnded::Failed(first) => {
                self.in_flight = false;
                self.start(ctx, Way::Resume(first));
            }
        }
    }
}

/// How long a poller may go without ending a poll before it counts as late: two
/// of its longest waits (interval or open circuit) plus a whole poll with retries.
fn beat_bound(policy: &crate::config::Policy) -> Duration {
    let wait = policy.interval.max(policy.circuit.open_max);
    let poll = policy.timeout * 2 + policy.retry.max_elapsed;
    (wait + poll) * 2 + Duration::from_secs(5)
}

fn hash(text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

impl Actor for Poller {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let delay = if self.generation == 0 {
            self.first_delay()
        } else {
            self.next_delay()
        };
        if self.shared.enabled() {
            self.beat();
        }
        self.schedule(ctx, delay);
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        if !self.stopping {
            let reason = self
                .rare
                .as_mut()
                .and_then(|r| r.crash.take())
                .map_or_else(|| "stopped unexpectedly".into(), String::from);
            let msg = PollerExited {
                id: self.spec.meta.id.clone(),
                generation: self.generation,
                reason,
            };
            self.env.fleet.do_send(msg);
        }
    }
}

impl Handler<PollNow> for Poller {
    type Result = ResponseFuture<Result<PollReport, String>>;

    fn handle(&mut self, _: PollNow, ctx: &mut Context<Self>) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        let waiting = self.rare.get_or_insert_default();
        if self.in_flight {
            waiting.next.push(tx);
        } else {
            waiting.now.push(tx);
            self.start_cycle(ctx);
        }
        Box::pin(async move {
            rx.await
                .map_err(|_| "the poller stopped before the poll ended".to_string())
        })
    }
}

impl Handler<Poke> for Poller {
    type Result = ();
    fn handle(&mut self, _: Poke, ctx: &mut Context<Self>) {
        self.poke(ctx);
    }
}

impl Handler<Stop> for Poller {
    type Result = ();
    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        self.stopping = true;
        self.status().liveness().poller_gone(&self.spec.meta.id);
        ctx.stop();
    }
}

#[cfg(any(test, feature = "fault-injection"))]
impl Handler<InjectPanic> for Poller {
    type Result = ();
    fn handle(&mut self, _: InjectPanic, _: &mut Context<Self>) {
        self.panic_next = true;
    }
}

/// Enables or disables polling; the change is committed before the answer.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetPolling(pub bool);

impl Handler<SetPolling> for Poller {
    type Result = ResponseActFuture<Self, ()>;
    fn handle(&mut self, msg: SetPolling, _: &mut Context<Self>) -> Self::Result {
        self.shared.enabled.store(msg.0, Ordering::SeqCst);
        match msg.0 {
            true => self.beat(),
            false => self.status().liveness().poller_gone(&self.spec.meta.id),
        }
        let obs = Observation {
            target: self.spec.meta.id.clone(),
            at: Ts::now(),
            kind: ObservationKind::Polling { enabled: msg.0 },
        };
        let status = self.env.status.clone();
        Box::pin(
            async move {
                let _ = status.observe(vec![obs]).await;
            }
            .into_actor(self)
            .map(move |_, act, ctx| {
                if msg.0 {
                    act.schedule(ctx, Duration::ZERO);
                }
            }),
        )
    }
}

/// Closes the breaker and clears its counters; committed before the answer.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ResetCircuit;

impl Handler<ResetCircuit> for Poller {
    type Result = ResponseFuture<()>;
    fn handle(&mut self, _: ResetCircuit, _: &mut Context<Self>) -> Self::Result {
        self.shared.breaker().reset();
        let obs = Observation {
            target: self.spec.meta.id.clone(),
            at: Ts::now(),
            kind: ObservationKind::CircuitReset,
        };
        let status = self.env.status.clone();
        Box::pin(async move {
            let _ = status.observe(vec![obs]).await;
        })
    }
}

#[cfg(test)]
mod size {
    use actix::dev::ContextFut;

    /// 10,000 pollers are 10,000 tokio tasks, each a cell of 128-byte lines: a
    /// header (32 bytes), the scheduler and the task's id (16), the future with
    /// the tag of its stage (8) and a trailer (48). With up to 408 bytes of
    /// future the cell is four lines (512 bytes); one byte more makes it five.
    #[test]
    fn a_pollers_task_fits_in_four_cache_lines() {
        let future = size_of::<ContextFut<super::Poller, actix::Context<super::Poller>>>();
        assert!(future <= 408, "the poller's future is {future} bytes");
    }
}
