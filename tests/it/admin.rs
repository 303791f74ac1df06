//! The admin API (auth, target ids, polling on/off, recover) and the daemon-wide
//! read endpoints (health, events, JSON errors); `/metrics` is in `metrics.rs`.

use serde_json::{Value, json};
use watchpost::sim::{AgentSim, Fault};

use crate::common::*;

const A: &str = "haproxy/fdmz01/a";
const B: &str = "haproxy/fdmz01/b";

/// A daemon polling backends `a` and `b` of one agent, both polled once.
async fn two_backends() -> (AgentSim, TestDaemon) {
    agent_daemon(&["a", "b"], fast_policy()).await
}

/// An error answer: the status and `{"error":{"code","message"}}`.
fn assert_error(status: u16, body: &Value, want: u16) {
    assert_eq!(status, want, "{body:#}");
    assert!(body["error"]["code"].is_string(), "no error.code: {body:#}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "no error.message: {body:#}");
}

fn polling_path(id: &str) -> String {
    format!("/api/admin/targets/{}/polling", enc(id))
}

#[actix_web::test]
async fn without_a_token_the_admin_api_is_disabled() {
    let mut no_token = config();
    no_token.server.admin_token = None;
    let (_sim, td) = agent_daemon_in(no_token, &["a"], fast_policy()).await;
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
async fn admin_calls_check_token_then_target_then_body() {
    let (_sim, td) = two_backends().await;
    let (path, enable) = (polling_path(A), r#"{"enabled":true}"#);
    for token in [None, Some("wrong"), Some("test-token-longer"), Some("")] {
        let (status, body) = td.post(&path, token, enable).await;
        assert_error(status, &body, 401);
    }
    let unknown = polling_path("haproxy/fdmz01/nope");
    for token in [None, Some("wrong")] {
        let (status, body) = td.post(&unknown, token, enable).await;
        assert_error(status, &body, 401);
    }
    let (status, body) = td.admin(&unknown, enable).await;
    assert_error(status, &body, 404);
    for action in ["reset-circuit", "recover"] {
        let path = format!("/api/admin/targets/nope/{action}");
        let (status, body) = td.admin(&path, "").await;
        assert_error(status, &body, 404);
    }
    let bad_bodies = [
        "",
        "not json",
        r#"{"enabled":"no"}"#,
        "{}",
        r#"{"enabled":true,"x":1}"#,
    ];
    for bad in bad_bodies {
        let (status, body) = td.admin(&path, bad).await;
        assert_eq!(status, 400, "body {bad:?} is refused: {body:#}");
        assert_error(status, &body, 400);
    }
    let (status, body) = td.admin(&path, enable).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["enable_polling"], true, "{body:#}");
}

#[actix_web::test]
async fn an_oversized_body_is_refused_with_a_json_error() {
    let (_sim, td) = two_backends().await;
    let pad = "x".repeat(64 * 1024);
    let huge = format!(r#"{{"enabled":false,"pad":"{pad}"}}"#);
    let (status, body) = td.admin(&polling_path(A), &huge).await;
    assert_eq!(status, 413, "an oversized body is refused: {body:#}");
    assert_eq!(td.target(A).await["enable_polling"], true);
    // docs/api.md: errors are {"error":{"code","message"}}.
    assert_error(status, &body, 413);
}

#[actix_web::test]
async fn target_ids_work_percent_encoded_and_raw() {
    let (_sim, td) = two_backends().await;
    for path in [enc(A), A.to_string(), "haproxy%2ffdmz01%2fa".into()] {
        let (status, body) = td.get(&format!("/api/targets/{path}")).await;
        assert_eq!(
            (status, body["id"].as_str()),
            (200, Some(A)),
            "{path}: {body:#}"
        );
        let reset = format!("/api/admin/targets/{path}/reset-circuit");
        let (status, body) = td.admin(&reset, "").await;
        assert_eq!(status, 200, "{path}: {body:#}");
        assert_eq!(body["target"]["id"], A, "{body:#}");
        assert_eq!(body["poll"]["result"], "success", "{body:#}");
    }
    let (status, body) = td.get("/api/targets/haproxy%2Ffdmz01%2Fnope").await;
    assert_error(status, &body, 404);
}

#[actix_web::test]
async fn disabling_polling_stops_requests_until_enabled_again() {
    let (sim, td) = two_backends().await;
    let (status, body) = td.admin(&polling_path(A), r#"{"enabled":false}"#).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["target"]["enable_polling"], false, "{body:#}");
    td.wait_event(A, "polling_disabled").await;
    td.wait_polls(B, 1).await; // a poll of `a` in flight at the switch has ended
    let requests = || sim.requests_matching("/backends/a/servers");
    let before = requests();
    let last = td.target(A).await["last_fetch_at"].clone();
    td.wait_polls(B, 3).await;
    assert_eq!(
        requests(),
        before,
        "requests sent while polling is disabled"
    );
    let t = td.target(A).await;
    assert_fields(&t, json!({"enable_polling": false, "last_fetch_at": last}));
    assert_eq!(td.backend(A).await["enable_polling"], false);

    let (status, body) = td.admin(&polling_path(A), r#"{"enabled":true}"#).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["target"]["enable_polling"], true, "{body:#}");
    td.wait_target(A, "polled again", |t| t["last_fetch_at"] != last)
        .await;
    assert!(requests() > before);
    let events = td.events(Some(A)).await;
    assert_eq!(
        types_with(&events, "polling_"),
        ["polling_disabled", "polling_enabled"]
    );
}

#[actix_web::test]
async fn recover_runs_the_configured_command_then_resets_and_polls() {
    let sim = AgentSim::start(
        local(),
        vec![backend("a"), backend("b"), backend("c")],
        vec![],
    );
    let sim = sim.await.unwrap();
    let mut config = config();
    let echo = recover(&["sh", "-c", "echo recovered"]);
    for (group, name, command) in [("good", "a", echo), ("bad", "b", recover(&["false"]))] {
        let mut h = haproxy(group, &sim.url(), &[name]);
        h.recover = command;
        config.haproxy.push(h);
    }
    config.haproxy.push(haproxy("none", &sim.url(), &["c"]));
    let td = start_daemon(config).await;
    let (good, bad, none) = ("haproxy/good/a", "haproxy/bad/b", "haproxy/none/c");
    for id in [good, bad, none] {
        td.wait_success(id).await;
    }
    sim.set_backend_fault("a", Some(Fault::Status(503)));
    td.wait_target(good, "an open circuit", |t| t["circuit_state"] == "open")
        .await;
    sim.set_backend_fault("a", None);

    let recover = |id: &str| format!("/api/admin/targets/{}/recover", enc(id));
    let (status, body) = td.admin(&recover(good), "").await;
    assert_eq!(status, 200, "{body:#}");
    let ran = json!({"ok": true, "exit_code": 0, "detail": "recovered",
                     "action": ["sh", "-c", "echo recovered"]});
    assert_fields(&body["recovery"], ran);
    assert_eq!(body["poll"]["result"], "success", "{body:#}");
    let now = json!({"circuit_state": "closed", "recovery_attempts": 1});
    assert_fields(&body["target"], now);
    let event = td.wait_event(good, "recovery_attempted").await;
    assert_eq!(event["data"]["ok"], true, "{event:#}");

    let (status, body) = td.admin(&recover(bad), "").await;
    assert_eq!(status, 200, "{body:#}");
    assert_fields(&body["recovery"], json!({"ok": false, "exit_code": 1}));
    assert_eq!(body["poll"]["result"], "success", "{body:#}");
    let event = td.wait_event(bad, "recovery_attempted").await;
    assert_eq!(event["data"]["ok"], false, "{event:#}");
    let t = td.target(bad).await;
    assert_fields(
        &t,
        json!({"recovery_attempts": 1, "last_recovery": body["recovery"]}),
    );

    let (status, body) = td.admin(&recover(none), "").await;
    assert_eq!(status, 200, "{body:#}");
    let detail = body["recovery"]["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("no recover command"), "{body:#}");
    assert_eq!(
        td.target(good).await["recovery_attempts"],
        1,
        "others untouched"
    );
}

#[actix_web::test]
async fn health_is_healthy_then_degraded_then_unhealthy() {
    let (sim, td) = two_backends().await;
    let (status, h) = td.get("/api/health").await;
    assert_eq!(status, 200, "{h:#}");
    let counts = json!({"total": 2, "success": 2, "failed": 0, "unknown": 0, "circuit_open": 0});
    assert_fields(
        &h,
        json!({"status": "healthy", "storage": "ok", "targets": counts}),
    );
    assert!(h["timestamp"].is_string(), "{h:#}");

    let health_with = async |failed: u64| {
        let what = format!("{failed} failed targets in /api/health");
        wait_for(&what, async || {
            let (status, h) = td.get("/api/health").await;
            (h["targets"]["failed"] == failed).then_some((status, h))
        })
        .await
    };
    sim.set_backend_fault("a", Some(Fault::Status(503)));
    let (status, h) = health_with(1).await;
    assert_eq!(
        (status, h["status"].as_str()),
        (200, Some("degraded")),
        "{h:#}"
    );
    sim.stop().await;
    let (status, h) = health_with(2).await;
    assert_eq!(
        (status, h["status"].as_str()),
        (503, Some("unhealthy")),
        "{h:#}"
    );
    let (status, body) = td.get("/healthz").await;
    assert_eq!(status, 200, "{body}");
}

#[actix_web::test]
async fn events_are_ordered_paged_and_filtered() {
    let (_sim, td) = two_backends().await;
    for on in ["false", "true"] {
        let body = format!(r#"{{"enabled":{on}}}"#);
        assert_eq!(td.admin(&polling_path(A), &body).await.0, 200);
    }
    let all = td.events(None).await;
    let seqs: Vec<u64> = all.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    for e in &all {
        let complete = e["ts"].is_string() && e["target"].is_string() && e["data"].is_object();
        assert!(complete, "{e:#}");
    }
    let added: Vec<&Value> = all.iter().filter(|e| e["type"] == "target_added").collect();
    assert_eq!(
        added.iter().map(|e| &e["target"]).collect::<Vec<_>>(),
        [A, B]
    );

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
    let want = ["target_added", "polling_disabled", "polling_enabled"];
    assert_eq!(types(&of_a), want);
    let disabled = of_a[1]["seq"].as_u64().unwrap();
    let (_, after) = td
        .get(&format!("/api/events?since={disabled}&target={}", enc(A)))
        .await;
    assert_eq!(column(&after["events"], "type"), ["polling_enabled"]);

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

/// `POST path` with the admin token, sent as written (HTTP clients resolve `%2e%2e`
/// before sending): the status code.
async fn raw_post(td: &TestDaemon, path: &str, body: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(td.daemon.addr)
        .await
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).await.unwrap();
    answer[9..12].parse().unwrap()
}

/// `..` as a server name once vanished from the agent request (the daemon sent
/// `.../servers/action` and reported success): dot names are refused, any other
/// name reaches the agent as exactly one encoded path segment.
#[actix_web::test]
async fn server_names_reach_the_agent_as_exact_path_segments() {
    let (sim, td) = two_backends().await;
    let state = |server: &str| format!("/api/admin/targets/{}/servers/{server}/state", enc(A));
    for dots in ["%2e%2e", "%2E", ".", ".."] {
        let status = raw_post(&td, &state(dots), r#"{"state":"drain"}"#).await;
        assert_eq!(status, 400, "{dots}");
    }
    assert_eq!(
        sim.requests_matching("/action"),
        0,
        "nothing reached the agent"
    );
    let (_, body) = td.admin(&state("a%2Fb%3Fx"), r#"{"state":"drain"}"#).await;
    assert_eq!(
        sim.requests_matching("/servers/a%2Fb%3Fx/action"),
        1,
        "{body:#}"
    );
    assert!(
        sim.server_actions().is_empty(),
        "no server a/b?x: nothing applied"
    );
}

/// Bodies were parsed as JSON whatever they said they were.
#[actix_web::test]
async fn bodies_must_be_json_and_not_declared_too_large() {
    let (_sim, td) = two_backends().await;
    let http = client();
    let send = async |kind: &str| {
        let req = http
            .post(td.url(&polling_path(A)))
            .bearer_auth(TOKEN)
            .header("content-type", kind)
            .body(r#"{"enabled":true}"#);
        req.send().await.map(|r| r.status().as_u16())
    };
    assert_eq!(send("text/plain").await.unwrap(), 415);
    assert_eq!(send("application/json; charset=utf-8").await.unwrap(), 200);
    let raw = raw_post(&td, &polling_path(A), "").await;
    assert_eq!(raw, 400, "an empty body is not a JSON object");
}
