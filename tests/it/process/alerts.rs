//! `kill -9` mid-hold and mid-firing on the real binary: after the restart the
//! same alerts exist with the same ids, `since` and `fired_at`, the pending hold
//! continues from its committed start, silences are still in force, and nothing
//! fires twice.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use watchpost::sim::{AgentSim, EurekaSim, SimBackend, SimInstance, SimServer};

use super::{Deadline, FAST, Proc, SLOW, Sources, Timing, client, events, free_port, quiet_name};

const TOKEN: &str = "alerts-token";

fn backend(name: &str, servers: u8) -> SimBackend {
    let server = |n: u8| SimServer::up(&format!("app{n}"), &format!("10.1.0.{n}:8080"));
    SimBackend {
        name: name.to_string(),
        servers: (1..=servers).map(server).collect(),
    }
}

/// A config for `src` with the admin token and a 1 h hold on `server_down`.
fn config(dir: &Path, name: &str, port: u16, src: &Sources, t: &Timing) -> PathBuf {
    let path = super::write_config(dir, name, port, src, t);
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replacen(
        "[server]\n",
        &format!("[server]\nadmin_token = \"{TOKEN}\"\n"),
        1,
    );
    let text = format!("{text}\n[alerts]\nserver_down = {{ for = \"1h\" }}\n");
    std::fs::write(&path, text).unwrap();
    path
}

/// What must survive a crash of each alert: id, rule, state, since, fired_at,
/// silenced_by.
fn stable(alerts: &Value) -> Vec<Value> {
    let list = alerts["alerts"].as_array().expect("alerts").iter();
    list.map(|a| {
        json!([
            a["id"],
            a["rule"],
            a["state"],
            a["since"],
            a["fired_at"],
            a["silenced_by"]
        ])
    })
    .collect()
}

async fn wait_alerts(d: &mut Proc, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Deadline::new(what, Duration::from_secs(30));
    loop {
        let a = d.json("/api/alerts").await;
        if done(&a) {
            return a;
        }
        deadline.tick(&a).await;
    }
}

fn count(a: &Value, rule: &str, state: &str) -> usize {
    let list = a["alerts"].as_array().unwrap();
    list.iter()
        .filter(|x| x["rule"] == rule && x["state"] == state)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_hold_and_mid_firing_keeps_alerts_and_silences() {
    let local = SocketAddr::from(([127, 0, 0, 1], 0));
    let agent = AgentSim::start(local, vec![backend("alpha", 2), backend("beta", 1)], vec![])
        .await
        .unwrap();
    let eureka = EurekaSim::start(
        local,
        vec![SimInstance::up("orders", "o-1", "10.2.0.1", 80)],
    )
    .await
    .unwrap();
    let src = Sources {
        haproxy: quiet_name("edge", |n| {
            vec![format!("haproxy/{n}/alpha"), format!("haproxy/{n}/beta")]
        }),
        agent_url: agent.url(),
        backends: vec!["alpha", "beta"],
        eureka: quiet_name("reg", |n| vec![format!("eureka/{n}")]),
        eureka_url: eureka.url(),
    };
    let dir = tempfile::tempdir().unwrap();
    let run = async |name: &str, t: &Timing| {
        let port = free_port();
        let path = config(dir.path(), name, port, &src, t);
        Proc::run(dir.path(), name, &path, port).await
    };
    let mut d = run("first", &FAST).await;
    agent.set_server_status("alpha", "app2", "DOWN");
    agent.set_server_status("beta", "app1", "DOWN");
    wait_alerts(&mut d, "pending server_down x2, firing backend_down", |a| {
        count(a, "server_down", "pending") == 2 && count(a, "backend_down", "firing") == 1
    })
    .await;
    let body = json!({"matchers": {"backend": "beta"}, "duration": "2h",
                      "comment": "rack move", "created_by": "ops"});
    let url = format!("http://127.0.0.1:{}/api/admin/silences", d.port);
    let r = client()
        .post(url)
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let before = d.json("/api/alerts").await;
    let silences = d.json("/api/silences").await;
    assert!(
        stable(&before).iter().any(|a| a[5] != json!([])),
        "{before}"
    );
    d.kill9();

    let mut d = run("quiet", &SLOW).await;
    assert_eq!(stable(&d.json("/api/alerts").await), stable(&before));
    assert_eq!(d.json("/api/silences").await, silences);

    let polled = |b: &Value| b["backends"][0]["last_fetch_at"].clone();
    let last = polled(&d.json("/api/haproxy/backends").await);
    d.kill9();

    let mut d = run("again", &FAST).await;
    let deadline = Deadline::new("a new poll to be committed", Duration::from_secs(30));
    loop {
        let now = polled(&d.json("/api/haproxy/backends").await);
        if now != last {
            break;
        }
        deadline.tick(&now).await;
    }
    let after = d.json("/api/alerts").await;
    let keep: Vec<Value> = stable(&before);
    for a in stable(&after).iter().filter(|a| a[1] != "flapping") {
        assert!(
            keep.contains(a),
            "{a} changed across kill -9; before: {before}"
        );
    }
    let all = events(&mut d).await;
    let fired = all.iter().filter(|e| e["type"] == "alert_firing").count();
    assert_eq!(fired, 1, "backend_down fired once only");
}
