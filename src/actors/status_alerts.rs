//! The alert step of the status actor's batch: evaluates the alerts of every
//! target the batch touched (and of every HAProxy target whose reported drift
//! changed, and, on a tick, of every target where time alone can change
//! something), applies silence commands, and gives the events and the
//! alert-table writes that go into the batch's one transaction.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use super::alert_store::AlertWrites;
use crate::alerts::config::KEEP_RESOLVED;
use crate::alerts::silences::{listed, silenced_by};
use crate::alerts::{AlertTransition, AlertsConfig, Labels, Silence, TargetAlerts, evaluate};
use crate::drift::{DriftItem, Items};
use crate::model::{EventData, EventDraft, TargetState, Ts};

/// The committed alerts and silences, as HTTP readers see them.
#[derive(Clone, Debug, Default)]
pub struct AlertsView {
    /// Each target's alerts (targets without any are absent).
    pub books: BTreeMap<Arc<str>, Arc<TargetAlerts>>,
    pub silences: Vec<Silence>,
}

/// A request to the status actor about alerts.
#[derive(Clone, Debug)]
pub enum AlertCommand {
    /// Store a new silence (checked already).
    CreateSilence(Silence),
    /// End a silence now.
    EndSilence(String),
    /// Evaluate whatever time alone can change (holds, flap windows, expiry).
    Tick,
}

/// What the batch did to one target: its subjects' changes and the time of its
/// latest observation.
#[derive(Debug, Default)]
pub struct Touched {
    pub changes: Vec<(Labels, Ts)>,
    pub at: Ts,
}

/// The reported drift items of a batch by HAProxy target (the conditions of the
/// `drift` rule), and the targets whose reported items the batch changed.
#[derive(Debug, Default)]
pub struct Reported<'a> {
    by_target: HashMap<&'a str, Vec<&'a DriftItem>>,
    changed: BTreeSet<&'a str>,
}

impl<'a> Reported<'a> {
    /// The reported items of `after`; `changed` names the targets whose reported
    /// items differ from those of `before`.
    pub fn new(before: &'a Items, after: &'a Items) -> Reported<'a> {
        let by_target = by_target(after);
        let mut changed = BTreeSet::new();
        if !std::ptr::eq(before, after) {
            let old = by_target_ids(before);
            let new = by_target_ids(after);
            let targets = old.keys().chain(new.keys());
            changed = targets
                .filter(|t| old.get(*t) != new.get(*t))
                .copied()
                .collect();
        }
        Reported { by_target, changed }
    }

    /// The reported items whose HAProxy side is `target`.
    pub fn of(&self, target: &str) -> &[&'a DriftItem] {
        self.by_target.get(target).map_or(&[], Vec::as_slice)
    }
}

fn by_target(items: &Items) -> HashMap<&str, Vec<&DriftItem>> {
    let mut out: HashMap<&str, Vec<&DriftItem>> = HashMap::new();
    for item in items.values().filter(|i| i.reported) {
        out.entry(item.haproxy.target.as_str())
            .or_default()
            .push(item);
    }
    out
}

fn by_target_ids(items: &Items) -> HashMap<&str, BTreeSet<&str>> {
    by_target(items)
        .into_iter()
        .map(|(t, list)| (t, list.iter().map(|i| i.id.as_str()).collect()))
        .collect()
}

/// The result of the alert step.
#[derive(Debug, Default)]
pub struct Step {
    pub view: AlertsView,
    pub writes: AlertWrites,
    pub drafts: Vec<EventDraft>,
}

/// Runs the alert step. `state` gives a target's state after the batch, `drift`
/// the reported drift items after it.
pub fn step<'a>(
    cfg: &AlertsConfig,
    current: &AlertsView,
    state: &dyn Fn(&str) -> Option<&'a TargetState>,
    drift: &Reported<'_>,
    mut touched: BTreeMap<Arc<str>, Touched>,
    commands: &[AlertCommand],
    now: Ts,
) -> Step {
    let mut out = Step {
        view: current.clone(),
        ..Step::default()
    };
    silence_commands(&mut out, commands, now);
    for target in &drift.changed {
        touched.entry(Arc::from(*target)).or_insert(Touched {
            changes: Vec::new(),
            at: now,
        });
    }
    let tick = commands.iter().any(|c| matches!(c, AlertCommand::Tick));
    let mut due: Vec<(Arc<str>, Touched)> = touched.into_iter().collect();
    if tick {
        let more = current
            .books
            .iter()
            .filter(|(id, b)| b.due(now, cfg) && !due.iter().any(|(d, _)| d == *id));
        let more: Vec<_> = more.map(|(id, _)| id.clone()).collect();
        due.extend(more.into_iter().map(|id| {
            (
                id,
                Touched {
                    changes: Vec::new(),
                    at: now,
                },
            )
        }));
    }
    for (id, t) in due {
        evaluate_one(&mut out, cfg, &id, (state(&id), drift.of(&id)), t);
    }
    out
}

fn evaluate_one(
    out: &mut Step,
    cfg: &AlertsConfig,
    id: &Arc<str>,
    (target, drift): (Option<&TargetState>, &[&DriftItem]),
    t: Touched,
) {
    let before = out.view.books.get(id).cloned().unwrap_or_default();
    let mut book = (*before).clone();
    let transitions = evaluate(&mut book, target, drift, &t.changes, t.at, cfg);
    for tr in transitions {
        out.drafts.push(draft(tr, &out.view.silences, t.at));
    }
    if book == *before {
        return;
    }
    if book.is_empty() {
        out.view.books.remove(id);
        out.writes.books.push((id.clone(), None));
    } else {
        let book = Arc::new(book);
        out.view.books.insert(id.clone(), book.clone());
        out.writes.books.push((id.clone(), Some(book)));
    }
}

fn draft(t: AlertTransition, silences: &[Silence], now: Ts) -> EventDraft {
    let (firing, mut alert) = match t {
        AlertTransition::Firing(a) => (true, a),
        AlertTransition::Resolved(a) => (false, a),
    };
    alert.silenced_by = silenced_by(&alert, silences, now);
    let target = alert.labels.target.clone();
    let data = if firing {
        EventData::AlertFiring(alert)
    } else {
        EventData::AlertResolved(alert)
    };
    EventDraft { target, data }
}

fn silence_commands(out: &mut Step, commands: &[AlertCommand], now: Ts) {
    for c in commands {
        match c {
            AlertCommand::CreateSilence(s) => {
                out.view.silences.push(s.clone());
                out.writes.silences.push(s.clone());
                out.drafts
                    .push(silence_draft(EventData::SilenceCreated(s.clone())));
            }
            AlertCommand::EndSilence(id) => {
                let found = out.view.silences.iter_mut().find(|s| &s.id == id);
                if let Some(s) = found.filter(|s| s.ends_at > now) {
                    s.ends_at = now;
                    out.writes.silences.push(s.clone());
                    out.drafts
                        .push(silence_draft(EventData::SilenceEnded(s.clone())));
                }
            }
            AlertCommand::Tick => {
                let (keep, gone): (Vec<_>, Vec<_>) = std::mem::take(&mut out.view.silences)
                    .into_iter()
                    .partition(|s| listed(s, now, KEEP_RESOLVED));
                out.view.silences = keep;
                out.writes.forget.extend(gone.into_iter().map(|s| s.id));
            }
        }
    }
}

fn silence_draft(data: EventData) -> EventDraft {
    EventDraft {
        target: String::new(),
        data,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc as StdArc;

    use super::*;
    use crate::diff::diff;
    use crate::model::{
        Observation, ObservationKind, Payload, ServerSample, TargetKind, TargetMeta,
    };

    fn down_backend() -> TargetState {
        let id = "haproxy/a/be";
        let meta = TargetMeta {
            id: id.into(),
            kind: TargetKind::HaproxyBackend,
            group: "a".into(),
            source: crate::model::SourceKind::Agent,
            backend_name: Some("be".into()),
            failure_threshold: 3,
        };
        let obs = |kind| Observation {
            target: id.into(),
            at: Ts(1000),
            kind,
        };
        let rows = ["UP", "DOWN"]
            .iter()
            .enumerate()
            .map(|(i, s)| ServerSample {
                name: format!("s{i}"),
                status: (*s).into(),
                ..ServerSample::default()
            });
        let s = diff(None, &obs(ObservationKind::Registered(Box::new(meta)))).next;
        let payload = Payload::Servers(StdArc::new(rows.collect::<Vec<_>>().into()));
        diff(s.as_ref(), &obs(ObservationKind::Fetched(payload)))
            .next
            .unwrap()
    }

    #[test]
    fn a_hold_that_ran_out_fires_on_a_tick_without_a_poll() {
        let cfg = AlertsConfig::default();
        let t = down_backend();
        let state = |_: &str| Some(&t);
        let id: Arc<str> = Arc::from("haproxy/a/be");
        let touched = BTreeMap::from([(
            id.clone(),
            Touched {
                changes: Vec::new(),
                at: Ts(1000),
            },
        )]);
        let none = Reported::default();
        let first = step(
            &cfg,
            &AlertsView::default(),
            &state,
            &none,
            touched,
            &[],
            Ts(1000),
        );
        assert!(first.drafts.is_empty(), "pending only");
        assert_eq!(first.writes.books.len(), 1, "the pending alert is stored");
        let early = step(
            &cfg,
            &first.view,
            &state,
            &none,
            BTreeMap::new(),
            &[AlertCommand::Tick],
            Ts(5000),
        );
        assert!(
            early.drafts.is_empty() && early.writes.is_empty(),
            "nothing to do yet"
        );
        let due = step(
            &cfg,
            &first.view,
            &state,
            &none,
            BTreeMap::new(),
            &[AlertCommand::Tick],
            Ts(16_000),
        );
        let [draft] = &due.drafts[..] else {
            panic!("one event: {:?}", due.drafts)
        };
        let EventData::AlertFiring(a) = &draft.data else {
            panic!("alert_firing: {draft:?}")
        };
        assert_eq!(a.fired_at, Some(Ts(16_000)));
    }

    fn reported_item() -> DriftItem {
        use crate::drift::{DriftKind, EurekaSide, HaproxySide, ItemState};
        DriftItem {
            id: "d1".into(),
            kind: DriftKind::ServingNotRegistered,
            endpoint: "10.0.0.1:80".into(),
            since: Ts(0),
            state: ItemState::Active,
            reported: true,
            haproxy: HaproxySide {
                backend: "be".into(),
                fetched_at: None,
                server: Some("s1".into()),
                status: Some("UP".into()),
                target: "haproxy/a/be".into(),
            },
            eureka: EurekaSide {
                app: "APP".into(),
                fetched_at: None,
                instance_id: Some("i1".into()),
                status: Some("DOWN".into()),
                target: "eureka/main".into(),
            },
        }
    }

    #[test]
    fn a_drift_reported_or_resolved_in_the_batch_is_evaluated_without_a_poll_of_its_backend() {
        let cfg = AlertsConfig::default();
        let t = down_backend();
        let state = |_: &str| Some(&t);
        let none = Items::new();
        let one = Items::from([("d1".to_string(), reported_item())]);
        let detected = Reported::new(&none, &one);
        let fired = step(
            &cfg,
            &AlertsView::default(),
            &state,
            &detected,
            BTreeMap::new(),
            &[],
            Ts(2000),
        );
        let kinds: Vec<_> = fired.drafts.iter().map(|d| d.data.kind()).collect();
        assert_eq!(
            kinds,
            [crate::model::EventType::AlertFiring],
            "{:?}",
            fired.drafts
        );
        let still = Reported::new(&one, &one);
        assert!(still.changed.is_empty());
        let resolved = Reported::new(&one, &none);
        let gone = step(
            &cfg,
            &fired.view,
            &state,
            &resolved,
            BTreeMap::new(),
            &[],
            Ts(3000),
        );
        let [draft] = &gone.drafts[..] else {
            panic!("one event: {:?}", gone.drafts)
        };
        let EventData::AlertResolved(a) = &draft.data else {
            panic!("alert_resolved: {draft:?}")
        };
        assert_eq!(a.rule, crate::alerts::Rule::Drift);
    }
}
