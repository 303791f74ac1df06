//! A server marked DOWN by a real HAProxy's health checks fires one `server_down`
//! (with the labels of its stats source) and resolves when it is UP again; the
//! backend's capacity follows.

use std::time::Duration;

use serde_json::json;
use watchpost::alerts::Rule;

use super::*;
use crate::alerts::{alerts, fired, of, wait_alert};
use crate::common::{config, start_daemon};

#[actix_web::test]
async fn a_server_down_in_real_haproxy_fires_server_down_and_resolves() {
    let mut listeners = Listener::start_many(2).await;
    let servers = [("app1", listeners[0].port), ("app2", listeners[1].port)];
    let ha = Haproxy::start(vec![backend("be_app", &servers)]).await;
    ha.wait_status("be_app", "app1", "UP").await;
    let mut c = config();
    c.alerts.rules.get_mut(&Rule::ServerDown).unwrap().hold = Duration::from_millis(500);
    c.haproxy = vec![source(&ha, "web", Via::Stats, &["be_app"])];
    let td = start_daemon(c).await;
    let id = id("web", "be_app");
    wait_all_up(&td, &id, &["app1", "app2"]).await;

    listeners[0].stop().await;
    ha.wait_status("be_app", "app1", "DOWN").await;
    let a = wait_alert(&td, "server_down", "firing").await;
    let labels = json!({"target": id, "group": "web", "backend": "be_app", "server": "app1"});
    assert_eq!(a["labels"], labels, "{a}");
    assert_eq!(
        td.backend(&id).await["capacity"],
        json!({"up": 1, "total": 2})
    );

    listeners[0].resume().await;
    ha.wait_status("be_app", "app1", "UP").await;
    let r = wait_alert(&td, "server_down", "resolved").await;
    assert_eq!(r["id"], a["id"]);
    assert_eq!(fired(&td, "server_down").await.len(), 1);
    assert!(of(&alerts(&td).await, "backend_down", "firing").is_empty());
}
