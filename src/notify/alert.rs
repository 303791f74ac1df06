//! The alert as a notifier sees it (taken from the [`crate::alerts::Alert`] that an
//! `alert_firing` / `alert_resolved` event carries, with its rule, severity and
//! labels as text so messages and filters treat every label alike), and the label
//! filter (`match`) of a notifier.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::alerts::model::glob;
use crate::model::{Event, EventData, Ts};

/// One alert, as a notifier shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: String,
    pub rule: String,
    pub severity: String,
    pub state: String,
    pub labels: BTreeMap<String, String>,
    pub summary: String,
    pub since: Option<Ts>,
    pub fired_at: Option<Ts>,
    pub resolved_at: Option<Ts>,
    /// Silences in force when the transition was committed; a silenced alert is
    /// not sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub silenced_by: Vec<String>,
    /// The error behind the alert, where there is one (a failed fetch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Alert {
    /// Whether this transition is a firing (as opposed to a resolution).
    pub fn is_firing(&self) -> bool {
        self.resolved_at.is_none() && self.state != "resolved"
    }

    /// A label, with `rule` and `severity` as labels too.
    pub fn label(&self, name: &str) -> Option<&str> {
        match name {
            "rule" | "alertname" => Some(&self.rule),
            "severity" => Some(&self.severity),
            _ => self.labels.get(name).map(String::as_str),
        }
    }
}

/// An alert transition read from the log.
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    pub seq: u64,
    pub ts: Ts,
    pub alert: Alert,
}

impl From<&crate::alerts::Alert> for Alert {
    fn from(a: &crate::alerts::Alert) -> Alert {
        let labels = crate::alerts::Labels::NAMES
            .iter()
            .filter_map(|n| a.labels.get(n).map(|v| (n.to_string(), v.to_string())))
            .collect();
        Alert {
            id: a.id.clone(),
            rule: a.rule.as_str().to_string(),
            severity: a.severity.as_str().to_string(),
            state: a.state.as_str().to_string(),
            labels,
            summary: a.summary.clone(),
            since: Some(a.since),
            fired_at: a.fired_at,
            resolved_at: a.resolved_at,
            silenced_by: a.silenced_by.clone(),
            error: a.error.clone(),
        }
    }
}

/// The alert transition an event carries, if it is one.
pub fn transition(event: &Event) -> Option<Transition> {
    let (typed, resolved) = match &event.data {
        EventData::AlertFiring(a) => (a, false),
        EventData::AlertResolved(a) => (a, true),
        _ => return None,
    };
    let mut alert = Alert::from(typed);
    if resolved {
        alert.state = crate::alerts::AlertState::Resolved.as_str().to_string();
        alert.resolved_at = alert.resolved_at.or(Some(event.ts));
    }
    Some(Transition {
        seq: event.seq,
        ts: event.ts,
        alert,
    })
}

/// Whether `alert` passes a notifier's `match`: every listed label matches one of
/// its patterns.
pub fn matches(matchers: &BTreeMap<String, Vec<String>>, alert: &Alert) -> bool {
    matchers.iter().all(|(label, patterns)| {
        let value = alert.label(label).unwrap_or("");
        patterns.iter().any(|p| glob(p, value))
    })
}

#[cfg(test)]
pub(crate) fn sample(id: &str, group: &str, firing: bool) -> Alert {
    let labels = [("group", group), ("target", "haproxy/fdmz01/jurws")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain([("server".to_string(), id.to_string())])
        .collect();
    Alert {
        id: id.to_string(),
        rule: "server_down".into(),
        severity: "critical".into(),
        state: if firing { "firing" } else { "resolved" }.into(),
        labels,
        summary: format!("server {id} is down"),
        since: Some(Ts(1_000)),
        fired_at: Some(Ts(2_000)),
        resolved_at: (!firing).then_some(Ts(3_000)),
        silenced_by: Vec::new(),
        error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_exactly_or_with_stars() {
        let cases = [
            ("critical", "critical", true),
            ("critical", "critical2", false),
            ("haproxy/fdmz01/*", "haproxy/fdmz01/jurws", true),
            ("haproxy/fdmz01/*", "haproxy/fdmz02/jurws", false),
            ("*ws", "jurws", true),
            ("a*b*c", "a-x-b-y-c", true),
            ("a*b*c", "a-x-c", false),
            ("*", "", true),
            ("ab*ba", "aba", false),
        ];
        for (p, v, want) in cases {
            assert_eq!(glob(p, v), want, "{p} ~ {v}");
        }
    }

    #[test]
    fn matchers_use_labels_rule_and_severity() {
        let a = sample("app2", "fdmz01", true);
        let m = |k: &str, v: &[&str]| {
            BTreeMap::from([(k.to_string(), v.iter().map(|s| s.to_string()).collect())])
        };
        assert!(matches(&BTreeMap::new(), &a));
        assert!(matches(&m("severity", &["warning", "critical"]), &a));
        assert!(!matches(&m("severity", &["warning"]), &a));
        assert!(matches(&m("target", &["haproxy/*"]), &a));
        assert!(!matches(&m("app", &["x"]), &a));
    }
}
