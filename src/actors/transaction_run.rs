//! Running a transaction: each step in order is read (its admin state before),
//! applied through the backend's source and verified by reading the admin state
//! back until `verify_timeout`; on the first failure the steps already applied are
//! put back, in reverse order, to the admin state each had before. The record is
//! stored after every step and the events are committed as it goes:
//! `transaction_started`, one `server_admin_action` per change (with the
//! transaction id), then `transaction_committed` or `transaction_rolled_back`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix::Addr;

use super::cycle::TargetSpec;
use super::outcome::PollResult;
use super::poller::{PollNow, Poller};
use super::server_action;
use super::status::StatusHandle;
use super::transaction::{StepOutcome, TxRecord, TxState};
use super::txlog;
use crate::model::{AdminState, EventData, Observation, ObservationKind, Ts};

/// What a transaction needs to reach its backends.
pub struct Reach {
    pub status: StatusHandle,
    pub client: reqwest::Client,
    pub pollers: HashMap<String, (Addr<Poller>, Arc<TargetSpec>)>,
    pub verify_timeout: Duration,
}

/// Pause between two reads while verifying a step.
const VERIFY_EVERY: Duration = Duration::from_millis(100);

/// Runs every step; the record ends committed or rolled back.
pub async fn execute(reach: &Reach, rec: &mut TxRecord) {
    event(reach, rec, Stage::Started).await;
    save(reach, rec).await;
    let mut failed = None;
    for i in 0..rec.steps.len() {
        if let Err(e) = step(reach, rec, i).await {
            rec.steps[i].outcome = if rec.steps[i].outcome == StepOutcome::Applied {
                StepOutcome::Applied
            } else {
                StepOutcome::Failed
            };
            rec.steps[i].error = Some(e);
            failed = Some(i);
            save(reach, rec).await;
            break;
        }
        save(reach, rec).await;
    }
    match failed {
        None => rec.state = TxState::Committed,
        Some(at) => {
            rollback(reach, rec, at).await;
            rec.state = TxState::RolledBack;
        }
    }
    rec.finished_at = Some(Ts::now());
    save(reach, rec).await;
    let kind = match rec.state {
        TxState::Committed => Stage::Committed,
        _ => Stage::RolledBack,
    };
    event(reach, rec, kind).await;
}

async fn step(reach: &Reach, rec: &mut TxRecord, i: usize) -> Result<(), String> {
    let s = rec.steps[i].clone();
    let wanted = AdminState::parse(&s.state).ok_or("unknown state")?;
    let previous = read_admin(reach, &s.target, &s.server).await?;
    rec.steps[i].previous = Some(previous.as_str().to_string());
    change(reach, &rec.id, &s.target, &s.server, wanted).await?;
    rec.steps[i].outcome = StepOutcome::Applied;
    let deadline = tokio::time::Instant::now() + reach.verify_timeout;
    loop {
        let now = read_admin(reach, &s.target, &s.server).await;
        if now.as_ref().is_ok_and(|a| *a == wanted) {
            rec.steps[i].outcome = StepOutcome::Verified;
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            let seen = now.map(|a| a.as_str().to_string()).unwrap_or_else(|e| e);
            return Err(format!(
                "not verified within {}: read {seen}",
                humantime::format_duration(reach.verify_timeout)
            ));
        }
        tokio::time::sleep(VERIFY_EVERY).await;
    }
}

/// Puts back, newest first, every step up to `at` that was applied.
async fn rollback(reach: &Reach, rec: &mut TxRecord, at: usize) {
    for s in rec.steps.iter_mut().skip(at + 1) {
        s.outcome = StepOutcome::Skipped;
    }
    for i in (0..=at).rev() {
        let s = rec.steps[i].clone();
        let applied = matches!(s.outcome, StepOutcome::Applied | StepOutcome::Verified);
        let Some(previous) = s
            .previous
            .as_deref()
            .and_then(AdminState::parse)
            .filter(|_| applied)
        else {
            continue;
        };
        let undone = change(reach, &rec.id, &s.target, &s.server, previous).await;
        rec.steps[i].outcome = match &undone {
            Ok(()) => StepOutcome::RolledBack,
            Err(_) => StepOutcome::RollbackFailed,
        };
        if let Err(e) = undone {
            rec.steps[i].error = Some(format!("rollback failed: {e}"));
        }
        save(reach, rec).await;
    }
}

async fn change(
    reach: &Reach,
    id: &str,
    target: &str,
    server: &str,
    state: AdminState,
) -> Result<(), String> {
    let (addr, spec) = reach
        .pollers
        .get(target)
        .ok_or_else(|| format!("{target} is no longer polled"))?;
    let (addr, spec) = (addr.clone(), spec.clone());
    server_action::run(
        addr,
        spec,
        reach.status.clone(),
        reach.client.clone(),
        server.to_string(),
        state,
        Some(id.to_string()),
    )
    .await
    .map(|_| ())
    .map_err(|e| e.to_string())
}

/// Polls the backend and reads the server's admin state from what was read.
async fn read_admin(reach: &Reach, target: &str, server: &str) -> Result<AdminState, String> {
    let (addr, _) = reach
        .pollers
        .get(target)
        .ok_or_else(|| format!("{target} is no longer polled"))?;
    let report = addr.send(PollNow).await.map_err(|e| e.to_string())??;
    if report.result != PollResult::Success {
        return Err(report
            .error
            .unwrap_or_else(|| format!("the poll of {target} was {:?}", report.result)));
    }
    let snap = reach.status.snapshot();
    let t = snap
        .targets
        .get(target)
        .ok_or_else(|| format!("{target} is gone"))?;
    let s = t
        .servers
        .iter()
        .find(|s| s.name() == server)
        .ok_or_else(|| format!("{target} has no server {server}"))?;
    Ok(AdminState::of_status(&s.status))
}

async fn save(reach: &Reach, rec: &TxRecord) {
    if let Err(e) = txlog::save(&reach.status, rec).await {
        tracing::error!(transaction = rec.id, error = %e, "transaction record not stored");
    }
}

/// Which `transaction_*` event to record.
enum Stage {
    Started,
    Committed,
    RolledBack,
}

async fn event(reach: &Reach, rec: &TxRecord, kind: Stage) {
    let data = match kind {
        Stage::Started => EventData::TransactionStarted(rec.clone()),
        Stage::Committed => EventData::TransactionCommitted(rec.clone()),
        Stage::RolledBack => EventData::TransactionRolledBack(rec.clone()),
    };
    let obs = Observation {
        target: format!("transaction/{}", rec.id),
        at: Ts::now(),
        kind: ObservationKind::Instance(Box::new(data)),
    };
    if let Err(e) = reach.status.observe(vec![obs]).await {
        tracing::warn!(transaction = rec.id, error = %e, "transaction event not recorded");
    }
}
