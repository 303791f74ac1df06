//! `backend_state` is the status of a real HAProxy's `BACKEND` row, through every
//! way of reading it (stats page, Runtime API on the unix socket and on TCP): `UP`
//! while a server is up, `DOWN` once every server is in maintenance or down, `UP`
//! again when one returns; another backend of the same instance stays `UP`. The
//! WebSocket snapshot the dashboard starts from carries it too.

use serde_json::Value;

use super::*;

/// HAProxy's own status of `backend`'s `BACKEND` row.
async fn haproxy_backend_status(ha: &Haproxy, backend: &str) -> Option<String> {
    let csv = ha.command(&format!("show stat {backend} 2 -1")).await;
    super::process::stat_rows(&csv)
        .into_iter()
        .find(|r| r.get("svname") == Some("BACKEND"))
        .and_then(|r| r.get("status").map(str::to_string))
}

/// Waits until every source shows `backend` with `backend_state` `want`.
async fn wait_backend_state(td: &TestDaemon, backend: &str, want: &str) {
    for (_, group) in Via::ALL {
        let id = id(group, backend);
        let what = format!("{id} with backend_state {want}");
        wait_for(&what, async || {
            let b = td.backend(&id).await;
            (b["backend_state"] == want).then_some(())
        })
        .await;
    }
}

#[actix_web::test]
async fn backend_state_follows_the_backend_row_of_real_haproxy() {
    let mut listeners = Listener::start_many(3).await;
    let app = [("app1", listeners[0].port), ("app2", listeners[1].port)];
    let other = [("app3", listeners[2].port)];
    let ha = Haproxy::start(vec![backend("be_app", &app), backend("be_other", &other)]).await;
    ha.wait_status("be_app", "app2", "UP").await;
    let td = daemon(every_source(&ha, &["be_app", "be_other"])).await;
    wait_backend_state(&td, "be_app", "UP").await;
    wait_backend_state(&td, "be_other", "UP").await;

    ha.command("set server be_app/app1 state maint").await;
    listeners[1].stop().await;
    ha.wait_status("be_app", "app2", "DOWN").await;
    assert_eq!(
        haproxy_backend_status(&ha, "be_app").await.as_deref(),
        Some("DOWN"),
        "the reference"
    );
    wait_backend_state(&td, "be_app", "DOWN").await;
    for (_, group) in Via::ALL {
        let b = td.backend(&id(group, "be_app")).await;
        assert_eq!(
            b["capacity"],
            serde_json::json!({"up": 0, "total": 2}),
            "{b}"
        );
        let other = td.backend(&id(group, "be_other")).await;
        assert_eq!(other["backend_state"], "UP", "{other}");
    }

    let mut ws = crate::ws::connect(td.daemon.addr, "").await;
    let snap = crate::ws::next_json(&mut ws).await;
    let targets = snap["targets"].as_array().expect("a snapshot");
    let shown = targets.iter().find(|t| t["id"] == id("unix", "be_app"));
    assert_eq!(
        shown.map(|t| &t["backend_state"]),
        Some(&"DOWN".into()),
        "{snap}"
    );

    listeners[1].resume().await;
    ha.wait_status("be_app", "app2", "UP").await;
    wait_backend_state(&td, "be_app", "UP").await;
    let b: Value = td.backend(&id("web", "be_app")).await;
    assert_eq!(b["capacity"]["up"], 1, "{b}");
}
