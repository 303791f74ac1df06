//! The merge shares what did not change between the committed records and the
//! next ones, and the records read and write the same JSON as before.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;
use crate::model::{AppSample, Lease};

fn sample(id: &str, renewed: u64) -> InstanceSample {
    InstanceSample {
        instance_id: id.into(),
        app: "APP".into(),
        host_name: Some(format!("{id}.example")),
        ip_addr: Some("10.0.0.1".into()),
        port: Some(8080),
        status: "UP".into(),
        health_check_url: Some(format!("http://{id}/health")),
        home_page_url: Some(format!("http://{id}/")),
        status_page_url: Some(format!("http://{id}/info")),
        metadata: BTreeMap::from([("zone".to_string(), "a".to_string())]),
        endpoint: Some("10.0.0.1:8080".into()),
        lease: Some(Lease {
            last_renewal_at: Some(Ts(renewed)),
            duration_s: Some(90),
            ..Lease::default()
        }),
        ..InstanceSample::default()
    }
}

fn fetch(instances: Vec<InstanceSample>) -> Vec<AppSample> {
    vec![AppSample {
        name: "APP".into(),
        instances: Ok(instances),
    }]
}

fn merged(apps: &mut Vec<AppRecord>, samples: &[AppSample], at: u64) -> Vec<EventDraft> {
    let ctx = Ctx {
        at: Ts(at),
        emit_members: true,
        target_was_ok: true,
        target: "eureka/e",
    };
    let mut ev = Vec::new();
    merge(apps, samples, &ctx, &mut ev);
    ev
}

fn same<T: ?Sized>(a: &Arc<T>, b: &Arc<T>) -> bool {
    Arc::ptr_eq(a, b)
}

fn shares_all(a: &InstanceRecord, b: &InstanceRecord) -> bool {
    let opt = |x: &Option<Shared>, y: &Option<Shared>| match (x, y) {
        (Some(x), Some(y)) => same(x, y),
        _ => false,
    };
    same(&a.instance_id, &b.instance_id)
        && same(&a.app, &b.app)
        && same(&a.status, &b.status)
        && same(&a.metadata, &b.metadata)
        && a.texts.same_block(&b.texts)
        && opt(&a.last_known_status, &b.last_known_status)
}

#[test]
fn a_fetch_that_only_renews_leases_shares_every_string_with_the_committed_state() {
    let mut committed = Vec::new();
    merged(
        &mut committed,
        &fetch(vec![sample("a1", 1), sample("a2", 1)]),
        1,
    );
    let mut next = committed.clone();
    let ev = merged(&mut next, &fetch(vec![sample("a1", 2), sample("a2", 2)]), 2);
    assert!(ev.is_empty());
    for (old, new) in committed[0].instances.iter().zip(&next[0].instances) {
        assert!(shares_all(old, new), "{} was copied", new.instance_id);
        let renewed = new.lease.as_ref().and_then(|l| l.last_renewal_at);
        assert_eq!(renewed, Some(Ts(2)));
    }
}

#[test]
fn a_changed_instance_gets_its_new_values_and_the_others_stay_shared() {
    let mut committed = Vec::new();
    merged(
        &mut committed,
        &fetch(vec![sample("a1", 1), sample("a2", 1)]),
        1,
    );
    let mut changed = sample("a2", 2);
    changed.status = "DOWN".into();
    changed.metadata.insert("zone".into(), "b".into());
    changed.health_check_url = None;
    let mut next = committed.clone();
    let ev = merged(&mut next, &fetch(vec![sample("a1", 2), changed.clone()]), 2);
    assert_eq!(ev.len(), 1, "one state change");
    assert!(shares_all(
        &committed[0].instances[0],
        &next[0].instances[0]
    ));
    let (old, new) = (&committed[0].instances[1], &next[0].instances[1]);
    assert!(same(&old.instance_id, &new.instance_id));
    assert!(!same(&old.metadata, &new.metadata));
    // The refreshed record is the one a first fetch of the sample builds.
    let fresh = record_of(&changed);
    assert_eq!(*new, fresh);
    assert_eq!(new.state, InstanceState::Down);
}

/// The record as it was with owned strings: the stored format.
#[derive(serde::Serialize)]
struct Owned {
    instance_id: String,
    app: String,
    host_name: Option<String>,
    ip_addr: Option<String>,
    port: Option<u16>,
    status: String,
    state: InstanceState,
    last_known_status: Option<String>,
    last_known_state: InstanceState,
    health_check_url: Option<String>,
    home_page_url: Option<String>,
    status_page_url: Option<String>,
    metadata: BTreeMap<String, String>,
    removed_at: Option<Ts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lease: Option<Lease>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_updated_at: Option<Ts>,
    lease_expired: bool,
}

#[test]
fn records_read_and_write_the_stored_json_unchanged() {
    let owned = Owned {
        instance_id: "a1".into(),
        app: "APP".into(),
        host_name: Some("h".into()),
        ip_addr: None,
        port: Some(8080),
        status: "no data".into(),
        state: InstanceState::Unknown,
        last_known_status: Some("UP".into()),
        last_known_state: InstanceState::Up,
        health_check_url: None,
        home_page_url: Some("http://h/".into()),
        status_page_url: None,
        metadata: BTreeMap::from([("k".to_string(), "v".to_string())]),
        removed_at: Some(Ts(7)),
        endpoint: Some("10.0.0.1:8080".into()),
        lease: Some(Lease {
            last_renewal_at: Some(Ts(5)),
            duration_s: Some(90),
            ..Lease::default()
        }),
        last_updated_at: None,
        lease_expired: true,
    };
    let stored = serde_json::to_string(&owned).expect("serialises");
    let rec: InstanceRecord = serde_json::from_str(&stored).expect("a stored record loads");
    assert_eq!(&*rec.instance_id, "a1");
    assert_eq!(rec.last_known_status.as_deref(), Some("UP"));
    assert_eq!(rec.metadata.get("k").map(String::as_str), Some("v"));
    assert_eq!(serde_json::to_string(&rec).expect("serialises"), stored);
}

#[test]
fn new_instances_share_their_status_and_an_empty_metadata_map() {
    let mut bare = sample("b", 1);
    bare.metadata.clear();
    let mut bare2 = sample("c", 1);
    bare2.metadata.clear();
    let mut apps = Vec::new();
    merged(&mut apps, &fetch(vec![sample("a", 1), bare, bare2]), 10);
    let [a, b, c] = &apps[0].instances[..] else {
        panic!("three instances: {:?}", apps[0].instances)
    };
    assert!(same(&a.status, &b.status) && same(&b.status, &c.status));
    assert!(same(&b.metadata, &c.metadata));
    assert!(b.metadata.is_empty());
    assert!(!same(&a.metadata, &b.metadata));
    assert_eq!(a.metadata.get("zone").map(String::as_str), Some("a"));
    // A status change takes the shared text of its new value.
    let mut down = sample("a", 2);
    down.status = "DOWN".into();
    let mut down2 = sample("c", 2);
    down2.status = "DOWN".into();
    down2.metadata.clear();
    merged(&mut apps, &fetch(vec![down, down2]), 20);
    let live: Vec<_> = apps[0]
        .instances
        .iter()
        .filter(|i| i.removed_at.is_none())
        .collect();
    assert_eq!(&*live[0].status, "DOWN");
    assert!(same(&live[0].status, &live[1].status));
}
