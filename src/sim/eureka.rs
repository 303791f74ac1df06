//! The simulated Eureka server: the native REST API with the Spring Cloud layout
//! (base URL `http://127.0.0.1:PORT/eureka`), and its control handle [`EurekaSim`].

use std::collections::HashSet;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::http::header::ACCEPT;
use actix_web::{HttpRequest, HttpResponse, web};

use super::eureka_doc::{to_json, to_xml, view};
use super::http::{Gate, Host};
use super::registry::Registry;
use super::{Fault, SimInstance, lock};

/// What the handlers read and the control methods change.
struct EurekaShared {
    gate: Gate,
    state: Mutex<EurekaState>,
}

struct EurekaState {
    registry: Registry,
    fault: Option<Fault>,
    /// Upper-cased names of apps served without ids.
    without_ids: HashSet<String>,
}

impl EurekaShared {
    fn state(&self) -> MutexGuard<'_, EurekaState> {
        lock(&self.state)
    }

    fn fault(&self) -> Option<Fault> {
        self.state().fault.clone()
    }
}

/// A simulated Eureka server on `127.0.0.1`. `GET /eureka/apps` (also with a
/// trailing `/`) answers JSON when the `Accept` header contains `json` and XML
/// otherwise, like the real server; `GET /eureka/apps/delta` answers 403 (deltas
/// disabled), which tells clients to do a full fetch. Control methods are
/// synchronous and take effect on the next request.
pub struct EurekaSim {
    shared: Arc<EurekaShared>,
    host: Host<EurekaShared>,
}

impl EurekaSim {
    /// Starts serving on `addr` (port 0 picks a free port).
    pub async fn start(addr: SocketAddr, instances: Vec<SimInstance>) -> io::Result<EurekaSim> {
        let state = EurekaState {
            registry: Registry::new(instances),
            fault: None,
            without_ids: HashSet::new(),
        };
        let shared = Arc::new(EurekaShared {
            gate: Gate::new(),
            state: Mutex::new(state),
        });
        let host = Host::start(addr, web::Data::from(shared.clone()), routes)?;
        Ok(EurekaSim { shared, host })
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

    /// Sets an instance's status; unknown ids are ignored.
    pub fn set_instance_status(&self, instance_id: &str, status: &str) {
        self.change(|s| s.registry.set_status(instance_id, status));
    }

    /// Registers an instance, replacing one with the same id.
    pub fn add_instance(&self, i: SimInstance) {
        self.change(|s| s.registry.add(i));
    }

    /// Cancels an instance.
    pub fn remove_instance(&self, instance_id: &str) {
        self.change(|s| s.registry.remove(instance_id));
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

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/eureka/apps", web::get().to(apps))
        .route("/eureka/apps/", web::get().to(apps))
        .route("/eureka/apps/delta", web::get().to(delta))
        .default_service(web::to(not_found));
}

async fn admit(req: &HttpRequest, sim: &EurekaShared) -> Option<HttpResponse> {
    sim.gate.admit(req.path(), || sim.fault()).await
}

async fn apps(req: HttpRequest, sim: web::Data<EurekaShared>) -> HttpResponse {
    if let Some(answer) = admit(&req, &sim).await {
        return answer;
    }
    let view = {
        let state = sim.state();
        view(state.registry.entries(), |app| {
            !state.without_ids.contains(app)
        })
    };
    let accept = req.headers().get(ACCEPT).and_then(|v| v.to_str().ok());
    if accept.is_some_and(|a| a.contains("json")) {
        let body = to_json(&view);
        HttpResponse::Ok()
            .content_type("application/json")
            .body(body)
    } else {
        HttpResponse::Ok()
            .content_type("application/xml")
            .body(to_xml(&view))
    }
}

async fn delta(req: HttpRequest, sim: web::Data<EurekaShared>) -> HttpResponse {
    if let Some(answer) = admit(&req, &sim).await {
        return answer;
    }
    HttpResponse::Forbidden().finish()
}

async fn not_found(req: HttpRequest, sim: web::Data<EurekaShared>) -> HttpResponse {
    if let Some(answer) = admit(&req, &sim).await {
        return answer;
    }
    HttpResponse::NotFound().finish()
}
