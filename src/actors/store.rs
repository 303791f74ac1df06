//! The redb store: target states, the event log and the event sequence.
//!
//! One writer (the status actor) commits a batch of state changes and the events they
//! cause in one write transaction, with `Durability::Immediate`. Readers (the HTTP API)
//! open read transactions, which never wait for the writer.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::poll_times;
use crate::model::{Event, EventDraft, TargetState, Ts};

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

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "storage file {0} is already in use by another watchpost process; stop it or set a different [storage] path"
    )]
    AlreadyOpen(PathBuf),
    #[error("cannot open storage file {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("storage write failed: {0}")]
    Write(String),
    #[error("storage read failed: {0}")]
    Read(String),
}

fn write_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Write(e.to_string())
}

fn read_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Read(e.to_string())
}

/// A state change to write.
#[derive(Clone, Debug)]
pub enum Change {
    /// A new target, or one that changed in more than its poll times.
    Full(Arc<TargetState>),
    /// A target whose poll times alone changed.
    PollTimes(Arc<TargetState>),
    /// The target is gone.
    Removed(String),
}

/// The storage file.
pub struct Store {
    db: Database,
    retention: u64,
    next_seq: AtomicU64,
}

impl Store {
    /// Opens (or creates) the file. A second daemon on the same file gets
    /// [`StoreError::AlreadyOpen`].
    pub fn open(path: &Path, retention: u64) -> Result<Store, StoreError> {
        let open_err = |reason: String| StoreError::Open {
            path: path.to_path_buf(),
            reason,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| open_err(e.to_string()))?;
        }
        let db = match redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(path)
        {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(StoreError::AlreadyOpen(path.to_path_buf()));
            }
            Err(e) => return Err(open_err(e.to_string())),
        };
        let store = Store {
            db,
            retention: retention.max(1),
            next_seq: AtomicU64::new(1),
        };
        store.init()?;
        Ok(store)
    }

    fn init(&self) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(write_err)?;
        let next = {
            tx.open_table(TARGETS).map_err(write_err)?;
            tx.open_table(POLL_TIMES).map_err(write_err)?;
            tx.open_table(EVENTS).map_err(write_err)?;
            let meta = tx.open_table(META).map_err(write_err)?;
            let stored = meta.get(NEXT_SEQ).map_err(write_err)?.map(|v| v.value());
            stored.unwrap_or(1)
        };
        tx.commit().map_err(write_err)?;
        self.next_seq.store(next, Ordering::SeqCst);
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

    /// Every stored target state.
    pub fn load_targets(&self) -> Result<Vec<TargetState>, StoreError> {
        let tx = self.db.begin_read().map_err(read_err)?;
        let table = tx.open_table(TARGETS).map_err(read_err)?;
        let times = tx.open_table(POLL_TIMES).map_err(read_err)?;
        let mut out = Vec::new();
        for row in table.iter().map_err(read_err)? {
            let (key, value) = row.map_err(read_err)?;
            match serde_json::from_slice::<TargetState>(value.value()) {
                Ok(mut state) => {
                    if let Some(t) = times.get(key.value()).map_err(read_err)?
                        && !poll_times::apply(&mut state, t.value())
                    {
                        tracing::warn!(
                            target_id = key.value(),
                            "stored poll times do not fit the stored state; using the state's own"
                        );
                    }
                    out.push(state)
                }
                Err(e) => {
                    tracing::warn!(target_id = key.value(), error = %e, "skipping unreadable stored target")
                }
            }
        }
        Ok(out)
    }

    /// The redb database, for the modules that keep tables of their own.
    pub(super) fn database(&self) -> &Database {
        &self.db
    }

    /// Writes the changes and numbers and writes the events, in one durable
    /// transaction. Returns the committed events; nothing is committed on error.
    pub fn commit(
        &self,
        changes: &[Change],
        drafts: Vec<EventDraft>,
        ts: Ts,
    ) -> Result<Vec<Event>, StoreError> {
        self.commit_with(changes, drafts, ts, &|_| Ok(()))
    }

    /// As [`Store::commit`], with `extra` writing more tables in the same
    /// transaction.
    pub fn commit_with(
        &self,
        changes: &[Change],
        drafts: Vec<EventDraft>,
        ts: Ts,
        extra: &dyn Fn(&redb::WriteTransaction) -> Result<(), StoreError>,
    ) -> Result<Vec<Event>, StoreError> {
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
        let tx = self.db.begin_write().map_err(write_err)?;
        write_changes(&tx, changes)?;
        write_events(&tx, &events, next, self.retention)?;
        extra(&tx)?;
        tx.commit().map_err(write_err)?;
        self.next_seq.store(next, Ordering::SeqCst);
        Ok(events)
    }

    /// Stored events with `seq > since`, oldest first, at most `limit`, optionally of
    /// one target only.
    pub fn events(
        &self,
        since: u64,
        limit: usize,
        target: Option<&str>,
    ) -> Result<Vec<Event>, StoreError> {
        let tx = self.db.begin_read().map_err(read_err)?;
        let table = tx.open_table(EVENTS).map_err(read_err)?;
        let mut out = Vec::new();
        for row in table.range(since.saturating_add(1)..).map_err(read_err)? {
            if out.len() >= limit {
                break;
            }
            let (_, value) = row.map_err(read_err)?;
            let event: Event = serde_json::from_slice(value.value()).map_err(read_err)?;
            if target.is_none_or(|t| t == event.target) {
                out.push(event);
            }
        }
        Ok(out)
    }

    /// The oldest stored sequence number, or `None` if the log is empty.
    pub fn oldest_seq(&self) -> Result<Option<u64>, StoreError> {
        let tx = self.db.begin_read().map_err(read_err)?;
        let table = tx.open_table(EVENTS).map_err(read_err)?;
        let first = table.first().map_err(read_err)?;
        Ok(first.map(|(k, _)| k.value()))
    }
}

fn write_changes(tx: &redb::WriteTransaction, changes: &[Change]) -> Result<(), StoreError> {
    let mut table = tx.open_table(TARGETS).map_err(write_err)?;
    let mut times = tx.open_table(POLL_TIMES).map_err(write_err)?;
    for change in changes {
        match change {
            Change::Full(s) => {
                let bytes = serde_json::to_vec(&**s).map_err(write_err)?;
                table
                    .insert(s.id.as_str(), bytes.as_slice())
                    .map_err(write_err)?;
                let t = poll_times::encode(s);
                times
                    .insert(s.id.as_str(), t.as_slice())
                    .map_err(write_err)?;
            }
            Change::PollTimes(s) => {
                let t = poll_times::encode(s);
                times
                    .insert(s.id.as_str(), t.as_slice())
                    .map_err(write_err)?;
            }
            Change::Removed(id) => {
                table.remove(id.as_str()).map_err(write_err)?;
                times.remove(id.as_str()).map_err(write_err)?;
            }
        }
    }
    Ok(())
}

fn write_events(
    tx: &redb::WriteTransaction,
    events: &[Event],
    next: u64,
    retention: u64,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut table = tx.open_table(EVENTS).map_err(write_err)?;
    for e in events {
        let bytes = serde_json::to_vec(e).map_err(write_err)?;
        table.insert(e.seq, bytes.as_slice()).map_err(write_err)?;
    }
    let cutoff = (next - 1).saturating_sub(retention);
    if cutoff > 0 {
        table
            .retain_in(..=cutoff, |_, _| false)
            .map_err(write_err)?;
    }
    let mut meta = tx.open_table(META).map_err(write_err)?;
    meta.insert(NEXT_SEQ, next).map_err(write_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventData, NoData, TargetKind, TargetMeta};

    fn draft(target: &str) -> EventDraft {
        EventDraft {
            target: target.into(),
            data: EventData::PollingEnabled(NoData {}),
        }
    }

    fn state(id: &str) -> TargetState {
        TargetState::new(&TargetMeta {
            id: id.into(),
            kind: TargetKind::HaproxyBackend,
            group: "g".into(),
            source: "agent".into(),
            backend_name: Some("b".into()),
            failure_threshold: 3,
        })
    }

    #[test]
    fn sequence_continues_after_reopen_and_retention_prunes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/w.redb");
        {
            let store = Store::open(&path, 3).unwrap();
            let ev = store
                .commit(
                    &[Change::Full(Arc::new(state("t")))],
                    vec![draft("t"), draft("u")],
                    Ts(1),
                )
                .unwrap();
            assert_eq!(ev.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
            store
                .commit(&[], vec![draft("t"), draft("t"), draft("t")], Ts(2))
                .unwrap();
        }
        let store = Store::open(&path, 3).unwrap();
        assert_eq!(store.next_seq(), 6);
        assert_eq!(store.oldest_seq().unwrap(), Some(3));
        assert_eq!(store.load_targets().unwrap(), vec![state("t")]);
        let ev = store.events(0, 10, Some("t")).unwrap();
        assert_eq!(ev.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4, 5]);
        assert_eq!(store.events(3, 1, None).unwrap()[0].seq, 4);
        let mut polled = state("t");
        polled.last_fetch_at = Some(Ts(4));
        polled.last_success_at = Some(Ts(4));
        store
            .commit(
                &[Change::PollTimes(Arc::new(polled.clone()))],
                vec![],
                Ts(4),
            )
            .unwrap();
        assert_eq!(store.load_targets().unwrap(), vec![polled]);
        store
            .commit(&[Change::Removed("t".into())], vec![], Ts(3))
            .unwrap();
        assert!(store.load_targets().unwrap().is_empty());
    }

    #[test]
    fn a_second_open_of_the_same_file_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.redb");
        let _first = Store::open(&path, 10).unwrap();
        let err = Store::open(&path, 10).err().unwrap();
        assert!(matches!(err, StoreError::AlreadyOpen(_)), "{err}");
        assert!(err.to_string().contains("already in use"));
    }
}
