//! Edge cases of the Eureka JSON parser (identity failures, odd values, unusable
//! documents), the reconciliation hashcode vectors, and property tests.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::tests::{apps, row, summary, wrap_instances};
use super::*;
use crate::model::InstanceSample;

#[test]
fn an_unidentifiable_instance_fails_only_its_application() {
    let body = r#"{"applications":{"application":[
        {"name":"GOOD","instance":{"instanceId":"g1","status":"UP"}},
        {"name":"BAD","instance":[{"instanceId":"b1"},{"status":"UP","ipAddr":"10.0.0.9"}]}]}}"#;
    let got = parse_apps(body.as_bytes()).unwrap();
    assert_eq!(got[0].instances.as_ref().unwrap()[0].instance_id, "g1");
    assert_eq!(got[1].name, "BAD");
    let err = got[1].instances.clone().unwrap_err();
    assert!(
        err.contains("application BAD") && err.contains("instance #2"),
        "{err}"
    );
}

#[test]
fn odd_field_values_are_tolerated() {
    let inst = r#"[{"instanceId":" i1 ","status":null,"port":{"$":"abc"},"app":null,
        "hostName":null,"metadata":{"a":1,"b":true,"c":null,"d":"","e":[1],"@class":"x"}},
        {"instanceId":"i2","status":"","port":8081},{"instanceId":"i3","port":{"$":70000}},
        {"instanceId":"i4","port":{"@enabled":"false"}},{"instanceId":"i5","port":{"$":-1}},
        null]"#;
    let got = apps(&wrap_instances("APP", inst)).pop().unwrap().1;
    assert_eq!(got.len(), 5);
    assert_eq!(
        (got[0].instance_id.as_str(), got[0].app.as_str()),
        ("i1", "APP")
    );
    assert_eq!(
        (got[0].status.as_str(), got[0].port, &got[0].host_name),
        ("UNKNOWN", None, &None)
    );
    let meta: Vec<_> = got[0]
        .metadata
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    assert_eq!(meta, ["a=1", "b=true", "d=", "e=[1]"]);
    assert_eq!(
        (got[1].status.as_str(), got[1].port),
        ("UNKNOWN", Some(8081))
    );
    assert!(got[2..].iter().all(|i| i.port.is_none()));
}

#[test]
fn header_fields_of_any_type_are_ignored() {
    let body = r#"{"applications":{"versions__delta":[1],"apps__hashcode":5,
        "application":{"name":"A","instance":{"instanceId":"a1","status":"UP"}}}}"#;
    assert_eq!(summary(body), [row("a1", "A", "UP", None)]);
    assert_eq!(apps_hashcode(body.as_bytes()).as_deref(), Some("5"));
}

#[test]
fn an_application_without_a_name_takes_its_instances_app() {
    let body = r#"{"application":{"instance":{"instanceId":"x1","app":"XAPP"}}}"#;
    assert_eq!(apps(body)[0].0, "XAPP");
    let err = parse_apps(br#"{"application":[{"name":"A"},{"instance":[]}]}"#).unwrap_err();
    assert!(err.contains("application #2 has no name"), "{err}");
}

#[test]
fn unusable_documents_are_errors() {
    let cases = [
        ("[]", "not a JSON object"),
        ("\"x\"", "not a JSON object"),
        ("{}", "it is an empty object"),
        (
            r#"{"apps":1}"#,
            "neither \"applications\" nor \"application\"",
        ),
        (
            r#"{"applications":"x"}"#,
            "\"applications\" is not a JSON object",
        ),
        (r#"{"application":"x"}"#, "neither an object nor a list"),
        (
            r#"{"application":[1]}"#,
            "application #1 is not a JSON object",
        ),
        (
            "<applications/>",
            "not valid JSON: expected value at line 1 column 1",
        ),
    ];
    for (body, want) in cases {
        let err = parse_apps(body.as_bytes()).unwrap_err();
        assert!(err.contains(want), "{body}: {err}");
    }
    let body = wrap_instances("A", "[1]");
    let got = parse_apps(body.as_bytes()).unwrap();
    assert!(
        got[0]
            .instances
            .clone()
            .unwrap_err()
            .contains("instance #1 is not an object")
    );
}

fn sample(statuses: &[&str]) -> AppSample {
    let instances = statuses
        .iter()
        .enumerate()
        .map(|(i, s)| InstanceSample {
            instance_id: i.to_string(),
            status: s.to_string(),
            ..Default::default()
        })
        .collect();
    AppSample {
        name: "A".into(),
        instances: Ok(instances),
    }
}

#[test]
fn reconcile_hashcode_vectors() {
    assert_eq!(reconcile_hashcode(&[]), "");
    assert_eq!(reconcile_hashcode(&[sample(&[])]), "");
    assert_eq!(reconcile_hashcode(&[sample(&["UP"])]), "UP_1_");
    let mixed = [
        sample(&["UP", "DOWN", "STARTING"]),
        sample(&["OUT_OF_SERVICE", "DOWN"]),
    ];
    assert_eq!(
        reconcile_hashcode(&mixed),
        "DOWN_2_OUT_OF_SERVICE_1_STARTING_1_UP_1_"
    );
    assert_eq!(
        reconcile_hashcode(&[sample(&["up", "weird", "UNKNOWN"])]),
        "UNKNOWN_2_UP_1_"
    );
    let failed = AppSample {
        name: "B".into(),
        instances: Err("x".into()),
    };
    assert_eq!(reconcile_hashcode(&[sample(&["UP"; 24]), failed]), "UP_24_");
}

/// JSON values built from the keys Eureka documents use, nested a few levels.
fn eurekaish_json() -> impl Strategy<Value = Value> {
    crate::testkit::json_with_keys(&[
        "applications",
        "application",
        "instance",
        "name",
        "instanceId",
        "hostName",
        "app",
        "status",
        "port",
        "$",
        "metadata",
        "@class",
        "dataCenterInfo",
        "instance-id",
        "apps__hashcode",
    ])
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_apps(&body);
        let _ = apps_hashcode(&body);
    }

    #[test]
    fn arbitrary_eureka_json_never_panics(v in eurekaish_json()) {
        let docs = [
            v.clone(),
            json!({"applications": {"application": v.clone()}}),
            json!({"application": [{"name": "A", "instance": v.clone()}]}),
            json!({"application": {"name": "A", "instance": [{"instanceId": "i", "x": v}]}}),
        ];
        for doc in docs {
            let body = serde_json::to_vec(&doc).unwrap();
            if let Ok(apps) = parse_apps(&body) {
                let _ = reconcile_hashcode(&apps);
                for app in &apps {
                    prop_assert!(!app.name.is_empty());
                    for inst in app.instances.iter().flatten() {
                        prop_assert!(!inst.instance_id.is_empty() && !inst.status.is_empty());
                    }
                }
            }
        }
    }
}
