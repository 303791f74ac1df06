//! Globs and alert ids.

use super::*;

#[test]
fn globs_match_as_documented() {
    assert!(glob("haproxy/fdmz01/*", "haproxy/fdmz01/be_app"));
    assert!(!glob("haproxy/fdmz01/*", "haproxy/fdmz02/be_app"));
    assert!(glob("app2", "app2"));
    assert!(!glob("app2", "app21"));
    assert!(glob("*", ""));
    assert!(glob("a*b*c", "aXXbYYc"));
    assert!(!glob("a*b*c", "aXXcYYb"));
    assert!(glob("*ab", "ab"));
    assert!(!glob("ab*ab", "ab"));
}

#[test]
fn ids_depend_on_rule_and_labels_only() {
    let labels = Labels {
        target: "haproxy/a/b".into(),
        group: "a".into(),
        backend: Some("b".into()),
        server: Some("s1".into()),
        ..Labels::default()
    };
    let id = alert_id(Rule::ServerDown, &labels);
    assert_eq!(id, alert_id(Rule::ServerDown, &labels.clone()));
    assert_ne!(id, alert_id(Rule::Flapping, &labels));
    let other = Labels {
        server: Some("s2".into()),
        ..labels
    };
    assert_ne!(id, alert_id(Rule::ServerDown, &other));
    assert_eq!(id.len(), 16);
    let drift = Labels {
        kind: Some("registered_not_serving".into()),
        endpoint: Some("10.0.0.1:80".into()),
        ..other.clone()
    };
    assert_ne!(alert_id(Rule::Drift, &drift), alert_id(Rule::Drift, &other));
}

#[test]
fn ids_of_alerts_without_the_drift_labels_are_as_before_them() {
    let labels = Labels {
        target: "haproxy/a/b".into(),
        group: "a".into(),
        backend: Some("b".into()),
        server: Some("s1".into()),
        ..Labels::default()
    };
    // Computed by the id function before `kind` and `endpoint` existed.
    assert_eq!(alert_id(Rule::ServerDown, &labels), "88c84650b3cccfef");
}
