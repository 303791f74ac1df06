//! Which rule conditions hold for a target's committed state, and which subjects
//! have no data (so nothing may be concluded about them). Pure code.

use crate::drift::DriftItem;
use crate::model::{
    AppRecord, CircuitState, FetchStatus, InstanceState, ServerState, TargetKind, TargetState,
};

use super::config::AlertsConfig;
use super::model::{Labels, Rule};

/// A rule's condition that is true now.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub rule: Rule,
    pub labels: Labels,
    pub summary: String,
    /// The failing fetch's error text (target_unreachable).
    pub error: Option<String>,
}

/// The labels every alert of target `t` carries.
pub fn target_labels(t: &TargetState) -> Labels {
    Labels {
        target: t.id.clone(),
        group: t.group.to_string(),
        backend: t.backend_name.clone(),
        ..Labels::default()
    }
}

/// The labels of server `name` of `t`.
pub fn server_labels(t: &TargetState, name: &str) -> Labels {
    Labels {
        server: Some(name.to_string()),
        ..target_labels(t)
    }
}

/// The labels of instance `id` of application `app` of `t`.
pub fn instance_labels(t: &TargetState, app: &str, id: &str) -> Labels {
    Labels {
        app: Some(app.to_string()),
        instance: Some(id.to_string()),
        ..target_labels(t)
    }
}

/// Whether `rule` concludes from a source's data (as opposed to the fetch itself).
/// `drift` is judged on fresh data by the drift tracking itself, which keeps an
/// item as it is while a side is stale (`docs/drift.md`).
pub fn reads_data(rule: Rule) -> bool {
    !matches!(
        rule,
        Rule::TargetUnreachable | Rule::CircuitOpen | Rule::Flapping | Rule::Drift
    )
}

/// Whether the subject of an alert of `rule` on `labels` has no data in `t`: its
/// target's (or application's) last fetch failed. Such alerts stay as they are.
pub fn no_data(t: &TargetState, rule: Rule, labels: &Labels) -> bool {
    if !reads_data(rule) {
        return false;
    }
    if t.last_fetch_status != FetchStatus::Success {
        return true;
    }
    labels.app.as_deref().is_some_and(|app| {
        t.applications
            .iter()
            .any(|a| a.name == app && a.last_fetch_status == FetchStatus::Failed)
    })
}

/// Every enabled rule's condition that holds for `t`, whose HAProxy side is in
/// the reported drift items `drift`.
pub fn conditions(t: &TargetState, drift: &[&DriftItem], cfg: &AlertsConfig) -> Vec<Condition> {
    let mut out = Vec::new();
    fetch_conditions(t, &mut out);
    out.extend(drift.iter().map(|item| drift_condition(t, item)));
    if t.last_fetch_status == FetchStatus::Success {
        match t.kind {
            TargetKind::HaproxyBackend => backend_conditions(t, cfg, &mut out),
            TargetKind::EurekaServer => {
                for app in &t.applications {
                    app_conditions(t, app, &mut out);
                }
                lease_conditions(t, &mut out);
            }
        }
    }
    out.retain(|c| cfg.rule(c.rule).enabled);
    out
}

fn fetch_conditions(t: &TargetState, out: &mut Vec<Condition>) {
    if matches!(t.circuit.state, CircuitState::Open | CircuitState::HalfOpen) {
        out.push(Condition {
            rule: Rule::CircuitOpen,
            labels: target_labels(t),
            summary: format!("{}: circuit open, polls suspended", t.id),
            error: t.last_fetch_error.clone(),
        });
    }
    if t.last_fetch_status == FetchStatus::Failed {
        let error = t.last_fetch_error.clone();
        let why = error.as_deref().unwrap_or("fetch failed");
        out.push(Condition {
            rule: Rule::TargetUnreachable,
            labels: target_labels(t),
            summary: format!("{} unreachable: {why}", t.id),
            error,
        });
    }
}

fn backend_conditions(t: &TargetState, cfg: &AlertsConfig, out: &mut Vec<Condition>) {
    let mut up = 0usize;
    for s in &t.servers {
        match s.state {
            ServerState::Up => up += 1,
            ServerState::Down => out.push(Condition {
                rule: Rule::ServerDown,
                labels: server_labels(t, s.name()),
                summary: format!("{} server {} is {}", t.id, s.name(), s.status),
                error: None,
            }),
            _ => {}
        }
    }
    let total = t.servers.len();
    if total == 0 {
        return;
    }
    let labels = target_labels(t);
    if up == 0 {
        out.push(Condition {
            rule: Rule::BackendDown,
            labels,
            summary: format!("{}: no server up (0/{total})", t.id),
            error: None,
        });
    } else if (up as f64) < cfg.rule(Rule::BackendDegraded).below * total as f64 {
        out.push(Condition {
            rule: Rule::BackendDegraded,
            labels,
            summary: format!("{}: {up}/{total} servers up", t.id),
            error: None,
        });
    }
}

/// `lease_expired` per live instance of a usable application, and
/// `eureka_self_preservation` for the server (`docs/drift.md`).
fn lease_conditions(t: &TargetState, out: &mut Vec<Condition>) {
    let usable = t
        .applications
        .iter()
        .filter(|a| a.last_fetch_status == FetchStatus::Success);
    for app in usable {
        for i in app
            .instances
            .iter()
            .filter(|i| i.lease_expired && i.removed_at.is_none())
        {
            out.push(Condition {
                rule: Rule::LeaseExpired,
                labels: instance_labels(t, &app.name, &i.instance_id),
                summary: format!(
                    "{} {}: instance {} kept with an expired lease",
                    t.id, app.name, i.instance_id
                ),
                error: None,
            });
        }
    }
    if t.self_preservation_suspected {
        out.push(Condition {
            rule: Rule::EurekaSelfPreservation,
            labels: target_labels(t),
            summary: format!(
                "{}: self-preservation suspected; its UP is not to be trusted",
                t.id
            ),
            error: None,
        });
    }
}

/// `drift` for one reported item (active, or unknown while a side is stale): the
/// labels of both sides that apply.
fn drift_condition(t: &TargetState, item: &DriftItem) -> Condition {
    let (h, e) = (&item.haproxy, &item.eureka);
    let server = h.server.as_deref().unwrap_or("no server");
    let instance = e.instance_id.as_deref().unwrap_or("no instance");
    let status = |s: &Option<String>| s.clone().unwrap_or_else(|| "absent".into());
    Condition {
        rule: Rule::Drift,
        labels: Labels {
            server: h.server.clone(),
            app: Some(e.app.clone()),
            instance: e.instance_id.clone(),
            kind: Some(item.kind.as_str().to_string()),
            endpoint: Some(item.endpoint.clone()),
            ..target_labels(t)
        },
        summary: format!(
            "{} at {}: {} {server} is {}, {} {} {instance} is {}",
            item.kind.as_str(),
            item.endpoint,
            h.target,
            status(&h.status),
            e.target,
            e.app,
            status(&e.status),
        ),
        error: None,
    }
}

fn app_conditions(t: &TargetState, app: &AppRecord, out: &mut Vec<Condition>) {
    if app.last_fetch_status == FetchStatus::Failed {
        let error = app.last_fetch_error.clone();
        let why = error.as_deref().unwrap_or("fetch failed");
        out.push(Condition {
            rule: Rule::TargetUnreachable,
            labels: Labels {
                app: Some(app.name.clone()),
                ..target_labels(t)
            },
            summary: format!("{} application {} unusable: {why}", t.id, app.name),
            error,
        });
        return;
    }
    for i in &app.instances {
        let labels = || instance_labels(t, &app.name, &i.instance_id);
        if i.removed_at.is_some() {
            out.push(Condition {
                rule: Rule::InstanceRemoved,
                labels: labels(),
                summary: format!("{} {}: instance {} removed", t.id, app.name, i.instance_id),
                error: None,
            });
        } else if i.state == InstanceState::Down {
            out.push(Condition {
                rule: Rule::InstanceDown,
                labels: labels(),
                summary: format!("{} {}: instance {} is DOWN", t.id, app.name, i.instance_id),
                error: None,
            });
        }
    }
}
