//! A fleet of WebSocket clients on the daemon's `/ws`: each client reads every
//! message and records when it received the events the load tools wait for
//! (`server_state_changed`, `instance_state_changed`, `fetch_failed`,
//! `fetch_recovered`), keyed by what changed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::Deserialize;
use std::borrow::Cow;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

use super::{Res, parse_ts, wait_for, wall_ms};

/// What an event is about: its type, target, server or instance (or application),
/// and the state it went to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub kind: String,
    pub target: String,
    pub member: String,
    pub to: String,
}

impl Key {
    pub fn new(kind: &str, target: &str, member: &str, to: &str) -> Key {
        Key {
            kind: kind.into(),
            target: target.into(),
            member: member.into(),
            to: to.into(),
        }
    }

    /// The key of an event message and its `ts`, `None` for other messages and
    /// other types.
    fn of(event: &Wire<'_>) -> Option<Key> {
        let kind = event.kind.as_deref()?;
        if !WATCHED.contains(&kind) {
            return None;
        }
        let d = event.data.as_ref()?;
        let alert = kind.starts_with("alert_");
        let member = [&d.server, &d.instance_id, &d.application]
            .into_iter()
            .find_map(|m| m.as_deref())
            .unwrap_or("");
        let member = if alert { d.id.as_deref()? } else { member };
        // Alerts: `<rule>/<state>` (their id is a hash of rule and labels).
        let to = match alert {
            true => format!("{}/{}", d.rule.as_deref()?, d.state.as_deref()?),
            false => d.to.as_deref().unwrap_or("").to_string(),
        };
        Some(Key::new(kind, event.target.as_deref()?, member, &to))
    }
}

/// The fields of a message that a client reads; the rest is skipped unread, so a
/// storm of thousands of events costs the clients little of the 2 cores they share
/// with the daemon. A field of another shape (in a message not watched) makes the
/// message unreadable here, which only the watched types would make count.
#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    target: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    ts: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    data: Option<WireData<'a>>,
}

#[derive(Deserialize)]
struct WireData<'a> {
    #[serde(borrow, default)]
    server: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    instance_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    application: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    rule: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    state: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    to: Option<Cow<'a, str>>,
}

const WATCHED: [&str; 6] = [
    "server_state_changed",
    "instance_state_changed",
    "fetch_failed",
    "fetch_recovered",
    "alert_firing",
    "alert_resolved",
];

/// One client's receipt of one event.
#[derive(Clone, Copy, Debug)]
pub struct Receipt {
    pub client: usize,
    pub at: Instant,
    /// Wall-clock time of the receipt, epoch ms.
    pub wall_ms: u64,
    /// The event's `ts` (its commit), epoch ms.
    pub ts_ms: u64,
}

#[derive(Default)]
struct Shared {
    receipts: Mutex<HashMap<Key, Vec<Receipt>>>,
    messages: AtomicU64,
    connected: AtomicUsize,
    closed: AtomicUsize,
    failed: Mutex<Option<String>>,
}

/// The running clients.
pub struct Fleet {
    shared: Arc<Shared>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    pub size: usize,
}

impl Fleet {
    /// Connects `n` clients to `url` (at most 64 handshakes at a time) and returns
    /// once all are connected.
    pub async fn connect(url: &str, n: usize) -> Res<Fleet> {
        let shared = Arc::new(Shared::default());
        let gate = Arc::new(Semaphore::new(64));
        let tasks = (0..n)
            .map(|i| tokio::spawn(client(i, url.to_string(), shared.clone(), gate.clone())))
            .collect();
        let fleet = Fleet {
            shared,
            tasks,
            size: n,
        };
        wait_for(
            &format!("{n} WebSocket clients"),
            Duration::from_secs(120),
            Duration::from_millis(20),
            async || {
                let s = &fleet.shared;
                if let Some(e) = s.failed.lock().unwrap().clone() {
                    return Some(Err(e));
                }
                (s.connected.load(Ordering::SeqCst) == n).then_some(Ok(()))
            },
        )
        .await??;
        Ok(fleet)
    }

    /// Every receipt of `key`, one per client that has it.
    pub fn receipts(&self, key: &Key) -> Vec<Receipt> {
        self.shared
            .receipts
            .lock()
            .unwrap()
            .get(key)
            .cloned()
            .unwrap_or_default()
    }

    /// The first receipt of `key`, if any client has it yet.
    pub fn first(&self, key: &Key) -> Option<Receipt> {
        let all = self.shared.receipts.lock().unwrap();
        all.get(key)
            .and_then(|v| v.iter().min_by_key(|r| r.at).copied())
    }

    /// How many clients have received `key`.
    pub fn count(&self, key: &Key) -> usize {
        self.shared
            .receipts
            .lock()
            .unwrap()
            .get(key)
            .map_or(0, Vec::len)
    }

    /// Messages received by all clients together.
    /// Every event of type `kind` received, with its receipts.
    pub fn all_of(&self, kind: &str) -> Vec<(Key, Vec<Receipt>)> {
        let all = self.shared.receipts.lock().unwrap();
        all.iter()
            .filter(|(k, _)| k.kind == kind)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    pub fn messages(&self) -> u64 {
        self.shared.messages.load(Ordering::Relaxed)
    }

    /// Clients whose connection ended (closed by the server or failed).
    pub fn closed(&self) -> usize {
        self.shared.closed.load(Ordering::Relaxed)
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.tasks.iter().for_each(|t| t.abort());
    }
}

async fn client(i: usize, url: String, shared: Arc<Shared>, gate: Arc<Semaphore>) {
    let permit = gate.acquire().await;
    let mut ws = match tokio_tungstenite::connect_async(url.as_str()).await {
        Ok((ws, _)) => ws,
        Err(e) => {
            *shared.failed.lock().unwrap() =
                Some(format!("WebSocket client {i} cannot connect to {url}: {e}"));
            return;
        }
    };
    drop(permit);
    shared.connected.fetch_add(1, Ordering::SeqCst);
    while let Some(msg) = ws.next().await {
        let (at, wall) = (Instant::now(), wall_ms());
        let text = match msg {
            Ok(Message::Text(t)) => t,
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => continue,
        };
        shared.messages.fetch_add(1, Ordering::Relaxed);
        let Ok(event) = serde_json::from_str::<Wire<'_>>(text.as_str()) else {
            continue;
        };
        let Some(key) = Key::of(&event) else { continue };
        let ts_ms = event.ts.as_deref().and_then(parse_ts).unwrap_or(0);
        let r = Receipt {
            client: i,
            at,
            wall_ms: wall,
            ts_ms,
        };
        shared
            .receipts
            .lock()
            .unwrap()
            .entry(key)
            .or_default()
            .push(r);
    }
    shared.closed.fetch_add(1, Ordering::Relaxed);
}
