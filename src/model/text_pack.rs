//! Several optional texts of one record in one shared block.
//!
//! A Eureka instance carries six texts (host name, address, three URLs, the
//! endpoint); 10,000 instances held 60,000 small shared strings, each with
//! its reference counts, the allocator's header and rounding. A [`TextPack`]
//! keeps them end to end in one `Arc<str>`, shared by the copies of the state
//! like the strings were, and replaced whole when one of them changes.

use std::fmt;
use std::sync::Arc;

/// `N` optional texts (at most 8) in one block.
#[derive(Clone, PartialEq, Eq)]
pub struct TextPack<const N: usize> {
    text: Arc<str>,
    /// Where each text ends in `text`; each starts where the one before ends.
    ends: [u32; N],
    /// Bit `i` set: text `i` is present (an absent one is empty in `text`).
    present: u8,
}

impl<const N: usize> TextPack<N> {
    /// The texts in one block. A text that would end past 4 GiB into the block
    /// (no source can send one: answers are bounded far below) is left out.
    pub fn new(parts: [Option<&str>; N]) -> TextPack<N> {
        const { assert!(N <= 8, "a pack holds at most 8 texts") };
        let len: usize = parts.iter().flatten().map(|p| p.len()).sum();
        let mut text = String::with_capacity(len);
        let mut ends = [0; N];
        let mut present = 0;
        for (i, part) in parts.iter().enumerate() {
            if let Some(p) = part
                && u32::try_from(text.len() + p.len()).is_ok()
            {
                text.push_str(p);
                present |= 1 << i;
            }
            ends[i] = text.len() as u32;
        }
        TextPack {
            text: Arc::from(text),
            ends,
            present,
        }
    }

    /// Text `i`, if present (`None` as well for `i` ≥ `N`).
    pub fn get(&self, i: usize) -> Option<&str> {
        if i >= N || self.present & (1 << i) == 0 {
            return None;
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.text.get(start..self.ends[i] as usize)
    }

    /// Whether both are the same block (one a copy of the other), not only
    /// equal texts.
    pub fn same_block(&self, other: &TextPack<N>) -> bool {
        Arc::ptr_eq(&self.text, &other.text)
    }

    /// Whether the pack holds exactly `parts`.
    pub fn holds(&self, parts: [Option<&str>; N]) -> bool {
        parts.iter().enumerate().all(|(i, p)| self.get(i) == *p)
    }
}

impl<const N: usize> fmt::Debug for TextPack<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries((0..N).map(|i| self.get(i))).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_text_reads_back_as_given_and_equal_packs_are_equal() {
        let cases: [[Option<&str>; 3]; 5] = [
            [Some("h1"), Some("10.0.0.1"), Some("http://h1/health")],
            [None, None, None],
            [Some(""), None, Some("é")],
            [None, Some("x"), None],
            [Some("ab"), Some(""), Some("c")],
        ];
        for parts in cases {
            let p = TextPack::new(parts);
            assert_eq!([p.get(0), p.get(1), p.get(2)], parts);
            assert!(p.holds(parts));
            assert_eq!(p.get(3), None, "past the last text");
            assert_eq!(p, TextPack::new(parts));
        }
        let a = TextPack::new([Some("ab"), Some("c")]);
        let b = TextPack::new([Some("a"), Some("bc")]);
        assert_ne!(a, b, "the same characters cut elsewhere");
        assert!(!a.holds([Some("a"), Some("bc")]));
        assert_ne!(TextPack::new([Some("")]), TextPack::new([None]));
        assert!(!TextPack::new([Some("")]).holds([None]));
    }

    #[test]
    fn an_instance_reads_and_writes_its_texts_as_fields_in_the_stored_order() {
        let stored = concat!(
            r#"{"instance_id":"h1:app:8080","app":"APP","host_name":"h1","ip_addr":"10.0.0.1","#,
            r#""port":8080,"status":"UP","state":"up","last_known_status":"UP","#,
            r#""last_known_state":"up","health_check_url":"http://h1:8080/health","#,
            r#""home_page_url":null,"status_page_url":"http://h1:8080/info","#,
            r#""metadata":{"zone":"a"},"removed_at":null,"endpoint":"10.0.0.1:8080","#,
            r#""lease_expired":false}"#
        );
        let r: crate::model::InstanceRecord = serde_json::from_str(stored).unwrap();
        assert_eq!(
            [r.host_name(), r.ip_addr(), r.health_check_url()],
            [Some("h1"), Some("10.0.0.1"), Some("http://h1:8080/health")]
        );
        assert_eq!(
            [r.home_page_url(), r.status_page_url(), r.endpoint()],
            [None, Some("http://h1:8080/info"), Some("10.0.0.1:8080")]
        );
        assert_eq!(serde_json::to_string(&r).unwrap(), stored);
        let older = stored.replace(r#","endpoint":"10.0.0.1:8080""#, "");
        let r: crate::model::InstanceRecord = serde_json::from_str(&older).unwrap();
        assert_eq!(
            r.endpoint(),
            None,
            "a state stored before endpoints were kept"
        );
        assert_eq!(serde_json::to_string(&r).unwrap(), older);
    }
}
