//! Slow `/ws` clients (docs/websocket.md): clients that never read, during a burst of
//! thousands of events, are cut off (a reset and/or close 1013, or a dropped
//! connection) with what they got contiguous, while a reading client gets every
//! event and the HTTP API stays responsive. Prints the process's peak memory.

use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use watchpost::sim::{AgentSim, SimBackend, SimServer};

use super::*;

/// Backends of the simulated agent, discovered with `backends = "*"`.
const BACKENDS: usize = 250;
/// Servers per backend.
const SERVERS: usize = 4;
/// Rounds of flipping every server; each gives `BACKENDS * SERVERS` events. On
/// loopback one client that never reads holds some 7000-8500 of these events in
/// socket buffers before its session blocks; 8 rounds (8000 events) left the cut-off
/// to the 5 s send timeout after the burst, 16 overflow the 4096-event queue during
/// it.
const ROUNDS: usize = 16;
/// Clients that never read.
const STALLED: usize = 10;

/// Server names padded to 100 characters: bigger events fill buffers sooner.
fn server_name(n: usize) -> String {
    format!("app{n}-{}", "x".repeat(95))
}

fn servers() -> Vec<SimServer> {
    (1..=SERVERS)
        .map(|n| SimServer::up(&server_name(n), &format!("10.0.0.{n}:80")))
        .collect()
}

/// Peak resident memory of this process (daemon, sims and clients), in kB.
fn vm_hwm_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM");
    line.split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmHWM kB")
}

/// `/api/health` answers 200 (healthy or degraded): the API is responsive.
async fn assert_responsive(td: &TestDaemon) {
    let (status, body) = td.get("/api/health").await;
    assert_eq!(status, 200, "{body}");
}

/// Sets every server of every backend to `status` and waits until the daemon has
/// seen all of it: `BACKENDS * SERVERS` more events, and every server in `state`.
async fn flip_all(sim: &AgentSim, td: &TestDaemon, status: &str, after: u64) -> u64 {
    for b in 0..BACKENDS {
        for s in 1..=SERVERS {
            sim.set_server_status(&format!("b{b:03}"), &server_name(s), status);
        }
    }
    let want = after + (BACKENDS * SERVERS) as u64;
    let state = status.to_lowercase();
    wait_for(&format!("every server {status}"), async || {
        assert_responsive(td).await;
        let (last, _) = log_bounds(td).await;
        if last < want {
            return None;
        }
        let (_, body) = td.get("/api/haproxy/backends").await;
        let all = body["backends"]
            .as_array()?
            .iter()
            .flat_map(|b| b["servers"].as_array().cloned().unwrap_or_default());
        all.into_iter()
            .all(|s| s["state"] == state.as_str())
            .then_some(last)
    })
    .await
}

/// Waits until the hub serves the reading client only: every stalled client was
/// cut off. The hub notices a session that ended at its next publish, so each
/// look that finds more than one subscriber flips a server once more (bounded).
async fn until_only_the_reader(sim: &AgentSim, td: &TestDaemon, mut last: u64) -> u64 {
    let hub = td.daemon.status.hub();
    for round in 0..120 {
        if hub.subscribers() == 1 {
            eprintln!("{round} more events until every stalled client was cut off");
            return last;
        }
        let status = if round % 2 == 0 { "DRAIN" } else { "UP" };
        sim.set_server_status("b000", &server_name(1), status);
        last = wait_last_seq(td, last + 1).await;
    }
    panic!(
        "{} clients still subscribed after 120 more events",
        hub.subscribers()
    );
}

/// A client that reads everything, until its last event reaches `until`: the seq
/// and the JSON text of each event.
async fn read_all(mut ws: Ws, start: u64, mut until: watch::Receiver<u64>) -> Vec<(u64, String)> {
    let mut got: Vec<(u64, String)> = Vec::new();
    loop {
        let last = got.last().map(|e| e.0).unwrap_or(start);
        if last >= *until.borrow_and_update() {
            return got;
        }
        tokio::select! {
            e = next_json(&mut ws) => got.push((seq(&e), e.to_string())),
            _ = until.changed() => {}
        }
    }
}

/// `seqs` are `after + 1, after + 2, ...`.
fn assert_seqs_from(seqs: impl Iterator<Item = u64>, after: u64) {
    for (i, s) in seqs.enumerate() {
        assert_eq!(s, after + 1 + i as u64, "gap or duplicate at position {i}");
    }
}

/// How a stalled client's stream ended, read after the burst.
#[derive(Debug)]
struct Ending {
    /// The seq of its snapshot.
    start: u64,
    /// The seqs of the events it got.
    events: Vec<u64>,
    reset: Option<Value>,
    /// The last thing read: a close or the end; `None` if it went silent.
    end: Option<Got>,
}

/// Reads a stalled client to its end: its snapshot, events, a reset, the close.
async fn drain(ws: &mut Ws) -> Ending {
    let snap = next_json(ws).await;
    assert_eq!(snap["type"], "snapshot");
    let start = snap["seq"].as_u64().expect("seq");
    let (mut events, mut reset) = (Vec::new(), None);
    for _ in 0..100_000 {
        match recv_within(ws, DEADLINE).await {
            Some(Got::Json(v)) if v["type"] == "reset" => reset = Some(v),
            Some(Got::Json(v)) => {
                assert!(reset.is_none(), "an event after the reset: {v}");
                events.push(seq(&v));
            }
            end => {
                return Ending {
                    start,
                    events,
                    reset,
                    end,
                };
            }
        }
    }
    panic!("a stalled client's stream did not end");
}

/// A stalled client was cut off: everything it got is contiguous, it did not get
/// everything, and it ended with a reset and/or close 1013 (whose `since` is its
/// last event), or the connection dropped.
fn assert_cut_off(e: &Ending, last: u64) {
    assert_seqs_from(e.events.iter().copied(), e.start);
    let got = e.events.last().copied().unwrap_or(e.start);
    assert!(got < last, "a stalled client got every event up to {last}");
    if let Some(reset) = &e.reset {
        assert_eq!(reset["resume_since"], got, "{reset}");
    }
    match &e.end {
        Some(Got::Closed(Some(1013), why)) => {
            let since = why
                .rsplit_once("since=")
                .and_then(|(_, s)| s.parse::<u64>().ok());
            assert!(
                since.is_none_or(|s| s == got),
                "close {why:?} after event {got}"
            );
        }
        Some(Got::Ended(_)) => {}
        Some(Got::Closed(code, why)) => panic!("closed with {code:?} ({why}) instead of 1013"),
        Some(Got::Json(v)) => unreachable!("{v}"),
        None => {
            panic!("the connection went silent without a close after {got}, {DEADLINE:?} waited")
        }
    }
}

#[actix_web::test]
async fn stalled_clients_are_cut_off_while_a_reading_client_gets_everything() {
    let list = (0..BACKENDS).map(|b| SimBackend {
        name: format!("b{b:03}"),
        servers: servers(),
    });
    let sim = AgentSim::start(local(), list.collect(), vec![])
        .await
        .unwrap();
    let mut config = config();
    let mut h = haproxy("bulk", &sim.url(), &[]);
    h.policy = no_circuit_policy();
    h.policy.interval = Duration::from_millis(1000);
    h.policy.timeout = Duration::from_millis(800);
    config.haproxy.push(h);
    let td = start_daemon(config).await;
    wait_for("every backend polled once", async || {
        let (_, h) = td.get("/api/health").await;
        (h["targets"]["success"] == BACKENDS).then_some(())
    })
    .await;
    let hwm_before = vm_hwm_kb();

    let mut reader = connect(td.daemon.addr, "").await;
    let start = next_json(&mut reader).await["seq"].as_u64().expect("seq");
    let (until, until_rx) = watch::channel(u64::MAX);
    let reader = actix_web::rt::spawn(read_all(reader, start, until_rx));
    let mut stalled = Vec::new();
    for _ in 0..STALLED {
        let opts = Opts {
            recv_buffer: Some(4096),
            ..Opts::default()
        };
        stalled.push(
            try_connect(td.daemon.addr, "", opts)
                .await
                .expect("connect"),
        );
    }

    let mut last = start;
    for round in 0..ROUNDS {
        last = flip_all(&sim, &td, if round % 2 == 0 { "DOWN" } else { "UP" }, last).await;
    }
    let last = until_only_the_reader(&sim, &td, last).await;
    until.send(last).expect("reader alive");
    let got = reader.await.expect("the reading client");
    let hwm_after = vm_hwm_kb();
    assert_seqs_from(got.iter().map(|e| e.0), start);
    assert_eq!(got.last().map(|e| e.0), Some(last));
    let stored: Vec<String> = api_events_since(&td, start)
        .await
        .iter()
        .map(Value::to_string)
        .collect();
    let got: Vec<String> = got.into_iter().map(|e| e.1).collect();
    assert!(
        got == stored,
        "the reading client's events differ from /api/events"
    );
    eprintln!(
        "burst: {} events ({BACKENDS} backends x {SERVERS} servers x {ROUNDS} rounds); VmHWM before {hwm_before} kB, after {hwm_after} kB",
        last - start
    );

    let mut endings = Vec::new();
    for (i, ws) in stalled.iter_mut().enumerate() {
        let ending = drain(ws).await;
        let (n, from) = (ending.events.len(), ending.start);
        eprintln!(
            "stalled client {i}: {n} events after {from}, reset {:?}, end {:?}",
            ending.reset, ending.end
        );
        endings.push(ending);
    }
    for e in &endings {
        assert_cut_off(e, last);
    }
    assert_responsive(&td).await;
}
