//! Tests that drive the `watchpost` binary itself: kill -9 and restart, SIGTERM,
//! the single-instance guard, `check-config`, invalid configs and `demo`.
//!
//! - `restart`: the acceptance check (kill -9, a quiet restart, polling again,
//!   SIGTERM) and the fixture the other restart tests share;
//! - `crash`: repeated kill -9 while a backend flaps;
//! - `circuit`: a breaker that is open at a kill (regression test);
//! - `cli`: `check-config`, `run` with a bad config, a second `run` on one file;
//! - `demo`: `watchpost demo`;
//! - `logs`: JSON and text logs, `--log-level`, no secret in any log;
//! - `storage`: a damaged state file (refused, repaired) and a full disk (tmpfs).
//!
//! Helpers here: [`Proc`] (a child process killed on drop, its output in files),
//! free ports, a config writer, and polling of the HTTP API with a deadline.

mod alerts;
mod circuit;
mod cli;
mod crash;
mod demo;
mod drift;
mod logs;
mod restart;
mod storage;

use std::fs::File;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use serde_json::Value;

/// The `watchpost` binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_watchpost")
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// An HTTP client for loopback, without proxies.
pub use crate::common::client;

pub use watchpost::testkit::Deadline;

/// A child process, killed (SIGKILL) and reaped when dropped. Its stdout and stderr
/// go to files in `dir`.
pub struct Proc {
    child: Option<Child>,
    pub port: u16,
    stdout: PathBuf,
    stderr: PathBuf,
    http: reqwest::Client,
}

impl Proc {
    /// Starts `watchpost args...` with extra environment variables.
    pub fn spawn(dir: &Path, name: &str, args: &[&str], env: &[(&str, &str)], port: u16) -> Proc {
        let stdout = dir.join(format!("{name}.stdout"));
        let stderr = dir.join(format!("{name}.stderr"));
        let mut cmd = Command::new(bin());
        cmd.args(args).stdin(Stdio::null()).env("RUST_LOG", "info");
        cmd.stdout(File::create(&stdout).expect("stdout file"));
        cmd.stderr(File::create(&stderr).expect("stderr file"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn watchpost");
        Proc {
            child: Some(child),
            port,
            stdout,
            stderr,
            http: client(),
        }
    }

    /// `watchpost run --config PATH`, once `/healthz` answers.
    pub async fn run(dir: &Path, name: &str, config: &Path, port: u16) -> Proc {
        let config = config.to_str().expect("utf-8 path");
        let mut p = Proc::spawn(dir, name, &["run", "--config", config], &[], port);
        p.wait_healthy().await;
        p
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("child").id()
    }

    /// What the process wrote so far, stdout and stderr.
    pub fn output(&self) -> (String, String) {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        (read(&self.stdout), read(&self.stderr))
    }

    /// Panics with the process output if it has exited.
    fn assert_alive(&mut self) {
        let child = self.child.as_mut().expect("child");
        if let Ok(Some(status)) = child.try_wait() {
            let (out, err) = self.output();
            panic!("watchpost exited early ({status}):\nstdout:\n{out}\nstderr:\n{err}");
        }
    }

    /// Waits until `GET /healthz` answers 200.
    pub async fn wait_healthy(&mut self) {
        let deadline = Deadline::new("the daemon to answer /healthz", Duration::from_secs(30));
        loop {
            self.assert_alive();
            let url = format!("http://127.0.0.1:{}/healthz", self.port);
            match self.http.get(url).send().await {
                Ok(r) if r.status() == 200 => return,
                other => deadline.tick(&other.map(|r| r.status())).await,
            }
        }
    }

    /// `GET path`: the status and the JSON body.
    pub async fn get(&mut self, path: &str) -> (u16, Value) {
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        let answer = self.http.get(&url).send().await;
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                self.assert_alive();
                panic!("GET {url} failed: {e}");
            }
        };
        let status = answer.status().as_u16();
        let text = answer.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {url}: {e}: {text}"));
        (status, body)
    }

    /// `GET path`, which must answer 200: the JSON body.
    pub async fn json(&mut self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// Waits (bounded) until the process exits, and returns how.
    pub async fn wait_exit(&mut self, secs: u64) -> ExitStatus {
        let deadline = Deadline::new("the process to exit", Duration::from_secs(secs));
        loop {
            let child = self.child.as_mut().expect("child");
            if let Some(status) = child.try_wait().expect("try_wait") {
                return status;
            }
            deadline.tick(&self.output()).await;
        }
    }

    /// Sends SIGTERM with the `kill` command.
    pub fn term(&self) {
        let pid = self.pid().to_string();
        let ok = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(ok.success(), "kill -TERM {pid} failed");
    }

    /// SIGKILL and reap.
    pub fn kill9(mut self) {
        let mut child = self.child.take().expect("child");
        child.kill().expect("kill -9");
        child.wait().expect("reap");
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Polling settings of one daemon run.
pub struct Timing {
    pub interval: &'static str,
    pub timeout: &'static str,
    pub threshold: u32,
    pub open: &'static str,
}

/// Polls every 300 ms; the breaker never opens.
pub const FAST: Timing = Timing {
    interval: "300ms",
    timeout: "150ms",
    threshold: 1000,
    open: "5s",
};
/// Polls once an hour: with names from [`quiet_name`] the first poll is far away.
pub const SLOW: Timing = Timing {
    interval: "1h",
    timeout: "1s",
    threshold: 1000,
    open: "5s",
};

/// Where the sources are and what the daemon calls them.
pub struct Sources {
    pub haproxy: String,
    pub agent_url: String,
    pub backends: Vec<&'static str>,
    pub eureka: String,
    pub eureka_url: String,
}

/// Writes `dir/NAME.toml` for a daemon on `port` storing in `dir/state.redb`.
pub fn write_config(dir: &Path, name: &str, port: u16, src: &Sources, t: &Timing) -> PathBuf {
    let storage = dir.join("state.redb");
    let backends: Vec<String> = src.backends.iter().map(|b| format!("{b:?}")).collect();
    let text = format!(
        r#"[server]
listen = "127.0.0.1:{port}"

[storage]
path = {storage:?}

[defaults]
interval = "{interval}"
timeout = "{timeout}"
retry = {{ initial = "20ms", max = "40ms", multiplier = 2.0, max_elapsed = "100ms" }}
circuit = {{ failure_threshold = {threshold}, open_base = "{open}", open_max = "{open}" }}

[[haproxy]]
name = "{haproxy}"
source = "agent"
url = "{agent_url}"
backends = [{backends}]

[[eureka]]
name = "{eureka}"
source = "eureka"
url = "{eureka_url}"
"#,
        interval = t.interval,
        timeout = t.timeout,
        threshold = t.threshold,
        open = t.open,
        haproxy = src.haproxy,
        agent_url = src.agent_url,
        backends = backends.join(", "),
        eureka = src.eureka,
        eureka_url = src.eureka_url,
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).expect("write config");
    path
}

/// The daemon's first poll of `id` with `interval`: a hash of the id (SipHash with
/// fixed keys, the same in this test binary as in the daemon built by the same
/// compiler), as in `Poller::first_delay`.
fn first_delay(id: &str, interval: Duration) -> Duration {
    let mut h = DefaultHasher::new();
    id.to_string().hash(&mut h);
    Duration::from_millis(h.finish() % interval.as_millis() as u64)
}

/// `prefix` plus the first number that puts the first poll of every target id that
/// `ids` gives for the name at least 10 minutes into a 1 h interval.
pub fn quiet_name(prefix: &str, ids: impl Fn(&str) -> Vec<String>) -> String {
    let hour = Duration::from_secs(3600);
    let quiet = |name: &str| ids(name).iter().all(|id| first_delay(id, hour) >= hour / 6);
    (0..1000)
        .map(|n| format!("{prefix}{n}"))
        .find(|name| quiet(name))
        .expect("a name whose first poll is far away")
}

/// The events of `/api/events` (all of them: the tests stay far below 10 000).
pub async fn events(d: &mut Proc) -> Vec<Value> {
    let body = d.json("/api/events?since=0&limit=10000").await;
    body["events"].as_array().expect("events array").clone()
}

/// `(seq, type, target)` of each event.
pub fn keys(events: &[Value]) -> Vec<(u64, String, String)> {
    let key = |e: &Value| {
        let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
        (e["seq"].as_u64().expect("seq"), s("type"), s("target"))
    };
    events.iter().map(key).collect()
}

/// The entry of `list` whose `field` is `value`.
pub fn find<'a>(list: &'a Value, field: &str, value: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|v| v[field] == value)
}
