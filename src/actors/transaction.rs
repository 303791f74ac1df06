//! Transactions of server changes: the request, its validation into an ordered
//! plan (every problem listed, nothing applied when there is one), the record kept
//! for `GET /api/transactions/{id}`, and the claim that keeps one transaction at a
//! time per HAProxy instance. Applying, verifying and rolling back is in
//! `transaction_run.rs`; storage in `txlog.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::model::{AdminState, TargetKind, TargetState, Ts};
pub use crate::model::{StepOutcome, StepRecord, TxRecord, TxState};

/// One action of a request: a server of a target, or every server with an address.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    pub target: Option<String>,
    pub server: Option<String>,
    pub address: Option<String>,
    pub state: String,
}

/// One step of a plan: one server of one backend to bring to `state`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PlannedStep {
    pub target: String,
    /// The `[[haproxy]]` instance the backend belongs to.
    pub instance: String,
    pub server: String,
    #[serde(serialize_with = "admin_state")]
    pub state: AdminState,
}

fn admin_state<S: serde::Serializer>(s: &AdminState, out: S) -> Result<S::Ok, S::Error> {
    out.serialize_str(s.as_str())
}

/// Expands and checks the actions against the committed targets. `can_change`
/// says why a target's source cannot change server state, if it cannot. Every
/// problem is listed; the plan comes only when there is none.
pub fn plan(
    actions: &[ActionRequest],
    targets: &BTreeMap<Arc<str>, Arc<TargetState>>,
    can_change: impl Fn(&str) -> Result<(), String>,
) -> Result<Vec<PlannedStep>, Vec<String>> {
    let mut steps = Vec::new();
    let mut problems = Vec::new();
    if actions.is_empty() {
        problems.push("the transaction has no actions".to_string());
    }
    for (n, a) in actions.iter().enumerate() {
        let n = n + 1;
        let state = AdminState::parse(&a.state);
        if state.is_none() {
            problems.push(format!(
                "action {n}: unknown state {:?}: use ready, drain or maint",
                a.state
            ));
        }
        let found = servers_of(a, targets, &can_change);
        match (found, state) {
            (Ok(list), Some(state)) => steps.extend(list.into_iter().map(|(t, s)| PlannedStep {
                instance: t.group.to_string(),
                target: t.id.clone(),
                server: s,
                state,
            })),
            (Ok(_), None) => {}
            (Err(list), _) => problems.extend(list.into_iter().map(|p| format!("action {n}: {p}"))),
        }
    }
    if problems.is_empty() {
        Ok(steps)
    } else {
        Err(problems)
    }
}

/// The servers one action names.
fn servers_of<'a>(
    a: &ActionRequest,
    targets: &'a BTreeMap<Arc<str>, Arc<TargetState>>,
    can_change: &impl Fn(&str) -> Result<(), String>,
) -> Found<'a> {
    match (&a.target, &a.server, &a.address) {
        (Some(t), Some(s), None) => by_target(t, s, targets, can_change),
        (None, None, Some(addr)) => by_address(addr, targets, can_change),
        _ => Err(vec![
            "give either \"target\" and \"server\", or \"address\"".to_string(),
        ]),
    }
}

type Found<'a> = Result<Vec<(&'a TargetState, String)>, Vec<String>>;

fn by_target<'a>(
    id: &str,
    server: &str,
    targets: &'a BTreeMap<Arc<str>, Arc<TargetState>>,
    can_change: &impl Fn(&str) -> Result<(), String>,
) -> Found<'a> {
    let Some(t) = targets
        .get(id)
        .filter(|t| t.kind == TargetKind::HaproxyBackend)
    else {
        return Err(vec![format!("unknown HAProxy backend {id}")]);
    };
    can_change(id).map_err(|e| vec![e])?;
    if !t.servers.iter().any(|s| s.name() == server) {
        return Err(vec![format!("{id} has no server named {server:?}")]);
    }
    Ok(vec![(t.as_ref(), server.to_string())])
}

fn by_address<'a>(
    addr: &str,
    targets: &'a BTreeMap<Arc<str>, Arc<TargetState>>,
    can_change: &impl Fn(&str) -> Result<(), String>,
) -> Found<'a> {
    let found: Vec<_> = targets
        .values()
        .filter(|t| t.kind == TargetKind::HaproxyBackend && can_change(&t.id).is_ok())
        .flat_map(|t| {
            t.servers
                .iter()
                .filter(|s| s.addr() == Some(addr))
                .map(move |s| (t.as_ref(), s.name().to_string()))
        })
        .collect();
    if found.is_empty() {
        return Err(vec![format!(
            "no server has the address {addr} in an HAProxy source that can change server state"
        )]);
    }
    Ok(found)
}

impl TxRecord {
    /// A running transaction of `steps`.
    pub fn new(id: String, comment: Option<String>, steps: &[PlannedStep]) -> TxRecord {
        let steps = steps
            .iter()
            .map(|s| StepRecord {
                target: s.target.clone(),
                instance: s.instance.clone(),
                server: s.server.clone(),
                state: s.state.as_str().to_string(),
                previous: None,
                outcome: StepOutcome::Pending,
                error: None,
            })
            .collect();
        TxRecord {
            id,
            state: TxState::Running,
            comment,
            started_at: Ts::now(),
            finished_at: None,
            steps,
        }
    }

    /// The instances the transaction touches.
    pub fn instances(&self) -> BTreeSet<String> {
        self.steps.iter().map(|s| s.instance.clone()).collect()
    }
}

/// A new transaction id; ids sort by start time.
pub fn new_id() -> String {
    format!("tx-{:013}-{:04x}", Ts::now().0, rand::random::<u16>())
}

static BUSY: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
static RUNNING: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// The instances (and the id) a running transaction holds; released on drop.
pub struct Claim {
    instances: BTreeSet<String>,
    id: String,
}

/// Claims every instance for transaction `id`, or names the busy ones.
pub fn claim(id: &str, instances: BTreeSet<String>) -> Result<Claim, Vec<String>> {
    let mut busy = BUSY.lock().unwrap_or_else(|p| p.into_inner());
    let taken: Vec<String> = instances.intersection(&busy).cloned().collect();
    if !taken.is_empty() {
        return Err(taken);
    }
    busy.extend(instances.iter().cloned());
    RUNNING
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id.to_string());
    Ok(Claim {
        instances,
        id: id.to_string(),
    })
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut busy = BUSY.lock().unwrap_or_else(|p| p.into_inner());
        self.instances.iter().for_each(|i| {
            busy.remove(i);
        });
        RUNNING
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
    }
}

/// A stored record as it stands now: one still marked running that this process
/// is not running was cut off by a stop of the daemon.
pub fn as_now(mut rec: TxRecord) -> TxRecord {
    let running = RUNNING
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains(&rec.id);
    if rec.state == TxState::Running && !running {
        rec.state = TxState::Interrupted;
    }
    rec
}
