//! FAgent v1 endpoints of the simulated agent, answering with FAgent's JSON
//! envelope: `{"success":true,"status_code":200,"data":{..}}` or
//! `{"success":false,"status_code":..,"error":".."}`.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::agent::{AGENT_INSTANCE, ActionError, AgentShared, Scope};
use super::http::{envelope_error, envelope_ok};
use super::registry::Entry;
use super::server::ServerRow;

/// Registers every endpoint, with and without the `{inst}` segment.
pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    const ACTION: &str = "backends/{backend}/servers/{server}/action";
    cfg.route("/api/v1/haproxy/instances", web::get().to(instances))
        .route("/api/v1/haproxy/backends", web::get().to(backends))
        .route("/api/v1/haproxy/{inst}/backends", web::get().to(backends))
        .route(
            "/api/v1/haproxy/backends/{backend}/servers",
            web::get().to(servers),
        )
        .route(
            "/api/v1/haproxy/{inst}/backends/{backend}/servers",
            web::get().to(servers),
        )
        .route(&format!("/api/v1/haproxy/{ACTION}"), web::post().to(action))
        .route(
            &format!("/api/v1/haproxy/{{inst}}/{ACTION}"),
            web::post().to(action),
        )
        .route("/api/v1/eureka/apps", web::get().to(eureka_apps))
        .default_service(web::to(not_found));
}

/// Counts the request and answers for a fault or an unknown instance segment.
async fn admit(req: &HttpRequest, sim: &AgentShared, scope: Scope<'_>) -> Option<HttpResponse> {
    let fault = sim.gate.admit(req.path(), || sim.fault_for(&scope)).await;
    if fault.is_some() {
        return fault;
    }
    match req.match_info().get("inst") {
        Some(inst) if inst != AGENT_INSTANCE => {
            let error = format!("HAProxy instance '{inst}' not found");
            Some(envelope_error(StatusCode::NOT_FOUND, 404, &error))
        }
        _ => None,
    }
}

fn not_found_envelope(error: &str) -> HttpResponse {
    envelope_error(StatusCode::NOT_FOUND, 404, error)
}

#[derive(Serialize)]
struct InstancesData {
    instances: Vec<InstanceInfo>,
    count: usize,
}

#[derive(Serialize)]
struct InstanceInfo {
    name: &'static str,
    socket: &'static str,
}

async fn instances(req: HttpRequest, sim: web::Data<AgentShared>) -> HttpResponse {
    if let Some(answer) = admit(&req, &sim, Scope::Other).await {
        return answer;
    }
    let instances = vec![InstanceInfo {
        name: AGENT_INSTANCE,
        socket: "/run/haproxy/admin.sock",
    }];
    envelope_ok(
        InstancesData {
            instances,
            count: 1,
        },
        None,
    )
}

#[derive(Serialize)]
struct BackendsData {
    instance: &'static str,
    backends: Vec<String>,
    count: usize,
}

async fn backends(req: HttpRequest, sim: web::Data<AgentShared>) -> HttpResponse {
    if let Some(answer) = admit(&req, &sim, Scope::Other).await {
        return answer;
    }
    let backends = sim.backend_names();
    let data = BackendsData {
        instance: AGENT_INSTANCE,
        count: backends.len(),
        backends,
    };
    envelope_ok(data, None)
}

#[derive(Serialize)]
struct ServersData<'a> {
    instance: &'static str,
    backend: &'a str,
    servers: Vec<ServerRow>,
    count: usize,
}

async fn servers(req: HttpRequest, sim: web::Data<AgentShared>) -> HttpResponse {
    let backend = req.match_info().query("backend");
    if let Some(answer) = admit(&req, &sim, Scope::Servers(backend)).await {
        return answer;
    }
    match sim.server_rows(backend) {
        Some(servers) => {
            let count = servers.len();
            let instance = AGENT_INSTANCE;
            envelope_ok(
                ServersData {
                    instance,
                    backend,
                    servers,
                    count,
                },
                None,
            )
        }
        None => not_found_envelope(&format!("Backend '{backend}' not found")),
    }
}

#[derive(Deserialize)]
struct ActionBody {
    action: String,
}

#[derive(Serialize)]
struct ActionData<'a> {
    instance: &'static str,
    backend: &'a str,
    server: &'a str,
    action: &'a str,
    status: &'static str,
}

async fn action(req: HttpRequest, body: web::Bytes, sim: web::Data<AgentShared>) -> HttpResponse {
    if let Some(answer) = admit(&req, &sim, Scope::Other).await {
        return answer;
    }
    let Ok(ActionBody { action }) = serde_json::from_slice(&body) else {
        let error = "Invalid request body: expected {\"action\": \"drain|ready|maint\"}";
        return envelope_error(StatusCode::BAD_REQUEST, 400, error);
    };
    let (backend, server) = (
        req.match_info().query("backend"),
        req.match_info().query("server"),
    );
    match sim.apply_action(backend, server, &action) {
        Ok(()) => {
            let message = format!("Server state changed to '{action}'");
            let (instance, status, action) = (AGENT_INSTANCE, "completed", action.as_str());
            let data = ActionData {
                instance,
                backend,
                server,
                action,
                status,
            };
            envelope_ok(data, Some(&message))
        }
        Err(e) => action_error(e),
    }
}

fn action_error(e: ActionError) -> HttpResponse {
    match e {
        ActionError::BadAction(a) => {
            let error = format!("Invalid action '{a}'. Allowed actions: drain, ready, maint");
            envelope_error(StatusCode::BAD_REQUEST, 400, &error)
        }
        ActionError::NoBackend(b) => not_found_envelope(&format!("Backend '{b}' not found")),
        ActionError::NoServer(b, s) => {
            not_found_envelope(&format!("Server '{s}' not found in backend '{b}'"))
        }
    }
}

#[derive(Serialize)]
struct AgentApps {
    applications: Vec<AgentApp>,
}

/// One instance in FAgent's flat Eureka list.
#[derive(Serialize)]
struct AgentApp {
    app_name: String,
    instance_id: String,
    ip: String,
    port: u16,
    status: String,
    metadata: BTreeMap<String, String>,
    health_check_url: String,
    home_page_url: String,
    status_page_url: String,
}

fn agent_app(entry: Entry) -> AgentApp {
    let i = entry.sim;
    let base = format!("http://{}:{}", i.host_name, i.port);
    AgentApp {
        app_name: i.app.to_uppercase(),
        health_check_url: format!("{base}/health"),
        home_page_url: format!("{base}/"),
        status_page_url: format!("{base}/info"),
        instance_id: i.instance_id,
        ip: i.ip_addr,
        port: i.port,
        status: i.status,
        metadata: BTreeMap::new(),
    }
}

async fn eureka_apps(req: HttpRequest, sim: web::Data<AgentShared>) -> HttpResponse {
    if let Some(answer) = admit(&req, &sim, Scope::EurekaApps).await {
        return answer;
    }
    let applications = sim.instances().into_iter().map(agent_app).collect();
    envelope_ok(AgentApps { applications }, None)
}

async fn not_found(req: HttpRequest, sim: web::Data<AgentShared>) -> HttpResponse {
    if let Some(answer) = admit(&req, &sim, Scope::Other).await {
        return answer;
    }
    not_found_envelope(&format!("Endpoint '{}' not found", req.path()))
}
