//! HAProxy itself stops: every backend read from it is `failed`, its servers are
//! `unknown` / `no data` with their last known status, never `down`; when HAProxy
//! runs again every backend recovers with `fetch_recovered`.

use serde_json::json;

use super::*;
use crate::common::{assert_fields, fetch_is};

const BACKENDS: [&str; 2] = ["be_app", "be_api"];

#[actix_web::test]
async fn haproxy_stopping_fails_its_backends_without_reporting_servers_down() {
    let listeners = Listener::start_many(3).await;
    let app = [("app1", listeners[0].port), ("app2", listeners[1].port)];
    let api = [("api1", listeners[2].port)];
    let backends = vec![backend("be_app", &app), backend("be_api", &api)];
    let mut ha = Haproxy::start(backends).await;
    ha.wait_status("be_app", "app1", "UP").await;
    let td = daemon(every_source(&ha, &BACKENDS)).await;
    let ids: Vec<String> = Via::ALL
        .iter()
        .flat_map(|(_, g)| BACKENDS.map(|b| id(g, b)))
        .collect();
    for id in &ids {
        let servers: &[&str] = if id.ends_with("be_app") {
            &["app1", "app2"]
        } else {
            &["api1"]
        };
        wait_all_up(&td, id, servers).await;
    }

    ha.stop();
    for id in &ids {
        td.wait_target(id, "a failed fetch", |t| fetch_is(t, "failed"))
            .await;
        let b = td.backend(id).await;
        let error = b["last_fetch_error"].as_str().unwrap_or_default();
        let group = id.split('/').nth(1).unwrap_or_default();
        assert!(
            error.contains(&format!("haproxy {group} (")),
            "{id}: error names the source: {error:?}"
        );
        let servers = b["servers"].as_array().cloned().unwrap_or_default();
        assert!(!servers.is_empty(), "{id}: servers are kept: {b:#}");
        for s in &servers {
            let no_data =
                json!({"status": "no data", "state": "unknown", "last_known_status": "UP"});
            assert_fields(s, no_data);
        }
    }
    // Enough failed polls for the circuits to open: still nothing reported down.
    for id in &ids {
        td.wait_target(id, "an open circuit", |t| t["circuit_state"] != "closed")
            .await;
    }

    ha.restart().await;
    for id in &ids {
        td.wait_event(id, "fetch_recovered").await;
        let servers: &[&str] = if id.ends_with("be_app") {
            &["app1", "app2"]
        } else {
            &["api1"]
        };
        wait_all_up(&td, id, servers).await;
        let b = td.backend(id).await;
        assert_fields(
            &b,
            json!({"last_fetch_status": "success", "last_fetch_error": null}),
        );
    }
    for id in &ids {
        let events = td.events(Some(id)).await;
        let down: Vec<_> = events
            .iter()
            .filter(|e| e["type"] == "server_state_changed" && e["data"]["to"] == "down")
            .collect();
        assert!(
            down.is_empty(),
            "{id}: an outage of HAProxy is not servers going down: {down:#?}"
        );
        let failed = events
            .iter()
            .filter(|e| e["type"] == "fetch_failed")
            .count();
        assert_eq!(failed, 1, "{id}: fetch_failed is edge-triggered");
    }
}
