//! Anti-flap: the state changes of each subject (target, server, instance), and
//! which subjects change too often. Pure code.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::{FetchStatus, TargetState, Ts};

use super::conditions::{Condition, instance_labels, server_labels, target_labels};
use super::config::FlapConfig;
use super::model::{Labels, Rule};

/// The recent state changes of one subject.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    pub labels: Labels,
    /// Times of its changes within the flap window, oldest first.
    pub times: Vec<Ts>,
}

/// The subjects of `prev` whose state read from the source differs in `next`: the
/// target's fetch status (success ⇄ failed), each server's and instance's last known
/// state. A first reading is no change.
pub fn subject_changes(prev: Option<&TargetState>, next: Option<&TargetState>) -> Vec<Labels> {
    let (Some(a), Some(b)) = (prev, next) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let known = |s: FetchStatus| s != FetchStatus::Unknown;
    if known(a.last_fetch_status)
        && known(b.last_fetch_status)
        && a.last_fetch_status != b.last_fetch_status
    {
        out.push(target_labels(b));
    }
    for s in &b.servers {
        let before = a.servers.iter().find(|x| x.name() == s.name());
        if before.is_some_and(|x| x.last_known_state != s.last_known_state) {
            out.push(server_labels(b, s.name()));
        }
    }
    for app in &b.applications {
        let Some(old) = a.applications.iter().find(|x| x.name == app.name) else {
            continue;
        };
        for i in &app.instances {
            let before = old
                .instances
                .iter()
                .find(|x| x.instance_id == i.instance_id);
            if before.is_some_and(|x| x.last_known_state != i.last_known_state) {
                out.push(instance_labels(b, &app.name, &i.instance_id));
            }
        }
    }
    out
}

/// Adds `changed` subjects at their times and forgets changes older than the window.
pub fn record(
    book: &mut std::collections::BTreeMap<String, Box<Changes>>,
    changed: &[(Labels, Ts)],
    now: Ts,
    cfg: &FlapConfig,
) {
    for (labels, at) in changed {
        let key = super::model::alert_id(Rule::Flapping, labels);
        let entry = book.entry(key).or_insert_with(|| {
            Box::new(Changes {
                labels: labels.clone(),
                times: Vec::new(),
            })
        });
        entry.times.push(*at);
    }
    let window = cfg.within.as_millis() as u64;
    for c in book.values_mut() {
        c.times.retain(|t| now.since(*t) < window);
    }
    book.retain(|_, c| !c.times.is_empty());
}

/// The subjects flapping at `now`: at least `changes` changes in the window, or
/// already flapping (`active`) and changed within the last `within`.
pub fn flapping(
    book: &std::collections::BTreeMap<String, Box<Changes>>,
    active: &BTreeSet<String>,
    cfg: &FlapConfig,
) -> Vec<Condition> {
    book.iter()
        .filter(|(id, c)| c.times.len() as u32 >= cfg.changes.max(1) || active.contains(*id))
        .map(|(_, c)| Condition {
            rule: Rule::Flapping,
            labels: c.labels.clone(),
            summary: format!(
                "{}{} changed state {} times within {}",
                c.labels.target,
                subject_suffix(&c.labels),
                c.times.len(),
                humantime::format_duration(cfg.within)
            ),
            error: None,
        })
        .collect()
}

fn subject_suffix(l: &Labels) -> String {
    match (&l.server, &l.app, &l.instance) {
        (Some(s), _, _) => format!(" server {s}"),
        (_, Some(a), Some(i)) => format!(" {a} instance {i}"),
        _ => String::new(),
    }
}
