//! The event log: writing numbered events with an index by target (in the same
//! transaction), pruning past the retention, and reading pages in which an event that
//! cannot be read becomes a `gap` item instead of failing the whole page.

use std::collections::BTreeSet;
use std::sync::Mutex;

use bytestring::ByteString;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::error::{Fault, On, Op, StoreError, guard};
use super::{EVENTS, META, Store};
use crate::model::Event;

/// The target of each stored event (to prune [`BY_TARGET`] with the events).
pub(super) const EVENT_TARGETS: TableDefinition<u64, &str> = TableDefinition::new("event_targets");
/// `(target, seq)` of every stored event: a target's events without a scan.
pub(super) const BY_TARGET: TableDefinition<(&str, u64), ()> =
    TableDefinition::new("events_by_target");
/// Set once the index covers every stored event.
pub(super) const INDEXED: &str = "events_indexed";

/// One item of a page of the log.
// Nearly every item is an event: boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum LogItem {
    Event(Event),
    Gap(Gap),
}

impl LogItem {
    /// The last sequence number this item covers.
    pub fn last_seq(&self) -> u64 {
        match self {
            LogItem::Event(e) => e.seq,
            LogItem::Gap(g) => g.to,
        }
    }
}

/// Stored events `from..=to` that cannot be read.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename = "gap")]
pub struct Gap {
    pub from: u64,
    pub to: u64,
    pub reason: GapReason,
}

/// Why events are missing from a page.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GapReason {
    Unreadable,
}

/// What of the log could not be read so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct UnreadableSummary {
    pub count: u64,
    pub first: Option<u64>,
    pub last: Option<u64>,
}

/// Sequence numbers found unreadable (each logged once).
#[derive(Default)]
pub struct Unreadable(Mutex<BTreeSet<u64>>);

impl Unreadable {
    fn note(&self, seq: u64, why: &str) {
        let mut set = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if set.insert(seq) {
            tracing::error!(
                seq,
                reason = why,
                "a stored event cannot be read; readers get a gap in its place"
            );
        }
    }

    pub fn summary(&self) -> UnreadableSummary {
        let set = self.0.lock().unwrap_or_else(|p| p.into_inner());
        UnreadableSummary {
            count: set.len() as u64,
            first: set.first().copied(),
            last: set.last().copied(),
        }
    }
}

#[derive(Deserialize)]
struct TargetOnly {
    target: String,
}

/// The JSON text of each event, as stored and as sent to WebSocket clients.
pub(super) fn encode(events: &[Event]) -> Result<Vec<ByteString>, StoreError> {
    events
        .iter()
        .map(|e| {
            serde_json::to_string(e)
                .map(ByteString::from)
                .map_err(|x| StoreError::write(Fault::Unreadable, x.to_string()))
        })
        .collect()
}

/// Writes the events (`json[i]` is `events[i]`'s text, [`encode`]) and their
/// index entries, prunes past the retention and records the next sequence number.
pub(super) fn write_events(
    tx: &redb::WriteTransaction,
    events: &[Event],
    json: &[ByteString],
    next: u64,
    retention: u64,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut table = tx.open_table(EVENTS).on(Op::Write)?;
    let mut targets = tx.open_table(EVENT_TARGETS).on(Op::Write)?;
    let mut index = tx.open_table(BY_TARGET).on(Op::Write)?;
    for (e, text) in events.iter().zip(json) {
        table.insert(e.seq, &**text.as_bytes()).on(Op::Write)?;
        targets.insert(e.seq, e.target.as_str()).on(Op::Write)?;
        index.insert((e.target.as_str(), e.seq), ()).on(Op::Write)?;
    }
    let cutoff = (next - 1).saturating_sub(retention);
    if cutoff > 0 {
        for row in targets.range(..=cutoff).on(Op::Write)? {
            let (seq, target) = row.on(Op::Write)?;
            index.remove((target.value(), seq.value())).on(Op::Write)?;
        }
        targets.retain_in(..=cutoff, |_, _| false).on(Op::Write)?;
        table.retain_in(..=cutoff, |_, _| false).on(Op::Write)?;
    }
    let mut meta = tx.open_table(META).on(Op::Write)?;
    meta.insert(super::NEXT_SEQ, next).on(Op::Write)?;
    Ok(())
}

/// Builds the index by target of a file written before it existed (once).
pub(super) fn ensure_index(tx: &redb::WriteTransaction) -> Result<(), StoreError> {
    let mut meta = tx.open_table(META).on(Op::Write)?;
    if meta.get(INDEXED).on(Op::Write)?.is_some() {
        return Ok(());
    }
    let events = tx.open_table(EVENTS).on(Op::Write)?;
    let mut targets = tx.open_table(EVENT_TARGETS).on(Op::Write)?;
    let mut index = tx.open_table(BY_TARGET).on(Op::Write)?;
    let mut built = 0u64;
    for row in events.iter().on(Op::Write)? {
        let (seq, value) = row.on(Op::Write)?;
        let Ok(t) = serde_json::from_slice::<TargetOnly>(value.value()) else {
            continue;
        };
        targets
            .insert(seq.value(), t.target.as_str())
            .on(Op::Write)?;
        index
            .insert((t.target.as_str(), seq.value()), ())
            .on(Op::Write)?;
        built += 1;
    }
    meta.insert(INDEXED, 1).on(Op::Write)?;
    if built > 0 {
        tracing::info!(events = built, "built the index of events by target");
    }
    Ok(())
}

/// Whether a read failed on the content of the file (not on the file being closed
/// or the disk failing).
fn damage(e: &StoreError) -> bool {
    matches!(
        e.fault(),
        Some(Fault::Corrupted | Fault::Panicked | Fault::Unreadable)
    )
}

/// Adds an unreadable `seq` to the page, merged with a gap just before it.
fn push_gap(out: &mut Vec<LogItem>, seq: u64) {
    if let Some(LogItem::Gap(g)) = out.last_mut()
        && g.to + 1 == seq
    {
        g.to = seq;
        return;
    }
    out.push(LogItem::Gap(Gap {
        from: seq,
        to: seq,
        reason: GapReason::Unreadable,
    }));
}

impl Store {
    /// Stored events with `seq > since`, oldest first, at most `limit` items,
    /// optionally of one target only (read through the index). An event that cannot
    /// be read is a [`Gap`] item; the rest of the page is still served.
    pub fn events(
        &self,
        since: u64,
        limit: usize,
        target: Option<&str>,
    ) -> Result<Vec<LogItem>, StoreError> {
        match target {
            Some(t) => self.events_of(t, since, limit),
            None => self.events_all(since, limit),
        }
    }

    /// The whole log from `since`: a range scan, resumed past an event that cannot
    /// be read (or whose page makes the engine fail).
    fn events_all(&self, mut since: u64, limit: usize) -> Result<Vec<LogItem>, StoreError> {
        let mut out = Vec::new();
        let last = self.last_seq();
        while out.len() < limit && since < last {
            let mut reached = since;
            let r = guard(Op::Read, || self.scan(since, limit, &mut out, &mut reached));
            match r {
                Ok(()) => break,
                Err(e) if !damage(&e) => return Err(e),
                Err(e) => {
                    let bad = reached + 1;
                    self.unreadable.note(bad, &e.to_string());
                    push_gap(&mut out, bad);
                    since = bad;
                }
            }
        }
        Ok(out)
    }

    fn scan(
        &self,
        since: u64,
        limit: usize,
        out: &mut Vec<LogItem>,
        reached: &mut u64,
    ) -> Result<(), StoreError> {
        let db = self.db()?;
        let tx = db.begin_read().on(Op::Read)?;
        let table = tx.open_table(EVENTS).on(Op::Read)?;
        for row in table.range(since.saturating_add(1)..).on(Op::Read)? {
            if out.len() >= limit {
                break;
            }
            let (seq, value) = row.on(Op::Read)?;
            let seq = seq.value();
            self.decode(seq, value.value(), out);
            *reached = seq;
        }
        Ok(())
    }

    fn decode(&self, seq: u64, bytes: &[u8], out: &mut Vec<LogItem>) {
        match serde_json::from_slice::<Event>(bytes) {
            Ok(e) if e.seq == seq => out.push(LogItem::Event(e)),
            Ok(_) => {
                self.unreadable
                    .note(seq, "the stored event has another sequence number");
                push_gap(out, seq);
            }
            Err(e) => {
                self.unreadable.note(seq, &e.to_string());
                push_gap(out, seq);
            }
        }
    }

    /// One target's events from `since`, through the index: the cost is that of
    /// the page, not of the retention.
    fn events_of(
        &self,
        target: &str,
        since: u64,
        limit: usize,
    ) -> Result<Vec<LogItem>, StoreError> {
        let seqs = guard(Op::Read, || {
            let db = self.db()?;
            let tx = db.begin_read().on(Op::Read)?;
            let index = tx.open_table(BY_TARGET).on(Op::Read)?;
            let range = (target, since.saturating_add(1))..=(target, u64::MAX);
            let mut seqs = Vec::new();
            for row in index.range(range).on(Op::Read)?.take(limit) {
                seqs.push(row.on(Op::Read)?.0.value().1);
            }
            Ok(seqs)
        })?;
        let mut out = Vec::with_capacity(seqs.len());
        for seq in seqs {
            let read = guard(Op::Read, || self.get(seq));
            match read {
                Ok(Some(bytes)) => self.decode(seq, &bytes, &mut out),
                Ok(None) => {}
                Err(e) if !damage(&e) => return Err(e),
                Err(e) => {
                    self.unreadable.note(seq, &e.to_string());
                    push_gap(&mut out, seq);
                }
            }
        }
        Ok(out)
    }

    fn get(&self, seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let db = self.db()?;
        let tx = db.begin_read().on(Op::Read)?;
        let table = tx.open_table(EVENTS).on(Op::Read)?;
        Ok(table.get(seq).on(Op::Read)?.map(|v| v.value().to_vec()))
    }
}
