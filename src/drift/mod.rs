//! Fleet truth that no single source shows: where HAProxy and Eureka disagree about
//! an endpoint (*drift*), and Eureka instances whose lease has expired while the
//! registry keeps them. Pure code: committed target states in, drift items, flags
//! and event drafts out; no clocks, no I/O (`now` is passed in). The status actor
//! runs it inside the commit of each batch (`src/actors/drift_table.rs` keeps the
//! items in redb). Rules: `docs/drift.md`.
//!
//! - [`lease`]: `lease.age_s`, `lease_expired` and `self_preservation_suspected`
//!   after each Eureka fetch.
//! - [`join`]: the endpoint join of fresh HAProxy servers and Eureka instances,
//!   and the membership checks of `[[link]]`s, giving the mismatches seen now.
//! - [`track`]: the mismatches held against `drift_for`, frozen as `unknown` when a
//!   side is stale, reported and resolved as events.
//! - [`history`]: outages and availability of a target from its committed events.

pub mod events;
pub mod history;
pub mod join;
pub mod lease;
pub mod track;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{FetchStatus, TargetState, Ts};

/// What kind of disagreement an item is.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// Eureka says `up`; HAProxy has the server `down`/MAINT, or (with a link) no
    /// server for it in a linked backend.
    RegisteredNotServing,
    /// HAProxy has the server `up`; Eureka says `down`/OUT_OF_SERVICE, or (with a
    /// link) has no instance of the linked application there.
    ServingNotRegistered,
}

impl DriftKind {
    /// Every kind, for metrics.
    pub const ALL: [DriftKind; 2] = [Self::RegisteredNotServing, Self::ServingNotRegistered];

    /// The snake_case name used in JSON and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RegisteredNotServing => "registered_not_serving",
            Self::ServingNotRegistered => "serving_not_registered",
        }
    }
}

/// Where an item stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// Seen on fresh data, not yet for `drift_for`.
    Pending,
    /// Seen on fresh data for at least `drift_for`: reported.
    Active,
    /// A side's data is stale now: neither confirmed nor resolved.
    Unknown,
}

/// The HAProxy side of an item. `server` is `None` when a linked backend has no
/// server at the endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HaproxySide {
    pub backend: String,
    pub fetched_at: Option<Ts>,
    pub server: Option<String>,
    pub status: Option<String>,
    pub target: String,
}

/// The Eureka side of an item. `instance_id` is `None` when the linked application
/// has no instance at the endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EurekaSide {
    pub app: String,
    pub fetched_at: Option<Ts>,
    pub instance_id: Option<String>,
    pub status: Option<String>,
    pub target: String,
}

/// A mismatch seen now on fresh data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub kind: DriftKind,
    pub endpoint: String,
    pub haproxy: HaproxySide,
    pub eureka: EurekaSide,
}

impl Mismatch {
    /// The stable identity of the mismatch: kind and both sides.
    pub fn id(&self) -> String {
        let (h, e) = (&self.haproxy, &self.eureka);
        format!(
            "{}:{}/{}|{}/{}/{}",
            self.kind.as_str(),
            h.target,
            h.server.as_deref().unwrap_or("-"),
            e.target,
            e.app,
            e.instance_id.as_deref().unwrap_or("-"),
        )
    }
}

/// A tracked mismatch, committed with the target states.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftItem {
    pub id: String,
    pub kind: DriftKind,
    pub endpoint: String,
    /// When it was first seen on fresh data.
    pub since: Ts,
    pub state: ItemState,
    /// Whether `drift_detected` was committed for it.
    pub reported: bool,
    pub haproxy: HaproxySide,
    pub eureka: EurekaSide,
}

/// Every tracked item by id.
pub type Items = BTreeMap<String, DriftItem>;

/// A `[[link]]` with its target ids resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// `eureka/<server>`.
    pub eureka_target: String,
    pub app: String,
    /// `haproxy/<name>/<backend>` of every linked backend.
    pub backends: Vec<String>,
}

/// Whether a target's data may be used for drift at `now`: its last fetch
/// succeeded and is no older than two of its intervals.
pub fn is_fresh(t: &TargetState, interval_ms: Option<u64>, now: Ts) -> bool {
    let Some(interval) = interval_ms else {
        return false;
    };
    t.last_fetch_status == FetchStatus::Success
        && t.last_success_at
            .get()
            .is_some_and(|at| now.since(at) <= interval.saturating_mul(2))
}
