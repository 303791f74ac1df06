//! A fleet of WebSocket clients on the daemon's `/ws`: each client reads every
//! message and records when it received the events the load tools wait for
//! (`server_state_changed`, `instance_state_changed`, `fetch_failed`,
//! `fetch_recovered`), keyed by what changed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;
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

    /// The key of an event message, `None` for other messages and other types.
    fn of(event: &Value) -> Option<Key> {
        let kind = event["type"].as_str()?;
        if !WATCHED.contains(&kind) {
            return None;
        }
        let d = &event["data"];
        let alert = kind.starts_with("alert_");
        let member = ["server", "instance_id", "application"]
            .iter()
            .find_map(|k| d[*k].as_str())
            .unwrap_or("");
        let member = if alert { d["id"].as_str()? } else { member };
        // Alerts: `<rule>/<state>` (their id is a hash of rule and labels).
        let to = match alert {
            true => format!("{}/{}", d["rule"].as_str()?, d["state"].as_str()?),
            false => d["to"].as_str().unwrap_or("").to_string(),
        };
        Some(Key::new(kind, event["target"].as_str()?, member, &to))
    }
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
        let Ok(event) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        let Some(key) = Key::of(&event) else { continue };
        let ts_ms = event["ts"].as_str().and_then(parse_ts).unwrap_or(0);
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
