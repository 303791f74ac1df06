//! The durable part of a notifier, in tables of its own in the daemon's redb file:
//! its cursor in the event log and the last seq each group delivered. Both are
//! written only after the receiver accepted, in one transaction.

use std::collections::BTreeMap;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::actors::store::{Fault, StoreError};

/// Notifier name → the seq before its oldest undelivered transition.
const CURSORS: TableDefinition<&str, u64> = TableDefinition::new("notify_cursors");
/// `notifier \n group key` → the last seq the group delivered.
const DELIVERED: TableDefinition<&str, u64> = TableDefinition::new("notify_delivered");

fn write_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::write(Fault::Other, e.to_string())
}

fn read_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::read(Fault::Other, e.to_string())
}

fn key(notifier: &str, group: &str) -> String {
    format!("{notifier}\n{group}")
}

/// What a notifier had stored: its cursor (`None` for a new notifier) and the last
/// delivered seq of each group.
pub fn load(
    db: &Database,
    notifier: &str,
) -> Result<(Option<u64>, BTreeMap<String, u64>), StoreError> {
    ensure(db)?;
    let tx = db.begin_read().map_err(read_err)?;
    let cursors = tx.open_table(CURSORS).map_err(read_err)?;
    let cursor = cursors.get(notifier).map_err(read_err)?.map(|v| v.value());
    let delivered = tx.open_table(DELIVERED).map_err(read_err)?;
    let prefix = key(notifier, "");
    let mut groups = BTreeMap::new();
    for row in delivered.range(prefix.as_str()..).map_err(read_err)? {
        let (k, v) = row.map_err(read_err)?;
        let Some(group) = k.value().strip_prefix(prefix.as_str()) else {
            break;
        };
        groups.insert(group.to_string(), v.value());
    }
    Ok((cursor, groups))
}

fn ensure(db: &Database) -> Result<(), StoreError> {
    let tx = db.begin_write().map_err(write_err)?;
    tx.open_table(CURSORS).map_err(write_err)?;
    tx.open_table(DELIVERED).map_err(write_err)?;
    tx.commit().map_err(write_err)
}

/// Records a delivery: the group's delivered seq (or its removal when the group is
/// gone) and the notifier's cursor, durably.
pub fn save(
    db: &Database,
    notifier: &str,
    cursor: u64,
    group: Option<(&str, u64)>,
) -> Result<(), StoreError> {
    let mut tx = db.begin_write().map_err(write_err)?;
    tx.set_durability(redb::Durability::Immediate)
        .map_err(write_err)?;
    {
        let mut cursors = tx.open_table(CURSORS).map_err(write_err)?;
        cursors.insert(notifier, cursor).map_err(write_err)?;
        if let Some((g, seq)) = group {
            let mut delivered = tx.open_table(DELIVERED).map_err(write_err)?;
            let k = key(notifier, g);
            delivered.insert(k.as_str(), seq).map_err(write_err)?;
        }
        prune(&tx, notifier, cursor)?;
    }
    tx.commit().map_err(write_err)
}

/// Groups whose delivered seq is behind the cursor no longer matter.
fn prune(tx: &redb::WriteTransaction, notifier: &str, cursor: u64) -> Result<(), StoreError> {
    let mut delivered = tx.open_table(DELIVERED).map_err(write_err)?;
    let prefix = key(notifier, "");
    let stale: Vec<String> = delivered
        .range(prefix.as_str()..)
        .map_err(write_err)?
        .filter_map(Result::ok)
        .take_while(|(k, _)| k.value().starts_with(prefix.as_str()))
        .filter(|(_, v)| v.value() <= cursor)
        .map(|(k, _)| k.value().to_string())
        .collect();
    for k in stale {
        delivered.remove(k.as_str()).map_err(write_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_and_groups_survive_reopen_and_stale_groups_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.redb");
        {
            let db = Database::create(&path).unwrap();
            assert_eq!(load(&db, "hook").unwrap(), (None, BTreeMap::new()));
            save(&db, "hook", 4, Some(("a", 9))).unwrap();
            save(&db, "hook", 5, Some(("b", 5))).unwrap();
            save(&db, "other", 1, None).unwrap();
        }
        let db = Database::create(&path).unwrap();
        let (cursor, groups) = load(&db, "hook").unwrap();
        assert_eq!(cursor, Some(5));
        assert_eq!(groups, BTreeMap::from([("a".to_string(), 9)]));
        assert_eq!(load(&db, "other").unwrap().0, Some(1));
    }
}
