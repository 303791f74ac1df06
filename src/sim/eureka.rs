//! The simulated Eureka server: the native REST API with the Spring Cloud layout
//! (base URL `http://127.0.0.1:PORT/eureka`, also served under `/eureka/v2` like the
//! Netflix server), and its control handle [`EurekaSim`].

use std::collections::HashSet;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix_web::web;

use super::eureka_delta::{Action, ChangeQueue};
use super::eureka_doc::{View, view};
use super::eureka_routes::{basic_credentials, routes};
use super::http::{Gate, Host};
use super::registry::Registry;
use super::{Fault, SimInstance, lock};

/// What the handlers read and the control methods change.
pub(crate) struct EurekaShared {
    pub(crate) gate: Gate,
    state: Mutex<EurekaState>,
    /// Requests that said `Accept-Encoding: gzip`.
    pub(crate) gzip_requests: AtomicU64,
}

pub(crate) struct EurekaState {
    registry: Registry,
    changes: ChangeQueue,
    fault: Option<Fault>,
    /// Upper-cased names of apps served without ids.
    without_ids: HashSet<String>,
    delta_enabled: bool,
    corrupt_next_delta: bool,
    /// Answer XML whatever the `Accept` header says.
    pub(crate) xml_only: bool,
    /// Cut every registry document in half.
    pub(crate) truncated: bool,
    /// The `Authorization` header every request must carry, when set.
    pub(crate) authorization: Option<String>,
}

impl EurekaShared {
    pub(crate) fn state(&self) -> MutexGuard<'_, EurekaState> {
        lock(&self.state)
    }

    pub(crate) fn fault(&self) -> Option<Fault> {
        self.state().fault.clone()
    }
}

impl EurekaState {
    /// The whole registry as `GET apps` serves it.
    pub(crate) fn full_view(&self) -> View {
        let entries = self.registry.entries().iter().map(|e| (e, Action::Added));
        view(entries, self.registry.hashcode(), |app| {
            !self.without_ids.contains(app)
        })
    }

    /// The recent changes as `GET apps/delta` serves them, with the hashcode of the
    /// full registry; `None` while deltas are disabled.
    pub(crate) fn delta_view(&mut self) -> Option<View> {
        if !self.delta_enabled {
            return None;
        }
        let mut hashcode = self.registry.hashcode();
        if std::mem::take(&mut self.corrupt_next_delta) {
            hashcode.push_str("LIE_1_");
        }
        let latest = self.changes.latest();
        let entries = latest.iter().map(|(e, a)| (e, *a));
        Some(view(entries, hashcode, |app| {
            !self.without_ids.contains(app)
        }))
    }

    /// Queues the current state of an instance as a change.
    fn queue(&mut self, instance_id: &str, action: Action) {
        if let Some(entry) = self.registry.get(instance_id) {
            self.changes.push(entry.clone(), action);
        }
    }
}

/// A simulated Eureka server on `127.0.0.1`. `GET /eureka/apps` (also with a
/// trailing `/`) answers JSON when the `Accept` header contains `json` and XML
/// otherwise, like the real server, gzip-compressed when the client accepts it.
/// `GET /eureka/apps/delta` answers the changes of the last 3 minutes (retention
/// configurable) with the full registry's hashcode, or 403 while deltas are
/// disabled. Control methods are synchronous and take effect on the next request.
pub struct EurekaSim {
    shared: Arc<EurekaShared>,
    host: Host<EurekaShared>,
}

impl EurekaSim {
    /// Starts serving on `addr` (port 0 picks a free port).
    pub async fn start(addr: SocketAddr, instances: Vec<SimInstance>) -> io::Result<EurekaSim> {
        let state = EurekaState {
            registry: Registry::new(instances),
            changes: ChangeQueue::new(),
            fault: None,
            without_ids: HashSet::new(),
            delta_enabled: true,
            corrupt_next_delta: false,
            xml_only: false,
            truncated: false,
            authorization: None,
        };
        let shared = Arc::new(EurekaShared {
            gate: Gate::new(),
            state: Mutex::new(state),
            gzip_requests: AtomicU64::new(0),
        });
        let host = Host::start(addr, web::Data::from(shared.clone()), routes)?;
        Ok(EurekaSim { shared, host })
    }

    /// Requires HTTP Basic auth with these credentials on every request; others
    /// get 401.
    pub fn with_basic_auth(self, user: &str, password: &str) -> EurekaSim {
        let header = basic_credentials(user, password);
        self.change(|s| s.authorization = Some(header));
        self
    }

    /// The bound address; it stays the same across [`stop`](Self::stop) and
    /// [`resume`](Self::resume).
    pub fn addr(&self) -> SocketAddr {
        self.host.addr()
    }

    /// The base URL for a Eureka client, `http://127.0.0.1:PORT/eureka`.
    pub fn url(&self) -> String {
        format!("http://{}/eureka", self.addr())
    }

    fn change(&self, f: impl FnOnce(&mut EurekaState)) {
        f(&mut self.shared.state());
        self.shared.gate.faults_changed();
    }

    /// Makes every endpoint misbehave (`None` clears it). [`Fault::Envelope`] is
    /// served as a 200 JSON envelope, which is not a registry document.
    pub fn set_fault(&self, fault: Option<Fault>) {
        self.change(|s| s.fault = fault);
    }

    /// Sets an instance's status (an override when it is `OUT_OF_SERVICE`);
    /// unknown ids are ignored.
    pub fn set_instance_status(&self, instance_id: &str, status: &str) {
        self.change(|s| {
            let before = s.registry.get(instance_id).map(|e| e.sim.status.clone());
            s.registry.set_status(instance_id, status);
            if before.is_some_and(|b| b != status) {
                s.queue(instance_id, Action::Modified);
            }
        });
    }

    /// Serves the instance's `lastRenewalTimestamp` as `ago` before each answer, as
    /// for an instance that stopped renewing and was not evicted (Eureka's
    /// self-preservation); `Duration::ZERO` renews it again.
    pub fn set_renewal_lag(&self, instance_id: &str, ago: Duration) {
        self.change(|s| {
            s.registry
                .set_renewal_lag(instance_id, ago.as_millis() as u64)
        });
    }

    /// Registers an instance, replacing one with the same id.
    pub fn add_instance(&self, i: SimInstance) {
        let id = i.instance_id.clone();
        self.change(|s| {
            s.registry.add(i);
            s.queue(&id, Action::Added);
        });
    }

    /// Cancels an instance.
    pub fn remove_instance(&self, instance_id: &str) {
        self.change(|s| {
            s.queue(instance_id, Action::Deleted);
            s.registry.remove(instance_id);
        });
    }

    /// Serves `app`'s instances with no `instanceId` and no `hostName` (and no Amazon
    /// `instance-id`), so that no client can tell them apart; `on = false` restores
    /// them.
    pub fn set_app_without_ids(&self, app: &str, on: bool) {
        let app = app.to_uppercase();
        self.change(|s| {
            match on {
                true => s.without_ids.insert(app),
                false => s.without_ids.remove(&app),
            };
        });
    }

    /// Enables or disables `GET apps/delta` (disabled: 403, as a server with
    /// `disableDelta` answers).
    pub fn set_delta_enabled(&self, on: bool) {
        self.change(|s| s.delta_enabled = on);
    }

    /// How long changes stay in the delta queue (default 3 minutes).
    pub fn set_delta_retention(&self, retention: Duration) {
        self.change(|s| s.changes.set_retention(retention));
    }

    /// The next delta announces a hashcode that no registry has, so that a client
    /// must fall back to a full fetch.
    pub fn corrupt_next_delta_hashcode(&self) {
        self.change(|s| s.corrupt_next_delta = true);
    }

    /// Drops every queued change, as if a client had polled too rarely to see
    /// them; only the hashcode check can then tell that the client missed them.
    pub fn forget_recent_changes(&self) {
        self.change(|s| s.changes.clear());
    }

    /// Answers XML to every request, whatever its `Accept` header (like an old
    /// server or a proxy that rewrites the header).
    pub fn set_xml_only(&self, on: bool) {
        self.change(|s| s.xml_only = on);
    }

    /// Sends only the first half of every registry document (full or delta), as a
    /// connection cut mid-answer would.
    pub fn set_truncated(&self, on: bool) {
        self.change(|s| s.truncated = on);
    }

    /// Requests that accepted a gzip answer (`Accept-Encoding: gzip`).
    pub fn gzip_requests(&self) -> u64 {
        self.shared.gzip_requests.load(Ordering::Relaxed)
    }

    /// Closes the port (connections are refused) and drops open connections.
    pub async fn stop(&self) {
        self.host.stop().await;
    }

    /// Listens again on the same port.
    pub async fn resume(&self) -> io::Result<()> {
        self.host.resume()
    }

    /// Requests answered or accepted so far.
    pub fn requests(&self) -> u64 {
        self.shared.gate.total()
    }

    /// Requests whose path contains `path_substring`.
    pub fn requests_matching(&self, path_substring: &str) -> u64 {
        self.shared.gate.matching(path_substring)
    }
}
