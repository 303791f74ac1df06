//! `GET /api/history`: a backend's outage from the committed event log, as an
//! interval with its error, and the period's summary; bad queries are clear errors.

use watchpost::sim::Fault;

use crate::common::*;

#[actix_web::test]
async fn an_outage_is_an_interval_with_a_summary() {
    let (sim, td) = agent_daemon(&["jurws"], short_open_policy()).await;
    let id = hid("jurws");
    sim.set_backend_fault("jurws", Some(Fault::Status(404)));
    td.wait_event(&id, "fetch_failed").await;
    sim.set_backend_fault("jurws", None);
    td.wait_event(&id, "fetch_recovered").await;

    let (status, h) = td.get(&format!("/api/history?target={}", enc(&id))).await;
    assert_eq!(status, 200, "{h:#}");
    let outages = h["outages"].as_array().unwrap();
    assert_eq!(outages.len(), 1, "{h:#}");
    let o = &outages[0];
    assert!(
        o["end"].is_string() && o["duration_s"].as_f64().unwrap() > 0.0,
        "{o:#}"
    );
    assert!(
        o["first_error"]
            .as_str()
            .unwrap_or_default()
            .contains("404"),
        "{o:#}"
    );
    let s = &h["summary"];
    assert_eq!(s["outages"], 1);
    let pct = s["availability_pct"].as_f64().unwrap();
    assert!(pct < 100.0 && pct > 0.0, "{s:#}");
    assert_eq!(s["mttr_s"], o["duration_s"]);
    assert_eq!(s["top_errors"].as_array().map(Vec::len), Some(1));

    let (status, later) = td
        .get(&format!(
            "/api/history?target={}&since=2999-01-01T00:00:00Z&until=2999-01-02T00:00:00Z",
            enc(&id)
        ))
        .await;
    assert_eq!(
        (status, &later["summary"]["outages"]),
        (200, &0.into()),
        "{later:#}"
    );
    for (query, code) in [
        ("".to_string(), 400),
        (format!("?target={}&since=yesterday", enc(&id)), 400),
        (
            format!(
                "?target={}&since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
                enc(&id)
            ),
            400,
        ),
        ("?target=haproxy%2Fnope%2Fnope".to_string(), 404),
    ] {
        let (status, body) = td.get(&format!("/api/history{query}")).await;
        assert_eq!(status, code, "{query}: {body}");
        assert!(body["error"]["message"].is_string(), "{body}");
    }
}

/// Waits for the `nth` (from 1) event of `kind` of `target`.
async fn nth_event(td: &TestDaemon, target: &str, kind: &str, nth: usize) -> serde_json::Value {
    wait_for(&format!("{nth} {kind} events of {target}"), async || {
        let events = td.events(Some(target)).await;
        events
            .into_iter()
            .filter(|e| e["type"] == kind)
            .nth(nth - 1)
    })
    .await
}

#[actix_web::test]
async fn outages_name_the_kind_of_their_error() {
    let (sim, td) = agent_daemon(&["jurws"], short_open_policy()).await;
    let id = hid("jurws");
    sim.set_backend_fault("jurws", Some(Fault::Garbage));
    let garbage = nth_event(&td, &id, "fetch_failed", 1).await;
    assert_eq!(garbage["data"]["kind"], "protocol", "{garbage}");
    sim.set_backend_fault("jurws", None);
    nth_event(&td, &id, "fetch_recovered", 1).await;
    sim.stop().await;
    let refused = nth_event(&td, &id, "fetch_failed", 2).await;
    assert_eq!(refused["data"]["kind"], "refused", "{refused}");
    sim.resume().await.unwrap();
    nth_event(&td, &id, "fetch_recovered", 2).await;

    let (status, h) = td.get(&format!("/api/history?target={}", enc(&id))).await;
    assert_eq!(status, 200, "{h:#}");
    let kinds: Vec<_> = h["outages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["error_kind"].clone())
        .collect();
    assert_eq!(kinds, ["protocol", "refused"], "{h:#}");
    assert_eq!(
        h["summary"]["top_errors"],
        serde_json::json!([{"kind": "protocol", "count": 1}, {"kind": "refused", "count": 1}]),
        "{h:#}"
    );
}
