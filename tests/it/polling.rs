//! Pollers against the simulated FAgent: each kind of fetch failure, the circuit
//! breaker, edge-triggered `fetch_failed`, supervision, backend discovery, and the
//! shapes of `/api/haproxy/backends` and `/api/targets`.

use serde_json::{Value, json};
use watchpost::actors::fleet::{Admin, AdminCmd};
use watchpost::config::EurekaSourceKind;
use watchpost::sim::{AgentSim, EurekaSim, Fault};

use crate::common::*;

/// A failed backend: its error says every one of `words`, its servers show `no data`
/// with their last known status.
async fn failed_with(td: &TestDaemon, id: &str, words: &[&str]) {
    td.wait_target(id, "a failed fetch", |t| fetch_is(t, "failed"))
        .await;
    let b = td.backend(id).await;
    let error = b["last_fetch_error"].as_str().unwrap_or_default();
    for w in words {
        assert!(error.contains(w), "{id}: error {error:?} should say {w:?}");
    }
    assert!(b["last_fetch_at"].is_string(), "{b:#}");
    let servers = b["servers"].as_array().expect("servers");
    assert_eq!(servers.len(), 2, "{b:#}");
    for s in servers {
        let no_data = json!({"status": "no data", "state": "unknown", "last_known_status": "UP"});
        assert_fields(s, no_data);
    }
}

#[actix_web::test]
async fn each_kind_of_fetch_failure_fails_only_its_backend() {
    let names = ["s503", "envelope", "garbage", "hang", "ok"];
    let (sim, td) = agent_daemon(&names, fast_policy()).await;
    sim.set_backend_fault("s503", Some(Fault::Status(503)));
    let error = "HAProxy runtime socket unreachable".to_string();
    let envelope = Fault::Envelope {
        status_code: 500,
        error,
    };
    sim.set_backend_fault("envelope", Some(envelope));
    sim.set_backend_fault("garbage", Some(Fault::Garbage));
    sim.set_backend_fault("hang", Some(Fault::Hang));

    failed_with(&td, &hid("s503"), &["agent fdmz01", "503"]).await;
    let words = ["HAProxy runtime socket unreachable", "500"];
    failed_with(&td, &hid("envelope"), &words).await;
    failed_with(&td, &hid("garbage"), &["not JSON"]).await;
    failed_with(&td, &hid("hang"), &["timeout", "agent fdmz01"]).await;
    td.wait_polls(&hid("ok"), 2).await;
    let ok = td.backend(&hid("ok")).await;
    assert_fields(
        &ok,
        json!({"last_fetch_status": "success", "last_fetch_error": null}),
    );
    assert_eq!(column(&ok["servers"], "state"), ["up", "up"], "{ok:#}");
    let events = td.events(None).await;
    let why = "a fetch failure is not a server state change";
    assert!(
        !types(&events).contains(&"server_state_changed"),
        "{why}: {events:#?}"
    );
    sim.set_backend_fault("hang", None);
}

#[actix_web::test]
async fn a_refused_connection_fails_every_backend_of_that_agent_only() {
    let up = AgentSim::start(local(), vec![backend("ok")], vec![])
        .await
        .unwrap();
    let down = AgentSim::start(local(), vec![backend("a"), backend("b")], vec![]);
    let down = down.await.unwrap();
    let mut config = config();
    config
        .haproxy
        .push(haproxy("edge", &down.url(), &["a", "b"]));
    config.haproxy.push(haproxy("fdmz01", &up.url(), &["ok"]));
    let td = start_daemon(config).await;
    for id in ["haproxy/edge/a", "haproxy/edge/b", &hid("ok")] {
        td.wait_success(id).await;
    }
    down.stop().await;
    let port = down.addr().port();
    for id in ["haproxy/edge/a", "haproxy/edge/b"] {
        let words = [
            "connection refused to agent edge",
            &format!("127.0.0.1:{port}"),
        ];
        failed_with(&td, id, &words).await;
    }
    td.wait_polls(&hid("ok"), 1).await;
    assert_eq!(td.backend(&hid("ok")).await["last_fetch_status"], "success");
}

#[actix_web::test]
async fn the_circuit_opens_after_three_failures_sends_nothing_and_resets() {
    let (sim, td) = agent_daemon(&["bad", "ok"], fast_policy()).await;
    let bad = &hid("bad");
    sim.set_backend_fault("bad", Some(Fault::Status(503)));

    let open = |t: &Value| t["circuit_state"] == "open";
    let t = td.wait_target(bad, "an open circuit", open).await;
    assert_fields(
        &t,
        json!({"consecutive_failures": 3, "last_fetch_status": "failed"}),
    );
    assert_eq!(t["circuit"]["failure_threshold"], 3, "{t:#}");
    assert!(t["circuit"]["next_attempt_at"].is_string(), "{t:#}");
    assert!(td.backend(bad).await["next_attempt_at"].is_string());
    let opened = td.wait_event(bad, "circuit_opened").await;
    assert_eq!(opened["data"]["from"], "closed", "{opened:#}");

    let requests = || sim.requests_matching("/backends/bad/servers");
    let before = requests();
    td.wait_polls(&hid("ok"), 3).await;
    assert_eq!(
        requests(),
        before,
        "requests sent while the circuit is open"
    );
    assert_eq!(td.target(bad).await["circuit_state"], "open");

    sim.set_backend_fault("bad", None);
    let path = format!("/api/admin/targets/{}/reset-circuit", enc(bad));
    let (status, body) = td.admin(&path, "").await;
    assert_eq!(status, 200, "{body:#}");
    assert_fields(
        &body["poll"],
        json!({"result": "success", "circuit_state": "closed"}),
    );
    let now = json!({"circuit_state": "closed", "last_fetch_status": "success", "consecutive_failures": 0});
    assert_fields(&body["target"], now);
    assert!(requests() > before);
    assert_eq!(
        column(&td.backend(bad).await["servers"], "status"),
        ["UP", "UP"]
    );
    let events = td.events(Some(bad)).await;
    for kind in [
        "fetch_failed",
        "circuit_opened",
        "fetch_recovered",
        "circuit_closed",
    ] {
        assert!(
            types(&events).contains(&kind),
            "{kind} missing: {events:#?}"
        );
    }
}

#[actix_web::test]
async fn the_circuit_probes_half_open_and_closes_by_itself() {
    let (sim, td) = agent_daemon(&["flaky"], short_open_policy()).await;
    let id = &hid("flaky");
    sim.set_backend_fault("flaky", Some(Fault::Status(503)));

    // A failed probe opens the circuit again.
    let circuit = ["circuit_opened", "circuit_half_open", "circuit_opened"];
    wait_for("open → half_open → open", async || {
        let events = td.events(Some(id)).await;
        types_with(&events, "circuit_")
            .starts_with(&circuit)
            .then_some(())
    })
    .await;
    sim.set_backend_fault("flaky", None);
    let closed = |t: &Value| t["circuit_state"] == "closed" && fetch_is(t, "success");
    let t = td.wait_target(id, "closed again", closed).await;
    assert_eq!(t["circuit"]["opened_count"], 2, "{t:#}");
    let events = td.events(Some(id)).await;
    let seen = types_with(&events, "circuit_");
    assert!(
        seen.ends_with(&["circuit_half_open", "circuit_closed"]),
        "{seen:?}"
    );
    let edges = types_with(&events, "fetch_");
    assert_eq!(edges, ["fetch_failed", "fetch_recovered"], "{events:#?}");
}

#[actix_web::test]
async fn fetch_failed_fires_once_per_outage() {
    let mut policy = fast_policy();
    policy.circuit.failure_threshold = 100;
    let (sim, td) = agent_daemon(&["jurws"], policy).await;
    let id = &hid("jurws");
    for _outage in 0..2 {
        td.wait_success(id).await;
        sim.set_backend_fault("jurws", Some(Fault::Status(503)));
        let long = |t: &Value| t["consecutive_failures"].as_u64() >= Some(4);
        td.wait_target(id, "4 failed polls", long).await;
        sim.set_backend_fault("jurws", None);
    }
    td.wait_success(id).await;
    let events = td.events(Some(id)).await;
    let edges = types_with(&events, "fetch_");
    let want = [
        "fetch_failed",
        "fetch_recovered",
        "fetch_failed",
        "fetch_recovered",
    ];
    assert_eq!(edges, want, "{events:#?}");
    let failed = events.iter().find(|e| e["type"] == "fetch_failed").unwrap();
    let error = failed["data"]["error"].as_str().unwrap();
    assert!(error.contains("503"), "{failed:#}");
    assert!(events.iter().all(|e| e["target"] == id.as_str()));
}

#[actix_web::test]
async fn a_panicking_poller_is_restarted_and_polls_on() {
    let (_sim, td) = agent_daemon(&["jurws"], fast_policy()).await;
    let id = &hid("jurws");
    assert_eq!(td.target(id).await["restarts"], 0);
    let cmd = Admin {
        target: id.clone(),
        cmd: AdminCmd::InjectPanic,
    };
    let answer = td.daemon.fleet.send(cmd).await.expect("the fleet answers");
    answer.expect("a known target");
    let t = td
        .wait_target(id, "a restart", |t| t["restarts"] == 1)
        .await;
    let seen = t["last_success_at"].clone();
    let later = |t: &Value| t["last_success_at"] != seen;
    let t = td.wait_target(id, "a poll after the restart", later).await;
    assert_fields(&t, json!({"restarts": 1, "last_fetch_status": "success"}));
}

#[actix_web::test]
async fn discovery_follows_backends_that_come_and_go() {
    let sim = AgentSim::start(local(), vec![backend("a"), backend("b")], vec![]);
    let sim = sim.await.unwrap();
    let mut config = config();
    config.haproxy.push(haproxy("fdmz01", &sim.url(), &[]));
    let td = start_daemon(config).await;
    for name in ["a", "b"] {
        td.wait_success(&hid(name)).await;
        let added = td.wait_event(&hid(name), "target_added").await;
        assert_eq!(added["data"]["backend"], name, "{added:#}");
    }
    sim.add_backend(backend("c"));
    td.wait_success(&hid("c")).await;
    td.wait_event(&hid("c"), "target_added").await;

    sim.remove_backend("a");
    td.wait_target(&hid("a"), "gone", Value::is_null).await;
    let removed = td.wait_event(&hid("a"), "target_removed").await;
    let reason = removed["data"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("no longer"), "{removed:#}");
    let (_, list) = td.get("/api/haproxy/backends").await;
    assert_eq!(column(&list["backends"], "id"), [hid("b"), hid("c")]);
    let events = td.events(Some(&hid("a"))).await;
    assert_eq!(
        types_with(&events, "target_"),
        ["target_added", "target_removed"]
    );
}

#[actix_web::test]
async fn backends_and_targets_have_the_documented_shape() {
    let sim = AgentSim::start(local(), vec![backend("jurws")], vec![])
        .await
        .unwrap();
    sim.set_server_status("jurws", "app2", "DOWN");
    let registry = EurekaSim::start(local(), instances("foo", &["h1"]))
        .await
        .unwrap();
    let mut config = config();
    config
        .haproxy
        .push(haproxy("fdmz01", &sim.url(), &["jurws"]));
    let native = EurekaSourceKind::Eureka;
    config.eureka.push(eureka("main", native, &registry.url()));
    let td = start_daemon(config).await;
    let id = &hid("jurws");
    td.wait_success(id).await;
    td.wait_success("eureka/main").await;

    let b = td.backend(id).await;
    assert_fields(
        &b,
        json!({
            "haproxy": "fdmz01", "backend_name": "jurws", "enable_polling": true,
            "last_fetch_status": "success", "last_fetch_error": null,
            "consecutive_failures": 0, "circuit_state": "closed",
        }),
    );
    assert!(
        b["last_fetch_at"].is_string() && b["last_success_at"].is_string(),
        "{b:#}"
    );
    let servers = b["servers"].as_array().unwrap();
    for s in servers {
        let keys = [
            "weight",
            "check_status",
            "last_change_s",
            "last_known_status",
        ];
        assert_keys(s, &keys);
    }
    assert_eq!(column(&b["servers"], "name"), ["app1", "app2"]);
    assert_eq!(column(&b["servers"], "status"), ["UP", "DOWN"]);
    assert_eq!(column(&b["servers"], "state"), ["up", "down"]);
    assert_fields(&servers[0], json!({"weight": 1, "check_status": "L7OK"}));

    let (status, body) = td.get("/api/targets").await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(column(&body["targets"], "id"), ["eureka/main", id]);
    let kinds = column(&body["targets"], "kind");
    assert_eq!(kinds, ["eureka_server", "haproxy_backend"]);
    for t in body["targets"].as_array().unwrap() {
        let keys = [
            "last_fetch_status",
            "last_fetch_error",
            "consecutive_failures",
        ];
        assert_keys(t, &keys);
        assert_keys(
            t,
            &[
                "last_failure_at",
                "restarts",
                "recovery_attempts",
                "circuit",
            ],
        );
        let circuit = ["failure_threshold", "last_state_change", "next_attempt_at"];
        assert_keys(&t["circuit"], &circuit);
        assert_fields(t, json!({"circuit_state": "closed", "restarts": 0}));
    }
    assert_eq!(td.target(id).await["servers"], b["servers"]);
}
