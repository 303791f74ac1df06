//! What can go wrong with the storage file, as types: every redb error and every
//! panic inside a redb call is caught here, at the store boundary, and becomes a
//! [`StoreError`] with a [`Fault`] that callers decide on (re-open, refuse to start,
//! skip an unreadable event) without reading message text.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use serde::Serialize;

/// The kind of a storage failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The disk is full (`ENOSPC`, or a quota).
    NoSpace,
    /// Another I/O error, or redb's "a previous I/O error occurred".
    Io,
    /// The file's content is not what redb wrote (checksum, structure).
    Corrupted,
    /// redb panicked inside the call.
    Panicked,
    /// The database is closed (waiting to be re-opened after a fault).
    Closed,
    /// A stored value that cannot be decoded, or a value that cannot be encoded.
    Unreadable,
    /// Anything else redb reports (types, transactions).
    Other,
}

impl Fault {
    /// Whether closing and re-opening the file can clear the fault (redb refuses
    /// every write after an I/O error until it is re-opened).
    pub fn needs_reopen(self) -> bool {
        matches!(
            self,
            Fault::NoSpace | Fault::Io | Fault::Panicked | Fault::Closed | Fault::Corrupted
        )
    }
}

/// Which operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Read,
    Write,
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Op::Read => "read",
            Op::Write => "write",
        })
    }
}

/// Why the store could not do what was asked.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "storage file {0} is already in use by another watchpost process; stop it or set a different [storage] path"
    )]
    AlreadyOpen(PathBuf),
    #[error(
        "the state file {path} is damaged ({detail}); run `watchpost repair --config <file>` to salvage what can be read into a fresh file (the damaged one is kept beside it), or move the file aside to start a new history"
    )]
    Damaged { path: PathBuf, detail: String },
    #[error("cannot open storage file {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("storage {op} failed ({fault:?}): {detail}")]
    Failed {
        op: Op,
        fault: Fault,
        detail: String,
    },
}

impl StoreError {
    /// The fault of a failed read or write (`None` for open errors).
    pub fn fault(&self) -> Option<Fault> {
        match self {
            StoreError::Failed { fault, .. } => Some(*fault),
            _ => None,
        }
    }

    pub(crate) fn read(fault: Fault, detail: impl Into<String>) -> StoreError {
        StoreError::Failed {
            op: Op::Read,
            fault,
            detail: detail.into(),
        }
    }

    pub(crate) fn write(fault: Fault, detail: impl Into<String>) -> StoreError {
        StoreError::Failed {
            op: Op::Write,
            fault,
            detail: detail.into(),
        }
    }
}

/// The fault of a redb error.
pub fn classify(e: &redb::Error) -> Fault {
    match e {
        redb::Error::Io(io) if io.raw_os_error() == Some(libc_enospc()) => Fault::NoSpace,
        redb::Error::Io(io) if io.kind() == std::io::ErrorKind::StorageFull => Fault::NoSpace,
        redb::Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => Fault::Corrupted,
        redb::Error::Io(_) | redb::Error::PreviousIo => Fault::Io,
        redb::Error::Corrupted(_) => Fault::Corrupted,
        redb::Error::DatabaseClosed => Fault::Closed,
        redb::Error::TransactionPoisoned | redb::Error::LockPoisoned(_) => Fault::Panicked,
        _ => Fault::Other,
    }
}

const fn libc_enospc() -> i32 {
    28
}

/// Maps a redb error of an operation to a [`StoreError`].
pub fn redb_err(op: Op) -> impl Fn(redb::Error) -> StoreError {
    move |e| StoreError::Failed {
        op,
        fault: classify(&e),
        detail: e.to_string(),
    }
}

/// `result.on(op)`: a redb result as a store result.
pub trait On<T> {
    fn on(self, op: Op) -> Result<T, StoreError>;
}

impl<T, E: Into<redb::Error>> On<T> for Result<T, E> {
    fn on(self, op: Op) -> Result<T, StoreError> {
        self.map_err(|e| redb_err(op)(e.into()))
    }
}

/// Runs `f` (which calls into redb), turning a panic inside it into a
/// [`Fault::Panicked`] error of `op`.
pub fn guard<T>(op: Op, f: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(StoreError::Failed {
            op,
            fault: Fault::Panicked,
            detail: format!("the storage engine panicked: {}", panic_text(&*payload)),
        }),
    }
}

/// The message of a panic payload.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redb_errors_get_their_fault() {
        let full = std::io::Error::from_raw_os_error(28);
        assert_eq!(classify(&redb::Error::Io(full)), Fault::NoSpace);
        assert_eq!(classify(&redb::Error::PreviousIo), Fault::Io);
        let bad = redb::Error::Corrupted("x".into());
        assert_eq!(classify(&bad), Fault::Corrupted);
        assert!(Fault::Io.needs_reopen() && !Fault::Unreadable.needs_reopen());
    }

    #[test]
    fn a_panic_inside_a_call_becomes_a_typed_error() {
        let r: Result<(), _> = guard(Op::Write, || panic!("entered unreachable code"));
        let e = r.unwrap_err();
        assert_eq!(e.fault(), Some(Fault::Panicked));
        assert!(e.to_string().contains("unreachable"), "{e}");
    }
}
