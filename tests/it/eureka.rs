//! Eureka targets against the simulated Eureka server and FAgent: a failed server
//! fails all its applications, a bad application fails alone, instance changes, and
//! the shapes of `/api/eureka/instances` and `/api/eureka/applications`.

use serde_json::{Value, json};
use watchpost::config::EurekaSourceKind::{Agent, Eureka};
use watchpost::sim::{AgentSim, EurekaSim, Fault, SimInstance};

use crate::common::*;

const MAIN: &str = "eureka/main";

/// The entries of `/api/eureka/{what}` (`applications` or `instances`) of `server`.
async fn listed(td: &TestDaemon, what: &str, server: &str) -> Vec<Value> {
    let (status, body) = td.get(&format!("/api/eureka/{what}")).await;
    assert_eq!(status, 200, "{body:#}");
    let list = body[what].as_array().cloned().unwrap_or_default();
    list.into_iter()
        .filter(|a| a["eureka_server"] == server)
        .collect()
}

/// The string `key` of every entry of `list`.
fn col<'a>(list: &'a [Value], key: &str) -> Vec<&'a str> {
    list.iter()
        .map(|v| v[key].as_str().unwrap_or("?"))
        .collect()
}

fn find<'a>(list: &'a [Value], key: &str, value: &str) -> &'a Value {
    let found = list.iter().find(|a| a[key] == value);
    found.unwrap_or_else(|| panic!("no {key} = {value} in {list:#?}"))
}

/// Two Eureka servers: `main` with FOO (2 instances) and BAR (1), `other` with BAZ.
async fn two_servers() -> (EurekaSim, EurekaSim, TestDaemon) {
    let mut registry = instances("foo", &["h1", "h2"]);
    registry.extend(instances("bar", &["h3"]));
    let main = EurekaSim::start(local(), registry).await.unwrap();
    let other = EurekaSim::start(local(), instances("baz", &["h4"]))
        .await
        .unwrap();
    let mut config = config();
    config.eureka.push(eureka("main", Eureka, &main.url()));
    config.eureka.push(eureka("other", Eureka, &other.url()));
    let td = start_daemon(config).await;
    td.wait_success(MAIN).await;
    td.wait_success("eureka/other").await;
    (main, other, td)
}

#[actix_web::test]
async fn an_unreachable_server_fails_all_its_applications_and_no_instance_is_down() {
    let (main, _other, td) = two_servers().await;
    main.stop().await;
    let t = td
        .wait_target(MAIN, "a failed fetch", |t| fetch_is(t, "failed"))
        .await;
    let error = t["last_fetch_error"].as_str().unwrap().to_string();
    let port = main.addr().port();
    let refused = format!("connection refused to eureka main (127.0.0.1:{port})");
    assert!(error.contains(&refused), "{error}");

    let apps = listed(&td, "applications", "main").await;
    let mut names = col(&apps, "name");
    names.sort();
    assert_eq!(names, ["BAR", "FOO"]);
    for a in &apps {
        assert_fields(
            a,
            json!({"last_fetch_status": "failed", "last_fetch_error": error}),
        );
        assert_eq!(a["instances"]["down"], 0, "{a:#}");
    }
    let list = listed(&td, "instances", "main").await;
    assert_eq!(list.len(), 3, "{list:#?}");
    for i in &list {
        let no_data = json!({"status": "no data", "state": "unknown", "last_known_status": "UP"});
        assert_fields(i, no_data);
        let failed = json!({"last_fetch_status": "failed", "last_fetch_error": error});
        assert_fields(&i["eureka_application"], failed);
    }
    let baz = listed(&td, "applications", "other").await;
    assert_fields(
        &baz[0],
        json!({"name": "BAZ", "last_fetch_status": "success"}),
    );
    let other = listed(&td, "instances", "other").await;
    assert_eq!(col(&other, "state"), ["up"]);
    let events = td.events(Some(MAIN)).await;
    assert!(
        !types(&events).contains(&"instance_state_changed"),
        "{events:#?}"
    );

    main.resume().await.unwrap();
    td.wait_success(MAIN).await;
    let apps = listed(&td, "applications", "main").await;
    assert_eq!(col(&apps, "last_fetch_status"), ["success", "success"]);
    let list = listed(&td, "instances", "main").await;
    assert_eq!(col(&list, "state"), ["up", "up", "up"]);
    let events = td.events(Some(MAIN)).await;
    assert_eq!(
        types_with(&events, "fetch_"),
        ["fetch_failed", "fetch_recovered"]
    );
}

#[actix_web::test]
async fn an_application_without_ids_fails_alone() {
    let (main, _other, td) = two_servers().await;
    main.set_app_without_ids("bar", true);
    let bar = wait_for("BAR to fail", async || {
        let apps = listed(&td, "applications", "main").await;
        let bar = find(&apps, "name", "BAR").clone();
        (bar["last_fetch_status"] == "failed").then_some(bar)
    })
    .await;
    let error = bar["last_fetch_error"].as_str().unwrap();
    assert!(
        error.contains("BAR") && error.contains("cannot be identified"),
        "{error}"
    );
    let apps = listed(&td, "applications", "main").await;
    let foo = find(&apps, "name", "FOO");
    assert_fields(
        foo,
        json!({"last_fetch_status": "success", "last_fetch_error": null}),
    );
    assert_eq!(foo["instances"]["up"], 2, "{foo:#}");
    let t = td.target(MAIN).await;
    assert_fields(
        &t,
        json!({"last_fetch_status": "success", "last_fetch_error": null}),
    );
    let list = listed(&td, "instances", "main").await;
    let kept = find(&list, "app", "BAR");
    assert_fields(kept, json!({"status": "no data", "state": "unknown"}));
    assert_eq!(kept["eureka_application"]["last_fetch_status"], "failed");
    let failed = td.wait_event(MAIN, "fetch_failed").await;
    assert_eq!(failed["data"]["application"], "BAR", "{failed:#}");
    let (code, health) = td.get("/api/health").await;
    assert_eq!(
        (code, &health["status"]),
        (200, &json!("degraded")),
        "{health:#}"
    );
    let app = json!([{"target": MAIN, "application": "BAR", "error": error}]);
    assert_eq!(health["failed_applications"], app, "{health:#}");

    main.set_app_without_ids("bar", false);
    let recovered = td.wait_event(MAIN, "fetch_recovered").await;
    assert_eq!(recovered["data"]["application"], "BAR", "{recovered:#}");
    let apps = listed(&td, "applications", "main").await;
    assert_eq!(col(&apps, "last_fetch_status"), ["success", "success"]);
    let events = td.events(Some(MAIN)).await;
    assert_eq!(
        types_with(&events, "fetch_"),
        ["fetch_failed", "fetch_recovered"]
    );
}

#[actix_web::test]
async fn instance_changes_removals_and_returns_are_reported() {
    let (main, _other, td) = two_servers().await;
    let (h1, h2) = ("h1:foo:8080", "h2:foo:8080");
    main.set_instance_status(h1, "DOWN");
    let changed = td.wait_event(MAIN, "instance_state_changed").await;
    let change = json!({"instance_id": h1, "from": "up", "to": "down", "status": "DOWN"});
    assert_fields(&changed["data"], change);
    let list = listed(&td, "instances", "main").await;
    assert_fields(
        find(&list, "instance_id", h1),
        json!({"status": "DOWN", "state": "down"}),
    );

    main.remove_instance(h2);
    let removed = td.wait_event(MAIN, "instance_removed").await;
    assert_eq!(removed["data"]["instance_id"], h2, "{removed:#}");
    let list = listed(&td, "instances", "main").await;
    let gone = find(&list, "instance_id", h2);
    assert!(
        gone["removed_at"].is_string(),
        "kept with removed_at: {gone:#}"
    );
    let apps = listed(&td, "applications", "main").await;
    let counts = json!({"total": 1, "up": 0, "down": 1, "removed": 1});
    assert_fields(&find(&apps, "name", "FOO")["instances"], counts);

    main.add_instance(SimInstance::up("foo", "h2", "10.1.0.1", 8080));
    let added = td.wait_event(MAIN, "instance_added").await;
    assert_eq!(added["data"]["instance_id"], h2, "{added:#}");
    let list = listed(&td, "instances", "main").await;
    let back = find(&list, "instance_id", h2);
    assert_fields(
        back,
        json!({"removed_at": null, "state": "up", "status": "UP"}),
    );
}

#[actix_web::test]
async fn eureka_through_the_agent_and_the_api_shapes() {
    let agent = AgentSim::start(local(), vec![], instances("foo", &["h1"]))
        .await
        .unwrap();
    let mut config = config();
    config.eureka.push(eureka("fdmz01", Agent, &agent.url()));
    let td = start_daemon(config).await;
    td.wait_success("eureka/fdmz01").await;

    let list = listed(&td, "instances", "fdmz01").await;
    assert_eq!(list.len(), 1, "{list:#?}");
    let i = &list[0];
    assert_keys(
        i,
        &[
            "host_name",
            "eureka_server",
            "removed_at",
            "eureka_application",
        ],
    );
    let app = &i["eureka_application"];
    assert_keys(
        app,
        &[
            "name",
            "last_fetch_status",
            "last_fetch_error",
            "last_fetch_at",
        ],
    );
    assert_fields(
        i,
        json!({
            "instance_id": "h1:foo:8080", "app": "FOO", "ip_addr": "10.1.0.1", "port": 8080,
            "status": "UP", "state": "up", "removed_at": null,
        }),
    );
    assert_fields(app, json!({"name": "FOO", "last_fetch_status": "success"}));

    let apps = listed(&td, "applications", "fdmz01").await;
    let foo = find(&apps, "name", "FOO");
    assert_keys(foo, &["last_fetch_error", "last_fetch_at"]);
    assert_fields(
        foo,
        json!({"last_fetch_status": "success", "instances": {
            "total": 1, "up": 1, "down": 0, "starting": 0, "out_of_service": 0,
            "unknown": 0, "removed": 0,
        }}),
    );

    let error = "Eureka registry unavailable".to_string();
    agent.set_eureka_fault(Some(Fault::Envelope {
        status_code: 500,
        error,
    }));
    let failed = |t: &Value| fetch_is(t, "failed");
    let t = td
        .wait_target("eureka/fdmz01", "a failed fetch", failed)
        .await;
    let error = t["last_fetch_error"].as_str().unwrap();
    assert!(error.contains("Eureka registry unavailable"), "{t:#}");
    let apps = listed(&td, "applications", "fdmz01").await;
    let foo = find(&apps, "name", "FOO");
    assert_fields(
        foo,
        json!({"last_fetch_status": "failed", "last_fetch_error": error}),
    );
}

/// The `servers` entry of `/api/eureka/{what}` named `name`.
async fn server_entry(td: &TestDaemon, what: &str, name: &str) -> (Vec<Value>, Value) {
    let (status, body) = td.get(&format!("/api/eureka/{what}")).await;
    assert_eq!(status, 200, "{body:#}");
    let servers = body["servers"].as_array().cloned().unwrap_or_default();
    let entry = find(&servers, "name", name).clone();
    (body[what].as_array().cloned().unwrap_or_default(), entry)
}

#[actix_web::test]
async fn an_empty_list_says_whether_the_server_could_be_read() {
    let never = EurekaSim::start(local(), instances("foo", &["h1"]))
        .await
        .unwrap();
    never.stop().await;
    let mut config = config();
    config.eureka.push(eureka("main", Eureka, &never.url()));
    let td = start_daemon(config).await;
    td.wait_target(MAIN, "a failed fetch", |t| fetch_is(t, "failed"))
        .await;
    for what in ["applications", "instances"] {
        let (list, server) = server_entry(&td, what, "main").await;
        assert_eq!(list, Vec::<Value>::new(), "nothing could be fetched");
        assert_fields(
            &server,
            json!({"target": MAIN, "last_fetch_status": "failed"}),
        );
        let error = server["last_fetch_error"].as_str().unwrap_or_default();
        assert!(error.contains("connection refused"), "{server:#}");
        assert!(server["last_fetch_at"].is_string(), "{server:#}");
    }
    never.resume().await.unwrap();
    td.wait_success(MAIN).await;
    for what in ["applications", "instances"] {
        let (list, server) = server_entry(&td, what, "main").await;
        assert_eq!(list.len(), 1, "{list:#?}");
        let ok = json!({"last_fetch_status": "success", "last_fetch_error": null});
        assert_fields(&server, ok);
    }
}
