//! The simulated FAgent: its state (HAProxy backends, Eureka instances, faults,
//! recorded actions) and the control handle [`AgentSim`].

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::web;

use super::http::{Gate, Host};
use super::registry::{Entry, Registry};
use super::server::{ServerRow, ServerState};
use super::{Fault, SimBackend, SimInstance, SimServer, lock};

/// The one HAProxy instance the simulated agent knows. Paths with another instance
/// segment answer a 404 envelope.
pub const AGENT_INSTANCE: &str = "default";

/// Which endpoint a request is for, to pick the fault that applies.
pub(crate) enum Scope<'a> {
    /// `.../backends/{backend}/servers`.
    Servers(&'a str),
    /// `/api/v1/eureka/apps`.
    EurekaApps,
    /// Any other path.
    Other,
}

/// Why a server action was refused.
pub(crate) enum ActionError {
    BadAction(String),
    NoBackend(String),
    NoServer(String, String),
}

/// Everything the agent's handlers read and the control methods change.
pub(crate) struct AgentShared {
    pub(crate) gate: Gate,
    state: Mutex<AgentState>,
}

struct AgentState {
    backends: Vec<(String, Vec<ServerState>)>,
    registry: Registry,
    fault: Option<Fault>,
    backend_faults: HashMap<String, Fault>,
    eureka_fault: Option<Fault>,
    actions: Vec<(String, String, String)>,
}

impl AgentState {
    fn backend_mut(&mut self, name: &str) -> Option<&mut Vec<ServerState>> {
        let found = self.backends.iter_mut().find(|(n, _)| n == name);
        found.map(|(_, servers)| servers)
    }

    fn server_mut(&mut self, backend: &str, server: &str) -> Option<&mut ServerState> {
        let servers = self.backend_mut(backend)?;
        servers.iter_mut().find(|s| s.name == server)
    }
}

fn backend_state(b: SimBackend) -> (String, Vec<ServerState>) {
    let servers = b.servers.into_iter().map(ServerState::new).collect();
    (b.name, servers)
}

impl AgentShared {
    fn state(&self) -> MutexGuard<'_, AgentState> {
        lock(&self.state)
    }

    /// The fault for a request: the agent-wide one first, then the endpoint's own.
    pub(crate) fn fault_for(&self, scope: &Scope<'_>) -> Option<Fault> {
        let state = self.state();
        let own = match scope {
            Scope::Servers(backend) => state.backend_faults.get(*backend).cloned(),
            Scope::EurekaApps => state.eureka_fault.clone(),
            Scope::Other => None,
        };
        state.fault.clone().or(own)
    }

    pub(crate) fn backend_names(&self) -> Vec<String> {
        self.state()
            .backends
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// The rows of a backend's servers, `None` for an unknown backend.
    pub(crate) fn server_rows(&self, backend: &str) -> Option<Vec<ServerRow>> {
        let state = self.state();
        let (_, servers) = state.backends.iter().find(|(n, _)| n == backend)?;
        Some(servers.iter().map(ServerState::row).collect())
    }

    /// Applies `drain`, `ready` or `maint` to a server and records it.
    pub(crate) fn apply_action(&self, b: &str, s: &str, action: &str) -> Result<(), ActionError> {
        let status = match action {
            "drain" => "DRAIN",
            "ready" => "UP",
            "maint" => "MAINT",
            other => return Err(ActionError::BadAction(other.to_string())),
        };
        let mut state = self.state();
        if state.backend_mut(b).is_none() {
            return Err(ActionError::NoBackend(b.to_string()));
        }
        let server = state.server_mut(b, s);
        let server = server.ok_or_else(|| ActionError::NoServer(b.to_string(), s.to_string()))?;
        server.set_status(status);
        state
            .actions
            .push((b.to_string(), s.to_string(), action.to_string()));
        Ok(())
    }

    pub(crate) fn instances(&self) -> Vec<Entry> {
        self.state().registry.entries().to_vec()
    }
}

/// A simulated FAgent v1 on `127.0.0.1`: the HAProxy part with one instance named
/// [`AGENT_INSTANCE`] and the Eureka part. Control methods are synchronous and take
/// effect on the next request.
pub struct AgentSim {
    shared: Arc<AgentShared>,
    host: Host<AgentShared>,
}

impl AgentSim {
    /// Starts serving on `addr` (port 0 picks a free port).
    pub async fn start(
        addr: SocketAddr,
        backends: Vec<SimBackend>,
        instances: Vec<SimInstance>,
    ) -> io::Result<AgentSim> {
        let state = AgentState {
            backends: backends.into_iter().map(backend_state).collect(),
            registry: Registry::new(instances),
            fault: None,
            backend_faults: HashMap::new(),
            eureka_fault: None,
            actions: Vec::new(),
        };
        let shared = Arc::new(AgentShared {
            gate: Gate::new(),
            state: Mutex::new(state),
        });
        let data = web::Data::from(shared.clone());
        let host = Host::start(addr, data, super::agent_routes::routes)?;
        Ok(AgentSim { shared, host })
    }

    /// The bound address; it stays the same across [`stop`](Self::stop) and
    /// [`resume`](Self::resume).
    pub fn addr(&self) -> SocketAddr {
        self.host.addr()
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    fn change<R>(&self, f: impl FnOnce(&mut AgentState) -> R) -> R {
        let result = f(&mut self.shared.state());
        self.shared.gate.faults_changed();
        result
    }

    /// Makes every endpoint misbehave (`None` clears it).
    pub fn set_fault(&self, fault: Option<Fault>) {
        self.change(|s| s.fault = fault);
    }

    /// Makes one backend's `.../servers` endpoint misbehave (`None` clears it).
    pub fn set_backend_fault(&self, backend: &str, fault: Option<Fault>) {
        self.change(|s| match fault {
            Some(f) => s.backend_faults.insert(backend.to_string(), f),
            None => s.backend_faults.remove(backend),
        });
    }

    /// Makes `/api/v1/eureka/apps` misbehave (`None` clears it).
    pub fn set_eureka_fault(&self, fault: Option<Fault>) {
        self.change(|s| s.eureka_fault = fault);
    }

    /// Sets a server's status (`UP`, `DOWN 1/3`, `DRAIN`, `MAINT`, ...) with a check
    /// result HAProxy would show with it (`UP` → `L7OK`, `DOWN` → `L4CON`, `MAINT` →
    /// none, as in the captures). Unknown backends or servers are ignored.
    pub fn set_server_status(&self, backend: &str, server: &str, status: &str) {
        self.change(|s| {
            if let Some(srv) = s.server_mut(backend, server) {
                srv.set_status(status);
            }
        });
    }

    /// Adds a backend, replacing one with the same name.
    pub fn add_backend(&self, b: SimBackend) {
        self.change(|s| {
            let (name, servers) = backend_state(b);
            match s.backend_mut(&name) {
                Some(existing) => *existing = servers,
                None => s.backends.push((name, servers)),
            }
        });
    }

    /// Removes a backend; its `.../servers` endpoint then answers the 404 envelope.
    pub fn remove_backend(&self, name: &str) {
        self.change(|s| s.backends.retain(|(n, _)| n != name));
    }

    /// Sets an Eureka instance's status; unknown ids are ignored.
    pub fn set_instance_status(&self, instance_id: &str, status: &str) {
        self.change(|s| s.registry.set_status(instance_id, status));
    }

    /// Registers an Eureka instance, replacing one with the same id.
    pub fn add_instance(&self, i: SimInstance) {
        self.change(|s| s.registry.add(i));
    }

    /// Cancels an Eureka instance.
    pub fn remove_instance(&self, instance_id: &str) {
        self.change(|s| s.registry.remove(instance_id));
    }

    /// Closes the port (connections are refused) and drops open connections.
    pub async fn stop(&self) {
        self.host.stop().await;
    }

    /// Listens again on the same port.
    pub async fn resume(&self) -> io::Result<()> {
        self.host.resume()
    }

    /// Requests answered or accepted so far, on every path.
    pub fn requests(&self) -> u64 {
        self.shared.gate.total()
    }

    /// Requests whose path contains `path_substring`.
    pub fn requests_matching(&self, path_substring: &str) -> u64 {
        self.shared.gate.matching(path_substring)
    }

    /// `(backend, server, action)` for every accepted `POST .../action`, in order.
    pub fn server_actions(&self) -> Vec<(String, String, String)> {
        self.shared.state().actions.clone()
    }

    /// A server's current state as a [`SimServer`], `None` if unknown.
    pub fn server(&self, backend: &str, server: &str) -> Option<SimServer> {
        self.shared
            .state()
            .server_mut(backend, server)
            .map(|s| s.sim())
    }
}
