//! HAProxy ↔ Eureka drift and Eureka leases against the simulated FAgent and Eureka
//! (real formats): each kind is raised after `drift_for` and resolved when the sides
//! agree again, a link finds an instance missing from its backend, a brief mismatch
//! raises nothing, a Eureka outage freezes drift as `unknown`, and stale renewals
//! show `lease_expired` and self-preservation.

use std::time::Duration;

use serde_json::Value;
use watchpost::config::EurekaSourceKind::Eureka;
use watchpost::config::{Config, LinkConfig};
use watchpost::model::Ts;
use watchpost::sim::{AgentSim, EurekaSim, SimBackend, SimInstance, SimServer};

use crate::common::*;

pub const BACKEND: &str = "haproxy/fdmz01/jurws";
pub const MAIN: &str = "eureka/main";

pub fn inst(host: &str, ip: &str) -> SimInstance {
    SimInstance::up("jurws", host, ip, 8080)
}

pub fn id(host: &str) -> String {
    format!("{host}:jurws:8080")
}

pub struct Fleet {
    pub agent: AgentSim,
    pub eureka: EurekaSim,
    pub td: TestDaemon,
}

/// Backend `jurws` with app1 and app2 at 10.1.0.1/2:8080, and app JURWS with h1 and
/// h2 at the same endpoints, all UP; `drift_for` as given, linked or not.
pub async fn fleet(drift_for: Duration, linked: bool) -> Fleet {
    fleet_with(drift_for, |c| {
        if linked {
            let haproxy = vec![("fdmz01".to_string(), "jurws".to_string())];
            c.links.push(LinkConfig {
                eureka_server: "main".into(),
                app: "JURWS".into(),
                haproxy,
            });
        }
    })
    .await
}

/// [`fleet`] without a link, with `tweak` applied to the configuration.
pub async fn fleet_with(drift_for: Duration, tweak: impl FnOnce(&mut Config)) -> Fleet {
    let servers = vec![
        SimServer::up("app1", "10.1.0.1:8080"),
        SimServer::up("app2", "10.1.0.2:8080"),
    ];
    let backend = SimBackend {
        name: "jurws".into(),
        servers,
    };
    let agent = AgentSim::start(local(), vec![backend], vec![])
        .await
        .unwrap();
    let registry = vec![inst("h1", "10.1.0.1"), inst("h2", "10.1.0.2")];
    let eureka = EurekaSim::start(local(), registry).await.unwrap();
    let mut c = config();
    c.haproxy.push(haproxy("fdmz01", &agent.url(), &["jurws"]));
    let mut e = crate::common::eureka("main", Eureka, &eureka.url());
    e.policy = short_open_policy();
    c.eureka.push(e);
    c.drift_for = drift_for;
    tweak(&mut c);
    let td = start_daemon(c).await;
    td.wait_success(BACKEND).await;
    td.wait_success(MAIN).await;
    Fleet { agent, eureka, td }
}

async fn drift(td: &TestDaemon, query: &str) -> Vec<Value> {
    let (status, body) = td.get(&format!("/api/drift{query}")).await;
    assert_eq!(status, 200, "{body}");
    body["drift"].as_array().cloned().unwrap_or_default()
}

/// Waits for the item of `kind` between `server` and `instance` (either may be null).
async fn wait_item(
    td: &TestDaemon,
    kind: &str,
    server: Value,
    instance: Value,
    state: &str,
) -> Value {
    let what = format!("{kind} drift of {server} / {instance} ({state})");
    wait_for(&what, async || {
        drift(td, "?pending=true").await.into_iter().find(|d| {
            d["kind"] == kind
                && d["haproxy"]["server"] == server
                && d["eureka"]["instance_id"] == instance
                && d["state"] == state
        })
    })
    .await
}

/// Waits for the `nth` (from 1) drift event of `kind` of the backend.
pub async fn wait_drift_event(td: &TestDaemon, kind: &str, nth: usize) -> Value {
    wait_for(&format!("{nth} {kind} events"), async || {
        let events = td.events(Some(BACKEND)).await;
        events
            .into_iter()
            .filter(|e| e["type"] == kind)
            .nth(nth - 1)
    })
    .await
}

fn ts(v: &Value) -> Ts {
    serde_json::from_value(v.clone()).unwrap()
}

#[actix_web::test]
async fn both_kinds_are_raised_after_the_hold_and_resolved_and_links_find_missing_members() {
    let f = fleet(Duration::from_secs(1), true).await;
    f.td.wait_polls(MAIN, 2).await;
    assert!(
        drift(&f.td, "?pending=true").await.is_empty(),
        "the sides agree"
    );

    f.agent.set_server_status("jurws", "app1", "DOWN");
    let item = wait_item(
        &f.td,
        "registered_not_serving",
        "app1".into(),
        id("h1").into(),
        "active",
    )
    .await;
    assert_fields(&item, serde_json::json!({"endpoint": "10.1.0.1:8080"}));
    assert_fields(
        &item["haproxy"],
        serde_json::json!({"target": BACKEND, "backend": "jurws", "status": "DOWN"}),
    );
    assert_fields(
        &item["eureka"],
        serde_json::json!({"target": MAIN, "app": "JURWS", "status": "UP"}),
    );
    let detected = wait_drift_event(&f.td, "drift_detected", 1).await;
    assert_eq!(detected["data"]["id"], item["id"]);
    assert!(
        ts(&detected["ts"]).since(ts(&item["since"])) >= 1000,
        "held for drift_for: {detected}"
    );
    f.agent.set_server_status("jurws", "app1", "UP");
    let resolved = wait_drift_event(&f.td, "drift_resolved", 1).await;
    assert_eq!(
        (&resolved["data"]["id"], &resolved["data"]["reason"]),
        (&item["id"], &"agreed".into())
    );

    f.eureka.set_instance_status(&id("h2"), "OUT_OF_SERVICE");
    wait_item(
        &f.td,
        "serving_not_registered",
        "app2".into(),
        id("h2").into(),
        "active",
    )
    .await;
    f.eureka.set_instance_status(&id("h2"), "UP");
    wait_drift_event(&f.td, "drift_resolved", 2).await;

    f.eureka.add_instance(inst("h3", "10.1.0.3"));
    let missing = wait_item(
        &f.td,
        "registered_not_serving",
        Value::Null,
        id("h3").into(),
        "active",
    )
    .await;
    assert_eq!(missing["endpoint"], "10.1.0.3:8080");
    let (_, metrics) = f.td.get("/metrics").await;
    let text = metrics.as_str().unwrap_or_default();
    assert!(
        text.contains("watchpost_drift{kind=\"registered_not_serving\"} 1"),
        "{text}"
    );
    let listed: Vec<_> = drift(&f.td, "")
        .await
        .into_iter()
        .map(|d| d["id"].clone())
        .collect();
    assert_eq!(listed, vec![missing["id"].clone()]);
}

#[actix_web::test]
async fn a_mismatch_shorter_than_drift_for_raises_nothing() {
    let f = fleet(Duration::from_secs(3600), false).await;
    f.agent.set_server_status("jurws", "app1", "DOWN");
    let item = wait_item(
        &f.td,
        "registered_not_serving",
        "app1".into(),
        id("h1").into(),
        "pending",
    )
    .await;
    assert!(
        drift(&f.td, "").await.is_empty(),
        "pending items are not reported"
    );
    f.agent.set_server_status("jurws", "app1", "UP");
    wait_for("the pending item to go", async || {
        let list = drift(&f.td, "?pending=true").await;
        list.iter().all(|d| d["id"] != item["id"]).then_some(())
    })
    .await;
    let events = f.td.events(None).await;
    assert!(types_with(&events, "drift").is_empty(), "{events:#?}");
}

#[actix_web::test]
async fn a_eureka_outage_freezes_drift_as_unknown() {
    let f = fleet(Duration::ZERO, false).await;
    f.agent.set_server_status("jurws", "app1", "DOWN");
    let item = wait_item(
        &f.td,
        "registered_not_serving",
        "app1".into(),
        id("h1").into(),
        "active",
    )
    .await;
    f.eureka.stop().await;
    f.td.wait_target(MAIN, "a failed fetch", |t| fetch_is(t, "failed"))
        .await;
    wait_item(
        &f.td,
        "registered_not_serving",
        "app1".into(),
        id("h1").into(),
        "unknown",
    )
    .await;
    f.agent.set_server_status("jurws", "app1", "UP");
    f.td.wait_polls(BACKEND, 4).await;
    let frozen = drift(&f.td, "").await;
    assert_eq!(frozen.len(), 1, "{frozen:#?}");
    assert_eq!(
        (&frozen[0]["id"], &frozen[0]["state"]),
        (&item["id"], &"unknown".into())
    );
    let events = f.td.events(Some(BACKEND)).await;
    assert_eq!(
        types_with(&events, "drift"),
        ["drift_detected"],
        "neither resolved nor invented"
    );
    f.eureka.resume().await.unwrap();
    wait_drift_event(&f.td, "drift_resolved", 1).await;
    assert!(drift(&f.td, "?pending=true").await.is_empty());
}

#[actix_web::test]
async fn stale_renewals_expire_leases_and_three_of_ten_suggest_self_preservation() {
    let registry: Vec<_> = (0..10)
        .map(|n| inst(&format!("h{n}"), &format!("10.2.0.{n}")))
        .collect();
    let eureka = EurekaSim::start(local(), registry).await.unwrap();
    let mut c = config();
    c.eureka
        .push(crate::common::eureka("main", Eureka, &eureka.url()));
    let td = start_daemon(c).await;
    td.wait_success(MAIN).await;
    for n in 0..3 {
        eureka.set_renewal_lag(&id(&format!("h{n}")), Duration::from_secs(600));
    }
    let t = td
        .wait_target(MAIN, "self-preservation suspected", |t| {
            t["self_preservation_suspected"] == true
        })
        .await;
    assert_eq!(t["self_preservation_suspected"], true);
    let (_, body) = td.get("/api/eureka/instances").await;
    let list = body["instances"].as_array().cloned().unwrap_or_default();
    let expired: Vec<_> = list.iter().filter(|i| i["lease_expired"] == true).collect();
    assert_eq!(expired.len(), 3, "{list:#?}");
    for i in &expired {
        assert!(i["lease"]["age_s"].as_u64().unwrap() >= 600, "{i:#}");
        assert_fields(
            &i["lease"],
            serde_json::json!({"duration_s": 90, "renewal_interval_s": 30}),
        );
        assert_eq!(i["status"], "UP", "the state stays what Eureka says");
    }
    let event = td.wait_event(MAIN, "eureka_self_preservation").await;
    assert_fields(
        &event["data"],
        serde_json::json!({"suspected": true, "expired": 3, "instances": 10}),
    );
    let events = td.events(Some(MAIN)).await;
    assert_eq!(
        types_with(&events, "instance_lease_").len(),
        3,
        "{events:#?}"
    );
    crate::alerts::wait_alert(&td, "eureka_self_preservation", "firing").await;
    let firing = crate::alerts::alerts(&td).await;
    let leases = crate::alerts::of(&firing, "lease_expired", "firing");
    assert_eq!(leases.len(), 3, "{firing:#?}");

    for n in 0..3 {
        eureka.set_renewal_lag(&id(&format!("h{n}")), Duration::ZERO);
    }
    td.wait_target(MAIN, "self-preservation over", |t| {
        t["self_preservation_suspected"] == false
    })
    .await;
    let events = td.events(Some(MAIN)).await;
    assert_eq!(
        types(&events)
            .iter()
            .filter(|k| **k == "instance_lease_renewed")
            .count(),
        3
    );
}
