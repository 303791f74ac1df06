//! Transactions of server changes on real HAProxy: invalid requests list every
//! problem and change nothing, `dry_run` answers the plan, draining one address
//! across three backends shows in HAProxy's own `show stat`, and a transaction
//! whose last step fails (its HAProxy is stopped) is rolled back so that every
//! server is as it was.

use serde_json::{Value, json};

use super::*;

async fn post_tx(td: &TestDaemon, body: Value) -> (u16, Value) {
    td.admin("/api/admin/transactions", &body.to_string()).await
}

fn outcomes(tx: &Value) -> Vec<&str> {
    let steps = tx["steps"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    steps
        .iter()
        .map(|s| s["outcome"].as_str().unwrap_or("?"))
        .collect()
}

#[actix_web::test]
async fn draining_an_address_across_three_backends_shows_in_haproxy() {
    let listeners = Listener::start_many(2).await;
    let (shared, own) = (listeners[0].port, listeners[1].port);
    let names = ["be_a", "be_b", "be_c"];
    let backends = names
        .iter()
        .map(|b| backend(b, &[("shared", shared), ("own", own)]))
        .collect();
    let ha = Haproxy::start(backends).await;
    let td = daemon(vec![source(&ha, "unix", Via::Unix, &names)]).await;
    for b in names {
        wait_all_up(&td, &id("unix", b), &["shared", "own"]).await;
    }
    let address = format!("127.0.0.1:{shared}");

    let bad = json!({"actions": [
        {"target": "haproxy/unix/nope", "server": "x", "state": "drain"},
        {"address": "10.9.9.9:1", "state": "sleep"},
        {"target": "haproxy/unix/be_a", "server": "ghost", "state": "maint"}]});
    let (status, body) = post_tx(&td, bad).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_transaction");
    assert_eq!(
        body["error"]["problems"].as_array().map(Vec::len),
        Some(4),
        "{body:#}"
    );

    let drain =
        json!({"actions": [{"address": address, "state": "drain"}], "comment": "deploy 4711"});
    let mut dry = drain.clone();
    dry["dry_run"] = true.into();
    let (status, plan) = post_tx(&td, dry).await;
    assert_eq!(status, 200, "{plan}");
    let targets: Vec<&str> = plan["plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        [
            "haproxy/unix/be_a",
            "haproxy/unix/be_b",
            "haproxy/unix/be_c"
        ]
    );
    for b in names {
        assert_eq!(
            ha.status(b, "shared").await.as_deref(),
            Some("UP"),
            "dry run changed {b}"
        );
    }

    let (status, done) = post_tx(&td, drain).await;
    assert_eq!(status, 200, "{done:#}");
    let tx = &done["transaction"];
    assert_eq!(tx["state"], "committed");
    assert_eq!(outcomes(tx), ["verified"; 3]);
    for b in names {
        assert_eq!(
            ha.status(b, "shared").await.as_deref(),
            Some("DRAIN"),
            "{b}"
        );
        assert_eq!(ha.status(b, "own").await.as_deref(), Some("UP"), "{b}");
    }
    let tx_id = tx["id"].as_str().unwrap();
    let (status, stored) = td.get(&format!("/api/transactions/{tx_id}")).await;
    assert_eq!((status, &stored["state"]), (200, &json!("committed")));
    assert_eq!(stored["comment"], "deploy 4711");
    let (_, latest) = td.get("/api/transactions?limit=1").await;
    assert_eq!(latest["transactions"][0]["id"], tx_id);
    let events = td.events(None).await;
    let actions = events
        .iter()
        .filter(|e| e["type"] == "server_admin_action" && e["data"]["transaction"] == tx_id)
        .count();
    assert_eq!(actions, 3);
    let target = format!("transaction/{tx_id}");
    let kinds: Vec<&str> = events
        .iter()
        .filter(|e| e["target"] == target.as_str())
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["transaction_started", "transaction_committed"]);
}

#[actix_web::test]
async fn a_failing_last_step_rolls_every_server_back() {
    let listeners = Listener::start_many(2).await;
    let servers = [("app1", listeners[0].port), ("app2", listeners[1].port)];
    let ha1 = Haproxy::start(vec![backend("be_app", &servers)]).await;
    let mut ha2 = Haproxy::start(vec![backend("be_app", &servers)]).await;
    let td = daemon(vec![
        source(&ha1, "one", Via::Unix, &["be_app"]),
        source(&ha2, "two", Via::Unix, &["be_app"]),
    ])
    .await;
    ha1.command("set server be_app/app2 state maint").await;
    wait_server(&td, &id("one", "be_app"), "app2", "maint").await;
    wait_all_up(&td, &id("one", "be_app"), &["app1"]).await;
    wait_all_up(&td, &id("two", "be_app"), &["app1", "app2"]).await;

    ha2.stop();
    let body = json!({"actions": [
        {"target": "haproxy/one/be_app", "server": "app1", "state": "drain"},
        {"target": "haproxy/one/be_app", "server": "app2", "state": "ready"},
        {"target": "haproxy/two/be_app", "server": "app1", "state": "maint"}],
        "verify_timeout": "2s"});
    let (status, answer) = post_tx(&td, body).await;
    assert_eq!(status, 409, "{answer:#}");
    assert_eq!(answer["error"]["code"], "rolled_back");
    let tx = &answer["transaction"];
    assert_eq!(tx["state"], "rolled_back");
    assert_eq!(
        outcomes(tx),
        ["rolled_back", "rolled_back", "failed"],
        "{tx:#}"
    );
    assert_eq!(tx["steps"][1]["previous"], "maint");
    assert_eq!(ha1.status("be_app", "app1").await.as_deref(), Some("UP"));
    assert_eq!(ha1.status("be_app", "app2").await.as_deref(), Some("MAINT"));
    let (_, stored) = td
        .get(&format!("/api/transactions/{}", tx["id"].as_str().unwrap()))
        .await;
    assert_eq!(stored["state"], "rolled_back");
}
