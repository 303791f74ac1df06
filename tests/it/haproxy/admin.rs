//! `POST /api/admin/targets/{id}/servers/{server}/state` against a real HAProxy:
//! through the Runtime API (unix socket and tcp://) the change shows in HAProxy's own
//! `show stat` and in our API, with a `server_admin_action` event; `ready` undoes
//! it; the stats page source answers 409 and changes nothing.

use serde_json::{Value, json};

use super::*;
use crate::common::{TestDaemon, assert_fields, enc};

fn state_path(id: &str, server: &str) -> String {
    format!("/api/admin/targets/{}/servers/{server}/state", enc(id))
}

/// Asks target `id` to put `server` in `state`; expects 200 and a successful poll,
/// after which our API already shows `want` (the answer follows a poll).
async fn set_state(td: &TestDaemon, id: &str, server: &str, state: &str, want: &str) {
    let body = format!(r#"{{"state":"{state}"}}"#);
    let (status, answer) = td.admin(&state_path(id, server), &body).await;
    assert_eq!(status, 200, "{id}: {state} {server}: {answer:#}");
    let action = json!({"server": server, "state": state, "via": "runtime_api", "ok": true});
    assert_fields(&answer["action"], action);
    assert_eq!(answer["poll"]["result"], "success", "{answer:#}");
    let now = super::server(&td.backend(id).await, server);
    assert_eq!(now["state"], want, "{id}: right after the answer: {now:#}");
}

/// The `data` of every `server_admin_action` event of `id`.
async fn admin_actions(td: &TestDaemon, id: &str) -> Vec<Value> {
    let events = td.events(Some(id)).await;
    let actions = events.iter().filter(|e| e["type"] == "server_admin_action");
    actions.map(|e| e["data"].clone()).collect()
}

#[actix_web::test]
async fn drain_and_maint_through_the_runtime_api_reach_haproxy_and_come_back() {
    let listeners = Listener::start_many(2).await;
    let servers = [("app1", listeners[0].port), ("app2", listeners[1].port)];
    let ha = Haproxy::start(vec![backend("be_app", &servers)]).await;
    ha.wait_status("be_app", "app1", "UP").await;
    ha.wait_status("be_app", "app2", "UP").await;
    let td = daemon(every_source(&ha, &["be_app"])).await;
    let (web, unix, tcp) = (
        id("web", "be_app"),
        id("unix", "be_app"),
        id("tcp", "be_app"),
    );
    for id in [&web, &unix, &tcp] {
        wait_all_up(&td, id, &["app1", "app2"]).await;
    }

    set_state(&td, &unix, "app1", "drain", "drain").await;
    assert_eq!(ha.status("be_app", "app1").await.as_deref(), Some("DRAIN"));
    set_state(&td, &tcp, "app2", "maint", "maint").await;
    assert_eq!(ha.status("be_app", "app2").await.as_deref(), Some("MAINT"));
    for id in [&web, &unix, &tcp] {
        let app1 = wait_server(&td, id, "app1", "drain").await;
        assert_eq!(app1["status"], "DRAIN", "{id}: {app1:#}");
        let app2 = wait_server(&td, id, "app2", "maint").await;
        assert_eq!(app2["status"], "MAINT", "{id}: {app2:#}");
    }

    let (status, answer) = td
        .admin(&state_path(&web, "app1"), r#"{"state":"ready"}"#)
        .await;
    assert_eq!(
        status, 409,
        "the stats page cannot change state: {answer:#}"
    );
    assert_eq!(
        answer["error"]["code"], "not_supported_by_source",
        "{answer:#}"
    );
    assert_eq!(ha.status("be_app", "app1").await.as_deref(), Some("DRAIN"));
    assert!(
        admin_actions(&td, &web).await.is_empty(),
        "no action through the stats page"
    );

    let (status, answer) = td
        .admin(&state_path(&unix, "nope"), r#"{"state":"drain"}"#)
        .await;
    assert_eq!(status, 404, "HAProxy has no server `nope`: {answer:#}");

    set_state(&td, &unix, "app1", "ready", "up").await;
    set_state(&td, &tcp, "app2", "ready", "up").await;
    ha.wait_status("be_app", "app1", "UP").await;
    ha.wait_status("be_app", "app2", "UP").await;
    for id in [&web, &unix, &tcp] {
        wait_all_up(&td, id, &["app1", "app2"]).await;
        wait_transitions(&td, id, "app1", &[("up", "drain"), ("drain", "up")]).await;
        wait_transitions(&td, id, "app2", &[("up", "maint"), ("maint", "up")]).await;
    }
    let done = |a: &Value| (a["server"].clone(), a["state"].clone(), a["ok"].clone());
    let unix_actions: Vec<_> = admin_actions(&td, &unix).await.iter().map(done).collect();
    let want = [
        ("app1", "drain", true),
        ("nope", "drain", false),
        ("app1", "ready", true),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(s, st, ok)| ((*s).into(), (*st).into(), (*ok).into()))
        .collect();
    assert_eq!(unix_actions, want, "server_admin_action events of {unix}");
    assert_eq!(
        admin_actions(&td, &tcp).await.len(),
        2,
        "maint and ready through tcp://"
    );
}
