//! Two daemons posting the same alert to a real Prometheus Alertmanager
//! (`prometheus-alertmanager`), whose webhook receiver is our test server: one
//! notification for the firing alert, then one for its resolution.

use std::path::Path;
use std::process::Stdio;

use serde_json::Value;
use watchpost::config::NotifierKind;

use super::{Mode, Receiver, alert, commit, quick, wait_notifier};
use crate::common::{config, start_daemon, wait_for};
use crate::process::free_port;

const BIN: &str = "/usr/bin/prometheus-alertmanager";

/// A running Alertmanager, killed when dropped.
pub(super) struct Alertmanager {
    pub(super) url: String,
    _child: tokio::process::Child,
}

pub(super) async fn start_alertmanager(dir: &Path, hook: &str) -> Alertmanager {
    let yml = format!(
        "route:\n  receiver: hook\n  group_by: ['alertname', 'group']\n  group_wait: 200ms\n  \
         group_interval: 500ms\n  repeat_interval: 1h\nreceivers:\n- name: hook\n  webhook_configs:\n  \
         - url: {hook}\n    send_resolved: true\n"
    );
    let file = dir.join("alertmanager.yml");
    std::fs::write(&file, yml).unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let child = tokio::process::Command::new(BIN)
        .arg(format!("--config.file={}", file.display()))
        .arg(format!("--storage.path={}", dir.join("am-data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("am.log")).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{BIN} (Debian prometheus-alertmanager): {e}"));
    let ready = format!("{url}/-/ready");
    wait_for("Alertmanager to be ready", async || {
        let r = reqwest::get(&ready).await.ok()?;
        (r.status() == 200).then_some(())
    })
    .await;
    Alertmanager { url, _child: child }
}

#[actix_web::test]
async fn two_daemons_posting_one_alert_make_one_alertmanager_notification() {
    let dir = tempfile::tempdir().unwrap();
    let hook = Receiver::start(Mode::Accept).await;
    let am = start_alertmanager(dir.path(), &hook.url("/am")).await;
    let mut daemons = Vec::new();
    for _ in 0..2 {
        let mut c = config();
        c.notify.push(quick(
            "am",
            NotifierKind::Alertmanager {
                urls: vec![am.url.clone()],
                resend: std::time::Duration::from_secs(60),
            },
        ));
        daemons.push(start_daemon(c).await);
    }
    for td in &daemons {
        commit(td, &[alert("fdmz01", "jurws", "app2", true)]).await;
    }
    for td in &daemons {
        wait_notifier(td, "am", "the post to Alertmanager", |n| {
            n["delivered_total"] == 1
        })
        .await;
    }
    let got = hook.accepted(1).await;
    let doc = got[0].json();
    assert_eq!(doc["status"], "firing", "{doc}");
    let alerts = doc["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "one alert, de-duplicated: {doc}");
    let labels = &alerts[0]["labels"];
    for (k, v) in [
        ("alertname", "server_down"),
        ("severity", "critical"),
        ("group", "fdmz01"),
        ("target", "haproxy/fdmz01/jurws"),
        ("backend", "jurws"),
        ("server", "app2"),
    ] {
        assert_eq!(labels[k], v, "{labels}");
    }
    assert_eq!(
        alerts[0]["annotations"]["summary"],
        "server app2 of jurws is down"
    );
    assert!(
        alerts[0]["generatorURL"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    let listed = reqwest::get(format!("{}/api/v2/alerts", am.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    for td in &daemons {
        commit(td, &[alert("fdmz01", "jurws", "app2", false)]).await;
    }
    let got = wait_for("the resolution notification", async || {
        let got = hook.got();
        got.iter()
            .any(|g| g.json()["status"] == "resolved")
            .then_some(got)
    })
    .await;
    let firing = got
        .iter()
        .filter(|g| g.json()["status"] == "firing")
        .count();
    assert_eq!(firing, 1, "two daemons, one firing notification: {got:#?}");
    let resolved = got
        .iter()
        .find(|g| g.json()["status"] == "resolved")
        .unwrap()
        .json();
    let ends = resolved["alerts"][0]["endsAt"].as_str().unwrap_or("");
    assert!(
        ends.starts_with("2026-12-03T10:05:00"),
        "ends at the resolution: {resolved}"
    );
    for td in daemons {
        td.daemon.shutdown().await;
    }
}
