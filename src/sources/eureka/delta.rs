//! The local copy of a Eureka registry that a `delta = true` source keeps between
//! polls, and the rules of the Netflix client for keeping it current
//! (docs/protocols/eureka.md §7): replace it with a full fetch, apply a delta
//! (`ADDED`/`MODIFIED` upsert, `DELETED` remove), then check the registry's
//! reconcile hashcode against the one the delta announces.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::Document;
use super::json::reconcile_hashcode;
use crate::model::{AppSample, InstanceSample};

/// An application of the local copy: its instances by id, or its own error.
type LocalApp = Result<BTreeMap<String, InstanceSample>, String>;
/// The local copy: applications by name.
type Local = BTreeMap<String, LocalApp>;

/// What became of a delta.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeltaOutcome {
    /// Applied, and the hashcodes agree: the registry as it is now.
    Applied(Vec<AppSample>),
    /// Not usable or not in agreement; the local copy is dropped and a full fetch
    /// is due. The text says why.
    Refetch(String),
}

/// Counters of one source, readable while it runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeltaStats {
    /// Full `GET apps` answers used.
    pub full_fetches: u64,
    /// Deltas applied whose hashcode agreed.
    pub deltas_applied: u64,
    /// Deltas not used: refused (e.g. 403), unreadable or disagreeing.
    pub fallbacks: u64,
}

/// The state of one native Eureka source kept between polls: whether it uses
/// deltas, its local copy of the registry, and what its polls cost.
///
/// Two states are equal when their configuration (delta or not) is, so that a
/// reload with an unchanged config keeps the running source and its copy.
#[derive(Debug, Default)]
pub struct DeltaState {
    enabled: bool,
    local: Mutex<Option<Local>>,
    bytes: AtomicU64,
    full_fetches: AtomicU64,
    deltas_applied: AtomicU64,
    fallbacks: AtomicU64,
}

impl PartialEq for DeltaState {
    fn eq(&self, other: &Self) -> bool {
        self.enabled == other.enabled
    }
}

impl DeltaState {
    /// A state with no local copy; `enabled` says whether deltas are used.
    pub fn new(enabled: bool) -> DeltaState {
        DeltaState {
            enabled,
            ..DeltaState::default()
        }
    }

    /// Whether this source asks for deltas.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Body bytes received so far over every request, full and delta, as decoded
    /// (after gzip), i.e. the size of the documents themselves.
    pub fn bytes_transferred(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The counters so far.
    pub fn stats(&self) -> DeltaStats {
        DeltaStats {
            full_fetches: self.full_fetches.load(Ordering::Relaxed),
            deltas_applied: self.deltas_applied.load(Ordering::Relaxed),
            fallbacks: self.fallbacks.load(Ordering::Relaxed),
        }
    }

    /// Counts the body bytes of one answer.
    pub(crate) fn count_bytes(&self, n: usize) {
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts a delta that was not used.
    pub(crate) fn count_fallback(&self) {
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether a delta can be applied (deltas are enabled and a full copy exists).
    pub fn wants_delta(&self) -> bool {
        self.enabled && self.local().is_some()
    }

    /// Takes a full registry. With deltas it becomes the local copy, and the
    /// applications come back in the copy's order (by name, then by instance id),
    /// the order every later delta poll reports too.
    pub fn replace(&self, apps: Vec<AppSample>) -> Vec<AppSample> {
        self.full_fetches.fetch_add(1, Ordering::Relaxed);
        if !self.enabled {
            return apps;
        }
        let local = local_of(apps);
        let snapshot = snapshot(&local);
        *self.local() = Some(local);
        snapshot
    }

    /// Applies a delta document to the local copy and checks the hashcode.
    pub fn apply(&self, delta: &Document) -> DeltaOutcome {
        let mut guard = self.local();
        let Some(local) = guard.as_mut() else {
            return self.refetch("there is no local copy to apply a delta to".into());
        };
        if let Err(why) = apply(local, &delta.apps) {
            *guard = None;
            return self.refetch(why);
        }
        let apps = snapshot(local);
        let ours = reconcile_hashcode(&apps);
        if delta.hashcode.as_deref() != Some(ours.as_str()) {
            *guard = None;
            let theirs = delta.hashcode.as_deref().unwrap_or("(none)");
            return self.refetch(format!(
                "hashcode mismatch after the delta: local {ours:?}, server {theirs:?}"
            ));
        }
        self.deltas_applied.fetch_add(1, Ordering::Relaxed);
        DeltaOutcome::Applied(apps)
    }

    fn refetch(&self, why: String) -> DeltaOutcome {
        self.count_fallback();
        DeltaOutcome::Refetch(why)
    }

    fn local(&self) -> MutexGuard<'_, Option<Local>> {
        self.local.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The local copy of a full registry. A repeated application name keeps its first
/// occurrence, as the state merge does.
fn local_of(apps: Vec<AppSample>) -> Local {
    let mut local = Local::new();
    for app in apps {
        if local.contains_key(&app.name) {
            continue;
        }
        let instances = app.instances.map(|list| {
            let mut by_id = BTreeMap::new();
            for inst in list {
                by_id.entry(inst.instance_id.clone()).or_insert(inst);
            }
            by_id
        });
        local.insert(app.name, instances);
    }
    local
}

/// The local copy as a fetch result.
fn snapshot(local: &Local) -> Vec<AppSample> {
    let app = |(name, instances): (&String, &LocalApp)| AppSample {
        name: name.clone(),
        instances: instances
            .as_ref()
            .map(|by_id| by_id.values().cloned().collect())
            .map_err(Clone::clone),
    };
    local.iter().map(app).collect()
}

/// Applies every instance of a delta, keyed by application name and instance id.
/// A delta application whose instances cannot be read makes the delta unusable.
fn apply(local: &mut Local, delta: &[AppSample]) -> Result<(), String> {
    for app in delta {
        let instances = app
            .instances
            .as_ref()
            .map_err(|e| format!("the delta is unusable: {e}"))?;
        for inst in instances {
            apply_one(local, &app.name, inst);
        }
    }
    Ok(())
}

fn apply_one(local: &mut Local, app: &str, inst: &InstanceSample) {
    let action = inst
        .action_type
        .as_deref()
        .unwrap_or("")
        .to_ascii_uppercase();
    match action.as_str() {
        "ADDED" | "MODIFIED" => {
            let entry = local
                .entry(app.to_string())
                .or_insert_with(|| Ok(BTreeMap::new()));
            if let Ok(by_id) = entry {
                by_id.insert(inst.instance_id.clone(), inst.clone());
            }
        }
        "DELETED" => {
            let emptied = match local.get_mut(app) {
                Some(Ok(by_id)) => by_id.remove(&inst.instance_id).is_some() && by_id.is_empty(),
                _ => false,
            };
            if emptied {
                local.remove(app);
            }
        }
        // The Java client ignores other action types; the hashcode check catches
        // whatever that leaves out.
        _ => {}
    }
}

#[cfg(test)]
#[path = "delta_tests.rs"]
mod tests;
