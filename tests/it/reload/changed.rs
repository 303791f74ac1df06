//! Reload with a changed `[[haproxy]]` table: only its targets restart, with the new
//! settings, and what the API shows of their circuit matches how they poll.

use super::*;

#[actix_web::test]
async fn a_changed_interval_restarts_only_that_target() {
    let sim = AgentSim::start(local(), ["a", "b", "c"].map(backend).to_vec(), vec![])
        .await
        .unwrap();
    let (a, b, c) = ("haproxy/one/a", "haproxy/two/b", "haproxy/one/c");
    let d = Reloadable::start(
        &sim.url(),
        &[Group("one", None, &["a", "c"]), Group("two", None, &["b"])],
    )
    .await;
    d.wait_target(b, "first success", |t| fetch_is(t, "success"))
        .await;
    let open = open_circuit(&sim, &d, a, "a").await;
    let requests_a = sim.requests_matching(&servers_path("a"));

    d.write(&[
        Group("one", None, &["a", "c"]),
        Group("two", Some("1h"), &["b"]),
    ]);
    let (status, body) = d.reload(Some(TOKEN)).await;
    assert_eq!(status, 200, "{body:#}");
    let report = &body["report"];
    assert_eq!(report["changed"], serde_json::json!([b]), "{body:#}");
    assert_eq!(report["unchanged"], 2, "{body:#}");
    assert_eq!(
        (
            report["added"].as_array().map(Vec::len),
            report["removed"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );

    d.wait_polls(c, 1).await;
    let requests_b = sim.requests_matching(&servers_path("b"));
    d.wait_polls(c, 4).await;
    assert_eq!(
        sim.requests_matching(&servers_path("b")),
        requests_b,
        "b still polls every 250 ms, not every hour"
    );
    assert_eq!(
        sim.requests_matching(&servers_path("a")),
        requests_a,
        "a's open circuit was reset"
    );
    assert_eq!(
        kept(&d.target(a).await),
        kept(&open),
        "the untouched target changed"
    );
    assert_eq!(d.target(b).await["enable_polling"], true);
}

/// Pins: a target restarted by a reload (changed spec) while its circuit was open
/// got a new, closed breaker and polled again while its state kept saying `open`
/// (before 8080e75). What the API shows must match how the poller behaves.
#[actix_web::test]
async fn a_changed_target_shows_the_circuit_its_poller_uses() {
    let sim = AgentSim::start(local(), ["a", "c"].map(backend).to_vec(), vec![])
        .await
        .unwrap();
    let (a, c) = ("haproxy/one/a", "haproxy/two/c");
    let d = Reloadable::start(
        &sim.url(),
        &[Group("one", None, &["a"]), Group("two", None, &["c"])],
    )
    .await;
    d.wait_target(c, "first success", |t| fetch_is(t, "success"))
        .await;
    open_circuit(&sim, &d, a, "a").await;
    sim.set_backend_fault("a", None);
    let requests = sim.requests_matching(&servers_path("a"));

    d.write(&[
        Group("one", Some("300ms"), &["a"]),
        Group("two", None, &["c"]),
    ]);
    let (status, body) = d.reload(Some(TOKEN)).await;
    assert_eq!(
        (status, &body["report"]["changed"]),
        (200, &serde_json::json!([a])),
        "{body:#}"
    );
    d.wait_polls(c, 6).await;
    let t = d.target(a).await;
    let polled = sim.requests_matching(&servers_path("a")) > requests;
    if polled {
        assert_eq!(
            t["circuit_state"], "closed",
            "a polls again (and succeeds) but shows: {t:#}"
        );
    } else {
        assert_eq!(t["circuit_state"], "open", "{t:#}");
    }
}
