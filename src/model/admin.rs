//! What operators and recovery actions do to a target, as typed outcomes: the admin
//! state of a server, the outcome of a server admin action and of a recovery command.
//! They travel in observations, are stored in the target's state and form the `data`
//! of `server_admin_action` and `recovery_attempted` events.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A server admin state, as `set server <b>/<s> state <state>` and FAgent take it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminState {
    Ready,
    Drain,
    Maint,
}

impl AdminState {
    /// The word HAProxy expects: `ready`, `drain` or `maint`.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminState::Ready => "ready",
            AdminState::Drain => "drain",
            AdminState::Maint => "maint",
        }
    }

    /// The state named by `ready`, `drain` or `maint` (any case, surrounding blanks
    /// ignored).
    pub fn parse(word: &str) -> Option<AdminState> {
        match word.trim().to_ascii_lowercase().as_str() {
            "ready" => Some(AdminState::Ready),
            "drain" => Some(AdminState::Drain),
            "maint" => Some(AdminState::Maint),
            _ => None,
        }
    }
}

impl AdminState {
    /// The admin state a server's `show stat` status shows: `MAINT ...` is in
    /// maintenance, `DRAIN ...` is draining, anything else is ready.
    pub fn of_status(status: &str) -> AdminState {
        if status.starts_with("MAINT") {
            AdminState::Maint
        } else if status.starts_with("DRAIN") {
            AdminState::Drain
        } else {
            AdminState::Ready
        }
    }
}

impl fmt::Display for AdminState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which interface carried a server admin action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionVia {
    /// FAgent's action endpoint.
    Agent,
    /// HAProxy's Runtime API (`set server`).
    RuntimeApi,
}

/// One attempt to change a server's admin state: the `data` of `server_admin_action`.
/// Fields in alphabetical order, the order of the stored form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerActionOutcome {
    /// Why the source refused or failed; `null` on success.
    pub error: Option<String>,
    pub ok: bool,
    pub server: String,
    pub state: AdminState,
    /// The transaction that made the change, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<String>,
    pub via: ActionVia,
}

/// What started a recovery action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryTrigger {
    /// `POST /api/admin/targets/{id}/recover`.
    Admin,
    /// `auto_recover` after the circuit opened.
    CircuitOpened,
}

/// How a configured recovery command ran.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRun {
    pub duration_ms: u64,
    /// `null` when the command could not be run, timed out or was killed by a signal.
    pub exit_code: Option<i32>,
    pub ok: bool,
}

/// One recovery action: the `data` of `recovery_attempted` and a target's
/// `last_recovery`. Without a configured command, `action` is `null` and `run` absent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryOutcome {
    /// The command's argv.
    pub action: Option<Vec<String>>,
    /// The last 500 characters of the command's output, or why it failed.
    pub detail: String,
    /// The recover command was not run because the configuration is invalid.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refused: bool,
    #[serde(flatten)]
    pub run: Option<CommandRun>,
    pub trigger: RecoveryTrigger,
    /// The `validate` run that came first, when the source has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<super::haproxy::ConfigValidation>,
}
