//! One notifier's task: reads committed alert transitions from the event log after
//! its durable cursor, groups them, sends what is due through retry ∘ breaker, and
//! advances the cursor only after the receiver accepted. It wakes on every commit
//! (a small hub subscription) and on its own timers; a slow or dead receiver holds up
//! nobody but this task.

use std::sync::Arc;
use std::time::Duration;

use super::alert::transition;
use super::batch::{Batcher, Message, Settings};
use super::durable;
use super::send::{SendError, Sender};
use super::status::NotifierStatus;
use crate::actors::status::StatusHandle;
use crate::actors::store::LogItem;
use crate::breaker::Breaker;
use crate::config::{NotifierKind, NotifyConfig};
use crate::model::{EventData, EventDraft, NotificationFailure, Ts};
use crate::retry::{self, RetryPolicy};

/// Events read from the log per page.
const PAGE: usize = 1000;
/// Wake-ups queued for this task; when it falls behind it simply reads the log.
const WAKE_QUEUE: usize = 64;
/// Longest sleep without a reason, so clocks and breakers are looked at again.
const IDLE: Duration = Duration::from_secs(30);
/// With nothing pending, the cursor is stored again once it moved this many
/// events, so a restart does not re-read a long stretch of other events.
const IDLE_SAVE: u64 = 1000;

/// A running notifier.
pub struct Task {
    config: NotifyConfig,
    sender: Sender,
    batcher: Batcher,
    status: StatusHandle,
    me: Arc<NotifierStatus>,
    breaker: Breaker,
    /// No new attempt before this time (after a failed one).
    hold_until: Option<Ts>,
    failures: u32,
    /// The cursor as last stored.
    saved: u64,
}

/// The grouping settings of a notifier.
pub fn settings(config: &NotifyConfig) -> Settings {
    let (group_by, wait, interval, repeat) = match &config.kind {
        NotifierKind::Alertmanager { resend, .. } => {
            (None, Duration::ZERO, Duration::ZERO, *resend)
        }
        _ => (
            Some(config.group_by.clone()),
            config.group_wait,
            config.group_interval,
            config.repeat_interval,
        ),
    };
    Settings {
        notifier: config.name.clone(),
        group_by,
        group_wait: wait,
        group_interval: interval,
        repeat_interval: repeat,
        send_resolved: config.send_resolved
            || matches!(config.kind, NotifierKind::Alertmanager { .. }),
        matchers: config.matchers.clone(),
    }
}

impl Task {
    /// Loads the notifier's cursor and the alerts before it, ready to run.
    pub fn new(
        config: NotifyConfig,
        sender: Sender,
        status: StatusHandle,
        me: Arc<NotifierStatus>,
    ) -> Result<Task, String> {
        let db = status.store().database().map_err(|e| e.to_string())?;
        let (stored, delivered) = durable::load(&db, &config.name).map_err(|e| e.to_string())?;
        // A new notifier starts at the end of the log: it sends what happens from
        // now on, plus (as history) which alerts are firing. Its cursor is stored
        // at once, so a restart (or a reload that adds it back) resumes from there.
        let cursor = match stored {
            Some(c) => c,
            None => {
                let end = status.store().last_seq();
                durable::save(&db, &config.name, end, None).map_err(|e| e.to_string())?;
                end
            }
        };
        let mut batcher = Batcher::new(settings(&config), 0, delivered);
        replay(&status, &mut batcher, 0, Some(cursor))?;
        batcher.advance(cursor);
        let breaker = Breaker::new(&config.circuit);
        me.set_pending(batcher.pending());
        Ok(Task {
            config,
            sender,
            batcher,
            status,
            me,
            breaker,
            hold_until: None,
            failures: 0,
            saved: cursor,
        })
    }

    /// Runs until the hub closes (shutdown) or `stop` fires (a reload removed or
    /// changed the notifier). Stopping mid-send is safe: the cursor moves only
    /// after an accepted delivery, so the message is sent again, with the same
    /// delivery id, by the next task that reads it.
    pub async fn run(self, stop: tokio::sync::oneshot::Receiver<()>) {
        let name = self.config.name.clone();
        tokio::select! {
            _ = stop => tracing::debug!(notifier = %name, "notifier stopped by a reload"),
            _ = self.work() => {}
        }
    }

    async fn work(mut self) {
        // Only woken by the feed: the snapshot is not kept.
        let mut sub = match self.status.hub().subscribe(WAKE_QUEUE) {
            Some(s) => s.feed,
            None => return,
        };
        loop {
            if let Err(e) = self.read() {
                tracing::warn!(notifier = %self.config.name, error = %e, "cannot read the event log");
            }
            self.deliver().await;
            let wait = self.wait();
            tokio::select! {
                got = sub.rx.recv() => {
                    if got.is_none() {
                        match self.status.hub().subscribe(WAKE_QUEUE) {
                            Some(s) => sub = s.feed,
                            None => break,
                        }
                    }
                    while sub.rx.try_recv().is_ok() {}
                }
                _ = tokio::time::sleep(wait) => {}
            }
        }
        tracing::debug!(notifier = %self.config.name, "notifier stopped");
    }

    fn read(&mut self) -> Result<(), String> {
        let from = self.batcher.read_seq();
        replay(&self.status, &mut self.batcher, from, None)?;
        self.me.set_pending(self.batcher.pending());
        let cursor = self.batcher.cursor();
        if cursor >= self.saved + IDLE_SAVE {
            let db = self.status.store().database().map_err(|e| e.to_string())?;
            durable::save(&db, &self.config.name, cursor, None).map_err(|e| e.to_string())?;
            self.saved = cursor;
        }
        Ok(())
    }

    /// How long to sleep: until the next message is due or the hold ends.
    fn wait(&self) -> Duration {
        let now = Ts::now();
        let at = self.hold_until.or(self.batcher.next_due());
        at.map_or(IDLE, |t| Duration::from_millis(t.since(now)).min(IDLE))
    }

    async fn deliver(&mut self) {
        let now = Ts::now();
        if self.hold_until.is_some_and(|h| h > now) {
            return;
        }
        self.hold_until = None;
        let messages = self.batcher.due(now);
        if messages.is_empty() {
            return;
        }
        let batches: Vec<Vec<Message>> = match self.config.kind {
            NotifierKind::Alertmanager { .. } => vec![messages],
            _ => messages.into_iter().map(|m| vec![m]).collect(),
        };
        for batch in batches {
            if !self.attempt(&batch).await {
                break;
            }
        }
        self.me.set_pending(self.batcher.pending());
    }

    /// Sends one batch through breaker and retries; false when it failed.
    async fn attempt(&mut self, batch: &[Message]) -> bool {
        if !self.breaker.permit() {
            self.mirror_breaker();
            let wait = self
                .breaker
                .wait_left(Ts::now())
                .unwrap_or(Duration::from_secs(1));
            self.hold_until = Some(Ts::now().plus(wait));
            return false;
        }
        let result = self.send_with_retries(batch).await;
        let now = Ts::now();
        match result {
            Ok(answer) => {
                self.breaker.success();
                self.failures = 0;
                tracing::debug!(notifier = %self.config.name, %answer, messages = batch.len(), "delivered");
                for m in batch {
                    self.me.delivered(now);
                    self.finish(m, now);
                }
                self.mirror_breaker();
                true
            }
            Err(e) => {
                self.breaker.failure();
                self.failures += 1;
                self.me.failed(now, &e.message);
                tracing::warn!(notifier = %self.config.name, error = %e, "delivery failed");
                self.give_up_old(batch, now, &e).await;
                self.hold_until = Some(now.plus(self.backoff()));
                self.mirror_breaker();
                false
            }
        }
    }

    async fn send_with_retries(&self, batch: &[Message]) -> Result<String, SendError> {
        let policy = RetryPolicy {
            retry: self.config.retry.clone(),
            timeout: self.config.timeout,
            interval: (self.config.retry.max_elapsed + self.config.timeout * 2).mul_f64(1.0 / 0.9),
        };
        retry::run(&policy, || async {
            let r = self.sender.send(batch, Ts::now()).await;
            if r.is_err() {
                self.me.attempt_failed();
            }
            r
        })
        .await
    }

    /// Delay before the next try after a failed one: doubling from `retry.initial`
    /// up to `circuit.open_max`.
    fn backoff(&self) -> Duration {
        let exp = self.failures.saturating_sub(1).min(16);
        let d = self.config.retry.initial.max(Duration::from_millis(50)) * 2u32.pow(exp);
        d.min(self.config.circuit.open_max.max(self.config.retry.initial))
    }

    fn mirror_breaker(&self) {
        let (state, next) = self.breaker.state();
        self.me.circuit(state, next);
    }

    /// Marks a message done and moves the durable cursor.
    fn finish(&mut self, m: &Message, now: Ts) {
        let delivered = self.batcher.done(m, now);
        let cursor = self.batcher.cursor();
        self.saved = cursor;
        let saved = self.status.store().database().and_then(|db| {
            durable::save(
                &db,
                &self.config.name,
                cursor,
                Some((&m.group_key, delivered)),
            )
        });
        if let Err(e) = saved {
            tracing::error!(notifier = %self.config.name, error = %e, "cannot store the delivery cursor");
        }
    }

    /// Gives up messages older than `max_age`, each with a `notification_failed`.
    async fn give_up_old(&mut self, batch: &[Message], now: Ts, error: &SendError) {
        let old: Vec<&Message> = batch
            .iter()
            .filter(|m| now.since(m.created) >= self.config.max_age.as_millis() as u64)
            .collect();
        for m in old {
            let failure = NotificationFailure {
                alerts: m.alerts.iter().map(|a| a.id.clone()).collect(),
                delivery_id: m.delivery_id.clone(),
                error: error.message.clone(),
                first_attempt_at: m.created,
                group: m.group.clone(),
                kind: self.config.kind.as_str().to_string(),
                notifier: self.config.name.clone(),
            };
            let draft = EventDraft {
                target: format!("notify/{}", self.config.name),
                data: EventData::NotificationFailed(failure),
            };
            if let Err(e) = self.status.record(vec![draft]).await {
                tracing::error!(notifier = %self.config.name, error = %e, "cannot record a given-up notification; keeping it");
                continue;
            }
            self.me.gave_up();
            self.finish(m, now);
        }
    }
}

/// Folds the alert transitions with `seq > from` into `batcher`; those up to
/// `history_until` as already delivered.
fn replay(
    status: &StatusHandle,
    batcher: &mut Batcher,
    mut from: u64,
    history_until: Option<u64>,
) -> Result<(), String> {
    let store = status.store();
    let until = history_until.unwrap_or(u64::MAX);
    loop {
        let page = store.events(from, PAGE, None).map_err(|e| e.to_string())?;
        let Some(last) = page.last().map(LogItem::last_seq) else {
            return Ok(());
        };
        // A gap (unreadable stored events) is passed over: what cannot be read
        // cannot be sent; the gap itself is counted and reported by the store.
        for item in page.iter().take_while(|i| i.last_seq() <= until) {
            if let LogItem::Event(e) = item
                && let Some(t) = transition(e)
            {
                batcher.fold(&t, history_until.is_some());
            }
            batcher.advance(item.last_seq());
        }
        if last >= until || page.len() < PAGE {
            return Ok(());
        }
        from = last;
    }
}
