//! Domain types shared by the sources, the state-transition function, the store and
//! the HTTP API: what a source reports (samples), what we keep per target (state),
//! what changes it (observations) and what we tell the world (events).

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

mod admin;
mod event;
mod haproxy;
mod intern;
mod live;
mod name_addr;
mod text_pack;

pub use admin::{
    ActionVia, AdminState, CommandRun, RecoveryOutcome, RecoveryTrigger, ServerActionOutcome,
};
pub use event::*;
pub use haproxy::{ConfigValidation, HaproxyRestart, StepOutcome, StepRecord, TxRecord, TxState};
pub use intern::intern;
pub use live::{Live, LiveValue};
pub use name_addr::NameAddr;
pub use text_pack::TextPack;

/// A map on the polling path (keyed by backend names and target ids), hashed with
/// a fast hash seeded per process.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// A set with the same hasher as [`FastMap`].
pub type FastSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// A point in time, in milliseconds since the Unix epoch, written as RFC 3339 UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Ts(pub u64);

impl Ts {
    /// The current wall-clock time.
    pub fn now() -> Ts {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Ts(ms)
    }

    /// This time plus a duration.
    pub fn plus(self, d: Duration) -> Ts {
        Ts(self.0.saturating_add(d.as_millis() as u64))
    }

    /// Milliseconds from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Ts) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = UNIX_EPOCH + Duration::from_millis(self.0);
        write!(f, "{}", humantime::format_rfc3339_millis(t))
    }
}

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl utoipa::PartialSchema for Ts {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some("RFC 3339 UTC with milliseconds"))
            .into()
    }
}

impl utoipa::ToSchema for Ts {
    fn name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }
}

impl<'de> Deserialize<'de> for Ts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Ts, D::Error> {
        let text = String::deserialize(d)?;
        let t = humantime::parse_rfc3339(&text).map_err(serde::de::Error::custom)?;
        let ms = t
            .duration_since(UNIX_EPOCH)
            .map_err(serde::de::Error::custom)?
            .as_millis() as u64;
        Ok(Ts(ms))
    }
}

/// What a target is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// One backend of one HAProxy instance: `haproxy/<instance>/<backend>`.
    HaproxyBackend,
    /// One Eureka server with all its applications: `eureka/<server>`.
    EurekaServer,
}

/// How a target is read, fixed when it is added: `agent` (FAgent), `stats`
/// (HAProxy's CSV stats page), `socket` (HAProxy's Runtime API) or `eureka` (the
/// Eureka REST API).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// The FAgent v1 HTTP API (HAProxy or Eureka).
    Agent,
    /// HAProxy's CSV stats page.
    Stats,
    /// HAProxy's Runtime API.
    Socket,
    /// The Eureka REST API.
    Eureka,
}

impl SourceKind {
    /// The configuration's spelling: `agent`, `stats`, `socket` or `eureka`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Stats => "stats",
            Self::Socket => "socket",
            Self::Eureka => "eureka",
        }
    }
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<crate::config::HaproxySourceKind> for SourceKind {
    fn from(k: crate::config::HaproxySourceKind) -> SourceKind {
        use crate::config::HaproxySourceKind as H;
        match k {
            H::Agent => Self::Agent,
            H::Stats => Self::Stats,
            H::Socket => Self::Socket,
        }
    }
}

impl From<crate::config::EurekaSourceKind> for SourceKind {
    fn from(k: crate::config::EurekaSourceKind) -> SourceKind {
        use crate::config::EurekaSourceKind as E;
        match k {
            E::Eureka => Self::Eureka,
            E::Agent => Self::Agent,
        }
    }
}

/// Outcome of the last fetch of a target or application.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FetchStatus {
    /// Not polled yet.
    #[default]
    Unknown,
    Success,
    Failed,
}

/// Circuit breaker state of a poller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    #[default]
    Closed,
    Open,
    HalfOpen,
}

impl CircuitState {
    /// The snake_case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            CircuitState::Closed => "closed",
            CircuitState::Open => "open",
            CircuitState::HalfOpen => "half_open",
        }
    }
}

/// Normalised state of an HAProxy server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServerState {
    Up,
    Down,
    Maint,
    Drain,
    #[default]
    Unknown,
}

impl ServerState {
    /// Normalises a status string as HAProxy writes it (`UP 1/3`, `DOWN (agent)`,
    /// `MAINT (via be/srv)`, `NOLB`, `no check`, ...).
    pub fn from_haproxy_status(status: &str) -> ServerState {
        let s = status.trim();
        let word = s.split([' ', '(']).next().unwrap_or("");
        let is = |w: &str| word.eq_ignore_ascii_case(w);
        if is("UP") {
            ServerState::Up
        } else if is("DOWN") {
            ServerState::Down
        } else if is("MAINT") {
            ServerState::Maint
        } else if is("DRAIN") || is("NOLB") {
            // NOLB: alive but taking no new load-balanced traffic, like a drain.
            ServerState::Drain
        } else if s.eq_ignore_ascii_case("NO CHECK") {
            // A server without health checks is considered up by HAProxy.
            ServerState::Up
        } else {
            ServerState::Unknown
        }
    }
}

/// Normalised state of a Eureka instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InstanceState {
    Up,
    Down,
    Starting,
    OutOfService,
    #[default]
    Unknown,
}

impl InstanceState {
    /// Normalises a Eureka `status` (`UP`, `DOWN`, `STARTING`, `OUT_OF_SERVICE`,
    /// `UNKNOWN`; anything else is `unknown`).
    pub fn from_eureka_status(status: &str) -> InstanceState {
        match status.trim().to_ascii_uppercase().as_str() {
            "UP" => InstanceState::Up,
            "DOWN" => InstanceState::Down,
            "STARTING" => InstanceState::Starting,
            "OUT_OF_SERVICE" => InstanceState::OutOfService,
            _ => InstanceState::Unknown,
        }
    }
}

/// One server row as a source reports it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ServerSample {
    pub name: String,
    /// Status exactly as HAProxy writes it (interned: [`intern`]).
    pub status: Shared,
    pub weight: Option<u32>,
    pub check_status: Option<Shared>,
    /// Seconds since the last UP/DOWN transition (`lastchg`).
    pub last_change_s: Option<u64>,
    pub addr: Option<String>,
}

/// One HAProxy backend as a source reports it: its `BACKEND` row's status, where
/// the source passes that row on, and its servers.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BackendSample {
    /// The `BACKEND` row's status (`UP`, `DOWN`), without a `(up/total)` count;
    /// `None` when the source gives no such row (FAgent, server-only tables).
    /// Interned, like a server's status.
    pub status: Option<Shared>,
    pub servers: Vec<ServerSample>,
}

impl From<Vec<ServerSample>> for BackendSample {
    /// The servers of a source that reports no `BACKEND` row.
    fn from(servers: Vec<ServerSample>) -> BackendSample {
        BackendSample {
            status: None,
            servers,
        }
    }
}

/// One Eureka instance as a source reports it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct InstanceSample {
    pub instance_id: String,
    pub app: String,
    pub host_name: Option<String>,
    pub ip_addr: Option<String>,
    pub port: Option<u16>,
    /// Status exactly as Eureka writes it.
    pub status: String,
    pub health_check_url: Option<String>,
    pub home_page_url: Option<String>,
    pub status_page_url: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// The status an operator forced (`overriddenStatus`; normally `UNKNOWN`), when
    /// the source reports one.
    pub overridden_status: Option<String>,
    /// `ADDED`, `MODIFIED` or `DELETED`: what a delta did to the instance. Full
    /// registry documents carry it too, where it means nothing.
    pub action_type: Option<String>,
    /// `ipAddr:port`, or `ipAddr:securePort` when only the secure port is enabled.
    pub endpoint: Option<String>,
    /// What `leaseInfo` says, when the source reports it.
    pub lease: Option<Lease>,
    /// The instance's `lastUpdatedTimestamp` (registry clock), when reported.
    pub last_updated_at: Option<Ts>,
}

/// An instance's lease as Eureka reports it in `leaseInfo`; fields the source does
/// not give stay absent (never zero).
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Lease {
    /// `lastRenewalTimestamp`, on the registry's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_renewal_at: Option<Ts>,
    /// `durationInSecs`: how long the registry keeps an instance that stops renewing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<u64>,
    /// `renewalIntervalInSecs`: how often the instance renews.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_interval_s: Option<u64>,
    /// Seconds since the last renewal, measured on the registry's clock (see
    /// `docs/drift.md`); set by watchpost, not by the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_s: Option<u64>,
}

/// One application of a Eureka fetch: its instances, or why they could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppSample {
    pub name: String,
    pub instances: Result<Vec<InstanceSample>, String>,
}

/// What one successful fetch returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// One HAProxy backend (shared: one fetch of a stats source serves every
    /// backend of its round).
    Servers(std::sync::Arc<BackendSample>),
    /// One HAProxy backend of a stats round that read exactly as its committed
    /// state but for each server's `lastchg`: the round keeps no copy of what
    /// it already knows (see [`SameRead`]).
    Same(std::sync::Arc<SameRead>),
    /// Every application of one Eureka server.
    Applications(Vec<AppSample>),
}

/// A backend read that matched `basis`, the committed state it was compared
/// with while the answer was read: the same `BACKEND` status and the same
/// servers in the same order (name, status, weight, check status, address), with
/// each server's `lastchg` as read. [`SameRead::sample`] gives the read back in
/// full, so a state that changed since is brought up to date like with any read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SameRead {
    pub basis: std::sync::Arc<TargetState>,
    /// One per server of `basis`, in its order.
    pub last_change_s: Box<[Option<u64>]>,
}

impl SameRead {
    /// The read in full, as a source would have given it.
    pub fn sample(&self) -> BackendSample {
        let servers = self.basis.servers.iter().zip(self.last_change_s.iter());
        BackendSample {
            status: self.basis.backend_state.clone(),
            servers: servers.map(|(r, &lastchg)| r.sample(lastchg)).collect(),
        }
    }
}

/// A server of a backend as we keep and show it. On the wire its name and
/// address are two fields, as in [`ServerRecordWire`].
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(from = "ServerRecordWire")]
pub struct ServerRecord {
    /// The name and the address (`None` where the source gives none).
    pub name_addr: NameAddr,
    /// As HAProxy wrote it, or `no data` while the backend's fetch fails
    /// (interned, like the check status and the last known status).
    pub status: Shared,
    pub state: ServerState,
    pub weight: Option<u32>,
    pub check_status: Option<Shared>,
    /// HAProxy's `lastchg`: refreshed in place by routine polls.
    pub last_change_s: Live<u64>,
    /// The last status actually read from the source.
    pub last_known_status: Option<Shared>,
    /// The last state actually read from the source.
    pub last_known_state: ServerState,
}

/// A [`ServerRecord`] as stored (fields in this order).
#[derive(Deserialize)]
pub struct ServerRecordWire {
    pub name: String,
    #[serde(deserialize_with = "intern::de_interned")]
    pub status: Shared,
    pub state: ServerState,
    pub weight: Option<u32>,
    #[serde(default, deserialize_with = "intern::de_interned_opt")]
    pub check_status: Option<Shared>,
    pub last_change_s: Live<u64>,
    pub addr: Option<String>,
    #[serde(default, deserialize_with = "intern::de_interned_opt")]
    pub last_known_status: Option<Shared>,
    pub last_known_state: ServerState,
}

impl From<ServerRecordWire> for ServerRecord {
    fn from(w: ServerRecordWire) -> ServerRecord {
        ServerRecord {
            name_addr: NameAddr::new(&w.name, w.addr.as_deref()),
            status: w.status,
            state: w.state,
            weight: w.weight,
            check_status: w.check_status,
            last_change_s: w.last_change_s,
            last_known_status: w.last_known_status,
            last_known_state: w.last_known_state,
        }
    }
}

impl Serialize for ServerRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut st = s.serialize_struct("ServerRecord", 9)?;
        st.serialize_field("name", self.name())?;
        st.serialize_field("status", &*self.status)?;
        st.serialize_field("state", &self.state)?;
        st.serialize_field("weight", &self.weight)?;
        st.serialize_field("check_status", &self.check_status.as_deref())?;
        st.serialize_field("last_change_s", &self.last_change_s)?;
        st.serialize_field("addr", &self.addr())?;
        st.serialize_field("last_known_status", &self.last_known_status.as_deref())?;
        st.serialize_field("last_known_state", &self.last_known_state)?;
        st.end()
    }
}

/// What two reads of a server must share to be the same read: everything a row
/// gives but `lastchg`, a poll time. A read of a backend whose servers all read
/// as committed is routine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerRead<'a> {
    pub name: &'a str,
    pub status: &'a str,
    pub weight: Option<u32>,
    pub check_status: Option<&'a str>,
    pub addr: Option<&'a str>,
}

impl ServerSample {
    /// This row as a read to compare.
    pub fn read(&self) -> ServerRead<'_> {
        ServerRead {
            name: &self.name,
            status: &self.status,
            weight: self.weight,
            check_status: self.check_status.as_deref(),
            addr: self.addr.as_deref(),
        }
    }
}

impl ServerRecord {
    pub fn name(&self) -> &str {
        self.name_addr.name()
    }

    pub fn addr(&self) -> Option<&str> {
        self.name_addr.addr()
    }

    /// The committed server as a read to compare.
    pub fn read(&self) -> ServerRead<'_> {
        ServerRead {
            name: self.name(),
            status: &self.status,
            weight: self.weight,
            check_status: self.check_status.as_deref(),
            addr: self.addr(),
        }
    }

    /// The row this record was read from, with `last_change_s` as `lastchg`.
    pub fn sample(&self, last_change_s: Option<u64>) -> ServerSample {
        ServerSample {
            name: self.name().to_string(),
            status: self.status.clone(),
            weight: self.weight,
            check_status: self.check_status.clone(),
            last_change_s,
            addr: self.addr().map(str::to_string),
        }
    }
}

/// A string shared between copies of the state (a Eureka instance's fields): a
/// plain string on the wire.
pub type Shared = std::sync::Arc<str>;

/// A Eureka instance as we keep and show it.
///
/// Its strings and metadata are shared (`Arc`): a copy of the state (the next one
/// being built from the committed one) shares them, and a fetch replaces only
/// what changed. Its host name, address, URLs and endpoint are one block
/// ([`InstanceTexts`]). On the wire they are plain strings and maps, the fields
/// of [`InstanceRecordWire`].
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(from = "InstanceRecordWire")]
pub struct InstanceRecord {
    pub instance_id: Shared,
    pub app: Shared,
    pub texts: InstanceTexts,
    pub port: Option<u16>,
    /// As Eureka wrote it, or `no data` while its application's fetch fails.
    pub status: Shared,
    pub state: InstanceState,
    pub last_known_status: Option<Shared>,
    pub last_known_state: InstanceState,
    pub metadata: std::sync::Arc<BTreeMap<String, String>>,
    /// Set while the instance is absent from successful fetches.
    pub removed_at: Option<Ts>,
    /// The instance's lease, when the source reports one.
    pub lease: Option<Lease>,
    /// `lastUpdatedTimestamp` on the registry's clock, when reported.
    pub last_updated_at: Option<Ts>,
    /// The last renewal is older than the lease (plus one poll interval): the
    /// registry should have evicted the instance and keeps it.
    pub lease_expired: bool,
}

/// An instance's host name, address, health check, home page and status page
/// URLs and endpoint, in one block, in this order.
pub type InstanceTexts = TextPack<6>;

impl InstanceRecord {
    /// The texts of [`InstanceTexts`], in their order.
    pub fn texts_of<'a>(
        host_name: Option<&'a str>,
        ip_addr: Option<&'a str>,
        health_check_url: Option<&'a str>,
        home_page_url: Option<&'a str>,
        status_page_url: Option<&'a str>,
        endpoint: Option<&'a str>,
    ) -> [Option<&'a str>; 6] {
        [
            host_name,
            ip_addr,
            health_check_url,
            home_page_url,
            status_page_url,
            endpoint,
        ]
    }

    pub fn host_name(&self) -> Option<&str> {
        self.texts.get(0)
    }

    pub fn ip_addr(&self) -> Option<&str> {
        self.texts.get(1)
    }

    pub fn health_check_url(&self) -> Option<&str> {
        self.texts.get(2)
    }

    pub fn home_page_url(&self) -> Option<&str> {
        self.texts.get(3)
    }

    pub fn status_page_url(&self) -> Option<&str> {
        self.texts.get(4)
    }

    /// `ipAddr:port` (or `ipAddr:securePort`): matched against HAProxy addresses.
    pub fn endpoint(&self) -> Option<&str> {
        self.texts.get(5)
    }
}

/// An [`InstanceRecord`] as stored: fields in this order.
#[derive(Serialize, Deserialize)]
pub struct InstanceRecordWire<S = Shared, M = std::sync::Arc<BTreeMap<String, String>>> {
    pub instance_id: S,
    pub app: S,
    pub host_name: Option<S>,
    pub ip_addr: Option<S>,
    pub port: Option<u16>,
    #[serde(deserialize_with = "intern::de_interned")]
    pub status: Shared,
    pub state: InstanceState,
    #[serde(default, deserialize_with = "intern::de_interned_opt")]
    pub last_known_status: Option<Shared>,
    pub last_known_state: InstanceState,
    pub health_check_url: Option<S>,
    pub home_page_url: Option<S>,
    pub status_page_url: Option<S>,
    pub metadata: M,
    pub removed_at: Option<Ts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<S>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated_at: Option<Ts>,
    #[serde(default)]
    pub lease_expired: bool,
}

impl From<InstanceRecordWire> for InstanceRecord {
    fn from(w: InstanceRecordWire) -> InstanceRecord {
        let texts = TextPack::new(InstanceRecord::texts_of(
            w.host_name.as_deref(),
            w.ip_addr.as_deref(),
            w.health_check_url.as_deref(),
            w.home_page_url.as_deref(),
            w.status_page_url.as_deref(),
            w.endpoint.as_deref(),
        ));
        InstanceRecord {
            instance_id: w.instance_id,
            app: w.app,
            texts,
            port: w.port,
            status: w.status,
            state: w.state,
            last_known_status: w.last_known_status,
            last_known_state: w.last_known_state,
            metadata: w.metadata,
            removed_at: w.removed_at,
            lease: w.lease,
            last_updated_at: w.last_updated_at,
            lease_expired: w.lease_expired,
        }
    }
}

impl Serialize for InstanceRecord {
    fn serialize<Ser: serde::Serializer>(&self, s: Ser) -> Result<Ser::Ok, Ser::Error> {
        let wire: InstanceRecordWire<&str, &BTreeMap<String, String>> = InstanceRecordWire {
            instance_id: &self.instance_id,
            app: &self.app,
            host_name: self.host_name(),
            ip_addr: self.ip_addr(),
            port: self.port,
            status: self.status.clone(),
            state: self.state,
            last_known_status: self.last_known_status.clone(),
            last_known_state: self.last_known_state,
            health_check_url: self.health_check_url(),
            home_page_url: self.home_page_url(),
            status_page_url: self.status_page_url(),
            metadata: &self.metadata,
            removed_at: self.removed_at,
            endpoint: self.endpoint(),
            lease: self.lease.clone(),
            last_updated_at: self.last_updated_at,
            lease_expired: self.lease_expired,
        };
        wire.serialize(s)
    }
}

/// A Eureka application with its own fetch status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRecord {
    pub name: String,
    pub last_fetch_status: FetchStatus,
    pub last_fetch_error: Option<String>,
    pub last_fetch_at: Option<Ts>,
    pub instances: Vec<InstanceRecord>,
}

/// Circuit breaker details of a target, mirrored from its poller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
pub struct CircuitInfo {
    pub state: CircuitState,
    pub failure_threshold: u32,
    pub last_state_change: Option<Ts>,
    pub next_attempt_at: Option<Ts>,
    /// How many times the circuit has opened since the target was added.
    pub opened_count: u32,
}

/// Where a target comes from, fixed when it is added.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetMeta {
    pub id: String,
    pub kind: TargetKind,
    /// The `[[haproxy]]` or `[[eureka]]` name, one string for all its targets.
    pub group: Shared,
    pub source: SourceKind,
    /// The backend, for HAProxy targets.
    pub backend_name: Option<String>,
    pub failure_threshold: u32,
}

/// Everything we know about one target. Stored in redb and served by the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetState {
    pub id: String,
    pub kind: TargetKind,
    /// Shared with the target's other states and the other targets of its group.
    pub group: Shared,
    pub source: SourceKind,
    pub backend_name: Option<String>,
    pub enable_polling: bool,
    pub last_fetch_status: FetchStatus,
    pub last_fetch_error: Option<String>,
    /// Refreshed in place by routine polls, like `last_success_at`.
    pub last_fetch_at: Live<Ts>,
    pub last_success_at: Live<Ts>,
    pub last_failure_at: Option<Ts>,
    pub consecutive_failures: u32,
    pub circuit: CircuitInfo,
    pub restarts: u32,
    pub recovery_attempts: u32,
    /// Boxed: most targets never had one.
    pub last_recovery: Option<Box<RecoveryOutcome>>,
    pub servers: Vec<ServerRecord>,
    /// HAProxy targets: servers up out of all servers, as of the last successful
    /// fetch (kept while the fetch fails: no data is not down).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<Capacity>,
    /// HAProxy targets: the BACKEND row's status (`UP`, `DOWN`) where the source
    /// reports one.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "intern::de_interned_opt"
    )]
    pub backend_state: Option<Shared>,
    pub applications: Vec<AppRecord>,
    /// Eureka only: at least 15 % (and at least 2) of the instances have expired
    /// leases, so the registry is probably in self-preservation.
    #[serde(default)]
    pub self_preservation_suspected: bool,
}

/// Servers of a backend whose state is `up`, out of all its servers (MAINT and
/// DRAIN servers count in `total` only).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Capacity {
    pub up: u32,
    pub total: u32,
}

impl Capacity {
    /// The capacity of a list of servers.
    pub fn of(servers: &[ServerRecord]) -> Capacity {
        let up = servers
            .iter()
            .filter(|s| s.state == ServerState::Up)
            .count();
        Capacity {
            up: up as u32,
            total: servers.len() as u32,
        }
    }
}

impl TargetState {
    /// A target that has never been polled.
    pub fn new(meta: &TargetMeta) -> TargetState {
        TargetState {
            id: meta.id.clone(),
            kind: meta.kind,
            group: meta.group.clone(),
            source: meta.source,
            backend_name: meta.backend_name.clone(),
            enable_polling: true,
            last_fetch_status: FetchStatus::Unknown,
            last_fetch_error: None,
            last_fetch_at: Live::default(),
            last_success_at: Live::default(),
            last_failure_at: None,
            consecutive_failures: 0,
            circuit: CircuitInfo {
                failure_threshold: meta.failure_threshold,
                ..CircuitInfo::default()
            },
            restarts: 0,
            recovery_attempts: 0,
            last_recovery: None,
            servers: Vec::new(),
            capacity: None,
            backend_state: None,
            applications: Vec::new(),
            self_preservation_suspected: false,
        }
    }
}

/// Something that happened to a target; the input of [`crate::diff::diff`].
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    pub target: String,
    pub at: Ts,
    pub kind: ObservationKind,
}

impl ObservationKind {
    /// Whether this is the result of a poll (data or a failed fetch).
    pub fn is_poll(&self) -> bool {
        matches!(
            self,
            ObservationKind::Fetched(_) | ObservationKind::FetchFailed { .. }
        )
    }
}

/// What happened.
#[derive(Clone, Debug, PartialEq)]
pub enum ObservationKind {
    /// The target is (re)configured; creates it if new. (The larger variants are
    /// boxed: 10,000 observations wait in flight during a round.)
    Registered(Box<TargetMeta>),
    /// The target left the configuration or its backend vanished.
    Removed { reason: String },
    /// A poll returned data.
    Fetched(Payload),
    /// A poll failed (after its retries).
    FetchFailed {
        error: String,
        kind: crate::sources::FetchErrorKind,
    },
    /// The poller's breaker changed state.
    Circuit {
        state: CircuitState,
        next_attempt_at: Option<Ts>,
    },
    /// An operator reset the circuit: counters cleared.
    CircuitReset,
    /// Polling enabled or disabled by an operator.
    Polling { enabled: bool },
    /// A recovery action ran.
    Recovery { outcome: Box<RecoveryOutcome> },
    /// An operator asked for a server's admin state to change.
    ServerAction { outcome: Box<ServerActionOutcome> },
    /// The poller was restarted by its supervisor.
    Restarted { reason: String },
    /// Something that happened to an HAProxy instance or a transaction rather than
    /// to one target (`target` is `haproxy/<instance>` or `transaction/<id>`):
    /// recorded as an event, no state changes.
    Instance(Box<EventData>),
}
