//! Tests against a real HAProxy 2.6 (`/usr/sbin/haproxy`, installed by
//! `scripts/test`): each test starts its own `haproxy -db` on 127.0.0.1 with real
//! backend listeners, and a daemon that reads it through the stats page
//! (`source = "stats"`) and the Runtime API (`source = "socket"`, on the unix socket
//! and on `tcp://`). HAProxy's own `show stat` is the reference the daemon's answers
//! are checked against.

mod admin;
mod alerts;
mod auth;
mod backend_state;
mod discovery;
mod drift;
mod health;
mod instances;
mod listener;
mod outage;
mod process;
mod push;
mod scope;
mod transactions;
mod validate;

use std::time::Duration;

use serde_json::Value;
use watchpost::config::{
    CircuitConfig, HaproxyConfig, HaproxySourceKind, Policy, RetryConfig, Secret,
};

use crate::common::{TestDaemon, config, haproxy, start_daemon, wait_for};
pub use listener::Listener;
pub use process::{Haproxy, PASSWORD, USER, backend};

/// How a source reaches HAProxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// The stats page with Basic auth (`source = "stats"`).
    Stats,
    /// The Runtime API on the unix socket (`source = "socket"`).
    Unix,
    /// The Runtime API on `tcp://127.0.0.1:<port>` (`source = "socket"`).
    Tcp,
}

impl Via {
    /// The three ways, each with the group name the tests give it.
    pub const ALL: [(Via, &'static str); 3] =
        [(Via::Stats, "web"), (Via::Unix, "unix"), (Via::Tcp, "tcp")];
}

/// Polls every 250 ms (HAProxy checks every 200 ms) with little retrying; after 3
/// failed polls the circuit opens for 300 ms to 1 s, so recovery is quick.
pub fn policy() -> Policy {
    Policy {
        interval: Duration::from_millis(250),
        timeout: Duration::from_millis(200),
        retry: RetryConfig {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(20),
            multiplier: 2.0,
            max_elapsed: Duration::from_millis(100),
        },
        circuit: CircuitConfig {
            failure_threshold: 3,
            open_base: Duration::from_millis(300),
            open_max: Duration::from_secs(1),
        },
        auto_recover: false,
        limits: watchpost::config::Limits::default(),
    }
}

/// A `[[haproxy]]` source `name` reading `ha` through `via`, polling `backends`
/// (empty: `"*"`), with the stats credentials of the test HAProxy.
pub fn source(ha: &Haproxy, name: &str, via: Via, backends: &[&str]) -> HaproxyConfig {
    let mut h = haproxy(name, &ha.stats_url(), backends);
    h.policy = policy();
    match via {
        Via::Stats => {
            h.source = HaproxySourceKind::Stats;
            h.username = Some(USER.into());
            h.password = Some(Secret::new(PASSWORD));
        }
        Via::Unix | Via::Tcp => {
            h.source = HaproxySourceKind::Socket;
            h.url = None;
            h.socket = Some(match via {
                Via::Unix => ha.socket_path().display().to_string(),
                _ => format!("tcp://127.0.0.1:{}", ha.tcp_port),
            });
        }
    }
    h
}

/// One source per way of reaching `ha` (groups `web`, `unix`, `tcp`), each polling
/// `backends`.
pub fn every_source(ha: &Haproxy, backends: &[&str]) -> Vec<HaproxyConfig> {
    Via::ALL
        .iter()
        .map(|(via, group)| source(ha, group, *via, backends))
        .collect()
}

/// A daemon with these sources (and the admin token of the harness).
pub async fn daemon(sources: Vec<HaproxyConfig>) -> TestDaemon {
    let mut c = config();
    c.haproxy = sources;
    start_daemon(c).await
}

/// The target id of `backend` in source `group`.
pub fn id(group: &str, backend: &str) -> String {
    format!("haproxy/{group}/{backend}")
}

/// The server `name` of a `/api/haproxy/backends` entry (`Null` if absent).
pub fn server(backend: &Value, name: &str) -> Value {
    let servers = backend["servers"].as_array().cloned().unwrap_or_default();
    servers
        .into_iter()
        .find(|s| s["name"] == name)
        .unwrap_or(Value::Null)
}

/// The server names of a `/api/haproxy/backends` entry, sorted.
pub fn server_names(backend: &Value) -> Vec<String> {
    let servers = backend["servers"].as_array().cloned().unwrap_or_default();
    let mut names: Vec<String> = servers
        .iter()
        .map(|s| s["name"].as_str().unwrap_or("?").to_string())
        .collect();
    names.sort();
    names
}

/// Waits until our API shows server `name` of target `id` in `state`; returns it.
pub async fn wait_server(td: &TestDaemon, id: &str, name: &str, state: &str) -> Value {
    let what = format!("{id}: server {name} in state {state}");
    wait_for(&what, async || {
        let s = server(&td.backend(id).await, name);
        (s["state"] == state).then_some(s)
    })
    .await
}

/// Waits until target `id` shows every one of `servers` fully `UP` (not the
/// `UP 1/2` HAProxy shows after a start, before the first check passed).
pub async fn wait_all_up(td: &TestDaemon, id: &str, servers: &[&str]) {
    for name in servers {
        let what = format!("{id}: server {name} UP");
        wait_for(&what, async || {
            let s = server(&td.backend(id).await, name);
            (s["state"] == "up" && s["status"] == "UP").then_some(())
        })
        .await;
    }
}

/// The `(from, to)` of every `server_state_changed` event of `server` in `id`.
pub async fn transitions(td: &TestDaemon, id: &str, name: &str) -> Vec<(Value, Value)> {
    let events = td.events(Some(id)).await;
    events
        .iter()
        .filter(|e| e["type"] == "server_state_changed" && e["data"]["server"] == name)
        .map(|e| (e["data"]["from"].clone(), e["data"]["to"].clone()))
        .collect()
}

/// Waits until `server` of `id` has had exactly the transitions `want`, in order.
pub async fn wait_transitions(td: &TestDaemon, id: &str, name: &str, want: &[(&str, &str)]) {
    let want: Vec<(Value, Value)> = want
        .iter()
        .map(|(f, t)| ((*f).into(), (*t).into()))
        .collect();
    let mut last = Vec::new();
    let seen = crate::common::try_wait_for(crate::common::DEADLINE, async || {
        last = transitions(td, id, name).await;
        (last.len() >= want.len()).then_some(())
    })
    .await;
    assert!(
        seen.is_some(),
        "{id}/{name}: transitions {last:?}, want {want:?}"
    );
    assert_eq!(
        last, want,
        "{id}/{name}: server_state_changed events (from, to)"
    );
}
