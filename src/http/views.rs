//! JSON shapes of the API (docs/api.md), built from the committed target states.
//! Each shape is a type: it is what the handlers serialise and what the OpenAPI
//! description (docs/openapi.json) is generated from.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::model::{
    AppRecord, Capacity, CircuitInfo, CircuitState, FetchStatus, InstanceState, Lease,
    RecoveryOutcome, ServerRecord, ServerState, SourceKind, TargetKind, TargetState, Ts,
};

/// A server of an HAProxy backend.
#[derive(Serialize, ToSchema)]
pub struct ServerView {
    pub name: String,
    /// As HAProxy wrote it, or `no data` while the backend cannot be read.
    pub status: String,
    pub state: ServerState,
    pub weight: Option<u32>,
    pub check_status: Option<String>,
    /// Seconds since the last UP/DOWN transition, as of the last successful fetch.
    pub last_change_s: Option<u64>,
    pub addr: Option<String>,
    /// The same as `addr`.
    pub address: Option<String>,
    /// The last status actually read from the source.
    pub last_known_status: Option<String>,
}

impl From<&ServerRecord> for ServerView {
    fn from(s: &ServerRecord) -> ServerView {
        ServerView {
            name: s.name().to_string(),
            status: s.status.to_string(),
            state: s.state,
            weight: s.weight,
            check_status: owned(&s.check_status),
            last_change_s: s.last_change_s.get(),
            addr: s.addr().map(str::to_string),
            address: s.addr().map(str::to_string),
            last_known_status: owned(&s.last_known_status),
        }
    }
}

/// A backend with its servers, for `/api/haproxy/backends`.
#[derive(Serialize, ToSchema)]
pub struct BackendView {
    pub id: String,
    /// The `[[haproxy]]` name.
    pub haproxy: String,
    pub backend_name: Option<String>,
    /// `agent`, `stats` or `socket`.
    pub source: SourceKind,
    pub enable_polling: bool,
    pub last_fetch_status: FetchStatus,
    pub last_fetch_error: Option<String>,
    pub last_fetch_at: Option<Ts>,
    pub last_success_at: Option<Ts>,
    pub consecutive_failures: u32,
    pub circuit_state: CircuitState,
    pub next_attempt_at: Option<Ts>,
    /// Servers up out of all servers, `null` before the first successful fetch.
    pub capacity: Option<Capacity>,
    /// The backend's own state as the source reports it, when it does.
    pub backend_state: Option<String>,
    pub servers: Vec<ServerView>,
    /// Whether the storage cannot commit, so newer polls are not reflected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale: Option<bool>,
}

pub fn backend(t: &TargetState) -> BackendView {
    BackendView {
        id: t.id.clone(),
        haproxy: t.group.to_string(),
        backend_name: t.backend_name.clone(),
        source: t.source,
        enable_polling: t.enable_polling,
        last_fetch_status: t.last_fetch_status,
        last_fetch_error: t.last_fetch_error.clone(),
        last_fetch_at: t.last_fetch_at.get(),
        last_success_at: t.last_success_at.get(),
        consecutive_failures: t.consecutive_failures,
        circuit_state: t.circuit.state,
        next_attempt_at: t.circuit.next_attempt_at,
        capacity: t.capacity,
        backend_state: t.backend_state.as_deref().map(str::to_string),
        servers: t.servers.iter().map(ServerView::from).collect(),
        stale: None,
    }
}

/// The fetch status of one Eureka application.
#[derive(Serialize, ToSchema)]
pub struct AppFetch {
    pub name: String,
    pub last_fetch_status: FetchStatus,
    pub last_fetch_error: Option<String>,
    pub last_fetch_at: Option<Ts>,
}

fn app_fetch(app: &AppRecord) -> AppFetch {
    AppFetch {
        name: app.name.clone(),
        last_fetch_status: app.last_fetch_status,
        last_fetch_error: app.last_fetch_error.clone(),
        last_fetch_at: app.last_fetch_at,
    }
}

/// A Eureka instance, for `/api/eureka/instances`.
#[derive(Serialize, ToSchema)]
pub struct InstanceView {
    pub instance_id: String,
    pub app: String,
    /// The `[[eureka]]` (or FAgent) name.
    pub eureka_server: String,
    /// The target id (`eureka/<name>`).
    pub target: String,
    pub host_name: Option<String>,
    pub ip_addr: Option<String>,
    pub port: Option<u16>,
    /// As Eureka wrote it, or `no data` while its application cannot be read.
    pub status: String,
    pub state: InstanceState,
    pub last_known_status: Option<String>,
    /// Set while the instance is absent from successful fetches.
    pub removed_at: Option<Ts>,
    pub health_check_url: Option<String>,
    pub home_page_url: Option<String>,
    pub status_page_url: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub eureka_application: AppFetch,
    /// `ipAddr:port`, or `ipAddr:securePort` when only the secure port is enabled.
    pub endpoint: Option<String>,
    /// What `leaseInfo` says, when the source reports it.
    pub lease: Option<Lease>,
    /// Whether the lease has run out on the registry's clock (docs/drift.md).
    pub lease_expired: bool,
    /// Whether the storage cannot commit, so newer polls are not reflected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale: Option<bool>,
}

/// Every instance of a Eureka target, for `/api/eureka/instances`.
pub fn instances(t: &TargetState) -> impl Iterator<Item = InstanceView> + '_ {
    t.applications.iter().flat_map(move |app| {
        app.instances.iter().map(move |i| InstanceView {
            instance_id: i.instance_id.to_string(),
            app: i.app.to_string(),
            eureka_server: t.group.to_string(),
            target: t.id.clone(),
            host_name: i.host_name().map(str::to_string),
            ip_addr: i.ip_addr().map(str::to_string),
            port: i.port,
            status: i.status.to_string(),
            state: i.state,
            last_known_status: owned(&i.last_known_status),
            removed_at: i.removed_at,
            health_check_url: i.health_check_url().map(str::to_string),
            home_page_url: i.home_page_url().map(str::to_string),
            status_page_url: i.status_page_url().map(str::to_string),
            metadata: (*i.metadata).clone(),
            eureka_application: app_fetch(app),
            endpoint: i.endpoint().map(str::to_string),
            lease: i.lease.clone(),
            lease_expired: i.lease_expired,
            stale: None,
        })
    })
}

/// A shared string of a record as the view's own.
fn owned(s: &Option<crate::model::Shared>) -> Option<String> {
    s.as_deref().map(str::to_string)
}

/// Instances of an application by state; `removed` ones are not in `total`.
#[derive(Serialize, ToSchema)]
pub struct InstanceCounts {
    pub total: usize,
    pub up: usize,
    pub down: usize,
    pub starting: usize,
    pub out_of_service: usize,
    pub unknown: usize,
    pub removed: usize,
}

/// A Eureka application with its fetch status and instance counts.
#[derive(Serialize, ToSchema)]
pub struct ApplicationView {
    #[serde(flatten)]
    pub fetch: AppFetch,
    pub eureka_server: String,
    pub target: String,
    pub instances: InstanceCounts,
    /// Whether the storage cannot commit, so newer polls are not reflected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale: Option<bool>,
}

/// Every application of a Eureka target with counts, for `/api/eureka/applications`.
pub fn applications(t: &TargetState) -> impl Iterator<Item = ApplicationView> + '_ {
    t.applications.iter().map(move |app| {
        let live = || app.instances.iter().filter(|i| i.removed_at.is_none());
        let count = |s: InstanceState| live().filter(|i| i.state == s).count();
        ApplicationView {
            fetch: app_fetch(app),
            eureka_server: t.group.to_string(),
            target: t.id.clone(),
            instances: InstanceCounts {
                total: live().count(),
                up: count(InstanceState::Up),
                down: count(InstanceState::Down),
                starting: count(InstanceState::Starting),
                out_of_service: count(InstanceState::OutOfService),
                unknown: count(InstanceState::Unknown),
                removed: app.instances.len() - live().count(),
            },
            stale: None,
        }
    })
}

/// Whether a Eureka server's last fetch succeeded, for the `servers` list of
/// `/api/eureka/applications` and `/api/eureka/instances`: an empty list of
/// applications is then never mistaken for a registry without applications.
#[derive(Serialize, ToSchema)]
pub struct EurekaServerView {
    pub name: String,
    pub target: String,
    /// `eureka` or `agent`.
    pub source: SourceKind,
    pub last_fetch_status: FetchStatus,
    pub last_fetch_error: Option<String>,
    pub last_fetch_at: Option<Ts>,
    pub last_success_at: Option<Ts>,
    pub circuit_state: CircuitState,
}

pub fn eureka_server(t: &TargetState) -> EurekaServerView {
    EurekaServerView {
        name: t.group.to_string(),
        target: t.id.clone(),
        source: t.source,
        last_fetch_status: t.last_fetch_status,
        last_fetch_error: t.last_fetch_error.clone(),
        last_fetch_at: t.last_fetch_at.get(),
        last_success_at: t.last_success_at.get(),
        circuit_state: t.circuit.state,
    }
}

/// A target's status and details, for `/api/targets`.
#[derive(Serialize, ToSchema)]
pub struct TargetView {
    pub id: String,
    pub kind: TargetKind,
    /// The `[[haproxy]]` or `[[eureka]]` name.
    pub group: String,
    /// `agent`, `stats`, `socket` (HAProxy), `eureka` or `agent` (Eureka).
    pub source: SourceKind,
    pub backend_name: Option<String>,
    pub enable_polling: bool,
    pub last_fetch_status: FetchStatus,
    pub last_fetch_error: Option<String>,
    pub last_fetch_at: Option<Ts>,
    pub last_success_at: Option<Ts>,
    pub last_failure_at: Option<Ts>,
    pub consecutive_failures: u32,
    pub circuit_state: CircuitState,
    pub circuit: CircuitInfo,
    pub restarts: u32,
    pub recovery_attempts: u32,
    /// The data of the last `recovery_attempted` event.
    pub last_recovery: Option<RecoveryOutcome>,
    /// Eureka servers only: whether the registry looks to be in self-preservation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_preservation_suspected: Option<bool>,
    /// Whether the storage cannot commit, so newer polls are not reflected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale: Option<bool>,
}

pub fn target(t: &TargetState) -> TargetView {
    TargetView {
        id: t.id.clone(),
        kind: t.kind,
        group: t.group.to_string(),
        source: t.source,
        backend_name: t.backend_name.clone(),
        enable_polling: t.enable_polling,
        last_fetch_status: t.last_fetch_status,
        last_fetch_error: t.last_fetch_error.clone(),
        last_fetch_at: t.last_fetch_at.get(),
        last_success_at: t.last_success_at.get(),
        last_failure_at: t.last_failure_at,
        consecutive_failures: t.consecutive_failures,
        circuit_state: t.circuit.state,
        circuit: t.circuit.clone(),
        restarts: t.restarts,
        recovery_attempts: t.recovery_attempts,
        last_recovery: t.last_recovery.as_deref().cloned(),
        self_preservation_suspected: (t.kind == TargetKind::EurekaServer)
            .then_some(t.self_preservation_suspected),
        stale: None,
    }
}

/// A target with everything it holds, for `/api/targets/{id}`: `servers` for an
/// HAProxy backend, `applications` and `instances` for a Eureka server.
#[derive(Serialize, ToSchema)]
pub struct TargetDetail {
    #[serde(flatten)]
    pub target: TargetView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub servers: Option<Vec<ServerView>>,
    /// HAProxy backends only, as in `/api/haproxy/backends`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Capacity>)]
    pub capacity: Option<Option<Capacity>>,
    /// HAProxy backends only, as in `/api/haproxy/backends`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub backend_state: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applications: Option<Vec<ApplicationView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instances: Option<Vec<InstanceView>>,
}

pub fn target_detail(t: &TargetState) -> TargetDetail {
    let eureka = t.kind == TargetKind::EurekaServer;
    TargetDetail {
        target: target(t),
        servers: (!eureka).then(|| t.servers.iter().map(ServerView::from).collect()),
        capacity: (!eureka).then_some(t.capacity),
        backend_state: (!eureka).then(|| t.backend_state.as_deref().map(str::to_string)),
        applications: eureka.then(|| applications(t).collect()),
        instances: eureka.then(|| instances(t).collect()),
    }
}

/// The overall verdict of `/api/health`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Healthy,
    Degraded,
    Unhealthy,
}

/// Counts of targets by fetch status, for `/api/health`.
#[derive(Serialize, ToSchema)]
pub struct HealthCounts {
    pub total: usize,
    pub success: usize,
    pub failed: usize,
    pub unknown: usize,
    /// Targets whose circuit is `open` or `half_open`.
    pub circuit_open: usize,
}

pub fn health_counts<'a>(
    targets: impl Iterator<Item = &'a TargetState>,
) -> (HealthCounts, Verdict) {
    let mut c = HealthCounts {
        total: 0,
        success: 0,
        failed: 0,
        unknown: 0,
        circuit_open: 0,
    };
    for t in targets {
        c.total += 1;
        match t.last_fetch_status {
            FetchStatus::Success => c.success += 1,
            FetchStatus::Failed => c.failed += 1,
            FetchStatus::Unknown => c.unknown += 1,
        }
        if t.circuit.state != CircuitState::Closed {
            c.circuit_open += 1;
        }
    }
    let verdict = if c.total > 0 && c.failed == c.total {
        Verdict::Unhealthy
    } else if c.failed > 0 || c.circuit_open > 0 {
        Verdict::Degraded
    } else {
        Verdict::Healthy
    };
    (c, verdict)
}
