//! Repeated `kill -9` while the daemon commits a poll every few milliseconds: each
//! restart opens the store, keeps every committed event, continues the sequence, and
//! reports each transition of a flapping backend exactly once.

use serde_json::Value;
use watchpost::sim::Fault;

use super::restart::{Committed, Fixture, status_of, until};
use super::{FAST, keys};

/// The `type` of every event of `target`, in order, without alert events (a failure
/// that lasts across restarts fires `target_unreachable` once its hold has passed;
/// `process::alerts` checks those).
fn kinds_of(events: &[Value], target: &str) -> Vec<String> {
    let of_target = events.iter().filter(|e| e["target"] == target);
    of_target
        .map(|e| e["type"].as_str().unwrap().to_string())
        .filter(|t| !t.starts_with("alert_"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_kill_9_neither_loses_nor_repeats_a_transition() {
    let f = Fixture::start().await;
    let beta = f.id("beta");
    let mut committed: Vec<Value> = Vec::new();
    let mut expected = vec!["target_added".to_string()];
    for round in 0..6 {
        let mut d = f.run(&format!("round{round}"), &FAST).await;
        let start = Committed::read(&mut d).await;
        if round > 0 {
            assert_eq!(
                start.events, committed,
                "round {round}: the event log after kill -9"
            );
        }
        let seqs: Vec<u64> = keys(&start.events).iter().map(|k| k.0).collect();
        assert_eq!(
            seqs,
            (1..=seqs.len() as u64).collect::<Vec<_>>(),
            "round {round}"
        );

        let failing = round % 2 == 1;
        let fault = failing.then_some(Fault::Status(404));
        f.agent.set_backend_fault("beta", fault);
        if round > 0 {
            expected.push(
                if failing {
                    "fetch_failed"
                } else {
                    "fetch_recovered"
                }
                .into(),
            );
        }
        let want = if failing { "failed" } else { "success" };
        let what = format!("round {round}: beta {want}, and its event");
        let now = until(&mut d, &what, |c| {
            status_of(c, &beta) == want && kinds_of(&c.events, &beta).len() >= expected.len()
        })
        .await;
        assert_eq!(kinds_of(&now.events, &beta), expected, "round {round}");
        committed = now.events;
        d.kill9();
    }
}
