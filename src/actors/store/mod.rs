//! The redb store: target states, the event log and the event sequence.
//!
//! One writer (the status actor) commits a batch of state changes and the events they
//! cause in one write transaction, with `Durability::Immediate`. Readers (the HTTP API)
//! open read transactions, which never wait for the writer.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use bytestring::ByteString;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::poll_times;
use crate::model::{Event, EventDraft, TargetState, Ts};

mod error;
mod log;
pub mod repair;

pub use error::{Fault, Op, StoreError, classify, panic_text, redb_err};
use error::{On, guard};
pub use log::{LogItem, UnreadableSummary};

/// Memory redb may use for its page cache and write buffer. The default (1 GiB)
/// would let the cache grow to many times the daemon's other needs; a round of
/// 10,000 poll-time records touches about 1 MB of pages, and a full state is
/// rewritten only when it changes. 16 MiB measured no faster than 4 MiB with
/// 10,000 backends, and held 12 MiB more.
const CACHE_BYTES: usize = 4 * 1024 * 1024;

/// Each target's state as JSON, written when more than its poll times change.
const TARGETS: TableDefinition<&str, &[u8]> = TableDefinition::new("targets");
/// Each target's poll times ([`poll_times`]), written on every poll.
const POLL_TIMES: TableDefinition<&str, &[u8]> = TableDefinition::new("poll_times");
const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const NEXT_SEQ: &str = "next_seq";

const W: Op = Op::Write;
const R: Op = Op::Read;

/// A state change to write.
#[derive(Clone, Debug)]
pub enum Change {
    /// A new target, or one that changed in more than its poll times.
    Full(Arc<TargetState>),
    /// A target whose poll times alone changed.
    PollTimes(Arc<TargetState>),
    /// A target's poll times, encoded already ([`poll_times::encode_routine`]).
    Times(Arc<str>, Vec<u8>),
    /// The target is gone.
    Removed(String),
}

/// The storage file. After a fault that redb only clears by re-opening (an I/O
/// error, a full disk, a panic inside redb) the database is closed; [`Store::reopen`]
/// opens it again.
pub struct Store {
    path: PathBuf,
    db: RwLock<Option<Arc<Database>>>,
    retention: u64,
    next_seq: AtomicU64,
    unreadable: log::Unreadable,
}

/// What a commit wrote: the numbered events, each with the JSON it is stored as,
/// which is also the text a WebSocket client receives (written once for both).
#[derive(Debug)]
pub struct Committed {
    pub events: Vec<Event>,
    /// `json[i]` is `events[i]` as stored.
    pub json: Vec<ByteString>,
}

impl Store {
    /// Opens (or creates) the file and checks it. A second daemon on the same file
    /// gets [`StoreError::AlreadyOpen`], a damaged file [`StoreError::Damaged`].
    pub fn open(path: &Path, retention: u64) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        }
        report_new_history(path);
        let mut db = guard(W, || open_db(path)).map_err(|e| damaged(path, e))?;
        check(&mut db, path)?;
        let store = Store {
            path: path.to_path_buf(),
            db: RwLock::new(Some(Arc::new(db))),
            retention: retention.max(1),
            next_seq: AtomicU64::new(1),
            unreadable: log::Unreadable::default(),
        };
        guard(W, || store.init()).map_err(|e| damaged(path, e))?;
        Ok(store)
    }

    /// The path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn init(&self) -> Result<(), StoreError> {
        let db = self.db()?;
        let tx = db.begin_write().on(W)?;
        let next = {
            tx.open_table(TARGETS).on(W)?;
            tx.open_table(POLL_TIMES).on(W)?;
            tx.open_table(EVENTS).on(W)?;
            log::ensure_index(&tx)?;
            let meta = tx.open_table(META).on(W)?;
            let stored = meta.get(NEXT_SEQ).on(W)?;
            stored.map(|v| v.value()).unwrap_or(1)
        };
        tx.commit().on(W)?;
        self.next_seq.store(next, Ordering::SeqCst);
        Ok(())
    }

    /// The open database, or [`Fault::Closed`] while it waits to be re-opened.
    fn db(&self) -> Result<Arc<Database>, StoreError> {
        let slot = self.db.read().unwrap_or_else(|p| p.into_inner());
        slot.clone().ok_or_else(|| {
            StoreError::write(
                Fault::Closed,
                "the storage file is closed after an error; re-opening",
            )
        })
    }

    /// Whether the database is closed and must be re-opened before the next write.
    pub fn is_closed(&self) -> bool {
        self.db.read().unwrap_or_else(|p| p.into_inner()).is_none()
    }

    /// Closes the database after a fault; [`Store::reopen`] opens it again.
    pub fn close(&self) {
        *self.db.write().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Opens the file again after a fault (full disk, I/O error). Fails while a
    /// reader still holds the old handle or the fault persists; call again later.
    pub fn reopen(&self) -> Result<(), StoreError> {
        self.close();
        let db = guard(W, || open_db(&self.path))?;
        *self.db.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(db));
        let before = self.next_seq();
        if let Err(e) = guard(W, || self.init()) {
            self.close();
            return Err(e);
        }
        if self.next_seq() != before {
            tracing::error!(
                before,
                after = self.next_seq(),
                "the event sequence changed across a re-open"
            );
        }
        Ok(())
    }

    /// The sequence number the next event will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq.load(Ordering::SeqCst)
    }

    /// The highest committed sequence number (0 if none yet).
    pub fn last_seq(&self) -> u64 {
        self.next_seq() - 1
    }

    /// Every stored target state (unreadable ones are skipped with a warning).
    pub fn load_targets(&self) -> Result<Vec<TargetState>, StoreError> {
        guard(R, || self.read_targets())
    }

    fn read_targets(&self) -> Result<Vec<TargetState>, StoreError> {
        let db = self.db()?;
        let tx = db.begin_read().on(R)?;
        let table = tx.open_table(TARGETS).on(R)?;
        let times = tx.open_table(POLL_TIMES).on(R)?;
        let mut out = Vec::new();
        for row in table.iter().on(R)? {
            let (key, value) = row.on(R)?;
            match serde_json::from_slice::<TargetState>(value.value()) {
                Ok(mut state) => {
                    if let Some(t) = times.get(key.value()).on(R)?
                        && !poll_times::apply(&mut state, t.value())
                    {
                        tracing::warn!(
                            target_id = key.value(),
                            "stored poll times do not fit the stored state; using the state's own"
                        );
                    }
                    out.push(state)
                }
                Err(err) => {
                    tracing::warn!(target_id = key.value(), error = %err, "skipping unreadable stored target")
                }
            }
        }
        Ok(out)
    }

    /// Writes the changes and numbers and writes the events, in one durable
    /// transaction. Returns the committed events; nothing is committed on error.
    /// After a fault that needs it, the database is closed (see [`Store::reopen`]).
    pub fn commit(
        &self,
        changes: &[Change],
        drafts: Vec<EventDraft>,
        ts: Ts,
    ) -> Result<Vec<Event>, StoreError> {
        self.commit_with(changes, drafts, ts, &|_| Ok(()))
            .map(|c| c.events)
    }

    /// The redb database, for the modules that keep tables of their own
    /// ([`Fault::Closed`] while it waits to be re-opened).
    pub fn database(&self) -> Result<Arc<Database>, StoreError> {
        self.db()
    }

    /// As [`Store::commit`], with `extra` writing more tables in the same
    /// transaction.
    pub fn commit_with(
        &self,
        changes: &[Change],
        drafts: Vec<EventDraft>,
        ts: Ts,
        extra: &dyn Fn(&redb::WriteTransaction) -> Result<(), StoreError>,
    ) -> Result<Committed, StoreError> {
        let first = self.next_seq();
        let events: Vec<Event> = drafts
            .into_iter()
            .zip(first..)
            .map(|(d, seq)| Event {
                seq,
                ts,
                target: d.target,
                data: d.data,
            })
            .collect();
        let next = first + events.len() as u64;
        let json = log::encode(&events)?;
        let result = guard(W, || self.write(changes, &events, &json, next, extra));
        if let Err(e) = &result
            && e.fault().is_some_and(Fault::needs_reopen)
        {
            self.close();
        }
        result?;
        self.next_seq.store(next, Ordering::SeqCst);
        Ok(Committed { events, json })
    }

    fn write(
        &self,
        changes: &[Change],
        events: &[Event],
        json: &[ByteString],
        next: u64,
        extra: &dyn Fn(&redb::WriteTransaction) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let db = self.db()?;
        let tx = db.begin_write().on(W)?;
        write_changes(&tx, changes)?;
        log::write_events(&tx, events, json, next, self.retention)?;
        extra(&tx)?;
        tx.commit().on(W)
    }

    /// The oldest stored sequence number, or `None` if the log is empty.
    pub fn oldest_seq(&self) -> Result<Option<u64>, StoreError> {
        guard(R, || {
            let db = self.db()?;
            let tx = db.begin_read().on(R)?;
            let table = tx.open_table(EVENTS).on(R)?;
            let first = table.first().on(R)?;
            Ok(first.map(|(k, _)| k.value()))
        })
    }

    /// How many distinct stored events could not be read so far, and the lowest
    /// and highest of their sequence numbers.
    pub fn unreadable(&self) -> log::UnreadableSummary {
        self.unreadable.summary()
    }
}

/// Opens the redb file, with the single-instance guard reported clearly.
fn open_db(path: &Path) -> Result<Database, StoreError> {
    let builder = redb::Builder::new()
        .set_cache_size(CACHE_BYTES)
        .create(path);
    match builder {
        Ok(db) => Ok(db),
        Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
            Err(StoreError::AlreadyOpen(path.to_path_buf()))
        }
        Err(e) => {
            let e: redb::Error = e.into();
            match error::classify(&e) {
                Fault::Corrupted | Fault::Panicked => Err(damaged(path, redb_err(W)(e))),
                _ => Err(StoreError::Open {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                }),
            }
        }
    }
}

/// Verifies every page's checksum at start-up (a damaged file is refused, not
/// served until it panics).
fn check(db: &mut Database, path: &Path) -> Result<(), StoreError> {
    let result = guard(R, || db.check_integrity().on(R));
    match result {
        Ok(true) => Ok(()),
        Ok(false) => {
            tracing::warn!(path = %path.display(), "the state file was repaired by the storage engine on open");
            Ok(())
        }
        Err(e) => Err(damaged(path, e)),
    }
}

/// A fault found while opening, as [`StoreError::Damaged`] when it is one.
fn damaged(path: &Path, e: StoreError) -> StoreError {
    match e {
        StoreError::Failed {
            fault: Fault::Corrupted | Fault::Panicked | Fault::Unreadable,
            detail,
            ..
        } => StoreError::Damaged {
            path: path.to_path_buf(),
            detail,
        },
        other => other,
    }
}

/// Says loudly when a new history begins: no file yet, or an empty one.
fn report_new_history(path: &Path) {
    match std::fs::metadata(path) {
        Ok(m) if m.len() == 0 => tracing::error!(
            path = %path.display(),
            "the state file is EMPTY (0 bytes): a new event history begins at seq 1; if it held history, stop watchpost and restore it from a backup"
        ),
        Ok(_) => {}
        Err(_) => tracing::warn!(
            path = %path.display(),
            "no state file: a new event history begins at seq 1 (expected on first start only)"
        ),
    }
}

fn write_changes(tx: &redb::WriteTransaction, changes: &[Change]) -> Result<(), StoreError> {
    let mut table = tx.open_table(TARGETS).on(W)?;
    let mut times = tx.open_table(POLL_TIMES).on(W)?;
    for change in changes {
        match change {
            Change::Full(s) => {
                let bytes = serde_json::to_vec(&**s)
                    .map_err(|x| StoreError::write(Fault::Unreadable, x.to_string()))?;
                table.insert(s.id.as_str(), bytes.as_slice()).on(W)?;
                let t = poll_times::encode(s);
                times.insert(s.id.as_str(), t.as_slice()).on(W)?;
            }
            Change::PollTimes(s) => {
                let t = poll_times::encode(s);
                times.insert(s.id.as_str(), t.as_slice()).on(W)?;
            }
            Change::Times(id, t) => {
                times.insert(&**id, t.as_slice()).on(W)?;
            }
            Change::Removed(id) => {
                table.remove(id.as_str()).on(W)?;
                times.remove(id.as_str()).on(W)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
