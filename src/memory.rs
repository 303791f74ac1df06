//! Giving freed memory back to the system. The allocator keeps memory freed in the
//! middle of its heaps; after a large round (10,000 backends' states replaced,
//! their old copies freed) that is tens of MiB the daemon no longer uses. The
//! binary installs the allocator's trim function ([`set_trim`]); the status actor
//! calls [`trim_after_round`] when a round that replaced many states is done
//! (routine polls replace none).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::model::Ts;

/// Changes (observations that replaced a state) from which a trim is worth it.
pub const LARGE_ROUND: usize = 1000;
/// At most one trim per this many milliseconds.
const TRIM_GAP_MS: u64 = 1000;

static TRIM: OnceLock<fn()> = OnceLock::new();
static LAST: AtomicU64 = AtomicU64::new(0);

/// Installs the function that returns free memory to the system (once).
pub fn set_trim(f: fn()) {
    let _ = TRIM.set(f);
}

/// Trims, unless no trim function is installed or the last trim is recent.
pub fn trim_after_round() {
    let Some(trim) = TRIM.get() else { return };
    let now = Ts::now().0;
    let last = LAST.load(Ordering::Relaxed);
    if now.saturating_sub(last) < TRIM_GAP_MS {
        return;
    }
    LAST.store(now, Ordering::Relaxed);
    trim();
}
