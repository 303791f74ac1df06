//! Events: what watchpost tells the world. One variant of [`EventData`] per event
//! type, each with its payload struct; the wire name (`type`) and the `data` of an
//! event both come from that variant.
//!
//! To add an event: write its payload struct (fields in alphabetical order, so the
//! stored and served JSON has the same key order as a JSON object map), add a line
//! `Name(Payload)` to the [`events!`] list below, and a row to the table in
//! `docs/api.md` (a test checks that every variant has one).
//!
//! On the wire and in the store an event is
//! `{"seq":..,"ts":..,"type":"<snake_case variant>","target":..,"data":{..}}`.

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

pub use super::admin::{RecoveryOutcome, ServerActionOutcome};
use super::haproxy::{ConfigValidation, HaproxyRestart, TxRecord};
use super::{CircuitState, InstanceState, ServerState, TargetKind, Ts};
pub use crate::alerts::{Alert, Silence};
pub use crate::drift::events::{DriftNotice, LeaseChange, SelfPreservation};
pub use crate::sources::FailureKind;

/// Declares [`EventType`] and [`EventData`] from one list of `Variant(Payload)`.
macro_rules! events {
    ($($(#[$doc:meta])* $variant:ident($payload:ty),)*) => {
        /// The kinds of event: an event's `type`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum EventType {
            $($(#[$doc])* $variant,)*
        }

        impl EventType {
            /// Every kind of event, in declaration order.
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)*];
        }

        /// What an event says: its type and its `data`.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(tag = "type", content = "data", rename_all = "snake_case")]
        pub enum EventData {
            $($(#[$doc])* $variant($payload),)*
        }

        impl EventData {
            /// The event's type.
            pub fn kind(&self) -> EventType {
                match self {
                    $(EventData::$variant(_) => EventType::$variant,)*
                }
            }

            /// Writes the payload as the `data` entry of a map.
            fn serialize_data<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
                match self {
                    $(EventData::$variant(p) => map.serialize_entry("data", p),)*
                }
            }
        }
    };
}

events! {
    /// A poll of the target failed after a success or before any (edge-triggered).
    FetchFailed(FetchFailure),
    /// A failed target or application fetched successfully again.
    FetchRecovered(FetchRecovery),
    /// The breaker opened.
    CircuitOpened(CircuitChange),
    /// The open period ended; one probe is sent.
    CircuitHalfOpen(CircuitChange),
    /// The probe succeeded, or an operator reset the circuit.
    CircuitClosed(CircuitChange),
    /// A server's normalised state differs from its last known one.
    ServerStateChanged(ServerChange),
    /// An instance's normalised state differs from its last known one.
    InstanceStateChanged(InstanceChange),
    /// An instance appeared, or returned after removal.
    InstanceAdded(InstanceMember),
    /// An instance is missing from a successful fetch.
    InstanceRemoved(InstanceMember),
    /// A target was configured or discovered.
    TargetAdded(TargetAdded),
    /// A target left the configuration, or its backend vanished.
    TargetRemoved(TargetRemoved),
    /// An operator disabled polling.
    PollingDisabled(NoData),
    /// An operator enabled polling.
    PollingEnabled(NoData),
    /// A recovery action ran.
    RecoveryAttempted(RecoveryOutcome),
    /// An operator changed a server's admin state (ready / drain / maint).
    ServerAdminAction(ServerActionOutcome),
    /// An instance's last renewal is older than its lease (`docs/drift.md`).
    InstanceLeaseExpired(LeaseChange),
    /// An instance with an expired lease renewed it again.
    InstanceLeaseRenewed(LeaseChange),
    /// A Eureka server's share of expired leases crossed the self-preservation
    /// threshold, either way.
    EurekaSelfPreservation(SelfPreservation),
    /// HAProxy and Eureka disagreed about an endpoint for `drift_for`.
    DriftDetected(DriftNotice),
    /// A reported drift ended.
    DriftResolved(DriftNotice),
    /// An HAProxy process was replaced: its pid changed or its uptime went back.
    HaproxyRestarted(HaproxyRestart),
    /// HAProxy's configuration was checked with the `validate` command.
    ConfigValidated(ConfigValidation),
    /// A transaction of server changes began applying its actions.
    TransactionStarted(TxRecord),
    /// Every action of a transaction was applied and verified.
    TransactionCommitted(TxRecord),
    /// A transaction failed and the actions already applied were undone.
    TransactionRolledBack(TxRecord),
    /// A backend went from some server up to none, or back.
    BackendStateChanged(BackendStateChange),
    /// An alert started firing.
    AlertFiring(Alert),
    /// A firing alert's condition ended.
    AlertResolved(Alert),
    /// A silence or maintenance window was created (`target` is empty).
    SilenceCreated(Silence),
    /// A silence was ended early (`target` is empty).
    SilenceEnded(Silence),
    /// A notifier gave a message up after its `max_age` (`target` is
    /// `notify/<name>`).
    NotificationFailed(NotificationFailure),
}

impl EventType {
    /// The snake_case name used as `type` on the wire.
    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

/// An empty `data` object, `{}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
pub struct NoData {}

/// `fetch_failed`: of the whole target (`consecutive_failures`) or of one Eureka
/// application (`application`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FetchFailure {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_failures: Option<u32>,
    pub error: String,
    /// What kind of failure it was; absent in events stored before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<FailureKind>,
}

/// `fetch_recovered`: of the whole target (`consecutive_failures` before the
/// recovery) or of one Eureka application (`application`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FetchRecovery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_failures: Option<u32>,
    pub previous_error: Option<String>,
}

/// `circuit_opened`, `circuit_half_open`, `circuit_closed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CircuitChange {
    pub consecutive_failures: u32,
    pub from: CircuitState,
    /// When the next probe may go; `null` unless the circuit opened.
    pub next_attempt_at: Option<Ts>,
}

/// `server_state_changed`. A server that appears has `from` and `previous_status`
/// `null`; one that disappears has `to` and `status` `null` and `removed: true`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ServerChange {
    pub from: Option<ServerState>,
    pub previous_status: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
    pub server: String,
    pub status: Option<String>,
    pub to: Option<ServerState>,
}

/// `instance_state_changed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InstanceChange {
    pub app: String,
    pub from: InstanceState,
    pub instance_id: String,
    pub previous_status: Option<String>,
    pub state: InstanceState,
    pub status: String,
    pub to: InstanceState,
}

/// `instance_added`, `instance_removed` (with the instance's last known values).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InstanceMember {
    pub app: String,
    pub instance_id: String,
    pub state: InstanceState,
    pub status: String,
}

/// `target_added`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TargetAdded {
    /// The backend of an HAProxy target, `null` for Eureka.
    pub backend: Option<String>,
    pub group: String,
    pub kind: TargetKind,
    pub source: super::SourceKind,
}

/// `target_removed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TargetRemoved {
    pub reason: String,
}

/// Whether a backend has some server up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackendAvailability {
    /// At least one server is up.
    Up,
    /// No server is up.
    Down,
}

/// `backend_state_changed`: the capacity after the change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BackendStateChange {
    pub from: BackendAvailability,
    pub to: BackendAvailability,
    pub total: u32,
    pub up: u32,
}

/// `notification_failed`: a message no receiver accepted within the notifier's
/// `max_age`, and why the last attempt failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NotificationFailure {
    /// The ids of the alerts the message carried.
    pub alerts: Vec<String>,
    pub delivery_id: String,
    pub error: String,
    pub first_attempt_at: Ts,
    /// The group's labels.
    pub group: std::collections::BTreeMap<String, String>,
    /// The notifier's kind: `webhook`, `slack`, `email`, `alertmanager`.
    pub kind: String,
    pub notifier: String,
}

/// An event before it is numbered by the store.
#[derive(Clone, Debug, PartialEq)]
pub struct EventDraft {
    pub target: String,
    pub data: EventData,
}

impl EventDraft {
    /// The event's type.
    pub fn kind(&self) -> EventType {
        self.data.kind()
    }
}

/// A committed event.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(from = "StoredEvent")]
pub struct Event {
    pub seq: u64,
    pub ts: Ts,
    pub target: String,
    pub data: EventData,
}

impl Event {
    /// The event's type.
    pub fn kind(&self) -> EventType {
        self.data.kind()
    }
}

/// Writes `seq`, `ts`, `type`, `target`, `data`, in that order.
impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(5))?;
        map.serialize_entry("seq", &self.seq)?;
        map.serialize_entry("ts", &self.ts)?;
        map.serialize_entry("type", &self.kind())?;
        map.serialize_entry("target", &self.target)?;
        self.data.serialize_data(&mut map)?;
        map.end()
    }
}

/// An event's schema is that of the form it is read back in.
impl utoipa::PartialSchema for Event {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <StoredEvent as utoipa::PartialSchema>::schema()
    }
}

impl utoipa::ToSchema for Event {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <StoredEvent as utoipa::ToSchema>::schemas(schemas)
    }
}

/// The form an event is read back in, and its schema in the API description.
#[derive(Deserialize, utoipa::ToSchema)]
struct StoredEvent {
    seq: u64,
    ts: Ts,
    target: String,
    #[serde(flatten)]
    data: EventData,
}

impl From<StoredEvent> for Event {
    fn from(e: StoredEvent) -> Event {
        Event {
            seq: e.seq,
            ts: e.ts,
            target: e.target,
            data: e.data,
        }
    }
}

#[cfg(test)]
#[path = "event_tests.rs"]
mod tests;
