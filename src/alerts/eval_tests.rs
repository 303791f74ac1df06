//! Table tests and properties of the alert evaluation.

use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::diff::diff;
use crate::model::{
    Observation, ObservationKind, Payload, ServerSample, TargetKind, TargetMeta, TargetState, Ts,
};

fn meta() -> TargetMeta {
    TargetMeta {
        id: "haproxy/a/be".into(),
        kind: TargetKind::HaproxyBackend,
        group: "a".into(),
        source: crate::model::SourceKind::Agent,
        backend_name: Some("be".into()),
        failure_threshold: 3,
    }
}

fn obs(at: u64, kind: ObservationKind) -> Observation {
    Observation {
        target: "haproxy/a/be".into(),
        at: Ts(at),
        kind,
    }
}

fn servers(states: &[&str]) -> ObservationKind {
    let rows: Vec<ServerSample> = states
        .iter()
        .enumerate()
        .map(|(i, s)| ServerSample {
            name: format!("s{i}"),
            status: (*s).into(),
            ..ServerSample::default()
        })
        .collect();
    ObservationKind::Fetched(Payload::Servers(Arc::new(rows.into())))
}

fn failed() -> ObservationKind {
    ObservationKind::FetchFailed {
        error: "connection refused".into(),
        kind: crate::sources::FetchErrorKind::Refused,
    }
}

/// Drives a target through observations, evaluating after each; returns the
/// transitions as (rule, server, firing?, at).
struct Run {
    state: Option<TargetState>,
    book: TargetAlerts,
    cfg: AlertsConfig,
    log: Vec<(Rule, Option<String>, bool, u64)>,
    /// The reported drift items of the target.
    drift: Vec<crate::drift::DriftItem>,
}

impl Run {
    fn new() -> Run {
        let t = diff(None, &obs(0, ObservationKind::Registered(Box::new(meta()))));
        Run {
            state: t.next,
            book: TargetAlerts::default(),
            cfg: AlertsConfig::default(),
            log: Vec::new(),
            drift: Vec::new(),
        }
    }

    fn step(&mut self, at: u64, kind: ObservationKind) -> &mut Run {
        let next = diff(self.state.as_ref(), &obs(at, kind)).next;
        let changed: Vec<_> = flap::subject_changes(self.state.as_ref(), next.as_ref())
            .into_iter()
            .map(|l| (l, Ts(at)))
            .collect();
        self.state = next;
        let drift: Vec<_> = self.drift.iter().collect();
        let out = evaluate(
            &mut self.book,
            self.state.as_ref(),
            &drift,
            &changed,
            Ts(at),
            &self.cfg,
        );
        for t in out {
            let (a, firing) = match t {
                AlertTransition::Firing(a) => (a, true),
                AlertTransition::Resolved(a) => (a, false),
            };
            self.log.push((a.rule, a.labels.server.clone(), firing, at));
        }
        self
    }

    fn state_of(&self, rule: Rule) -> Vec<AlertState> {
        self.book
            .alerts
            .values()
            .filter(|a| a.rule == rule)
            .map(|a| a.state)
            .collect()
    }
}

#[test]
fn a_server_down_longer_than_its_hold_fires_once_and_resolves() {
    let mut r = Run::new();
    r.step(1000, servers(&["UP", "UP"]))
        .step(2000, servers(&["UP", "DOWN"]))
        .step(10_000, servers(&["UP", "DOWN"]))
        .step(17_000, servers(&["UP", "DOWN"]))
        .step(20_000, servers(&["UP", "DOWN"]))
        .step(30_000, servers(&["UP", "UP"]));
    let s1 = Some("s1".to_string());
    assert_eq!(
        r.log,
        vec![
            (Rule::ServerDown, s1.clone(), true, 17_000),
            (Rule::ServerDown, s1, false, 30_000)
        ]
    );
    let a = r
        .book
        .alerts
        .values()
        .find(|a| a.rule == Rule::ServerDown)
        .unwrap();
    assert_eq!(
        (a.since, a.fired_at, a.resolved_at),
        (Ts(2000), Some(Ts(17_000)), Some(Ts(30_000)))
    );
}

#[test]
fn a_blip_shorter_than_the_hold_fires_nothing() {
    let mut r = Run::new();
    r.step(1000, servers(&["UP", "UP"]))
        .step(2000, servers(&["UP", "DOWN"]))
        .step(5000, servers(&["UP", "UP"]));
    assert!(r.log.is_empty());
    assert!(r.book.alerts.is_empty());
}

#[test]
fn maint_and_drain_fire_nothing() {
    let mut r = Run::new();
    r.step(1000, servers(&["UP", "UP", "UP", "UP"]))
        .step(2000, servers(&["UP", "MAINT", "DRAIN", "UP"]))
        .step(100_000, servers(&["UP", "MAINT", "DRAIN", "UP"]));
    assert!(r.log.is_empty(), "{:?}", r.log);
}

#[test]
fn an_unreachable_target_raises_only_target_unreachable_and_keeps_the_rest() {
    let mut r = Run::new();
    r.step(1000, servers(&["UP", "DOWN"]))
        .step(20_000, servers(&["UP", "DOWN"]));
    assert_eq!(r.state_of(Rule::ServerDown), vec![AlertState::Firing]);
    r.step(21_000, failed())
        .step(60_000, failed())
        .step(100_000, failed());
    let rules: Vec<Rule> = r.log.iter().map(|l| l.0).collect();
    assert_eq!(rules, vec![Rule::ServerDown, Rule::TargetUnreachable]);
    assert_eq!(
        r.state_of(Rule::ServerDown),
        vec![AlertState::Firing],
        "kept as it was"
    );
    assert!(r.state_of(Rule::BackendDown).is_empty());
    r.step(101_000, servers(&["UP", "UP"]));
    assert_eq!(r.state_of(Rule::ServerDown), vec![AlertState::Resolved]);
    assert_eq!(
        r.state_of(Rule::TargetUnreachable),
        vec![AlertState::Resolved]
    );
}

#[test]
fn the_last_server_going_down_fires_backend_down_at_once() {
    let mut r = Run::new();
    r.step(1000, servers(&["UP", "DOWN"]))
        .step(2000, servers(&["DOWN", "DOWN"]));
    assert!(
        r.log.contains(&(Rule::BackendDown, None, true, 2000)),
        "{:?}",
        r.log
    );
}

#[test]
fn a_degraded_backend_fires_after_its_hold() {
    let mut r = Run::new();
    r.step(1000, servers(&["UP", "DOWN", "DOWN"]))
        .step(30_000, servers(&["UP", "DOWN", "DOWN"]));
    assert_eq!(r.state_of(Rule::BackendDegraded), vec![AlertState::Pending]);
    r.step(61_000, servers(&["UP", "DOWN", "DOWN"]));
    assert_eq!(r.state_of(Rule::BackendDegraded), vec![AlertState::Firing]);
}

#[test]
fn a_toggling_server_raises_one_flapping_and_no_fires() {
    let mut r = Run::new();
    r.cfg.rules.get_mut(&Rule::ServerDown).unwrap().hold = Duration::from_secs(5);
    r.step(0, servers(&["UP", "UP"]));
    for i in 1..=6u64 {
        let s = if i % 2 == 1 { "DOWN" } else { "UP" };
        r.step(i * 10_000, servers(&["UP", s]));
        r.step(i * 10_000 + 8_000, servers(&["UP", s]));
    }
    let flaps: Vec<_> = r.log.iter().filter(|l| l.0 == Rule::Flapping).collect();
    assert_eq!(flaps.len(), 1, "{:?}", r.log);
    let downs = r
        .log
        .iter()
        .filter(|l| l.0 == Rule::ServerDown && l.2)
        .count();
    assert!(downs < 3, "server_down fired {downs} times: {:?}", r.log);
    // Stable for the window: flapping resolves.
    r.step(700_000, servers(&["UP", "UP"]));
    assert_eq!(r.state_of(Rule::Flapping), vec![AlertState::Resolved]);
}

#[test]
fn a_pending_hold_continues_from_its_committed_start() {
    let mut r = Run::new();
    r.step(1000, servers(&["UP", "DOWN"]));
    let saved = serde_json::to_vec(&r.book).unwrap();
    r.book = serde_json::from_slice(&saved).unwrap();
    r.step(16_000, servers(&["UP", "DOWN"]));
    assert_eq!(
        r.log,
        vec![(Rule::ServerDown, Some("s1".into()), true, 16_000)]
    );
}

#[test]
fn a_removed_target_resolves_its_alerts() {
    let mut r = Run::new();
    r.step(1000, servers(&["DOWN"]));
    let out = evaluate(&mut r.book, None, &[], &[], Ts(2000), &r.cfg);
    assert!(
        out.iter()
            .all(|t| matches!(t, AlertTransition::Resolved(_)))
    );
    assert!(!out.is_empty());
}

fn status() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("UP"), Just("DOWN"), Just("MAINT"), Just("DRAIN")]
}

fn step() -> impl Strategy<Value = Option<Vec<&'static str>>> {
    prop_oneof![
        1 => Just(None),
        4 => proptest::collection::vec(status(), 0..4).prop_map(Some),
    ]
}

proptest! {
    /// Whatever happens: fires and resolves alternate per alert, nothing fires
    /// from a failed fetch, firing alerts have fired_at >= since + hold.
    #[test]
    fn lifecycle_invariants(steps in proptest::collection::vec((step(), 1u64..40_000), 1..40)) {
        let mut r = Run::new();
        let mut at = 0;
        let mut firing: std::collections::BTreeMap<String, bool> = Default::default();
        for (s, dt) in steps {
            at += dt;
            let kind = match &s { Some(v) => servers(v), None => failed() };
            let before = r.log.len();
            r.step(at, kind);
            for (rule, server, fire, _) in &r.log[before..] {
                if s.is_none() {
                    prop_assert!(!super::super::conditions::reads_data(*rule) || !*fire, "{rule} fired without data");
                }
                let key = format!("{rule}/{server:?}");
                let was = firing.insert(key, *fire).unwrap_or(false);
                prop_assert_ne!(was, *fire, "fired or resolved twice");
            }
            for a in r.book.alerts.values() {
                if let Some(f) = a.fired_at {
                    prop_assert!(f >= a.since.plus(r.cfg.rule(a.rule).hold));
                }
            }
        }
    }
}

fn drift_item() -> crate::drift::DriftItem {
    use crate::drift::{DriftItem, DriftKind, EurekaSide, HaproxySide, ItemState};
    DriftItem {
        id: "d1".into(),
        kind: DriftKind::RegisteredNotServing,
        endpoint: "10.0.0.1:80".into(),
        since: Ts(0),
        state: ItemState::Active,
        reported: true,
        haproxy: HaproxySide {
            backend: "be".into(),
            fetched_at: None,
            server: Some("s0".into()),
            status: Some("DOWN".into()),
            target: "haproxy/a/be".into(),
        },
        eureka: EurekaSide {
            app: "APP".into(),
            fetched_at: None,
            instance_id: None,
            status: None,
            target: "eureka/main".into(),
        },
    }
}

#[test]
fn a_reported_drift_fires_at_once_stays_while_a_side_is_stale_and_resolves_with_it() {
    let mut r = Run::new();
    r.step(1000, servers(&["UP"]));
    r.drift = vec![drift_item()];
    r.step(2000, servers(&["UP"]));
    assert_eq!(r.log, vec![(Rule::Drift, Some("s0".into()), true, 2000)]);
    let a = r
        .book
        .alerts
        .values()
        .find(|a| a.rule == Rule::Drift)
        .unwrap();
    let labels = &a.labels;
    assert_eq!(
        (labels.kind.as_deref(), labels.endpoint.as_deref()),
        (Some("registered_not_serving"), Some("10.0.0.1:80"))
    );
    assert_eq!(
        (labels.app.as_deref(), labels.instance.as_deref()),
        (Some("APP"), None)
    );
    assert_eq!(a.severity, crate::alerts::Severity::Warning);
    r.drift[0].state = crate::drift::ItemState::Unknown;
    r.step(3000, failed());
    r.drift.clear();
    r.step(4000, servers(&["UP"]));
    let drift_log: Vec<_> = r.log.iter().filter(|l| l.0 == Rule::Drift).collect();
    assert_eq!(drift_log.len(), 2, "{drift_log:?}");
    assert_eq!((drift_log[1].2, drift_log[1].3), (false, 4000));
}

#[test]
fn the_drift_rule_can_be_disabled() {
    let mut r = Run::new();
    r.cfg.rules.get_mut(&Rule::Drift).unwrap().enabled = false;
    r.drift = vec![drift_item()];
    r.step(1000, servers(&["UP"]));
    assert!(r.log.is_empty(), "{:?}", r.log);
}
