//! SIGHUP to the `watchpost` binary applies `[[notify]]` changes
//! (docs/notifications.md#reload): a changed notifier restarts with its new URL and
//! delivers the message its old receiver kept refusing, with the same delivery id
//! (its cursor was kept); a removed one stops; an added one starts at the end of the
//! log (it sends the resolution of an alert that fired before it, not the firing);
//! one added back (by `POST /api/admin/reload`) resumes from its stored cursor and
//! sends what it missed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use watchpost::sim::AgentSim;

use crate::common::*;
use crate::notify::{Got, Mode, Receiver};
use crate::process::{Deadline, Proc, free_port};

/// The config: one HAProxy backend with two servers, `server_down` at once (the
/// other rules that one server down could set off are off), and `notifiers`
/// (name, webhook URL).
fn write_config(dir: &Path, port: u16, sim: &str, notifiers: &[(&str, String)]) -> PathBuf {
    let mut text = format!(
        r#"[server]
listen = "127.0.0.1:{port}"
admin_token = "{TOKEN}"

[storage]
path = {storage:?}

[defaults]
interval = "200ms"
timeout = "150ms"

[[haproxy]]
name = "fdmz01"
source = "agent"
url = "{sim}"
backends = ["a"]

[alerts]
server_down = {{ for = "0s" }}
backend_degraded = {{ enabled = false }}
flapping = {{ enabled = false }}
"#,
        storage = dir.join("state.redb"),
    );
    for (name, url) in notifiers {
        text.push_str(&format!(
            r#"
[[notify]]
name = "{name}"
kind = "webhook"
url = "{url}"
group_wait = "100ms"
group_interval = "100ms"
timeout = "2s"
retry = {{ initial = "50ms", max = "100ms", max_elapsed = "100ms" }}
circuit = {{ failure_threshold = 3, open_base = "200ms", open_max = "400ms" }}
"#
        ));
    }
    let path = dir.join("watchpost.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn hup(d: &Proc) {
    let status = Command::new("kill")
        .args(["-HUP", &d.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -HUP failed");
}

/// `GET /api/notifiers` once `pred` holds.
async fn wait_rows(d: &mut Proc, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Deadline::new(what, Duration::from_secs(30));
    loop {
        let body = d.json("/api/notifiers").await;
        let rows = body["notifiers"].as_array().cloned().unwrap_or_default();
        if pred(&rows) {
            return rows;
        }
        deadline.tick(&body).await;
    }
}

fn names(rows: &[Value]) -> Vec<&str> {
    rows.iter().filter_map(|r| r["name"].as_str()).collect()
}

/// The accepted requests at `path`.
fn at(r: &Receiver, path: &str) -> Vec<Got> {
    r.got()
        .into_iter()
        .filter(|g| g.path == path && g.answered == 200)
        .collect()
}

async fn wait_at(r: &Receiver, path: &str, n: usize) -> Vec<Got> {
    wait_for(&format!("{n} messages at {path}"), async || {
        let got = at(r, path);
        (got.len() >= n).then_some(got)
    })
    .await
}

#[actix_web::test]
async fn sighup_stops_starts_and_restarts_notifiers() {
    let dir = tempfile::tempdir().unwrap();
    let sim = AgentSim::start(local(), vec![backend("a")], vec![])
        .await
        .unwrap();
    let ok = Receiver::start(Mode::Accept).await;
    let refusing = Receiver::start(Mode::Unavailable(u32::MAX)).await;
    let port = free_port();
    let all = [
        ("a", ok.url("/a")),
        ("b", refusing.url("/b")),
        ("b", ok.url("/b2")),
        ("c", ok.url("/c")),
    ];
    let config = write_config(dir.path(), port, &sim.url(), &all[..2]);
    let mut d = Proc::run(dir.path(), "daemon", &config, port).await;

    sim.set_server_status("a", "app2", "DOWN");
    let firing = wait_at(&ok, "/a", 1).await;
    assert_eq!(firing[0].json()["status"], "firing");
    wait_rows(&mut d, "b failing with a message pending", |rows| {
        rows.iter()
            .any(|r| r["name"] == "b" && r["state"] != "ok" && r["pending"].as_u64() > Some(0))
    })
    .await;
    let refused: BTreeSet<String> = refusing
        .got()
        .iter()
        .map(|g| g.header("watchpost-delivery").to_string())
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");

    // a removed, b changed (a receiver that accepts), c added.
    write_config(dir.path(), port, &sim.url(), &all[2..]);
    hup(&d);
    let rows = wait_rows(&mut d, "the notifiers b and c", |r| names(r) == ["b", "c"]).await;
    assert!(
        rows[0]["failed_attempts_total"].as_u64() > Some(0),
        "the changed notifier's counters continue: {rows:?}"
    );
    let b = wait_at(&ok, "/b2", 1).await;
    assert_eq!(
        b[0].header("watchpost-delivery"),
        refused.iter().next().unwrap(),
        "the refused message, delivered by the changed notifier"
    );
    assert_eq!(b[0].json()["status"], "firing");
    let rows = wait_rows(&mut d, "b delivered", |r| r[0]["delivered_total"] == 1).await;
    assert_eq!(rows[0]["state"], "ok", "{rows:?}");
    let refused_total = refusing.got().len();

    // The resolution goes to b and to c; c never sends the firing that came
    // before it started; a, removed, sends nothing.
    sim.set_server_status("a", "app2", "UP");
    let b = wait_at(&ok, "/b2", 2).await;
    assert_eq!(b[1].json()["status"], "resolved");
    let c = wait_at(&ok, "/c", 1).await;
    assert_eq!(c[0].json()["status"], "resolved", "{:?}", c[0].json());
    assert_eq!(at(&ok, "/c").len(), 1);
    assert_eq!(at(&ok, "/a").len(), 1, "a removed notifier sent");
    assert_eq!(refusing.got().len(), refused_total, "the old b still sends");

    // a back, through `POST /api/admin/reload` this time (on an HTTP worker; the
    // task still runs): it resumes from its stored cursor and sends the
    // resolution it missed.
    let back = [all[0].clone(), all[2].clone(), all[3].clone()];
    write_config(dir.path(), port, &sim.url(), &back);
    let url = format!("http://127.0.0.1:{port}/api/admin/reload");
    let (status, body) = post(&client(), &url, Some(TOKEN), "").await;
    assert_eq!(status, 200, "{body}");
    wait_rows(&mut d, "a, b and c", |r| names(r) == ["a", "b", "c"]).await;
    let a = wait_at(&ok, "/a", 2).await;
    assert_eq!(a[1].json()["status"], "resolved");
    let (out, err) = d.output();
    assert!(
        format!("{out}{err}").contains("notifiers reloaded"),
        "{out}\n{err}"
    );
}
