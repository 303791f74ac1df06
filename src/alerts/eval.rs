//! The alert evaluation: `evaluate(book, target, drift, changes, now, config)`
//! brings one target's alerts up to date with its committed state (and the
//! reported drift items whose HAProxy side it is) and returns the alerts that
//! started firing or resolved. Pure code: no clocks, no I/O; `now` is a committed
//! observation time (or the status actor's tick).
//!
//! - A condition seen true starts a `pending` alert (`since = now`); it fires once
//!   it has held for the rule's `for` (at the first evaluation at or after
//!   `since + for`); `0s` fires at once. Pending alerts whose condition clears
//!   are forgotten without an event.
//! - A firing alert whose condition is false resolves (`resolved_at = now`).
//! - No data is not down: alerts of rules that read a source's data stay exactly
//!   as they are while that data cannot be fetched.
//! - While a subject flaps, its own alerts stay exactly as they are.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::drift::DriftItem;
use crate::model::{TargetState, Ts};

use super::conditions::{Condition, conditions, no_data};
use super::config::{AlertsConfig, KEEP_RESOLVED};
use super::flap::{self, Changes};
use super::model::{Alert, AlertState, AlertTransition, Labels, Rule, alert_id};

/// The alerts of one target and the recent state changes of its subjects.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetAlerts {
    /// By alert id. Boxed: a book usually holds one or two, and a map node
    /// holds room for eleven (4 KB of unboxed alerts per target when all of
    /// 10,000 backends fail at once).
    pub alerts: BTreeMap<String, Box<Alert>>,
    /// Recent changes per subject, by the id of the subject's `flapping` alert.
    pub changes: BTreeMap<String, Box<Changes>>,
}

impl TargetAlerts {
    /// Whether there is nothing to keep.
    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty() && self.changes.is_empty()
    }

    /// Whether time alone can change something at `now`: a hold that ran out, a
    /// change history to age, a resolved alert to forget.
    pub fn due(&self, now: Ts, cfg: &AlertsConfig) -> bool {
        !self.changes.is_empty()
            || self.alerts.values().any(|a| match a.state {
                AlertState::Pending => now >= a.since.plus(cfg.rule(a.rule).hold),
                AlertState::Firing => a.rule == Rule::Flapping,
                AlertState::Resolved => expired(a, now),
            })
    }
}

/// Brings `book` up to date with `target` (`None`: the target is gone) and the
/// reported drift items `drift` of it at `now`, after the subjects in `changed`
/// changed state at the given times.
pub fn evaluate(
    book: &mut TargetAlerts,
    target: Option<&TargetState>,
    drift: &[&DriftItem],
    changed: &[(Labels, Ts)],
    now: Ts,
    cfg: &AlertsConfig,
) -> Vec<AlertTransition> {
    let mut out = Vec::new();
    let Some(t) = target else {
        book.changes.clear();
        reconcile(book, Vec::new(), &|_, _| false, now, cfg, &mut out);
        return out;
    };
    flap::record(&mut book.changes, changed, now, &cfg.flapping);
    let active: BTreeSet<String> = book
        .alerts
        .values()
        .filter(|a| a.rule == Rule::Flapping && a.state != AlertState::Resolved)
        .map(|a| a.id.clone())
        .collect();
    let flapping = flap::flapping(&book.changes, &active, &cfg.flapping);
    let subjects: BTreeSet<Labels> = flapping.iter().map(|c| c.labels.clone()).collect();
    let mut conds = conditions(t, drift, cfg);
    if cfg.rule(Rule::Flapping).enabled {
        conds.extend(flapping);
    }
    let frozen = |rule: Rule, labels: &Labels| {
        no_data(t, rule, labels) || (rule != Rule::Flapping && subjects.contains(labels))
    };
    reconcile(book, conds, &frozen, now, cfg, &mut out);
    for a in book.alerts.values_mut() {
        a.flapping = a.rule != Rule::Flapping && subjects.contains(&a.labels);
    }
    out
}

fn expired(a: &Alert, now: Ts) -> bool {
    a.resolved_at
        .is_some_and(|r| now.since(r) >= KEEP_RESOLVED.as_millis() as u64)
}

fn reconcile(
    book: &mut TargetAlerts,
    conds: Vec<Condition>,
    frozen: &dyn Fn(Rule, &Labels) -> bool,
    now: Ts,
    cfg: &AlertsConfig,
    out: &mut Vec<AlertTransition>,
) {
    let mut holding: BTreeMap<String, Condition> = conds
        .into_iter()
        .map(|c| (alert_id(c.rule, &c.labels), c))
        .collect();
    book.alerts.retain(|id, a| {
        if frozen(a.rule, &a.labels) {
            holding.remove(id);
            return true;
        }
        match holding.remove(id) {
            Some(c) if a.state == AlertState::Resolved => {
                **a = start(id.clone(), c, now, cfg, out);
                true
            }
            Some(c) => {
                a.summary = c.summary;
                a.error = c.error;
                a.severity = cfg.rule(a.rule).severity;
                promote(a, now, cfg, out);
                true
            }
            None => keep_without_condition(a, now, out),
        }
    });
    for (id, c) in holding {
        if !frozen(c.rule, &c.labels) {
            let a = start(id.clone(), c, now, cfg, out);
            book.alerts.insert(id, Box::new(a));
        }
    }
}

/// A condition that stopped holding: pending is forgotten, firing resolves,
/// resolved is kept until it expires.
fn keep_without_condition(a: &mut Alert, now: Ts, out: &mut Vec<AlertTransition>) -> bool {
    match a.state {
        AlertState::Pending => false,
        AlertState::Firing => {
            a.state = AlertState::Resolved;
            a.resolved_at = Some(now);
            out.push(AlertTransition::Resolved(a.clone()));
            true
        }
        AlertState::Resolved => !expired(a, now),
    }
}

fn start(
    id: String,
    c: Condition,
    now: Ts,
    cfg: &AlertsConfig,
    out: &mut Vec<AlertTransition>,
) -> Alert {
    let mut a = Alert {
        id,
        rule: c.rule,
        severity: cfg.rule(c.rule).severity,
        state: AlertState::Pending,
        labels: c.labels,
        summary: c.summary,
        since: now,
        fired_at: None,
        resolved_at: None,
        error: c.error,
        silenced_by: Vec::new(),
        flapping: false,
    };
    promote(&mut a, now, cfg, out);
    a
}

fn promote(a: &mut Alert, now: Ts, cfg: &AlertsConfig, out: &mut Vec<AlertTransition>) {
    if a.state == AlertState::Pending && now >= a.since.plus(cfg.rule(a.rule).hold) {
        a.state = AlertState::Firing;
        a.fired_at = Some(now);
        out.push(AlertTransition::Firing(a.clone()));
    }
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
