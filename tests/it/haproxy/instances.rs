//! `GET /api/haproxy/instances` matches HAProxy's own `show info`, lists stats-page
//! instances with `info: null`, a restart of HAProxy raises `haproxy_restarted`,
//! and `/metrics` has the instance gauges.

use super::push::{instance, wait_instance};
use super::*;

/// The value of `key` in a `show info` answer.
fn field<'a>(info: &'a str, key: &str) -> &'a str {
    info.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.trim())
        .unwrap_or_else(|| panic!("no {key} in show info"))
}

#[actix_web::test]
async fn instances_match_show_info_and_a_restart_is_an_event() {
    let listeners = Listener::start_many(1).await;
    let mut ha = Haproxy::start(vec![backend("be_app", &[("app1", listeners[0].port)])]).await;
    let sources = vec![
        source(&ha, "unix", Via::Unix, &["be_app"]),
        source(&ha, "web", Via::Stats, &["be_app"]),
    ];
    let td = daemon(sources).await;
    let unix = wait_instance(&td, "unix", "show info read", |i| i["info"].is_object()).await;
    let info = ha.command("show info").await;
    let i = &unix["info"];
    assert_eq!(i["version"], field(&info, "Version"));
    assert_eq!(i["release_date"], field(&info, "Release_date"));
    assert_eq!(i["pid"].to_string(), field(&info, "Pid"));
    assert_eq!(i["nbthread"].to_string(), field(&info, "Nbthread"));
    assert_eq!(i["max_conn"].to_string(), field(&info, "Maxconn"));
    assert_eq!(i["stopping"], false);
    assert_eq!(unix["source"], "socket");
    assert_eq!(unix["push"], "off");
    assert_eq!(unix["last_fetch_status"], "success");
    let web = wait_instance(&td, "web", "a fetch", |i| {
        i["last_fetch_status"] == "success"
    })
    .await;
    assert_eq!(web["info"], serde_json::Value::Null, "{web:#}");
    assert_eq!(web["source"], "stats");

    let (_, metrics) = td.get("/metrics").await;
    let text = metrics.as_str().unwrap_or_default();
    let line = format!(
        "watchpost_haproxy_max_connections{{instance=\"unix\"}} {}",
        field(&info, "Maxconn")
    );
    assert!(text.contains(&line), "{text}");
    assert!(
        !text.contains("watchpost_haproxy_uptime_seconds{instance=\"web\"}"),
        "{text}"
    );

    let old_pid = ha.pid();
    ha.stop();
    ha.restart().await;
    let event = td.wait_event("haproxy/unix", "haproxy_restarted").await;
    assert_eq!(event["data"]["previous_pid"], old_pid);
    assert_eq!(event["data"]["pid"], ha.pid());
    wait_instance(&td, "unix", "the new pid", |i| i["info"]["pid"] == ha.pid()).await;
    assert_eq!(instance(&td, "unix").await["last_fetch_status"], "success");
}
