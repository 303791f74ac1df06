//! The admin API (auth, target ids, polling on/off, recover) and the daemon-wide
//! read endpoints (health, events, metrics, JSON errors).

use serde_json::Value;
use watchpost::sim::{AgentSim, Fault};

use crate::common::*;

const A: &str = "haproxy/fdmz01/a";
const B: &str = "haproxy/fdmz01/b";

/// A daemon polling backends `a` and `b` of one agent, both polled once.
async fn two_backends(token: bool) -> (AgentSim, TestDaemon) {
    let sim = AgentSim::start(local(), vec![backend("a"), backend("b")], vec![]).await.unwrap();
    let mut config = config();
    if !token {
        config.server.admin_token = None;
    }
    config.haproxy.push(haproxy("fdmz01", &sim.url(), &["a", "b"]));
    let td = start_daemon(config).await;
    for id in [A, B] {
        td.wait_target(id, "first success", |t| fetch_is(t, "success")).await;
    }
    (sim, td)
}

fn assert_error(status: u16, body: &Value, want: u16) {
    assert_eq!(status, want, "{body:#}");
    assert!(body["error"]["code"].is_string(), "no error.code: {body:#}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body:#}");
}

#[actix_web::test]
async fn without_a_token_the_admin_api_is_disabled() {
    let (_sim, td) = two_backends(false).await;
    for action in ["reset-circuit", "recover", "polling"] {
        let path = format!("/api/admin/targets/{}/{action}", enc(A));
        for token in [None, Some(TOKEN)] {
            let (status, body) = td.post(&path, token, r#"{"enabled":false}"#).await;
            assert_error(status, &body, 403);
            assert_eq!(body["error"]["code"], "admin_disabled");
        }
    }
    assert_eq!(td.target(A).await["enable_polling"], true);
}

#[actix_web::test]
async fn admin_calls_check_token_target_and_body() {
    let (_sim, td) = two_backends(true).await;
    let path = format!("/api/admin/targets/{}/polling", enc(A));
    let enable = r#"{"enabled":true}"#;
    for token in [None, Some("wrong"), Some("test-token-longer"), Some("")] {
        let (status, body) = td.post(&path, token, enable).await;
        assert_error(status, &body, 401);
    }
    let unknown = format!("/api/admin/targets/{}/polling", enc("haproxy/fdmz01/nope"));
    for token in [None, Some("wrong")] {
        let (status, body) = td.post(&unknown, token, enable).await;
        assert_error(status, &body, 401);
    }
    let (status, body) = td.admin(&unknown, enable).await;
    assert_error(status, &body, 404);
    for action in ["reset-circuit", "recover"] {
        let (status, body) = td.admin(&format!("/api/admin/targets/nope/{action}"), "").await;
        assert_error(status, &body, 404);
    }
    for bad in ["", "not json", r#"{"enabled":"no"}"#, "{}", r#"{"enabled":true,"x":1}"#] {
        let (status, body) = td.admin(&path, bad).await;
        assert_eq!(status, 400, "body {bad:?} is refused: {body:#}");
        assert_error(status, &body, 400);
    }
    let (status, body) = td.admin(&path, enable).await;
    assert_eq!((status, &body["enable_polling"]), (200, &Value::Bool(true)), "{body:#}");
}

#[actix_web::test]
async fn an_oversized_body_is_refused_with_a_json_error() {
    let (_sim, td) = two_backends(true).await;
    let path = format!("/api/admin/targets/{}/polling", enc(A));
    let huge = format!(r#"{{"enabled":false,"pad":"{}"}}"#, "x".repeat(64 * 1024));
    let (status, body) = td.admin(&path, &huge).await;
    assert_eq!(status, 413, "an oversized body is refused: {body:#}");
    assert_eq!(td.target(A).await["enable_polling"], true);
    assert_error(status, &body, 413); // SPEC §4: errors are {"error":{"code","message"}}
}

#[actix_web::test]
async fn target_ids_work_percent_encoded_and_raw() {
    let (_sim, td) = two_backends(true).await;
    for path in [enc(A), A.to_string(), "haproxy%2ffdmz01%2fa".into()] {
        let (status, body) = td.get(&format!("/api/targets/{path}")).await;
        assert_eq!((status, body["id"].as_str()), (200, Some(A)), "{path}: {body:#}");
        let (status, body) = td.admin(&format!("/api/admin/targets/{path}/reset-circuit"), "").await;
        assert_eq!(status, 200, "{path}: {body:#}");
        assert_eq!(body["target"]["id"], A, "{body:#}");
        assert_eq!(body["poll"]["result"], "success", "{body:#}");
    }
    let (status, body) = td.get("/api/targets/haproxy%2Ffdmz01%2Fnope").await;
    assert_error(status, &body, 404);
}

#[actix_web::test]
async fn disabling_polling_stops_requests_until_enabled_again() {
    let (sim, td) = two_backends(true).await;
    let path = format!("/api/admin/targets/{}/polling", enc(A));
    let (status, body) = td.admin(&path, r#"{"enabled":false}"#).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["target"]["enable_polling"], false, "{body:#}");
    td.wait_event(A, "polling_disabled").await;
    td.wait_polls(B, 1).await; // a poll of `a` in flight at the switch has ended
    let before = sim.requests_matching("/backends/a/servers");
    let last = td.target(A).await["last_fetch_at"].clone();
    td.wait_polls(B, 3).await;
    assert_eq!(sim.requests_matching("/backends/a/servers"), before, "polled while disabled");
    let t = td.target(A).await;
    assert_eq!((&t["enable_polling"], &t["last_fetch_at"]), (&Value::Bool(false), &last), "{t:#}");
    assert_eq!(td.backend(A).await["enable_polling"], false);

    let (status, body) = td.admin(&path, r#"{"enabled":true}"#).await;
    assert_eq!((status, &body["target"]["enable_polling"]), (200, &Value::Bool(true)), "{body:#}");
    td.wait_target(A, "polled again", |t| t["last_fetch_at"] != last).await;
    assert!(sim.requests_matching("/backends/a/servers") > before);
    let events = td.events(Some(A)).await;
    let switches: Vec<&str> = types(&events).into_iter().filter(|k| k.starts_with("polling_")).collect();
    assert_eq!(switches, ["polling_disabled", "polling_enabled"]);
}

#[actix_web::test]
async fn recover_runs_the_configured_command_then_resets_and_polls() {
    let sim = AgentSim::start(local(), vec![backend("a"), backend("b"), backend("c")], vec![]).await.unwrap();
    let mut config = config();
    for (group, be, argv) in [("good", "a", recover(&["sh", "-c", "echo recovered"])), ("bad", "b", recover(&["false"])), ("none", "c", None)] {
        let mut h = haproxy(group, &sim.url(), &[be]);
        h.recover = argv;
        config.haproxy.push(h);
    }
    let td = start_daemon(config).await;
    let (good, bad, none) = ("haproxy/good/a", "haproxy/bad/b", "haproxy/none/c");
    for id in [good, bad, none] {
        td.wait_target(id, "first success", |t| fetch_is(t, "success")).await;
    }
    sim.set_backend_fault("a", Some(Fault::Status(503)));
    td.wait_target(good, "an open circuit", |t| t["circuit_state"] == "open").await;
    sim.set_backend_fault("a", None);

    let (status, body) = td.admin(&format!("/api/admin/targets/{}/recover", enc(good)), "").await;
    assert_eq!(status, 200, "{body:#}");
    let r = &body["recovery"];
    assert_eq!((&r["ok"], &r["exit_code"], &r["detail"]), (&Value::Bool(true), &Value::from(0), &Value::from("recovered")), "{body:#}");
    assert_eq!(r["action"], serde_json::json!(["sh", "-c", "echo recovered"]));
    assert_eq!(body["poll"]["result"], "success", "{body:#}");
    assert_eq!(body["target"]["circuit_state"], "closed", "{body:#}");
    assert_eq!(body["target"]["recovery_attempts"], 1, "{body:#}");
    let event = td.wait_event(good, "recovery_attempted").await;
    assert_eq!(event["data"]["ok"], true, "{event:#}");

    let (status, body) = td.admin(&format!("/api/admin/targets/{}/recover", enc(bad)), "").await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!((&body["recovery"]["ok"], &body["recovery"]["exit_code"]), (&Value::Bool(false), &Value::from(1)), "{body:#}");
    assert_eq!(body["poll"]["result"], "success", "{body:#}");
    assert_eq!(td.wait_event(bad, "recovery_attempted").await["data"]["ok"], false);
    let t = td.target(bad).await;
    assert_eq!((&t["recovery_attempts"], &t["last_recovery"]["ok"]), (&Value::from(1), &Value::Bool(false)), "{t:#}");

    let (status, body) = td.admin(&format!("/api/admin/targets/{}/recover", enc(none)), "").await;
    assert_eq!(status, 200, "{body:#}");
    assert!(body["recovery"]["detail"].as_str().unwrap().contains("no recover command"), "{body:#}");
    assert_eq!(td.target(good).await["recovery_attempts"], 1, "other targets are not touched");
}

#[actix_web::test]
async fn health_is_healthy_degraded_then_unhealthy() {
    let (sim, td) = two_backends(true).await;
    let (status, h) = td.get("/api/health").await;
    assert_eq!((status, h["status"].as_str()), (200, Some("healthy")), "{h:#}");
    let counts = serde_json::json!({"total": 2, "success": 2, "failed": 0, "unknown": 0, "circuit_open": 0});
    assert_eq!(h["targets"], counts);
    assert_eq!(h["storage"], "ok");
    assert!(h["timestamp"].is_string(), "{h:#}");

    sim.set_backend_fault("a", Some(Fault::Status(503)));
    let h = wait_for("a degraded health", async || {
        let (status, h) = td.get("/api/health").await;
        (h["targets"]["failed"] == 1).then(|| (status, h))
    })
    .await;
    assert_eq!((h.0, h.1["status"].as_str()), (200, Some("degraded")), "{:#}", h.1);

    sim.stop().await;
    let (status, h) = wait_for("an unhealthy health", async || {
        let (status, h) = td.get("/api/health").await;
        (h["targets"]["failed"] == 2).then_some((status, h))
    })
    .await;
    assert_eq!((status, h["status"].as_str()), (503, Some("unhealthy")), "{h:#}");
    let (status, body) = td.get("/healthz").await;
    assert_eq!(status, 200, "{body}");
}

#[actix_web::test]
async fn events_are_ordered_paged_and_filtered() {
    let (_sim, td) = two_backends(true).await;
    let path = format!("/api/admin/targets/{}/polling", enc(A));
    for on in ["false", "true"] {
        assert_eq!(td.admin(&path, &format!(r#"{{"enabled":{on}}}"#)).await.0, 200);
    }
    let all = td.events(None).await;
    let seqs: Vec<u64> = all.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert!(all.iter().all(|e| e["ts"].is_string() && e["target"].is_string() && e["data"].is_object()));
    let added: Vec<&str> = all.iter().filter(|e| e["type"] == "target_added").map(|e| e["target"].as_str().unwrap()).collect();
    assert_eq!(added, [A, B]);

    let (mut since, mut paged) = (0, Vec::new());
    while since < *seqs.last().unwrap() {
        let (status, page) = td.get(&format!("/api/events?since={since}&limit=2")).await;
        assert_eq!(status, 200, "{page:#}");
        let events = page["events"].as_array().unwrap();
        assert!(!events.is_empty() && events.len() <= 2, "{page:#}");
        paged.extend(events.iter().map(|e| e["seq"].as_u64().unwrap()));
        since = page["next_since"].as_u64().unwrap();
    }
    assert_eq!(paged, seqs);

    let of_a = td.events(Some(A)).await;
    assert!(of_a.iter().all(|e| e["target"] == A), "{of_a:#?}");
    assert_eq!(types(&of_a), ["target_added", "polling_disabled", "polling_enabled"]);
    let disabled = of_a[1]["seq"].as_u64().unwrap();
    let (_, after) = td.get(&format!("/api/events?since={disabled}&target={}", enc(A))).await;
    assert_eq!(types(after["events"].as_array().unwrap()), ["polling_enabled"]);

    for bad in ["limit=0", "limit=-1", "limit=abc", "since=x", "limit=10001"] {
        let (status, body) = td.get(&format!("/api/events?{bad}")).await;
        assert_error(status, &body, 400);
    }
    for unknown in ["/api/nope", "/nope", "/api/targets/nope"] {
        let (status, body) = td.get(unknown).await;
        assert_error(status, &body, 404);
        assert_eq!(body["error"]["code"], "not_found");
    }
}

#[actix_web::test]
async fn metrics_expose_fetch_and_server_state() {
    let (sim, td) = two_backends(true).await;
    let resp = client().get(td.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let kind = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(kind.starts_with("text/plain"), "{kind}");
    let text = resp.text().await.unwrap();
    for line in [
        "# TYPE watchpost_target_fetch_success gauge",
        &format!("watchpost_target_fetch_success{{target=\"{A}\"}} 1"),
        &format!("watchpost_server_up{{target=\"{A}\",server=\"app1\"}} 1"),
        &format!("watchpost_target_circuit_open{{target=\"{B}\"}} 0"),
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    sim.set_backend_fault("a", Some(Fault::Garbage));
    td.wait_target(A, "a failed fetch", |t| fetch_is(t, "failed")).await;
    let text = client().get(td.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for line in [
        format!("watchpost_target_fetch_success{{target=\"{A}\"}} 0"),
        format!("watchpost_server_up{{target=\"{A}\",server=\"app1\"}} 0"),
        format!("watchpost_target_fetch_success{{target=\"{B}\"}} 1"),
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
}
