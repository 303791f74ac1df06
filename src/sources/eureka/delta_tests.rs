//! Tests of the local registry copy: full replace, delta application, the hashcode
//! check, and the fixtures' full + delta pairs.

use super::*;
use crate::sources::eureka::json;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/eureka/",
            $name
        ))
    };
}

fn inst(app: &str, id: &str, status: &str, action: &str) -> InstanceSample {
    InstanceSample {
        instance_id: id.into(),
        app: app.into(),
        status: status.into(),
        action_type: Some(action.into()),
        ..Default::default()
    }
}

fn app(name: &str, instances: Vec<InstanceSample>) -> AppSample {
    AppSample {
        name: name.into(),
        instances: Ok(instances),
    }
}

fn delta(apps: Vec<AppSample>, hashcode: &str) -> Document {
    Document {
        apps,
        hashcode: Some(hashcode.into()),
    }
}

/// `(app, id, status)` of every instance.
fn ids(apps: &[AppSample]) -> Vec<(String, String, String)> {
    let each = |a: &AppSample| {
        let list = a.instances.clone().unwrap_or_default();
        let name = a.name.clone();
        list.into_iter()
            .map(move |i| (name.clone(), i.instance_id, i.status))
    };
    apps.iter().flat_map(each).collect()
}

fn row(app: &str, id: &str, status: &str) -> (String, String, String) {
    (app.into(), id.into(), status.into())
}

/// A state holding FOO (f1, f2 UP) and BAR (b1 UP).
fn started() -> DeltaState {
    let state = DeltaState::new(true);
    let full = vec![
        app(
            "FOO",
            vec![
                inst("FOO", "f2", "UP", "ADDED"),
                inst("FOO", "f1", "UP", "ADDED"),
            ],
        ),
        app("BAR", vec![inst("BAR", "b1", "UP", "ADDED")]),
    ];
    let got = state.replace(full);
    let want = [
        row("BAR", "b1", "UP"),
        row("FOO", "f1", "UP"),
        row("FOO", "f2", "UP"),
    ];
    assert_eq!(ids(&got), want, "sorted by app, then by id");
    state
}

#[test]
fn added_modified_and_deleted_are_applied() {
    let state = started();
    assert!(state.wants_delta());
    let changes = vec![
        app(
            "FOO",
            vec![
                inst("FOO", "f1", "DOWN", "MODIFIED"),
                inst("FOO", "f3", "UP", "ADDED"),
            ],
        ),
        app("BAR", vec![inst("BAR", "b1", "UP", "DELETED")]),
        app("NEW", vec![inst("NEW", "n1", "STARTING", "MODIFIED")]),
    ];
    let DeltaOutcome::Applied(apps) = state.apply(&delta(changes, "DOWN_1_STARTING_1_UP_2_"))
    else {
        panic!("the delta should apply");
    };
    let want = [
        row("FOO", "f1", "DOWN"),
        row("FOO", "f2", "UP"),
        row("FOO", "f3", "UP"),
        row("NEW", "n1", "STARTING"),
    ];
    assert_eq!(ids(&apps), want, "BAR emptied and removed, NEW created");
    let empty = delta(Vec::new(), "DOWN_1_STARTING_1_UP_2_");
    assert_eq!(state.apply(&empty), DeltaOutcome::Applied(apps));
    let stats = state.stats();
    assert_eq!(
        (stats.full_fetches, stats.deltas_applied, stats.fallbacks),
        (1, 2, 0)
    );
}

#[test]
fn unknown_actions_and_unknown_ids_change_nothing() {
    let state = started();
    let changes = vec![
        app(
            "FOO",
            vec![
                inst("FOO", "f1", "DOWN", "SOMETHING"),
                inst("FOO", "zz", "UP", "DELETED"),
            ],
        ),
        app("NONE", vec![inst("NONE", "x", "UP", "DELETED")]),
    ];
    let outcome = state.apply(&delta(changes, "UP_3_"));
    assert!(
        matches!(outcome, DeltaOutcome::Applied(ref a) if a.len() == 2),
        "{outcome:?}"
    );
}

#[test]
fn a_hashcode_mismatch_drops_the_copy() {
    let state = started();
    let changes = vec![app("FOO", vec![inst("FOO", "f1", "DOWN", "MODIFIED")])];
    let DeltaOutcome::Refetch(why) = state.apply(&delta(changes, "UP_3_")) else {
        panic!("a lying hashcode must not be accepted");
    };
    assert!(
        why.contains("local \"DOWN_1_UP_2_\", server \"UP_3_\""),
        "{why}"
    );
    assert!(!state.wants_delta(), "a full fetch is due");
    let DeltaOutcome::Refetch(why) = state.apply(&delta(Vec::new(), "")) else {
        panic!("no copy, no delta");
    };
    assert!(why.contains("no local copy"), "{why}");
    let missing = Document {
        apps: Vec::new(),
        hashcode: None,
    };
    let state = started();
    assert!(matches!(state.apply(&missing), DeltaOutcome::Refetch(_)));
    assert_eq!(state.stats().fallbacks, 1);
}

#[test]
fn an_unreadable_delta_application_makes_the_delta_unusable() {
    let state = started();
    let bad = AppSample {
        name: "FOO".into(),
        instances: Err("application FOO: no id".into()),
    };
    let DeltaOutcome::Refetch(why) = state.apply(&delta(vec![bad], "UP_3_")) else {
        panic!("unusable");
    };
    assert!(
        why.contains("the delta is unusable: application FOO: no id"),
        "{why}"
    );
    assert!(!state.wants_delta());
}

#[test]
fn a_failed_application_stays_failed_and_forces_full_fetches() {
    let state = DeltaState::new(true);
    let bad = AppSample {
        name: "BAD".into(),
        instances: Err("no id".into()),
    };
    let got = state.replace(vec![
        bad.clone(),
        app("OK", vec![inst("OK", "o1", "UP", "ADDED")]),
    ]);
    assert_eq!(got[0], bad);
    let changes = vec![app("BAD", vec![inst("BAD", "x", "UP", "ADDED")])];
    assert!(matches!(
        state.apply(&delta(changes, "UP_2_")),
        DeltaOutcome::Refetch(_)
    ));
}

#[test]
fn without_deltas_a_full_fetch_passes_through_unchanged() {
    let state = DeltaState::new(false);
    let full = vec![app(
        "Z",
        vec![inst("Z", "2", "UP", "ADDED"), inst("Z", "1", "UP", "ADDED")],
    )];
    assert_eq!(state.replace(full.clone()), full);
    assert!(!state.wants_delta());
    state.count_bytes(10);
    state.count_bytes(5);
    assert_eq!(state.bytes_transferred(), 15);
    assert_eq!(DeltaState::new(false), state, "equal by configuration only");
    assert_ne!(DeltaState::new(true), state);
}

#[test]
fn steeltoe_full_then_delta_fixtures() {
    let state = DeltaState::new(true);
    let full = json::parse_document(fixture!("steeltoe_apps_foo_added.json")).unwrap();
    state.replace(full.apps);
    let modified = json::parse_document(fixture!("steeltoe_apps_delta_foo_modified.json")).unwrap();
    let DeltaOutcome::Applied(apps) = state.apply(&modified) else {
        panic!("UP_1_ agrees");
    };
    let foo = apps[0].instances.as_ref().unwrap();
    assert_eq!(foo.len(), 1);
    assert_eq!(foo[0].host_name.as_deref(), Some("modified-host"));
    let (want_lease, want_endpoint) = (&modified.apps[0].instances.as_ref().unwrap()[0], &foo[0]);
    assert_eq!(
        want_endpoint.lease, want_lease.lease,
        "the delta's lease replaces the copy's"
    );
    assert!(
        foo[0]
            .lease
            .as_ref()
            .is_some_and(|l| l.duration_s.is_some())
    );
    assert!(foo[0].endpoint.is_some());
    let state = DeltaState::new(true);
    state.replace(json::parse_apps(fixture!("steeltoe_apps_full.json")).unwrap());
    let delta = json::parse_document(fixture!("steeltoe_apps_delta_modified.json")).unwrap();
    assert!(matches!(state.apply(&delta), DeltaOutcome::Applied(_)));
}
