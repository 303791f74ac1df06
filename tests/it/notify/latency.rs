//! Figures, not checks (run with `--ignored`; see docs/PERFORMANCE.md): the time
//! from the commit of an alert transition to its arrival at a webhook receiver,
//! and to its appearance in Alertmanager's API.

use std::time::{Duration, Instant};

use watchpost::config::NotifierKind;

use super::{Mode, Receiver, alert, commit, quick};
use crate::common::{config, start_daemon};

const N: usize = 50;

fn report(what: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    eprintln!(
        "{what}: n={} median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

fn per_alert(mut n: watchpost::config::NotifyConfig) -> watchpost::config::NotifyConfig {
    n.group_by = vec!["server".into()];
    n.group_wait = Duration::ZERO;
    n.group_interval = Duration::ZERO;
    n
}

#[actix_web::test]
#[ignore = "a measurement; run with --ignored"]
async fn commit_to_webhook_latency() {
    let r = Receiver::start(Mode::Accept).await;
    let mut c = config();
    let kind = NotifierKind::Webhook {
        url: r.url("/hook"),
        secret: None,
    };
    c.notify.push(per_alert(quick("hook", kind)));
    let td = start_daemon(c).await;
    let mut ms = Vec::new();
    for i in 0..N {
        commit(&td, &[alert("fdmz01", "jurws", &format!("s{i}"), true)]).await;
        let committed = Instant::now();
        let got = r.accepted(i + 1).await;
        let arrived = got[i].at;
        ms.push(arrived.saturating_duration_since(committed).as_secs_f64() * 1000.0);
    }
    report("commit -> webhook receiver", ms);
    td.daemon.shutdown().await;
}

#[actix_web::test]
#[ignore = "a measurement; run with --ignored"]
async fn commit_to_alertmanager_latency() {
    let dir = tempfile::tempdir().unwrap();
    let hook = Receiver::start(Mode::Accept).await;
    let am = super::alertmanager::start_alertmanager(dir.path(), &hook.url("/am")).await;
    let mut c = config();
    let kind = NotifierKind::Alertmanager {
        urls: vec![am.url.clone()],
        resend: Duration::from_secs(60),
    };
    c.notify.push(quick("am", kind));
    let td = start_daemon(c).await;
    let client = reqwest::Client::new();
    let mut ms = Vec::new();
    for i in 0..N {
        commit(&td, &[alert("fdmz01", "jurws", &format!("s{i}"), true)]).await;
        let committed = Instant::now();
        let url = format!("{}/api/v2/alerts", am.url);
        loop {
            let text = client.get(&url).send().await.unwrap().text().await.unwrap();
            let list: serde_json::Value = serde_json::from_str(&text).unwrap();
            if list.as_array().is_some_and(|l| l.len() > i) {
                break;
            }
            assert!(
                committed.elapsed() < Duration::from_secs(30),
                "no alert in Alertmanager"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        ms.push(committed.elapsed().as_secs_f64() * 1000.0);
    }
    report("commit -> Alertmanager API", ms);
    td.daemon.shutdown().await;
}
