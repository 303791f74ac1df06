//! The page shows drift and leases: a Drift section listing the item, a drift mark
//! on both the server row and the instance row, "lease expired" on instances that
//! stopped renewing, and the self-preservation warning on their Eureka server.

use std::time::Duration;

use watchpost::config::EurekaSourceKind::Eureka;
use watchpost::sim::{AgentSim, EurekaSim, SimBackend, SimInstance, SimServer};

use super::Browser;
use crate::common::*;

const PAGE: &str = "
    const q = (sel) => document.querySelector(sel);
    const row = q('#drift-table tr[data-drift]');
    const server = q('tr[data-server=\"app1\"] .drift-mark');
    const instance = q('tr[data-instance=\"h1:jurws:8080\"] .drift-mark');
    const lease = q('tr[data-instance=\"h2:jurws:8080\"] .lease-expired');
    const warning = q('.eureka-server .self-preservation');
    if (!row || !server || !instance || !lease || !warning || warning.hidden) return null;
    return { row: row.textContent, lease: lease.textContent, warning: warning.textContent,
             count: q('#drift-count').textContent };";

#[actix_web::test]
async fn drift_and_expired_leases_are_marked_on_the_page() {
    let servers = vec![
        SimServer::up("app1", "10.4.0.1:8080"),
        SimServer::up("app2", "10.4.0.2:8080"),
    ];
    let backend = SimBackend {
        name: "jurws".into(),
        servers,
    };
    let agent = AgentSim::start(local(), vec![backend], vec![])
        .await
        .unwrap();
    let registry = (1..=2)
        .map(|n| SimInstance::up("jurws", &format!("h{n}"), &format!("10.4.0.{n}"), 8080))
        .collect();
    let sim = EurekaSim::start(local(), registry).await.unwrap();
    let mut c = config();
    c.haproxy.push(haproxy("fdmz01", &agent.url(), &["jurws"]));
    c.eureka.push(eureka("main", Eureka, &sim.url()));
    c.drift_for = Duration::ZERO;
    let td = start_daemon(c).await;
    td.wait_success("eureka/main").await;
    let b = Browser::open_dashboard(&td.base_url).await;

    agent.set_server_status("jurws", "app1", "DOWN");
    for n in 1..=2 {
        sim.set_renewal_lag(&format!("h{n}:jurws:8080"), Duration::from_secs(600));
    }
    let page = b.wait_js("drift and lease marks", PAGE, vec![]).await;
    assert!(
        page["row"].as_str().unwrap().contains("10.4.0.1:8080"),
        "{page:#}"
    );
    assert!(
        page["lease"].as_str().unwrap().starts_with("lease expired"),
        "{page:#}"
    );
    assert!(
        page["warning"]
            .as_str()
            .unwrap()
            .contains("Self-preservation"),
        "{page:#}"
    );
    assert_eq!(page["count"], "1");
}
