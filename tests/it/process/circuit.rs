//! Regression test: a circuit that was open when the daemon was killed stays
//! reported `open` (with a stale `next_attempt_at`) after the restarted daemon has
//! polled the target successfully, because the new poller starts with a closed
//! breaker and only reports breaker changes (`src/actors/fleet.rs` `add_targets`,
//! `src/actors/cycle.rs` `run`).

use serde_json::Value;
use watchpost::sim::Fault;

use super::restart::{Committed, Fixture, count, status_of, until};
use super::{Timing, find};

/// Opens a breaker after two failed polls, for 5 s.
const BREAKS: Timing = Timing {
    interval: "300ms",
    timeout: "150ms",
    threshold: 2,
    open: "5s",
};

fn circuit_of(c: &Committed, id: &str) -> Value {
    find(&c.backends, "id", id)
        .map(|b| b["circuit_state"].clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_circuit_open_at_a_kill_is_not_reported_open_after_a_successful_poll() {
    let f = Fixture::start().await;
    let beta = f.id("beta");
    let mut d = f.run("first", &BREAKS).await;
    f.agent.set_backend_fault("beta", Some(Fault::Status(404)));
    let before = until(&mut d, "beta's circuit to open", |c| {
        circuit_of(c, &beta) == "open"
    })
    .await;
    assert_eq!(count(&before.events, "circuit_opened", &beta), 1);
    d.kill9();
    f.agent.set_backend_fault("beta", None);

    // A restored breaker probes after its open period; a fresh one polls at once.
    // Either way, once a poll has succeeded the circuit is not open any more.
    let mut d = f.run("second", &BREAKS).await;
    let after = until(&mut d, "beta to be read again", |c| {
        status_of(c, &beta) == "success"
    })
    .await;
    let seen = find(&after.backends, "id", &beta).unwrap();
    assert_eq!(
        seen["circuit_state"], "closed",
        "polled successfully but reported open: {seen:#}"
    );
    assert_eq!(seen["next_attempt_at"], Value::Null, "{seen:#}");
    let new = &after.events[before.events.len()..];
    assert_eq!(
        count(new, "circuit_closed", &beta),
        1,
        "the closing is reported once: {new:#?}"
    );
    assert_eq!(count(new, "fetch_recovered", &beta), 1, "{new:#?}");
}
