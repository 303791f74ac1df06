//! What pollers and admin commands answer their callers: typed outcomes, serialised
//! as the admin endpoints' JSON bodies (see docs/api.md, "Admin").

use serde::Serialize;

use crate::model::{CircuitState, RecoveryOutcome, ServerActionOutcome, Ts};

/// How one poll ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PollResult {
    /// The source answered with data.
    Success,
    /// The fetch failed after its retries.
    Failed,
    /// Nothing was fetched: the circuit is open or polling is disabled.
    Skipped,
}

/// How a poll ended, as reported to admin callers.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PollReport {
    pub result: PollResult,
    pub error: Option<String>,
    pub circuit_state: CircuitState,
    pub next_attempt_at: Option<Ts>,
}

/// What an admin command did. Serialised without a tag: each variant is the body
/// of its endpoint (fields in alphabetical order, the order of the JSON object).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AdminOutcome {
    /// Polling was enabled or disabled.
    Polling { enable_polling: bool },
    /// The circuit was reset and a poll followed.
    CircuitReset { poll: PollReport },
    /// A recovery action ran, the circuit was reset and a poll followed.
    Recovered {
        poll: PollReport,
        recovery: RecoveryOutcome,
    },
    /// A server's admin state was changed and a poll followed.
    ServerAction {
        action: ServerActionOutcome,
        poll: PollReport,
    },
    /// A fault was injected (test builds only).
    #[cfg(any(test, feature = "fault-injection"))]
    Injected {},
}
