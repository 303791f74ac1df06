//! `[alerts]`: the built-in rules' hold times, severities and switches, and
//! anti-flap.

use super::reader::{Node, Reader};
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
        let s = r.string(&e);
        match s.as_deref().map(Severity::from_name) {
            Some(Some(sev)) => rc.severity = sev,
            Some(None) => {
                let msg = format!(
                    "{} is not a severity; use critical, warning or info",
                    e.shown()
                );
                r.error(e.line, e.path.clone(), msg);
                ok = false;
            }
            None => ok = false,
        }
    }
    if let Some(e) = r.entry(node, "below") {
        match r.number(&e) {
            Some(v) if v > 0.0 && v <= 1.0 => rc.below = v,
            Some(v) => {
                let msg =
                    format!("{v} is not a share of servers; use a number in (0, 1], such as 0.5");
                r.error(e.line, e.path.clone(), msg);
                ok = false;
            }
            None => ok = false,
        }
    }
    if let Some(e) = r.entry(node, "changes") {
        match r.integer(&e) {
            Some(n) if (2..=1000).contains(&n) => config.flapping.changes = n as u32,
            Some(n) => {
                let msg = format!("{n} changes cannot mark flapping; use 2 to 1000 (default 4)");
                r.error(e.line, e.path.clone(), msg);
                ok = false;
            }
            None => ok = false,
        }
    }
    if let Some(e) = r.entry(node, "within") {
        match r.duration(&e) {
            Some(d) if !d.is_zero() => config.flapping.within = d,
            Some(_) => {
                r.error(
                    e.line,
                    e.path.clone(),
                    "the flap window must be longer than 0s",
                );
                ok = false;
            }
            None => ok = false,
        }
    }
    ok.then_some(rc)
}
