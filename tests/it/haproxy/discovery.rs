//! `backends = "*"` against a real HAProxy: only backends are found (a `listen`
//! section with servers is one; `fe_main`, the `listen stats` section and HAProxy's
//! internal proxies are not), and after a
//! reload (`haproxy -sf <old pid>`) with one backend more and one less the new one is
//! added (`target_added`) and the vanished one removed (`target_removed`).

use super::*;
use crate::common::{TestDaemon, wait_for};

/// The backend names of every target of source `group`, sorted.
async fn discovered(td: &TestDaemon, group: &str) -> Vec<String> {
    let (status, body) = td.get("/api/targets").await;
    assert_eq!(status, 200, "{body:#}");
    let prefix = format!("haproxy/{group}/");
    let list = body["targets"].as_array().cloned().unwrap_or_default();
    let mut names: Vec<String> = list
        .iter()
        .filter_map(|t| t["id"].as_str()?.strip_prefix(&prefix).map(str::to_string))
        .collect();
    names.sort();
    names
}

/// The `type` of every event of `id` among these kinds.
async fn lifecycle(td: &TestDaemon, id: &str) -> Vec<String> {
    let events = td.events(Some(id)).await;
    events
        .iter()
        .filter_map(|e| e["type"].as_str())
        .filter(|k| matches!(*k, "target_added" | "target_removed"))
        .map(str::to_string)
        .collect()
}

#[actix_web::test]
async fn discovery_follows_a_reload_of_haproxy() {
    let l = Listener::start_many(4).await;
    let li = super::process::listen("li_d", &[("d1", l[3].port)]);
    let (a, b, c) = (
        backend("be_a", &[("a1", l[0].port)]),
        backend("be_b", &[("b1", l[1].port)]),
        backend("be_c", &[("c1", l[2].port)]),
    );
    let mut ha = Haproxy::start(vec![a.clone(), b, li.clone()]).await;
    let groups = ["web", "unix"];
    let sources = vec![
        source(&ha, "web", Via::Stats, &[]),
        source(&ha, "unix", Via::Unix, &[]),
    ];
    let td = daemon(sources).await;
    for g in groups {
        for b in ["be_a", "be_b", "li_d"] {
            td.wait_success(&id(g, b)).await;
        }
        // A few more rounds of discovery (it runs every interval) find nothing else.
        td.wait_polls(&id(g, "be_a"), 3).await;
        assert_eq!(
            discovered(&td, g).await,
            ["be_a", "be_b", "li_d"],
            "source {g}"
        );
        wait_all_up(&td, &id(g, "be_b"), &["b1"]).await;
    }

    let old_pid = ha.pid();
    ha.reload(vec![a, c, li]).await;
    assert_ne!(ha.pid(), old_pid, "a new HAProxy process took over");
    for g in groups {
        td.wait_event(&id(g, "be_c"), "target_added").await;
        td.wait_event(&id(g, "be_b"), "target_removed").await;
        wait_all_up(&td, &id(g, "be_c"), &["c1"]).await;
        let now = discovered(&td, g).await;
        assert_eq!(now, ["be_a", "be_c", "li_d"], "source {g} after the reload");
        let added = ["target_added"].as_slice();
        let gone = ["target_added", "target_removed"].as_slice();
        for (b, want) in [
            ("be_a", added),
            ("li_d", added),
            ("be_b", gone),
            ("be_c", added),
        ] {
            let seen = lifecycle(&td, &id(g, b)).await;
            assert_eq!(seen, want, "source {g}: lifecycle events of {b}");
        }
    }
    // The removed backend is no longer listed by the backends endpoint either.
    wait_for("be_b gone from /api/haproxy/backends", async || {
        let (_, body) = td.get("/api/haproxy/backends").await;
        let list = body["backends"].as_array().cloned().unwrap_or_default();
        let names: Vec<_> = list
            .iter()
            .filter_map(|b| b["backend_name"].as_str())
            .collect();
        (!names.contains(&"be_b")).then_some(())
    })
    .await;
}
