//! The status actor: the one owner of target state. It takes observations from the
//! pollers and the fleet, applies [`crate::diff::diff`], commits the new states and
//! their events to redb in one transaction per batch (group commit), and only then
//! publishes: a new immutable snapshot for HTTP readers and the events for live
//! subscribers.
//!
//! It runs on a thread of its own because a commit waits for fsync; nothing else
//! waits behind it but the senders of the batch being committed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot};

use super::alert_store;
use super::batch::{Working, apply, split};
use super::drift_table::{Board, Engine, Round};
use super::hub::Hub;
use super::liveness::Liveness;
use super::poll_times;
use super::status_alerts::{self, AlertCommand, AlertsView};
use super::store::{Change, Committed, Fault, Store, StoreError};
use crate::config::LiveConfig;
use crate::model::{Event, EventDraft, Observation, ObservationKind, TargetState, Ts};

mod commit;
mod routine;

pub use commit::Commit;

/// Most messages taken into one transaction.
const MAX_BATCH: usize = 1024;
/// Most messages that change something taken into one transaction: a storm
/// (thousands of servers flipping in one round) is committed and sent in parts,
/// so its first events reach clients after a part's commit, not the whole
/// storm's.
const MAX_CHANGES: usize = 256;
/// Capacity of the inbox; senders wait when it is full.
const INBOX: usize = 16 * 1024;
/// How often the alerts are evaluated when no observation arrives, so a hold
/// time that runs out fires without waiting for the next poll.
const ALERT_TICK: std::time::Duration = std::time::Duration::from_secs(1);

/// First and longest wait between attempts to re-open the storage file after a
/// fault (a full disk, an I/O error).
const REOPEN_FIRST: std::time::Duration = std::time::Duration::from_millis(100);
const REOPEN_MAX: std::time::Duration = std::time::Duration::from_secs(5);
/// How long storage stays reported as failing after a failed commit, however
/// many commits succeed meanwhile: on a full disk a small commit (poll times)
/// can succeed between two that fail, and health must not flap to `ok`.
const STORAGE_HOLD: std::time::Duration = std::time::Duration::from_secs(5);

/// The committed state at one point in the event sequence.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Every event up to this one is reflected in `targets`.
    pub seq: u64,
    /// Shared with the snapshot before it when a batch changed no target (a drift
    /// pass, an alert command): 10,020 entries are not copied for nothing.
    pub targets: Arc<BTreeMap<Arc<str>, Arc<TargetState>>>,
    /// The committed alerts and silences.
    pub alerts: Arc<AlertsView>,
    /// Whether the last commit succeeded.
    pub storage_ok: bool,
    pub storage_error: Option<String>,
    /// The kind of the last commit's failure; while there is one, `targets` are
    /// the last committed states and are stale.
    pub storage_fault: Option<Fault>,
}

/// Running totals of the status actor's work, for `/metrics` and load tests.
#[derive(Debug, Default)]
pub struct Counters {
    /// Durable write transactions (each one fsync).
    pub commits: AtomicU64,
    /// Observations applied.
    pub observations: AtomicU64,
    /// Polls that returned data or failed (fetch observations).
    pub polls: AtomicU64,
    /// Events committed.
    pub events: AtomicU64,
    /// Time spent committing, in microseconds.
    pub commit_micros: AtomicU64,
}

/// A batch could not be committed; nothing of it was applied.
#[derive(Clone, Debug, thiserror::Error)]
pub enum CommitFailed {
    #[error("the status actor has stopped")]
    Stopped,
    #[error(transparent)]
    Storage(StoreError),
}

pub(super) struct Msg {
    pub(super) observations: Vec<Observation>,
    /// Events that belong to no target's state (a notification given up).
    drafts: Vec<EventDraft>,
    /// Boxed: most messages are a poll's, and 10,000 of them can wait at once.
    command: Option<Box<AlertCommand>>,
    done: Option<Done>,
}

/// Who is told when a message is committed.
pub(super) enum Done {
    /// A caller waiting for the answer.
    Answer(oneshot::Sender<Result<(), CommitFailed>>),
    /// A poll answered by its stats round, with no task waiting: called on the
    /// status actor's thread, so it must only hand the result on.
    Then(Box<dyn FnOnce(Result<(), CommitFailed>) + Send>),
}

impl Done {
    /// Tells the waiter how the commit went.
    pub(super) fn send(self, result: Result<(), CommitFailed>) {
        match self {
            Done::Answer(tx) => {
                let _ = tx.send(result);
            }
            Done::Then(f) => f(result),
        }
    }
}

impl Msg {
    /// Observations only, with who is told of their commit.
    pub(super) fn observing(observations: Vec<Observation>, done: Done) -> Msg {
        Msg {
            observations,
            drafts: Vec::new(),
            command: None,
            done: Some(done),
        }
    }

    /// Observations only: no command, no events of their own.
    pub(super) fn is_plain(&self) -> bool {
        self.drafts.is_empty() && self.command.is_none()
    }

    /// Whether it carries a poll's result or a removal (what drift is judged on).
    fn polled(&self) -> bool {
        self.observations
            .iter()
            .any(|o| o.kind.is_poll() || matches!(o.kind, ObservationKind::Removed { .. }))
    }
}

/// A cheap, cloneable handle to the status actor.
#[derive(Clone)]
pub struct StatusHandle {
    inbox: mpsc::Sender<Msg>,
    hub: Arc<Hub>,
    store: Arc<Store>,
    counters: Arc<Counters>,
    drift: Arc<Board>,
    liveness: Arc<Liveness>,
}

impl StatusHandle {
    /// Loads the stored state and starts the actor's thread.
    /// The `[alerts]` settings are read from `config` at every batch, so a reload
    /// applies them.
    pub fn start(store: Store, config: Arc<LiveConfig>) -> Result<StatusHandle, StoreError> {
        let store = Arc::new(store);
        let alerts = alert_store::load(&store)?;
        let db = store.database()?;
        let drift = Engine::load(&db, Some(config.clone()))?;
        drop(db);
        let board = drift.board();
        let targets = store
            .load_targets()?
            .into_iter()
            .map(|t| (Arc::from(t.id.as_str()), Arc::new(t)))
            .collect();
        let first = Snapshot {
            seq: store.last_seq(),
            targets: Arc::new(targets),
            alerts: Arc::new(alerts),
            storage_ok: true,
            storage_error: None,
            storage_fault: None,
        };
        let hub = Arc::new(Hub::new(first));
        let (inbox, rx) = mpsc::channel(INBOX);
        let counters = Arc::new(Counters::default());
        let liveness = Arc::new(Liveness::default());
        let actor = Actor {
            rx,
            store: store.clone(),
            hub: hub.clone(),
            counters: counters.clone(),
            config,
            drift,
            liveness: liveness.clone(),
            reopen: Reopen::default(),
            failed_at: None,
        };
        spawn("watchpost-status", move || actor.run())?;
        let ticks = inbox.downgrade();
        spawn("watchpost-alert-tick", move || tick(ticks))?;
        Ok(StatusHandle {
            inbox,
            hub,
            store,
            counters,
            drift: board,
            liveness,
        })
    }

    /// The committed drift items.
    pub fn drift(&self) -> Arc<crate::drift::Items> {
        self.drift.items()
    }

    /// Progress reports of the status actor, the store and the pollers.
    pub fn liveness(&self) -> &Liveness {
        &self.liveness
    }

    /// Whether messages wait in the status actor's inbox.
    pub fn pending(&self) -> bool {
        self.inbox.capacity() < self.inbox.max_capacity()
    }

    /// The store, shared (for reads off the HTTP workers).
    pub fn store_arc(&self) -> Arc<Store> {
        self.store.clone()
    }

    /// Applies observations and waits until they are committed and published.
    pub fn observe(&self, observations: Vec<Observation>) -> Commit {
        Commit::queue(&self.inbox, observations)
    }

    /// Queues observations whose commit is told to `then` (on the status actor's
    /// thread) rather than waited for: a stats round answering its polls. A full
    /// inbox is waited for on a task of its own.
    pub fn observe_then(
        &self,
        observations: Vec<Observation>,
        then: Box<dyn FnOnce(Result<(), CommitFailed>) + Send>,
    ) {
        Commit::queue_then(&self.inbox, observations, then)
    }

    /// Whether a successful read of `backend` for target `id` would only refresh
    /// its poll times (nothing to tell anyone): such reads may wait behind those
    /// that change something.
    pub fn routine_read(&self, id: &str, backend: &crate::model::BackendSample) -> bool {
        super::batch::routine_read(&self.snapshot(), id, backend)
    }

    /// Applies an alert command (a silence created or ended) and waits until it is
    /// committed and published.
    pub async fn alert_command(&self, command: AlertCommand) -> Result<(), CommitFailed> {
        self.submit(Vec::new(), Vec::new(), Some(Box::new(command)))
            .await
    }

    /// Commits events that change no target's state (a notification given up), and
    /// waits until they are committed and published.
    pub async fn record(&self, drafts: Vec<EventDraft>) -> Result<(), CommitFailed> {
        self.submit(Vec::new(), drafts, None).await
    }

    async fn submit(
        &self,
        observations: Vec<Observation>,
        drafts: Vec<EventDraft>,
        command: Option<Box<AlertCommand>>,
    ) -> Result<(), CommitFailed> {
        let (done, wait) = oneshot::channel();
        let msg = Msg {
            observations,
            drafts,
            command,
            done: Some(Done::Answer(done)),
        };
        if self.inbox.send(msg).await.is_err() {
            return Err(CommitFailed::Stopped);
        }
        wait.await.unwrap_or(Err(CommitFailed::Stopped))
    }

    /// The current committed state.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.hub.snapshot()
    }

    /// The hub that fans committed events out to live subscribers.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Running totals of commits, observations, polls and events.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The store, for reading the event log.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

struct Actor {
    rx: mpsc::Receiver<Msg>,
    store: Arc<Store>,
    hub: Arc<Hub>,
    counters: Arc<Counters>,
    config: Arc<LiveConfig>,
    drift: Engine,
    liveness: Arc<Liveness>,
    reopen: Reopen,
    /// When the last commit failed.
    failed_at: Option<std::time::Instant>,
}

/// What a step of the actor's loop commits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pass {
    /// Observations that change something (and everything else that is not a
    /// routine poll), in arrival order.
    Changes,
    /// Routine polls only, as [`split`] found them against the committed state
    /// (which the `Changes` step before them left alone for their targets).
    Routine,
    /// The drift evaluation, on committed state.
    Drift,
}

/// When the storage file may next be re-opened, and the wait after that.
struct Reopen {
    at: std::time::Instant,
    wait: std::time::Duration,
}

impl Default for Reopen {
    fn default() -> Reopen {
        Reopen {
            at: std::time::Instant::now(),
            wait: REOPEN_FIRST,
        }
    }
}

/// Starts a named thread.
fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<(), StoreError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map(drop)
        .map_err(|e| {
            StoreError::write(Fault::Other, format!("cannot start the thread {name}: {e}"))
        })
}

/// Sends the actor a tick every [`ALERT_TICK`] until it stops; skips a tick when
/// the inbox is full (the batch in progress evaluates anyway).
fn tick(inbox: mpsc::WeakSender<Msg>) {
    loop {
        std::thread::sleep(ALERT_TICK);
        let Some(inbox) = inbox.upgrade() else { return };
        let msg = Msg {
            observations: Vec::new(),
            drafts: Vec::new(),
            command: Some(Box::new(AlertCommand::Tick)),
            done: None,
        };
        if let Err(mpsc::error::TrySendError::Closed(_)) = inbox.try_send(msg) {
            return;
        }
    }
}

impl Actor {
    /// Takes every message waiting, commits those that change something first,
    /// then the routine ones (poll times only) in batches of at most
    /// [`MAX_BATCH`], looking for new changes between batches: a round of
    /// 10,000 backends never holds back the one that changed.
    fn run(mut self) {
        let mut routine: Vec<Msg> = Vec::new();
        // Messages that changed state (and freed the states they replaced) since
        // the last trim of the allocator's heaps. Routine polls free nothing: a
        // trim after their rounds would hand pages back only for the next round
        // to fault them in again.
        let mut applied = 0;
        // Whether polls were applied since the last drift evaluation.
        let mut polled = false;
        loop {
            let carried = routine.len();
            let mut msgs = std::mem::take(&mut routine);
            if msgs.is_empty() {
                match self.rx.blocking_recv() {
                    Some(first) => msgs.push(first),
                    None => break,
                }
            }
            while msgs.len() < INBOX {
                match self.rx.try_recv() {
                    Ok(m) => msgs.push(m),
                    Err(_) => break,
                }
            }
            polled |= msgs[carried..].iter().any(Msg::polled);
            let (mut urgent, mut later) = split(&self.current(), msgs, carried);
            applied += urgent.len();
            // In arrival order, at most MAX_CHANGES at a time: neither a storm nor
            // the first round after a start (every target's first reading) is one
            // huge transaction.
            while !urgent.is_empty() {
                let rest = urgent.split_off(urgent.len().min(MAX_CHANGES));
                if !self.step(std::mem::replace(&mut urgent, rest), Pass::Changes) {
                    return;
                }
            }
            let rest = later.split_off(later.len().min(MAX_BATCH));
            if !later.is_empty() && !self.step(later, Pass::Routine) {
                return;
            }
            routine = rest;
            // Drift is judged on committed state, in a step of its own once the
            // inbox is empty: the join never delays an observation's commit.
            if polled && routine.is_empty() && self.rx.is_empty() && self.drift.due(Ts::now()) {
                if !self.step(Vec::new(), Pass::Drift) {
                    return;
                }
                polled = false;
            }
            if routine.is_empty() && self.rx.is_empty() && applied >= crate::memory::LARGE_ROUND {
                crate::memory::trim_after_round();
                applied = 0;
            }
        }
        tracing::debug!("status actor stopped");
    }

    /// Applies and commits one batch of the given pass. False when it
    /// panicked: the actor stops and says so.
    fn step(&mut self, batch: Vec<Msg>, pass: Pass) -> bool {
        self.liveness.busy(Some(Ts::now()));
        let run = std::panic::AssertUnwindSafe(|| self.process(batch, pass));
        if let Err(p) = std::panic::catch_unwind(run) {
            let why = super::store::panic_text(&*p);
            self.liveness
                .status_stopped(format!("panic while applying a batch: {why}"));
            return false;
        }
        self.liveness.busy(None);
        true
    }

    /// Re-opens the storage file after a fault, at most once per back-off wait.
    /// `Err` while it is still closed.
    fn ensure_open(&mut self) -> Result<(), StoreError> {
        if !self.store.is_closed() {
            return Ok(());
        }
        let now = std::time::Instant::now();
        if now < self.reopen.at {
            let ms = self.reopen.at.saturating_duration_since(now).as_millis();
            let why = format!(
                "the storage file is closed after an error; next re-open attempt in {ms} ms"
            );
            return Err(StoreError::write(Fault::Closed, why));
        }
        match self.store.reopen() {
            Ok(()) => {
                tracing::info!("storage file re-opened");
                self.reopen = Reopen::default();
                Ok(())
            }
            Err(e) => {
                self.reopen.at = now + self.reopen.wait;
                self.reopen.wait = (self.reopen.wait * 2).min(REOPEN_MAX);
                Err(e)
            }
        }
    }

    fn process(&mut self, batch: Vec<Msg>, pass: Pass) {
        let current = self.current();
        if pass == Pass::Routine
            && let Some(polls) = routine::polls(&current, &batch)
        {
            return self.process_routine(current, polls, batch);
        }
        let drift = pass == Pass::Drift;
        let now = Ts::now();
        let lease = |n: &mut TargetState, o: &Observation| self.drift.after_poll(n, o);
        let (working, mut drafts, touched) = apply(&current, &batch, &lease);
        drafts.extend(batch.iter().flat_map(|m| m.drafts.iter().cloned()));
        let round = self
            .drift
            .propose_after(drift, &current.targets, &working, now);
        drafts.extend(round.as_ref().map(Round::drafts).unwrap_or_default());
        let changes: Vec<Change> = working
            .iter()
            .filter_map(|(id, next)| change(id, current.targets.get(id), next.as_ref()))
            .collect();
        let commands: Vec<AlertCommand> = batch
            .iter()
            .filter_map(|m| m.command.as_deref().cloned())
            .collect();
        let state = |id: &str| match working.get(id) {
            Some(next) => next.as_deref(),
            None => current.targets.get(id).map(|t| &**t),
        };
        let reported = self.drift.reported(round.as_ref());
        let alerts = status_alerts::step(
            &self.config.get().alerts,
            &current.alerts,
            &state,
            &reported,
            touched,
            &commands,
            now,
        );
        drafts.extend(alerts.drafts);
        if changes.is_empty()
            && drafts.is_empty()
            && alerts.writes.is_empty()
            && batch.iter().all(|m| m.done.is_none())
            && round.is_none()
            && current.storage_ok
        {
            return; // a tick that changed nothing
        }
        let started = std::time::Instant::now();
        let writes = alerts.writes;
        let opened = self.ensure_open();
        let drift = &self.drift;
        let extra = |tx: &redb::WriteTransaction| {
            alert_store::write(tx, &writes)?;
            round.as_ref().map_or(Ok(()), |r| drift.write(tx, r))
        };
        let result = opened.and_then(|()| self.store.commit_with(&changes, drafts, now, &extra));
        if result.is_ok() {
            self.liveness.committed(Ts::now());
        }
        if let (Ok(_), Some(r)) = (&result, round) {
            self.drift.accept(r, now);
        }
        self.count(&batch, &result, started.elapsed());
        self.publish(&current, working, Arc::new(alerts.view), result, batch);
    }

    fn count(
        &self,
        batch: &[Msg],
        result: &Result<Committed, StoreError>,
        took: std::time::Duration,
    ) {
        let c = &self.counters;
        let observations = batch.iter().flat_map(|m| &m.observations);
        let polls = observations.clone().filter(|o| o.kind.is_poll()).count() as u64;
        c.commits.fetch_add(1, Ordering::Relaxed);
        c.commit_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        c.observations
            .fetch_add(observations.count() as u64, Ordering::Relaxed);
        c.polls.fetch_add(polls, Ordering::Relaxed);
        if let Ok(done) = result {
            c.events
                .fetch_add(done.events.len() as u64, Ordering::Relaxed);
        }
    }

    fn current(&self) -> Arc<Snapshot> {
        self.hub.snapshot()
    }

    fn publish(
        &mut self,
        current: &Snapshot,
        working: Working,
        alerts: Arc<AlertsView>,
        result: Result<Committed, StoreError>,
        batch: Vec<Msg>,
    ) {
        let reply = match result {
            Ok(done) => {
                let targets = match working.is_empty() {
                    true => current.targets.clone(),
                    false => {
                        let mut targets = (*current.targets).clone();
                        for (id, next) in working {
                            match next {
                                Some(s) => targets.insert(id, s),
                                None => targets.remove(&id),
                            };
                        }
                        Arc::new(targets)
                    }
                };
                let seq = done.events.last().map(|e| e.seq).unwrap_or(current.seq);
                let held = self.failed_at.is_some_and(|t| t.elapsed() < STORAGE_HOLD);
                let snap = Snapshot {
                    seq,
                    targets,
                    alerts,
                    storage_ok: !held,
                    storage_error: current.storage_error.clone().filter(|_| held),
                    storage_fault: current.storage_fault.filter(|_| held),
                };
                if !current.storage_ok && !held {
                    tracing::info!("storage recovered: commits succeed again");
                }
                self.hub.publish_committed(snap, &done);
                done.events.iter().for_each(log_event);
                Ok(())
            }
            Err(e) => {
                self.failed_at = Some(std::time::Instant::now());
                match current.storage_ok {
                    true => {
                        tracing::error!(error = %e, "commit failed; the batch is not applied; retrying with back-off")
                    }
                    false => tracing::debug!(error = %e, "commit failed again"),
                }
                let targets = current.targets.clone();
                let error = Some(e.to_string());
                let snap = Snapshot {
                    seq: current.seq,
                    targets,
                    alerts: current.alerts.clone(),
                    storage_ok: false,
                    storage_error: error,
                    storage_fault: e.fault(),
                };
                self.hub.publish(snap, &[]);
                Err(CommitFailed::Storage(e))
            }
        };
        // The polls of a stats round are told on their pollers' thread, one
        // message for the batch (`told`).
        super::told::gathering(|| {
            for m in batch {
                if let Some(done) = m.done {
                    done.send(reply.clone());
                }
            }
        });
    }
}

/// Logs a committed event: target-level ones at info, server and instance ones at
/// debug (they can come by the thousand).
fn log_event(e: &Event) {
    use crate::model::EventType::*;
    let kind = e.kind();
    let quiet = matches!(
        kind,
        ServerStateChanged | InstanceStateChanged | InstanceAdded | InstanceRemoved
    );
    // A storm commits thousands of events: their payloads are written out only
    // when the line is logged.
    let logged = match quiet {
        true => tracing::enabled!(tracing::Level::DEBUG),
        false => tracing::enabled!(tracing::Level::INFO),
    };
    if !logged {
        return;
    }
    // The payload alone: `kind` already names the type.
    let data = serde_json::to_value(&e.data)
        .map(|v| v["data"].to_string())
        .unwrap_or_default();
    match quiet {
        true => tracing::debug!(seq = e.seq, target_id = %e.target, kind = ?kind, %data, "event"),
        false => tracing::info!(seq = e.seq, target_id = %e.target, kind = ?kind, %data, "event"),
    }
}

/// What must be written for a target that went from `before` to `after`.
fn change(
    id: &str,
    before: Option<&Arc<TargetState>>,
    after: Option<&Arc<TargetState>>,
) -> Option<Change> {
    match (before, after) {
        (None, None) => None,
        (Some(_), None) => Some(Change::Removed(id.to_string())),
        (None, Some(b)) => Some(Change::Full(b.clone())),
        (Some(a), Some(b)) if poll_times::differ_beyond_poll_times(a, b) => {
            Some(Change::Full(b.clone()))
        }
        (Some(a), Some(b)) if poll_times::differ(a, b) => Some(Change::PollTimes(b.clone())),
        _ => None,
    }
}
