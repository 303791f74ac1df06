//! What an element of a Eureka XML document is, by its name and its parent's
//! kind; its attributes as the codec reads them; and metadata, read as the JSON
//! values the codec writes for it.

use quick_xml::XmlVersion;
use quick_xml::events::BytesStart;
use serde_json::{Map, Value};

use super::raw::{Key, LeaseNums, flag_text};
use super::xml_frames::{Kind, Slot};

/// What an element opened inside `parent` is, by its name.
pub(crate) fn child_kind(parent: &Kind, name: &str) -> (Kind, Slot) {
    match (parent, name) {
        (Kind::Container(_), "application") => (Kind::App(Box::default()), Slot::Application),
        (Kind::Container(_), "apps__hashcode") => (Kind::Leaf(String::new()), Slot::Hashcode),
        (Kind::App(_), "name") => (Kind::Leaf(String::new()), Slot::Name),
        (Kind::App(_), "instance") => (Kind::Instance(Box::default()), Slot::Instance),
        (Kind::Instance(_), _) => instance_child(name),
        (Kind::Lease(..), _) => match LEASE_KEYS.iter().position(|k| *k == name) {
            Some(i) => (Kind::Leaf(String::new()), Slot::Lease(i as u8)),
            None => (Kind::Skip, Slot::None),
        },
        (Kind::DataCenter { outer: true, .. }, "metadata") => {
            let kind = Kind::DataCenter {
                outer: false,
                id: None,
                seen: 0,
            };
            (kind, Slot::DataCenter)
        }
        (Kind::DataCenter { outer: false, .. }, "instance-id") => {
            (Kind::Leaf(String::new()), Slot::DataCenter)
        }
        _ => (Kind::Skip, Slot::None),
    }
}

const LEASE_KEYS: [&str; 4] = [
    "lastRenewalTimestamp",
    "renewalTimestamp",
    "durationInSecs",
    "renewalIntervalInSecs",
];

fn instance_child(name: &str) -> (Kind, Slot) {
    let Some(key) = Key::of(name) else {
        return (Kind::Skip, Slot::None);
    };
    let kind = match key {
        Key::Port | Key::SecurePort => Kind::Port {
            enabled: None,
            text: String::new(),
        },
        Key::Metadata => Kind::Generic(Open::default()),
        Key::DataCenterInfo => Kind::DataCenter {
            outer: true,
            id: None,
            seen: 0,
        },
        Key::LeaseInfo | Key::LeaseInfoSnake => Kind::Lease(LeaseNums::default(), 0, 0),
        _ => Kind::Leaf(String::new()),
    };
    (kind, Slot::Field(key))
}

/// An element under metadata, read as the JSON value the codec writes for it.
#[derive(Default)]
pub(crate) struct Open {
    pub name: String,
    pub fields: Map<String, Value>,
    pub text: String,
}

impl Open {
    /// Its name and attributes (`@name`), or why they cannot be read.
    pub(crate) fn new(start: &BytesStart<'_>) -> Result<Open, String> {
        let name = local_name(start).to_string();
        let mut fields = Map::new();
        if no_attributes(start) {
            return Ok(Open {
                name,
                fields,
                text: String::new(),
            });
        }
        for attr in start.attributes() {
            let attr = attr.map_err(|e| format!("bad attribute in <{name}>: {e}"))?;
            let key = attr.key.local_name().as_ref().to_string();
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| format!("bad attribute value in <{name}>: {e}"))?;
            fields.insert(format!("@{key}"), Value::String(value.into_owned()));
        }
        Ok(Open {
            name,
            fields,
            text: String::new(),
        })
    }

    /// The element as JSON: an object when it has attributes or children (its text
    /// under `$` beside attributes), otherwise its trimmed text, null when blank.
    pub(crate) fn finish(self) -> (String, Value) {
        let text = self.text.trim();
        let value = match (self.fields.is_empty(), text.is_empty()) {
            (true, true) => Value::Null,
            (true, false) => Value::String(text.to_string()),
            (false, _) => {
                let mut fields = self.fields;
                let has_children = fields.keys().any(|k| !k.starts_with('@'));
                if !has_children && !text.is_empty() {
                    fields.insert("$".to_string(), Value::String(text.to_string()));
                }
                Value::Object(fields)
            }
        };
        (self.name, value)
    }

    /// Adds a finished child; a repeated name becomes a list in document order.
    pub(crate) fn add(&mut self, (name, value): (String, Value)) {
        match self.fields.get_mut(&name) {
            None => {
                self.fields.insert(name, value);
            }
            Some(Value::Array(list)) => list.push(value),
            Some(first) => {
                let first = first.take();
                self.fields.insert(name, Value::Array(vec![first, value]));
            }
        }
    }
}

/// Checks the attributes of an element as the codec reads them: whether it has
/// any, and the last `enabled` one as a flag.
pub(crate) fn attributes(start: &BytesStart<'_>) -> Result<(bool, Option<bool>), String> {
    let mut any = false;
    let mut enabled = None;
    if no_attributes(start) {
        return Ok((any, enabled));
    }
    for attr in start.attributes() {
        let name = || local_name(start).to_string();
        let attr = attr.map_err(|e| format!("bad attribute in <{}>: {e}", name()))?;
        any = true;
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| format!("bad attribute value in <{}>: {e}", name()))?;
        if attr.key.local_name().as_ref() == "enabled" {
            enabled = flag_text(&value);
        }
    }
    Ok((any, enabled))
}

/// The element's name without its namespace prefix (what follows the first `:`),
/// as quick-xml's `local_name` gives it, found with a byte scan.
pub(crate) fn local_name<'s>(start: &'s BytesStart<'_>) -> &'s str {
    let qname: &'s str = start.name().0;
    match qname.bytes().position(|b| b == b':') {
        // `:` is ASCII, so the next byte starts a character.
        Some(i) => &qname[i + 1..],
        None => qname,
    }
}

/// Whether the start tag has nothing after its name but XML white space: no
/// attribute to read (the common case, decided without the attribute reader).
fn no_attributes(start: &BytesStart<'_>) -> bool {
    start
        .attributes_raw()
        .bytes()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}
