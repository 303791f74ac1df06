//! Tests of transaction planning, the per-instance claim, and records that survive
//! a stop of the daemon as `interrupted`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::status::StatusHandle;
use super::store::Store;
use super::transaction::*;
use super::txlog;
use crate::model::{ServerRecord, TargetKind, TargetMeta, TargetState};

fn target(group: &str, backend: &str, servers: &[(&str, &str)]) -> (Arc<str>, Arc<TargetState>) {
    let meta = TargetMeta {
        id: format!("haproxy/{group}/{backend}"),
        kind: TargetKind::HaproxyBackend,
        group: group.into(),
        source: crate::model::SourceKind::Socket,
        backend_name: Some(backend.into()),
        failure_threshold: 3,
    };
    let mut t = TargetState::new(&meta);
    t.servers = servers
        .iter()
        .map(|(name, addr)| ServerRecord {
            name_addr: crate::model::NameAddr::new(name, Some(addr)),
            status: "UP".into(),
            state: crate::model::ServerState::Up,
            weight: None,
            check_status: None,
            last_change_s: None.into(),
            last_known_status: None,
            last_known_state: crate::model::ServerState::Up,
        })
        .collect();
    (Arc::from(meta.id.as_str()), Arc::new(t))
}

fn action(
    target: Option<&str>,
    server: Option<&str>,
    address: Option<&str>,
    state: &str,
) -> ActionRequest {
    ActionRequest {
        target: target.map(str::to_string),
        server: server.map(str::to_string),
        address: address.map(str::to_string),
        state: state.into(),
    }
}

fn live() -> Arc<crate::config::LiveConfig> {
    let config =
        crate::config::Config::new_in_memory("127.0.0.1:0".parse().unwrap(), "unused.redb");
    Arc::new(crate::config::LiveConfig::new(Arc::new(config)))
}

fn targets() -> BTreeMap<Arc<str>, Arc<TargetState>> {
    [
        target("a", "be1", &[("s1", "10.0.0.5:80"), ("s2", "10.0.0.6:80")]),
        target("a", "be2", &[("s1", "10.0.0.5:80")]),
        target("web", "be1", &[("s1", "10.0.0.5:80")]),
    ]
    .into_iter()
    .collect()
}

fn only_socket(id: &str) -> Result<(), String> {
    match id.starts_with("haproxy/web/") {
        true => Err(format!("{id} is read through the stats page")),
        false => Ok(()),
    }
}

#[test]
fn an_address_expands_to_every_server_that_can_change() {
    let steps = plan(
        &[action(None, None, Some("10.0.0.5:80"), "drain")],
        &targets(),
        only_socket,
    )
    .unwrap();
    let ids: Vec<_> = steps
        .iter()
        .map(|s| (s.target.as_str(), s.server.as_str()))
        .collect();
    assert_eq!(ids, [("haproxy/a/be1", "s1"), ("haproxy/a/be2", "s1")]);
    assert!(steps.iter().all(|s| s.instance == "a"));
}

#[test]
fn every_problem_is_listed() {
    let actions = [
        action(Some("haproxy/a/nope"), Some("s1"), None, "drain"),
        action(Some("haproxy/a/be1"), Some("ghost"), None, "maint"),
        action(Some("haproxy/web/be1"), Some("s1"), None, "ready"),
        action(None, None, Some("1.2.3.4:5"), "sleep"),
        action(Some("haproxy/a/be1"), None, Some("10.0.0.5:80"), "drain"),
    ];
    let problems = plan(&actions, &targets(), only_socket).unwrap_err();
    assert_eq!(problems.len(), 6, "{problems:#?}");
    assert!(problems[0].starts_with("action 1: unknown HAProxy backend"));
    assert!(problems[1].contains("no server named \"ghost\""));
    assert!(problems[2].contains("stats page"));
    assert!(problems[3].contains("unknown state \"sleep\""));
    assert!(problems[4].contains("no server has the address 1.2.3.4:5"));
    assert!(problems[5].starts_with("action 5: give either"));
    assert_eq!(plan(&[], &targets(), only_socket).unwrap_err().len(), 1);
}

#[test]
fn one_transaction_at_a_time_per_instance() {
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    let first = claim("tx-1", set(&["edge01", "edge02"])).unwrap();
    assert_eq!(
        claim("tx-2", set(&["edge02", "edge03"])).err(),
        Some(vec!["edge02".to_string()])
    );
    let other = claim("tx-3", set(&["edge03"]));
    assert!(other.is_ok());
    drop(first);
    assert!(claim("tx-4", set(&["edge02"])).is_ok());
}

#[tokio::test]
async fn a_record_left_running_by_a_stopped_daemon_reads_as_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.redb");
    let steps = plan(
        &[action(None, None, Some("10.0.0.5:80"), "drain")],
        &targets(),
        only_socket,
    )
    .unwrap();
    let mut rec = TxRecord::new(new_id(), Some("deploy".into()), &steps);
    rec.steps[0].outcome = StepOutcome::Verified;
    rec.steps[0].previous = Some("ready".into());
    {
        let status = StatusHandle::start(Store::open(&path, 100).unwrap(), live()).unwrap();
        let held = claim(&rec.id, rec.instances()).unwrap();
        txlog::save(&status, &rec).await.unwrap();
        let now = as_now(txlog::get(&status, &rec.id).unwrap().unwrap());
        assert_eq!(now.state, TxState::Running, "still running in this process");
        drop(held);
    }
    // The status thread holds the file until it sees its inbox close.
    let mut reopened = None;
    for _ in 0..1_000_000 {
        if let Ok(store) = Store::open(&path, 100) {
            reopened = Some(StatusHandle::start(store, live()).unwrap());
            break;
        }
        tokio::task::yield_now().await;
    }
    let status = reopened.expect("the store can be opened again");
    let stored = as_now(txlog::get(&status, &rec.id).unwrap().unwrap());
    assert_eq!(stored.state, TxState::Interrupted);
    assert_eq!(stored.steps[0].outcome, StepOutcome::Verified);
    assert_eq!(stored.steps[1].outcome, StepOutcome::Pending);
    assert_eq!(txlog::latest(&status, 5).unwrap().len(), 1);
}
