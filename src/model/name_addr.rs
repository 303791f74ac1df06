//! A server's name and address in one allocation.
//!
//! A 10,000-backend fleet keeps 40,000 servers, each with a name and (from
//! every source but FAgent's) an address. Two strings of their own were two
//! small allocations per server, each with the allocator's header and
//! rounding; one block holding the name followed by the address halves that.

use std::fmt;

/// A server's name, then its address if it has one, in one string.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NameAddr {
    text: Box<str>,
    /// Where the name ends in `text`.
    name_len: u32,
    has_addr: bool,
}

impl NameAddr {
    /// `name` and `addr` in one block. A name too long to count in 32 bits
    /// (no source can send one: answers are bounded far below) is cut at a
    /// character boundary, and the address dropped.
    pub fn new(name: &str, addr: Option<&str>) -> NameAddr {
        let Ok(name_len) = u32::try_from(name.len()) else {
            let mut end = u32::MAX as usize;
            while !name.is_char_boundary(end) {
                end -= 1;
            }
            return NameAddr {
                text: name[..end].into(),
                name_len: end as u32,
                has_addr: false,
            };
        };
        let text = match addr {
            None => Box::from(name),
            Some(addr) => {
                let mut s = String::with_capacity(name.len() + addr.len());
                s.push_str(name);
                s.push_str(addr);
                s.into_boxed_str()
            }
        };
        NameAddr {
            text,
            name_len,
            has_addr: addr.is_some(),
        }
    }

    pub fn name(&self) -> &str {
        &self.text[..self.name_len as usize]
    }

    pub fn addr(&self) -> Option<&str> {
        self.has_addr.then(|| &self.text[self.name_len as usize..])
    }
}

impl fmt::Debug for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NameAddr")
            .field("name", &self.name())
            .field("addr", &self.addr())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_and_address_read_back_as_given() {
        for (name, addr) in [
            ("web1", Some("10.0.0.1:8080")),
            ("web1", None),
            ("", Some("[::1]:80")),
            ("", Some("")),
            ("", None),
            ("sérveur-é", Some("hôte:1")),
        ] {
            let n = NameAddr::new(name, addr);
            assert_eq!((n.name(), n.addr()), (name, addr));
        }
        assert_ne!(
            NameAddr::new("ab", Some("c")),
            NameAddr::new("a", Some("bc")),
            "the same text cut elsewhere is another server"
        );
        assert_ne!(NameAddr::new("a", Some("")), NameAddr::new("a", None));
    }

    #[test]
    fn a_server_reads_and_writes_its_name_and_address_as_two_fields() {
        let stored = r#"{"name":"web1","status":"UP","state":"up","weight":1,"check_status":"L7OK","last_change_s":12,"addr":"10.0.0.1:80","last_known_status":"UP","last_known_state":"up"}"#;
        let r: crate::model::ServerRecord = serde_json::from_str(stored).unwrap();
        assert_eq!((r.name(), r.addr()), ("web1", Some("10.0.0.1:80")));
        assert_eq!(serde_json::to_string(&r).unwrap(), stored);
        let no_addr = stored.replace(r#""10.0.0.1:80""#, "null");
        let r: crate::model::ServerRecord = serde_json::from_str(&no_addr).unwrap();
        assert_eq!((r.name(), r.addr()), ("web1", None));
        assert_eq!(serde_json::to_string(&r).unwrap(), no_addr);
    }
}
