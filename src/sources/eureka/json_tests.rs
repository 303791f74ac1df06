//! Tests of the Eureka JSON parser against the public fixtures in
//! `tests/fixtures/eureka` (docs/protocols/eureka.md §5 says which variation each carries).

use serde_json::Value;

use super::*;
use crate::model::InstanceSample;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/eureka/",
            $name
        ))
    };
}

/// The applications of a document that must parse, each with readable instances.
pub(super) fn apps(body: &str) -> Vec<(String, Vec<InstanceSample>)> {
    parse_apps(body.as_bytes())
        .unwrap()
        .into_iter()
        .map(|a| (a.name, a.instances.unwrap()))
        .collect()
}

/// `(instance_id, app, status, port)` of every instance, in document order.
pub(super) fn summary(body: &str) -> Vec<(String, String, String, Option<u16>)> {
    apps(body)
        .into_iter()
        .flat_map(|(_, instances)| instances)
        .map(|i| (i.instance_id, i.app, i.status, i.port))
        .collect()
}

pub(super) fn row(
    id: &str,
    app: &str,
    status: &str,
    port: Option<u16>,
) -> (String, String, String, Option<u16>) {
    (id.into(), app.into(), status.into(), port)
}

/// One application named `name` whose `instance` is the given JSON text.
pub(super) fn wrap_instances(name: &str, instances: &str) -> String {
    format!(r#"{{"applications":{{"application":{{"name":"{name}","instance":{instances}}}}}}}"#)
}

/// The only instance of a one-instance document.
pub(super) fn only_instance(body: &str) -> InstanceSample {
    let mut all = apps(body).pop().unwrap().1;
    assert_eq!(all.len(), 1);
    all.pop().unwrap()
}

#[test]
fn fargo_single_instance_object_with_string_port() {
    let body = fixture!("fargo_apps-sample-1-1.json");
    let got = apps(body);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "TESTENG.METRICSD");
    let inst = &got[0].1[0];
    assert_eq!(
        inst.instance_id, "192.168.40.94:7101",
        "hostName stands in for instanceId"
    );
    assert_eq!(inst.ip_addr.as_deref(), Some("192.168.40.94"));
    assert_eq!((inst.port, inst.status.as_str()), (Some(7101), "UP"));
    assert_eq!(inst.metadata.len(), 3);
    assert_eq!(inst.metadata["base-uri"], "https://192.168.40.94:7101");
}

#[test]
fn fargo_post_v122_has_a_number_port() {
    let body = fixture!("fargo_apps-sample-1-1-post-v122.json");
    let want = [row(
        "192.168.40.94:7101",
        "TESTENG.METRICSD",
        "UP",
        Some(7101),
    )];
    assert_eq!(summary(body), want);
}

#[test]
fn fargo_instance_list() {
    let body = fixture!("fargo_apps-sample-1-2.json");
    let want = [
        row(
            "qa16gs.qa.somecompany.com:7100",
            "TESTENG.LSM",
            "UP",
            Some(7100),
        ),
        row("qa22gs:7100", "TESTENG.LSM", "UP", Some(7100)),
    ];
    assert_eq!(summary(body), want);
}

#[test]
fn fargo_object_and_list_forms_in_one_document() {
    let body = fixture!("fargo_apps-sample-2-2.json");
    let names: Vec<_> = apps(body).into_iter().map(|(n, i)| (n, i.len())).collect();
    assert_eq!(
        names,
        [
            ("TESTENG.METRICSD".to_string(), 1),
            ("TESTENG.LSM".to_string(), 2)
        ]
    );
    assert_eq!(summary(body).len(), 3);
}

#[test]
fn steeltoe_full_and_delta_documents() {
    let full = only_instance(fixture!("steeltoe_apps_full.json"));
    assert_eq!(full.instance_id, "localhost:foo");
    assert_eq!((full.app.as_str(), full.status.as_str()), ("FOO", "UP"));
    assert_eq!(full.host_name.as_deref(), Some("localhost"));
    assert_eq!(full.port, Some(8080));
    assert!(full.metadata.is_empty(), "EmptyMap's @class is dropped");
    assert_eq!(
        full.health_check_url.as_deref(),
        Some("http://localhost:8080/health")
    );
    assert_eq!(
        full.home_page_url.as_deref(),
        Some("http://localhost:8080/")
    );
    assert_eq!(
        full.status_page_url.as_deref(),
        Some("http://localhost:8080/info")
    );
    let same = |mut inst: InstanceSample| {
        inst.overridden_status = None;
        inst.action_type = Some("ADDED".into());
        inst
    };
    for body in [
        fixture!("steeltoe_apps_delta_modified.json"),
        fixture!("steeltoe_apps_foo_added.json"),
    ] {
        assert_eq!(same(only_instance(body)), full);
    }
    let modified = only_instance(fixture!("steeltoe_apps_delta_foo_modified.json"));
    assert_eq!(modified.host_name.as_deref(), Some("modified-host"));
    assert_eq!(modified.action_type.as_deref(), Some("MODIFIED"));
}

#[test]
fn steeltoe_overridden_status_and_action_type() {
    let full = only_instance(fixture!("steeltoe_apps_full.json"));
    let fields = |i: &InstanceSample| (i.overridden_status.clone(), i.action_type.clone());
    assert_eq!(fields(&full), (None, Some("ADDED".into())));
    let delta = only_instance(fixture!("steeltoe_apps_delta_modified.json"));
    assert_eq!(
        fields(&delta),
        (Some("UNKNOWN".into()), Some("MODIFIED".into())),
        "the legacy lower-case spelling is read too"
    );
    let added = only_instance(fixture!("steeltoe_apps_foo_added.json"));
    assert_eq!(added.overridden_status.as_deref(), Some("UNKNOWN"));
}

#[test]
fn steeltoe_minimal_up_and_down() {
    let body = fixture!("steeltoe_apps_up_and_down_minimal.json");
    let got = apps(body);
    assert_eq!(got[0].0, "ignored", "the application keeps its own name");
    let want = [
        row("id1", "app1", "UP", None),
        row("id2", "app1", "DOWN", None),
    ];
    assert_eq!(summary(body), want);
    assert_eq!(got[0].1[1].ip_addr.as_deref(), Some("10.0.0.2"));
}

#[test]
fn bare_application_content_without_the_wrapper() {
    for body in [
        fixture!("steeltoe_applications_inner_single_app_object.json"),
        fixture!("steeltoe_applications_inner_app_array.json"),
    ] {
        assert_eq!(apps(body), [("FOO".to_string(), Vec::new())]);
    }
    let body = fixture!("steeltoe_app_FOO.json");
    assert_eq!(
        summary(body),
        [row("localhost:foo", "FOO", "UP", Some(8080))]
    );
}

#[test]
fn empty_registries() {
    for body in [
        fixture!("eurekajs_apps_empty_applications_object.json"),
        r#"{"applications":{"versions__delta":"1","apps__hashcode":"","application":[]}}"#,
        r#"{"applications":{"application":null}}"#,
        r#"{"applications":{"application":""}}"#,
        r#"{"applications":null}"#,
        r#"{"application":[]}"#,
    ] {
        assert_eq!(parse_apps(body.as_bytes()), Ok(Vec::new()), "{body}");
    }
}

#[test]
fn truncated_document_is_an_error() {
    let err = parse_apps(fixture!("steeltoe_apps_truncated_INVALID.json").as_bytes()).unwrap_err();
    assert!(
        err.starts_with("Eureka answer is not valid JSON: EOF"),
        "{err}"
    );
    assert!(
        err.contains(r#"body starts with "{"applications": {""#),
        "{err}"
    );
}

#[test]
fn steeltoe_instance_with_bool_enabled_and_nulls() {
    let body = fixture!("steeltoe_instance_FOOBAR.json");
    let err = parse_apps(body.as_bytes()).unwrap_err();
    assert!(err.contains("(it has: instance)"), "{err}");
    let inner = serde_json::from_str::<Value>(body).unwrap()["instance"].to_string();
    let inst = only_instance(&wrap_instances("FOOBAR", &inner));
    assert_eq!(inst.instance_id, "DESKTOP-GNQ5SUT");
    assert_eq!((inst.port, inst.status.as_str()), (Some(80), "UP"));
    assert!(
        inst.metadata.is_empty(),
        "@class dropped, null value skipped"
    );
    assert_eq!(
        inst.status_page_url.as_deref(),
        Some("http://DESKTOP-GNQ5SUT:80/Status")
    );
}

#[test]
fn both_overridden_status_spellings_parse() {
    let body = wrap_instances(
        "FOO",
        fixture!("steeltoe_instance_both_overriddenstatus_spellings.json"),
    );
    let inst = only_instance(&body);
    assert_eq!(inst.instance_id, "localhost:foo");
    assert_eq!(
        inst.status, "UP",
        "the effective status is kept, not the override"
    );
    assert_eq!(
        inst.overridden_status.as_deref(),
        Some("OUT_OF_SERVICE"),
        "camelCase overriddenStatus wins over the legacy overriddenstatus (DOWN)"
    );
    let legacy_only = wrap_instances(
        "FOO",
        r#"{"instanceId":"i","status":"UP","overriddenstatus":"DOWN","overriddenStatus":""}"#,
    );
    assert_eq!(
        only_instance(&legacy_only).overridden_status.as_deref(),
        Some("DOWN")
    );
}

#[test]
fn amazon_instance_id_stands_in_for_a_missing_instance_id() {
    for dc in [
        fixture!("netflix_datacenterinfo_amazon_class_after_metadata.json"),
        fixture!("netflix_datacenterinfo_amazon_unknown_fields.json"),
    ] {
        let inst = format!(r#"{{"hostName":"ip-10-0-0-1","status":"UP","dataCenterInfo":{dc}}}"#);
        assert_eq!(
            only_instance(&wrap_instances("A", &inst)).instance_id,
            "i-12345"
        );
        let inst = format!(r#"{{"instanceId":"","hostName":"h","dataCenterInfo":{dc}}}"#);
        assert_eq!(
            only_instance(&wrap_instances("A", &inst)).instance_id,
            "i-12345"
        );
    }
}

#[test]
fn reconcile_hashcode_matches_the_fixtures() {
    for body in [
        fixture!("steeltoe_apps_full.json"),
        fixture!("steeltoe_apps_delta_modified.json"),
        fixture!("steeltoe_apps_foo_added.json"),
        fixture!("steeltoe_apps_delta_foo_modified.json"),
    ] {
        let parsed = parse_apps(body.as_bytes()).unwrap();
        assert_eq!(
            Some(reconcile_hashcode(&parsed)),
            apps_hashcode(body.as_bytes())
        );
    }
    let minimal = parse_apps(fixture!("steeltoe_apps_up_and_down_minimal.json").as_bytes());
    assert_eq!(reconcile_hashcode(&minimal.unwrap()), "DOWN_1_UP_1_");
    let empty = fixture!("eurekajs_apps_empty_applications_object.json").as_bytes();
    assert_eq!(
        (
            reconcile_hashcode(&parse_apps(empty).unwrap()),
            apps_hashcode(empty)
        ),
        (String::new(), None)
    );
    // The fargo samples announce the hashcode of a larger registry than they list.
    assert_eq!(
        apps_hashcode(fixture!("fargo_apps-sample-2-2.json").as_bytes()).as_deref(),
        Some("UP_24_")
    );
    assert_eq!(
        apps_hashcode(fixture!("steeltoe_applications_inner_app_array.json").as_bytes()).as_deref(),
        Some("UP_1_")
    );
}

#[test]
fn endpoint_and_lease_come_from_the_instance() {
    let apps = parse_apps(fixture!("steeltoe_apps_full.json").as_bytes()).unwrap();
    let inst = &apps[0].instances.as_ref().unwrap()[0];
    assert_eq!(inst.endpoint.as_deref(), Some("192.168.56.1:8080"));
    let lease = inst.lease.as_ref().unwrap();
    assert_eq!(lease.last_renewal_at, Some(crate::model::Ts(1457716158319)));
    assert_eq!(
        (lease.duration_s, lease.renewal_interval_s),
        (Some(90), Some(30))
    );
    assert_eq!(inst.last_updated_at, Some(crate::model::Ts(1457714988223)));
}
