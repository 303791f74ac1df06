//! A server whose listener stops is marked DOWN by HAProxy's own health checks; the
//! daemon reports it `down` with one `server_state_changed` event (up → down) through
//! every source, and `up` again, with one more event, when the listener returns.

use serde_json::json;

use super::*;
use crate::common::assert_fields;

#[actix_web::test]
async fn a_server_marked_down_by_haproxy_checks_is_down_then_up_again() {
    let mut listeners = Listener::start_many(2).await;
    let servers = [("app1", listeners[0].port), ("app2", listeners[1].port)];
    let ha = Haproxy::start(vec![backend("be_app", &servers)]).await;
    ha.wait_status("be_app", "app1", "UP").await;
    let td = daemon(every_source(&ha, &["be_app"])).await;
    for (_, group) in Via::ALL {
        wait_all_up(&td, &id(group, "be_app"), &["app1", "app2"]).await;
    }

    listeners[0].stop().await;
    ha.wait_status("be_app", "app1", "DOWN").await;
    for (_, group) in Via::ALL {
        let id = id(group, "be_app");
        let app1 = wait_server(&td, &id, "app1", "down").await;
        assert_fields(
            &app1,
            json!({"status": "DOWN", "last_known_status": "DOWN"}),
        );
        let check = app1["check_status"].as_str().unwrap_or_default();
        assert!(
            check.ends_with("L4CON"),
            "{id}: connection refused: {app1:#}"
        );
        wait_transitions(&td, &id, "app1", &[("up", "down")]).await;
        let b = td.backend(&id).await;
        assert_eq!(b["last_fetch_status"], "success", "{id}: {b:#}");
        assert_eq!(server(&b, "app2")["state"], "up", "{id}: {b:#}");
    }

    listeners[0].resume().await;
    ha.wait_status("be_app", "app1", "UP").await;
    for (_, group) in Via::ALL {
        let id = id(group, "be_app");
        let app1 = wait_server(&td, &id, "app1", "up").await;
        assert_eq!(app1["status"], "UP", "{id}: {app1:#}");
        wait_transitions(&td, &id, "app1", &[("up", "down"), ("down", "up")]).await;
        assert!(
            transitions(&td, &id, "app2").await.is_empty(),
            "{id}: app2 never changed"
        );
    }
}
