//! From a real source outage to the receiver: an FAgent host serving 10 backends
//! fails, the alert rules fire `target_unreachable` for each, and the webhook (which
//! takes critical alerts only) gets one message for the group; when the host
//! returns, the resolutions (as many messages as `group_interval` lets through).

use std::time::Duration;

use watchpost::alerts::Rule;
use watchpost::config::NotifierKind;
use watchpost::sim::Fault;

use super::{Mode, Receiver, quick, wait_notifier};
use crate::common::{agent_daemon_in, config, short_open_policy};

#[actix_web::test]
async fn an_fagent_outage_of_ten_backends_is_one_message_and_one_resolution() {
    let r = Receiver::start(Mode::Accept).await;
    let mut c = config();
    let mut hook = quick(
        "hook",
        NotifierKind::Webhook {
            url: r.url("/hook"),
            secret: None,
        },
    );
    hook.matchers
        .insert("severity".into(), vec!["critical".into()]);
    hook.group_wait = Duration::from_secs(3);
    c.notify.push(hook);
    let rule = c.alerts.rules.get_mut(&Rule::TargetUnreachable).unwrap();
    rule.hold = Duration::from_millis(300);
    let backends: Vec<String> = (0..10).map(|i| format!("be{i}")).collect();
    let names: Vec<&str> = backends.iter().map(String::as_str).collect();
    let (sim, td) = agent_daemon_in(c, &names, short_open_policy()).await;
    sim.set_fault(Some(Fault::Status(503)));
    let got = r.accepted(1).await;
    let doc = got[0].json();
    assert_eq!(doc["status"], "firing");
    assert_eq!(doc["group"], serde_json::json!({"group": "fdmz01"}));
    let alerts = doc["alerts"].as_array().unwrap();
    assert_eq!(
        alerts.len(),
        10,
        "one message listing the 10 backends: {doc}"
    );
    assert!(
        alerts.iter().all(|a| a["rule"] == "target_unreachable"),
        "{doc}"
    );
    let link = doc["dashboard_url"].as_str().unwrap();
    assert_eq!(
        link,
        format!("http://{}/", td.daemon.addr),
        "the daemon's own address"
    );
    sim.set_fault(None);
    let got = wait_for_resolution(&r).await;
    let before_resolution = got
        .iter()
        .take_while(|g| {
            g.json()["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a["state"] == "firing")
        })
        .count();
    assert_eq!(
        before_resolution, 1,
        "one message until alerts resolve: {got:#?}"
    );
    wait_notifier(&td, "hook", "the deliveries to be counted", |n| {
        n["pending"] == 0
    })
    .await;
    td.daemon.shutdown().await;
}

async fn wait_for_resolution(r: &Receiver) -> Vec<super::Got> {
    crate::common::wait_for("every alert resolved", async || {
        let got = r.got();
        let resolved: std::collections::BTreeSet<String> = got
            .iter()
            .flat_map(|g| g.json()["alerts"].as_array().cloned().unwrap_or_default())
            .filter(|a| a["state"] == "resolved")
            .map(|a| a["id"].to_string())
            .collect();
        (resolved.len() == 10).then_some(got)
    })
    .await
}
