//! Wrong stats page credentials: the backend's `last_fetch_error` says HAProxy
//! answered 401 and that the credentials are wrong (without showing the password),
//! and since a 4xx is not transient each poll sends one request, no retries.

use std::time::Duration;

use serde_json::Value;
use watchpost::config::Secret;

use super::process::stat_rows;
use super::*;
use crate::common::fetch_is;

const WRONG: &str = "not-the-password";

/// The 4xx answers HAProxy's stats page has given so far (its FRONTEND counter).
async fn stats_page_4xx(ha: &Haproxy) -> u64 {
    let csv = ha.command("show stat stats 1 -1").await;
    let rows = stat_rows(&csv);
    let frontend = rows.iter().find(|r| r.get("svname") == Some("FRONTEND"));
    let cell = frontend.and_then(|r| r.get("hrsp_4xx")).unwrap_or_default();
    cell.parse()
        .unwrap_or_else(|_| panic!("hrsp_4xx of the stats frontend: {cell:?}"))
}

fn failures(t: &Value) -> u64 {
    t["consecutive_failures"].as_u64().unwrap_or(0)
}

#[actix_web::test]
async fn wrong_stats_credentials_are_reported_and_not_retried() {
    let l = Listener::start().await;
    let ha = Haproxy::start(vec![backend("be_app", &[("app1", l.port)])]).await;
    let mut web = source(&ha, "web", Via::Stats, &["be_app"]);
    web.password = Some(Secret::new(WRONG));
    // The circuit never opens here, and the retry settings leave room for several
    // attempts per poll if an error were (wrongly) taken as transient.
    web.policy.circuit.failure_threshold = 1000;
    web.policy.interval = Duration::from_millis(300);
    web.policy.timeout = Duration::from_millis(100);
    web.policy.retry.max_elapsed = Duration::from_millis(150);
    let td = daemon(vec![web]).await;
    let id = id("web", "be_app");

    let t = td
        .wait_target(&id, "a failed fetch", |t| fetch_is(t, "failed"))
        .await;
    let error = t["last_fetch_error"].as_str().unwrap_or_default();
    for word in ["haproxy web (127.0.0.1:", "401", "credentials"] {
        assert!(error.contains(word), "error {error:?} should say {word:?}");
    }
    assert!(
        !error.contains(WRONG),
        "the password is not shown: {error:?}"
    );
    assert!(
        !error.contains("attempts"),
        "a 401 is not retried: {error:?}"
    );

    td.wait_target(&id, "3 failed polls", |t| failures(t) >= 3)
        .await;
    let before = failures(&td.target(&id).await);
    let answered = stats_page_4xx(&ha).await;
    let after = failures(&td.target(&id).await);
    // One request per failed poll: HAProxy answered at least one 401 per poll counted
    // before, and at most one more than the polls counted after (one in flight).
    assert!(
        before <= answered && answered <= after + 1,
        "one request per poll: {answered} answers of 401 for {before}..{after} failed polls"
    );
    assert_eq!(td.target(&id).await["circuit_state"], "closed");
    let events = td.events(Some(&id)).await;
    let failed = events
        .iter()
        .filter(|e| e["type"] == "fetch_failed")
        .count();
    assert_eq!(failed, 1, "fetch_failed is edge-triggered: {events:#?}");
    let b = td.backend(&id).await;
    assert_eq!(
        b["servers"],
        serde_json::json!([]),
        "no data was ever read: {b:#}"
    );
}
