//! Tests of `[alerts]`.

use std::time::Duration;

use super::tests_bad::check;
use super::*;
use crate::alerts::{Rule, Severity};

#[test]
fn alerts_settings_override_the_defaults_rule_by_rule() {
    let text = r#"
[alerts]
server_down = { for = "20s", severity = "warning" }
backend_degraded = { for = "60s", below = 0.25 }
instance_removed = { enabled = false }
flapping = { changes = 6, within = "5m" }
"#;
    let c = parse(text, "a.toml", &|_| None).unwrap().alerts;
    let sd = c.rule(Rule::ServerDown);
    assert_eq!(
        (sd.hold, sd.severity),
        (Duration::from_secs(20), Severity::Warning)
    );
    assert_eq!(c.rule(Rule::BackendDegraded).below, 0.25);
    assert!(!c.rule(Rule::InstanceRemoved).enabled);
    assert_eq!(
        c.rule(Rule::TargetUnreachable).hold,
        Duration::from_secs(30)
    );
    assert_eq!(
        (c.flapping.changes, c.flapping.within),
        (6, Duration::from_secs(300))
    );
}

#[test]
fn bad_alerts_settings_are_reported_at_their_line() {
    check(
        "[alerts]\n",
        &[
            ("server_dwn = {}\n", 2, "alerts.server_dwn", "unknown key"),
            (
                "server_down = { severity = \"loud\" }\n",
                2,
                "alerts.server_down.severity",
                "not a severity",
            ),
            (
                "server_down = { for = \"soon\" }\n",
                2,
                "alerts.server_down.for",
                "not a duration",
            ),
            (
                "backend_degraded = { below = 2 }\n",
                2,
                "alerts.backend_degraded.below",
                "share",
            ),
            (
                "server_down = { below = 0.5 }\n",
                2,
                "alerts.server_down.below",
                "unknown key",
            ),
            (
                "flapping = { changes = 1 }\n",
                2,
                "alerts.flapping.changes",
                "2 to 1000",
            ),
        ],
    );
}
