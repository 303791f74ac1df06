//! SIGHUP to the `watchpost` binary reloads its configuration file, as
//! `POST /api/admin/reload` does.

use std::process::Command;

use watchpost::sim::AgentSim;

use crate::common::*;
use crate::ws::restart::{Binary, free_addr, write_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_config_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = AgentSim::start(local(), ["a", "b"].map(backend).to_vec(), vec![])
        .await
        .unwrap();
    let addr = free_addr();
    let config = write_config(dir.path(), addr, &sim.url(), &["a"]);
    let d = Binary::run(&config, addr, dir.path().join("daemon.log")).await;
    let ids = async || {
        let body = d.json("/api/targets").await;
        let list = body["targets"].as_array().cloned().unwrap_or_default();
        list.iter()
            .map(|t| t["id"].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids().await, ["haproxy/fdmz01/a"]);

    write_config(dir.path(), addr, &sim.url(), &["b"]);
    let hup = Command::new("kill")
        .args(["-HUP", &d.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(hup.success(), "kill -HUP failed");
    wait_for("the reloaded targets", async || {
        (ids().await == ["haproxy/fdmz01/b"]).then_some(())
    })
    .await;
    let b = wait_for("b polled", async || {
        let t = d.json("/api/targets/haproxy%2Ffdmz01%2Fb").await;
        fetch_is(&t, "success").then_some(t)
    })
    .await;
    assert_eq!(b["restarts"], 0, "{b:#}");
    let events = d.events_since(0).await;
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or("?"),
                e["target"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    for want in [
        ("target_added", "haproxy/fdmz01/b"),
        ("target_removed", "haproxy/fdmz01/a"),
    ] {
        assert_eq!(kinds.iter().filter(|k| **k == want).count(), 1, "{kinds:?}");
    }
}
