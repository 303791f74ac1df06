//! The daemon's identity for high availability: an `instance_id` (a random UUID)
//! kept in a table of its own in the redb file, so it survives restarts and a
//! WebSocket client can tell one daemon's event sequence from another's.

use rand::RngCore;
use redb::{Database, ReadableDatabase, TableDefinition};

use crate::actors::store::{Op, StoreError, redb_err};

const IDENTITY: TableDefinition<&str, &str> = TableDefinition::new("identity");
const KEY: &str = "instance_id";

/// The stored instance id, created on the first call.
pub fn instance_id(db: &Database) -> Result<String, StoreError> {
    let read = redb_err(Op::Read);
    if let Ok(tx) = db.begin_read()
        && let Ok(table) = tx.open_table(IDENTITY)
        && let Some(v) = table.get(KEY).map_err(|e| read(e.into()))?
    {
        return Ok(v.value().to_string());
    }
    let write = redb_err(Op::Write);
    let id = new_uuid();
    let tx = db.begin_write().map_err(|e| write(e.into()))?;
    {
        let mut table = tx.open_table(IDENTITY).map_err(|e| write(e.into()))?;
        table
            .insert(KEY, id.as_str())
            .map_err(|e| write(e.into()))?;
    }
    tx.commit().map_err(|e| write(e.into()))?;
    Ok(id)
}

/// A random (version 4) UUID.
fn new_uuid() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_id_is_a_uuid_and_stays_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i.redb");
        let first = {
            let db = redb::Database::create(&path).unwrap();
            super::instance_id(&db).unwrap()
        };
        assert_eq!(first.len(), 36);
        assert_eq!(&first[14..15], "4");
        let db = redb::Database::create(&path).unwrap();
        assert_eq!(super::instance_id(&db).unwrap(), first);
    }
}
