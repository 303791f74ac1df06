//! Pollers against the simulated FAgent: each kind of fetch failure, the circuit
//! breaker, edge-triggered `fetch_failed`, supervision and backend discovery.

use serde_json::Value;
use watchpost::actors::fleet::{Admin, AdminCmd};
use watchpost::sim::{AgentSim, Fault};

use crate::common::*;

const OK: &str = "haproxy/fdmz01/ok";

/// The servers of a failed backend keep their last known status, as `no data`.
fn assert_no_data(backend: &Value) {
    let servers = backend["servers"].as_array().expect("servers");
    assert_eq!(servers.len(), 2, "{backend:#}");
    for s in servers {
        assert_eq!(s["status"], "no data", "{backend:#}");
        assert_eq!(s["state"], "unknown", "{backend:#}");
        assert_eq!(s["last_known_status"], "UP", "{backend:#}");
    }
}

async fn failed_with(td: &TestDaemon, id: &str, words: &[&str]) {
    td.wait_target(id, "a failed fetch", |t| fetch_is(t, "failed")).await;
    let b = td.backend(id).await;
    let error = b["last_fetch_error"].as_str().unwrap_or_default();
    for w in words {
        assert!(error.contains(w), "{id}: error {error:?} should say {w:?}");
    }
    assert!(b["last_fetch_at"].is_string(), "{b:#}");
    assert_no_data(&b);
}

#[actix_web::test]
async fn each_kind_of_fetch_failure_fails_only_its_backend() {
    let names = ["s503", "envelope", "garbage", "hang", "ok"];
    let sim = AgentSim::start(local(), names.iter().map(|n| backend(n)).collect(), vec![]).await.unwrap();
    let mut config = config();
    config.haproxy.push(haproxy("fdmz01", &sim.url(), &names));
    let td = start_daemon(config).await;
    for n in names {
        td.wait_target(&format!("haproxy/fdmz01/{n}"), "first success", |t| fetch_is(t, "success")).await;
    }
    sim.set_backend_fault("s503", Some(Fault::Status(503)));
    let error = "HAProxy runtime socket unreachable".to_string();
    sim.set_backend_fault("envelope", Some(Fault::Envelope { status_code: 500, error }));
    sim.set_backend_fault("garbage", Some(Fault::Garbage));
    sim.set_backend_fault("hang", Some(Fault::Hang));

    failed_with(&td, "haproxy/fdmz01/s503", &["agent fdmz01", "503"]).await;
    failed_with(&td, "haproxy/fdmz01/envelope", &["HAProxy runtime socket unreachable", "500"]).await;
    failed_with(&td, "haproxy/fdmz01/garbage", &["not JSON"]).await;
    failed_with(&td, "haproxy/fdmz01/hang", &["timeout", "agent fdmz01"]).await;
    td.wait_polls(OK, 2).await;
    let ok = td.backend(OK).await;
    assert_eq!(ok["last_fetch_status"], "success", "{ok:#}");
    assert_eq!(ok["last_fetch_error"], Value::Null);
    assert!(ok["servers"].as_array().unwrap().iter().all(|s| s["state"] == "up"), "{ok:#}");
    let events = td.events(None).await;
    let down = events.iter().filter(|e| e["type"] == "server_state_changed").count();
    assert_eq!(down, 0, "a fetch failure is not a server state change: {events:#?}");
    sim.set_backend_fault("hang", None);
}

#[actix_web::test]
async fn a_refused_connection_fails_every_backend_of_that_agent_only() {
    let down = AgentSim::start(local(), vec![backend("a"), backend("b")], vec![]).await.unwrap();
    let up = AgentSim::start(local(), vec![backend("ok")], vec![]).await.unwrap();
    let mut config = config();
    config.haproxy.push(haproxy("edge", &down.url(), &["a", "b"]));
    config.haproxy.push(haproxy("fdmz01", &up.url(), &["ok"]));
    let td = start_daemon(config).await;
    for id in ["haproxy/edge/a", "haproxy/edge/b", OK] {
        td.wait_target(id, "first success", |t| fetch_is(t, "success")).await;
    }
    down.stop().await;
    let port = down.addr().port();
    for id in ["haproxy/edge/a", "haproxy/edge/b"] {
        let words = ["connection refused to agent edge", &format!("127.0.0.1:{port}")];
        failed_with(&td, id, &words).await;
    }
    td.wait_polls(OK, 1).await;
    assert_eq!(td.backend(OK).await["last_fetch_status"], "success");
}

#[actix_web::test]
async fn the_circuit_opens_after_three_failures_sends_nothing_and_resets() {
    let sim = AgentSim::start(local(), vec![backend("bad"), backend("ok")], vec![]).await.unwrap();
    let mut config = config();
    config.haproxy.push(haproxy("fdmz01", &sim.url(), &["bad", "ok"]));
    let td = start_daemon(config).await;
    let bad = "haproxy/fdmz01/bad";
    td.wait_target(bad, "first success", |t| fetch_is(t, "success")).await;
    sim.set_backend_fault("bad", Some(Fault::Status(503)));

    let t = td.wait_target(bad, "an open circuit", |t| t["circuit_state"] == "open").await;
    assert_eq!(t["consecutive_failures"], 3, "{t:#}");
    assert_eq!(t["circuit"]["failure_threshold"], 3, "{t:#}");
    assert!(t["circuit"]["next_attempt_at"].is_string(), "{t:#}");
    assert!(td.backend(bad).await["next_attempt_at"].is_string());
    let opened = td.wait_event(bad, "circuit_opened").await;
    assert_eq!(opened["data"]["from"], "closed", "{opened:#}");

    let before = sim.requests_matching("/backends/bad/servers");
    td.wait_polls(OK, 3).await;
    assert_eq!(sim.requests_matching("/backends/bad/servers"), before, "requests sent while open");
    assert_eq!(td.target(bad).await["circuit_state"], "open");

    sim.set_backend_fault("bad", None);
    let (status, body) = td.admin(&format!("/api/admin/targets/{}/reset-circuit", enc(bad)), "").await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["poll"]["result"], "success", "{body:#}");
    assert_eq!(body["poll"]["circuit_state"], "closed", "{body:#}");
    assert_eq!(body["target"]["circuit_state"], "closed", "{body:#}");
    assert_eq!(body["target"]["last_fetch_status"], "success", "{body:#}");
    assert_eq!(body["target"]["consecutive_failures"], 0, "{body:#}");
    assert!(sim.requests_matching("/backends/bad/servers") > before);
    let b = td.backend(bad).await;
    assert!(b["servers"].as_array().unwrap().iter().all(|s| s["status"] == "UP"), "{b:#}");
    let events = td.events(Some(bad)).await;
    for kind in ["fetch_failed", "circuit_opened", "fetch_recovered", "circuit_closed"] {
        assert!(types(&events).contains(&kind), "{kind} missing: {events:#?}");
    }
}

#[actix_web::test]
async fn the_circuit_probes_half_open_and_closes_by_itself() {
    let sim = AgentSim::start(local(), vec![backend("flaky")], vec![]).await.unwrap();
    let mut config = config();
    let mut h = haproxy("fdmz01", &sim.url(), &["flaky"]);
    h.policy = short_open_policy();
    config.haproxy.push(h);
    let td = start_daemon(config).await;
    let id = "haproxy/fdmz01/flaky";
    td.wait_target(id, "first success", |t| fetch_is(t, "success")).await;
    sim.set_backend_fault("flaky", Some(Fault::Status(503)));

    // A failed probe opens the circuit again.
    let circuit = ["circuit_opened", "circuit_half_open", "circuit_opened"];
    wait_for("open → half_open → open", async || {
        let events = td.events(Some(id)).await;
        let seen: Vec<&str> = types(&events).into_iter().filter(|k| k.starts_with("circuit_")).collect();
        seen.starts_with(&circuit).then_some(())
    })
    .await;
    sim.set_backend_fault("flaky", None);
    let t = td.wait_target(id, "closed again", |t| t["circuit_state"] == "closed" && fetch_is(t, "success")).await;
    assert_eq!(t["circuit"]["opened_count"], 2, "{t:#}");
    let events = td.events(Some(id)).await;
    let seen: Vec<&str> = types(&events).into_iter().filter(|k| k.starts_with("circuit_")).collect();
    assert!(seen.ends_with(&["circuit_half_open", "circuit_closed"]), "{seen:?}");
    assert!(types(&events).contains(&"fetch_recovered"), "{events:#?}");
}

#[actix_web::test]
async fn fetch_failed_fires_once_per_outage() {
    let sim = AgentSim::start(local(), vec![backend("jurws")], vec![]).await.unwrap();
    let mut config = config();
    let mut h = haproxy("fdmz01", &sim.url(), &["jurws"]);
    h.policy.circuit.failure_threshold = 100;
    config.haproxy.push(h);
    let td = start_daemon(config).await;
    let id = "haproxy/fdmz01/jurws";
    for _outage in 0..2 {
        td.wait_target(id, "a success", |t| fetch_is(t, "success")).await;
        sim.set_backend_fault("jurws", Some(Fault::Status(503)));
        td.wait_target(id, "4 failed polls", |t| t["consecutive_failures"].as_u64() >= Some(4)).await;
        sim.set_backend_fault("jurws", None);
    }
    td.wait_target(id, "the last recovery", |t| fetch_is(t, "success")).await;
    let events = td.events(Some(id)).await;
    let edges: Vec<&str> =
        types(&events).into_iter().filter(|k| k.starts_with("fetch_")).collect();
    let want = ["fetch_failed", "fetch_recovered", "fetch_failed", "fetch_recovered"];
    assert_eq!(edges, want, "{events:#?}");
    let failed = events.iter().find(|e| e["type"] == "fetch_failed").unwrap();
    assert!(failed["data"]["error"].as_str().unwrap().contains("503"), "{failed:#}");
    assert!(events.iter().all(|e| e["target"] == id));
}

#[actix_web::test]
async fn a_panicking_poller_is_restarted_and_polls_on() {
    let sim = AgentSim::start(local(), vec![backend("jurws")], vec![]).await.unwrap();
    let mut config = config();
    config.haproxy.push(haproxy("fdmz01", &sim.url(), &["jurws"]));
    let td = start_daemon(config).await;
    let id = "haproxy/fdmz01/jurws";
    let t = td.wait_target(id, "first success", |t| fetch_is(t, "success")).await;
    assert_eq!(t["restarts"], 0);
    let cmd = Admin { target: id.into(), cmd: AdminCmd::InjectPanic };
    td.daemon.fleet.send(cmd).await.expect("fleet answers").expect("known target");
    let t = td.wait_target(id, "a restart", |t| t["restarts"] == 1).await;
    let seen = t["last_success_at"].clone();
    let t = td.wait_target(id, "a poll after the restart", |t| t["last_success_at"] != seen).await;
    assert_eq!(t["restarts"], 1, "{t:#}");
    assert_eq!(t["last_fetch_status"], "success", "{t:#}");
}

#[actix_web::test]
async fn discovery_follows_backends_that_come_and_go() {
    let sim = AgentSim::start(local(), vec![backend("a"), backend("b")], vec![]).await.unwrap();
    let mut config = config();
    config.haproxy.push(haproxy("fdmz01", &sim.url(), &[]));
    let td = start_daemon(config).await;
    let (a, c) = ("haproxy/fdmz01/a", "haproxy/fdmz01/c");
    for id in [a, "haproxy/fdmz01/b"] {
        td.wait_target(id, "discovered and polled", |t| fetch_is(t, "success")).await;
        assert_eq!(td.wait_event(id, "target_added").await["data"]["backend"], id.rsplit('/').next().unwrap());
    }
    sim.add_backend(backend("c"));
    td.wait_target(c, "discovered and polled", |t| fetch_is(t, "success")).await;
    td.wait_event(c, "target_added").await;

    sim.remove_backend("a");
    td.wait_target(a, "gone", Value::is_null).await;
    let removed = td.wait_event(a, "target_removed").await;
    assert!(removed["data"]["reason"].as_str().unwrap().contains("no longer"), "{removed:#}");
    let (_, list) = td.get("/api/haproxy/backends").await;
    let ids: Vec<&str> = list["backends"].as_array().unwrap().iter().map(|b| b["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["haproxy/fdmz01/b", c]);
    let removed = td.events(Some(a)).await.iter().filter(|e| e["type"] == "target_removed").count();
    assert_eq!(removed, 1);
}
