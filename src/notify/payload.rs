//! What each kind of receiver is sent, built from a [`Message`]: the webhook JSON
//! and its signature, Slack text and Block Kit blocks, the email subject and bodies,
//! and Alertmanager API v2 alerts. Pure code: no I/O, the time is passed in.

use std::collections::BTreeMap;
use std::time::Duration;

use hmac::{KeyInit, Mac};
use serde::Serialize;
use serde_json::{Value, json};

use super::alert::Alert;
use super::batch::Message;
use crate::model::Ts;

/// An alert as the webhook payload lists it.
#[derive(Serialize)]
struct AlertView<'a> {
    id: &'a str,
    rule: &'a str,
    severity: &'a str,
    state: &'a str,
    labels: &'a BTreeMap<String, String>,
    summary: &'a str,
    since: Option<Ts>,
    fired_at: Option<Ts>,
    resolved_at: Option<Ts>,
}

fn view(a: &Alert) -> AlertView<'_> {
    AlertView {
        id: &a.id,
        rule: &a.rule,
        severity: &a.severity,
        state: &a.state,
        labels: &a.labels,
        summary: &a.summary,
        since: a.since,
        fired_at: a.fired_at,
        resolved_at: a.resolved_at,
    }
}

fn status(m: &Message) -> &'static str {
    if m.firing { "firing" } else { "resolved" }
}

/// The webhook body: one JSON document per group.
pub fn webhook_body(notifier: &str, m: &Message, dashboard: &str) -> Vec<u8> {
    let alerts: Vec<AlertView<'_>> = m.alerts.iter().map(view).collect();
    let doc = json!({
        "version": 1,
        "delivery_id": m.delivery_id,
        "notifier": notifier,
        "group": m.group,
        "status": status(m),
        "alerts": alerts,
        "dashboard_url": dashboard,
    });
    serde_json::to_vec(&doc).unwrap_or_default()
}

/// `t=<unix>,sha256=<hex HMAC-SHA256 of "<unix>.<body>">`.
pub fn signature(secret: &str, unix: u64, body: &[u8]) -> String {
    let mut mac = match hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(format!("{unix}.").as_bytes());
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={unix},sha256={hex}")
}

/// Where an alert is: its target and the server, instance or application.
pub fn place(a: &Alert) -> String {
    let mut out = a.labels.get("target").cloned().unwrap_or_default();
    for key in ["backend", "server", "app", "instance"] {
        if let Some(v) = a.labels.get(key)
            && !out.contains(v.as_str())
        {
            out.push(' ');
            out.push_str(v);
        }
    }
    out.trim().to_string()
}

/// One line per alert: `FIRING critical: server_down haproxy/fdmz01/jurws app2`.
fn headline(a: &Alert) -> String {
    let word = if a.is_firing() { "FIRING" } else { "RESOLVED" };
    format!("{word} {}: {} {}", a.severity, a.rule, place(a))
}

/// The email subject (and the Slack headline).
pub fn subject(m: &Message) -> String {
    match m.alerts.as_slice() {
        [one] => format!("[watchpost] {}", headline(one)),
        many => {
            let firing = many.iter().filter(|a| a.is_firing()).count();
            let group: Vec<&str> = m.group.values().map(String::as_str).collect();
            format!(
                "[watchpost] {} {} alerts ({firing} firing): {}",
                status(m).to_uppercase(),
                many.len(),
                group.join(" ")
            )
        }
    }
}

/// The plain-text body: one paragraph per alert, then the link.
pub fn text(m: &Message, dashboard: &str) -> String {
    let mut out = String::new();
    for a in &m.alerts {
        out.push_str(&headline(a));
        out.push_str(&format!("\n  {}\n", a.summary));
        if let Some(since) = a.since {
            out.push_str(&format!("  since {since}\n"));
        }
        if let Some(e) = &a.error {
            out.push_str(&format!("  error: {e}\n"));
        }
    }
    out.push_str(&format!("\n{dashboard}\n"));
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The HTML body: a table of the alerts and the link.
pub fn html(m: &Message, dashboard: &str) -> String {
    let rows: String = m
        .alerts
        .iter()
        .map(|a| {
            let since = a.since.map(|s| s.to_string()).unwrap_or_default();
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&a.state),
                escape(&a.severity),
                escape(&a.rule),
                escape(&place(a)),
                escape(&a.summary),
                escape(&since)
            )
        })
        .collect();
    format!(
        "<html><body><h2>{}</h2><table border=\"1\" cellpadding=\"4\">\
         <tr><th>state</th><th>severity</th><th>rule</th><th>where</th><th>what</th><th>since</th></tr>\
         {rows}</table><p><a href=\"{}\">Open the dashboard</a></p></body></html>",
        escape(&subject(m)),
        escape(dashboard)
    )
}

/// A Slack incoming-webhook body: `text` for notifications, blocks for the channel.
pub fn slack_body(m: &Message, dashboard: &str) -> Value {
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": subject(m).trim_start_matches("[watchpost] ")}
    })];
    for a in m.alerts.iter().take(20) {
        let mut fields = vec![
            field("Severity", &a.severity),
            field("What", &format!("{}: {}", a.rule, a.summary)),
            field("Where", &place(a)),
            field("Since", &a.since.map(|s| s.to_string()).unwrap_or_default()),
        ];
        if let Some(e) = &a.error {
            fields.push(field("Error", e));
        }
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    blocks.push(json!({
        "type": "actions",
        "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open the dashboard"}, "url": dashboard}]
    }));
    json!({"text": text(m, dashboard), "blocks": blocks})
}

fn field(name: &str, value: &str) -> Value {
    json!({"type": "mrkdwn", "text": format!("*{name}*\n{value}")})
}

/// Alertmanager API v2 alerts for the alerts of `messages` (one alert each, as
/// the `alertmanager` kind does not group): firing ones end `resend * 4` from now,
/// resolved ones at their resolution.
pub fn alertmanager_body(
    messages: &[Message],
    now: Ts,
    resend: Duration,
    dashboard: &str,
) -> Value {
    let alerts: Vec<Value> = messages
        .iter()
        .flat_map(|m| m.alerts.iter())
        .map(|a| am_alert(a, now, resend, dashboard))
        .collect();
    Value::Array(alerts)
}

fn am_alert(a: &Alert, now: Ts, resend: Duration, dashboard: &str) -> Value {
    let mut labels = a.labels.clone();
    labels.insert("alertname".into(), a.rule.clone());
    labels.insert("severity".into(), a.severity.clone());
    let mut annotations = BTreeMap::from([("summary".to_string(), a.summary.clone())]);
    if let Some(e) = &a.error {
        annotations.insert("error".into(), e.clone());
    }
    let ends = match a.resolved_at {
        Some(at) => at,
        None => now.plus(resend * 4),
    };
    json!({
        "labels": labels,
        "annotations": annotations,
        "startsAt": a.fired_at.or(a.since).unwrap_or(now),
        "endsAt": ends,
        "generatorURL": dashboard,
    })
}
