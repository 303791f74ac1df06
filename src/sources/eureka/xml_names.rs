//! What an element of a Eureka XML document is, by its name and its parent's
//! kind; its attributes as the codec reads them; and metadata, read as the JSON
//! values the codec writes for it.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::raw::{Key, LeaseNums, flag_text};
use super::xml_frames::{Kind, Slot};
use super::xml_reader::Tag;

/// What an element opened inside `parent` is, by its name.
pub(crate) fn child_kind<'b>(parent: &Kind<'_>, name: &str) -> (Kind<'b>, Slot) {
    match (parent, name) {
        (Kind::Container(_), "application") => (Kind::App(Box::default()), Slot::Application),
        (Kind::Container(_), "apps__hashcode") => (Kind::Leaf(Cow::Borrowed("")), Slot::Hashcode),
        (Kind::App(_), "name") => (Kind::Leaf(Cow::Borrowed("")), Slot::Name),
        (Kind::App(_), "instance") => (Kind::Instance(Box::default()), Slot::Instance),
        (Kind::Instance(_), _) => instance_child(name),
        (Kind::Lease(..), _) => match LEASE_KEYS.iter().position(|k| *k == name) {
            Some(i) => (Kind::Leaf(Cow::Borrowed("")), Slot::Lease(i as u8)),
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
            (Kind::Leaf(Cow::Borrowed("")), Slot::DataCenter)
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

fn instance_child<'b>(name: &str) -> (Kind<'b>, Slot) {
    let Some(key) = Key::of(name) else {
        return (Kind::Skip, Slot::None);
    };
    let kind = match key {
        Key::Port | Key::SecurePort => Kind::Port {
            enabled: None,
            text: Cow::Borrowed(""),
        },
        Key::Metadata => Kind::Generic(Open::default()),
        Key::DataCenterInfo => Kind::DataCenter {
            outer: true,
            id: None,
            seen: 0,
        },
        Key::LeaseInfo | Key::LeaseInfoSnake => Kind::Lease(LeaseNums::default(), 0, 0),
        _ => Kind::Leaf(Cow::Borrowed("")),
    };
    (kind, Slot::Field(key))
}

/// An element under metadata, read as the JSON value the codec writes for it.
#[derive(Default)]
pub(crate) struct Open {
    pub name: String,
    pub fields: Map<String, Value>,
    /// Whether it has attributes (it is an object).
    pub attrs: bool,
    pub text: String,
}

impl Open {
    /// Its name and attributes (`@name`).
    pub(crate) fn new(tag: &Tag<'_>) -> Open {
        let mut fields = Map::new();
        for attr in tag.attributes() {
            let key = format!("@{}", attr.local_name());
            fields.insert(key, Value::String(attr.value().into_owned()));
        }
        Open {
            name: tag.local_name().to_string(),
            fields,
            attrs: tag.has_attributes(),
            text: String::new(),
        }
    }

    /// The instance's `metadata` element itself: its `@class` attribute (the codec's
    /// marker, which the metadata leaves out) and its name (which no one reads)
    /// are not kept.
    pub(crate) fn metadata(tag: &Tag<'_>) -> Open {
        let mut fields = Map::new();
        for attr in tag.attributes().filter(|a| a.local_name() != "class") {
            let key = format!("@{}", attr.local_name());
            fields.insert(key, Value::String(attr.value().into_owned()));
        }
        Open {
            name: String::new(),
            fields,
            attrs: tag.has_attributes(),
            text: String::new(),
        }
    }

    /// The element as JSON: an object when it has attributes or children (its text
    /// under `$` beside attributes), otherwise its trimmed text, null when blank.
    pub(crate) fn finish(self) -> (String, Value) {
        let text = self.text.trim();
        let value = match (!self.attrs && self.fields.is_empty(), text.is_empty()) {
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

/// The attributes of an element as the codec reads them: whether it has any,
/// and the last `enabled` one as a flag.
pub(crate) fn attributes(tag: &Tag<'_>) -> (bool, Option<bool>) {
    let mut enabled = None;
    if !tag.has_attributes() {
        return (false, enabled);
    }
    for attr in tag.attributes() {
        if attr.local_name() == "enabled" {
            enabled = flag_text(&attr.value());
        }
    }
    (true, enabled)
}
