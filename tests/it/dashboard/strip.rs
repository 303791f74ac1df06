//! The availability strip: the 24-hour intervals the page's own module computes from
//! a target's event log, imported and run in the browser. (That a failing backend's
//! strip shows a failed segment is checked in `failures`.)

use serde_json::{Value, json};

use super::Browser;
use crate::common::*;

/// Imports availability.js and answers the kinds and lengths (in minutes) of the
/// segments of `arguments[0]` (events with `at` in hours before now).
const SEGMENTS: &str = "
    const [spec, done] = arguments;
    import('/assets/availability.js').then((m) => {
        const now = Date.now();
        const hour = 3600 * 1000;
        const events = spec.map(([at, type, data], i) =>
            ({ seq: i + 1, type, data, ts: new Date(now - at * hour).toISOString() }));
        done(m.segments(events, now).map((s) => [s.kind, Math.round((s.to - s.from) / 60000)]));
    }, (e) => done(String(e)));";

async fn segments(b: &Browser, events: Value) -> Value {
    b.eval_async(SEGMENTS, vec![events]).await
}

#[actix_web::test]
async fn strips_follow_failures_recoveries_and_polling_switches() {
    let td = start_daemon(config()).await;
    let b = Browser::open_dashboard(&td.base_url).await;
    let day = json!([
        [10, "target_added", {}],
        [5, "fetch_failed", {"error": "down"}],
        [4, "fetch_recovered", {}],
        [3, "fetch_failed", {"application": "ORDERS", "error": "bad"}],
        [2.5, "fetch_recovered", {"application": "ORDERS"}],
        [2, "polling_disabled", {}],
        [1, "polling_enabled", {}],
    ]);
    let want = json!([
        ["absent", 840],
        ["ok", 300],
        ["failed", 60],
        ["ok", 60],
        ["partial", 30],
        ["ok", 30],
        ["disabled", 60],
        ["ok", 60],
    ]);
    assert_eq!(segments(&b, day).await, want);
    let older = json!([[30, "fetch_failed", {"error": "down"}], [6, "fetch_recovered", {}]]);
    let want = json!([["failed", 1080], ["ok", 360]]);
    assert_eq!(
        segments(&b, older).await,
        want,
        "a failure that began before the window"
    );
    let inferred = json!([[6, "fetch_recovered", {}]]);
    let want = json!([["failed", 1080], ["ok", 360]]);
    assert_eq!(
        segments(&b, inferred).await,
        want,
        "failed before the first event"
    );
    b.close().await;
}
