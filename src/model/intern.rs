//! Interned texts: a server's status and check status come from a dozen values
//! (`UP`, `DOWN 1/2`, `MAINT`, `L7OK`, `L4TOUT`, …), so 40,000 servers share a
//! few strings instead of holding three allocations each.
//!
//! Each thread keeps its own small table (no lock on the poll path). It is
//! bounded: past [`MAX_ENTRIES`] distinct texts, or for a text longer than
//! [`MAX_LEN`], [`intern`] hands out a string of its own, so a source that
//! writes a new text on every row costs what it did without interning and
//! never grows the table.

use std::cell::RefCell;
use std::sync::Arc;

use super::Shared;

/// Distinct texts one thread keeps.
pub const MAX_ENTRIES: usize = 128;
/// Longest text kept (HAProxy's statuses and check codes are a few bytes).
pub const MAX_LEN: usize = 32;

thread_local! {
    static TABLE: RefCell<Vec<Shared>> = const { RefCell::new(Vec::new()) };
}

/// The shared string for `text`: the one already handed out on this thread when
/// there is one, a new one otherwise (kept for the next caller while the table
/// has room).
pub fn intern(text: &str) -> Shared {
    if text.len() > MAX_LEN {
        return Arc::from(text);
    }
    TABLE.with(|table| {
        let mut table = table.borrow_mut();
        if let Some(found) = table.iter().find(|s| ***s == *text) {
            return Arc::clone(found);
        }
        let new: Shared = Arc::from(text);
        if table.len() < MAX_ENTRIES {
            table.push(Arc::clone(&new));
        }
        new
    })
}

/// Reads a stored status as an interned one (`#[serde(deserialize_with)]`): states
/// read back at start share their statuses like those read from the source.
pub fn de_interned<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Shared, D::Error> {
    let text: std::borrow::Cow<'de, str> = serde::Deserialize::deserialize(d)?;
    Ok(intern(&text))
}

/// [`de_interned`] for an optional status.
pub fn de_interned_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Shared>, D::Error> {
    let text: Option<std::borrow::Cow<'de, str>> = serde::Deserialize::deserialize(d)?;
    Ok(text.as_deref().map(intern))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_is_one_string() {
        let a = intern("DOWN 1/2");
        let b = intern(&String::from("DOWN 1/2"));
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(&*a, "DOWN 1/2");
        assert!(!Arc::ptr_eq(&a, &intern("UP")));
    }

    #[test]
    fn stored_statuses_are_read_back_interned() {
        #[derive(serde::Deserialize)]
        struct Row {
            #[serde(deserialize_with = "de_interned")]
            status: Shared,
            #[serde(default, deserialize_with = "de_interned_opt")]
            check: Option<Shared>,
        }
        let a: Row = serde_json::from_str(r#"{"status":"MAINT","check":"L7OK"}"#).unwrap();
        let b: Row = serde_json::from_str(r#"{"status":"MAINT","check":null}"#).unwrap();
        assert!(Arc::ptr_eq(&a.status, &b.status));
        assert!(Arc::ptr_eq(a.check.as_ref().unwrap(), &intern("L7OK")));
        assert_eq!(b.check, None);
    }

    #[test]
    fn long_texts_and_a_full_table_are_not_kept() {
        let long = "x".repeat(MAX_LEN + 1);
        assert!(!Arc::ptr_eq(&intern(&long), &intern(&long)));
        // A source writing a new text on every row: the table stops at its bound,
        // and every text still reads back as written.
        std::thread::spawn(|| {
            for i in 0..(MAX_ENTRIES * 4) {
                assert_eq!(&*intern(&format!("S{i}")), format!("S{i}"));
            }
            TABLE.with(|t| assert_eq!(t.borrow().len(), MAX_ENTRIES));
            let past = format!("S{}", MAX_ENTRIES * 2);
            assert!(!Arc::ptr_eq(&intern(&past), &intern(&past)));
            assert!(Arc::ptr_eq(&intern("S0"), &intern("S0")));
        })
        .join()
        .unwrap();
    }
}
