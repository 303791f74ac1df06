//! Drift items and lease flags survive `kill -9` like every other state: after a
//! restart the reported drift keeps its id and `since`, is not reported again, and
//! the expired leases and the self-preservation suspicion are neither lost nor
//! announced twice.

use std::time::Duration;

use serde_json::Value;
use watchpost::sim::{AgentSim, EurekaSim, SimBackend, SimInstance, SimServer};

use super::{Deadline, FAST, Proc, Sources, events, free_port, write_config};

async fn wait(d: &mut Proc, what: &str, f: impl Fn(&Value, &Value) -> bool) -> (Value, Value) {
    let deadline = Deadline::new(what, Duration::from_secs(30));
    loop {
        let drift = d.json("/api/drift").await;
        let targets = d.json("/api/targets").await;
        if f(&drift, &targets) {
            return (drift, targets);
        }
        deadline.tick(&(drift, targets)).await;
    }
}

fn count(events: &[Value], kind: &str) -> usize {
    events.iter().filter(|e| e["type"] == kind).count()
}

fn suspected(targets: &Value) -> bool {
    let list = targets["targets"].as_array().cloned().unwrap_or_default();
    list.iter()
        .any(|t| t["id"] == "eureka/reg" && t["self_preservation_suspected"] == true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_and_leases_survive_kill_9() {
    let backend = SimBackend {
        name: "jurws".into(),
        servers: vec![SimServer::up("app0", "10.3.0.0:8080")],
    };
    let agent = AgentSim::start("127.0.0.1:0".parse().unwrap(), vec![backend], vec![])
        .await
        .unwrap();
    let registry = (0..10)
        .map(|n| SimInstance::up("jurws", &format!("h{n}"), &format!("10.3.0.{n}"), 8080))
        .collect();
    let eureka = EurekaSim::start("127.0.0.1:0".parse().unwrap(), registry)
        .await
        .unwrap();
    for n in 7..10 {
        eureka.set_renewal_lag(&format!("h{n}:jurws:8080"), Duration::from_secs(600));
    }
    agent.set_server_status("jurws", "app0", "DOWN");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let src = Sources {
        haproxy: "lb".into(),
        agent_url: agent.url(),
        backends: vec!["jurws"],
        eureka: "reg".into(),
        eureka_url: eureka.url(),
    };
    let path = write_config(dir.path(), "drift", port, &src, &FAST);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("[defaults]\n", "[defaults]\ndrift_for = \"1s\"\n");
    std::fs::write(&path, text).unwrap();

    let mut d = Proc::run(dir.path(), "first", &path, port).await;
    let (before, _) = wait(
        &mut d,
        "drift reported and self-preservation suspected",
        |drift, targets| {
            drift["drift"]
                .as_array()
                .is_some_and(|l| l.len() == 1 && l[0]["state"] == "active")
                && suspected(targets)
        },
    )
    .await;
    let item = before["drift"][0].clone();
    d.kill9();

    let mut d = Proc::run(dir.path(), "second", &path, port).await;
    let (after, _) = wait(
        &mut d,
        "the same drift, fresh again, and the suspicion",
        |drift, targets| {
            drift["drift"]
                .as_array()
                .is_some_and(|l| l.len() == 1 && l[0]["state"] == "active")
                && suspected(targets)
        },
    )
    .await;
    let again = &after["drift"][0];
    assert_eq!(
        (&again["id"], &again["since"]),
        (&item["id"], &item["since"]),
        "{after:#}"
    );
    let target = d.json("/api/targets/haproxy%2Flb%2Fjurws").await;
    let seen = target["last_fetch_at"].clone();
    let deadline = Deadline::new("another poll after the restart", Duration::from_secs(30));
    while d.json("/api/targets/haproxy%2Flb%2Fjurws").await["last_fetch_at"] == seen {
        deadline.tick(&seen).await;
    }
    let log = events(&mut d).await;
    assert_eq!(
        count(&log, "drift_detected"),
        1,
        "reported once across the crash"
    );
    assert_eq!(count(&log, "drift_resolved"), 0);
    assert_eq!(count(&log, "instance_lease_expired"), 3);
    assert_eq!(count(&log, "eureka_self_preservation"), 1);
    let instances = d.json("/api/eureka/instances").await;
    let expired = instances["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["lease_expired"] == true)
        .count();
    assert_eq!(expired, 3);
}
