//! The `drift` alert rule against the simulated FAgent and Eureka: a reported
//! drift fires one `drift` alert with the labels of both sides, which resolves
//! with the drift; a disabled rule raises nothing while the drift is still
//! reported.

use std::time::Duration;

use serde_json::json;
use watchpost::alerts::Rule;

use crate::alerts::{alerts, fired, of, wait_alert};
use crate::drift::{BACKEND, MAIN, fleet, id, wait_drift_event};

#[actix_web::test]
async fn a_reported_drift_fires_a_drift_alert_that_resolves_with_it() {
    let f = fleet(Duration::from_millis(500), false).await;
    f.agent.set_server_status("jurws", "app1", "DOWN");
    let detected = wait_drift_event(&f.td, "drift_detected", 1).await;
    let a = wait_alert(&f.td, "drift", "firing").await;
    let labels = json!({
        "target": BACKEND, "group": "fdmz01", "backend": "jurws", "server": "app1",
        "app": "JURWS", "instance": id("h1"), "kind": "registered_not_serving",
        "endpoint": "10.1.0.1:8080",
    });
    assert_eq!(a["labels"], labels, "{a:#}");
    assert_eq!(a["severity"], "warning");
    let firing = f.td.events(Some(BACKEND)).await;
    let event = firing
        .iter()
        .find(|e| e["type"] == "alert_firing" && e["data"]["rule"] == "drift")
        .expect("alert_firing");
    assert_eq!(
        event["seq"],
        detected["seq"].as_u64().unwrap() + 1,
        "same commit: {firing:#?}"
    );
    assert!(a["summary"].as_str().unwrap().contains(MAIN), "{a:#}");

    f.agent.set_server_status("jurws", "app1", "UP");
    wait_drift_event(&f.td, "drift_resolved", 1).await;
    let r = wait_alert(&f.td, "drift", "resolved").await;
    assert_eq!(r["id"], a["id"]);
    assert_eq!(fired(&f.td, "drift").await.len(), 1);
}

#[actix_web::test]
async fn a_disabled_drift_rule_raises_nothing() {
    let f = crate::drift::fleet_with(Duration::ZERO, |c| {
        c.alerts.rules.get_mut(&Rule::Drift).unwrap().enabled = false;
    })
    .await;
    f.eureka.set_instance_status(&id("h2"), "OUT_OF_SERVICE");
    wait_drift_event(&f.td, "drift_detected", 1).await;
    f.td.wait_polls(BACKEND, 3).await;
    let list = alerts(&f.td).await;
    assert!(of(&list, "drift", "pending").is_empty(), "{list:#?}");
    assert!(fired(&f.td, "drift").await.is_empty(), "{list:#?}");
}
