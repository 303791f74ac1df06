//! Resuming `/ws?since=S`: exactly the stored events after `S`, then live ones,
//! with no gap or duplicate at the seam; a `reset` and a fresh snapshot when `S` is
//! older than the retention or ahead of the log.

use serde_json::Value;

use super::*;

#[actix_web::test]
async fn since_replays_exactly_the_missed_events_then_live_ones() {
    let (sim, td) = agent_daemon(&["a"], config()).await;
    let mut ws = connect(td.daemon.addr, "").await;
    let snap = next_json(&mut ws).await;
    sim.set_server_status("a", "app1", "DOWN");
    let first = events_until_match(&mut ws, |e| is_change(e, "a", "app1", "down")).await;
    assert_contiguous(&first, snap["seq"].as_u64().expect("seq"));
    let last = seq(first.last().expect("event"));
    drop(ws);

    sim.set_server_status("a", "app2", "DOWN");
    sim.set_server_status("a", "app1", "MAINT");
    let missed = wait_for("the missed events", async || {
        let ev = api_events_since(&td, last).await;
        (ev.iter().any(|e| is_change(e, "a", "app2", "down"))
            && ev.iter().any(|e| is_change(e, "a", "app1", "maint")))
        .then_some(ev)
    })
    .await;
    let mut ws = connect(td.daemon.addr, &format!("?since={last}")).await;
    let replayed = events_until(&mut ws, seq(missed.last().expect("missed"))).await;
    assert_same_events(&replayed, &missed, "the replay vs the missed events");

    sim.set_server_status("a", "app2", "UP");
    let mut live = events_until_match(&mut ws, |e| is_change(e, "a", "app2", "up")).await;
    let stored = api_events_since(&td, last).await;
    // The same commit may hold more events after the change (backend_state_changed,
    // alert_resolved): read up to the last stored one.
    let stored_last = seq(stored.last().expect("stored"));
    if stored_last > seq(live.last().expect("live")) {
        live.extend(events_until(&mut ws, stored_last).await);
    }
    let all: Vec<Value> = replayed.into_iter().chain(live).collect();
    assert_contiguous(&all, last);
    assert_same_events(&all, &stored, "replay and live vs /api/events");

    let now = seq(all.last().expect("events"));
    let mut at_head = connect(td.daemon.addr, &format!("?since={now}")).await;
    sim.set_server_status("a", "app1", "UP");
    let live = events_until_match(&mut at_head, |e| is_change(e, "a", "app1", "up")).await;
    assert_contiguous(&live, now);
}

/// Reads `{"type":"reset"}` and the snapshot that must follow it.
async fn reset_then_snapshot(ws: &mut Ws) -> (Value, Value) {
    let reset = next_json(ws).await;
    assert_eq!(reset["type"], "reset", "{reset}");
    let snap = next_json(ws).await;
    assert_eq!(snap["type"], "snapshot", "after a reset: {snap}");
    (reset, snap)
}

#[actix_web::test]
async fn since_outside_the_log_gives_a_reset_and_a_snapshot() {
    let mut config = config();
    config.storage.event_retention = 5;
    let (sim, td) = agent_daemon(&["a"], config).await;
    let statuses = ["DOWN", "UP", "MAINT", "UP"];
    for status in statuses {
        for server in ["app1", "app2"] {
            sim.set_server_status("a", server, status);
        }
        let state = status.to_lowercase();
        td.wait_target("haproxy/fdmz01/a", "the flip", |t| {
            t["servers"]
                .as_array()
                .is_some_and(|s| s.iter().all(|s| s["state"] == state.as_str()))
        })
        .await;
    }
    let (last, oldest) = log_bounds(&td).await;
    let oldest = oldest.expect("oldest_seq");
    assert!(last >= 9, "1 target_added + 8 changes, got last_seq {last}");
    assert_eq!(oldest, last - 4, "a retention of 5 keeps the last 5 events");

    let mut ws = connect(td.daemon.addr, "?since=1").await;
    let (reset, snap) = reset_then_snapshot(&mut ws).await;
    assert_eq!(reset["oldest_seq"], oldest, "{reset}");
    assert_eq!(snap["seq"], last, "{snap}");
    let t = &snap["targets"][0];
    assert_eq!(
        t["servers"][0]["status"], "UP",
        "the snapshot is current: {t:#}"
    );

    let mut ahead = connect(td.daemon.addr, &format!("?since={}", last + 100)).await;
    let (reset, snap) = reset_then_snapshot(&mut ahead).await;
    assert!(
        reset["reason"]
            .as_str()
            .is_some_and(|r| r.contains("ahead")),
        "{reset}"
    );
    assert_eq!(snap["seq"], last);

    let mut edge = connect(td.daemon.addr, &format!("?since={}", oldest - 1)).await;
    let replayed = events_until(&mut edge, last).await;
    assert_contiguous(&replayed, oldest - 1);
    assert_eq!(replayed.len(), 5);

    sim.set_server_status("a", "app1", "DRAIN");
    for client in [&mut ws, &mut ahead, &mut edge] {
        let live = events_until_match(client, |e| is_change(e, "a", "app1", "drain")).await;
        assert_contiguous(&live, last);
    }
}
