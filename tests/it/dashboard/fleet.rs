//! The page shows what the API shows: every backend of the running agent sim with
//! its servers, and every Eureka instance (native and through the agent) grouped
//! by application, with status, host, IP and port; the summary bar counts them.

use serde_json::{Value, json};
use watchpost::config::EurekaSourceKind;
use watchpost::sim::{AgentSim, EurekaSim, SimBackend, SimInstance, SimServer};

use super::Browser;
use crate::common::*;

/// A server with `status`.
fn server(name: &str, status: &str, addr: &str) -> SimServer {
    SimServer {
        status: status.into(),
        ..SimServer::up(name, addr)
    }
}

fn instance(app: &str, host: &str, ip: &str, port: u16, status: &str) -> SimInstance {
    SimInstance {
        status: status.into(),
        ..SimInstance::up(app, host, ip, port)
    }
}

/// Backend `beta`: one server up, one DOWN, one in MAINT.
fn beta() -> SimBackend {
    let servers = vec![
        server("web1", "UP", "10.2.0.1:80"),
        server("web2", "DOWN", "10.2.0.2:80"),
        server("web3", "MAINT", "10.2.0.3:80"),
    ];
    SimBackend {
        name: "beta".into(),
        servers,
    }
}

/// An agent with backends `alpha` (2 up) and `beta` and the app `JURWS-API`; a
/// Eureka server with `ORDERS` and `PAYMENTS`.
async fn sims() -> (AgentSim, EurekaSim) {
    let agent_apps = vec![
        instance("jurws-api", "j1.local", "10.3.0.1", 8081, "UP"),
        instance("jurws-api", "j2.local", "10.3.0.2", 8082, "DOWN"),
    ];
    let agent = AgentSim::start(local(), vec![backend("alpha"), beta()], agent_apps);
    let registry = vec![
        instance("orders", "o1.local", "10.4.0.1", 8080, "UP"),
        instance("orders", "o2.local", "10.4.0.2", 8080, "STARTING"),
        instance("payments", "p1.local", "10.4.0.3", 9090, "OUT_OF_SERVICE"),
    ];
    let eureka = EurekaSim::start(local(), registry)
        .await
        .expect("eureka sim");
    (agent.await.expect("agent sim"), eureka)
}

/// The sims and a daemon polling all of them, once every target was fetched.
async fn fleet() -> (AgentSim, EurekaSim, TestDaemon) {
    let (agent, sim) = sims().await;
    let mut c = config();
    c.haproxy
        .push(haproxy("fdmz01", &agent.url(), &["alpha", "beta"]));
    c.eureka
        .push(eureka("main", EurekaSourceKind::Eureka, &sim.url()));
    c.eureka
        .push(eureka("fdmz01", EurekaSourceKind::Agent, &agent.url()));
    // Generous timeouts: the page is compared with the API, so no poll may fail.
    let mut steady = fast_policy();
    steady.interval = std::time::Duration::from_millis(1500);
    steady.timeout = std::time::Duration::from_millis(1000);
    c.haproxy.iter_mut().for_each(|h| h.policy = steady.clone());
    c.eureka.iter_mut().for_each(|e| e.policy = steady.clone());
    let td = start_daemon(c).await;
    for id in [
        hid("alpha"),
        hid("beta"),
        "eureka/main".into(),
        "eureka/fdmz01".into(),
    ] {
        td.wait_success(&id).await;
    }
    (agent, sim, td)
}

/// Backends and instances as the page shows them (text of every cell).
const PAGE_FLEET: &str = "
    const cells = (r) => [...r.cells].map((c) => c.textContent);
    const backends = [...document.querySelectorAll('details.backend')].map((c) => ({
        id: c.dataset.targetId, group: c.querySelector('.group').textContent,
        name: c.querySelector('.bname').textContent, chips: c.querySelector('.chips').textContent,
        warn: !c.querySelector('.warn').hidden,
        servers: [...c.querySelectorAll('tr[data-server]')].map(cells) }));
    const instances = [...document.querySelectorAll('.eureka-server')].flatMap((s) =>
        [...s.querySelectorAll('details.app')].flatMap((a) =>
            [...a.querySelectorAll('tr[data-instance]')].map((r) =>
                ({ target: s.dataset.targetId, app: a.dataset.app, cells: cells(r) }))));
    return { backends, instances };";

fn strings(v: &Value, keys: &[&str]) -> Vec<String> {
    keys.iter()
        .map(|k| match &v[*k] {
            Value::String(s) => s.clone(),
            Value::Null => "—".into(),
            other => other.to_string(),
        })
        .collect()
}

/// The page's backends equal `/api/haproxy/backends`, cell by cell.
fn same_backends(page: &Value, api: &Value) {
    let api = api["backends"].as_array().expect("backends");
    let shown = page["backends"].as_array().expect("page backends");
    assert_eq!(shown.len(), api.len(), "{page:#}");
    for b in api {
        let card = shown
            .iter()
            .find(|c| c["id"] == b["id"])
            .expect("a card per backend");
        assert_eq!(card["group"], b["haproxy"]);
        assert_eq!(card["name"], b["backend_name"]);
        assert_eq!(card["warn"], false, "{card:#}");
        let want: Vec<Vec<String>> = b["servers"]
            .as_array()
            .expect("servers")
            .iter()
            .map(|s| strings(s, &["name", "status", "check_status", "weight", "addr"]))
            .collect();
        let got: Vec<Vec<String>> = card["servers"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| strings_of(&r.as_array().expect("cells")[..5]))
            .collect();
        assert_eq!(got, want, "servers of {}", b["id"]);
    }
}

fn strings_of(cells: &[Value]) -> Vec<String> {
    cells
        .iter()
        .map(|c| c.as_str().unwrap_or("").to_string())
        .collect()
}

/// The page's instances equal `/api/eureka/instances`, grouped by application.
fn same_instances(page: &Value, api: &Value) {
    let api = api["instances"].as_array().expect("instances");
    let shown = page["instances"].as_array().expect("page instances");
    assert_eq!(shown.len(), api.len(), "{page:#}");
    for i in api {
        let row = shown
            .iter()
            .find(|r| r["cells"][0] == i["instance_id"] && r["target"] == i["target"])
            .unwrap_or_else(|| panic!("no row for {i:#}"));
        assert_eq!(row["app"], i["app"], "grouped by application");
        let want = strings(
            i,
            &["instance_id", "status", "host_name", "ip_addr", "port"],
        );
        assert_eq!(strings_of(row["cells"].as_array().expect("cells")), want);
    }
}

#[actix_web::test]
async fn the_page_shows_every_backend_server_and_instance_of_the_sims() {
    let (_agent, _sim, td) = fleet().await;
    let b = Browser::open_dashboard(&td.base_url).await;
    let (_, backends) = td.get("/api/haproxy/backends").await;
    let (_, instances) = td.get("/api/eureka/instances").await;
    let rows = instances["instances"].as_array().map_or(0, Vec::len);
    assert_eq!(rows, 5, "{instances:#}");
    let ready = "return document.querySelectorAll('tr[data-instance]').length === arguments[0]
        && document.querySelectorAll('details.backend').length === 2;";
    b.wait_js("every card and row", ready, vec![json!(rows)])
        .await;
    let page = b.eval(PAGE_FLEET, vec![]).await;
    same_backends(&page, &backends);
    same_instances(&page, &instances);
    let beta = page["backends"]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["name"] == "beta"));
    let chips = beta.map(|c| c["chips"].clone()).unwrap_or_default();
    assert_eq!(chips, "[UP: 1][DOWN: 1][MAINT: 1]");
    summary_counts(&b).await;
    b.close().await;
}

/// The summary bar, read as rendered text through WebDriver.
async fn summary_counts(b: &Browser) {
    let want = [
        ("targets.total", "4"),
        ("targets.failed", "0"),
        ("servers.up", "3"),
        ("servers.down", "1"),
        ("servers.maint", "1"),
        ("instances.up", "2"),
        ("instances.down", "1"),
        ("instances.starting", "1"),
        ("instances.out_of_service", "1"),
    ];
    for (stat, value) in want {
        let found = b
            .find_all(&format!("[data-stat=\"{stat}\"] .stat-value"))
            .await;
        assert_eq!(found.len(), 1, "{stat}");
        assert_eq!(b.text(&found[0]).await, value, "{stat}");
    }
    let heading = b.find_all("#haproxy-title").await;
    let text = b.text(&heading[0]).await;
    assert!(
        text.starts_with("HAPROXY BACKENDS") && text.ends_with('2'),
        "{text:?}"
    );
}
