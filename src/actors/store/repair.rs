//! `watchpost repair`: salvages what can be read from a damaged state file — each
//! target's newest readable state and every readable event, keeping their sequence
//! numbers — into a fresh file at the same path. The damaged file is kept beside it.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable};

use super::error::{On, Op, StoreError, guard};
use super::{EVENTS, META, NEXT_SEQ, POLL_TIMES, Store, TARGETS, log, poll_times};
use crate::model::{Event, TargetState, Ts};

/// What a repair did.
#[derive(Debug)]
pub struct RepairReport {
    /// Where the damaged file now is.
    pub kept: PathBuf,
    pub targets: usize,
    pub targets_skipped: usize,
    pub events: usize,
    pub events_skipped: u64,
    pub next_seq: u64,
}

impl std::fmt::Display for RepairReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "salvaged {} target(s) ({} unreadable) and {} event(s) ({} unreadable, skipped); the next event is seq {}; the damaged file is kept at {}",
            self.targets,
            self.targets_skipped,
            self.events,
            self.events_skipped,
            self.next_seq,
            self.kept.display()
        )
    }
}

#[derive(Default)]
struct Salvage {
    targets: Vec<TargetState>,
    targets_skipped: usize,
    events: Vec<Event>,
    events_skipped: u64,
    next_seq: u64,
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Salvages `path` into a fresh file at `path`; the damaged one is renamed to
/// `<path>.damaged-<ms>`. watchpost must not be running on the file.
pub fn repair(path: &Path, retention: u64) -> Result<RepairReport, StoreError> {
    let io = |e: std::io::Error| StoreError::Open {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let work = sibling(path, ".salvage");
    let fresh = sibling(path, ".new");
    let kept = sibling(path, &format!(".damaged-{}", Ts::now().0));
    std::fs::copy(path, &work).map_err(io)?;
    let salvage = guard(Op::Read, || salvage(&work));
    let _ = std::fs::remove_file(&work);
    let salvage = salvage?;
    let _ = std::fs::remove_file(&fresh);
    write_fresh(&fresh, retention, &salvage)?;
    std::fs::rename(path, &kept).map_err(io)?;
    std::fs::rename(&fresh, path).map_err(io)?;
    Ok(RepairReport {
        kept,
        targets: salvage.targets.len(),
        targets_skipped: salvage.targets_skipped,
        events: salvage.events.len(),
        events_skipped: salvage.events_skipped,
        next_seq: salvage.next_seq,
    })
}

fn salvage(work: &Path) -> Result<Salvage, StoreError> {
    let db = guard(Op::Read, || Database::create(work).on(Op::Read))?;
    let mut out = Salvage::default();
    if let Err(e) = guard(Op::Read, || read_targets(&db, &mut out)) {
        tracing::warn!(error = %e, "some target states cannot be read");
        out.targets_skipped += 1;
    }
    let (first, last, next) = bounds(&db);
    for seq in first..=last {
        match guard(Op::Read, || read_event(&db, seq)) {
            Ok(Some(e)) => out.events.push(e),
            Ok(None) => {}
            Err(_) => out.events_skipped += 1,
        }
    }
    out.next_seq = next.max(last + 1);
    // Closing writes to the file, which panics on the damaged page; the copy is
    // deleted anyway, and this command ends here.
    std::mem::forget(db);
    if out.targets.is_empty() && out.events.is_empty() && out.targets_skipped > 0 {
        return Err(StoreError::Damaged {
            path: work.to_path_buf(),
            detail: "nothing in it can be read".into(),
        });
    }
    Ok(out)
}

fn read_targets(db: &Database, out: &mut Salvage) -> Result<(), StoreError> {
    let tx = db.begin_read().on(Op::Read)?;
    let table = tx.open_table(TARGETS).on(Op::Read)?;
    let times = tx.open_table(POLL_TIMES).on(Op::Read)?;
    for row in table.iter().on(Op::Read)? {
        let (key, value) = row.on(Op::Read)?;
        let Ok(mut state) = serde_json::from_slice::<TargetState>(value.value()) else {
            out.targets_skipped += 1;
            continue;
        };
        let t = guard(Op::Read, || times.get(key.value()).on(Op::Read));
        if let Ok(Some(t)) = t {
            poll_times::apply(&mut state, t.value());
        }
        out.targets.push(state);
    }
    Ok(())
}

/// The first and last stored event and the stored next sequence number, as far as
/// they can be read.
fn bounds(db: &Database) -> (u64, u64, u64) {
    let read = guard(Op::Read, || {
        let tx = db.begin_read().on(Op::Read)?;
        let table = tx.open_table(EVENTS).on(Op::Read)?;
        let first = table.first().on(Op::Read)?.map(|(k, _)| k.value());
        let last = table.last().on(Op::Read)?.map(|(k, _)| k.value());
        Ok((first, last))
    });
    let next = guard(Op::Read, || {
        let tx = db.begin_read().on(Op::Read)?;
        let meta = tx.open_table(META).on(Op::Read)?;
        Ok(meta.get(NEXT_SEQ).on(Op::Read)?.map(|v| v.value()))
    });
    let next = next.ok().flatten().unwrap_or(1);
    match read {
        Ok((Some(f), Some(l))) => (f, l, next),
        Ok(_) => (1, 0, next),
        Err(_) => (1, next.saturating_sub(1), next),
    }
}

fn read_event(db: &Database, seq: u64) -> Result<Option<Event>, StoreError> {
    let tx = db.begin_read().on(Op::Read)?;
    let table = tx.open_table(EVENTS).on(Op::Read)?;
    let Some(v) = table.get(seq).on(Op::Read)? else {
        return Ok(None);
    };
    let e: Event = serde_json::from_slice(v.value())
        .map_err(|x| StoreError::read(super::Fault::Unreadable, x.to_string()))?;
    Ok((e.seq == seq).then_some(e))
}

fn write_fresh(fresh: &Path, retention: u64, s: &Salvage) -> Result<(), StoreError> {
    let store = Store::open(fresh, retention)?;
    let db = store.db()?;
    let tx = db.begin_write().on(Op::Write)?;
    let changes: Vec<_> = s
        .targets
        .iter()
        .map(|t| super::Change::Full(std::sync::Arc::new(t.clone())))
        .collect();
    super::write_changes(&tx, &changes)?;
    let json = log::encode(&s.events)?;
    log::write_events(&tx, &s.events, &json, s.next_seq, retention.max(1))?;
    let mut meta = tx.open_table(META).on(Op::Write)?;
    meta.insert(NEXT_SEQ, s.next_seq).on(Op::Write)?;
    drop(meta);
    tx.commit().on(Op::Write)
}
