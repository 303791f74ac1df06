//! The recently-changed queue of the simulated Eureka server, from which
//! `GET apps/delta` answers: every register, cancel and status change is kept for a
//! retention time (3 minutes by default, like the real server), and a delta lists
//! each changed instance once, as it was at its latest change, with its action.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::registry::Entry;

/// How long a change stays in the queue unless configured otherwise.
pub(crate) const DEFAULT_RETENTION: Duration = Duration::from_secs(180);

/// What a change did to an instance (`actionType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Added,
    Modified,
    Deleted,
}

impl Action {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Action::Added => "ADDED",
            Action::Modified => "MODIFIED",
            Action::Deleted => "DELETED",
        }
    }
}

struct Change {
    at: Instant,
    entry: Entry,
    action: Action,
}

/// Recent changes, oldest first.
pub(crate) struct ChangeQueue {
    items: VecDeque<Change>,
    retention: Duration,
}

impl ChangeQueue {
    pub(crate) fn new() -> ChangeQueue {
        ChangeQueue {
            items: VecDeque::new(),
            retention: DEFAULT_RETENTION,
        }
    }

    /// Queues a change of `entry` (its state after the change).
    pub(crate) fn push(&mut self, entry: Entry, action: Action) {
        let at = Instant::now();
        self.purge(at);
        self.items.push_back(Change { at, entry, action });
    }

    pub(crate) fn set_retention(&mut self, retention: Duration) {
        self.retention = retention;
    }

    /// Forgets every queued change.
    pub(crate) fn clear(&mut self) {
        self.items.clear();
    }

    /// Each instance changed within the retention time once, at its latest change,
    /// in the order of those latest changes.
    pub(crate) fn latest(&mut self) -> Vec<(Entry, Action)> {
        self.purge(Instant::now());
        let mut out: Vec<Option<(Entry, Action)>> = Vec::new();
        let mut at: HashMap<&str, usize> = HashMap::new();
        for change in &self.items {
            if let Some(&i) = at.get(change.entry.sim.instance_id.as_str()) {
                out[i] = None;
            }
            at.insert(&change.entry.sim.instance_id, out.len());
            out.push(Some((change.entry.clone(), change.action)));
        }
        out.into_iter().flatten().collect()
    }

    fn purge(&mut self, now: Instant) {
        while let Some(first) = self.items.front() {
            if now.saturating_duration_since(first.at) <= self.retention {
                break;
            }
            self.items.pop_front();
        }
    }
}
