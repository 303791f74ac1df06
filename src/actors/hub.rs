//! The hub: holds the committed snapshot and fans committed events out to live
//! subscribers, one bounded queue each.
//!
//! Publishing (by the status actor, after a commit) and subscribing happen under one
//! lock, so a subscriber's snapshot at sequence `N` is followed on its queue by
//! exactly the events with `seq > N`: no gap and no duplicate at the seam. A queue
//! that fills is cut off (the subscriber learns it overflowed and can resume with
//! `since`); nobody else waits for it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;

use super::status::Snapshot;
use super::store::Committed;
use crate::model::Event;

/// One committed event, serialised once for every subscriber.
#[derive(Debug)]
pub struct Frame {
    pub seq: u64,
    /// Shared: a client's send takes a reference, not a copy.
    pub json: bytestring::ByteString,
}

/// What a subscriber can learn about why its queue ended.
#[derive(Debug, Default)]
pub struct SubscriberState {
    overflowed: AtomicBool,
    /// Bytes of the frames queued and not yet taken.
    queued: AtomicUsize,
}

/// Most bytes of events queued for one subscriber: a client that falls behind on
/// large events is cut off on size, not only on count.
pub const QUEUE_BYTES: usize = 4 * 1024 * 1024;

impl SubscriberState {
    /// The subscriber took a frame of `bytes` off its queue.
    pub fn taken(&self, bytes: usize) {
        let _ = self
            .queued
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |q| {
                Some(q.saturating_sub(bytes))
            });
    }

    /// The queue was cut off because the subscriber fell behind.
    pub fn overflowed(&self) -> bool {
        self.overflowed.load(Ordering::SeqCst)
    }
}

/// A live subscription: the snapshot it starts from and the events after it.
///
/// The two parts are apart so that a subscriber can let go of the snapshot once
/// it has used it: a feed held for days must not keep the states of the day it
/// began (every target's state, as a second copy beside the current one).
pub struct Subscription {
    pub snapshot: Arc<Snapshot>,
    pub feed: Feed,
}

/// The events after a subscription's snapshot.
pub struct Feed {
    pub rx: mpsc::Receiver<Arc<Frame>>,
    pub state: Arc<SubscriberState>,
}

struct Subscriber {
    tx: mpsc::Sender<Arc<Frame>>,
    state: Arc<SubscriberState>,
}

struct Inner {
    snapshot: Arc<Snapshot>,
    subscribers: Vec<Subscriber>,
    closed: bool,
}

/// The hub.
pub struct Hub {
    inner: Mutex<Inner>,
}

impl Hub {
    /// A hub starting from `snapshot`.
    pub fn new(snapshot: Snapshot) -> Hub {
        let inner = Inner {
            snapshot: Arc::new(snapshot),
            subscribers: Vec::new(),
            closed: false,
        };
        Hub {
            inner: Mutex::new(inner),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current committed snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.lock().snapshot.clone()
    }

    /// Installs a new snapshot and queues its events to every subscriber. A
    /// subscriber whose queue is full is cut off; one that went away is dropped.
    pub fn publish(&self, snapshot: Snapshot, events: &[Event]) {
        let frames: Vec<Arc<Frame>> = events
            .iter()
            .filter_map(|e| {
                serde_json::to_string(e).ok().map(|json| {
                    Arc::new(Frame {
                        seq: e.seq,
                        json: json.into(),
                    })
                })
            })
            .collect();
        self.publish_frames(snapshot, frames);
    }

    /// [`Hub::publish`] of committed events with the JSON they were stored as
    /// (the same text: a storm's thousands of events are written out once).
    pub fn publish_committed(&self, snapshot: Snapshot, committed: &Committed) {
        let frames = committed
            .events
            .iter()
            .zip(&committed.json)
            .map(|(e, json)| {
                Arc::new(Frame {
                    seq: e.seq,
                    json: json.clone(),
                })
            })
            .collect();
        self.publish_frames(snapshot, frames);
    }

    fn publish_frames(&self, snapshot: Snapshot, frames: Vec<Arc<Frame>>) {
        let mut inner = self.lock();
        inner.snapshot = Arc::new(snapshot);
        inner.subscribers.retain(|s| deliver(s, &frames));
    }

    /// Starts a subscription with a queue of `capacity` events, or `None` once the
    /// hub is closed.
    pub fn subscribe(&self, capacity: usize) -> Option<Subscription> {
        let mut inner = self.lock();
        if inner.closed {
            return None;
        }
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let state = Arc::new(SubscriberState::default());
        inner.subscribers.push(Subscriber {
            tx,
            state: state.clone(),
        });
        Some(Subscription {
            snapshot: inner.snapshot.clone(),
            feed: Feed { rx, state },
        })
    }

    /// Ends every subscription (shutdown) and refuses new ones.
    pub fn close(&self) {
        let mut inner = self.lock();
        inner.closed = true;
        inner.subscribers.clear();
    }

    /// Whether the hub was closed.
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// How many subscribers are attached.
    pub fn subscribers(&self) -> usize {
        self.lock().subscribers.len()
    }
}

/// Queues frames to one subscriber; false if it must be dropped.
fn deliver(sub: &Subscriber, frames: &[Arc<Frame>]) -> bool {
    for f in frames {
        let queued = sub.state.queued.fetch_add(f.json.len(), Ordering::SeqCst);
        if queued + f.json.len() > QUEUE_BYTES {
            sub.state.overflowed.store(true, Ordering::SeqCst);
            return false;
        }
        match sub.tx.try_send(f.clone()) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                sub.state.overflowed.store(true, Ordering::SeqCst);
                return false;
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return false,
        }
    }
    !sub.tx.is_closed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventData, NoData, Ts};

    fn event(seq: u64) -> Event {
        Event {
            seq,
            ts: Ts(0),
            target: "t".into(),
            data: EventData::PollingEnabled(NoData {}),
        }
    }

    fn snap(seq: u64) -> Snapshot {
        Snapshot {
            seq,
            ..Snapshot::default()
        }
    }

    #[test]
    fn subscribers_get_exactly_the_events_after_their_snapshot() {
        let hub = Hub::new(snap(0));
        hub.publish(snap(2), &[event(1), event(2)]);
        let mut sub = hub.subscribe(8).unwrap();
        assert_eq!(sub.snapshot.seq, 2);
        hub.publish(snap(3), &[event(3)]);
        assert_eq!(sub.feed.rx.try_recv().unwrap().seq, 3);
        assert!(sub.feed.rx.try_recv().is_err());
    }

    #[test]
    fn a_feed_keeps_no_snapshot() {
        let hub = Hub::new(snap(0));
        let Subscription { snapshot, mut feed } = hub.subscribe(8).unwrap();
        let first = Arc::downgrade(&snapshot);
        drop(snapshot);
        hub.publish(snap(1), &[event(1)]);
        assert!(first.upgrade().is_none(), "the replaced snapshot is freed");
        assert_eq!(feed.rx.try_recv().unwrap().seq, 1);
    }

    #[test]
    fn a_full_queue_cuts_off_only_that_subscriber() {
        let hub = Hub::new(snap(0));
        let mut slow = hub.subscribe(2).unwrap();
        let mut fast = hub.subscribe(100).unwrap();
        for seq in 1..=5 {
            hub.publish(snap(seq), &[event(seq)]);
            assert_eq!(fast.feed.rx.try_recv().unwrap().seq, seq);
        }
        assert!(slow.feed.state.overflowed());
        assert_eq!(hub.subscribers(), 1);
        assert_eq!(slow.feed.rx.try_recv().unwrap().seq, 1);
        assert_eq!(slow.feed.rx.try_recv().unwrap().seq, 2);
        assert!(matches!(
            slow.feed.rx.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        ));
    }

    #[test]
    fn a_queue_over_its_byte_budget_is_cut_off() {
        let hub = Hub::new(snap(0));
        let sub = hub.subscribe(1_000_000).unwrap();
        let mut big = event(1);
        big.target = "x".repeat(QUEUE_BYTES / 2);
        hub.publish(snap(1), &[big.clone()]);
        assert!(!sub.feed.state.overflowed());
        big.seq = 2;
        hub.publish(snap(2), &[big]);
        assert!(
            sub.feed.state.overflowed(),
            "two frames of half the budget each"
        );
        assert_eq!(hub.subscribers(), 0);
    }

    #[test]
    fn close_ends_subscriptions_without_overflow() {
        let hub = Hub::new(snap(0));
        let mut sub = hub.subscribe(2).unwrap();
        hub.close();
        assert!(matches!(
            sub.feed.rx.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        ));
        assert!(!sub.feed.state.overflowed());
        assert!(hub.subscribe(2).is_none());
    }
}
