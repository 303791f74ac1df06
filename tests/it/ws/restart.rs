//! Resuming `/ws?since=` across a `kill -9` of the `watchpost` binary and a restart:
//! the client gets exactly the events committed before the kill that it missed,
//! then new ones, with seqs that continue without a gap or reuse.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use watchpost::sim::AgentSim;

use super::*;

/// `watchpost run --config PATH`, killed (SIGKILL) and reaped on drop.
pub struct Binary {
    child: Child,
    pub addr: SocketAddr,
    http: reqwest::Client,
    log: PathBuf,
}

impl Binary {
    /// Starts the binary and waits until `/healthz` answers.
    pub async fn run(config: &Path, addr: SocketAddr, log: PathBuf) -> Binary {
        let out = std::fs::File::create(&log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_watchpost"))
            .args(["run", "--config", config.to_str().expect("utf-8 path")])
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .expect("spawn watchpost");
        let d = Binary {
            child,
            addr,
            http: client(),
            log,
        };
        let url = d.url("/healthz");
        let up = try_wait_for(DEADLINE, async || {
            d.http
                .get(&url)
                .send()
                .await
                .ok()
                .filter(|r| r.status() == 200)
        })
        .await;
        assert!(
            up.is_some(),
            "the daemon did not answer /healthz: {}",
            d.output()
        );
        d
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET path`, which must answer 200 with JSON.
    pub async fn json(&self, path: &str) -> Value {
        let (status, body) = get_json(&self.http, &self.url(path)).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// The stored events with `seq > since`.
    pub async fn events_since(&self, since: u64) -> Vec<Value> {
        let body = self
            .json(&format!("/api/events?since={since}&limit=10000"))
            .await;
        body["events"].as_array().cloned().expect("events")
    }

    /// SIGKILL, and reap.
    pub fn kill9(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reap");
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback address whose port was free a moment ago.
pub fn free_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

/// Writes `dir/watchpost.toml`: a daemon on `addr` storing in `dir`, polling
/// `backends` of the agent at `url` every 200 ms, with a circuit that does not open.
pub fn write_config(dir: &Path, addr: SocketAddr, url: &str, backends: &[&str]) -> PathBuf {
    let names: Vec<String> = backends.iter().map(|b| format!("{b:?}")).collect();
    let text = format!(
        r#"[server]
listen = "{addr}"
admin_token = "{TOKEN}"

[storage]
path = {storage:?}

[defaults]
interval = "200ms"
timeout = "150ms"
retry = {{ initial = "10ms", max = "20ms", multiplier = 2.0, max_elapsed = "50ms" }}
circuit = {{ failure_threshold = 1000, open_base = "5s", open_max = "5s" }}

[[haproxy]]
name = "fdmz01"
source = "agent"
url = "{url}"
backends = [{names}]
"#,
        storage = dir.join("state.redb"),
        names = names.join(", "),
    );
    let path = dir.join("watchpost.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// Waits until the stored events after `since` include one matching `pred`.
async fn wait_event(
    d: &Binary,
    since: u64,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    wait_for(what, async || {
        let ev = d.events_since(since).await;
        ev.iter().any(&pred).then_some(ev)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_resumes_across_kill_9_and_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = AgentSim::start(local(), vec![backend("a")], vec![])
        .await
        .unwrap();
    let addr = free_addr();
    let config = write_config(dir.path(), addr, &sim.url(), &["a"]);
    let d = Binary::run(&config, addr, dir.path().join("first.log")).await;
    wait_for("the first poll", async || {
        // The target is registered just after /healthz answers: 404 until then.
        let url = d.url("/api/targets/haproxy%2Ffdmz01%2Fa");
        let (status, t) = get_json(&d.http, &url).await;
        (status == 200 && fetch_is(&t, "success")).then_some(())
    })
    .await;

    let mut ws = connect(addr, "").await;
    let start = next_json(&mut ws).await["seq"]
        .as_u64()
        .expect("snapshot seq");
    sim.set_server_status("a", "app1", "DOWN");
    let seen = events_until_match(&mut ws, |e| is_change(e, "a", "app1", "down")).await;
    assert_contiguous(&seen, start);
    let last = seq(seen.last().expect("event"));
    drop(ws);

    sim.set_server_status("a", "app2", "MAINT");
    let missed = wait_event(&d, last, "app2 in maint", |e| {
        is_change(e, "a", "app2", "maint")
    })
    .await;
    d.kill9();
    let before_kill = seq(missed.last().expect("missed"));

    let d = Binary::run(&config, addr, dir.path().join("second.log")).await;
    let mut ws = connect(addr, &format!("?since={last}")).await;
    let replayed = events_until(&mut ws, before_kill).await;
    assert_same_events(
        &replayed,
        &missed,
        "the replay after kill -9 vs the missed events",
    );

    sim.set_server_status("a", "app1", "UP");
    let live = events_until_match(&mut ws, |e| is_change(e, "a", "app1", "up")).await;
    assert!(seq(&live[0]) > before_kill, "a seq was reused: {live:#?}");
    let all: Vec<Value> = replayed.into_iter().chain(live).collect();
    assert_contiguous(&all, last);
    let stored = d.events_since(last).await;
    let head = &stored[..all.len().min(stored.len())];
    assert_same_events(&all, head, "the stream vs the restarted daemon's log");
    let maint = stored
        .iter()
        .filter(|e| is_change(e, "a", "app2", "maint"))
        .count();
    assert_eq!(maint, 1, "a transition reported twice: {stored:#?}");
}
