//! Notifiers against real receivers on 127.0.0.1: an HTTP receiver of our own
//! (webhook, Slack), Prometheus Alertmanager, and an aiosmtpd SMTP server. Alert
//! transitions are committed through the daemon's status handle, as the alert rules
//! commit theirs.

mod alertmanager;
mod crash;
mod e2e;
mod email;
mod email_tls;
mod latency;
mod webhook;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use watchpost::alerts::{Alert, AlertState};
use watchpost::config::{NotifierKind, NotifyConfig};
use watchpost::model::{EventData, EventDraft};

use crate::common::{TestDaemon, wait_for};

/// One request a receiver got.
#[derive(Clone, Debug)]
pub struct Got {
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    /// The status it was answered with.
    pub answered: u16,
    /// When it arrived.
    pub at: std::time::Instant,
}

impl Got {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }
}

/// How a receiver answers.
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    /// 200 to everything.
    Accept,
    /// 503 to the first `n` requests, then 200.
    Unavailable(u32),
    /// Never answers.
    Hang,
}

#[derive(Default)]
struct Shared {
    got: Mutex<Vec<Got>>,
    mode: Mutex<Option<Mode>>,
    seen: AtomicU32,
    waiting: AtomicUsize,
    /// The body of every answer; `ok` unless set.
    answer: Mutex<Option<String>>,
}

/// An HTTP receiver on 127.0.0.1 that records every request.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Receiver {
    pub async fn start(mode: Mode) -> Receiver {
        let shared = Arc::new(Shared::default());
        *shared.mode.lock().unwrap() = Some(mode);
        let data = web::Data::from(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .shutdown_timeout(0)
        .disable_signals()
        .bind("127.0.0.1:0")
        .expect("bind the receiver");
        let addr = server.addrs()[0];
        actix_web::rt::spawn(server.run());
        Receiver { addr, shared }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = Some(mode);
    }

    /// Answers every request with `body` from now on.
    pub fn set_answer(&self, body: &str) {
        *self.shared.answer.lock().unwrap() = Some(body.to_string());
    }

    pub fn got(&self) -> Vec<Got> {
        self.shared.got.lock().unwrap().clone()
    }

    /// Requests being held without an answer ([`Mode::Hang`]).
    pub fn hanging(&self) -> usize {
        self.shared.waiting.load(Ordering::SeqCst)
    }

    /// Waits until `n` requests were answered 2xx; returns them.
    pub async fn accepted(&self, n: usize) -> Vec<Got> {
        wait_for(&format!("{n} accepted requests"), async || {
            let ok: Vec<Got> = self
                .got()
                .into_iter()
                .filter(|g| g.answered < 300)
                .collect();
            (ok.len() >= n).then_some(ok)
        })
        .await
    }
}

async fn receive(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let mode = shared.mode.lock().unwrap().unwrap_or(Mode::Accept);
    let n = shared.seen.fetch_add(1, Ordering::SeqCst);
    let answered = match mode {
        Mode::Accept => 200,
        Mode::Unavailable(k) if n < k => 503,
        Mode::Unavailable(_) => 200,
        Mode::Hang => {
            shared.waiting.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<()>().await;
            0
        }
    };
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_lowercase(),
                v.to_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    shared.got.lock().unwrap().push(Got {
        path: req.path().to_string(),
        headers,
        body: body.to_vec(),
        answered,
        at: std::time::Instant::now(),
    });
    let text = shared.answer.lock().unwrap().clone();
    HttpResponse::build(actix_web::http::StatusCode::from_u16(answered).unwrap())
        .body(text.unwrap_or_else(|| "ok".into()))
}

/// A notifier sending at once: no group wait, quick retries, a breaker that opens
/// after 3 failed messages for a short while.
pub fn quick(name: &str, kind: NotifierKind) -> NotifyConfig {
    let mut n = NotifyConfig::new(name, kind);
    n.group_wait = Duration::from_millis(300);
    n.group_interval = Duration::from_millis(300);
    n.timeout = Duration::from_secs(2);
    n.retry.initial = Duration::from_millis(50);
    n.retry.max = Duration::from_millis(100);
    n.retry.max_elapsed = Duration::from_millis(200);
    n.circuit.open_base = Duration::from_millis(300);
    n.circuit.open_max = Duration::from_millis(600);
    n
}

/// The alert of an HAProxy server, as an `alert_firing` / `alert_resolved` carries it.
pub fn alert(group: &str, backend: &str, server: &str, firing: bool) -> Value {
    let target = format!("haproxy/{group}/{backend}");
    json!({
        "id": format!("server_down:{target}:{server}"),
        "rule": "server_down",
        "severity": "critical",
        "state": if firing { "firing" } else { "resolved" },
        "labels": {"group": group, "target": target, "backend": backend, "server": server},
        "summary": format!("server {server} of {backend} is down"),
        "since": "2026-12-03T10:00:00.000Z",
        "fired_at": "2026-12-03T10:00:15.000Z",
        "resolved_at": if firing { Value::Null } else { json!("2026-12-03T10:05:00.000Z") },
    })
}

/// The event of an alert transition, as the alert rules commit it.
pub fn draft(a: &Value) -> EventDraft {
    let alert: Alert = serde_json::from_value(a.clone()).expect("an alert");
    let target = alert.labels.target.clone();
    let data = match alert.state {
        AlertState::Resolved => EventData::AlertResolved(alert),
        _ => EventData::AlertFiring(alert),
    };
    EventDraft { target, data }
}

/// Commits alert transitions, as the alert rules do.
pub async fn commit(td: &TestDaemon, alerts: &[Value]) {
    let drafts = alerts.iter().map(draft).collect();
    td.daemon
        .status
        .record(drafts)
        .await
        .expect("commit alert transitions");
}

/// The notifier row of `GET /api/notifiers` once it satisfies `pred`.
pub async fn wait_notifier(
    td: &TestDaemon,
    name: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    wait_for(what, async || {
        let (_, body) = td.get("/api/notifiers").await;
        let row = body["notifiers"]
            .as_array()?
            .iter()
            .find(|n| n["name"] == name)?
            .clone();
        pred(&row).then_some(row)
    })
    .await
}
