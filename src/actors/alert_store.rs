//! The alert tables of the redb file: each target's alerts and change history, and
//! the silences. Written inside the status actor's commit, in the same
//! transaction as the states and events that caused them.

use std::collections::BTreeMap;
use std::sync::Arc;

use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use super::status_alerts::AlertsView;
use super::store::{Store, StoreError};
use crate::alerts::{Silence, TargetAlerts};

/// Each target's [`TargetAlerts`] as JSON.
const ALERTS: TableDefinition<&str, &[u8]> = TableDefinition::new("alerts");
/// Each silence as JSON, by id.
const SILENCES: TableDefinition<&str, &[u8]> = TableDefinition::new("silences");

/// What one commit changes in the alert tables.
#[derive(Clone, Debug, Default)]
pub struct AlertWrites {
    /// A target's alerts, or `None` to forget them.
    pub books: Vec<(Arc<str>, Option<Arc<TargetAlerts>>)>,
    /// A silence, created or changed.
    pub silences: Vec<Silence>,
    /// Silences to forget.
    pub forget: Vec<String>,
}

impl AlertWrites {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.books.is_empty() && self.silences.is_empty() && self.forget.is_empty()
    }
}

fn write_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::write(super::store::Fault::Other, e.to_string())
}

fn read_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::read(super::store::Fault::Other, e.to_string())
}

/// Writes `w` in `tx`.
pub fn write(tx: &redb::WriteTransaction, w: &AlertWrites) -> Result<(), StoreError> {
    let mut alerts = tx.open_table(ALERTS).map_err(write_err)?;
    for (id, book) in &w.books {
        match book {
            Some(b) => {
                let bytes = serde_json::to_vec(&**b).map_err(write_err)?;
                alerts.insert(&**id, bytes.as_slice()).map_err(write_err)?;
            }
            None => {
                alerts.remove(&**id).map_err(write_err)?;
            }
        }
    }
    let mut silences = tx.open_table(SILENCES).map_err(write_err)?;
    for s in &w.silences {
        let bytes = serde_json::to_vec(s).map_err(write_err)?;
        silences
            .insert(s.id.as_str(), bytes.as_slice())
            .map_err(write_err)?;
    }
    for id in &w.forget {
        silences.remove(id.as_str()).map_err(write_err)?;
    }
    Ok(())
}

/// Every stored target's alerts, and every stored silence. Unreadable rows are
/// skipped with a warning.
pub fn load(store: &Store) -> Result<AlertsView, StoreError> {
    let tx = store.database()?.begin_read().map_err(read_err)?;
    let mut books = BTreeMap::new();
    if let Some(table) = open(&tx, ALERTS)? {
        for row in table.iter().map_err(read_err)? {
            let (k, v) = row.map_err(read_err)?;
            match serde_json::from_slice::<TargetAlerts>(v.value()) {
                Ok(b) => {
                    books.insert(Arc::from(k.value()), Arc::new(b));
                }
                Err(e) => {
                    tracing::warn!(target_id = k.value(), error = %e, "skipping unreadable stored alerts")
                }
            }
        }
    }
    let mut silences = Vec::new();
    if let Some(table) = open(&tx, SILENCES)? {
        for row in table.iter().map_err(read_err)? {
            let (k, v) = row.map_err(read_err)?;
            match serde_json::from_slice::<Silence>(v.value()) {
                Ok(s) => silences.push(s),
                Err(e) => {
                    tracing::warn!(silence = k.value(), error = %e, "skipping unreadable stored silence")
                }
            }
        }
    }
    Ok(AlertsView { books, silences })
}

/// Opens a table for reading; `None` when no commit has created it yet.
fn open(
    tx: &redb::ReadTransaction,
    def: TableDefinition<&str, &[u8]>,
) -> Result<Option<redb::ReadOnlyTable<&'static str, &'static [u8]>>, StoreError> {
    match tx.open_table(def) {
        Ok(t) => Ok(Some(t)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(read_err(e)),
    }
}
