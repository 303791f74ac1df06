//! Counting the entries of one list inside a JSON answer without building them, so
//! an answer past a limit is refused before its entries cost memory and time.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::fagent::trim_bom;

/// Whether the list at `path` (object keys from the root, e.g. `["data",
/// "servers"]`) holds more than `limit` entries. Reading stops at entry `limit + 1`.
/// `false` when the body does not have that shape: the full parse says what is
/// wrong with it.
pub(crate) fn exceeds(body: &[u8], path: &[&str], limit: usize) -> bool {
    let over = Cell::new(false);
    let mut de = serde_json::Deserializer::from_slice(trim_bom(body));
    let probe = Probe {
        path,
        limit,
        over: &over,
    };
    // An error ends the probe: past the limit (then `over` is set), or a body the
    // full parse will report on.
    let _ = probe.deserialize(&mut de);
    over.get()
}

#[derive(Clone, Copy)]
struct Probe<'p> {
    path: &'p [&'p str],
    limit: usize,
    over: &'p Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Probe<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.path.is_empty() {
            d.deserialize_seq(self)
        } else {
            d.deserialize_map(self)
        }
    }
}

impl<'de> Visitor<'de> for Probe<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object or a list")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.path.split_first() else {
            return Err(de::Error::custom("an object where a list was expected"));
        };
        while let Some(key) = map.next_key::<String>()? {
            if key == *first {
                let inner = Probe { path: rest, ..self };
                return map.next_value_seed(inner);
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut count = 0usize;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            count += 1;
            if count > self.limit {
                self.over.set(true);
                return Err(de::Error::custom("past the limit"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::exceeds;

    const BODY: &[u8] =
        br#"{"success":true,"data":{"backend":"b","servers":[{"name":"a"},{"name":"b"},3]}}"#;

    #[test]
    fn counts_the_list_at_the_path_and_nothing_else() {
        let path = ["data", "servers"];
        assert!(exceeds(BODY, &path, 2));
        assert!(!exceeds(BODY, &path, 3));
        assert!(!exceeds(BODY, &["data", "missing"], 0));
        assert!(!exceeds(b"not json", &path, 0));
        assert!(!exceeds(br#"{"data":{"servers":{"a":1}}}"#, &path, 0));
    }

    #[test]
    fn stops_at_the_first_entry_past_the_limit() {
        // The list breaks after its second entry: only a probe that stopped
        // before it can tell the limit of 1 was passed.
        let broken = br#"{"data":{"servers":[1,2,!!!"#;
        assert!(exceeds(broken, &["data", "servers"], 1));
        assert!(!exceeds(broken, &["data", "servers"], 2));
    }
}
