//! Alerts against the daemon and the simulated FAgent: hold times, MAINT/DRAIN,
//! unreachable targets, backend_down, flapping, silences and maintenance windows.
//! The kill -9 case is in `process::alerts`, the real HAProxy case in
//! `haproxy::alerts`.

mod silences;

use std::time::Duration;

use serde_json::Value;
use watchpost::alerts::Rule;
use watchpost::config::Config;
use watchpost::sim::{AgentSim, Fault};

use crate::common::{TestDaemon, agent_daemon_in, config, fast_policy, hid, wait_for};

/// A config whose rule `rule` holds for `hold`.
pub fn with_hold(mut c: Config, rule: Rule, hold: Duration) -> Config {
    c.alerts.rules.get_mut(&rule).expect("rule").hold = hold;
    c
}

/// The alerts listed by `GET /api/alerts`.
pub async fn alerts(td: &TestDaemon) -> Vec<Value> {
    let (status, body) = td.get("/api/alerts").await;
    assert_eq!(status, 200, "{body}");
    body["alerts"].as_array().cloned().expect("alerts")
}

/// The alerts of `rule` in `state`.
pub fn of(list: &[Value], rule: &str, state: &str) -> Vec<Value> {
    let hit = |a: &&Value| a["rule"] == rule && a["state"] == state;
    list.iter().filter(hit).cloned().collect()
}

/// Waits until an alert of `rule` is in `state`, and returns it.
pub async fn wait_alert(td: &TestDaemon, rule: &str, state: &str) -> Value {
    let what = format!("a {state} {rule} alert");
    wait_for(&what, async || {
        of(&alerts(td).await, rule, state).into_iter().next()
    })
    .await
}

/// Every `alert_firing` event's alert of `rule`.
pub async fn fired(td: &TestDaemon, rule: &str) -> Vec<Value> {
    let events = td.events(None).await;
    let firing = events.iter().filter(|e| e["type"] == "alert_firing");
    firing
        .filter(|e| e["data"]["rule"] == rule)
        .map(|e| e["data"].clone())
        .collect()
}

/// Sets `server` of `backend` and waits until the daemon has read it.
pub async fn set_server(
    sim: &AgentSim,
    td: &TestDaemon,
    backend: &str,
    server: &str,
    status: &str,
) {
    sim.set_server_status(backend, server, status);
    let want = status.to_string();
    td.wait_target(&hid(backend), &format!("{server} {status}"), |t| {
        let servers = t["servers"].as_array().cloned().unwrap_or_default();
        servers
            .iter()
            .any(|s| s["name"] == server && s["status"] == want.as_str())
    })
    .await;
}

#[actix_web::test]
async fn a_server_down_past_its_hold_fires_once_with_its_labels_and_resolves() {
    let c = with_hold(config(), Rule::ServerDown, Duration::from_secs(1));
    let (sim, td) = agent_daemon_in(c, &["jurws"], fast_policy()).await;
    set_server(&sim, &td, "jurws", "app2", "DOWN").await;
    let a = wait_alert(&td, "server_down", "firing").await;
    let labels = serde_json::json!({"target": hid("jurws"), "group": "fdmz01",
                                    "backend": "jurws", "server": "app2"});
    assert_eq!(a["labels"], labels, "{a}");
    assert_eq!(a["severity"], "critical");
    let since = humantime::parse_rfc3339(a["since"].as_str().unwrap()).unwrap();
    let fired = humantime::parse_rfc3339(a["fired_at"].as_str().unwrap()).unwrap();
    assert!(
        fired.duration_since(since).unwrap() >= Duration::from_secs(1),
        "{a}"
    );
    set_server(&sim, &td, "jurws", "app2", "UP").await;
    let r = wait_alert(&td, "server_down", "resolved").await;
    assert_eq!(r["id"], a["id"]);
    assert_eq!(fired_ids(&td, "server_down").await, vec![a["id"].clone()]);
    let resolved = td.wait_event(&hid("jurws"), "alert_resolved").await;
    assert_eq!(resolved["data"]["id"], a["id"]);
    assert!(of(&alerts(&td).await, "backend_down", "firing").is_empty());
}

async fn fired_ids(td: &TestDaemon, rule: &str) -> Vec<Value> {
    fired(td, rule)
        .await
        .iter()
        .map(|a| a["id"].clone())
        .collect()
}

#[actix_web::test]
async fn a_blip_shorter_than_the_hold_fires_nothing() {
    let c = with_hold(config(), Rule::ServerDown, Duration::from_secs(3600));
    let (sim, td) = agent_daemon_in(c, &["jurws"], fast_policy()).await;
    set_server(&sim, &td, "jurws", "app2", "DOWN").await;
    assert_eq!(of(&alerts(&td).await, "server_down", "pending").len(), 1);
    set_server(&sim, &td, "jurws", "app2", "UP").await;
    assert!(
        alerts(&td).await.is_empty(),
        "a pending alert that cleared is forgotten"
    );
    assert!(fired(&td, "server_down").await.is_empty());
}

#[actix_web::test]
async fn maint_and_drain_fire_no_server_down() {
    let c = with_hold(config(), Rule::ServerDown, Duration::ZERO);
    let (sim, td) = agent_daemon_in(c, &["jurws"], fast_policy()).await;
    set_server(&sim, &td, "jurws", "app1", "MAINT").await;
    set_server(&sim, &td, "jurws", "app2", "DRAIN").await;
    td.wait_polls(&hid("jurws"), 2).await;
    let list = alerts(&td).await;
    assert!(of(&list, "server_down", "firing").is_empty(), "{list:?}");
    assert!(of(&list, "server_down", "pending").is_empty(), "{list:?}");
    assert_eq!(
        of(&list, "backend_down", "firing").len(),
        1,
        "no server up: {list:?}"
    );
    let backend = td.backend(&hid("jurws")).await;
    assert_eq!(
        backend["capacity"],
        serde_json::json!({"up": 0, "total": 2})
    );
}

#[actix_web::test]
async fn a_failed_fagent_raises_target_unreachable_per_target_and_no_server_down() {
    let c = with_hold(config(), Rule::TargetUnreachable, Duration::ZERO);
    let c = with_hold(c, Rule::ServerDown, Duration::ZERO);
    // The circuit stays closed, so the recovery is seen at the next poll.
    let mut policy = fast_policy();
    policy.circuit.failure_threshold = 1000;
    let (sim, td) = agent_daemon_in(c, &["jurws", "mail"], policy).await;
    sim.set_fault(Some(Fault::Status(503)));
    let list = wait_for("target_unreachable for both targets", async || {
        let list = alerts(&td).await;
        (of(&list, "target_unreachable", "firing").len() == 2).then_some(list)
    })
    .await;
    for a in of(&list, "target_unreachable", "firing") {
        assert!(a["error"].as_str().is_some_and(|e| !e.is_empty()), "{a}");
    }
    td.wait_polls(&hid("jurws"), 2).await;
    let list = alerts(&td).await;
    let data_rules = ["server_down", "backend_down", "backend_degraded"];
    assert!(
        list.iter()
            .all(|a| !data_rules.contains(&a["rule"].as_str().unwrap())),
        "{list:?}"
    );
    let health = td.get("/api/health").await.1;
    assert_eq!(health["alerts"]["critical"], 2, "{health}");
    sim.set_fault(None);
    wait_for("both resolved", async || {
        let list = alerts(&td).await;
        (of(&list, "target_unreachable", "resolved").len() == 2).then_some(())
    })
    .await;
}

#[actix_web::test]
async fn the_last_server_going_down_fires_backend_down_and_backend_state_changed() {
    let (sim, td) = agent_daemon_in(config(), &["jurws"], fast_policy()).await;
    set_server(&sim, &td, "jurws", "app1", "DOWN").await;
    set_server(&sim, &td, "jurws", "app2", "DOWN").await;
    let a = wait_alert(&td, "backend_down", "firing").await;
    assert_eq!(a["labels"]["backend"], "jurws");
    let e = td.wait_event(&hid("jurws"), "backend_state_changed").await;
    assert_eq!(
        e["data"],
        serde_json::json!({"from": "up", "to": "down", "up": 0, "total": 2})
    );
    let (_, metrics) = td.get("/metrics").await;
    let text = metrics.as_str().unwrap_or_default();
    let line = r#"watchpost_alerts{state="firing",rule="backend_down",severity="critical"} 1"#;
    assert!(text.contains(line), "{text}");
}

#[actix_web::test]
async fn a_server_toggled_six_times_raises_one_flapping_and_no_fires() {
    let c = with_hold(config(), Rule::ServerDown, Duration::from_secs(3600));
    let (sim, td) = agent_daemon_in(c, &["jurws"], fast_policy()).await;
    for i in 0..6 {
        let status = if i % 2 == 0 { "DOWN" } else { "UP" };
        set_server(&sim, &td, "jurws", "app2", status).await;
    }
    let flap = wait_alert(&td, "flapping", "firing").await;
    assert_eq!(flap["labels"]["server"], "app2");
    assert_eq!(fired(&td, "flapping").await.len(), 1);
    assert!(fired(&td, "server_down").await.is_empty());
}
