//! Holding mismatches against `drift_for` and deciding what is reported.
//!
//! - A mismatch seen on fresh data is tracked from then (`since`); once it has
//!   lasted `drift_for` it is reported (`drift_detected`) and `active`.
//! - A tracked item not seen again, with both its targets fresh, is over: a
//!   reported one gets `drift_resolved`, a pending one is dropped silently (a brief
//!   mismatch, as rolling deploys cause, raises nothing).
//! - A tracked item one of whose targets is stale is `unknown`: kept as it is,
//!   neither confirmed nor resolved, until fresh data decides.
//! - An item whose target no longer exists is dropped (`drift_resolved` with
//!   `reason: "target_removed"` if it was reported).

pub use super::events::Resolution;
use super::{DriftItem, ItemState, Items, Mismatch};
use crate::model::Ts;

/// What the caller knows of an item's targets now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sides {
    /// Both targets exist and their data is fresh.
    Fresh,
    /// Both exist; at least one is stale.
    Stale,
    /// At least one target is gone.
    Gone,
}

/// A change to report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Detected(DriftItem),
    Resolved(DriftItem, Resolution),
}

/// The next items and the changes to report, from the previous items, the
/// mismatches seen now (on fresh data only), what is known of each remaining
/// item's targets, the time and the hold time.
pub fn track(
    prev: &Items,
    seen: Vec<Mismatch>,
    sides: &dyn Fn(&DriftItem) -> Sides,
    now: Ts,
    hold_ms: u64,
) -> (Items, Vec<Change>) {
    let mut next = Items::new();
    let mut changes = Vec::new();
    for m in seen {
        let id = m.id();
        if next.contains_key(&id) {
            continue;
        }
        let item = seen_item(prev.get(&id), m, id.clone(), now, hold_ms, &mut changes);
        next.insert(id, item);
    }
    for (id, item) in prev {
        if next.contains_key(id) {
            continue;
        }
        match sides(item) {
            Sides::Stale => {
                let mut kept = item.clone();
                kept.state = ItemState::Unknown;
                next.insert(id.clone(), kept);
            }
            Sides::Fresh => ended(item, Resolution::Agreed, &mut changes),
            Sides::Gone => ended(item, Resolution::TargetRemoved, &mut changes),
        }
    }
    (next, changes)
}

fn seen_item(
    prev: Option<&DriftItem>,
    m: Mismatch,
    id: String,
    now: Ts,
    hold_ms: u64,
    changes: &mut Vec<Change>,
) -> DriftItem {
    let since = prev.map_or(now, |p| p.since);
    let was_reported = prev.is_some_and(|p| p.reported);
    let reported = was_reported || now.since(since) >= hold_ms;
    let item = DriftItem {
        id,
        kind: m.kind,
        endpoint: m.endpoint,
        since,
        state: if reported {
            ItemState::Active
        } else {
            ItemState::Pending
        },
        reported,
        haproxy: m.haproxy,
        eureka: m.eureka,
    };
    if reported && !was_reported {
        changes.push(Change::Detected(item.clone()));
    }
    item
}

fn ended(item: &DriftItem, why: Resolution, changes: &mut Vec<Change>) {
    if item.reported {
        changes.push(Change::Resolved(item.clone(), why));
    }
}
