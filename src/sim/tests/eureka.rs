//! The simulated Eureka server: the JSON and XML documents against the fixtures,
//! the hashcode, apps without ids, and faults.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::*;
use crate::sim::{EurekaSim, Fault};

async fn eureka() -> EurekaSim {
    EurekaSim::start(local(), instances()).await.unwrap()
}

async fn apps_json(sim: &EurekaSim) -> Value {
    let (status, content_type, body) =
        get_text(&format!("{}/apps", sim.url()), Some("application/json")).await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    serde_json::from_str(&body).unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

/// Element names in an XML text.
fn tags(xml: &str) -> BTreeSet<String> {
    let opening = xml.split('<').skip(1).filter(|t| !t.starts_with('/'));
    let name = |t: &str| t.split([' ', '>', '/']).next().unwrap().to_string();
    opening.map(name).collect()
}

#[actix_web::test]
async fn json_has_the_keys_of_the_modern_codec() {
    let sim = eureka().await;
    let ours = apps_json(&sim).await;
    let theirs: Value = serde_json::from_str(&fixture("steeltoe_apps_foo_added.json")).unwrap();
    assert_eq!(keys(&ours), keys(&theirs));
    assert_eq!(keys(&ours["applications"]), keys(&theirs["applications"]));
    let app = &ours["applications"]["application"][0];
    let their_app = &theirs["applications"]["application"][0];
    assert_eq!(keys(app), keys(their_app));
    let (inst, their_inst) = (&app["instance"][0], &their_app["instance"][0]);
    let mut want = keys(their_inst);
    want.insert("secureVipAddress".to_string());
    assert_eq!(keys(inst), want);
    for key in [
        "port",
        "securePort",
        "dataCenterInfo",
        "leaseInfo",
        "metadata",
    ] {
        assert_eq!(keys(&inst[key]), keys(&their_inst[key]), "{key}");
    }
    assert_eq!(inst["port"], json!({"$": 9090, "@enabled": "true"}));
    assert_eq!(inst["metadata"], their_inst["metadata"]);
    assert_eq!(inst["dataCenterInfo"], their_inst["dataCenterInfo"]);
    assert!(inst["lastUpdatedTimestamp"].is_string());
    assert!(inst["leaseInfo"]["registrationTimestamp"].is_u64());
}

#[actix_web::test]
async fn apps_are_grouped_and_upper_cased() {
    let sim = eureka().await;
    let doc = apps_json(&sim).await;
    let apps = doc["applications"]["application"].as_array().unwrap();
    let names: Vec<&str> = apps.iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["BAR", "FOO"]);
    let foo = apps[1]["instance"].as_array().unwrap();
    assert_eq!(foo.len(), 2);
    assert_eq!(foo[0]["app"], "FOO");
    assert_eq!(foo[0]["instanceId"], "foo-1.local:foo:8080");
    assert_eq!(foo[0]["vipAddress"], "foo");
}

#[actix_web::test]
async fn hashcode_counts_every_status_alphabetically() {
    let sim = eureka().await;
    assert_eq!(
        apps_json(&sim).await["applications"]["apps__hashcode"],
        "UP_3_"
    );
    sim.set_instance_status("foo-1.local:foo:8080", "OUT_OF_SERVICE");
    sim.set_instance_status("bar-1.local:bar:9090", "DOWN");
    sim.add_instance(SimInstance::up("baz", "baz-1.local", "10.1.1.1", 80));
    sim.set_instance_status("baz-1.local:baz:80", "STARTING");
    sim.add_instance(SimInstance::up("baz", "baz-2.local", "10.1.1.2", 80));
    let doc = apps_json(&sim).await;
    let want = "DOWN_1_OUT_OF_SERVICE_1_STARTING_1_UP_2_";
    assert_eq!(doc["applications"]["apps__hashcode"], want);
    let foo1 = &doc["applications"]["application"][2]["instance"][0];
    assert_eq!(
        (&foo1["status"], &foo1["overriddenStatus"]),
        (&json!("OUT_OF_SERVICE"), &json!("OUT_OF_SERVICE"))
    );
    sim.remove_instance("baz-1.local:baz:80");
    sim.remove_instance("baz-2.local:baz:80");
    let doc = apps_json(&sim).await;
    assert_eq!(
        doc["applications"]["application"].as_array().unwrap().len(),
        2
    );
}

#[actix_web::test]
async fn empty_registry_in_both_forms() {
    let sim = EurekaSim::start(local(), Vec::new()).await.unwrap();
    let doc = apps_json(&sim).await;
    let want =
        json!({"applications": {"versions__delta": "1", "apps__hashcode": "", "application": []}});
    assert_eq!(doc, want);
    let (_, _, xml) = get_text(&format!("{}/apps", sim.url()), None).await;
    let theirs = fixture("prometheus_apps_empty.xml");
    let squash = |s: &str| s.split_whitespace().collect::<String>();
    assert_eq!(squash(&xml), squash(&theirs));
}

#[actix_web::test]
async fn xml_without_a_json_accept_header() {
    let sim = eureka().await;
    for accept in [None, Some("application/xml"), Some("*/*")] {
        let (status, content_type, body) = get_text(&format!("{}/apps/", sim.url()), accept).await;
        assert_eq!(
            (status, content_type.as_str()),
            (200, "application/xml"),
            "{accept:?}"
        );
        assert!(body.starts_with("<applications>"));
        assert!(body.contains("<apps__hashcode>UP_3_</apps__hashcode>"));
        assert!(body.contains("<port enabled=\"true\">8080</port>"));
    }
    let (_, _, ours) = get_text(&format!("{}/apps", sim.url()), None).await;
    let mut want = tags(&fixture("prometheus_apps_2apps_4instances.xml"));
    want.remove("project");
    want.remove("management.port");
    assert_eq!(tags(&ours), want);
    assert_eq!(ours.matches("<application>").count(), 2);
    assert_eq!(ours.matches("<instance>").count(), 3);
}

#[actix_web::test]
async fn app_without_ids_has_no_identity() {
    let sim = eureka().await;
    sim.set_app_without_ids("foo", true);
    let doc = apps_json(&sim).await;
    let foo = &doc["applications"]["application"][1]["instance"];
    for inst in foo.as_array().unwrap() {
        let keys = keys(inst);
        assert!(
            !keys.contains("instanceId") && !keys.contains("hostName"),
            "{keys:?}"
        );
        assert_eq!(inst["dataCenterInfo"]["name"], "MyOwn");
    }
    let bar = &doc["applications"]["application"][0]["instance"][0];
    assert_eq!(bar["instanceId"], "bar-1.local:bar:9090");
    let (_, _, xml) = get_text(&format!("{}/apps", sim.url()), None).await;
    assert_eq!(xml.matches("<instanceId>").count(), 1);
    sim.set_app_without_ids("FOO", false);
    let doc = apps_json(&sim).await;
    assert_eq!(
        doc["applications"]["application"][1]["instance"][0]["instanceId"],
        "foo-1.local:foo:8080"
    );
}

#[actix_web::test]
async fn delta_is_forbidden_when_disabled_and_unknown_paths_are_404() {
    let sim = eureka().await;
    sim.set_delta_enabled(false);
    let (status, _, _) = get_text(
        &format!("{}/apps/delta", sim.url()),
        Some("application/json"),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, _) = get_text(&format!("{}/v2/nothing", sim.url()), None).await;
    assert_eq!(status, 404);
    assert_eq!(sim.requests(), 2);
    assert_eq!(sim.requests_matching("/apps/delta"), 1);
}

#[actix_web::test]
async fn faults_replace_the_document() {
    let sim = eureka().await;
    sim.set_fault(Some(Fault::Status(503)));
    let (status, _, _) = get_text(&format!("{}/apps", sim.url()), Some("application/json")).await;
    assert_eq!(status, 503);
    sim.set_fault(Some(Fault::Garbage));
    let (status, _, body) =
        get_text(&format!("{}/apps", sim.url()), Some("application/json")).await;
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Value>(&body).is_err());
    sim.set_fault(None);
    apps_json(&sim).await;
    assert_eq!(sim.requests(), 3);
}

#[actix_web::test]
async fn stale_renewals_are_served_for_chosen_instances() {
    let sim = eureka().await;
    let id = instances()[0].instance_id.clone();
    sim.set_renewal_lag(&id, std::time::Duration::from_secs(600));
    let doc = apps_json(&sim).await;
    let renewed = |app: &str, n: usize| {
        let app = doc["applications"]["application"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == app)
            .unwrap();
        let inst = &app["instance"][n];
        (
            inst["instanceId"].as_str().unwrap().to_string(),
            inst["leaseInfo"]["lastRenewalTimestamp"].as_u64().unwrap(),
        )
    };
    let (a, b) = (renewed("FOO", 0), renewed("FOO", 1));
    let (stale, fresh) = if a.0 == id { (a.1, b.1) } else { (b.1, a.1) };
    assert!(fresh >= stale + 600_000, "{fresh} vs {stale}");
    let (_, body) = (0, get_text(&format!("{}/apps", sim.url()), None).await.2);
    let parsed = crate::sources::eureka::xml::parse_apps(body.as_bytes()).unwrap();
    let foo = parsed
        .iter()
        .find(|a| a.name == "FOO")
        .unwrap()
        .instances
        .as_ref()
        .unwrap();
    let lease = |i: usize| foo[i].lease.as_ref().unwrap().last_renewal_at.unwrap().0;
    assert!(
        lease(0).abs_diff(lease(1)) >= 600_000,
        "the XML form carries it too"
    );
}
