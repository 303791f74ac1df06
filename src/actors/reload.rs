//! Applying a new configuration to a running fleet: reading the file again
//! ([`reload`], for `POST /api/admin/reload` and SIGHUP), and planning which targets
//! stay untouched, which restart with a new spec, which go and which come (pure; the
//! fleet carries the plan out).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;

use actix::Addr;

use super::cycle::TargetSpec;
use super::fleet::{Fleet, Reload};
use super::specs;
use crate::config::{self, Backends, Config, ConfigErrors, HaproxyConfig, LiveConfig};
use crate::notify::{NotifyChanges, Registry};
use crate::sources::haproxy::registry::StatsRegistry;

/// Why a reload changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("this configuration was built in memory (demo); there is no file to reload")]
    NoFile,
    #[error("the new configuration is invalid; the running one is kept:\n{0}")]
    Invalid(ConfigErrors),
    #[error("the fleet did not answer: {0}")]
    Fleet(String),
    #[error(
        "the new configuration has no sources: reloading it would drop every target (and the admin token with the file); the running one is kept. To do it anyway: POST /api/admin/reload?allow_empty=true"
    )]
    Empty,
}

/// Reads the configuration file again and applies it: untouched targets keep their
/// pollers, breakers and state; notifiers are added, removed and restarted
/// ([`crate::notify::running`]). An invalid file changes nothing, nor does one
/// without sources unless `allow_empty`.
pub async fn reload(
    fleet: &Addr<Fleet>,
    live: &LiveConfig,
    notifiers: &Registry,
    allow_empty: bool,
) -> Result<ReloadReport, ReloadError> {
    let current = live.get();
    if current.file == std::path::Path::new(config::IN_MEMORY) {
        return Err(ReloadError::NoFile);
    }
    let new = Arc::new(config::load(&current.file).map_err(ReloadError::Invalid)?);
    for warning in new.warnings() {
        tracing::warn!(%warning, "configuration warning");
    }
    if new.haproxy.is_empty() && new.eureka.is_empty() && !allow_empty {
        return Err(ReloadError::Empty);
    }
    let report = fleet
        .send(Reload(new.clone()))
        .await
        .map_err(|e| ReloadError::Fleet(e.to_string()))?;
    live.set(new.clone());
    let notify = notifiers.apply(&new.notify).await;
    if notify != NotifyChanges::default() {
        tracing::info!(
            added = ?notify.added,
            removed = ?notify.removed,
            changed = ?notify.changed,
            retried = ?notify.retried,
            "notifiers reloaded"
        );
    }
    tracing::info!(
        added = report.added.len(),
        removed = report.removed.len(),
        changed = report.changed.len(),
        unchanged = report.unchanged,
        "configuration reloaded"
    );
    Ok(report)
}

/// What a reload did, as answered to the operator.
#[derive(Clone, Debug, Default, Serialize, PartialEq, utoipa::ToSchema)]
pub struct ReloadReport {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    pub unchanged: usize,
    /// Settings that only take effect after a restart, and the like.
    pub warnings: Vec<String>,
}

/// The plan for one reload.
#[derive(Debug, Default)]
pub struct Plan {
    pub add: Vec<Arc<TargetSpec>>,
    pub restart: Vec<Arc<TargetSpec>>,
    pub remove: Vec<String>,
    pub unchanged: usize,
    /// Discovering sources whose discovery must (re)start.
    pub discover: Vec<HaproxyConfig>,
    /// Discovering sources whose discovery must stop.
    pub stop_discovery: Vec<String>,
}

/// Compares the running targets (`running`: id → spec) with the new configuration.
pub fn plan(
    old: &Config,
    new: &Config,
    running: &BTreeMap<String, Arc<TargetSpec>>,
    stats: &StatsRegistry,
) -> Plan {
    let mut plan = Plan::default();
    let fixed: BTreeMap<String, Arc<TargetSpec>> = specs::fixed_targets(new, stats)
        .into_iter()
        .map(|s| (s.meta.id.clone(), s))
        .collect();
    let old_all = discovering(old);
    let new_all = discovering(new);
    for (id, spec) in running {
        match (fixed.get(id), group_of(id, &new_all)) {
            (Some(next), _) if next == spec => plan.unchanged += 1,
            (Some(next), _) => plan.restart.push(next.clone()),
            (None, Some(h)) => {
                let next = Arc::new(specs::haproxy_target(
                    h,
                    spec.meta.backend_name.as_deref().unwrap_or(""),
                    stats,
                ));
                if &next == spec {
                    plan.unchanged += 1
                } else {
                    plan.restart.push(next)
                }
            }
            (None, None) => plan.remove.push(id.clone()),
        }
    }
    plan.add = fixed
        .into_iter()
        .filter(|(id, _)| !running.contains_key(id))
        .map(|(_, s)| s)
        .collect();
    for (name, h) in &new_all {
        if old_all.get(name) != Some(h) {
            plan.discover.push((*h).clone());
        }
    }
    plan.stop_discovery = old_all
        .keys()
        .filter(|n| new_all.get(*n) != old_all.get(*n))
        .map(|n| n.to_string())
        .collect();
    plan
}

fn discovering(c: &Config) -> BTreeMap<&str, &HaproxyConfig> {
    c.haproxy
        .iter()
        .filter(|h| h.backends == Backends::All)
        .map(|h| (h.name.as_str(), h))
        .collect()
}

fn group_of<'a>(id: &str, all: &BTreeMap<&str, &'a HaproxyConfig>) -> Option<&'a HaproxyConfig> {
    let rest = id.strip_prefix("haproxy/")?;
    let (group, _) = rest.split_once('/')?;
    all.get(group).copied()
}

/// Settings a reload cannot change in a running daemon.
pub fn restart_warnings(old: &Config, new: &Config) -> Vec<String> {
    let mut out = Vec::new();
    if old.server.listen != new.server.listen {
        out.push(format!(
            "server.listen changed to {}: takes effect after a restart",
            new.server.listen
        ));
    }
    if old.server.tls != new.server.tls {
        out.push("server.tls changed: takes effect after a restart".to_string());
    }
    if old.storage != new.storage {
        out.push("[storage] changed: takes effect after a restart".to_string());
    }
    out
}

/// Ids that appear in a set, sorted, for reports.
pub fn ids(specs: &[Arc<TargetSpec>]) -> Vec<String> {
    let set: BTreeSet<String> = specs.iter().map(|s| s.meta.id.clone()).collect();
    set.into_iter().collect()
}
