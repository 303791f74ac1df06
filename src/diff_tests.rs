//! Table tests and properties of the state-transition function.

use proptest::prelude::*;

use super::*;
use crate::model::*;

const T: &str = "haproxy/fdmz01/jurws";
const E: &str = "eureka/main";

fn meta(id: &str, kind: TargetKind) -> TargetMeta {
    TargetMeta {
        id: id.into(),
        kind,
        group: "g".into(),
        source: crate::model::SourceKind::Agent,
        backend_name: None,
        failure_threshold: 3,
    }
}

fn obs(target: &str, at: u64, kind: ObservationKind) -> Observation {
    Observation {
        target: target.into(),
        at: Ts(at),
        kind,
    }
}

fn server(name: &str, status: &str) -> ServerSample {
    ServerSample {
        name: name.into(),
        status: status.into(),
        ..Default::default()
    }
}

fn servers(rows: &[(&str, &str)]) -> ObservationKind {
    ObservationKind::Fetched(Payload::Servers(std::sync::Arc::new(
        rows.iter()
            .map(|(n, s)| server(n, s))
            .collect::<Vec<_>>()
            .into(),
    )))
}

fn failed(msg: &str) -> ObservationKind {
    ObservationKind::FetchFailed {
        error: msg.into(),
        kind: crate::sources::FetchErrorKind::Refused,
    }
}

fn inst(app: &str, id: &str, status: &str) -> InstanceSample {
    InstanceSample {
        instance_id: id.into(),
        app: app.into(),
        status: status.into(),
        ..Default::default()
    }
}

fn apps(list: Vec<(&str, Result<Vec<InstanceSample>, String>)>) -> ObservationKind {
    let apps = list
        .into_iter()
        .map(|(n, r)| AppSample {
            name: n.into(),
            instances: r,
        })
        .collect();
    ObservationKind::Fetched(Payload::Applications(apps))
}

/// Runs observations from a freshly registered target, returning the final state and
/// the events of each step after registration.
fn run(
    target: &str,
    kind: TargetKind,
    steps: Vec<ObservationKind>,
) -> (TargetState, Vec<Vec<EventDraft>>) {
    let mut state = diff(
        None,
        &obs(
            target,
            0,
            ObservationKind::Registered(Box::new(meta(target, kind))),
        ),
    )
    .next
    .unwrap();
    let mut all = Vec::new();
    for (i, k) in steps.into_iter().enumerate() {
        let t = diff(Some(&state), &obs(target, (i as u64 + 1) * 1000, k));
        state = t.next.unwrap();
        all.push(t.events);
    }
    (state, all)
}

/// An event's `data` as it is served.
fn data(e: &EventDraft) -> serde_json::Value {
    serde_json::to_value(&e.data).expect("event data serialises")["data"].clone()
}

fn kinds(events: &[EventDraft]) -> Vec<EventType> {
    events.iter().map(|e| e.kind()).collect()
}

#[test]
fn registering_a_new_target_adds_it_once() {
    let m = ObservationKind::Registered(Box::new(meta(T, TargetKind::HaproxyBackend)));
    let t = diff(None, &obs(T, 1, m.clone()));
    assert_eq!(kinds(&t.events), vec![EventType::TargetAdded]);
    let state = t.next.unwrap();
    assert_eq!(state.last_fetch_status, FetchStatus::Unknown);
    let again = diff(Some(&state), &obs(T, 2, m));
    assert!(again.events.is_empty());
}

#[test]
fn removal_drops_state_with_an_event_and_late_observations_do_not_resurrect() {
    let (state, _) = run(T, TargetKind::HaproxyBackend, vec![]);
    let t = diff(
        Some(&state),
        &obs(
            T,
            5,
            ObservationKind::Removed {
                reason: "config".into(),
            },
        ),
    );
    assert_eq!(t.next, None);
    assert_eq!(kinds(&t.events), vec![EventType::TargetRemoved]);
    let late = diff(None, &obs(T, 6, servers(&[("a", "UP")])));
    assert_eq!(
        late,
        Transition {
            next: None,
            events: vec![]
        }
    );
}

#[test]
fn fetch_failed_is_edge_triggered_from_unknown_and_success() {
    let (s, ev) = run(
        T,
        TargetKind::HaproxyBackend,
        vec![failed("x"), failed("y"), failed("z")],
    );
    assert_eq!(kinds(&ev[0]), vec![EventType::FetchFailed]);
    assert!(ev[1].is_empty() && ev[2].is_empty());
    assert_eq!(s.consecutive_failures, 3);
    assert_eq!(s.last_fetch_error.as_deref(), Some("z"));
    assert_eq!(data(&ev[0][0])["consecutive_failures"], 1);

    let (_, ev) = run(
        T,
        TargetKind::HaproxyBackend,
        vec![servers(&[("a", "UP")]), failed("x")],
    );
    assert_eq!(kinds(&ev[1]), vec![EventType::FetchFailed]);
}

#[test]
fn recovery_fires_once_and_clears_error_and_counter() {
    let (s, ev) = run(
        T,
        TargetKind::HaproxyBackend,
        vec![
            servers(&[("a", "UP")]),
            failed("x"),
            failed("x"),
            servers(&[("a", "UP")]),
            servers(&[("a", "UP")]),
        ],
    );
    assert_eq!(kinds(&ev[3]), vec![EventType::FetchRecovered]);
    assert_eq!(data(&ev[3][0])["consecutive_failures"], 2);
    assert!(ev[4].is_empty());
    assert_eq!(s.last_fetch_status, FetchStatus::Success);
    assert_eq!(s.last_fetch_error, None);
    assert_eq!(s.consecutive_failures, 0);
    assert_eq!(s.last_success_at.get(), Some(Ts(5000)));
}

#[test]
fn failed_backend_keeps_servers_as_no_data_never_down() {
    let (s, ev) = run(
        T,
        TargetKind::HaproxyBackend,
        vec![servers(&[("a", "UP"), ("b", "DOWN")]), failed("refused")],
    );
    assert!(
        !ev[1]
            .iter()
            .any(|e| e.kind() == EventType::ServerStateChanged)
    );
    for srv in &s.servers {
        assert_eq!(&*srv.status, NO_DATA);
        assert_eq!(srv.state, ServerState::Unknown);
    }
    assert_eq!(s.servers[0].last_known_status.as_deref(), Some("UP"));
    assert_eq!(s.servers[1].last_known_status.as_deref(), Some("DOWN"));
}

#[test]
fn first_success_is_a_baseline_without_server_events() {
    let (_, ev) = run(
        T,
        TargetKind::HaproxyBackend,
        vec![servers(&[("a", "DOWN"), ("b", "UP")])],
    );
    assert_eq!(ev[0], vec![]);
}

#[test]
fn server_state_changes_compare_normalised_states() {
    let (s, ev) = run(
        T,
        TargetKind::HaproxyBackend,
        vec![
            servers(&[("a", "UP")]),
            servers(&[("a", "UP 1/3")]), // still up: no event
            servers(&[("a", "DOWN")]),
            servers(&[("a", "DOWN 1/2")]), // still down
            servers(&[("a", "MAINT (via be_app/app1)")]),
            servers(&[("a", "NOLB")]),
        ],
    );
    assert!(ev[1].is_empty() && ev[3].is_empty());
    assert_eq!(data(&ev[2][0])["from"], "up");
    assert_eq!(data(&ev[2][0])["to"], "down");
    assert_eq!(data(&ev[2][0])["previous_status"], "UP 1/3");
    assert_eq!(data(&ev[4][0])["to"], "maint");
    assert_eq!(data(&ev[5][0])["to"], "drain");
    assert_eq!(&*s.servers[0].status, "NOLB");
}

#[test]
fn a_change_during_an_outage_is_reported_once_on_recovery() {
    let (_, ev) = run(
        T,
        TargetKind::HaproxyBackend,
        vec![
            servers(&[("a", "UP")]),
            failed("x"),
            servers(&[("a", "DOWN")]),
        ],
    );
    // Its only server going down also takes the backend from up to down.
    assert_eq!(
        kinds(&ev[2]),
        vec![
            EventType::FetchRecovered,
            EventType::ServerStateChanged,
            EventType::BackendStateChanged
        ]
    );
    assert_eq!(data(&ev[2][1])["from"], "up");
}

#[test]
fn servers_appearing_and_disappearing_after_the_baseline() {
    let (s, ev) = run(
        T,
        TargetKind::HaproxyBackend,
        vec![
            servers(&[("a", "UP")]),
            servers(&[("a", "UP"), ("b", "UP")]),
            servers(&[("b", "UP")]),
        ],
    );
    assert_eq!(data(&ev[1][0])["server"], "b");
    assert_eq!(data(&ev[1][0])["from"], serde_json::Value::Null);
    assert_eq!(data(&ev[2][0])["server"], "a");
    assert_eq!(data(&ev[2][0])["removed"], true);
    assert_eq!(s.servers.len(), 1);
}

#[test]
fn duplicate_server_rows_count_once() {
    let (s, _) = run(
        T,
        TargetKind::HaproxyBackend,
        vec![servers(&[("a", "UP"), ("a", "DOWN")])],
    );
    assert_eq!(s.servers.len(), 1);
    assert_eq!(s.servers[0].state, ServerState::Up);
}

#[test]
fn circuit_transitions_give_one_event_each() {
    let open = ObservationKind::Circuit {
        state: CircuitState::Open,
        next_attempt_at: Some(Ts(9000)),
    };
    let half = ObservationKind::Circuit {
        state: CircuitState::HalfOpen,
        next_attempt_at: None,
    };
    let closed = ObservationKind::Circuit {
        state: CircuitState::Closed,
        next_attempt_at: None,
    };
    let (s, ev) = run(
        T,
        TargetKind::HaproxyBackend,
        vec![open.clone(), open, half, closed.clone(), closed],
    );
    assert_eq!(
        kinds(&ev.concat()),
        vec![
            EventType::CircuitOpened,
            EventType::CircuitHalfOpen,
            EventType::CircuitClosed
        ]
    );
    assert_eq!(
        data(&ev[0][0])["next_attempt_at"],
        "1970-01-01T00:00:09.000Z"
    );
    assert_eq!(s.circuit.opened_count, 1);
    assert_eq!(s.circuit.next_attempt_at, None);
    assert_eq!(s.circuit.last_state_change, Some(Ts(4000)));
}

#[test]
fn reset_closes_the_circuit_and_clears_the_counter() {
    let open = ObservationKind::Circuit {
        state: CircuitState::Open,
        next_attempt_at: Some(Ts(9000)),
    };
    let (s, ev) = run(
        T,
        TargetKind::HaproxyBackend,
        vec![
            failed("x"),
            failed("x"),
            failed("x"),
            open,
            ObservationKind::CircuitReset,
        ],
    );
    assert_eq!(kinds(&ev[4]), vec![EventType::CircuitClosed]);
    assert_eq!(s.consecutive_failures, 0);
    assert_eq!(s.circuit.state, CircuitState::Closed);
    // the fetch is still failed until a poll succeeds
    assert_eq!(s.last_fetch_status, FetchStatus::Failed);
}

#[test]
fn polling_toggle_events_only_on_change() {
    let off = ObservationKind::Polling { enabled: false };
    let on = ObservationKind::Polling { enabled: true };
    let (s, ev) = run(
        T,
        TargetKind::HaproxyBackend,
        vec![on.clone(), off.clone(), off, on],
    );
    assert_eq!(
        kinds(&ev.concat()),
        vec![EventType::PollingDisabled, EventType::PollingEnabled]
    );
    assert!(s.enable_polling);
}

#[test]
fn recovery_and_restart_are_counted() {
    let rec = ObservationKind::Recovery {
        outcome: Box::new(crate::model::RecoveryOutcome {
            action: Some(vec!["true".into()]),
            detail: String::new(),
            refused: false,
            run: Some(crate::model::CommandRun {
                duration_ms: 1,
                exit_code: Some(0),
                ok: true,
            }),
            trigger: crate::model::RecoveryTrigger::Admin,
            validation: None,
        }),
    };
    let (s, ev) = run(
        T,
        TargetKind::HaproxyBackend,
        vec![
            rec,
            ObservationKind::Restarted {
                reason: "panic".into(),
            },
        ],
    );
    assert_eq!(kinds(&ev[0]), vec![EventType::RecoveryAttempted]);
    assert_eq!(data(&ev[0][0])["exit_code"], 0);
    assert!(ev[1].is_empty());
    assert_eq!((s.recovery_attempts, s.restarts), (1, 1));
}

#[test]
fn eureka_server_failure_marks_every_application_failed() {
    let ok = apps(vec![
        ("A", Ok(vec![inst("A", "a1", "UP")])),
        ("B", Ok(vec![inst("B", "b1", "DOWN")])),
    ]);
    let (s, ev) = run(
        E,
        TargetKind::EurekaServer,
        vec![ok, failed("connection refused to eureka main")],
    );
    assert_eq!(kinds(&ev[1]), vec![EventType::FetchFailed]);
    for app in &s.applications {
        assert_eq!(app.last_fetch_status, FetchStatus::Failed);
        assert_eq!(
            app.last_fetch_error.as_deref(),
            Some("connection refused to eureka main")
        );
        assert_eq!(app.instances[0].state, InstanceState::Unknown);
        assert_eq!(&*app.instances[0].status, NO_DATA);
        assert_eq!(app.instances[0].removed_at, None);
    }
}

#[test]
fn one_bad_application_fails_alone() {
    let step1 = apps(vec![
        ("A", Ok(vec![inst("A", "a1", "UP")])),
        ("B", Ok(vec![inst("B", "b1", "UP")])),
    ]);
    let step2 = apps(vec![
        ("A", Ok(vec![inst("A", "a1", "UP")])),
        ("B", Err("instance 1 has no id".into())),
    ]);
    let step3 = apps(vec![
        ("A", Ok(vec![inst("A", "a1", "UP")])),
        ("B", Ok(vec![inst("B", "b1", "UP")])),
    ]);
    let (s, ev) = run(
        E,
        TargetKind::EurekaServer,
        vec![step1, step2.clone(), step2, step3],
    );
    assert_eq!(kinds(&ev[1]), vec![EventType::FetchFailed]);
    assert_eq!(data(&ev[1][0])["application"], "B");
    assert!(ev[2].is_empty());
    assert_eq!(kinds(&ev[3]), vec![EventType::FetchRecovered]);
    assert_eq!(data(&ev[3][0])["application"], "B");
    assert_eq!(s.last_fetch_status, FetchStatus::Success);
    assert!(
        s.applications
            .iter()
            .all(|a| a.last_fetch_status == FetchStatus::Success)
    );
}

#[test]
fn instances_removed_and_restored() {
    let both = || {
        apps(vec![(
            "A",
            Ok(vec![inst("A", "a1", "UP"), inst("A", "a2", "UP")]),
        )])
    };
    let one = apps(vec![("A", Ok(vec![inst("A", "a1", "UP")]))]);
    let (s, ev) = run(
        E,
        TargetKind::EurekaServer,
        vec![both(), one.clone(), one, both()],
    );
    assert_eq!(kinds(&ev[1]), vec![EventType::InstanceRemoved]);
    assert_eq!(data(&ev[1][0])["instance_id"], "a2");
    assert!(ev[2].is_empty());
    assert_eq!(kinds(&ev[3]), vec![EventType::InstanceAdded]);
    assert!(
        s.applications[0]
            .instances
            .iter()
            .all(|i| i.removed_at.is_none())
    );
}

#[test]
fn removed_instance_keeps_removed_at_and_last_status() {
    let (s, _) = run(
        E,
        TargetKind::EurekaServer,
        vec![
            apps(vec![(
                "A",
                Ok(vec![inst("A", "a1", "UP"), inst("A", "a2", "DOWN")]),
            )]),
            apps(vec![("A", Ok(vec![inst("A", "a1", "UP")]))]),
            failed("x"),
        ],
    );
    let a2 = s.applications[0]
        .instances
        .iter()
        .find(|i| &*i.instance_id == "a2")
        .unwrap();
    assert_eq!(a2.removed_at, Some(Ts(2000)));
    assert_eq!(&*a2.status, "DOWN");
}

#[test]
fn a_vanished_application_removes_its_instances() {
    let (s, ev) = run(
        E,
        TargetKind::EurekaServer,
        vec![
            apps(vec![
                ("A", Ok(vec![inst("A", "a1", "UP")])),
                ("B", Ok(vec![inst("B", "b1", "UP")])),
            ]),
            apps(vec![("A", Ok(vec![inst("A", "a1", "UP")]))]),
        ],
    );
    assert_eq!(kinds(&ev[1]), vec![EventType::InstanceRemoved]);
    assert_eq!(s.applications.len(), 2);
}

#[test]
fn instance_state_change_event() {
    let (_, ev) = run(
        E,
        TargetKind::EurekaServer,
        vec![
            apps(vec![("A", Ok(vec![inst("A", "a1", "UP")]))]),
            apps(vec![("A", Ok(vec![inst("A", "a1", "OUT_OF_SERVICE")]))]),
            apps(vec![("A", Ok(vec![inst("A", "a1", "WEIRD")]))]),
        ],
    );
    assert_eq!(kinds(&ev[1]), vec![EventType::InstanceStateChanged]);
    assert_eq!(data(&ev[1][0])["to"], "out_of_service");
    assert_eq!(data(&ev[2][0])["to"], "unknown");
    assert_eq!(data(&ev[2][0])["status"], "WEIRD");
}

#[test]
fn instances_forgotten_after_retention() {
    let mut s = run(
        E,
        TargetKind::EurekaServer,
        vec![
            apps(vec![
                ("A", Ok(vec![inst("A", "a1", "UP")])),
                ("B", Ok(vec![inst("B", "b1", "UP")])),
            ]),
            apps(vec![("A", Ok(vec![inst("A", "a1", "UP")]))]),
        ],
    )
    .0;
    let later = 2000 + eureka::REMOVED_RETENTION_MS;
    s = diff(
        Some(&s),
        &obs(E, later, apps(vec![("A", Ok(vec![inst("A", "a1", "UP")]))])),
    )
    .next
    .unwrap();
    assert_eq!(s.applications.len(), 1);
}

fn arb_step() -> impl Strategy<Value = ObservationKind> {
    let status = prop::sample::select(vec![
        "UP", "DOWN", "MAINT", "DRAIN", "UP 1/3", "no check", "??",
    ]);
    prop_oneof![
        prop::collection::vec((prop::sample::select(vec!["a", "b", "c"]), status), 0..4)
            .prop_map(|rows| servers(&rows)),
        Just(failed("boom")),
        prop::sample::select(vec![
            CircuitState::Closed,
            CircuitState::Open,
            CircuitState::HalfOpen
        ])
        .prop_map(|state| ObservationKind::Circuit {
            state,
            next_attempt_at: None
        }),
        Just(ObservationKind::CircuitReset),
    ]
}

proptest! {
    #[test]
    fn fetch_events_alternate_and_failures_never_say_down(steps in prop::collection::vec(arb_step(), 0..30)) {
        let (_, ev) = run(T, TargetKind::HaproxyBackend, steps.clone());
        let fetch: Vec<_> = ev.concat().into_iter()
            .filter(|e| matches!(e.kind(), EventType::FetchFailed | EventType::FetchRecovered)).collect();
        for pair in fetch.windows(2) {
            prop_assert_ne!(pair[0].kind(), pair[1].kind());
        }
        if let Some(first) = fetch.first() { prop_assert_eq!(first.kind(), EventType::FetchFailed); }
        for (step, events) in steps.iter().zip(&ev) {
            if matches!(step, ObservationKind::FetchFailed { .. }) {
                prop_assert!(events.iter().all(|e| e.kind() == EventType::FetchFailed));
            }
        }
    }

    #[test]
    fn repeating_an_observation_changes_nothing(step in arb_step()) {
        let (s, _) = run(T, TargetKind::HaproxyBackend, vec![servers(&[("a", "UP")]), step.clone()]);
        let again = diff(Some(&s), &obs(T, 2000, step));
        prop_assert_eq!(again.events, vec![]);
    }
}

#[test]
fn a_backend_of_20000_servers_is_merged_by_name_in_one_pass() {
    // Pins the quadratic merge: matching rows by a scan of the stored servers made
    // this case take seconds and a 300,000-server answer minutes.
    let names: Vec<String> = (0..20_000).map(|i| format!("s{i}")).collect();
    let rows = |down: fn(usize) -> bool| {
        let list: Vec<(&str, &str)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), if down(i) { "DOWN" } else { "UP" }))
            .collect();
        servers(&list)
    };
    let (state, events) = run(
        "haproxy/x/big",
        TargetKind::HaproxyBackend,
        vec![rows(|_| false), rows(|i| i % 2 == 0)],
    );
    assert_eq!(state.servers.len(), 20_000);
    assert_eq!(
        events[1].len(),
        10_000,
        "one event per server that went down"
    );
    assert_eq!(state.servers[19_999].name(), "s19999", "answer order kept");
}
