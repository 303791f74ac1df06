//! Grouping, as a pure state machine: alert transitions in, messages due out.
//!
//! Alerts with the same values of the `group_by` labels form a group; a group sends
//! one message listing its current alerts. A new group waits `group_wait` (from the
//! commit time of its first transition) for more alerts, later changes wait until
//! `group_interval` after the last message, and a group still firing is sent again
//! every `repeat_interval`. A message is fixed once formed: it keeps its delivery id
//! and content through every retry, and transitions that arrive meanwhile go into the
//! next one. A backlog (after an outage or a restart) folds into the groups' current
//! state, so it goes out as one message per group.
//!
//! The delivery cursor is the seq before the oldest transition not yet delivered;
//! every group remembers the last seq it delivered, so transitions re-read after a
//! restart are not sent twice.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::alert::{Alert, Transition, matches};
use crate::model::Ts;

/// How alerts are grouped and when messages are due.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The notifier's name, part of every delivery id.
    pub notifier: String,
    /// `None`: every alert is a group of its own (the `alertmanager` kind).
    pub group_by: Option<Vec<String>>,
    pub group_wait: Duration,
    pub group_interval: Duration,
    pub repeat_interval: Duration,
    pub send_resolved: bool,
    pub matchers: BTreeMap<String, Vec<String>>,
}

/// One message, fixed from the moment it is formed.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// Stable across retries and restarts: derived from the notifier, the group and
    /// the first transition it carries.
    pub delivery_id: String,
    pub group_key: String,
    pub group: BTreeMap<String, String>,
    pub firing: bool,
    pub alerts: Vec<Alert>,
    /// The last seq it carries.
    pub last_seq: u64,
    /// When it was formed (its age decides when it is given up).
    pub created: Ts,
}

#[derive(Debug, Default)]
struct Group {
    labels: BTreeMap<String, String>,
    /// Current alerts, with the seq of their last transition.
    alerts: BTreeMap<String, (u64, Alert)>,
    /// Unsent transitions: seq and commit time, oldest first.
    unsent: Vec<(u64, Ts)>,
    /// The last seq delivered (from the durable record after a restart).
    delivered_seq: u64,
    last_sent: Option<Ts>,
    inflight: Option<Message>,
}

/// The groups of one notifier.
#[derive(Debug)]
pub struct Batcher {
    settings: Settings,
    groups: BTreeMap<String, Group>,
    /// The highest seq read from the log.
    read_seq: u64,
}

impl Batcher {
    /// A batcher that has read the log up to `read_seq`, with the last delivered seq
    /// of each group as stored.
    pub fn new(settings: Settings, read_seq: u64, delivered: BTreeMap<String, u64>) -> Batcher {
        let groups = delivered
            .into_iter()
            .map(|(key, seq)| {
                let group = Group {
                    delivered_seq: seq,
                    ..Group::default()
                };
                (key, group)
            })
            .collect();
        Batcher {
            settings,
            groups,
            read_seq,
        }
    }

    /// The key and labels of the group `alert` belongs to.
    fn group_of(&self, alert: &Alert) -> (String, BTreeMap<String, String>) {
        let labels: BTreeMap<String, String> = match &self.settings.group_by {
            None => BTreeMap::from([("alert".to_string(), alert.id.clone())]),
            Some(by) => by
                .iter()
                .map(|l| (l.clone(), alert.label(l).unwrap_or("").to_string()))
                .collect(),
        };
        let key = serde_json::to_string(&labels).unwrap_or_default();
        (key, labels)
    }

    /// Folds one transition in. `history` transitions (already delivered before the
    /// cursor) only set the current alerts, they send nothing.
    pub fn fold(&mut self, t: &Transition, history: bool) {
        self.read_seq = self.read_seq.max(t.seq);
        let silenced = t.alert.is_firing() && !t.alert.silenced_by.is_empty();
        if silenced || !matches(&self.settings.matchers, &t.alert) {
            return;
        }
        let (key, labels) = self.group_of(&t.alert);
        let send_resolved = self.settings.send_resolved;
        let group = self.groups.entry(key).or_default();
        group.labels = labels;
        let quiet = history || t.seq <= group.delivered_seq;
        let id = t.alert.id.clone();
        if t.alert.is_firing() {
            group.alerts.insert(id, (t.seq, t.alert.clone()));
        } else {
            if !group.alerts.contains_key(&id) {
                return;
            }
            if quiet || !send_resolved {
                group.alerts.remove(&id);
                return;
            }
            group.alerts.insert(id, (t.seq, t.alert.clone()));
        }
        if quiet {
            group.last_sent = Some(group.last_sent.map_or(t.ts, |s| s.max(t.ts)));
        } else {
            group.unsent.push((t.seq, t.ts));
        }
    }

    /// Records that the log was read up to `seq`.
    pub fn advance(&mut self, seq: u64) {
        self.read_seq = self.read_seq.max(seq);
    }

    /// The highest seq read.
    pub fn read_seq(&self) -> u64 {
        self.read_seq
    }

    /// Where reading resumes after a restart: before the oldest undelivered transition.
    pub fn cursor(&self) -> u64 {
        let oldest = self
            .groups
            .values()
            .filter_map(|g| g.unsent.first().map(|u| u.0))
            .min();
        oldest.map_or(self.read_seq, |s| s - 1)
    }

    /// When a group without a message in flight next has one due.
    fn due_at(&self, g: &Group) -> Option<Ts> {
        let s = &self.settings;
        if let Some(&(_, first)) = g.unsent.first() {
            return Some(match g.last_sent {
                None => first.plus(s.group_wait),
                Some(last) => first.max(last.plus(s.group_interval)),
            });
        }
        let firing = g.alerts.values().any(|(_, a)| a.is_firing());
        g.last_sent
            .filter(|_| firing)
            .map(|last| last.plus(s.repeat_interval))
    }

    /// The earliest time a new message falls due, if any.
    pub fn next_due(&self) -> Option<Ts> {
        let groups = self.groups.values().filter(|g| g.inflight.is_none());
        groups.filter_map(|g| self.due_at(g)).min()
    }

    /// Messages in flight (being retried), oldest first, then new messages due at
    /// `now`, which are now in flight too.
    pub fn due(&mut self, now: Ts) -> Vec<Message> {
        let due: Vec<String> = self
            .groups
            .iter()
            .filter(|(_, g)| g.inflight.is_none())
            .filter(|(_, g)| self.due_at(g).is_some_and(|at| at <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            let message = self.form(&key, now);
            if let Some(g) = self.groups.get_mut(&key) {
                if message.is_none() {
                    g.unsent.clear();
                }
                g.inflight = message;
            }
        }
        let mut out: Vec<Message> = self
            .groups
            .values()
            .filter_map(|g| g.inflight.clone())
            .collect();
        out.sort_by_key(|m| (m.created, m.last_seq));
        out
    }

    fn form(&self, key: &str, now: Ts) -> Option<Message> {
        let g = self.groups.get(key)?;
        if g.alerts.is_empty() {
            return None;
        }
        let last_seq = g.alerts.values().map(|(s, _)| *s).max().unwrap_or(0);
        let first = g.unsent.first().map_or(0, |u| u.0);
        let seed = match first {
            0 => format!("{}\n{key}\nrepeat {}", self.settings.notifier, now.0),
            n => format!("{}\n{key}\n{n}", self.settings.notifier),
        };
        let alerts: Vec<Alert> = g.alerts.values().map(|(_, a)| a.clone()).collect();
        Some(Message {
            delivery_id: delivery_id(&seed),
            group_key: key.to_string(),
            group: g.labels.clone(),
            firing: alerts.iter().any(Alert::is_firing),
            alerts,
            last_seq: last_seq.max(g.unsent.last().map_or(0, |u| u.0)),
            created: now,
        })
    }

    /// The receiver accepted `message` (or it was given up): its transitions are
    /// done, its resolved alerts leave the group. Returns the group's delivered seq.
    pub fn done(&mut self, message: &Message, now: Ts) -> u64 {
        let Some(g) = self.groups.get_mut(&message.group_key) else {
            return 0;
        };
        g.inflight = None;
        g.last_sent = Some(now);
        g.unsent.retain(|(seq, _)| *seq > message.last_seq);
        let sent: BTreeSet<&str> = message.alerts.iter().map(|a| a.id.as_str()).collect();
        g.alerts.retain(|id, (seq, a)| {
            a.is_firing() || *seq > message.last_seq || !sent.contains(id.as_str())
        });
        g.delivered_seq = g.delivered_seq.max(message.last_seq);
        let delivered = g.delivered_seq;
        if g.alerts.is_empty() && g.unsent.is_empty() {
            self.groups.remove(&message.group_key);
        }
        delivered
    }

    /// Alerts currently firing, over every group (what `alertmanager` re-posts).
    pub fn firing_count(&self) -> usize {
        let alerts = self.groups.values().flat_map(|g| g.alerts.values());
        alerts.filter(|(_, a)| a.is_firing()).count()
    }

    /// Transitions waiting to be delivered.
    pub fn pending(&self) -> usize {
        self.groups.values().map(|g| g.unsent.len()).sum()
    }
}

/// A UUID-shaped id from the SHA-256 of `seed`.
pub fn delivery_id(seed: &str) -> String {
    let hash = Sha256::digest(seed.as_bytes());
    let hex: String = hash[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
