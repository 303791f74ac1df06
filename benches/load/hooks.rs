//! Webhook receivers on loopback for the load harness: each answers 200 at once
//! and notes, per alert in a delivered message, when it first arrived (wall clock),
//! so the run can measure commit → receiver for every notifier.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use crate::common::ws::{Key, Receipt};
use crate::common::{Res, wall_ms};

/// (alert id, state) → first arrival, wall-clock milliseconds.
type Arrivals = Arc<Mutex<HashMap<(String, String), u64>>>;

/// One receiver.
pub struct Hook {
    pub url: String,
    arrivals: Arrivals,
    messages: Arc<Mutex<u64>>,
}

/// Starts `n` receivers, each on a thread of its own.
pub fn start(n: usize) -> Res<Vec<Hook>> {
    (0..n).map(|_| start_one()).collect()
}

fn start_one() -> Res<Hook> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let arrivals: Arrivals = Arc::default();
    let messages = Arc::new(Mutex::new(0));
    let (a, m) = (arrivals.clone(), messages.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let (a, m) = (a.clone(), m.clone());
            std::thread::spawn(move || serve(conn, &a, &m));
        }
    });
    Ok(Hook {
        url: format!("http://127.0.0.1:{port}/hook"),
        arrivals,
        messages,
    })
}

/// Reads requests on one keep-alive connection until it closes.
fn serve(conn: TcpStream, arrivals: &Arrivals, messages: &Mutex<u64>) {
    let Ok(mut out) = conn.try_clone() else {
        return;
    };
    let mut input = BufReader::new(conn);
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            match input.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if input.read_exact(&mut body).is_err() {
            return;
        }
        let at = wall_ms();
        note(&body, at, arrivals);
        *messages.lock().unwrap() += 1;
        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        if out.write_all(answer).is_err() {
            return;
        }
    }
}

fn note(body: &[u8], at: u64, arrivals: &Arrivals) {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    let Some(alerts) = doc["alerts"].as_array() else {
        return;
    };
    let mut all = arrivals.lock().unwrap();
    for a in alerts {
        if let (Some(id), Some(state)) = (a["id"].as_str(), a["state"].as_str()) {
            all.entry((id.to_string(), state.to_string())).or_insert(at);
        }
    }
}

impl Hook {
    /// When the alert `id` in `state` first arrived here.
    pub fn arrival(&self, id: &str, state: &str) -> Option<u64> {
        let all = self.arrivals.lock().unwrap();
        all.get(&(id.to_string(), state.to_string())).copied()
    }

    pub fn messages(&self) -> u64 {
        *self.messages.lock().unwrap()
    }
}

/// Commit → arrival at each receiver, in ms, of every alert transition in `events`
/// (as the clients saw them: member = alert id, to = `<rule>/<state>`), and how
/// many (transition, receiver) pairs have not arrived yet.
pub fn latencies(events: &[(Key, Vec<Receipt>)], hooks: &[Hook]) -> (Vec<f64>, usize) {
    let (mut got, mut missing) = (Vec::new(), 0);
    for (k, rs) in events {
        let (Some(r), Some((_, state))) = (rs.first(), k.to.split_once('/')) else {
            continue;
        };
        for h in hooks {
            match h.arrival(&k.member, state) {
                Some(at) => got.push(at.saturating_sub(r.ts_ms) as f64),
                None => missing += 1,
            }
        }
    }
    (got, missing)
}
