//! Silences and maintenance windows through the admin API.

use std::time::Duration;

use serde_json::{Value, json};
use watchpost::alerts::Rule;

use super::{alerts, of, set_server, wait_alert, with_hold};
use crate::common::{TOKEN, agent_daemon_in, client, config, fast_policy, wait_for};

#[actix_web::test]
async fn a_matching_silence_marks_the_alert_and_ends_on_delete() {
    let c = with_hold(config(), Rule::ServerDown, Duration::ZERO);
    let (sim, td) = agent_daemon_in(c, &["jurws"], fast_policy()).await;
    set_server(&sim, &td, "jurws", "app2", "DOWN").await;
    let a = wait_alert(&td, "server_down", "firing").await;
    assert_eq!(a["silenced_by"], json!([]));
    let body = json!({"matchers": {"target": "haproxy/fdmz01/*", "server": "app2"},
                      "duration": "2h", "comment": "replacing a disk", "created_by": "ops"});
    let (status, s) = td.admin("/api/admin/silences", &body.to_string()).await;
    assert_eq!(status, 201, "{s}");
    let id = s["id"].clone();
    let a = wait_alert(&td, "server_down", "firing").await;
    assert_eq!(a["silenced_by"], json!([id]));
    let listed = td.get("/api/silences").await.1;
    assert_eq!(listed["silences"][0]["state"], "active", "{listed}");
    let url = td.url(&format!("/api/admin/silences/{}", id.as_str().unwrap()));
    let r = client()
        .delete(&url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let a = wait_alert(&td, "server_down", "firing").await;
    assert_eq!(a["silenced_by"], json!([]));
    let events = td.events(None).await;
    let types: Vec<&Value> = events.iter().map(|e| &e["type"]).collect();
    let silence_events: Vec<&&Value> = types
        .iter()
        .filter(|t| t.as_str().unwrap().starts_with("silence_"))
        .collect();
    assert_eq!(
        silence_events,
        vec![&&json!("silence_created"), &&json!("silence_ended")]
    );
    let r = client().delete(&url).send().await.unwrap();
    assert_eq!(r.status(), 401, "admin auth as for every admin call");
}

#[actix_web::test]
async fn a_maintenance_window_takes_effect_at_its_start() {
    let c = with_hold(config(), Rule::ServerDown, Duration::ZERO);
    let (sim, td) = agent_daemon_in(c, &["jurws"], fast_policy()).await;
    set_server(&sim, &td, "jurws", "app1", "DOWN").await;
    wait_alert(&td, "server_down", "firing").await;
    let start = std::time::SystemTime::now() + Duration::from_secs(3);
    let body = json!({"matchers": {"rule": "server_down"},
                      "starts_at": humantime::format_rfc3339_millis(start).to_string(),
                      "duration": "1h", "comment": "window", "created_by": "ops"});
    let (status, s) = td.admin("/api/admin/silences", &body.to_string()).await;
    assert_eq!(status, 201, "{s}");
    assert_eq!(s["state"], "pending");
    let before = of(&alerts(&td).await, "server_down", "firing");
    let silences = td.get("/api/silences").await.1;
    if silences["silences"][0]["state"] == "pending" {
        assert_eq!(before[0]["silenced_by"], json!([]), "before its start");
    }
    wait_for("the window to silence the alert", async || {
        let list = of(&alerts(&td).await, "server_down", "firing");
        (list[0]["silenced_by"] == json!([s["id"].clone()])).then_some(())
    })
    .await;
}

#[actix_web::test]
async fn a_bad_silence_gets_400_with_every_problem() {
    let (_sim, td) = agent_daemon_in(config(), &["jurws"], fast_policy()).await;
    let body = json!({"matchers": {"colour": "red"}, "duration": "soon"});
    let (status, e) = td.admin("/api/admin/silences", &body.to_string()).await;
    assert_eq!(status, 400, "{e}");
    let problems = e["error"]["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 4, "{e}");
    let (status, _) = td
        .post("/api/admin/silences", None, &body.to_string())
        .await;
    assert_eq!(status, 401);
}
