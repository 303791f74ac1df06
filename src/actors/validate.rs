//! Checking HAProxy's configuration with the section's `validate` command
//! (`haproxy -c -f ...`), recorded as a `config_validated` event; and recoveries
//! that validate first and refuse to run the recover command on an invalid
//! configuration, so a reload that would fail is never attempted.

use serde::Serialize;
use serde_json::json;

use super::cycle::{self, TargetSpec};
use super::instance::instance_id;
use super::status::StatusHandle;
use crate::config::RecoverAction;
use crate::model::{EventType, Observation, ObservationKind, Ts};

/// The result of one validation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Validation {
    pub valid: bool,
    pub exit_code: Option<i32>,
    /// The end of what the command printed (its errors when it failed).
    pub output: String,
    pub duration_ms: u64,
}

/// Runs the command.
pub async fn run(action: &RecoverAction) -> Validation {
    let started = std::time::Instant::now();
    let (valid, output, exit_code) = cycle::run_command(&action.command, action.timeout).await;
    Validation {
        valid,
        exit_code,
        output,
        duration_ms: started.elapsed().as_millis() as u64,
    }
}

/// Runs the command and commits its `config_validated` event; `trigger` says why
/// (`admin`, or the recovery's trigger).
pub async fn run_recorded(
    instance: &str,
    action: &RecoverAction,
    trigger: &str,
    status: &StatusHandle,
) -> Validation {
    let v = run(action).await;
    let mut data = serde_json::to_value(&v).unwrap_or_default();
    data["trigger"] = json!(trigger);
    data["command"] = json!(action.command);
    let obs = Observation {
        target: instance_id(instance),
        at: Ts::now(),
        kind: ObservationKind::Instance {
            kind: EventType::ConfigValidated,
            data,
        },
    };
    if let Err(e) = status.observe(vec![obs]).await {
        tracing::warn!(instance, error = %e, "config_validated not recorded");
    }
    v
}

/// A recovery of `spec`: with both `recover` and `validate` configured, the
/// configuration is validated first and the recover command runs only if it is
/// valid. The outcome is the `recovery_attempted` event's data.
pub async fn recovery(
    spec: &TargetSpec,
    trigger: &str,
    status: &StatusHandle,
) -> serde_json::Value {
    let (Some(recover), Some(check)) = (spec.recover.as_ref(), spec.validate.as_ref()) else {
        return cycle::run_recovery(spec.recover.as_ref(), trigger).await;
    };
    let v = run_recorded(&spec.meta.group, check, trigger, status).await;
    if v.valid {
        let mut outcome = cycle::run_recovery(Some(recover), trigger).await;
        outcome["validation"] = json!(v);
        return outcome;
    }
    json!({"trigger": trigger, "action": recover.command, "ok": false, "refused": true,
           "exit_code": null, "validation": v,
           "detail": format!("the recover command was not run: the configuration is invalid: {}", v.output)})
}
