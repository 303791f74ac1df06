//! Tests of the FAgent Eureka parser: grouping, field mapping, per-application
//! failures and envelope errors.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

fn envelope(entries: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"success": true, "status_code": 200,
        "data": {"applications": entries}}))
    .unwrap()
}

fn ids(app: &AppSample) -> Vec<&str> {
    let list = app.instances.as_ref().unwrap();
    list.iter().map(|i| i.instance_id.as_str()).collect()
}

/// Two applications, the first listed again after the second.
fn interleaved() -> Vec<AppSample> {
    let body = envelope(json!([
        {"app_name": "ORDERS", "instance_id": "h1:orders:8080", "ip": "10.0.0.1",
         "port": "8080", "status": "UP", "metadata": {"zone": "a", "weight": 3},
         "health_check_url": "http://h1:8080/health", "home_page_url": "http://h1:8080/",
         "status_page_url": "http://h1:8080/info"},
        {"app_name": "BILLING", "instance_id": "h2:8081", "ip": "10.0.0.2", "port": 8081,
         "status": "DOWN", "host_name": "h2"},
        {"app_name": "ORDERS", "instance_id": "h3:orders:8080", "status": "OUT_OF_SERVICE",
         "hostName": "h3"},
    ]));
    parse_apps(&body).unwrap()
}

#[test]
fn instances_are_grouped_by_app_in_first_seen_order() {
    let apps = interleaved();
    let names: Vec<_> = apps.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["ORDERS", "BILLING"]);
    assert_eq!(ids(&apps[0]), ["h1:orders:8080", "h3:orders:8080"]);
    assert_eq!(ids(&apps[1]), ["h2:8081"]);
}

#[test]
fn agent_fields_map_to_instance_fields() {
    let apps = interleaved();
    let first = &apps[0].instances.as_ref().unwrap()[0];
    assert_eq!(first.app, "ORDERS");
    assert_eq!(
        (first.ip_addr.as_deref(), first.port),
        (Some("10.0.0.1"), Some(8080))
    );
    assert_eq!(
        (first.status.as_str(), first.host_name.as_ref()),
        ("UP", None)
    );
    assert_eq!(first.metadata.get("weight").map(String::as_str), Some("3"));
    assert_eq!(
        first.health_check_url.as_deref(),
        Some("http://h1:8080/health")
    );
    assert_eq!(first.home_page_url.as_deref(), Some("http://h1:8080/"));
    assert_eq!(
        first.status_page_url.as_deref(),
        Some("http://h1:8080/info")
    );
    let billing = &apps[1].instances.as_ref().unwrap()[0];
    assert_eq!(
        (billing.port, billing.host_name.as_deref()),
        (Some(8081), Some("h2"))
    );
    let third = &apps[0].instances.as_ref().unwrap()[1];
    let want = ("OUT_OF_SERVICE", Some("h3"));
    assert_eq!((third.status.as_str(), third.host_name.as_deref()), want);
}

#[test]
fn a_missing_instance_id_fails_only_its_application() {
    let body = envelope(json!([
        {"app_name": "A", "instance_id": "a1", "status": "UP"},
        {"app_name": "B", "instance_id": "b1", "status": "UP"},
        {"app_name": "A", "ip": "10.0.0.3", "status": "UP"},
        {"app_name": "A", "instance_id": "a3", "status": "UP"},
    ]));
    let apps = parse_apps(&body).unwrap();
    let err = apps[0].instances.clone().unwrap_err();
    assert!(
        err.contains("application A") && err.contains("instance #2"),
        "{err}"
    );
    assert!(err.contains("instance_id"), "{err}");
    assert_eq!(ids(&apps[1]), ["b1"]);
}

#[test]
fn odd_values_are_tolerated() {
    let body = envelope(json!([
        {"app_name": "A", "instance_id": "a1", "port": "not a port", "status": null,
         "metadata": {"@class": "java.util.Collections$EmptyMap", "x": null}},
        {"app_name": "A", "instance_id": "a2", "port": 70000, "status": ""},
        {"app_name": "", "instance_id": "lost"},
        {"instance_id": "lost too"},
        "not an entry",
        null,
    ]));
    let apps = parse_apps(&body).unwrap();
    assert_eq!(apps.len(), 1);
    let list = apps[0].instances.as_ref().unwrap();
    assert!(
        list.iter()
            .all(|i| i.port.is_none() && i.status == "UNKNOWN")
    );
    assert!(list[0].metadata.is_empty());
}

#[test]
fn empty_and_missing_lists() {
    assert_eq!(parse_apps(&envelope(json!([]))).unwrap(), Vec::new());
    assert_eq!(parse_apps(&envelope(Value::Null)).unwrap(), Vec::new());
    let err = parse_apps(br#"{"success":true,"data":{}}"#).unwrap_err();
    assert!(
        matches!(&err, AgentError::Malformed(m) if m.contains("data.applications")),
        "{err}"
    );
    let err = parse_apps(&envelope(json!({"A": []}))).unwrap_err();
    assert!(matches!(err, AgentError::Malformed(_)), "{err:?}");
}

#[test]
fn envelope_failures_and_unreadable_bodies() {
    let body = br#"{"success":false,"status_code":503,"error":"Eureka is unavailable"}"#;
    let want = AgentError::Envelope {
        status_code: Some(503),
        error: "Eureka is unavailable".to_string(),
    };
    assert_eq!(parse_apps(body).unwrap_err(), want);
    let err = parse_apps(b"Bad Gateway\n").unwrap_err();
    let AgentError::Malformed(msg) = err else {
        panic!("{err:?}")
    };
    assert!(msg.starts_with("agent answer is not JSON: "), "{msg}");
    assert!(msg.contains("\"Bad Gateway\""), "{msg}");
}

fn agentish_json() -> impl Strategy<Value = Value> {
    crate::testkit::json_with_keys(&[
        "success",
        "data",
        "error",
        "status_code",
        "applications",
        "app_name",
        "instance_id",
        "ip",
        "port",
        "status",
        "metadata",
        "host_name",
    ])
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_apps(&body);
    }

    #[test]
    fn arbitrary_agent_json_never_panics(v in agentish_json()) {
        let _ = parse_apps(&serde_json::to_vec(&v).unwrap());
        if let Ok(apps) = parse_apps(&envelope(v)) {
            let mut names: Vec<_> = apps.iter().map(|a| a.name.clone()).collect();
            names.sort();
            names.dedup();
            prop_assert_eq!(names.len(), apps.len(), "each application appears once");
            for inst in apps.iter().filter_map(|a| a.instances.as_ref().ok()).flatten() {
                prop_assert!(!inst.instance_id.is_empty());
            }
        }
    }
}
