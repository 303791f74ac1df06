//! `be_app` and `be_app_canary`: a backend whose name is a prefix of another gets
//! only its own servers, whether the stats page is asked with `scope=be_app` (a
//! substring match, which also returns `be_app_canary`) or for the whole table, and
//! through the Runtime API.

use super::process::stat_rows;
use super::*;
use crate::common::{client, wait_for};

/// The proxies the stats page returns for `scope=<scope>` (the premise of the test).
async fn scoped_proxies(ha: &Haproxy, scope: &str) -> Vec<String> {
    let url = format!("{};csv;norefresh?scope={scope}", ha.stats_url());
    let resp = client()
        .get(&url)
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await;
    let text = resp.expect("stats page").text().await.expect("stats body");
    let mut names: Vec<String> = stat_rows(&text)
        .iter()
        .filter_map(|r| r.get("pxname").map(str::to_string))
        .collect();
    names.dedup();
    names
}

#[actix_web::test]
async fn a_backend_named_as_a_prefix_of_another_gets_only_its_own_servers() {
    let l = Listener::start_many(3).await;
    let app = [("app1", l[0].port), ("app2", l[1].port)];
    let canary = [("canary1", l[2].port)];
    let backends = vec![backend("be_app", &app), backend("be_app_canary", &canary)];
    let ha = Haproxy::start(backends).await;
    let premise = scoped_proxies(&ha, "be_app").await;
    assert_eq!(
        premise,
        ["be_app", "be_app_canary"],
        "scope= is a substring match"
    );

    // `*_solo` sources poll be_app alone (the stats page is asked with scope=be_app);
    // `*_pair` sources poll both (their polls share one fetch of the whole table).
    let sources = vec![
        source(&ha, "web_solo", Via::Stats, &["be_app"]),
        source(&ha, "web_pair", Via::Stats, &["be_app", "be_app_canary"]),
        source(&ha, "unix_solo", Via::Unix, &["be_app"]),
        source(&ha, "tcp_pair", Via::Tcp, &["be_app", "be_app_canary"]),
    ];
    let td = daemon(sources).await;
    let app_ids = ["web_solo", "web_pair", "unix_solo", "tcp_pair"].map(|g| id(g, "be_app"));
    let canary_ids = ["web_pair", "tcp_pair"].map(|g| id(g, "be_app_canary"));
    for id in app_ids.iter().chain(&canary_ids) {
        td.wait_success(id).await;
        td.wait_polls(id, 3).await;
    }
    for id in &app_ids {
        let b = td.backend(id).await;
        assert_eq!(server_names(&b), ["app1", "app2"], "{id}: {b:#}");
    }
    for id in &canary_ids {
        let b = td.backend(id).await;
        assert_eq!(server_names(&b), ["canary1"], "{id}: {b:#}");
    }
    for id in app_ids.iter().chain(&canary_ids) {
        let events = td.events(Some(id)).await;
        let changes = events
            .iter()
            .filter(|e| e["type"] == "server_state_changed");
        assert_eq!(
            changes.count(),
            0,
            "{id}: no server came or went: {events:#?}"
        );
    }
    // Every server of be_app seen up through every source, and canary1 too.
    wait_for("every server up", async || {
        let mut all = Vec::new();
        for id in app_ids.iter().chain(&canary_ids) {
            let b = td.backend(id).await;
            all.extend(b["servers"].as_array().cloned().unwrap_or_default());
        }
        all.iter().all(|s| s["state"] == "up").then_some(())
    })
    .await;
}
