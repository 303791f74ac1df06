//! Changing a server's admin state (ready / drain / maint) through the backend's
//! source: FAgent's action endpoint or the Runtime API's `set server`. The stats
//! page cannot; that is a conflict, not a failure. Every attempt is an event, and a
//! poll follows so the answer shows the new state.

use std::sync::Arc;

use actix::Addr;

use super::cycle::TargetSpec;
use super::fleet::{AdminError, mailbox};
use super::outcome::AdminOutcome;
use super::poller::{PollNow, Poller};
use super::status::StatusHandle;
use crate::model::{ActionVia, AdminState, ServerActionOutcome};
use crate::model::{Observation, ObservationKind, Ts};
use crate::sources::client::{SourceSpec, agent_server_action};
use crate::sources::haproxy::runtime::set_server_state_command;
use crate::sources::haproxy::stats::Transport;
use crate::sources::{FetchError, FetchErrorKind};

/// Carries out the change, records it, polls, and answers both.
pub async fn run(
    poller: Addr<Poller>,
    spec: Arc<TargetSpec>,
    status: StatusHandle,
    client: reqwest::Client,
    server: String,
    state: AdminState,
    transaction: Option<String>,
) -> Result<AdminOutcome, AdminError> {
    let (via, result) = apply(&spec, &client, &server, state).await?;
    let outcome = ServerActionOutcome {
        error: result.as_ref().err().map(|e| e.message.clone()),
        ok: result.is_ok(),
        server: server.clone(),
        state,
        transaction,
        via,
    };
    let obs = Observation {
        target: spec.meta.id.clone(),
        at: Ts::now(),
        kind: ObservationKind::ServerAction {
            outcome: Box::new(outcome.clone()),
        },
    };
    status
        .observe(vec![obs])
        .await
        .map_err(|e| AdminError::Failed(e.to_string()))?;
    if let Err(e) = result {
        return Err(if e.kind == FetchErrorKind::NotFound {
            AdminError::UnknownTarget(format!("server {server} in {}", spec.meta.id))
        } else {
            AdminError::Source(e.message)
        });
    }
    let poll = poller
        .send(PollNow)
        .await
        .map_err(mailbox)?
        .map_err(AdminError::Failed)?;
    Ok(AdminOutcome::ServerAction {
        action: outcome,
        poll,
    })
}

/// Why the source of `spec` cannot change server state, if it cannot.
pub fn can_change(spec: &TargetSpec) -> Result<(), String> {
    match &spec.source {
        SourceSpec::HaproxyAgent { .. } => Ok(()),
        SourceSpec::HaproxyStats { source, .. } => match &source.transport {
            Transport::Runtime(_) => Ok(()),
            Transport::Http { .. } => Err(format!(
                "{} is read through the stats page, which cannot change server state",
                spec.meta.id
            )),
        },
        _ => Err(format!("{} is not an HAProxy backend", spec.meta.id)),
    }
}

/// Sends the change; the outer error means the source cannot do it at all.
async fn apply(
    spec: &TargetSpec,
    client: &reqwest::Client,
    server: &str,
    state: AdminState,
) -> Result<(ActionVia, Result<(), FetchError>), AdminError> {
    let timeout = spec.policy.timeout;
    match &spec.source {
        SourceSpec::HaproxyAgent { agent, instance, backend } => {
            let r = agent_server_action(client, agent, instance, (backend, server), state.as_str(), timeout).await;
            Ok((ActionVia::Agent, r))
        }
        SourceSpec::HaproxyStats { source, backend } => match &source.transport {
            Transport::Runtime(api) => {
                let cmd = set_server_state_command(backend, server, state).map_err(AdminError::Conflict)?;
                let r = api.command(&cmd, timeout).await.map(|_| ());
                Ok((ActionVia::RuntimeApi, r))
            }
            Transport::Http { .. } => Err(AdminError::Conflict(
                "the stats page source cannot change server state; use source = \"socket\" (Runtime API) or FAgent".into(),
            )),
        },
        _ => Err(AdminError::Conflict(format!("{} is not an HAProxy backend", spec.meta.id))),
    }
}
