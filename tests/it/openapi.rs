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
