//! The instances a simulator serves, with the timestamps Eureka reports for them, and
//! Eureka's reconcile hashcode.

use std::collections::{BTreeMap, HashMap};

use super::{SimInstance, epoch_ms};

/// One served instance.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) sim: SimInstance,
    /// When it registered (ms since the epoch).
    pub(crate) registered_ms: u64,
    /// When its status last changed (ms since the epoch).
    pub(crate) updated_ms: u64,
    /// How far behind the serving time its last renewal is reported (0: renewed
    /// just now), to serve leases that have stopped renewing.
    pub(crate) renewal_lag_ms: u64,
}

/// Instances in registration order, unique by instance id.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    entries: Vec<Entry>,
    /// Position of each instance id in `entries`.
    index: HashMap<String, usize>,
}

impl Registry {
    pub(crate) fn new(instances: Vec<SimInstance>) -> Registry {
        let mut registry = Registry::default();
        for instance in instances {
            registry.add(instance);
        }
        registry
    }

    /// Registers an instance, replacing one with the same id.
    pub(crate) fn add(&mut self, sim: SimInstance) {
        let now = epoch_ms();
        let entry = Entry {
            sim,
            registered_ms: now,
            updated_ms: now,
            renewal_lag_ms: 0,
        };
        match self.index.get(&entry.sim.instance_id) {
            Some(&i) => self.entries[i] = entry,
            None => {
                let i = self.entries.len();
                self.index.insert(entry.sim.instance_id.clone(), i);
                self.entries.push(entry);
            }
        }
    }

    /// Cancels an instance; unknown ids are ignored.
    pub(crate) fn remove(&mut self, instance_id: &str) {
        let Some(i) = self.index.remove(instance_id) else {
            return;
        };
        self.entries.remove(i);
        for later in &self.entries[i..] {
            if let Some(pos) = self.index.get_mut(&later.sim.instance_id) {
                *pos -= 1;
            }
        }
    }

    /// Changes an instance's status; unknown ids are ignored.
    pub(crate) fn set_status(&mut self, instance_id: &str, status: &str) {
        let Some(&i) = self.index.get(instance_id) else {
            return;
        };
        let entry = &mut self.entries[i];
        if entry.sim.status != status {
            entry.sim.status = status.to_string();
            entry.updated_ms = epoch_ms();
        }
    }

    /// Reports the instance's last renewal `lag_ms` before each answer; unknown
    /// ids are ignored.
    pub(crate) fn set_renewal_lag(&mut self, instance_id: &str, lag_ms: u64) {
        if let Some(&i) = self.index.get(instance_id) {
            self.entries[i].renewal_lag_ms = lag_ms;
        }
    }

    /// The instance with this id.
    pub(crate) fn get(&self, instance_id: &str) -> Option<&Entry> {
        self.index.get(instance_id).map(|&i| &self.entries[i])
    }

    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The reconcile hashcode of every instance.
    pub(crate) fn hashcode(&self) -> String {
        reconcile_hashcode(self.entries.iter().map(|e| e.sim.status.as_str()))
    }
}

/// Eureka's reconcile hashcode: `<STATUS>_<count>_` for every status present, in
/// alphabetical order of the status, e.g. `DOWN_1_UP_2_`; empty for no instances.
pub(crate) fn reconcile_hashcode<'a>(statuses: impl Iterator<Item = &'a str>) -> String {
    let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
    for status in statuses {
        *counts.entry(status).or_insert(0) += 1;
    }
    counts.iter().map(|(s, n)| format!("{s}_{n}_")).collect()
}
