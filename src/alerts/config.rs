//! The tunable parts of the rules (`[alerts]` in the config file) and their defaults.

use std::collections::BTreeMap;
use std::time::Duration;

use super::model::{Rule, Severity};

/// How long resolved alerts and ended silences are kept and listed.
pub const KEEP_RESOLVED: Duration = Duration::from_secs(24 * 3600);

/// The settings of one rule.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleConfig {
    /// Whether the rule raises alerts at all.
    pub enabled: bool,
    /// How long the condition must hold before the alert fires (`for`).
    pub hold: Duration,
    pub severity: Severity,
    /// `backend_degraded` only: the share of up servers below which a backend is
    /// degraded.
    pub below: f64,
}

/// Anti-flap: `changes` state changes within `within` make a subject flap.
#[derive(Clone, Debug, PartialEq)]
pub struct FlapConfig {
    pub changes: u32,
    pub within: Duration,
}

/// `[alerts]`: every rule's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertsConfig {
    pub rules: BTreeMap<Rule, RuleConfig>,
    pub flapping: FlapConfig,
}

/// The documented default of a rule.
pub fn default_rule(rule: Rule) -> RuleConfig {
    let (hold_s, severity) = match rule {
        Rule::TargetUnreachable => (30, Severity::Critical),
        Rule::CircuitOpen => (0, Severity::Warning),
        Rule::ServerDown => (15, Severity::Critical),
        Rule::BackendDown => (0, Severity::Critical),
        Rule::BackendDegraded => (60, Severity::Warning),
        Rule::InstanceDown => (30, Severity::Warning),
        Rule::InstanceRemoved => (0, Severity::Info),
        Rule::Flapping => (0, Severity::Warning),
        Rule::LeaseExpired => (0, Severity::Warning),
        Rule::EurekaSelfPreservation => (0, Severity::Warning),
        // A drift is reported only after `drift_for` already.
        Rule::Drift => (0, Severity::Warning),
    };
    RuleConfig {
        enabled: true,
        hold: Duration::from_secs(hold_s),
        severity,
        below: 0.5,
    }
}

impl Default for FlapConfig {
    fn default() -> Self {
        FlapConfig {
            changes: 4,
            within: Duration::from_secs(600),
        }
    }
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            rules: Rule::ALL
                .into_iter()
                .map(|r| (r, default_rule(r)))
                .collect(),
            flapping: FlapConfig::default(),
        }
    }
}

impl AlertsConfig {
    /// The settings of `rule` (its defaults if the map lacks it).
    pub fn rule(&self, rule: Rule) -> RuleConfig {
        self.rules
            .get(&rule)
            .cloned()
            .unwrap_or_else(|| default_rule(rule))
    }
}
