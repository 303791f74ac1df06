//! A poll time that a routine poll refreshes in place.
//!
//! Every poll of a backend moves its fetch times and each server's `lastchg`,
//! while nothing else about it changes. Copying the whole target state for that
//! (and the snapshot map holding it) is what a round of 10,000 backends would
//! spend most of its time and memory on. A [`Live`] value is a shared cell
//! instead: cloning a state shares it, and the status actor writes a routine
//! poll's times into the committed state's cells once they are durable
//! ([`Live::refresh`]).
//!
//! Everything else treats it as a plain value: it serializes as `Option<T>`,
//! compares by value, and [`Live::set`] (which `diff` uses) gives the state a
//! cell of its own, so a change being prepared never shows in the committed
//! state before its commit.

use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Ts;

/// A value that fits in a `u64` other than `u64::MAX` (which stands for `None`).
pub trait LiveValue: Copy + PartialEq {
    fn to_bits(self) -> u64;
    fn from_bits(bits: u64) -> Self;
}

impl LiveValue for u64 {
    fn to_bits(self) -> u64 {
        self.min(u64::MAX - 1)
    }
    fn from_bits(bits: u64) -> u64 {
        bits
    }
}

impl LiveValue for Ts {
    fn to_bits(self) -> u64 {
        self.0.min(u64::MAX - 1)
    }
    fn from_bits(bits: u64) -> Ts {
        Ts(bits)
    }
}

const NONE: u64 = u64::MAX;

/// An optional poll time, shared by the clones of a state until one of them
/// [`set`](Live::set)s it.
pub struct Live<T> {
    cell: Arc<AtomicU64>,
    kind: PhantomData<T>,
}

impl<T: LiveValue> Live<T> {
    pub fn new(value: Option<T>) -> Live<T> {
        Live {
            cell: Arc::new(AtomicU64::new(bits(value))),
            kind: PhantomData,
        }
    }

    pub fn get(&self) -> Option<T> {
        match self.cell.load(Ordering::Relaxed) {
            NONE => None,
            b => Some(T::from_bits(b)),
        }
    }

    /// Sets the value of this state alone: a different value gets a cell of its
    /// own, so other clones (the committed state) keep theirs.
    pub fn set(&mut self, value: Option<T>) {
        if self.get() != value {
            *self = Live::new(value);
        }
    }

    /// Writes the value into the shared cell, where every clone sees it. Only the
    /// status actor does this, for poll times it has just committed.
    pub(crate) fn refresh(&self, value: Option<T>) {
        self.cell.store(bits(value), Ordering::Relaxed);
    }
}

fn bits<T: LiveValue>(value: Option<T>) -> u64 {
    value.map_or(NONE, T::to_bits)
}

impl<T> Clone for Live<T> {
    fn clone(&self) -> Live<T> {
        Live {
            cell: self.cell.clone(),
            kind: PhantomData,
        }
    }
}

impl<T: LiveValue> Default for Live<T> {
    fn default() -> Live<T> {
        Live::new(None)
    }
}

impl<T: LiveValue> From<Option<T>> for Live<T> {
    fn from(value: Option<T>) -> Live<T> {
        Live::new(value)
    }
}

impl<T: LiveValue> PartialEq for Live<T> {
    fn eq(&self, other: &Live<T>) -> bool {
        self.get() == other.get()
    }
}

impl<T: LiveValue> Eq for Live<T> {}

impl<T: LiveValue + std::fmt::Debug> std::fmt::Debug for Live<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

impl<T: LiveValue + Serialize> Serialize for Live<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.get().serialize(s)
    }
}

impl<'de, T: LiveValue + Deserialize<'de>> Deserialize<'de> for Live<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Live<T>, D::Error> {
        Option::<T>::deserialize(d).map(Live::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_detaches_and_refresh_is_shared() {
        let committed: Live<u64> = Live::new(Some(5));
        let mut working = committed.clone();
        working.set(Some(6));
        assert_eq!((committed.get(), working.get()), (Some(5), Some(6)));
        let same = committed.clone();
        same.refresh(Some(9));
        assert_eq!(committed.get(), Some(9));
        assert_eq!(working.get(), Some(6));
        let mut unchanged = committed.clone();
        unchanged.set(Some(9));
        unchanged.refresh(None);
        assert_eq!(committed.get(), None, "an equal set keeps sharing the cell");
    }

    #[test]
    fn it_reads_and_writes_as_an_option() {
        let v: Live<u64> = serde_json::from_str("1700").unwrap();
        assert_eq!(v.get(), Some(1700));
        assert_eq!(serde_json::to_string(&v).unwrap(), "1700");
        let at = serde_json::to_string(&Some(Ts(1_700_000_000_123))).unwrap();
        let t: Live<Ts> = serde_json::from_str(&at).unwrap();
        assert_eq!(t.get(), Some(Ts(1_700_000_000_123)));
        assert_eq!(serde_json::to_string(&t).unwrap(), at);
        let none: Live<Ts> = serde_json::from_str("null").unwrap();
        assert_eq!(
            (none.get(), serde_json::to_string(&none).unwrap()),
            (None, "null".into())
        );
        assert_eq!(Live::<u64>::new(Some(u64::MAX)).get(), Some(u64::MAX - 1));
    }
}
