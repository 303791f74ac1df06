//! Applying a batch of observations: `diff` on each, in order, against a working
//! copy of the committed state, noting per target what the alert step needs (the
//! subjects that changed state and the time of the latest observation).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::status::{Msg, Snapshot};
use super::status_alerts::Touched;
use crate::alerts::flap::subject_changes;
use crate::diff::diff;
use crate::model::{EventDraft, Observation, TargetState};

pub(super) type Working = BTreeMap<Arc<str>, Option<Arc<TargetState>>>;

/// Applies `diff` to every observation of the batch, in order, against a working
/// copy of the state; notes what changed per target for the alert step.
/// `lease` runs after each `diff` (the lease rules of a Eureka fetch,
/// `crate::drift::lease`) and may add events.
pub(super) fn apply(
    current: &Snapshot,
    batch: &[Msg],
    lease: &dyn Fn(&mut TargetState, &Observation) -> Vec<EventDraft>,
) -> (Working, Vec<EventDraft>, BTreeMap<Arc<str>, Touched>) {
    let mut working: Working = BTreeMap::new();
    let mut drafts: Vec<EventDraft> = Vec::new();
    let mut touched: BTreeMap<Arc<str>, Touched> = BTreeMap::new();
    for obs in batch.iter().flat_map(|m| &m.observations) {
        let id = obs.target.as_str();
        let (key, prev) = match working.get_key_value(id) {
            Some((k, p)) => (k.clone(), p.clone()),
            None => match current.targets.get_key_value(id) {
                Some((k, p)) => (k.clone(), Some(p.clone())),
                None => (Arc::from(id), None),
            },
        };
        let t = diff(prev.as_deref(), obs);
        let mut next = t.next;
        drafts.extend(t.events);
        if let Some(n) = next.as_mut() {
            drafts.extend(lease(n, obs));
        }
        let seen = touched.entry(key.clone()).or_default();
        let changed = subject_changes(prev.as_deref(), next.as_ref());
        seen.changes
            .extend(changed.into_iter().map(|l| (l, obs.at)));
        seen.at = seen.at.max(obs.at);
        working.insert(key, next.map(Arc::new));
    }
    (working, drafts, touched)
}
