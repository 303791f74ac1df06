//! Configuration reload (docs/api.md `POST /api/admin/reload`, docs/operations.md SIGHUP): targets are
//! added and removed with events, untouched pollers keep their breaker and counters,
//! an invalid file or a missing token changes nothing. Submodules: a changed target
//! restarts alone (`changed`), SIGHUP to the binary (`sighup`), and notifiers
//! stopped, started and restarted by SIGHUP (`notify`).

mod changed;
mod notify;
mod sighup;

use std::path::PathBuf;

use serde_json::Value;
use tempfile::TempDir;
use watchpost::config;
use watchpost::daemon::Daemon;
use watchpost::sim::{AgentSim, Fault};

use crate::common::*;

/// One `[[haproxy]]` table: name, interval override, backends.
struct Group<'a>(&'a str, Option<&'a str>, &'a [&'a str]);

/// A daemon started in-process from a config file it can reload.
struct Reloadable {
    _daemon: Daemon,
    file: PathBuf,
    url: String,
    sim_url: String,
    http: reqwest::Client,
    _dir: TempDir,
}

impl Reloadable {
    /// Writes the config for `groups` (all polling the agent sim at `sim_url`),
    /// loads it and starts the daemon.
    async fn start(sim_url: &str, groups: &[Group<'_>]) -> Reloadable {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("watchpost.toml");
        std::fs::write(&file, config_text(&file, sim_url, groups)).expect("write the config");
        let config =
            config::load(&file).unwrap_or_else(|e| panic!("the test config is invalid: {e}"));
        let daemon = Daemon::start(config).await.expect("the daemon starts");
        let url = format!("http://{}", daemon.addr);
        Reloadable {
            _daemon: daemon,
            file,
            url,
            sim_url: sim_url.into(),
            http: client(),
            _dir: dir,
        }
    }

    /// Rewrites the config file for `groups`.
    fn write(&self, groups: &[Group<'_>]) {
        self.write_text(&config_text(&self.file, &self.sim_url, groups));
    }

    fn write_text(&self, text: &str) {
        std::fs::write(&self.file, text).expect("write the config");
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = get_json(&self.http, &format!("{}{path}", self.url)).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    async fn reload(&self, token: Option<&str>) -> (u16, Value) {
        post(
            &self.http,
            &format!("{}/api/admin/reload", self.url),
            token,
            "",
        )
        .await
    }

    /// `/api/targets/{id}`, `Null` when unknown.
    async fn target(&self, id: &str) -> Value {
        let (status, body) =
            get_json(&self.http, &format!("{}/api/targets/{}", self.url, enc(id))).await;
        if status == 404 { Value::Null } else { body }
    }

    async fn wait_target(&self, id: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        wait_for(&format!("{id}: {what}"), async || {
            let t = self.target(id).await;
            pred(&t).then_some(t)
        })
        .await
    }

    /// Waits until `id` was polled `n` more times: time passed, pollers ran.
    async fn wait_polls(&self, id: &str, n: usize) {
        for _ in 0..n {
            let seen = self.target(id).await["last_fetch_at"].clone();
            self.wait_target(id, "another poll", |t| t["last_fetch_at"] != seen)
                .await;
        }
    }

    async fn ids(&self) -> Vec<String> {
        let body = self.get("/api/targets").await;
        let list = body["targets"].as_array().cloned().unwrap_or_default();
        list.iter()
            .map(|t| t["id"].as_str().expect("id").to_string())
            .collect()
    }

    async fn events_since(&self, since: u64) -> Vec<Value> {
        let body = self
            .get(&format!("/api/events?since={since}&limit=10000"))
            .await;
        body["events"].as_array().cloned().unwrap_or_default()
    }

    async fn last_seq(&self) -> u64 {
        self.get("/api/events?limit=1").await["last_seq"]
            .as_u64()
            .expect("last_seq")
    }
}

/// The config text for a daemon storing next to `file`, polling `groups` of the
/// agent at `sim_url`; circuits open after 3 failures, for 60 s.
fn config_text(file: &std::path::Path, sim_url: &str, groups: &[Group<'_>]) -> String {
    let storage = file.with_file_name("state.redb");
    let mut text = format!(
        r#"[server]
listen = "127.0.0.1:0"
admin_token = "{TOKEN}"

[storage]
path = {storage:?}

[defaults]
interval = "250ms"
timeout = "150ms"
retry = {{ initial = "10ms", max = "20ms", multiplier = 2.0, max_elapsed = "50ms" }}
circuit = {{ failure_threshold = 3, open_base = "60s", open_max = "60s" }}
"#
    );
    for Group(name, interval, backends) in groups {
        let names: Vec<String> = backends.iter().map(|b| format!("{b:?}")).collect();
        let url = sim_url;
        text += &format!(
            "\n[[haproxy]]\nname = {name:?}\nsource = \"agent\"\nurl = {url:?}\nbackends = [{}]\n",
            names.join(", ")
        );
        if let Some(i) = interval {
            text += &format!("interval = {i:?}\n");
        }
    }
    text
}

const KEEP: &str = "haproxy/fdmz01/keep";
const GONE: &str = "haproxy/fdmz01/gone";
const NEW: &str = "haproxy/fdmz01/new";

fn servers_path(b: &str) -> String {
    format!("/backends/{b}/servers")
}

/// Makes backend `b` fail until its circuit is open; returns its target view.
async fn open_circuit(sim: &AgentSim, d: &Reloadable, id: &str, b: &str) -> Value {
    sim.set_backend_fault(b, Some(Fault::Status(503)));
    d.wait_target(id, "an open circuit", |t| {
        t["circuit_state"] == "open" && t["consecutive_failures"].as_u64() >= Some(3)
    })
    .await
}

/// The circuit, failure and restart details that a restart would lose.
fn kept(t: &Value) -> Value {
    serde_json::json!({
        "circuit": t["circuit"], "consecutive_failures": t["consecutive_failures"],
        "restarts": t["restarts"], "last_fetch_status": t["last_fetch_status"],
        "last_failure_at": t["last_failure_at"],
    })
}

#[actix_web::test]
async fn reload_adds_and_removes_targets_and_keeps_the_untouched_poller() {
    let sim = AgentSim::start(
        local(),
        ["keep", "gone", "new"].map(backend).to_vec(),
        vec![],
    )
    .await
    .unwrap();
    let d = Reloadable::start(&sim.url(), &[Group("fdmz01", None, &["keep", "gone"])]).await;
    d.wait_target(GONE, "first success", |t| fetch_is(t, "success"))
        .await;
    let before = open_circuit(&sim, &d, KEEP, "keep").await;
    assert!(
        before["circuit"]["opened_count"].as_u64() >= Some(1),
        "{before:#}"
    );
    let requests = sim.requests_matching(&servers_path("keep"));
    let since = d.last_seq().await;

    d.write(&[Group("fdmz01", None, &["keep", "new"])]);
    let (status, body) = d.reload(Some(TOKEN)).await;
    assert_eq!(status, 200, "{body:#}");
    let report = &body["report"];
    assert_eq!(report["added"], serde_json::json!([NEW]), "{body:#}");
    assert_eq!(report["removed"], serde_json::json!([GONE]), "{body:#}");
    assert_eq!(report["changed"], serde_json::json!([]), "{body:#}");
    assert_eq!(report["unchanged"], 1, "{body:#}");

    d.wait_target(NEW, "first success", |t| fetch_is(t, "success"))
        .await;
    d.wait_polls(NEW, 3).await;
    let events = d.events_since(since).await;
    let of = |kind: &str, id: &str| {
        events
            .iter()
            .filter(|e| e["type"] == kind && e["target"] == id)
            .count()
    };
    assert_eq!(
        (of("target_added", NEW), of("target_removed", GONE)),
        (1, 1),
        "{events:#?}"
    );
    assert!(
        events.iter().all(|e| e["target"] != KEEP),
        "the untouched target changed: {events:#?}"
    );
    let mut ids = d.ids().await;
    ids.sort();
    assert_eq!(ids, [KEEP, NEW]);
    assert_eq!(d.target(GONE).await, Value::Null);

    let after = d.target(KEEP).await;
    assert_eq!(
        kept(&after),
        kept(&before),
        "the untouched target's breaker or counters changed"
    );
    assert_eq!(after["circuit_state"], "open");
    let polled = sim.requests_matching(&servers_path("keep"));
    assert_eq!(
        polled, requests,
        "a request went to the untouched target while its circuit was open"
    );
    sim.set_backend_fault("keep", None);
}

#[actix_web::test]
async fn an_invalid_file_or_a_missing_token_changes_nothing() {
    let sim = AgentSim::start(local(), ["a", "b", "c"].map(backend).to_vec(), vec![])
        .await
        .unwrap();
    let d = Reloadable::start(&sim.url(), &[Group("fdmz01", None, &["a", "b"])]).await;
    let a = "haproxy/fdmz01/a";
    d.wait_target(a, "first success", |t| fetch_is(t, "success"))
        .await;
    let since = d.last_seq().await;
    let good = std::fs::read_to_string(&d.file).expect("config");
    let bad = good
        .replace("admin_token", "bogus = 1\nadmin_token")
        .replace("interval = \"250ms\"", "interval = \"soon\"")
        .replace(
            &format!("url = {:?}", sim.url()),
            "url = \"not a url\"\ncolour = \"red\"",
        )
        .replace("[\"a\", \"b\"]", "[\"a\", \"b\", \"c\"]");
    d.write_text(&bad);
    let (status, body) = d.reload(Some(TOKEN)).await;
    assert_eq!(status, 400, "{body:#}");
    assert_eq!(body["error"]["code"], "invalid_config", "{body:#}");
    let errors = body["error"]["errors"].as_array().expect("error.errors");
    let keys: Vec<&str> = errors
        .iter()
        .map(|e| e["key"].as_str().unwrap_or_default())
        .collect();
    for want in [
        "server.bogus",
        "defaults.interval",
        "haproxy[0].url",
        "haproxy[0].colour",
    ] {
        assert!(keys.contains(&want), "no error for {want}: {body:#}");
    }
    for e in errors {
        assert!(e["line"].as_u64() > Some(0), "an error without a line: {e}");
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
    }

    d.write(&[Group("fdmz01", None, &["a", "b", "c"])]);
    for token in [None, Some("wrong")] {
        let (status, body) = d.reload(token).await;
        assert_eq!(status, 401, "{body:#}");
    }
    d.wait_polls(a, 3).await;
    assert_eq!(
        d.ids().await.len(),
        2,
        "a target changed without a valid reload"
    );
    assert_eq!(
        d.events_since(since).await,
        Vec::<Value>::new(),
        "events without a valid reload"
    );

    let (status, body) = d.reload(Some(TOKEN)).await;
    assert_eq!(
        status, 200,
        "the admin token survived the invalid reload: {body:#}"
    );
    assert_eq!(
        body["report"]["added"],
        serde_json::json!(["haproxy/fdmz01/c"])
    );
    assert_eq!(body["report"]["unchanged"], 2);
}

/// An empty config on reload once dropped every target (and the admin API with
/// its token) without a word: it is refused unless asked for.
#[actix_web::test]
async fn a_config_without_sources_is_reloaded_only_when_asked() {
    let sim = AgentSim::start(local(), ["a"].map(backend).to_vec(), vec![])
        .await
        .unwrap();
    let d = Reloadable::start(&sim.url(), &[Group("fdmz01", None, &["a"])]).await;
    d.wait_target("haproxy/fdmz01/a", "first success", |t| {
        fetch_is(t, "success")
    })
    .await;
    d.write(&[]);
    let (status, body) = d.reload(Some(TOKEN)).await;
    assert_eq!(status, 400, "{body:#}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no sources"),
        "{body:#}"
    );
    assert_eq!(d.ids().await, vec!["haproxy/fdmz01/a".to_string()]);
    let url = format!("{}/api/admin/reload?allow_empty=true", d.url);
    let (status, body) = post(&d.http, &url, Some(TOKEN), "").await;
    assert_eq!(status, 200, "{body:#}");
    wait_for("every target removed", async || {
        d.ids().await.is_empty().then_some(())
    })
    .await;
}
