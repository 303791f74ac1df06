//! The `transactions` table: each transaction record as JSON under its id (ids
//! sort by start time). Written at the start of a transaction and after every step,
//! so a record survives a crash with the steps that were applied.

use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use super::status::StatusHandle;
use super::transaction::TxRecord;

const TRANSACTIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("transactions");

/// Writes (or rewrites) a record durably.
pub async fn save(status: &StatusHandle, rec: &TxRecord) -> Result<(), String> {
    let json = serde_json::to_vec(rec).map_err(|e| e.to_string())?;
    let (status, id) = (status.clone(), rec.id.clone());
    let write = move || -> Result<(), String> {
        let db = status.store().database().map_err(|e| e.to_string())?;
        let tx = db.begin_write().map_err(|e| e.to_string())?;
        {
            let mut table = tx.open_table(TRANSACTIONS).map_err(|e| e.to_string())?;
            table
                .insert(id.as_str(), json.as_slice())
                .map_err(|e| e.to_string())?;
        }
        tx.commit().map_err(|e| e.to_string())
    };
    tokio::task::spawn_blocking(write)
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot store the transaction: {e}"))
}

/// One record.
pub fn get(status: &StatusHandle, id: &str) -> Result<Option<TxRecord>, String> {
    let db = status.store().database().map_err(|e| e.to_string())?;
    let tx = db.begin_read().map_err(|e| e.to_string())?;
    let table = match tx.open_table(TRANSACTIONS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let Some(value) = table.get(id).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    serde_json::from_slice(value.value())
        .map(Some)
        .map_err(|e| e.to_string())
}

/// The latest `limit` records, newest first.
pub fn latest(status: &StatusHandle, limit: usize) -> Result<Vec<TxRecord>, String> {
    let db = status.store().database().map_err(|e| e.to_string())?;
    let tx = db.begin_read().map_err(|e| e.to_string())?;
    let table = match tx.open_table(TRANSACTIONS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e.to_string()),
    };
    let mut out = Vec::new();
    for row in table.iter().map_err(|e| e.to_string())?.rev().take(limit) {
        let (_, value) = row.map_err(|e| e.to_string())?;
        out.push(serde_json::from_slice(value.value()).map_err(|e| e.to_string())?);
    }
    Ok(out)
}
