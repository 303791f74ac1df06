//! The status actor's short way for a batch of routine polls: backends whose
//! servers read exactly as committed, but for their poll times. Such a batch
//! writes each backend's poll-time record and whatever the alert step gives,
//! commits, and then refreshes the committed states' poll times in place
//! ([`crate::model::Live`]). No state is copied and no snapshot is published
//! unless an alert changed: a round of 10,000 unchanged backends costs its
//! records and one fsync per batch.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::super::alert_store;
use super::super::batch::{Working, routine};
use super::super::poll_times;
use super::super::status_alerts::{self, Touched};
use super::super::store::Change;
use super::{Actor, Msg, Snapshot};
use crate::model::{BackendSample, ObservationKind, Payload, SameRead, TargetState, Ts};

/// One routine poll: the committed state it refreshes and what it read.
pub(super) struct Poll {
    key: Arc<str>,
    state: Arc<TargetState>,
    at: Ts,
    read: Read,
}

/// What a routine poll read: its servers, or their `lastchg` alone.
enum Read {
    Sample(Arc<BackendSample>),
    Same(Arc<SameRead>),
}

impl Read {
    /// Each server's `lastchg`, in order.
    fn last_changes(&self) -> Box<dyn Iterator<Item = Option<u64>> + '_> {
        match self {
            Read::Sample(s) => Box::new(s.servers.iter().map(|s| s.last_change_s)),
            Read::Same(s) => Box::new(s.last_change_s.iter().copied()),
        }
    }
}

/// The polls of `batch`, a batch that [`split`](super::super::batch::split)
/// found routine, in arrival order; `None` (and the long way) if one is not a
/// routine poll of a committed target after all.
pub(super) fn polls(current: &Snapshot, batch: &[Msg]) -> Option<Vec<Poll>> {
    let mut out = Vec::with_capacity(batch.len());
    for m in batch {
        if !m.is_plain() {
            return None;
        }
        for obs in &m.observations {
            let read = match &obs.kind {
                ObservationKind::Fetched(Payload::Servers(sample)) => Read::Sample(sample.clone()),
                ObservationKind::Fetched(Payload::Same(same)) => Read::Same(same.clone()),
                _ => return None,
            };
            let (key, state) = current.targets.get_key_value(obs.target.as_str())?;
            // Checked again here, not only when split: a poll carried from an
            // earlier batch whose target changed since takes the long way.
            if !routine(current, obs) {
                return None;
            }
            out.push(Poll {
                key: key.clone(),
                state: state.clone(),
                at: obs.at,
                read,
            });
        }
    }
    Some(out)
}

impl Actor {
    /// Commits a batch of routine polls (see the module's text).
    pub(super) fn process_routine(
        &mut self,
        current: Arc<Snapshot>,
        polls: Vec<Poll>,
        batch: Vec<Msg>,
    ) {
        let now = Ts::now();
        // A target polled twice in the batch keeps its latest poll.
        let mut latest: BTreeMap<&Arc<str>, &Poll> = BTreeMap::new();
        let mut touched: BTreeMap<Arc<str>, Touched> = BTreeMap::new();
        for p in &polls {
            latest.insert(&p.key, p);
            let seen = touched.entry(p.key.clone()).or_default();
            seen.at = seen.at.max(p.at);
        }
        let changes: Vec<Change> = latest
            .values()
            .map(|p| {
                let bytes = poll_times::encode_routine(&p.state, p.at, p.read.last_changes());
                Change::Times(p.key.clone(), bytes)
            })
            .collect();
        let state = |id: &str| current.targets.get(id).map(|t| &**t);
        let reported = self.drift.reported(None);
        let cfg = self.config.get();
        let alerts = status_alerts::step(
            &cfg.alerts,
            &current.alerts,
            &state,
            &reported,
            touched,
            &[],
            now,
        );
        let quiet = alerts.drafts.is_empty() && alerts.writes.is_empty();
        let started = std::time::Instant::now();
        let writes = alerts.writes;
        let extra = |tx: &redb::WriteTransaction| alert_store::write(tx, &writes);
        let result = self
            .ensure_open()
            .and_then(|()| self.store.commit_with(&changes, alerts.drafts, now, &extra));
        if result.is_ok() {
            for p in latest.values() {
                poll_times::refresh(&p.state, p.at, p.read.last_changes());
            }
            self.liveness.committed(Ts::now());
        }
        self.count(&batch, &result, started.elapsed());
        if result.is_ok() && quiet && current.storage_ok {
            // Nothing a reader of the snapshot sees changed but the poll times,
            // which are in place already.
            for m in batch {
                if let Some(done) = m.done {
                    done.send(Ok(()));
                }
            }
            return;
        }
        self.publish(
            &current,
            Working::new(),
            Arc::new(alerts.view),
            result,
            batch,
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::StatusHandle;
    use crate::actors::store::Store;
    use crate::model::{
        BackendSample, Observation, ObservationKind, Payload, ServerSample, TargetKind, TargetMeta,
        Ts,
    };

    fn live() -> Arc<crate::config::LiveConfig> {
        let config =
            crate::config::Config::new_in_memory("127.0.0.1:0".parse().unwrap(), "unused.redb");
        Arc::new(crate::config::LiveConfig::new(Arc::new(config)))
    }

    fn fetched(at: u64, status: &str, lastchg: u64) -> Vec<Observation> {
        let server = ServerSample {
            name: "s1".into(),
            status: status.into(),
            last_change_s: Some(lastchg),
            ..ServerSample::default()
        };
        let sample = BackendSample {
            status: Some("UP".into()),
            servers: vec![server],
        };
        vec![Observation {
            target: "haproxy/lb/be".into(),
            at: Ts(at),
            kind: ObservationKind::Fetched(Payload::Servers(Arc::new(sample))),
        }]
    }

    /// The registration of the backend the tests poll, at 1,000 ms.
    fn registered() -> Observation {
        let meta = TargetMeta {
            id: "haproxy/lb/be".into(),
            kind: TargetKind::HaproxyBackend,
            group: "lb".into(),
            source: crate::model::SourceKind::Socket,
            backend_name: Some("be".into()),
            failure_threshold: 3,
        };
        Observation {
            target: meta.id.clone(),
            at: Ts(1_000),
            kind: ObservationKind::Registered(Box::new(meta)),
        }
    }

    #[tokio::test]
    async fn a_routine_poll_refreshes_poll_times_in_place_and_durably() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.redb");
        {
            let status = StatusHandle::start(Store::open(&path, 100).unwrap(), live()).unwrap();
            status.observe(vec![registered()]).await.unwrap();
            status.observe(fetched(2_000, "UP", 7)).await.unwrap();
            let before = status.snapshot();
            status.observe(fetched(3_000, "UP", 8)).await.unwrap();
            let after = status.snapshot();
            let t = &after.targets["haproxy/lb/be"];
            let same = Arc::ptr_eq(&before.targets["haproxy/lb/be"], t);
            assert!(same, "a routine poll copies no state");
            assert_eq!(after.seq, before.seq, "and has no event");
            assert_eq!(t.last_fetch_at.get(), Some(Ts(3_000)));
            assert_eq!(t.last_success_at.get(), Some(Ts(3_000)));
            assert_eq!(t.servers[0].last_change_s.get(), Some(8));
            // A change after it still goes the long way, with its event.
            status.observe(fetched(4_000, "DOWN", 0)).await.unwrap();
            let changed = status.snapshot();
            assert!(changed.seq > after.seq, "the change has its events");
            assert_eq!(&*changed.targets["haproxy/lb/be"].servers[0].status, "DOWN");
            assert_eq!(
                &*t.servers[0].status, "UP",
                "the old state is left as it was"
            );
            status.observe(fetched(5_000, "DOWN", 1)).await.unwrap();
        }
        let mut stored = None;
        for _ in 0..1_000_000 {
            if let Ok(store) = Store::open(&path, 100) {
                stored = Some(store.load_targets().unwrap());
                break;
            }
            tokio::task::yield_now().await;
        }
        let stored = stored.expect("the store can be opened again");
        let t = &stored[0];
        assert_eq!(t.last_success_at.get(), Some(Ts(5_000)));
        assert_eq!(t.servers[0].last_change_s.get(), Some(1));
        assert_eq!(&*t.servers[0].status, "DOWN");
    }

    fn same(at: u64, basis: &Arc<crate::model::TargetState>, lastchg: u64) -> Vec<Observation> {
        let read = crate::model::SameRead {
            basis: basis.clone(),
            last_change_s: vec![Some(lastchg)].into_boxed_slice(),
        };
        vec![Observation {
            target: "haproxy/lb/be".into(),
            at: Ts(at),
            kind: ObservationKind::Fetched(Payload::Same(Arc::new(read))),
        }]
    }

    /// A status actor (its file in `dir`) with the backend registered and read
    /// once, its server UP.
    async fn polled_once(dir: &tempfile::TempDir) -> StatusHandle {
        let store = Store::open(&dir.path().join("w.redb"), 100).unwrap();
        let status = StatusHandle::start(store, live()).unwrap();
        status.observe(vec![registered()]).await.unwrap();
        status.observe(fetched(2_000, "UP", 7)).await.unwrap();
        status
    }

    /// A read that matched the committed state refreshes it in place; one that
    /// matched a state replaced since is applied in full, so the server's
    /// status it read comes back with its event.
    #[tokio::test]
    async fn a_read_the_same_as_its_basis_is_routine_and_a_stale_basis_is_read_in_full() {
        let dir = tempfile::tempdir().unwrap();
        let status = polled_once(&dir).await;
        let up = status.snapshot();
        let basis = up.targets["haproxy/lb/be"].clone();
        status.observe(same(3_000, &basis, 9)).await.unwrap();
        let after = status.snapshot();
        assert!(
            Arc::ptr_eq(&after.targets["haproxy/lb/be"], &basis),
            "no copy"
        );
        assert_eq!(after.seq, up.seq, "no event");
        assert_eq!(basis.last_success_at.get(), Some(Ts(3_000)));
        assert_eq!(basis.servers[0].last_change_s.get(), Some(9));

        status.observe(fetched(4_000, "DOWN", 0)).await.unwrap();
        let down = status.snapshot();
        status.observe(same(5_000, &basis, 1)).await.unwrap();
        let back = status.snapshot();
        let t = &back.targets["haproxy/lb/be"];
        assert_eq!(
            &*t.servers[0].status, "UP",
            "the read, not the basis's cells"
        );
        assert_eq!(t.servers[0].last_change_s.get(), Some(1));
        assert_eq!(t.last_success_at.get(), Some(Ts(5_000)));
        assert!(back.seq > down.seq, "UP again is an event");
    }

    fn msg(observations: Vec<Observation>) -> super::super::Msg {
        super::super::Msg {
            observations,
            drafts: Vec::new(),
            command: None,
            done: None,
        }
    }

    /// Polls carried from an earlier split are not compared again when split,
    /// but a change of their target brings them along in order, and a carried
    /// poll whose target changed anyway takes the long way.
    #[tokio::test]
    async fn carried_polls_keep_their_order_and_are_checked_before_the_short_way() {
        let dir = tempfile::tempdir().unwrap();
        let status = polled_once(&dir).await;
        let current = status.snapshot();
        let split = crate::actors::batch::split;

        // A carried routine poll and a new one: both wait.
        let (urgent, later) = split(
            &current,
            vec![msg(fetched(3_000, "UP", 8)), msg(fetched(3_100, "UP", 8))],
            1,
        );
        assert_eq!((urgent.len(), later.len()), (0, 2));

        // A carried routine poll, then a change of the same target: both go now,
        // the carried one first.
        let (urgent, later) = split(
            &current,
            vec![msg(fetched(3_000, "UP", 8)), msg(fetched(3_200, "DOWN", 0))],
            1,
        );
        assert!(later.is_empty());
        let at: Vec<u64> = urgent.iter().map(|m| m.observations[0].at.0).collect();
        assert_eq!(at, vec![3_000, 3_200]);

        // Counted as known, a poll that is not routine is still sent the long way
        // by the check before the short one.
        let (urgent, later) = split(&current, vec![msg(fetched(3_300, "DOWN", 0))], 1);
        assert_eq!((urgent.len(), later.len()), (0, 1));
        assert!(super::polls(&current, &later).is_none());
        let routine = vec![msg(fetched(3_400, "UP", 9))];
        assert_eq!(super::polls(&current, &routine).map(|p| p.len()), Some(1));
    }

    /// Changes queued at once (a storm) are committed in parts of at most
    /// `MAX_CHANGES` (256) messages, every one of them told of its commit.
    #[tokio::test]
    async fn a_storm_of_changes_is_committed_in_parts() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("w.redb"), 10_000).unwrap();
        let status = StatusHandle::start(store, live()).unwrap();
        let before = status.counters().commits.load(Ordering::SeqCst);
        // The first message holds the actor (its answer runs on the actor's
        // thread) until the storm is queued behind it.
        let (open, gate) = std::sync::mpsc::channel::<()>();
        let hold = move |_| {
            let _ = gate.recv_timeout(std::time::Duration::from_secs(30));
        };
        status.observe_then(vec![registered()], Box::new(hold));
        let told = Arc::new(AtomicUsize::new(0));
        let n = 3 * 256;
        for i in 0..n {
            let mut obs = registered();
            obs.target = format!("haproxy/lb/be{i}");
            let told = told.clone();
            let then = move |r: Result<(), super::super::CommitFailed>| {
                assert!(r.is_ok());
                told.fetch_add(1, Ordering::SeqCst);
            };
            status.observe_then(vec![obs], Box::new(then));
        }
        let last = status.observe(Vec::new());
        open.send(()).unwrap();
        last.await.unwrap();
        assert_eq!(told.load(Ordering::SeqCst), n, "every message was told");
        assert_eq!(status.snapshot().targets.len(), n + 1);
        let storm = status.counters().commits.load(Ordering::SeqCst) - before - 1;
        assert!(storm >= 3, "{n} changes in {storm} transactions");
    }

    /// A commit that changes no target (here, events of their own) publishes a
    /// snapshot that shares the previous one's map of targets.
    #[tokio::test]
    async fn a_batch_without_target_changes_shares_the_snapshot_map() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("w.redb"), 100).unwrap();
        let status = StatusHandle::start(store, live()).unwrap();
        status.observe(vec![registered()]).await.unwrap();
        let before = status.snapshot();
        let draft = crate::model::EventDraft {
            target: "haproxy/lb/be".into(),
            data: crate::model::EventData::PollingEnabled(crate::model::NoData {}),
        };
        status.record(vec![draft]).await.unwrap();
        let after = status.snapshot();
        assert!(after.seq > before.seq, "the events were committed");
        assert!(Arc::ptr_eq(&before.targets, &after.targets));
        // A change of a target gives a map of its own.
        status.observe(fetched(2_000, "UP", 7)).await.unwrap();
        assert!(!Arc::ptr_eq(&after.targets, &status.snapshot().targets));
    }
}
