//! Notifiers: webhook, Slack, email and Alertmanager. Each `[[notify]]` runs as a
//! task of its own ([`task`]) that reads committed alert transitions from the event
//! log with a durable cursor ([`durable`]), groups them ([`batch`]), and sends
//! ([`send`], [`payload`]) through retries and its own circuit breaker. Nothing here
//! is on the path of polling, committing or publishing.

pub mod alert;
pub mod batch;
#[cfg(test)]
mod batch_tests;
pub mod durable;
pub mod payload;
pub mod running;
pub mod send;
pub mod smtp;
pub mod status;
pub mod task;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::config::{Config, NotifyConfig};
use crate::model::Ts;
use alert::Alert;
use batch::{Message, delivery_id};
pub use running::{NotifyChanges, Registry};

/// The dashboard link of a notifier: its `dashboard_url`, or the address the
/// daemon listens on.
pub fn dashboard_url(listen: SocketAddr, notifier: &NotifyConfig) -> String {
    match &notifier.dashboard_url {
        Some(url) => url.clone(),
        None => format!("http://{listen}/"),
    }
}

/// A test message for `notify-test` and the dashboard's "send test".
pub fn test_message(notifier: &str, now: Ts) -> Message {
    let labels = BTreeMap::from([
        ("group".to_string(), "test".to_string()),
        ("target".to_string(), "watchpost/test".to_string()),
    ]);
    let alert = Alert {
        id: "watchpost_test".into(),
        rule: "watchpost_test".into(),
        severity: "info".into(),
        state: "firing".into(),
        labels: labels.clone(),
        summary: format!("test message from watchpost notifier {notifier}"),
        since: Some(now),
        fired_at: Some(now),
        resolved_at: None,
        silenced_by: Vec::new(),
        error: None,
    };
    Message {
        delivery_id: delivery_id(&format!("{notifier}\ntest\n{}", now.0)),
        group_key: "test".into(),
        group: BTreeMap::from([("group".to_string(), "test".to_string())]),
        firing: true,
        alerts: vec![alert],
        last_seq: 0,
        created: now,
    }
}

/// Sends a test message through `notifier` once (no retries) and returns the
/// receiver's answer or why it was not accepted.
pub async fn send_test(config: &Config, notifier: &NotifyConfig) -> Result<String, String> {
    let sender = send::Sender::new(notifier, dashboard_url(config.server.listen, notifier))?;
    let now = Ts::now();
    sender
        .send(&[test_message(&notifier.name, now)], now)
        .await
        .map_err(|e| e.message)
}
