//! Webhook and Slack notifiers against an HTTP receiver: signature, grouping,
//! retries after 503, the admin "send test", and a receiver that never answers.

use std::collections::BTreeSet;
use std::time::Duration;

use hmac::{KeyInit, Mac};
use watchpost::config::{NotifierKind, Secret};

use super::{Mode, Receiver, alert, commit, quick, wait_notifier};
use crate::common::{config, start_daemon};
use crate::ws::{connect, next_json};

const SECRET: &str = "s3cret";

fn webhook(r: &Receiver, secret: Option<&str>) -> NotifierKind {
    NotifierKind::Webhook {
        url: r.url("/hook"),
        secret: secret.map(Secret::new),
    }
}

fn verify(got: &super::Got) {
    let sig = got.header("watchpost-signature");
    let (t, hex) = sig
        .strip_prefix("t=")
        .and_then(|s| s.split_once(",sha256="))
        .unwrap_or_else(|| panic!("signature header: {sig:?}"));
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&got.body);
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(hex, want, "HMAC of t.body");
}

#[actix_web::test]
async fn a_source_outage_of_ten_backends_is_one_signed_message_and_one_resolution() {
    let r = Receiver::start(Mode::Accept).await;
    let mut c = config();
    c.notify.push(quick("ops-hook", webhook(&r, Some(SECRET))));
    let td = start_daemon(c).await;
    let firing: Vec<_> = (0..10)
        .map(|i| alert("fdmz01", &format!("b{i}"), "app1", true))
        .collect();
    commit(&td, &firing[..4]).await;
    commit(&td, &firing[4..]).await;
    let got = r.accepted(1).await;
    let doc = got[0].json();
    verify(&got[0]);
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["notifier"], "ops-hook");
    assert_eq!(doc["status"], "firing");
    assert_eq!(doc["group"], serde_json::json!({"group": "fdmz01"}));
    assert_eq!(doc["alerts"].as_array().unwrap().len(), 10, "{doc}");
    assert_eq!(got[0].header("watchpost-delivery"), doc["delivery_id"]);
    let first = &doc["alerts"][0];
    for key in [
        "id",
        "rule",
        "severity",
        "state",
        "labels",
        "summary",
        "since",
        "fired_at",
        "resolved_at",
    ] {
        assert!(first.get(key).is_some(), "alert without {key}: {first}");
    }
    let row = wait_notifier(&td, "ops-hook", "one delivery", |n| {
        n["delivered_total"] == 1 && n["pending"] == 0
    })
    .await;
    assert_eq!(row["state"], "ok");
    assert_eq!(row["kind"], "webhook");
    let resolved: Vec<_> = (0..10)
        .map(|i| alert("fdmz01", &format!("b{i}"), "app1", false))
        .collect();
    commit(&td, &resolved).await;
    let got = r.accepted(2).await;
    let doc = got[1].json();
    verify(&got[1]);
    assert_eq!(doc["status"], "resolved");
    assert_eq!(doc["alerts"].as_array().unwrap().len(), 10);
    assert_ne!(doc["delivery_id"], got[0].json()["delivery_id"]);
    wait_notifier(&td, "ops-hook", "two deliveries", |n| {
        n["delivered_total"] == 2 && n["pending"] == 0
    })
    .await;
    assert_eq!(
        r.got().len(),
        2,
        "exactly two messages for ten alerts firing and resolving"
    );
    td.daemon.shutdown().await;
}

#[actix_web::test]
async fn a_receiver_answering_503_for_a_while_gets_the_message_with_one_delivery_id() {
    let r = Receiver::start(Mode::Unavailable(7)).await;
    let mut c = config();
    c.notify.push(quick("hook", webhook(&r, None)));
    let td = start_daemon(c).await;
    commit(&td, &[alert("fdmz01", "jurws", "app2", true)]).await;
    let failing = wait_notifier(&td, "hook", "the failure to show", |n| n["state"] != "ok").await;
    assert!(
        failing["last_error"].as_str().unwrap_or("").contains("503"),
        "{failing}"
    );
    assert!(failing["last_error_at"].is_string());
    let got = r.accepted(1).await;
    let all = r.got();
    assert!(
        all.len() >= 8,
        "7 refusals, then the delivery: {}",
        all.len()
    );
    let ids: BTreeSet<&str> = all.iter().map(|g| g.header("watchpost-delivery")).collect();
    assert_eq!(ids.len(), 1, "one delivery id on every attempt: {ids:?}");
    assert_eq!(got[0].path, "/hook");
    assert_eq!(got[0].json()["alerts"][0]["labels"]["server"], "app2");
    let row = wait_notifier(&td, "hook", "the recovery", |n| {
        n["state"] == "ok" && n["pending"] == 0
    })
    .await;
    assert!(row["failed_attempts_total"].as_u64().unwrap() >= 7, "{row}");
    assert_eq!(row["delivered_total"], 1);
    let metrics = reqwest::get(td.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("watchpost_notifier_delivered_total{notifier=\"hook\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("watchpost_notifier_up{notifier=\"hook\"} 1"));
    assert!(metrics.contains("# TYPE watchpost_notifier_failed_attempts_total counter"));
    td.daemon.shutdown().await;
}

#[actix_web::test]
async fn slack_gets_text_and_blocks_and_the_admin_test_message_is_answered() {
    let r = Receiver::start(Mode::Accept).await;
    let mut c = config();
    let mut slack = quick(
        "ops-slack",
        NotifierKind::Slack {
            url: r.url("/slack"),
        },
    );
    slack
        .matchers
        .insert("severity".into(), vec!["critical".into()]);
    c.notify.push(slack);
    let td = start_daemon(c).await;
    let mut warning = alert("fdmz01", "jurws", "app1", true);
    warning["severity"] = "warning".into();
    warning["id"] = "other".into();
    commit(&td, &[warning, alert("fdmz01", "jurws", "app2", true)]).await;
    let got = r.accepted(1).await;
    let doc = got[0].json();
    let text = doc["text"].as_str().unwrap();
    assert!(
        text.contains("FIRING critical: server_down haproxy/fdmz01/jurws app2"),
        "{text}"
    );
    assert!(!text.contains("app1"), "the warning does not match: {text}");
    assert_eq!(doc["blocks"][0]["type"], "header");
    assert!(doc["blocks"].to_string().contains("*Severity*"));
    let (status, body) = td
        .post("/api/admin/notifiers/ops-slack/test", None, "")
        .await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = td.admin("/api/admin/notifiers/ops-slack/test", "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], true);
    assert!(
        body["answer"].as_str().unwrap().starts_with("200"),
        "{body}"
    );
    let got = r.accepted(2).await;
    assert!(
        got[1].json()["text"]
            .as_str()
            .unwrap()
            .contains("watchpost_test")
    );
    assert_eq!(td.admin("/api/admin/notifiers/nope/test", "").await.0, 404);
    td.daemon.shutdown().await;
}

#[actix_web::test]
async fn a_receiver_that_never_answers_does_not_delay_websocket_events() {
    let r = Receiver::start(Mode::Hang).await;
    let mut c = config();
    let mut hook = quick("stuck", webhook(&r, None));
    hook.timeout = Duration::from_secs(60);
    c.notify.push(hook);
    let td = start_daemon(c).await;
    let mut ws = connect(td.daemon.addr, "").await;
    assert_eq!(next_json(&mut ws).await["type"], "snapshot");
    commit(&td, &[alert("fdmz01", "jurws", "app1", true)]).await;
    assert_eq!(next_json(&mut ws).await["type"], "alert_firing");
    crate::common::wait_for("the notifier's request to hang", async || {
        (r.hanging() == 1).then_some(())
    })
    .await;
    commit(&td, &[alert("fdmz02", "jurws", "app2", true)]).await;
    let second = next_json(&mut ws).await;
    assert_eq!(second["type"], "alert_firing");
    assert_eq!(second["data"]["labels"]["group"], "fdmz02");
    assert_eq!(
        r.hanging(),
        1,
        "the notifier is still waiting for its first answer"
    );
    let (_, body) = td.get("/api/notifiers").await;
    assert_eq!(body["notifiers"][0]["delivered_total"], 0, "{body}");
    td.daemon.shutdown().await;
}
