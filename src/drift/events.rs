//! The payloads of the events of this module: `instance_lease_expired`,
//! `instance_lease_renewed`, `eureka_self_preservation`, `drift_detected` and
//! `drift_resolved` (variants of [`crate::model::EventData`]). Fields in
//! alphabetical order, as every event payload.

use serde::{Deserialize, Serialize};

use super::{DriftItem, DriftKind, EurekaSide, HaproxySide, ItemState};
use crate::model::Ts;

/// `instance_lease_expired`, `instance_lease_renewed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseChange {
    pub age_s: Option<u64>,
    pub app: String,
    pub duration_s: Option<u64>,
    pub instance_id: String,
    pub last_renewal_at: Option<Ts>,
    pub status: String,
}

/// `eureka_self_preservation`: the suspicion began (`suspected: true`) or ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfPreservation {
    pub expired: u64,
    pub instances: u64,
    pub suspected: bool,
    pub threshold_pct: u64,
}

/// Why a reported drift ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Fresh data no longer shows the mismatch.
    Agreed,
    /// One of its targets was removed.
    TargetRemoved,
}

/// A drift item as `GET /api/drift` lists it, and the `data` of `drift_detected`
/// and (with `reason`) `drift_resolved`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftNotice {
    pub endpoint: String,
    pub eureka: EurekaSide,
    pub haproxy: HaproxySide,
    pub id: String,
    pub kind: DriftKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Resolution>,
    pub since: Ts,
    pub state: ItemState,
}

impl DriftItem {
    /// The item as shown, with why it ended if it did.
    pub fn notice(&self, reason: Option<Resolution>) -> DriftNotice {
        DriftNotice {
            endpoint: self.endpoint.clone(),
            eureka: self.eureka.clone(),
            haproxy: self.haproxy.clone(),
            id: self.id.clone(),
            kind: self.kind,
            reason,
            since: self.since,
            state: self.state,
        }
    }
}
