//! The simulated FAgent: endpoint shapes, control methods and faults.

use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::sim::{AgentSim, Fault, SimBackend};

async fn agent() -> AgentSim {
    AgentSim::start(local(), backends(), instances())
        .await
        .unwrap()
}

fn keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[actix_web::test]
async fn backends_answer_with_and_without_the_instance_segment() {
    let sim = agent().await;
    for path in [
        "/api/v1/haproxy/backends",
        "/api/v1/haproxy/default/backends",
    ] {
        let (status, body) = get_json(&format!("{}{path}", sim.url())).await;
        assert_eq!(status, 200);
        assert_eq!(body["success"], true);
        assert_eq!(body["status_code"], 200);
        let want = json!({"instance": "default", "backends": ["web", "api"], "count": 2});
        assert_eq!(body["data"], want);
    }
    let (status, body) = get_json(&format!("{}/api/v1/haproxy/prod/backends", sim.url())).await;
    assert_eq!(status, 404);
    assert_eq!(body["success"], false);
    assert_eq!(body["status_code"], 404);
}

#[actix_web::test]
async fn servers_are_rows_of_strings() {
    let sim = agent().await;
    let url = format!("{}/api/v1/haproxy/default/backends/web/servers", sim.url());
    let (status, body) = get_json(&url).await;
    assert_eq!(status, 200);
    assert_eq!(keys(&body), ["data", "status_code", "success"]);
    assert_eq!(
        keys(&body["data"]),
        ["backend", "count", "instance", "servers"]
    );
    assert_eq!(body["data"]["backend"], "web");
    let servers = body["data"]["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 2);
    let want = [
        "addr",
        "check_duration",
        "check_status",
        "cookie",
        "downtime",
        "last_chg",
        "name",
        "status",
        "weight",
    ];
    for server in servers {
        assert_eq!(keys(server), want);
        assert!(server.as_object().unwrap().values().all(Value::is_string));
    }
    let first = &servers[0];
    assert_eq!(
        (&first["name"], &first["status"]),
        (&json!("app1"), &json!("UP"))
    );
    assert_eq!(
        (&first["check_status"], &first["addr"]),
        (&json!("L7OK"), &json!("10.0.0.1:8080"))
    );
}

#[actix_web::test]
async fn unknown_backend_is_a_404_envelope() {
    let sim = agent().await;
    let url = format!("{}/api/v1/haproxy/backends/x/servers", sim.url());
    let (status, body) = get_json(&url).await;
    assert_eq!(status, 404);
    let want = json!({"success": false, "status_code": 404, "error": "Backend 'x' not found"});
    assert_eq!(body, want);
}

#[actix_web::test]
async fn status_changes_show_in_the_next_answer() {
    let sim = agent().await;
    sim.set_server_status("web", "app2", "DOWN");
    sim.add_backend(SimBackend {
        name: "new".to_string(),
        servers: vec![SimServer::up("n1", "10.0.0.9:80")],
    });
    sim.remove_backend("api");
    let url = format!("{}/api/v1/haproxy/backends/web/servers", sim.url());
    let (_, body) = get_json(&url).await;
    let app2 = &body["data"]["servers"][1];
    assert_eq!(
        (&app2["status"], &app2["check_status"]),
        (&json!("DOWN"), &json!("L4CON"))
    );
    assert_eq!(app2["last_chg"], "0");
    let (_, body) = get_json(&format!("{}/api/v1/haproxy/backends", sim.url())).await;
    assert_eq!(body["data"]["backends"], json!(["web", "new"]));
}

async fn post_action(sim: &AgentSim, path: &str, body: &str) -> (u16, Value) {
    let url = format!("{}/api/v1/haproxy{path}/action", sim.url());
    let request = client()
        .post(url)
        .header("content-type", "application/json");
    let response = request.body(body.to_string()).send().await.unwrap();
    let status = response.status().as_u16();
    (
        status,
        serde_json::from_str(&response.text().await.unwrap()).unwrap(),
    )
}

#[actix_web::test]
async fn actions_change_the_server_and_are_recorded() {
    let sim = agent().await;
    let (status, body) =
        post_action(&sim, "/backends/web/servers/app1", r#"{"action":"drain"}"#).await;
    assert_eq!(status, 200);
    assert_eq!(body["success"], true);
    assert_eq!(body["data"]["status"], "completed");
    assert_eq!(sim.server("web", "app1").unwrap().status, "DRAIN");
    let path = "/default/backends/web/servers/app2";
    post_action(&sim, path, r#"{"action":"maint"}"#).await;
    assert_eq!(sim.server("web", "app2").unwrap().status, "MAINT");
    post_action(&sim, path, r#"{"action":"ready"}"#).await;
    assert_eq!(sim.server("web", "app2").unwrap().status, "UP");
    let action = |s: &str, a: &str| ("web".to_string(), s.to_string(), a.to_string());
    let want = vec![
        action("app1", "drain"),
        action("app2", "maint"),
        action("app2", "ready"),
    ];
    assert_eq!(sim.server_actions(), want);
}

#[actix_web::test]
async fn bad_actions_are_refused() {
    let sim = agent().await;
    let (status, body) = post_action(&sim, "/backends/web/servers/app1", r#"{"action":"x"}"#).await;
    assert_eq!((status, &body["status_code"]), (400, &json!(400)));
    let (status, _) = post_action(&sim, "/backends/web/servers/app1", "not json").await;
    assert_eq!(status, 400);
    let (status, body) =
        post_action(&sim, "/backends/web/servers/zz", r#"{"action":"drain"}"#).await;
    assert_eq!((status, &body["success"]), (404, &json!(false)));
    assert!(sim.server_actions().is_empty());
}

#[actix_web::test]
async fn eureka_part_is_a_flat_list() {
    let sim = agent().await;
    sim.set_instance_status("foo-2.local:foo:8080", "DOWN");
    let (status, body) = get_json(&format!("{}/api/v1/eureka/apps", sim.url())).await;
    assert_eq!(status, 200);
    assert_eq!(body["success"], true);
    let apps = body["data"]["applications"].as_array().unwrap();
    assert_eq!(apps.len(), 3);
    let want = [
        "app_name",
        "health_check_url",
        "home_page_url",
        "instance_id",
        "ip",
        "metadata",
        "port",
        "status",
        "status_page_url",
    ];
    assert_eq!(keys(&apps[0]), want);
    assert_eq!(apps[0]["app_name"], "FOO");
    assert_eq!(apps[0]["instance_id"], "foo-1.local:foo:8080");
    assert_eq!(apps[1]["status"], "DOWN");
    assert_eq!(apps[2]["port"], 9090);
}

#[actix_web::test]
async fn backend_fault_hits_only_that_backend() {
    let sim = agent().await;
    sim.set_backend_fault("web", Some(Fault::Status(503)));
    let (status, _, body) = get_text(
        &format!("{}/api/v1/haproxy/backends/web/servers", sim.url()),
        None,
    )
    .await;
    assert_eq!((status, body.as_str()), (503, "503 Service Unavailable"));
    let (status, _) = get_json(&format!(
        "{}/api/v1/haproxy/backends/api/servers",
        sim.url()
    ))
    .await;
    assert_eq!(status, 200);
    let error = "HAProxy command failed".to_string();
    sim.set_backend_fault(
        "web",
        Some(Fault::Envelope {
            status_code: 502,
            error,
        }),
    );
    let (status, body) = get_json(&format!(
        "{}/api/v1/haproxy/backends/web/servers",
        sim.url()
    ))
    .await;
    let want = json!({"success": false, "status_code": 502, "error": "HAProxy command failed"});
    assert_eq!((status, body), (200, want));
    sim.set_backend_fault("web", None);
    let (status, _) = get_json(&format!(
        "{}/api/v1/haproxy/backends/web/servers",
        sim.url()
    ))
    .await;
    assert_eq!(status, 200);
}

#[actix_web::test]
async fn garbage_and_global_faults() {
    let sim = agent().await;
    sim.set_eureka_fault(Some(Fault::Garbage));
    let (status, content_type, body) =
        get_text(&format!("{}/api/v1/eureka/apps", sim.url()), None).await;
    assert_eq!((status, content_type.as_str()), (200, "text/html"));
    assert!(serde_json::from_str::<Value>(&body).is_err());
    let (status, _) = get_json(&format!("{}/api/v1/haproxy/backends", sim.url())).await;
    assert_eq!(status, 200);
    sim.set_eureka_fault(None);
    sim.set_fault(Some(Fault::Status(500)));
    for path in [
        "/api/v1/haproxy/backends",
        "/api/v1/eureka/apps",
        "/api/v1/haproxy/instances",
    ] {
        let (status, _, _) = get_text(&format!("{}{path}", sim.url()), None).await;
        assert_eq!(status, 500, "{path}");
    }
}

#[actix_web::test]
async fn hang_times_out_and_answers_once_cleared() {
    let sim = agent().await;
    sim.set_backend_fault("web", Some(Fault::Hang));
    let url = format!("{}/api/v1/haproxy/backends/web/servers", sim.url());
    let quick = client_with_timeout(Duration::from_millis(300));
    let error = quick.get(&url).send().await.unwrap_err();
    assert!(error.is_timeout(), "{error}");
    let before = sim.requests_matching("/web/");
    let pending = background(client().get(url).send());
    until("the request to hang", || {
        sim.requests_matching("/web/") > before
    })
    .await;
    sim.set_backend_fault("web", None);
    let response = pending.await.unwrap().unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[actix_web::test]
async fn requests_are_counted_by_path() {
    let sim = agent().await;
    assert_eq!(sim.requests(), 0);
    get_json(&format!("{}/api/v1/haproxy/backends", sim.url())).await;
    get_json(&format!(
        "{}/api/v1/haproxy/backends/web/servers",
        sim.url()
    ))
    .await;
    get_json(&format!(
        "{}/api/v1/haproxy/default/backends/web/servers",
        sim.url()
    ))
    .await;
    get_json(&format!("{}/api/v1/haproxy/backends/x/servers", sim.url())).await;
    assert_eq!(sim.requests(), 4);
    assert_eq!(sim.requests_matching("/web/servers"), 2);
    assert_eq!(sim.requests_matching("/servers"), 3);
    assert_eq!(sim.requests_matching("/eureka/"), 0);
}
