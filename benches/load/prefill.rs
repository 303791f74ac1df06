//! A long event log before the daemon starts: `--prefill N` commits N events to the
//! daemon's state file through the project's own store (the same code and format
//! the daemon writes), so readers under `wrk` query a log of the size the
//! retention allows rather than the few thousand events of a short window.

use std::path::Path;

use watchpost::actors::store::Store;
use watchpost::model::{EventData, EventDraft, ServerChange, ServerState, Ts};

use crate::common::Res;

/// Backends whose targets get the events, one after the other (each gets
/// N / TARGETS events, so a `target=` query of the first one has plenty).
pub const TARGETS: usize = 10;
/// Events per commit.
const CHUNK: usize = 5_000;

/// Commits `n` `server_state_changed` events of `targets`, alternating down/up.
pub fn run(path: &Path, n: usize, retention: u64, targets: &[String]) -> Res<()> {
    let store = Store::open(path, retention).map_err(|e| e.to_string())?;
    let mut left = n;
    let mut i = 0usize;
    while left > 0 {
        let take = left.min(CHUNK);
        let drafts: Vec<EventDraft> = (0..take)
            .map(|k| draft(&targets[(i + k) % targets.len()], (i + k) / targets.len()))
            .collect();
        store
            .commit(&[], drafts, Ts::now())
            .map_err(|e| e.to_string())?;
        i += take;
        left -= take;
    }
    Ok(())
}

fn draft(target: &str, round: usize) -> EventDraft {
    let down = round.is_multiple_of(2);
    let (from, to, status) = match down {
        true => (ServerState::Up, ServerState::Maint, "MAINT"),
        false => (ServerState::Maint, ServerState::Up, "UP"),
    };
    let data = ServerChange {
        from: Some(from),
        previous_status: None,
        removed: false,
        server: "s1".into(),
        status: Some(status.into()),
        to: Some(to),
    };
    EventDraft {
        target: target.to_string(),
        data: EventData::ServerStateChanged(data),
    }
}
