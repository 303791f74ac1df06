//! Polling policy: `[defaults]` and the same keys overridden per source,
//! merged key by key over the built-in defaults, then checked as a whole.

use std::time::Duration;

use super::reader::{Entry, Node, Reader};
use super::types::{CircuitConfig, Limits, Policy, RetryConfig};

/// The policy keys allowed in `[defaults]` and in every source.
pub(super) const POLICY_KEYS: [&str; 7] = [
    "interval",
    "timeout",
    "retry",
    "circuit",
    "auto_recover",
    "max_servers",
    "max_instances",
];
const RETRY_KEYS: [&str; 4] = ["initial", "max", "multiplier", "max_elapsed"];
const CIRCUIT_KEYS: [&str; 3] = ["failure_threshold", "open_base", "open_max"];

/// A value set in the file, with where it was set.
#[derive(Clone, Debug)]
pub(super) struct Set<T> {
    value: T,
    line: usize,
    key: String,
    /// True when the value comes from `[defaults]` rather than the table read.
    inherited: bool,
}

/// The policy keys one table sets; unset keys fall back to the layer below.
#[derive(Clone, Debug, Default)]
pub(super) struct Layer {
    interval: Option<Set<Duration>>,
    timeout: Option<Set<Duration>>,
    initial: Option<Set<Duration>>,
    max: Option<Set<Duration>>,
    multiplier: Option<Set<f64>>,
    max_elapsed: Option<Set<Duration>>,
    failure_threshold: Option<Set<u32>>,
    open_base: Option<Set<Duration>>,
    open_max: Option<Set<Duration>>,
    auto_recover: Option<Set<bool>>,
    max_servers: Option<Set<usize>>,
    max_instances: Option<Set<usize>>,
}

fn set<T>(entry: &Entry<'_>, value: T) -> Set<T> {
    Set {
        value,
        line: entry.line,
        key: entry.path.clone(),
        inherited: false,
    }
}

fn inherit<T: Clone>(own: &Option<Set<T>>, base: &Option<Set<T>>) -> Option<Set<T>> {
    own.clone().or_else(|| {
        base.clone().map(|s| Set {
            inherited: true,
            ..s
        })
    })
}

fn value<T: Clone>(set: &Option<Set<T>>, default: T) -> T {
    set.as_ref().map_or(default, |s| s.value.clone())
}

impl Layer {
    /// Reads the policy keys of `node`; unknown keys are checked by the caller.
    pub fn read(r: &mut Reader<'_>, node: &Node<'_>) -> Layer {
        let mut layer = Layer {
            interval: bounded(r, node, "interval"),
            timeout: bounded(r, node, "timeout"),
            max_servers: count(r, node, "max_servers"),
            max_instances: count(r, node, "max_instances"),
            ..Layer::default()
        };
        if let Some(entry) = r.entry(node, "auto_recover") {
            layer.auto_recover = r.boolean(&entry).map(|b| set(&entry, b));
        }
        if let Some(retry) = r.entry(node, "retry").and_then(|e| r.table(&e)) {
            layer.read_retry(r, &retry);
        }
        if let Some(circuit) = r.entry(node, "circuit").and_then(|e| r.table(&e)) {
            layer.read_circuit(r, &circuit);
        }
        layer
    }

    fn read_retry(&mut self, r: &mut Reader<'_>, node: &Node<'_>) {
        r.check_keys(node, &RETRY_KEYS);
        self.initial = positive(r, node, "initial");
        self.max = positive(r, node, "max");
        self.max_elapsed = r
            .entry(node, "max_elapsed")
            .and_then(|e| r.duration(&e).map(|d| set(&e, d)));
        let Some(entry) = r.entry(node, "multiplier") else {
            return;
        };
        let Some(multiplier) = r.number(&entry) else {
            return;
        };
        if multiplier.is_finite() && multiplier >= 1.0 {
            self.multiplier = Some(set(&entry, multiplier));
        } else {
            let message = format!(
                "{multiplier} is not a usable multiplier; it must be at least 1 \
                 so delays do not shrink"
            );
            r.error(entry.line, entry.path, message);
        }
    }

    fn read_circuit(&mut self, r: &mut Reader<'_>, node: &Node<'_>) {
        r.check_keys(node, &CIRCUIT_KEYS);
        self.open_base = positive(r, node, "open_base");
        self.open_max = positive(r, node, "open_max");
        let Some(entry) = r.entry(node, "failure_threshold") else {
            return;
        };
        let Some(n) = r.integer(&entry) else {
            return;
        };
        match u32::try_from(n) {
            Ok(n) if n >= 1 => self.failure_threshold = Some(set(&entry, n)),
            _ => {
                let message = format!(
                    "{n} is not a usable threshold; it must be between 1 and {} \
                     consecutive failed polls",
                    u32::MAX
                );
                r.error(entry.line, entry.path, message);
            }
        }
    }

    /// This layer over `base`: keys set here win, the others come from `base`.
    pub fn over(&self, base: &Layer) -> Layer {
        Layer {
            interval: inherit(&self.interval, &base.interval),
            timeout: inherit(&self.timeout, &base.timeout),
            initial: inherit(&self.initial, &base.initial),
            max: inherit(&self.max, &base.max),
            multiplier: inherit(&self.multiplier, &base.multiplier),
            max_elapsed: inherit(&self.max_elapsed, &base.max_elapsed),
            failure_threshold: inherit(&self.failure_threshold, &base.failure_threshold),
            open_base: inherit(&self.open_base, &base.open_base),
            open_max: inherit(&self.open_max, &base.open_max),
            auto_recover: inherit(&self.auto_recover, &base.auto_recover),
            max_servers: inherit(&self.max_servers, &base.max_servers),
            max_instances: inherit(&self.max_instances, &base.max_instances),
        }
    }

    /// The effective policy: set keys over the built-in defaults.
    pub fn policy(&self) -> Policy {
        let d = Policy::default();
        Policy {
            interval: value(&self.interval, d.interval),
            timeout: value(&self.timeout, d.timeout),
            retry: RetryConfig {
                initial: value(&self.initial, d.retry.initial),
                max: value(&self.max, d.retry.max),
                multiplier: value(&self.multiplier, d.retry.multiplier),
                max_elapsed: value(&self.max_elapsed, d.retry.max_elapsed),
            },
            circuit: CircuitConfig {
                failure_threshold: value(&self.failure_threshold, d.circuit.failure_threshold),
                open_base: value(&self.open_base, d.circuit.open_base),
                open_max: value(&self.open_max, d.circuit.open_max),
            },
            auto_recover: value(&self.auto_recover, d.auto_recover),
            limits: Limits {
                max_servers: value(&self.max_servers, d.limits.max_servers),
                max_instances: value(&self.max_instances, d.limits.max_instances),
            },
        }
    }

    /// Checks the relations between keys of the effective policy. A broken
    /// relation is reported at the first involved key set in this table; one
    /// that only involves inherited keys was reported where they were set.
    pub fn check(&self, r: &mut Reader<'_>) {
        let d = Policy::default();
        let timeout = Side::new("timeout", &self.timeout, d.timeout);
        let interval = Side::new("interval", &self.interval, d.interval);
        let why = "a poll must be able to time out before the next one is due";
        order(r, timeout, interval, true, why);
        let initial = Side::new("retry.initial", &self.initial, d.retry.initial);
        let max = Side::new("retry.max", &self.max, d.retry.max);
        order(
            r,
            initial,
            max,
            false,
            "the first retry delay cannot exceed the longest",
        );
        let base = Side::new("circuit.open_base", &self.open_base, d.circuit.open_base);
        let top = Side::new("circuit.open_max", &self.open_max, d.circuit.open_max);
        order(
            r,
            base,
            top,
            false,
            "the first open period cannot exceed the longest",
        );
    }
}

/// A positive duration under `key`, if present and valid.
fn positive(r: &mut Reader<'_>, node: &Node<'_>, key: &str) -> Option<Set<Duration>> {
    let entry = r.entry(node, key)?;
    let duration = r.duration(&entry)?;
    if duration.is_zero() {
        r.error(entry.line, entry.path, "must be longer than 0");
        return None;
    }
    Some(set(&entry, duration))
}

/// The shortest `interval` or `timeout` accepted.
const SHORTEST: Duration = Duration::from_millis(100);
/// The longest `interval` or `timeout` accepted.
const LONGEST: Duration = Duration::from_secs(24 * 60 * 60);

/// `interval` or `timeout` under `key`, if present and between 100 ms and 1 day:
/// anything outside is a typing slip (`2ns`, a thousand years), not a policy.
fn bounded(r: &mut Reader<'_>, node: &Node<'_>, key: &str) -> Option<Set<Duration>> {
    let entry = r.entry(node, key)?;
    let duration = r.duration(&entry)?;
    if (SHORTEST..=LONGEST).contains(&duration) {
        return Some(set(&entry, duration));
    }
    let message = format!(
        "{} is not a usable {key}; it must be between 100ms and 1day",
        humantime::format_duration(duration)
    );
    r.error(entry.line, entry.path, message);
    None
}

/// A count of at least 1 under `key` (`max_servers`, `max_instances`), if present
/// and valid.
fn count(r: &mut Reader<'_>, node: &Node<'_>, key: &str) -> Option<Set<usize>> {
    let entry = r.entry(node, key)?;
    let n = r.integer(&entry)?;
    match usize::try_from(n) {
        Ok(n) if n >= 1 => Some(set(&entry, n)),
        _ => {
            let message = format!("{n} is not a usable limit; it must be at least 1");
            r.error(entry.line, entry.path, message);
            None
        }
    }
}

/// One side of a relation between two durations.
struct Side<'l> {
    name: &'static str,
    set: Option<&'l Set<Duration>>,
    value: Duration,
}

impl<'l> Side<'l> {
    fn new(name: &'static str, set: &'l Option<Set<Duration>>, default: Duration) -> Self {
        let value = set.as_ref().map_or(default, |s| s.value);
        Side {
            name,
            set: set.as_ref(),
            value,
        }
    }

    fn own(&self) -> Option<&'l Set<Duration>> {
        self.set.filter(|s| !s.inherited)
    }

    fn describe(&self) -> String {
        let value = humantime::format_duration(self.value);
        match self.set {
            None => format!("{} {value} (built-in default)", self.name),
            Some(s) if s.inherited => {
                format!("{} {value} (from {}, line {})", self.name, s.key, s.line)
            }
            Some(_) => format!("{} {value}", self.name),
        }
    }
}

/// Requires `low < high` (`strict`) or `low <= high`.
fn order(r: &mut Reader<'_>, low: Side<'_>, high: Side<'_>, strict: bool, why: &str) {
    let ok = if strict {
        low.value < high.value
    } else {
        low.value <= high.value
    };
    let Some(at) = low.own().or(high.own()) else {
        return;
    };
    if !ok {
        let relation = if strict { "shorter than" } else { "at most" };
        let message = format!(
            "{} must be {relation} {}; {why}",
            low.describe(),
            high.describe()
        );
        r.error(at.line, at.key.clone(), message);
    }
}
