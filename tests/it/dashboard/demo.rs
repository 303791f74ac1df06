//! The demo in the browser, photographed for `docs/dashboard.png`, and figures (printed,
//! not asserted) for a fleet of 5,000 backends: time to first render, and time to
//! apply a burst of 1,000 events.
//!
//! The screenshot goes to `$CARGO_TARGET_TMPDIR/dashboard.png`; with
//! `UPDATE_DASHBOARD_PNG=1` it replaces `docs/dashboard.png`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use watchpost::config::Policy;
use watchpost::daemon::Daemon;
use watchpost::demo::demo_config;
use watchpost::sim::AgentSim;
use watchpost::sim::demo::DemoSources;

use super::{Browser, CARD, free_addr};
use crate::common::*;

/// The demo state worth a picture: circuits open, a backend and a Eureka server
/// failing, a toast, and the strips drawn.
const DEMO_READY: &str = "
    const q = (s) => document.querySelector(s);
    return q('[data-target-id=\"haproxy/fdmz01/billing\"] .badge.circuit.open')
        && q('[data-target-id=\"haproxy/fdmz01/static\"][data-fetch=\"failed\"]')
        && q('[data-target-id=\"eureka/main\"][data-fetch=\"failed\"]')
        && q('.toast') && document.querySelectorAll('svg.strip').length >= 4 && watchpost.idle();";

fn screenshot_path() -> PathBuf {
    match std::env::var_os("UPDATE_DASHBOARD_PNG") {
        Some(_) => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/dashboard.png"),
        None => PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png"),
    }
}

/// The demo's sources (schedule not started) and its daemon on a free port, once
/// the targets the picture needs have been fetched.
async fn demo_daemon(dir: &std::path::Path) -> (Arc<DemoSources>, Daemon) {
    let sources = Arc::new(DemoSources::start().await.expect("demo sources"));
    let config = demo_config(&sources, free_addr(), dir.join("demo.redb"));
    let daemon = Daemon::start(config).await.expect("the demo daemon starts");
    let base = format!("http://{}", daemon.addr);
    let http = client();
    for id in [
        "haproxy/fdmz01/billing",
        "haproxy/fdmz01/static",
        "eureka/main",
    ] {
        wait_for(&format!("{id} fetched"), async || {
            let (_, t) = get_json(&http, &format!("{base}/api/targets/{}", enc(id))).await;
            fetch_is(&t, "success").then_some(())
        })
        .await;
    }
    (sources, daemon)
}

#[actix_web::test]
#[ignore = "takes the demo's screenshot; run with --ignored (UPDATE_DASHBOARD_PNG=1 writes docs/dashboard.png)"]
async fn screenshot_of_the_demo() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (sources, daemon) = demo_daemon(dir.path()).await;
    let b = Browser::open_dashboard(&format!("http://{}", daemon.addr)).await;
    let schedule = actix_web::rt::spawn(async move { sources.run_schedule().await });
    b.wait_js("the demo's failures on the page", DEMO_READY, vec![])
        .await;
    let png = b.screenshot().await;
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    let path = screenshot_path();
    std::fs::write(&path, &png).expect("write the screenshot");
    println!(
        "dashboard screenshot: {} ({} bytes)",
        path.display(),
        png.len()
    );
    schedule.abort();
    b.close().await;
    daemon.shutdown().await;
}

/// Polls every 20 s (the first polls spread over that), so 5,000 backends stay cheap.
fn slow_policy() -> Policy {
    let mut p = fast_policy();
    p.interval = Duration::from_secs(20);
    p.timeout = Duration::from_secs(5);
    p.retry.max_elapsed = Duration::from_secs(1);
    p.circuit.failure_threshold = 1_000_000;
    p
}

const FLEET: usize = 5000;
const LONG: Duration = Duration::from_secs(240);

/// `/api/health`, or `None` while the busy daemon does not answer in time.
async fn health(http: &reqwest::Client, td: &TestDaemon) -> Option<Value> {
    let resp = http.get(td.url("/api/health")).send().await.ok()?;
    serde_json::from_str(&resp.text().await.ok()?).ok()
}

/// Waits (up to [`LONG`]) until `/api/health` satisfies `pred`; answers it.
async fn health_until(td: &TestDaemon, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let http = client();
    let found = try_wait_for(LONG, async || health(&http, td).await.filter(&pred));
    found
        .await
        .unwrap_or_else(|| panic!("timed out waiting for {what}"))
}

/// An agent with 5,000 backends of two servers, all fetched by the daemon.
async fn large_fleet(names: &[String]) -> (AgentSim, TestDaemon) {
    let sim = AgentSim::start(local(), names.iter().map(|n| backend(n)).collect(), vec![]);
    let sim = sim.await.expect("agent sim");
    let mut c = config();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut h = haproxy("fdmz01", &sim.url(), &refs);
    h.policy = slow_policy();
    c.haproxy.push(h);
    let td = start_daemon(c).await;
    health_until(&td, "5,000 backends fetched", |h| {
        h["targets"]["success"] == FLEET
    })
    .await;
    (sim, td)
}

async fn print_first_render(b: &Browser) {
    let m = b.eval("return watchpost.metrics;", vec![]).await;
    let nodes = b
        .eval("return document.getElementsByTagName('*').length;", vec![])
        .await;
    let at = |k: &str| m[k].as_f64().unwrap_or(f64::NAN);
    println!(
        "5,000 backends: snapshot in the page at {:.0} ms, first render complete at {:.0} ms \
         after navigation start ({nodes} elements)",
        at("snapshotAt"),
        at("firstRenderMs")
    );
}

/// Pauses the page's stream and makes 1,000 events (500 backends × 2 servers DOWN);
/// answers the daemon's last seq before and after.
async fn missed_burst(
    b: &Browser,
    sim: &AgentSim,
    td: &TestDaemon,
    names: &[String],
) -> (u64, u64) {
    b.eval("watchpost.pause(); return true;", vec![]).await;
    let paused = "return watchpost.connection() === 'paused';";
    b.wait_js("the page to pause", paused, vec![]).await;
    let seq = |h: &Value| h["last_seq"].as_u64().unwrap_or(0);
    let before = seq(&health_until(td, "the last seq", |_| true).await);
    for name in &names[..500] {
        sim.set_server_status(name, "app1", "DOWN");
        sim.set_server_status(name, "app2", "DOWN");
    }
    let after = seq(&health_until(td, "1,000 new events", |h| seq(h) >= before + 1000).await);
    (before, after)
}

/// When the page had rendered `arguments[0]` (from its own render log).
const RENDERED_AT: &str = "const r = watchpost.metrics.rendered.find(([s]) => s >= arguments[0]); return r ? r[1] : null;";

/// Resumes the page's stream and prints how long it took to apply and render the
/// events it missed.
async fn catch_up(b: &Browser, (before, after): (u64, u64)) {
    let resumed = b
        .eval("watchpost.resume(); return performance.now();", vec![])
        .await;
    b.caught_up(after).await;
    let done = b.eval(RENDERED_AT, vec![json!(after)]).await;
    let burst = b.eval(
        "const b = watchpost.metrics.bursts; return b[b.length - 1];",
        vec![],
    );
    let burst = burst.await;
    let ms = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    println!(
        "5,000 backends: {} missed events applied and rendered {:.0} ms after resuming the \
         stream (the first arrived after {:.0} ms, the last after {:.0} ms; JS time in that \
         burst: {:.0} ms applying events, {:.0} ms in {} render frames)",
        after - before,
        ms(&done) - ms(&resumed),
        ms(&burst["start"]) - ms(&resumed),
        ms(&burst["lastAt"]) - ms(&resumed),
        ms(&burst["handleMs"]),
        ms(&burst["renderMs"]),
        burst["frames"]
    );
}

#[actix_web::test]
#[ignore = "measurement with 5,000 backends that loads the whole machine; run with --ignored"]
async fn figures_for_5000_backends() {
    let names: Vec<String> = (0..FLEET).map(|i| format!("be{i:04}")).collect();
    let (sim, td) = large_fleet(&names).await;
    let b = Browser::open_dashboard(&td.base_url).await;
    print_first_render(&b).await;
    catch_up(&b, missed_burst(&b, &sim, &td, &names).await).await;
    let shows = format!("{CARD} return card && card.querySelector('.chips').textContent;");
    let chips = b.eval(&shows, vec![json!(hid(&names[0]))]).await;
    assert_eq!(chips, "[UP: 0][DOWN: 2]", "the burst is on the page");
    b.close().await;
}
