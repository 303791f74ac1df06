//! Push detection from HAProxy's event ring (`events_ring`, `show events <ring> -w`):
//! a server that goes down is reported before the poller's own next scheduled poll,
//! and when the subscription breaks (a reload to a config without the ring) polling
//! goes on, the instance shows `push: disconnected` with the error, and the
//! subscription comes back with the ring.

use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::common::{DEADLINE, try_wait_for};

/// The entry of `/api/haproxy/instances` named `name`.
pub async fn instance(td: &TestDaemon, name: &str) -> Value {
    let (status, body) = td.get("/api/haproxy/instances").await;
    assert_eq!(status, 200, "{body}");
    let list = body["instances"].as_array().cloned().unwrap_or_default();
    list.into_iter()
        .find(|i| i["name"] == name)
        .unwrap_or(Value::Null)
}

/// Waits until instance `name` satisfies `pred`; returns it.
pub async fn wait_instance(
    td: &TestDaemon,
    name: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let mut last = Value::Null;
    let found = try_wait_for(DEADLINE, async || {
        last = instance(td, name).await;
        pred(&last).then(|| last.clone())
    })
    .await;
    found.unwrap_or_else(|| panic!("instance {name}: {what}; last: {last:#}"))
}

fn ring_source(ha: &Haproxy, interval: Duration) -> HaproxyConfig {
    let mut h = source(ha, "unix", Via::Unix, &["be_app"]);
    h.policy.interval = interval;
    h.policy.timeout = Duration::from_secs(1);
    h.events_ring = Some("watchpost".into());
    h
}

#[actix_web::test]
async fn a_server_down_is_reported_before_the_next_scheduled_poll() {
    let mut listeners = Listener::start_many(2).await;
    let servers = [("app1", listeners[0].port), ("app2", listeners[1].port)];
    let ha = Haproxy::start_ring(vec![backend("be_app", &servers)], true).await;
    ha.wait_status("be_app", "app1", "UP").await;
    let td = daemon(vec![ring_source(&ha, Duration::from_secs(10))]).await;
    wait_instance(&td, "unix", "push connected", |i| i["push"] == "connected").await;
    // Right after the poller's first scheduled poll, the next one is a whole
    // interval away.
    let first = wait_instance(&td, "unix", "a scheduled poll", |i| {
        i["polls"]["scheduled"] == 1
    })
    .await;
    let id = id("unix", "be_app");
    wait_all_up(&td, &id, &["app1", "app2"]).await;

    listeners[0].stop().await;
    wait_transitions(&td, &id, "app1", &[("up", "down")]).await;
    let after = instance(&td, "unix").await;
    assert_eq!(
        after["polls"]["scheduled"], first["polls"]["scheduled"],
        "the change was seen before the next scheduled poll: {after:#}"
    );
    assert!(
        after["polls"]["push"].as_u64() > first["polls"]["push"].as_u64(),
        "{after:#}"
    );
    assert!(after["push_lines"].as_u64() >= Some(1), "{after:#}");
    assert_eq!(after["push"], "connected");
}

#[actix_web::test]
async fn a_lost_subscription_falls_back_to_polling_and_comes_back() {
    let mut listeners = Listener::start_many(2).await;
    let servers = [("app1", listeners[0].port), ("app2", listeners[1].port)];
    let backends = vec![backend("be_app", &servers)];
    let mut ha = Haproxy::start_ring(backends.clone(), true).await;
    ha.wait_status("be_app", "app1", "UP").await;
    let td = daemon(vec![ring_source(&ha, Duration::from_millis(250))]).await;
    let id = id("unix", "be_app");
    wait_instance(&td, "unix", "push connected", |i| i["push"] == "connected").await;
    wait_all_up(&td, &id, &["app1", "app2"]).await;
    // Only what happens from here on counts (a busy machine can make HAProxy's own
    // first checks flap before).
    let before = transitions(&td, &id, "app1").await.len();

    ha.ring = false;
    ha.reload(backends.clone()).await;
    let lost = wait_instance(&td, "unix", "push disconnected", |i| {
        i["push"] == "disconnected"
    })
    .await;
    let error = lost["push_error"].as_str().unwrap_or_default();
    assert!(error.contains("No such event sink"), "{lost:#}");
    listeners[0].stop().await;
    wait_server(&td, &id, "app1", "down").await;
    assert_eq!(instance(&td, "unix").await["push"], "disconnected");

    ha.ring = true;
    ha.reload(backends).await;
    let back = wait_instance(&td, "unix", "push connected again", |i| {
        i["push"] == "connected"
    })
    .await;
    assert_eq!(back["push_error"], Value::Null, "{back:#}");
    let lines = back["push_lines"].as_u64().unwrap_or(0);
    listeners[0].resume().await;
    wait_server(&td, &id, "app1", "up").await;
    wait_instance(&td, "unix", "the UP line read from the ring", |i| {
        i["push_lines"].as_u64() > Some(lines)
    })
    .await;
    let want: Vec<(Value, Value)> =
        vec![("up".into(), "down".into()), ("down".into(), "up".into())];
    let after = transitions(&td, &id, "app1").await;
    assert_eq!(
        after[before..],
        want[..],
        "server_state_changed of app1: {after:?}"
    );
}
