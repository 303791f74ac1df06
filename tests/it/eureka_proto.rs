//! The native Eureka protocol end to end against the simulated server: deltas on a
//! 5,000-instance registry, the fall-backs to a full fetch (lying hashcode, lost
//! changes, 403), XML answers, gzip, the `/v2` layout, Basic auth, truncated
//! answers, and the bytes one poll costs with and without deltas.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;
use watchpost::actors::specs::eureka_target;
use watchpost::config::EurekaSourceKind::Eureka;
use watchpost::config::{EurekaConfig, Policy, Secret};
use watchpost::model::Payload;
use watchpost::sim::{EurekaSim, SimInstance};
use watchpost::sources::client::{SourceSpec, http_client};
use watchpost::sources::eureka::parse_document;

use crate::common::*;

const REG: &str = "eureka/reg";

/// `n` `UP` instances spread over 50 applications `APP00`..`APP49`.
fn registry(n: usize) -> Vec<SimInstance> {
    let one = |i: usize| {
        let ip = format!("10.0.{}.{}", i / 250, i % 250);
        SimInstance::up(&format!("app{:02}", i % 50), &format!("h{i:04}"), &ip, 8080)
    };
    (0..n).map(one).collect()
}

/// The id of instance `i` of [`registry`].
fn iid(i: usize) -> String {
    format!("h{i:04}:app{:02}:8080", i % 50)
}

/// An `[[eureka]]` source named `name` on `url`.
fn source(name: &str, url: &str, delta: bool) -> EurekaConfig {
    let mut e = eureka(name, Eureka, url);
    e.delta = delta;
    e
}

/// Time for a 5,000-instance document in a debug build.
fn big_policy() -> Policy {
    let mut p = fast_policy();
    p.interval = Duration::from_secs(3);
    p.timeout = Duration::from_millis(2500);
    p
}

/// A daemon polling `sources`, once each has had a successful fetch.
async fn daemon(sources: Vec<EurekaConfig>) -> TestDaemon {
    let mut c = config();
    let ids: Vec<String> = sources
        .iter()
        .map(|e| format!("eureka/{}", e.name))
        .collect();
    c.eureka = sources;
    let td = start_daemon(c).await;
    for id in &ids {
        td.wait_success(id).await;
    }
    td
}

/// A 20-instance sim and a daemon polling it as `reg`.
async fn small(delta: bool) -> (EurekaSim, TestDaemon) {
    let sim = EurekaSim::start(local(), registry(20)).await.unwrap();
    let td = daemon(vec![source("reg", &sim.url(), delta)]).await;
    (sim, td)
}

/// `GET apps` requests the sim has answered (deltas excluded).
fn full_fetches(sim: &EurekaSim) -> u64 {
    sim.requests_matching("/apps") - sim.requests_matching("/apps/delta")
}

/// How many events of `kind` name the instance `id`.
async fn count(td: &TestDaemon, target: &str, kind: &str, id: &str) -> usize {
    let events = td.events(Some(target)).await;
    let same = |e: &&Value| e["type"] == kind && e["data"]["instance_id"] == id;
    events.iter().filter(same).count()
}

/// Waits for one event of `kind` about `id`, lets two more polls pass, and checks
/// that it stayed one.
async fn exactly_once(td: &TestDaemon, target: &str, expected: &[(&str, &str)]) {
    for (kind, id) in expected {
        let what = format!("{kind} of {id}");
        wait_for(&what, async || {
            (count(td, target, kind, id).await > 0).then_some(())
        })
        .await;
    }
    td.wait_polls(target, 2).await;
    for (kind, id) in expected {
        assert_eq!(count(td, target, kind, id).await, 1, "{kind} of {id}");
    }
}

#[actix_web::test]
async fn deltas_follow_a_5000_instance_registry() {
    let sim = EurekaSim::start(local(), registry(5000)).await.unwrap();
    let mut e = source("reg", &sim.url(), true);
    e.policy = big_policy();
    let td = daemon(vec![e]).await;
    td.wait_polls(REG, 1).await;
    let baseline = full_fetches(&sim);
    sim.set_instance_status(&iid(7), "DOWN");
    sim.add_instance(SimInstance::up("app07", "new1", "10.9.9.9", 8080));
    sim.remove_instance(&iid(8));
    sim.set_instance_status(&iid(9), "OUT_OF_SERVICE");
    let (seven, nine) = (iid(7), iid(9));
    let expected = [
        ("instance_state_changed", seven.as_str()),
        ("instance_added", "new1:app07:8080"),
        ("instance_removed", &iid(8)),
        ("instance_state_changed", nine.as_str()),
    ];
    exactly_once(&td, REG, &expected).await;
    assert_eq!(
        full_fetches(&sim),
        baseline,
        "deltas only after the first fetch"
    );
    assert!(sim.requests_matching("/apps/delta") >= 3);
    let events = td.events(Some(REG)).await;
    let members = types_with(&events, "instance_");
    assert_eq!(members.len(), 4, "nothing else was reported: {members:?}");
    let (_, list) = td.get("/api/eureka/instances").await;
    let list = list["instances"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 5001, "5,000 + 1 added, the removed one kept");
    let down = list
        .iter()
        .find(|i| i["instance_id"] == seven.as_str())
        .unwrap();
    assert_fields(down, serde_json::json!({"status": "DOWN", "state": "down"}));
}

#[actix_web::test]
async fn a_lying_hashcode_falls_back_to_a_full_fetch() {
    let (sim, td) = small(true).await;
    td.wait_polls(REG, 2).await;
    let fulls = full_fetches(&sim);
    sim.corrupt_next_delta_hashcode();
    td.wait_polls(REG, 2).await;
    assert!(
        full_fetches(&sim) > fulls,
        "the mismatch costs a full fetch"
    );
    sim.set_instance_status(&iid(4), "DOWN");
    exactly_once(&td, REG, &[("instance_state_changed", &iid(4))]).await;
    let events = td.events(Some(REG)).await;
    assert_eq!(types_with(&events, "instance_").len(), 1, "{events:#?}");
    assert!(fetch_is(&td.target(REG).await, "success"));
}

#[actix_web::test]
async fn changes_lost_from_the_delta_are_repaired_by_the_hashcode_check() {
    let (sim, td) = small(true).await;
    sim.set_delta_retention(Duration::ZERO);
    td.wait_polls(REG, 1).await;
    let fulls = full_fetches(&sim);
    sim.set_instance_status(&iid(3), "STARTING");
    sim.remove_instance(&iid(5));
    let expected = [
        ("instance_state_changed", iid(3)),
        ("instance_removed", iid(5)),
    ];
    let expected: Vec<(&str, &str)> = expected.iter().map(|(k, i)| (*k, i.as_str())).collect();
    exactly_once(&td, REG, &expected).await;
    assert!(
        full_fetches(&sim) > fulls,
        "only a full fetch could show the changes"
    );
}

#[actix_web::test]
async fn a_forbidden_delta_falls_back_to_full_fetches() {
    let sim = EurekaSim::start(local(), registry(20)).await.unwrap();
    sim.set_delta_enabled(false);
    let td = daemon(vec![source("reg", &sim.url(), true)]).await;
    td.wait_polls(REG, 2).await;
    let deltas = sim.requests_matching("/apps/delta");
    assert!(
        deltas >= 2 && full_fetches(&sim) >= deltas,
        "every 403 is followed by a full fetch"
    );
    sim.add_instance(SimInstance::up("app01", "late", "10.9.9.9", 8080));
    exactly_once(&td, REG, &[("instance_added", "late:app01:8080")]).await;
    let t = td.target(REG).await;
    assert_fields(
        &t,
        serde_json::json!({"last_fetch_status": "success", "last_fetch_error": null}),
    );
}

#[actix_web::test]
async fn xml_answers_are_followed_with_and_without_deltas() {
    let sim = EurekaSim::start(local(), registry(20)).await.unwrap();
    sim.set_xml_only(true);
    let sources = vec![
        source("reg", &sim.url(), true),
        source("plain", &sim.url(), false),
    ];
    let td = daemon(sources).await;
    sim.set_instance_status(&iid(2), "DOWN");
    sim.remove_instance(&iid(6));
    for target in [REG, "eureka/plain"] {
        let expected = [
            ("instance_state_changed", iid(2)),
            ("instance_removed", iid(6)),
        ];
        let expected: Vec<(&str, &str)> = expected.iter().map(|(k, i)| (*k, i.as_str())).collect();
        exactly_once(&td, target, &expected).await;
    }
    let (_, list) = td.get("/api/eureka/instances").await;
    let servers: BTreeSet<&str> = column(&list["instances"], "eureka_server")
        .into_iter()
        .collect();
    assert_eq!(servers, BTreeSet::from(["plain", "reg"]));
    assert_eq!(column(&list["instances"], "instance_id").len(), 40);
}

#[actix_web::test]
async fn answers_are_gzip_compressed_and_a_v2_base_url_works() {
    let sim = EurekaSim::start(local(), registry(20)).await.unwrap();
    let td = daemon(vec![source("reg", &format!("{}/v2", sim.url()), true)]).await;
    td.wait_polls(REG, 2).await;
    assert!(sim.requests_matching("/eureka/v2/apps/delta") >= 2);
    assert_eq!(
        sim.requests_matching("/eureka/apps"),
        0,
        "only the /v2 layout was asked"
    );
    sim.stop().await;
    assert_eq!(
        sim.gzip_requests(),
        sim.requests(),
        "every request accepts gzip"
    );
}

#[actix_web::test]
async fn basic_auth_wrong_password_is_a_clear_error_and_the_right_one_works() {
    let sim = EurekaSim::start(local(), registry(4)).await.unwrap();
    let sim = sim.with_basic_auth("eureka", "s3cret");
    let with = |name: &str, password: Option<&str>| {
        let mut e = source(name, &sim.url(), true);
        e.policy = big_policy();
        e.username = password.map(|_| "eureka".to_string());
        e.password = password.map(Secret::new);
        e
    };
    let mut c = config();
    c.eureka = vec![
        with("good", Some("s3cret")),
        with("bad", Some("wrong")),
        with("anon", None),
    ];
    let td = start_daemon(c).await;
    td.wait_success("eureka/good").await;
    let failed = |t: &Value| fetch_is(t, "failed");
    let bad = td.wait_target("eureka/bad", "a failed fetch", failed).await;
    let error = bad["last_fetch_error"].as_str().unwrap();
    assert!(error.starts_with("eureka bad (127.0.0.1:"), "{error}");
    assert!(
        error.contains("HTTP 401") && error.contains("check username and password"),
        "{error}"
    );
    assert!(
        !error.contains("wrong"),
        "the password never shows: {error}"
    );
    let anon = td
        .wait_target("eureka/anon", "a failed fetch", failed)
        .await;
    let error = anon["last_fetch_error"].as_str().unwrap();
    assert!(error.contains("requires credentials"), "{error}");
}

#[actix_web::test]
async fn a_truncated_registry_is_a_fetch_error_and_nothing_is_removed() {
    let (sim, td) = small(true).await;
    sim.set_truncated(true);
    let failed = |t: &Value| fetch_is(t, "failed");
    let t = td.wait_target(REG, "a failed fetch", failed).await;
    let error = t["last_fetch_error"].as_str().unwrap();
    assert!(
        error.contains("eureka reg (") && error.contains("unreadable registry"),
        "{error}"
    );
    assert!(error.contains("not valid JSON"), "{error}");
    sim.set_truncated(false);
    td.wait_success(REG).await;
    let events = td.events(Some(REG)).await;
    assert_eq!(
        types_with(&events, "instance_"),
        Vec::<&str>::new(),
        "nothing removed"
    );
    assert_eq!(
        types_with(&events, "fetch_"),
        ["fetch_failed", "fetch_recovered"]
    );
}

/// Polls `spec` once and returns `(instance_id, status)` of every instance.
async fn poll(spec: &SourceSpec, client: &reqwest::Client) -> BTreeSet<(String, String)> {
    let payload = spec.fetch(client, Duration::from_secs(10)).await.unwrap();
    let Payload::Applications(apps) = payload else {
        panic!("not a registry")
    };
    let all = apps.into_iter().flat_map(|a| a.instances.unwrap());
    all.map(|i| (i.instance_id, i.status)).collect()
}

/// The decoded bytes per poll of `rounds` polls after a first full one, each
/// preceded by `changes` status changes (of instances from `first` on); and what the
/// last poll saw.
async fn measure(
    sim: &EurekaSim,
    delta: bool,
    first: usize,
    (rounds, changes): (usize, usize),
) -> (u64, BTreeSet<(String, String)>) {
    let spec = eureka_target(&source("m", &sim.url(), delta)).source;
    let SourceSpec::EurekaNative { state, .. } = &spec else {
        panic!("a native source")
    };
    let client = http_client().unwrap();
    poll(&spec, &client).await;
    let before = state.bytes_transferred();
    let mut seen = BTreeSet::new();
    for round in 0..rounds {
        for k in 0..changes {
            let i = (first + round * changes + k) * 37 % 5000;
            sim.set_instance_status(&iid(i), ["DOWN", "OUT_OF_SERVICE", "STARTING"][round % 3]);
        }
        seen = poll(&spec, &client).await;
    }
    ((state.bytes_transferred() - before) / rounds as u64, seen)
}

/// The gzip-compressed size of one answer as it travels, and how many instances
/// it lists.
async fn wire(url: &str) -> (usize, usize) {
    let raw = reqwest::Client::builder()
        .no_proxy()
        .no_gzip()
        .build()
        .unwrap();
    let req = raw.get(url).header("Accept", "application/json");
    let packed = req.header("Accept-Encoding", "gzip").send().await.unwrap();
    let packed = packed.bytes().await.unwrap().len();
    let plain = raw
        .get(url)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    let doc = parse_document(&plain.bytes().await.unwrap(), None).unwrap();
    (
        packed,
        doc.apps
            .iter()
            .map(|a| a.instances.as_ref().unwrap().len())
            .sum(),
    )
}

#[actix_web::test]
async fn bytes_per_poll_with_and_without_deltas() {
    let sim = EurekaSim::start(local(), registry(5000)).await.unwrap();
    let (full, seen_full) = measure(&sim, false, 0, (3, 10)).await;
    sim.forget_recent_changes();
    let (delta, seen_delta) = measure(&sim, true, 1000, (3, 10)).await;
    assert_eq!((seen_full.len(), seen_delta.len()), (5000, 5000));
    let check = eureka_target(&source("check", &sim.url(), false)).source;
    let now = poll(&check, &http_client().unwrap()).await;
    assert_eq!(seen_delta, now, "the local copy is the registry");
    let (full_gz, _) = wire(&format!("{}/apps", sim.url())).await;
    let (delta_gz, queued) = wire(&format!("{}/apps/delta", sim.url())).await;
    eprintln!(
        "5,000 instances, 3 polls with 10 status changes before each: bytes per poll as \
         decoded JSON: full {full}, delta {delta}; gzip on the wire, one answer: full \
         {full_gz}, delta {delta_gz} (that delta lists the {queued} instances changed \
         within the retention time)"
    );
    assert!(delta < full / 10, "{delta} vs {full}");
}
