//! The live event stream `GET /ws` (docs/websocket.md): the client helpers, and the snapshot
//! followed by edge-triggered live events without gaps. Submodules: resuming with
//! `?since=` (`resume`; across `kill -9` of the binary: `restart`), slow clients
//! (`slow`), and the connection limits (`limits`: Origin, 1009, 1001 on shutdown).

mod instance;
mod limits;
pub(crate) mod restart;
mod resume;
mod slow;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use watchpost::config::Policy;
use watchpost::sim::{AgentSim, Fault};

use crate::common::*;

/// A WebSocket client connection.
pub type Ws = WebSocketStream<TcpStream>;

/// What a client read.
#[derive(Debug)]
pub enum Got {
    /// A text message, parsed.
    Json(Value),
    /// A close frame with its code (`None`: a close frame without one) and reason.
    Closed(Option<u16>, String),
    /// The connection ended without a close frame, or failed (shown in `Debug`).
    #[allow(dead_code)]
    Ended(String),
}

/// How a client connects: extra `Origin` header, small receive buffer.
#[derive(Default)]
pub struct Opts<'a> {
    pub origin: Option<&'a str>,
    pub recv_buffer: Option<u32>,
}

/// Opens `ws://addr/ws{query}` with `opts`; the handshake error as it came. Fails
/// the test if there is no answer within [`DEADLINE`].
pub async fn try_connect(
    addr: SocketAddr,
    query: &str,
    opts: Opts<'_>,
) -> Result<Ws, tungstenite::Error> {
    let handshake = handshake(addr, query, opts);
    match tokio::time::timeout(DEADLINE, handshake).await {
        Ok(result) => result,
        Err(_) => panic!("WebSocket /ws{query}: no handshake within {DEADLINE:?}"),
    }
}

async fn handshake(
    addr: SocketAddr,
    query: &str,
    opts: Opts<'_>,
) -> Result<Ws, tungstenite::Error> {
    let mut req = format!("ws://{addr}/ws{query}").into_client_request()?;
    if let Some(origin) = opts.origin {
        req.headers_mut()
            .insert("origin", origin.parse().expect("origin header"));
    }
    let socket = TcpSocket::new_v4().expect("socket");
    if let Some(size) = opts.recv_buffer {
        socket.set_recv_buffer_size(size).expect("SO_RCVBUF");
    }
    let stream = socket
        .connect(addr)
        .await
        .expect("TCP connect to the daemon");
    let (mut ws, _) = tokio_tungstenite::client_async(req, stream).await?;
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["type"], "hello", "the first message: {hello}");
    assert!(
        hello["instance_id"].as_str().is_some_and(|i| i.len() == 36),
        "{hello}"
    );
    Ok(ws)
}

/// Opens `ws://addr/ws{query}`.
pub async fn connect(addr: SocketAddr, query: &str) -> Ws {
    match try_connect(addr, query, Opts::default()).await {
        Ok(ws) => ws,
        Err(e) => panic!("WebSocket /ws{query}: {e}"),
    }
}

/// The next message within `wait` (pings and pongs skipped); `None` on timeout.
pub async fn recv_within(ws: &mut Ws, wait: Duration) -> Option<Got> {
    let read = async {
        loop {
            return match ws.next().await {
                Some(Ok(Message::Text(t))) => Got::Json(
                    serde_json::from_str(t.as_str())
                        .unwrap_or_else(|e| panic!("not JSON ({e}): {t}")),
                ),
                Some(Ok(Message::Close(Some(f)))) => {
                    Got::Closed(Some(u16::from(f.code)), f.reason.to_string())
                }
                Some(Ok(Message::Close(None))) => Got::Closed(None, String::new()),
                Some(Ok(Message::Binary(b))) => {
                    panic!("unexpected binary message of {} bytes", b.len())
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => Got::Ended(e.to_string()),
                None => Got::Ended("end of stream".into()),
            };
        }
    };
    tokio::time::timeout(wait, read).await.ok()
}

/// The next message; fails the test after [`DEADLINE`].
pub async fn recv(ws: &mut Ws) -> Got {
    recv_within(ws, DEADLINE)
        .await
        .unwrap_or_else(|| panic!("no WebSocket message within {DEADLINE:?}"))
}

/// The next message, which must be a JSON text.
pub async fn next_json(ws: &mut Ws) -> Value {
    match recv(ws).await {
        Got::Json(v) => v,
        other => panic!("expected a JSON message, got {other:?}"),
    }
}

/// The seq of an event message (one without a `type` of snapshot or reset).
pub fn seq(event: &Value) -> u64 {
    assert!(
        !matches!(event["type"].as_str(), Some("snapshot" | "reset")),
        "not an event: {event}"
    );
    event["seq"]
        .as_u64()
        .unwrap_or_else(|| panic!("event without seq: {event}"))
}

/// Reads events until one with `seq >= last`; every message must be an event.
pub async fn events_until(ws: &mut Ws, last: u64) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    while out.last().is_none_or(|e| seq(e) < last) {
        out.push(next_json(ws).await);
        seq(out.last().expect("just pushed"));
    }
    out
}

/// Reads events until one satisfies `pred`; returns all read, that one last.
pub async fn events_until_match(ws: &mut Ws, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut out = Vec::new();
    for _ in 0..100_000 {
        let e = next_json(ws).await;
        seq(&e);
        let done = pred(&e);
        out.push(e);
        if done {
            return out;
        }
    }
    panic!("no matching event among {} read", out.len());
}

/// The seqs of `events` are `after + 1, after + 2, ...`: strictly increasing, no gap.
pub fn assert_contiguous(events: &[Value], after: u64) {
    for (i, e) in events.iter().enumerate() {
        assert_eq!(
            seq(e),
            after + 1 + i as u64,
            "gap or duplicate at position {i}: {e}"
        );
    }
}

/// The stored events with `seq > since`, oldest first (page after page).
pub async fn api_events_since(td: &TestDaemon, since: u64) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for _ in 0..1000 {
        let after = out.last().map(seq).unwrap_or(since);
        let (status, body) = td
            .get(&format!("/api/events?since={after}&limit=10000"))
            .await;
        assert_eq!(status, 200, "{body}");
        let page = body["events"].as_array().cloned().unwrap_or_default();
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
    panic!("more than 1000 pages of events");
}

/// `got` equals `want`; on a difference shows the first one only.
pub fn assert_same_events(got: &[Value], want: &[Value], what: &str) {
    if let Some(i) = (0..got.len().min(want.len())).find(|&i| got[i] != want[i]) {
        panic!(
            "{what}: event {i} differs:\n got {}\nwant {}",
            got[i], want[i]
        );
    }
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: {} events instead of {}",
        got.len(),
        want.len()
    );
}

/// `last_seq` and `oldest_seq` of the event log.
pub async fn log_bounds(td: &TestDaemon) -> (u64, Option<u64>) {
    let (_, body) = td.get("/api/events?limit=1").await;
    (
        body["last_seq"].as_u64().expect("last_seq"),
        body["oldest_seq"].as_u64(),
    )
}

/// Waits until the log holds an event with `seq >= n`; returns the last seq.
pub async fn wait_last_seq(td: &TestDaemon, n: u64) -> u64 {
    wait_for(&format!("event {n} to be committed"), async || {
        let (last, _) = log_bounds(td).await;
        (last >= n).then_some(last)
    })
    .await
}

/// `fast_policy` whose circuit never opens: failures give fetch events only.
pub fn no_circuit_policy() -> Policy {
    let mut p = fast_policy();
    p.circuit.failure_threshold = 1000;
    p
}

/// A daemon polling `backends` of an agent sim with [`no_circuit_policy`], after
/// every backend's first successful poll.
pub async fn agent_daemon(
    backends: &[&str],
    config: watchpost::config::Config,
) -> (AgentSim, TestDaemon) {
    let sim = AgentSim::start(
        local(),
        backends.iter().map(|b| backend(b)).collect(),
        vec![],
    )
    .await
    .unwrap();
    let mut config = config;
    let mut h = haproxy("fdmz01", &sim.url(), backends);
    h.policy = no_circuit_policy();
    config.haproxy.push(h);
    let td = start_daemon(config).await;
    for b in backends {
        td.wait_target(&format!("haproxy/fdmz01/{b}"), "first success", |t| {
            fetch_is(t, "success")
        })
        .await;
    }
    (sim, td)
}

/// A `server_state_changed` event of `server` in backend `b` towards `state`.
pub fn is_change(e: &Value, b: &str, server: &str, state: &str) -> bool {
    e["type"] == "server_state_changed"
        && e["target"] == format!("haproxy/fdmz01/{b}")
        && e["data"]["server"] == server
        && e["data"]["to"] == state
}

/// Drops the volatile attempt times from a target view.
fn stable(t: &Value) -> Value {
    let mut t = t.clone();
    let obj = t.as_object_mut().expect("target object");
    obj.remove("last_fetch_at");
    obj.remove("last_success_at");
    t
}

fn count(events: &[Value], kind: &str, target: &str) -> usize {
    events
        .iter()
        .filter(|e| e["type"] == kind && e["target"] == target)
        .count()
}

#[actix_web::test]
async fn snapshot_then_one_failed_and_one_recovered_event_without_gaps() {
    let (sim, td) = agent_daemon(&["a", "b"], config()).await;
    let mut ws = connect(td.daemon.addr, "").await;
    let snap = next_json(&mut ws).await;
    assert_eq!(snap["type"], "snapshot", "{snap}");
    let (_, api) = td.get("/api/targets").await;
    assert_eq!(snap["seq"], api["seq"], "snapshot seq vs /api/targets");
    let listed = api["targets"].as_array().expect("targets");
    let shown = snap["targets"].as_array().expect("snapshot targets");
    assert_eq!(shown.len(), 2, "{snap:#}");
    assert_eq!(listed.len(), shown.len());
    for t in listed {
        let s = shown
            .iter()
            .find(|s| s["id"] == t["id"])
            .unwrap_or_else(|| panic!("{} not in snapshot", t["id"]));
        for (k, v) in stable(t).as_object().expect("object") {
            assert_eq!(&s[k], v, "snapshot {} differs in {k}", t["id"]);
        }
        assert_eq!(s["servers"].as_array().map(Vec::len), Some(2), "{s:#}");
    }
    let start = snap["seq"].as_u64().expect("seq");

    let b = "haproxy/fdmz01/b";
    sim.set_backend_fault("b", Some(Fault::Status(503)));
    let mut got =
        events_until_match(&mut ws, |e| e["type"] == "fetch_failed" && e["target"] == b).await;
    td.wait_target(b, "four failed polls", |t| {
        t["consecutive_failures"].as_u64() >= Some(4)
    })
    .await;
    sim.set_backend_fault("b", None);
    got.extend(
        events_until_match(&mut ws, |e| {
            e["type"] == "fetch_recovered" && e["target"] == b
        })
        .await,
    );
    td.wait_polls(b, 3).await;
    let (last, _) = log_bounds(&td).await;
    if last > seq(got.last().expect("events")) {
        got.extend(events_until(&mut ws, last).await);
    }
    assert_contiguous(&got, start);
    let stored = api_events_since(&td, start).await;
    assert_same_events(&got, &stored, "the stream vs /api/events");
    assert_eq!(count(&got, "fetch_failed", b), 1, "{got:#?}");
    assert_eq!(count(&got, "fetch_recovered", b), 1, "{got:#?}");
    assert_eq!(got.len(), 2, "nothing but the two fetch events: {got:#?}");
    assert!(
        recv_within(&mut ws, Duration::from_millis(300))
            .await
            .is_none(),
        "an event after the log's last"
    );
}
