//! The types of alerting: rules, severities, labels, alerts and silences. Shared by
//! the pure evaluation (`super::eval`), the store, the HTTP API and the notifiers
//! (which read `alert_firing` / `alert_resolved` events carrying an [`Alert`]).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::Ts;

/// A built-in alert rule.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A target's last fetch failed, or an Eureka application's.
    TargetUnreachable,
    /// A target's circuit is open.
    CircuitOpen,
    /// An HAProxy server's state is `down`.
    ServerDown,
    /// No server of a backend is up (and it has servers).
    BackendDown,
    /// The share of up servers of a backend is below the rule's `below`.
    BackendDegraded,
    /// A Eureka instance's state is `down`.
    InstanceDown,
    /// An instance vanished from a successful fetch.
    InstanceRemoved,
    /// A server, instance or target changed state too often.
    Flapping,
    /// A Eureka instance's lease expired and the registry keeps it.
    LeaseExpired,
    /// A Eureka server is suspected of self-preservation.
    EurekaSelfPreservation,
    /// HAProxy and Eureka disagree about an endpoint: a reported drift item.
    Drift,
}

impl Rule {
    /// Every rule, in the order the documentation lists them.
    pub const ALL: [Rule; 11] = [
        Rule::TargetUnreachable,
        Rule::CircuitOpen,
        Rule::ServerDown,
        Rule::BackendDown,
        Rule::BackendDegraded,
        Rule::InstanceDown,
        Rule::InstanceRemoved,
        Rule::Flapping,
        Rule::LeaseExpired,
        Rule::EurekaSelfPreservation,
        Rule::Drift,
    ];

    /// The snake_case name used in JSON, config and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::TargetUnreachable => "target_unreachable",
            Rule::CircuitOpen => "circuit_open",
            Rule::ServerDown => "server_down",
            Rule::BackendDown => "backend_down",
            Rule::BackendDegraded => "backend_degraded",
            Rule::InstanceDown => "instance_down",
            Rule::InstanceRemoved => "instance_removed",
            Rule::Flapping => "flapping",
            Rule::LeaseExpired => "lease_expired",
            Rule::EurekaSelfPreservation => "eureka_self_preservation",
            Rule::Drift => "drift",
        }
    }

    /// The rule of a config key.
    pub fn from_name(name: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How urgent an alert is; orders `critical` first.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    Warning,
    Info,
}

impl Severity {
    /// Every severity, most urgent first.
    pub const ALL: [Severity; 3] = [Severity::Critical, Severity::Warning, Severity::Info];

    /// The snake_case name used in JSON, config and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    /// The severity of a config value.
    pub fn from_name(name: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// Where an alert is in its life.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Firing: the condition held for the rule's hold time.
    Firing,
    /// The condition is true; the hold time is running.
    Pending,
    /// The condition is false again (kept 24 h).
    Resolved,
}

impl AlertState {
    /// Every state, in the order the API lists them.
    pub const ALL: [AlertState; 3] = [
        AlertState::Firing,
        AlertState::Pending,
        AlertState::Resolved,
    ];

    /// The snake_case name used in JSON and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Firing => "firing",
            AlertState::Pending => "pending",
            AlertState::Resolved => "resolved",
        }
    }

    /// The state of a query value.
    pub fn from_name(name: &str) -> Option<AlertState> {
        AlertState::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// What an alert is about. Together with the rule, the labels identify an alert.
/// (Fields in alphabetical order: events keep the key order of a JSON map.)
#[derive(
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub struct Labels {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// `drift` only: the endpoint (`ip:port`) the sides disagree about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The `[[haproxy]]` or `[[eureka]]` name.
    pub group: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// `drift` only: the kind of drift (`registered_not_serving`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The target id (`haproxy/<instance>/<backend>`, `eureka/<server>`).
    pub target: String,
}

impl Labels {
    /// The value of label `name` (`target`, `group`, `backend`, `server`, `app`,
    /// `instance`, `kind`, `endpoint`), if the alert has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        match name {
            "target" => Some(&self.target),
            "group" => Some(&self.group),
            "backend" => self.backend.as_deref(),
            "server" => self.server.as_deref(),
            "app" => self.app.as_deref(),
            "instance" => self.instance.as_deref(),
            "kind" => self.kind.as_deref(),
            "endpoint" => self.endpoint.as_deref(),
            _ => None,
        }
    }

    /// The label names an alert may carry, besides `rule` and `severity`.
    pub const NAMES: [&'static str; 8] = [
        "target", "group", "backend", "server", "app", "instance", "kind", "endpoint",
    ];

    /// The labels every alert id is made of, present or not; the later ones of
    /// [`Labels::NAMES`] count only when present, so the ids of alerts without them
    /// stay what they were before those labels existed.
    const ID_NAMES: [&'static str; 6] = ["target", "group", "backend", "server", "app", "instance"];
}

/// An alert: one rule's condition on one subject. The data of `alert_firing` and
/// `alert_resolved`. (Fields in alphabetical order: events keep the key order of a
/// JSON map.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Alert {
    /// The failing fetch's error text (`target_unreachable`, `circuit_open`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub fired_at: Option<Ts>,
    /// Whether its subject is flapping (its state is held as it was).
    #[serde(default)]
    pub flapping: bool,
    /// Derived from the rule and the labels only: the same condition is always the
    /// same id, across restarts ([`alert_id`]).
    pub id: String,
    pub labels: Labels,
    pub resolved_at: Option<Ts>,
    pub rule: Rule,
    pub severity: Severity,
    /// Ids of the silences in force on it (computed when it is shown or sent).
    #[serde(default)]
    pub silenced_by: Vec<String>,
    /// When the condition was first seen true (the start of the hold time), on
    /// committed observation times.
    pub since: Ts,
    pub state: AlertState,
    /// One line for people: what is wrong, where.
    pub summary: String,
}

/// The stable id of the alert of `rule` on `labels`: FNV-1a (64 bit) of their
/// canonical text, as 16 hex digits. Independent of process, build and platform.
pub fn alert_id(rule: Rule, labels: &Labels) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |s: &str| {
        for b in s.bytes().chain(std::iter::once(0u8)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    feed(rule.as_str());
    for name in Labels::ID_NAMES {
        feed(name);
        feed(labels.get(name).unwrap_or("\u{1}"));
    }
    for name in &Labels::NAMES[Labels::ID_NAMES.len()..] {
        if let Some(value) = labels.get(name) {
            feed(name);
            feed(value);
        }
    }
    format!("{h:016x}")
}

/// A silence or maintenance window: alerts whose labels match are still kept and
/// listed, but marked `silenced_by` and not notified. (Fields in alphabetical order:
/// events keep the key order of a JSON map.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Silence {
    pub comment: String,
    pub created_at: Ts,
    pub created_by: String,
    pub ends_at: Ts,
    pub id: String,
    /// Label (or `rule`, `severity`) → exact value or glob with `*`; all must match.
    pub matchers: BTreeMap<String, String>,
    pub starts_at: Ts,
}

/// Where a silence is in its life at some time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SilenceState {
    /// Starts in the future (a maintenance window).
    Pending,
    Active,
    Expired,
}

impl Silence {
    /// Its state at `now`.
    pub fn state(&self, now: Ts) -> SilenceState {
        if now < self.starts_at {
            SilenceState::Pending
        } else if now < self.ends_at {
            SilenceState::Active
        } else {
            SilenceState::Expired
        }
    }

    /// Whether it matches an alert (every matcher, globs with `*`).
    pub fn matches(&self, alert: &Alert) -> bool {
        self.matchers.iter().all(|(name, pattern)| {
            let value = match name.as_str() {
                "rule" => Some(alert.rule.as_str()),
                "severity" => Some(alert.severity.as_str()),
                other => alert.labels.get(other),
            };
            value.is_some_and(|v| glob(pattern, v))
        })
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters.
pub fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// What one evaluation did to an alert; each becomes an event when committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlertTransition {
    /// The alert started firing (`alert_firing`).
    Firing(Alert),
    /// A firing alert's condition ended (`alert_resolved`).
    Resolved(Alert),
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
