//! Drift and leases inside the status actor: the settings taken from the
//! configuration in force, one evaluation of [`crate::drift`] per batch (at most
//! once a second), the `drift` redb table written in the batch's own transaction,
//! and the board HTTP handlers read after the commit.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::specs::{eureka_id, haproxy_id};
use super::status_alerts::Reported;
use super::store::classify;
use super::store::{Fault, StoreError};
use crate::config::{Config, LiveConfig};
use crate::drift::track::{Change, Sides, track};
use crate::drift::{DriftItem, Items, Link, is_fresh, join, lease};
use crate::model::{
    EventData, EventDraft, FetchStatus, Observation, ObservationKind, Payload, TargetKind,
    TargetState, Ts,
};

/// The tracked drift items by id, as JSON: committed with the states.
const DRIFT: TableDefinition<&str, &[u8]> = TableDefinition::new("drift");
/// Least time between two evaluations of the join.
pub const EVAL_GAP_MS: u64 = 1000;

/// The committed drift items, for HTTP readers.
#[derive(Debug, Default)]
pub struct Board(RwLock<Arc<Items>>);

impl Board {
    /// The items as last committed.
    pub fn items(&self) -> Arc<Items> {
        self.0
            .read()
            .map(|i| i.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    fn set(&self, items: Arc<Items>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = items;
    }
}

/// An evaluation waiting for its commit.
pub struct Round {
    items: Items,
    drafts: Vec<EventDraft>,
}

impl Round {
    /// The events of the round, to commit with the batch.
    pub fn drafts(&self) -> Vec<EventDraft> {
        self.drafts.clone()
    }
}

/// The status actor's drift and lease state.
pub struct Engine {
    live: Option<Arc<LiveConfig>>,
    items: Arc<Items>,
    last_eval: Option<Ts>,
    board: Arc<Board>,
}

impl Engine {
    /// Loads the committed items.
    pub fn load(db: &redb::Database, live: Option<Arc<LiveConfig>>) -> Result<Engine, StoreError> {
        let items = Arc::new(read_items(db)?);
        let board = Arc::new(Board::default());
        board.set(items.clone());
        Ok(Engine {
            live,
            items,
            last_eval: None,
            board,
        })
    }

    /// The board HTTP handlers read.
    pub fn board(&self) -> Arc<Board> {
        self.board.clone()
    }

    /// After `diff` applied a poll to `next`: judges the leases of a Eureka fetch.
    pub fn after_poll(&self, next: &mut TargetState, obs: &Observation) -> Vec<EventDraft> {
        let ObservationKind::Fetched(Payload::Applications(_)) = &obs.kind else {
            return Vec::new();
        };
        let config = self.live.as_ref().map(|l| l.get());
        let grace = config.and_then(|c| interval_ms(&c, next)).unwrap_or(0);
        lease::judge(next, obs.at, grace)
    }

    /// Whether an evaluation is due: the last one is at least [`EVAL_GAP_MS`] old
    /// and there are settings to evaluate with.
    pub fn due(&self, now: Ts) -> bool {
        self.live.is_some() && self.last_eval.is_none_or(|t| now.since(t) >= EVAL_GAP_MS)
    }

    /// Evaluates drift over the state a batch leads to (`current` with `working`
    /// over it), when the batch `polled` something and an evaluation is due.
    pub fn propose_after(
        &self,
        polled: bool,
        current: &BTreeMap<Arc<str>, Arc<TargetState>>,
        working: &super::batch::Working,
        now: Ts,
    ) -> Option<Round> {
        if !polled || !self.due(now) {
            return None;
        }
        let untouched = current.iter().filter(|(id, _)| !working.contains_key(*id));
        let targets: Vec<Arc<TargetState>> = untouched
            .map(|(_, t)| t.clone())
            .chain(working.values().flatten().cloned())
            .collect();
        self.propose(&targets, now)
    }

    /// Evaluates drift over `targets`, the state after the batch.
    pub fn propose(&self, targets: &[Arc<TargetState>], now: Ts) -> Option<Round> {
        let config = self.live.as_ref()?.get();
        let by_id: HashMap<&str, &TargetState> = targets
            .iter()
            .map(|t| (t.id.as_str(), t.as_ref()))
            .collect();
        let fresh: Vec<&TargetState> = targets
            .iter()
            .map(|t| t.as_ref())
            .filter(|t| is_fresh(t, interval_ms(&config, t), now))
            .collect();
        let seen = join::mismatches(&fresh, &links(&config));
        let sides = |item: &DriftItem| sides_of(item, &by_id, &config, now);
        let hold = config.drift_for.as_millis() as u64;
        let (items, changes) = track(&self.items, seen, &sides, now, hold);
        let drafts = changes.into_iter().map(draft).collect();
        Some(Round { items, drafts })
    }

    /// The reported items after `round` (the committed ones without one), and
    /// the HAProxy targets whose reported items it changes: for the `drift` rule.
    pub fn reported<'a>(&'a self, round: Option<&'a Round>) -> Reported<'a> {
        match round {
            Some(r) => Reported::new(&self.items, &r.items),
            None => Reported::new(&self.items, &self.items),
        }
    }

    /// Writes what `round` changed, inside the batch's transaction.
    pub fn write(&self, tx: &WriteTransaction, round: &Round) -> Result<(), StoreError> {
        let err = |e: redb::Error| StoreError::write(classify(&e), format!("drift table: {e}"));
        let mut table = tx.open_table(DRIFT).map_err(|e| err(e.into()))?;
        for id in self
            .items
            .keys()
            .filter(|id| !round.items.contains_key(*id))
        {
            table.remove(id.as_str()).map_err(|e| err(e.into()))?;
        }
        for (id, item) in &round.items {
            if self.items.get(id) != Some(item) {
                let bytes = serde_json::to_vec(item)
                    .map_err(|e| StoreError::write(Fault::Unreadable, e.to_string()))?;
                table
                    .insert(id.as_str(), bytes.as_slice())
                    .map_err(|e| err(e.into()))?;
            }
        }
        Ok(())
    }

    /// The round is committed: it becomes the state and is published.
    pub fn accept(&mut self, round: Round, now: Ts) {
        self.items = Arc::new(round.items);
        self.last_eval = Some(now);
        self.board.set(self.items.clone());
    }
}

fn read_items(db: &redb::Database) -> Result<Items, StoreError> {
    let err = |e: redb::Error| StoreError::read(classify(&e), format!("drift table: {e}"));
    let tx = db.begin_read().map_err(|e| err(e.into()))?;
    let table = match tx.open_table(DRIFT) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Items::new()),
        Err(e) => return Err(err(e.into())),
    };
    let mut items = Items::new();
    for row in table.iter().map_err(|e| err(e.into()))? {
        let (key, value) = row.map_err(|e| err(e.into()))?;
        match serde_json::from_slice::<DriftItem>(value.value()) {
            Ok(item) => drop(items.insert(key.value().to_string(), item)),
            Err(e) => {
                tracing::warn!(id = key.value(), error = %e, "skipping unreadable drift item")
            }
        }
    }
    Ok(items)
}

/// The poll interval of a target, from the configuration in force.
fn interval_ms(config: &Config, t: &TargetState) -> Option<u64> {
    let policy = match t.kind {
        TargetKind::HaproxyBackend => config
            .haproxy
            .iter()
            .find(|h| h.name == *t.group)
            .map(|h| &h.policy),
        TargetKind::EurekaServer => config
            .eureka
            .iter()
            .find(|e| e.name == *t.group)
            .map(|e| &e.policy),
    };
    policy.map(|p| p.interval.as_millis() as u64)
}

fn links(config: &Config) -> Vec<Link> {
    config
        .links
        .iter()
        .map(|l| Link {
            eureka_target: eureka_id(&l.eureka_server),
            app: l.app.clone(),
            backends: l.haproxy.iter().map(|(h, b)| haproxy_id(h, b)).collect(),
        })
        .collect()
}

fn sides_of(
    item: &DriftItem,
    by_id: &HashMap<&str, &TargetState>,
    config: &Config,
    now: Ts,
) -> Sides {
    let (Some(h), Some(e)) = (
        by_id.get(item.haproxy.target.as_str()),
        by_id.get(item.eureka.target.as_str()),
    ) else {
        return Sides::Gone;
    };
    let app_ok = !e.applications.iter().any(|a| {
        a.name.eq_ignore_ascii_case(&item.eureka.app) && a.last_fetch_status != FetchStatus::Success
    });
    let fresh = |t: &TargetState| is_fresh(t, interval_ms(config, t), now);
    if fresh(h) && fresh(e) && app_ok {
        Sides::Fresh
    } else {
        Sides::Stale
    }
}

fn draft(change: Change) -> EventDraft {
    let (target, data) = match change {
        Change::Detected(item) => {
            let target = item.haproxy.target.clone();
            (target, EventData::DriftDetected(item.notice(None)))
        }
        Change::Resolved(item, why) => {
            let target = item.haproxy.target.clone();
            (target, EventData::DriftResolved(item.notice(Some(why))))
        }
    };
    EventDraft { target, data }
}
