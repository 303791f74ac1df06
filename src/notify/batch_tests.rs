//! Table-style tests of the grouping state machine.

use std::collections::BTreeMap;
use std::time::Duration;

use super::alert::{Transition, sample};
use super::batch::{Batcher, Settings};
use crate::model::Ts;

fn settings() -> Settings {
    Settings {
        notifier: "hook".into(),
        group_by: Some(vec!["group".into()]),
        group_wait: Duration::from_secs(10),
        group_interval: Duration::from_secs(60),
        repeat_interval: Duration::from_secs(3600),
        send_resolved: true,
        matchers: BTreeMap::new(),
    }
}

fn t(seq: u64, ms: u64, id: &str, group: &str, firing: bool) -> Transition {
    Transition {
        seq,
        ts: Ts(ms),
        alert: sample(id, group, firing),
    }
}

#[test]
fn alerts_of_one_group_within_group_wait_go_out_as_one_message() {
    let mut b = Batcher::new(settings(), 0, BTreeMap::new());
    for i in 0..10 {
        b.fold(
            &t(i + 1, 1_000 + i * 100, &format!("app{i}"), "fdmz01", true),
            false,
        );
    }
    b.fold(&t(11, 1_500, "other", "fdmz02", true), false);
    assert_eq!(b.next_due(), Some(Ts(11_000)));
    assert!(b.due(Ts(10_999)).is_empty());
    let out = b.due(Ts(11_000));
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].alerts.len(), 10);
    assert!(out[0].firing);
    assert_eq!(b.cursor(), 0);
    let delivered = b.done(&out[0], Ts(11_000));
    assert_eq!(delivered, 10);
    assert_eq!(b.cursor(), 10, "fdmz02's transition is still undelivered");
    let out = b.due(Ts(11_500));
    assert_eq!(out[0].group["group"], "fdmz02");
}

#[test]
fn a_message_keeps_its_id_through_retries_and_a_restart() {
    let mut b = Batcher::new(settings(), 0, BTreeMap::new());
    b.fold(&t(5, 0, "app1", "g", true), false);
    let first = b.due(Ts(10_000));
    b.fold(&t(6, 10_500, "app2", "g", true), false);
    let again = b.due(Ts(20_000));
    assert_eq!(
        again, first,
        "the message in flight is not changed by a newer alert"
    );
    let mut restarted = Batcher::new(settings(), 0, BTreeMap::new());
    restarted.fold(&t(5, 0, "app1", "g", true), false);
    restarted.fold(&t(6, 10_500, "app2", "g", true), false);
    let after = restarted.due(Ts(30_000));
    assert_eq!(after[0].delivery_id, first[0].delivery_id);
}

#[test]
fn later_changes_wait_for_group_interval_and_resolutions_are_sent() {
    let mut b = Batcher::new(settings(), 0, BTreeMap::new());
    b.fold(&t(1, 0, "app1", "g", true), false);
    let m = b.due(Ts(10_000));
    b.done(&m[0], Ts(10_000));
    b.fold(&t(2, 20_000, "app1", "g", false), false);
    assert_eq!(b.next_due(), Some(Ts(70_000)));
    let m = b.due(Ts(70_000));
    assert!(!m[0].firing);
    assert_eq!(m[0].alerts[0].state, "resolved");
    b.done(&m[0], Ts(70_000));
    assert_eq!(
        b.next_due(),
        None,
        "a resolved group has nothing more to send"
    );
    assert_eq!(b.cursor(), 2);
}

#[test]
fn silenced_unmatched_and_already_delivered_alerts_are_not_sent() {
    let mut s = settings();
    s.matchers = BTreeMap::from([("severity".to_string(), vec!["critical".to_string()])]);
    let mut b = Batcher::new(s, 0, BTreeMap::from([(r#"{"group":"d"}"#.to_string(), 7)]));
    let mut silenced = t(1, 0, "a", "g", true);
    silenced.alert.silenced_by = vec!["s1".into()];
    b.fold(&silenced, false);
    let mut warning = t(2, 0, "b", "g", true);
    warning.alert.severity = "warning".into();
    b.fold(&warning, false);
    b.fold(&t(7, 0, "c", "d", true), false);
    assert!(b.due(Ts(3_599_999)).is_empty());
    let repeat = b.due(Ts(3_600_000));
    assert_eq!(
        repeat.len(),
        1,
        "only the repeat of the delivered group: {repeat:?}"
    );
    assert_eq!(repeat[0].group["group"], "d");
    assert_eq!(b.pending(), 0);
}

#[test]
fn a_backlog_goes_out_as_the_current_state_of_each_group() {
    let mut b = Batcher::new(settings(), 0, BTreeMap::new());
    for seq in 1..=6 {
        b.fold(&t(seq, seq * 10, "app1", "g", seq % 2 == 1), false);
    }
    let m = b.due(Ts(100_000));
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].alerts.len(), 1);
    assert_eq!(m[0].alerts[0].state, "resolved");
}

#[test]
fn per_alert_groups_repeat_every_resend() {
    let mut s = settings();
    s.group_by = None;
    s.group_wait = Duration::ZERO;
    s.group_interval = Duration::ZERO;
    s.repeat_interval = Duration::from_secs(60);
    let mut b = Batcher::new(s, 0, BTreeMap::new());
    b.fold(&t(1, 0, "a", "g", true), false);
    b.fold(&t(2, 0, "b", "g", true), false);
    let m = b.due(Ts(0));
    assert_eq!(m.len(), 2);
    for msg in &m {
        b.done(msg, Ts(0));
    }
    assert_eq!(b.next_due(), Some(Ts(60_000)));
    assert_eq!(b.firing_count(), 2);
}
