//! `[alerts]`: the built-in rules' hold times, severities and switches, and
//! anti-flap.

use super::reader::{Entry, Node, Reader};
use crate::alerts::config::{AlertsConfig, RuleConfig};
use crate::alerts::{Rule, Severity};

/// Every key `[alerts]` may hold: one per rule.
fn keys() -> Vec<&'static str> {
    Rule::ALL.iter().map(|r| r.as_str()).collect()
}

/// Reads `[alerts]`; `None` when it has errors (all recorded).
pub(super) fn read(r: &mut Reader<'_>, root: &Node<'_>) -> Option<AlertsConfig> {
    let mut config = AlertsConfig::default();
    let Some(entry) = r.entry(root, "alerts") else {
        return Some(config);
    };
    let node = r.table(&entry)?;
    r.check_keys(&node, &keys());
    let mut ok = true;
    for rule in Rule::ALL {
        let Some(entry) = r.entry(&node, rule.as_str()) else {
            continue;
        };
        let Some(table) = r.table(&entry) else {
            ok = false;
            continue;
        };
        let base = config.rule(rule);
        match read_rule(r, &table, rule, base, &mut config) {
            Some(rc) => {
                config.rules.insert(rule, rc);
            }
            None => ok = false,
        }
    }
    ok.then_some(config)
}

fn read_rule(
    r: &mut Reader<'_>,
    node: &Node<'_>,
    rule: Rule,
    mut rc: RuleConfig,
    config: &mut AlertsConfig,
) -> Option<RuleConfig> {
    let mut allowed = vec!["enabled", "for", "severity"];
    match rule {
        Rule::BackendDegraded => allowed.push("below"),
        Rule::Flapping => allowed.extend(["changes", "within"]),
        _ => {}
    }
    r.check_keys(node, &allowed);
    let mut ok = true;
    if let Some(e) = r.entry(node, "enabled") {
        ok &= r.boolean(&e).map(|v| rc.enabled = v).is_some();
    }
    if let Some(e) = r.entry(node, "for") {
        ok &= r.duration(&e).map(|v| rc.hold = v).is_some();
    }
    if let Some(e) = r.entry(node, "severity") {
        ok &= severity(r, &e).map(|v| rc.severity = v).is_some();
    }
    if let Some(e) = r.entry(node, "below") {
        ok &= below(r, &e).map(|v| rc.below = v).is_some();
    }
    if let Some(e) = r.entry(node, "changes") {
        ok &= changes(r, &e)
            .map(|v| config.flapping.changes = v)
            .is_some();
    }
    if let Some(e) = r.entry(node, "within") {
        ok &= within(r, &e).map(|v| config.flapping.within = v).is_some();
    }
    ok.then_some(rc)
}

fn severity(r: &mut Reader<'_>, e: &Entry<'_>) -> Option<Severity> {
    let found = Severity::from_name(&r.string(e)?);
    if found.is_none() {
        let msg = format!(
            "{} is not a severity; use critical, warning or info",
            e.shown()
        );
        r.error(e.line, e.path.clone(), msg);
    }
    found
}

fn below(r: &mut Reader<'_>, e: &Entry<'_>) -> Option<f64> {
    let v = r.number(e)?;
    if v > 0.0 && v <= 1.0 {
        return Some(v);
    }
    let msg = format!("{v} is not a share of servers; use a number in (0, 1], such as 0.5");
    r.error(e.line, e.path.clone(), msg);
    None
}

fn changes(r: &mut Reader<'_>, e: &Entry<'_>) -> Option<u32> {
    let n = r.integer(e)?;
    if (2..=1000).contains(&n) {
        return Some(n as u32);
    }
    let msg = format!("{n} changes cannot mark flapping; use 2 to 1000 (default 4)");
    r.error(e.line, e.path.clone(), msg);
    None
}

fn within(r: &mut Reader<'_>, e: &Entry<'_>) -> Option<std::time::Duration> {
    let d = r.duration(e)?;
    if d.is_zero() {
        r.error(
            e.line,
            e.path.clone(),
            "the flap window must be longer than 0s",
        );
        return None;
    }
    Some(d)
}
