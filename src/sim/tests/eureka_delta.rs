//! The simulated Eureka server's deltas, forced XML, gzip, Basic auth and the
//! `/eureka/v2` layout, read back with the daemon's own parsers.

use std::time::{Duration, Instant};

use super::*;
use crate::sim::EurekaSim;
use crate::sources::eureka::{Document, parse_document};

async fn eureka() -> EurekaSim {
    EurekaSim::start(local(), instances()).await.unwrap()
}

/// GETs `path` under the base URL with an `Accept` header and parses the answer.
/// The document without lease renewal times: each answer reports the time it was
/// served as every healthy instance's last renewal.
fn without_renewals(mut doc: Document) -> Document {
    for app in &mut doc.apps {
        for inst in app.instances.iter_mut().flatten() {
            if let Some(lease) = inst.lease.as_mut() {
                lease.last_renewal_at = None;
            }
        }
    }
    doc
}

async fn doc(sim: &EurekaSim, path: &str, accept: Option<&str>) -> (String, Document) {
    let (status, content_type, body) = get_text(&format!("{}{path}", sim.url()), accept).await;
    assert_eq!(status, 200, "{body}");
    let doc = parse_document(body.as_bytes(), Some(&content_type)).unwrap();
    (content_type, doc)
}

async fn delta(sim: &EurekaSim) -> Document {
    doc(sim, "/apps/delta", Some("application/json")).await.1
}

/// `(app, id, status, action)` of every instance of a document.
fn changes(doc: &Document) -> Vec<(String, String, String, String)> {
    let all = doc.apps.iter().flat_map(|a| a.instances.clone().unwrap());
    let row = |i: crate::model::InstanceSample| {
        (
            i.app,
            i.instance_id,
            i.status,
            i.action_type.unwrap_or_default(),
        )
    };
    all.map(row).collect()
}

fn change(app: &str, id: &str, status: &str, action: &str) -> (String, String, String, String) {
    (app.into(), id.into(), status.into(), action.into())
}

#[actix_web::test]
async fn a_delta_lists_each_changed_instance_once_with_the_full_hashcode() {
    let sim = eureka().await;
    let first = delta(&sim).await;
    assert_eq!(
        (first.apps.len(), first.hashcode.as_deref()),
        (0, Some("UP_3_"))
    );
    sim.set_instance_status("foo-1.local:foo:8080", "DOWN");
    sim.set_instance_status("foo-1.local:foo:8080", "OUT_OF_SERVICE");
    sim.set_instance_status("foo-2.local:foo:8080", "UP");
    sim.add_instance(SimInstance::up("baz", "baz-1.local", "10.1.1.1", 80));
    sim.remove_instance("bar-1.local:bar:9090");
    sim.remove_instance("nothing");
    let got = delta(&sim).await;
    let want = [
        change("BAR", "bar-1.local:bar:9090", "UP", "DELETED"),
        change("BAZ", "baz-1.local:baz:80", "UP", "ADDED"),
        change("FOO", "foo-1.local:foo:8080", "OUT_OF_SERVICE", "MODIFIED"),
    ];
    assert_eq!(changes(&got), want);
    assert_eq!(got.hashcode.as_deref(), Some("OUT_OF_SERVICE_1_UP_2_"));
    let overridden = &got.apps[2].instances.as_ref().unwrap()[0];
    assert_eq!(
        overridden.overridden_status.as_deref(),
        Some("OUT_OF_SERVICE")
    );
    let (_, xml) = doc(&sim, "/apps/delta", None).await;
    assert_eq!(
        without_renewals(xml),
        without_renewals(got),
        "the XML delta says the same"
    );
}

#[actix_web::test]
async fn retention_forgetting_and_a_lying_hashcode() {
    let sim = eureka().await;
    sim.set_instance_status("foo-1.local:foo:8080", "DOWN");
    sim.set_delta_retention(Duration::ZERO);
    assert!(delta(&sim).await.apps.is_empty(), "expired");
    sim.set_delta_retention(Duration::from_secs(180));
    sim.set_instance_status("foo-1.local:foo:8080", "UP");
    assert_eq!(delta(&sim).await.apps.len(), 1);
    sim.forget_recent_changes();
    assert!(delta(&sim).await.apps.is_empty(), "forgotten");
    sim.corrupt_next_delta_hashcode();
    assert_eq!(delta(&sim).await.hashcode.as_deref(), Some("UP_3_LIE_1_"));
    assert_eq!(
        delta(&sim).await.hashcode.as_deref(),
        Some("UP_3_"),
        "only once"
    );
    let (_, full) = doc(&sim, "/apps", Some("application/json")).await;
    assert_eq!(
        full.hashcode.as_deref(),
        Some("UP_3_"),
        "full documents never lie"
    );
}

#[actix_web::test]
async fn xml_only_ignores_the_accept_header() {
    let sim = eureka().await;
    sim.set_xml_only(true);
    let (content_type, xml) = doc(&sim, "/apps", Some("application/json")).await;
    assert_eq!(content_type, "application/xml");
    assert_eq!(xml.apps.len(), 2);
    sim.set_xml_only(false);
    let (content_type, json) = doc(&sim, "/apps", Some("application/json")).await;
    assert_eq!(content_type, "application/json");
    assert_eq!(
        without_renewals(json),
        without_renewals(xml),
        "both forms parse to the same registry"
    );
}

#[actix_web::test]
async fn gzip_when_the_client_accepts_it() {
    let sim = eureka().await;
    let raw = reqwest::Client::builder()
        .no_proxy()
        .no_gzip()
        .build()
        .unwrap();
    let url = format!("{}/apps", sim.url());
    let ask = |gzip: bool| {
        let req = raw.get(&url).header("Accept", "application/json");
        if gzip {
            req.header("Accept-Encoding", "gzip")
        } else {
            req
        }
    };
    let plain = ask(false).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.bytes().await.unwrap();
    let packed = ask(true).send().await.unwrap();
    assert_eq!(packed.headers()["content-encoding"], "gzip");
    let packed = packed.bytes().await.unwrap();
    assert!(
        packed.len() < plain.len() / 3,
        "{} vs {}",
        packed.len(),
        plain.len()
    );
    assert_eq!(&packed[..2], b"\x1f\x8b", "a gzip stream");
}

#[actix_web::test]
async fn basic_auth_and_the_v2_layout() {
    let sim = eureka().await.with_basic_auth("eureka", "s3cret");
    let url = format!("{}/v2/apps", sim.url());
    let answer = client().get(&url).send().await.unwrap();
    assert_eq!(answer.status(), 401);
    assert_eq!(
        answer.headers()["www-authenticate"],
        "Basic realm=\"eureka\""
    );
    let wrong = client()
        .get(&url)
        .basic_auth("eureka", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = client().get(&url).basic_auth("eureka", Some("s3cret"));
    let right = right
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    let body = right.bytes().await.unwrap();
    assert_eq!(
        parse_document(&body, None).unwrap().hashcode.as_deref(),
        Some("UP_3_")
    );
    assert_eq!(sim.requests_matching("/eureka/v2/apps"), 3);
}

#[actix_web::test]
async fn five_thousand_instances_are_served_quickly() {
    let many: Vec<SimInstance> = (0..5000)
        .map(|i| {
            SimInstance::up(
                &format!("app{}", i % 50),
                &format!("h{i}"),
                "10.0.0.1",
                8080,
            )
        })
        .collect();
    let started = Instant::now();
    let sim = EurekaSim::start(local(), many).await.unwrap();
    for i in 0..100 {
        sim.set_instance_status(&format!("h{i}:app{}:8080", i % 50), "DOWN");
    }
    let setup = started.elapsed();
    let started = Instant::now();
    let (_, full) = doc(&sim, "/apps", Some("application/json")).await;
    let full_time = started.elapsed();
    let started = Instant::now();
    let (_, xml) = doc(&sim, "/apps", None).await;
    let xml_time = started.elapsed();
    let got = delta(&sim).await;
    assert_eq!(full.apps.len(), 50);
    assert_eq!(full.hashcode.as_deref(), Some("DOWN_100_UP_4900_"));
    assert_eq!(xml.hashcode, full.hashcode);
    assert_eq!(changes(&got).len(), 100);
    eprintln!(
        "5000 instances: setup {setup:?}, JSON GET+parse {full_time:?}, XML GET+parse {xml_time:?}"
    );
    assert!(setup < Duration::from_secs(5), "{setup:?}");
}
