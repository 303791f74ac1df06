//! The OpenAPI description as served, and the answers it promises for methods a
//! path does not take.

use crate::common::*;

#[actix_web::test]
async fn the_served_description_is_the_committed_one() {
    let (_sim, td) = agent_daemon(&["a"], fast_policy()).await;
    let (status, served) = td.get("/api/openapi.json").await;
    assert_eq!(status, 200);
    let committed = std::fs::read_to_string("docs/openapi.json").expect("docs/openapi.json");
    let committed: serde_json::Value = serde_json::from_str(&committed).unwrap();
    assert_eq!(served, committed);
    assert_eq!(served["openapi"], "3.1.0");
}

#[actix_web::test]
async fn a_method_a_path_does_not_take_answers_405_with_allow() {
    let (_sim, td) = agent_daemon(&["a"], fast_policy()).await;
    let reset = format!(
        "/api/admin/targets/{}/reset-circuit",
        enc("haproxy/fdmz01/a")
    );
    for (method, path, allow) in [
        (reqwest::Method::GET, reset.as_str(), "POST"),
        (reqwest::Method::DELETE, "/api/health", "GET"),
        (reqwest::Method::PUT, "/api/targets/haproxy/fdmz01/a", "GET"),
    ] {
        let resp = client()
            .request(method.clone(), td.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 405, "{method} {path}");
        assert_eq!(resp.headers()["allow"], allow, "{method} {path}");
        let text = resp.text().await.unwrap();
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["error"]["code"], "method_not_allowed");
    }
    let (status, body) = td.get("/api/nope").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
}

/// Real answers of the daemon hold against the schemas of the served description:
/// those built from the answer types themselves and the ones written beside them
/// (the admin answers, the silence body).
#[actix_web::test]
async fn real_answers_match_their_described_schemas() {
    let (_sim, td) = agent_daemon(&["a"], fast_policy()).await;
    let (_, doc) = td.get("/api/openapi.json").await;
    let a = enc("haproxy/fdmz01/a");
    let silence = std::fs::read_to_string("tests/fixtures/admin/silence_duration.json").unwrap();
    let tx = r#"{"actions":[{"target":"haproxy/fdmz01/a","server":"app1","state":"drain"}],"dry_run":true}"#;
    let calls: Vec<(&str, String, &str, String, &[u16])> = vec![
        ("get", "/healthz".into(), "/healthz", String::new(), &[200]),
        (
            "get",
            "/api/health".into(),
            "/api/health",
            String::new(),
            &[200],
        ),
        (
            "get",
            "/api/notifiers".into(),
            "/api/notifiers",
            String::new(),
            &[200],
        ),
        (
            "get",
            "/api/haproxy/instances".into(),
            "/api/haproxy/instances",
            String::new(),
            &[200],
        ),
        (
            "get",
            format!("/api/history?target={a}"),
            "/api/history",
            String::new(),
            &[200],
        ),
        (
            "post",
            format!("/api/admin/targets/{a}/reset-circuit"),
            "/api/admin/targets/{id}/reset-circuit",
            String::new(),
            &[200],
        ),
        (
            "post",
            format!("/api/admin/targets/{a}/recover"),
            "/api/admin/targets/{id}/recover",
            String::new(),
            &[200],
        ),
        (
            "post",
            format!("/api/admin/targets/{a}/polling"),
            "/api/admin/targets/{id}/polling",
            r#"{"enabled":true}"#.into(),
            &[200],
        ),
        (
            "post",
            format!("/api/admin/targets/{a}/servers/app1/state"),
            "/api/admin/targets/{id}/servers/{server}/state",
            r#"{"state":"ready"}"#.into(),
            &[200],
        ),
        (
            "post",
            "/api/admin/silences".into(),
            "/api/admin/silences",
            silence,
            &[201],
        ),
        (
            "post",
            "/api/admin/silences".into(),
            "/api/admin/silences",
            "{}".into(),
            &[400],
        ),
        (
            "post",
            "/api/admin/transactions".into(),
            "/api/admin/transactions",
            tx.into(),
            &[200, 400],
        ),
        (
            "post",
            "/api/admin/transactions".into(),
            "/api/admin/transactions",
            r#"{"actions":[{"address":"10.9.9.9:1","state":"sleep"}]}"#.into(),
            &[400],
        ),
    ];
    for (method, path, template, body, expected) in calls {
        let (status, answer) = match method {
            "get" => td.get(&path).await,
            _ => td.admin(&path, &body).await,
        };
        assert!(
            expected.contains(&status),
            "{method} {path}: {status} {answer:#}"
        );
        let schema = &doc["paths"][template][method]["responses"][status.to_string()]["content"]["application/json"]
            ["schema"];
        assert!(
            schema.is_object(),
            "{method} {template} {status} is not described"
        );
        let wrong = crate::schema::violations(&doc, schema, &answer);
        assert!(
            wrong.is_empty(),
            "{method} {path} {status}: {wrong:#?}\n{answer:#}"
        );
    }
    // The check itself finds a body that does not fit.
    let health = &doc["paths"]["/api/health"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"];
    let broken = serde_json::json!({"status": "fine", "targets": []});
    assert!(!crate::schema::violations(&doc, health, &broken).is_empty());
}
