//! Checking HAProxy's configuration with the section's `validate` command
//! (`haproxy -c -f ...`), recorded as a `config_validated` event; and recoveries
//! that validate first and refuse to run the recover command on an invalid
//! configuration, so a reload that would fail is never attempted.

use super::cycle::{self, TargetSpec};
use super::instance::instance_id;
use super::status::StatusHandle;
use crate::config::RecoverAction;
use crate::model::{
    ConfigValidation, EventData, Observation, ObservationKind, RecoveryOutcome, RecoveryTrigger, Ts,
};

/// Runs the command.
pub async fn run(action: &RecoverAction, trigger: RecoveryTrigger) -> ConfigValidation {
    let started = std::time::Instant::now();
    let (valid, output, exit_code) = cycle::run_command(&action.command, action.timeout).await;
    ConfigValidation {
        command: action.command.clone(),
        duration_ms: started.elapsed().as_millis() as u64,
        exit_code,
        output,
        trigger,
        valid,
    }
}

/// Runs the command and commits its `config_validated` event.
pub async fn run_recorded(
    instance: &str,
    action: &RecoverAction,
    trigger: RecoveryTrigger,
    status: &StatusHandle,
) -> ConfigValidation {
    let v = run(action, trigger).await;
    let obs = Observation {
        target: instance_id(instance),
        at: Ts::now(),
        kind: ObservationKind::Instance(Box::new(EventData::ConfigValidated(v.clone()))),
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
    trigger: RecoveryTrigger,
    status: &StatusHandle,
) -> RecoveryOutcome {
    let (Some(recover), Some(check)) = (spec.recover.as_deref(), spec.validate.as_deref()) else {
        return cycle::run_recovery(spec.recover.as_deref(), trigger).await;
    };
    let v = run_recorded(&spec.meta.group, check, trigger, status).await;
    if v.valid {
        let mut outcome = cycle::run_recovery(Some(recover), trigger).await;
        outcome.validation = Some(v);
        return outcome;
    }
    RecoveryOutcome {
        action: Some(recover.command.clone()),
        detail: format!(
            "the recover command was not run: the configuration is invalid: {}",
            v.output
        ),
        refused: true,
        run: None,
        trigger,
        validation: Some(v),
    }
}
