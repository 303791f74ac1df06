//! Drift on a real HAProxy: a server HAProxy's own checks mark DOWN while its
//! instance stays UP in (simulated) Eureka raises `registered_not_serving` after
//! `drift_for`, and it resolves when the server is UP again. The addresses come from
//! the Runtime API's `show stat`.

use std::time::Duration;

use watchpost::config::EurekaSourceKind;
use watchpost::sim::{EurekaSim, SimInstance};

use super::*;
use crate::common::{config, eureka, local, start_daemon, wait_for};

#[actix_web::test]
async fn a_server_down_in_haproxy_with_its_instance_up_is_drift_until_it_returns() {
    let mut listeners = Listener::start_many(2).await;
    let servers = [("app1", listeners[0].port), ("app2", listeners[1].port)];
    let ha = Haproxy::start(vec![backend("be_app", &servers)]).await;
    ha.wait_status("be_app", "app1", "UP").await;
    let registry = servers
        .iter()
        .map(|(n, p)| SimInstance::up("app", n, "127.0.0.1", *p))
        .collect();
    let sim = EurekaSim::start(local(), registry).await.unwrap();
    let mut c = config();
    c.haproxy = vec![source(&ha, "unix", Via::Unix, &["be_app"])];
    let mut e = eureka("main", EurekaSourceKind::Eureka, &sim.url());
    e.policy = policy();
    c.eureka.push(e);
    c.drift_for = Duration::from_secs(1);
    let td = start_daemon(c).await;
    let be = id("unix", "be_app");
    wait_all_up(&td, &be, &["app1", "app2"]).await;
    let app1 = server(&td.backend(&be).await, "app1");
    assert_eq!(
        app1["address"],
        format!("127.0.0.1:{}", listeners[0].port),
        "{app1:#}"
    );

    listeners[0].stop().await;
    ha.wait_status("be_app", "app1", "DOWN").await;
    let item = wait_for("registered_not_serving on app1", async || {
        let (_, body) = td.get("/api/drift").await;
        let list = body["drift"].as_array().cloned().unwrap_or_default();
        list.into_iter()
            .find(|d| d["kind"] == "registered_not_serving" && d["haproxy"]["server"] == "app1")
    })
    .await;
    assert_eq!(item["endpoint"], format!("127.0.0.1:{}", listeners[0].port));
    assert_eq!(item["eureka"]["status"], "UP");
    listeners[0].resume().await;
    ha.wait_status("be_app", "app1", "UP").await;
    let resolved = td.wait_event(&be, "drift_resolved").await;
    assert_eq!(resolved["data"]["id"], item["id"]);
    let events = td.events(Some(&be)).await;
    assert_eq!(
        crate::common::types_with(&events, "drift"),
        ["drift_detected", "drift_resolved"]
    );
}
