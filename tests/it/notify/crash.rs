//! The `watchpost` binary: `kill -9` while a message is pending (its receiver
//! answers 503) loses nothing, and the message delivered after the restart carries
//! the delivery id of the attempts before the crash. Also `watchpost notify-test`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use watchpost::actors::store::Store;
use watchpost::model::Ts;

use super::{Mode, Receiver, alert};
use crate::process::{Deadline, Proc, bin, free_port};

fn write_config(dir: &Path, port: u16, hook: &str) -> PathBuf {
    let text = format!(
        r#"[server]
listen = "127.0.0.1:{port}"

[storage]
path = "{}"

[[notify]]
name = "hook"
kind = "webhook"
url = "{hook}"
secret = "${{HOOK_SECRET}}"
group_wait = "100ms"
group_interval = "100ms"
timeout = "2s"
retry = {{ initial = "50ms", max = "100ms", max_elapsed = "100ms" }}
circuit = {{ failure_threshold = 3, open_base = "200ms", open_max = "400ms" }}
"#,
        dir.join("state.redb").display()
    );
    let path = dir.join("watchpost.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Commits alert transitions into a stopped daemon's file, and a cursor for `hook`
/// before them, as if the daemon had committed them just before it died.
fn seed(dir: &Path) {
    let store = Store::open(&dir.join("state.redb"), 1000).unwrap();
    watchpost::notify::durable::save(&store.database().unwrap(), "hook", 0, None).unwrap();
    let drafts = (0..3)
        .map(|i| super::draft(&alert("fdmz01", &format!("b{i}"), "app1", true)))
        .collect();
    store.commit(&[], drafts, Ts::now()).unwrap();
}

async fn run(dir: &Path, name: &str, config: &Path, port: u16) -> Proc {
    let config = config.to_str().unwrap();
    let env = [("HOOK_SECRET", "s3cret")];
    let mut p = Proc::spawn(dir, name, &["run", "--config", config], &env, port);
    p.wait_healthy().await;
    p
}

#[actix_web::test]
async fn kill_9_while_a_message_is_pending_delivers_it_after_restart_with_the_same_id() {
    let dir = tempfile::tempdir().unwrap();
    let r = Receiver::start(Mode::Unavailable(u32::MAX)).await;
    let port = free_port();
    let config = write_config(dir.path(), port, &r.url("/hook"));
    seed(dir.path());
    let mut first = run(dir.path(), "first", &config, port).await;
    let deadline = Deadline::new(
        "the failure to show in /api/notifiers",
        Duration::from_secs(30),
    );
    loop {
        let body = first.json("/api/notifiers").await;
        let n = &body["notifiers"][0];
        if n["state"] != "ok" && n["pending"].as_u64() > Some(0) && r.got().len() >= 2 {
            assert!(n["last_error"].as_str().unwrap().contains("503"), "{n}");
            break;
        }
        deadline.tick(&body).await;
    }
    first.kill9();
    let refused: BTreeSet<String> = r
        .got()
        .iter()
        .map(|g| g.header("watchpost-delivery").to_string())
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    r.set_mode(Mode::Accept);
    let mut second = run(dir.path(), "second", &config, port).await;
    let got = r.accepted(1).await;
    assert_eq!(
        got[0].header("watchpost-delivery"),
        refused.iter().next().unwrap().as_str()
    );
    assert_eq!(got[0].json()["alerts"].as_array().unwrap().len(), 3);
    assert!(got[0].header("watchpost-signature").starts_with("t="));
    let deadline = Deadline::new("the delivery to be counted", Duration::from_secs(30));
    loop {
        let body = second.json("/api/notifiers").await;
        if body["notifiers"][0]["delivered_total"] == 1 && body["notifiers"][0]["pending"] == 0 {
            break;
        }
        deadline.tick(&body).await;
    }
    second.term();
    second.wait_exit(30).await;
    let mut third = run(dir.path(), "third", &config, port).await;
    let body = third.json("/api/notifiers").await;
    assert_eq!(
        body["notifiers"][0]["pending"], 0,
        "delivered before the restart: {body}"
    );
    assert_eq!(
        r.got().iter().filter(|g| g.answered == 200).count(),
        1,
        "not sent again"
    );
}

#[actix_web::test]
async fn notify_test_prints_the_receivers_answer() {
    let dir = tempfile::tempdir().unwrap();
    let r = Receiver::start(Mode::Accept).await;
    let config = write_config(dir.path(), free_port(), &r.url("/hook"));
    let out = tokio::process::Command::new(bin())
        .args([
            "notify-test",
            "--config",
            config.to_str().unwrap(),
            "--notifier",
            "hook",
        ])
        .env("HOOK_SECRET", "s3cret")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("hook (webhook): accepted: 200 OK"),
        "{stdout}"
    );
    assert_eq!(r.got()[0].json()["alerts"][0]["rule"], "watchpost_test");
    let missing = tokio::process::Command::new(bin())
        .args([
            "notify-test",
            "--config",
            config.to_str().unwrap(),
            "--notifier",
            "nope",
        ])
        .env("HOOK_SECRET", "s3cret")
        .output()
        .await
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no notifier named \"nope\""));
}
