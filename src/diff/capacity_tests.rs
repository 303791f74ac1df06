//! Backend capacity and `backend_state_changed`.

use std::sync::Arc;

use super::diff;
use crate::model::{
    Capacity, EventType, Observation, ObservationKind, Payload, ServerSample, TargetKind,
    TargetMeta, TargetState, Ts,
};

fn step(prev: Option<&TargetState>, statuses: &[&str]) -> (TargetState, Vec<EventType>) {
    let kind = match prev {
        None => ObservationKind::Registered(Box::new(TargetMeta {
            id: "haproxy/a/be".into(),
            kind: TargetKind::HaproxyBackend,
            group: "a".into(),
            source: crate::model::SourceKind::Agent,
            backend_name: Some("be".into()),
            failure_threshold: 3,
        })),
        Some(_) => {
            let rows: Vec<ServerSample> = statuses
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
    };
    let obs = Observation {
        target: "haproxy/a/be".into(),
        at: Ts(1),
        kind,
    };
    let t = diff(prev, &obs);
    (t.next.unwrap(), t.events.iter().map(|e| e.kind()).collect())
}

#[test]
fn capacity_counts_up_servers_and_the_edge_to_none_is_an_event() {
    let (s, _) = step(None, &[]);
    let (s, ev) = step(Some(&s), &["UP", "MAINT", "DRAIN"]);
    assert_eq!(s.capacity, Some(Capacity { up: 1, total: 3 }));
    assert!(!ev.contains(&EventType::BackendStateChanged), "baseline");
    let (s, ev) = step(Some(&s), &["DOWN", "MAINT", "DRAIN"]);
    assert_eq!(s.capacity, Some(Capacity { up: 0, total: 3 }));
    assert!(ev.contains(&EventType::BackendStateChanged));
    let (s, ev) = step(Some(&s), &["DOWN", "MAINT", "DOWN"]);
    assert!(
        !ev.contains(&EventType::BackendStateChanged),
        "still none up"
    );
    let (s, ev) = step(Some(&s), &["UP", "MAINT", "DOWN"]);
    assert!(ev.contains(&EventType::BackendStateChanged));
    let failed = Observation {
        target: "haproxy/a/be".into(),
        at: Ts(2),
        kind: ObservationKind::FetchFailed {
            error: "x".into(),
            kind: crate::sources::FetchErrorKind::Timeout,
        },
    };
    let kept = diff(Some(&s), &failed).next.unwrap();
    assert_eq!(
        kept.capacity,
        Some(Capacity { up: 1, total: 3 }),
        "no data is not down"
    );
}
