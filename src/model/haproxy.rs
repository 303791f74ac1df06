//! Payloads of the events about HAProxy instances and transactions of server
//! changes, and the transaction record they carry: `haproxy_restarted`,
//! `config_validated`, `transaction_started`, `transaction_committed`,
//! `transaction_rolled_back`. Fields in alphabetical order (the stored order).

use serde::{Deserialize, Serialize};

use super::Ts;
use super::admin::RecoveryTrigger;

/// `haproxy_restarted`: `show info` shows another process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HaproxyRestart {
    pub pid: u64,
    pub previous_pid: u64,
    pub previous_uptime_s: u64,
    pub uptime_s: u64,
    pub version: String,
}

/// The result of one run of a `validate` command; the `data` of `config_validated`
/// and the `validation` of a recovery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigValidation {
    pub command: Vec<String>,
    pub duration_ms: u64,
    /// `null` when the command could not be run, timed out or was killed.
    pub exit_code: Option<i32>,
    /// The last 500 characters of the command's output (its errors when invalid).
    pub output: String,
    pub trigger: RecoveryTrigger,
    pub valid: bool,
}

/// Where a transaction stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxState {
    Running,
    Committed,
    RolledBack,
    /// The daemon stopped while it ran: the steps say what was applied.
    Interrupted,
}

/// What happened to one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    Pending,
    /// Sent, not yet verified.
    Applied,
    /// Sent and read back.
    Verified,
    Failed,
    /// Put back to its previous admin state.
    RolledBack,
    RollbackFailed,
    /// Not attempted, because an earlier step failed.
    Skipped,
}

/// One step of a transaction record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub error: Option<String>,
    pub instance: String,
    pub outcome: StepOutcome,
    /// The admin state read before the change.
    pub previous: Option<String>,
    pub server: String,
    pub state: String,
    pub target: String,
}

/// A transaction as stored and shown; also the `data` of the `transaction_*`
/// events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxRecord {
    pub comment: Option<String>,
    pub finished_at: Option<Ts>,
    pub id: String,
    pub started_at: Ts,
    pub state: TxState,
    pub steps: Vec<StepRecord>,
}
