//! The elements of a Eureka XML document being read, each typed by what it is
//! (the registry, an application, an instance, one of its fields, or content that
//! does not matter), and what each hands its parent when it closes. An element
//! counts as the JSON codec would write it: null when empty, text when it has only
//! text, an object when it has attributes or children, a list when repeated.

use quick_xml::XmlVersion;
use quick_xml::events::BytesStart;
use serde_json::{Map, Value};

use super::json_apps::Apps;
use super::raw::{
    AppError, Field, InstanceError, Key, LeaseNums, Port, RawInstance, RawInstances, app_sample,
    flag_text, trimmed,
};
use crate::model::AppSample;

/// What an element is.
pub(crate) enum Kind {
    /// Content that does not matter (it still makes its parent an object).
    Skip,
    /// A scalar: its text.
    Leaf(String),
    Port {
        enabled: Option<bool>,
        text: String,
    },
    /// `leaseInfo`: its numbers and the keys seen (repeated ones become lists).
    Lease(LeaseNums, u8, u8),
    /// `dataCenterInfo` (`outer`) or its `metadata`: the AmazonInfo id, and how
    /// often the key that holds it was seen.
    DataCenter {
        outer: bool,
        id: Option<String>,
        seen: u8,
    },
    Instance(Box<InstanceXml>),
    App(Box<AppXml>),
    /// `<applications>`.
    Container(Box<ContainerXml>),
    /// Metadata and everything under it, as JSON values.
    Generic(Open),
}

/// How the parent takes an element's value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    None,
    Name,
    Hashcode,
    Application,
    Instance,
    Field(Key),
    Lease(u8),
    DataCenter,
}

/// An open element.
pub(crate) struct Frame {
    /// Where its start tag begins (for the name in an error).
    pub at: u64,
    pub kind: Kind,
    pub slot: Slot,
    pub attrs: bool,
    pub children: bool,
    /// Whether it has text that is not blank.
    pub text: bool,
}

impl Frame {
    pub(crate) fn new(at: u64, kind: Kind, slot: Slot, attrs: bool) -> Frame {
        Frame {
            at,
            kind,
            slot,
            attrs,
            children: false,
            text: false,
        }
    }

    /// Whether it reads as an object.
    pub(crate) fn object(&self) -> bool {
        self.attrs || self.children
    }

    /// Adds text to the element.
    pub(crate) fn add_text(&mut self, t: &str) {
        match &mut self.kind {
            Kind::Leaf(s) | Kind::Port { text: s, .. } => s.push_str(t),
            Kind::Generic(open) => open.text.push_str(t),
            Kind::Skip => return,
            _ => {}
        }
        if !self.text && !t.trim().is_empty() {
            self.text = true;
        }
    }

    /// The element as a scalar field.
    fn field(self) -> Field {
        if self.object() {
            return Field::Compound;
        }
        match self.kind {
            Kind::Leaf(s) => trimmed(s).map_or(Field::Null, Field::Str),
            _ => Field::Null,
        }
    }
}

/// The instance bits of [`Key`], for keys seen twice.
fn bit(key: Key) -> u32 {
    1 << (key as u32)
}

#[derive(Default)]
pub(crate) struct InstanceXml {
    pub raw: RawInstance,
    seen: u32,
    repeated: u32,
}

#[derive(Default)]
pub(crate) struct AppXml {
    names: u8,
    name: Option<String>,
    instances: RawInstances,
    count: usize,
    first_text: bool,
}

#[derive(Default)]
pub(crate) struct ContainerXml {
    hashcodes: u8,
    hashcode: Option<String>,
    apps: Vec<AppSample>,
    error: Option<AppError>,
    count: usize,
    first_text: bool,
}

impl ContainerXml {
    /// Takes one `<application>` (`None` for one with text only).
    pub(crate) fn add_app(&mut self, app: Option<Frame>) {
        self.count += 1;
        let pos = self.count;
        let Some(app) = app else {
            self.first_text |= pos == 1;
            self.error.get_or_insert(AppError::NotObject(pos));
            return;
        };
        if self.error.is_some() {
            return;
        }
        match finish_app(app, pos) {
            Some(Ok(app)) => self.apps.push(app),
            Some(Err(e)) => self.error = Some(e),
            None => {}
        }
    }

    /// The `apps__hashcode`: an empty element is the empty hashcode, a repeated one
    /// none.
    pub(crate) fn hashcode(&self) -> Option<String> {
        if self.hashcodes > 1 {
            return None;
        }
        self.hashcode.clone()
    }

    /// The applications, or the message that makes the document unusable.
    pub(crate) fn apps(self) -> Apps {
        if self.count == 1 && self.first_text {
            return Err(SHAPE.into());
        }
        match self.error {
            Some(e) => Err(e.message()),
            None => Ok(self.apps),
        }
    }
}

/// The error for an `application` that is text.
pub(crate) const SHAPE: &str =
    "Eureka answer is unusable: \"application\" is neither an object nor a list";

/// An `<application>` that is an object as an application; `None` when it is null.
pub(crate) fn finish_app(frame: Frame, pos: usize) -> Option<Result<AppSample, AppError>> {
    if !frame.object() {
        return None;
    }
    let Kind::App(app) = frame.kind else {
        return None;
    };
    let mut app = *app;
    if app.count == 1 && app.first_text {
        app.instances.error = Some(InstanceError::Shape);
    }
    let name = if app.names > 1 { None } else { app.name };
    Some(app_sample(name, app.instances, pos))
}

/// Whether a closed element is text only (neither null nor an object).
pub(crate) fn is_text(frame: &Frame) -> bool {
    !frame.object() && frame.text
}

/// Hands a closed element to its parent.
pub(crate) fn deliver(parent: &mut Frame, child: Frame) {
    match (&mut parent.kind, child.slot) {
        (Kind::Generic(open), _) => {
            if let Kind::Generic(c) = child.kind {
                open.add(c.finish());
            }
        }
        (Kind::Container(c), Slot::Hashcode) => {
            c.hashcodes = c.hashcodes.saturating_add(1);
            c.hashcode = match child.field() {
                Field::Str(s) => Some(s),
                Field::Null => Some(String::new()),
                _ => None,
            };
        }
        (Kind::Container(c), Slot::Application) => {
            let app = (!is_text(&child)).then_some(child);
            c.add_app(app);
        }
        (Kind::App(app), slot) => deliver_to_app(app, slot, child),
        (Kind::Instance(inst), Slot::Field(key)) => deliver_field(inst, key, child),
        (Kind::Lease(nums, seen, repeated), Slot::Lease(i)) => {
            *repeated |= *seen & (1 << i);
            *seen |= 1 << i;
            let value = child.field().unsigned();
            match i {
                0 => nums.last_renewal = value,
                1 => nums.renewal = value,
                2 => nums.duration = value,
                _ => nums.interval = value,
            }
        }
        (Kind::DataCenter { id, seen, .. }, Slot::DataCenter) => {
            *seen = seen.saturating_add(1);
            let object = child.object();
            *id = match child.kind {
                Kind::DataCenter { id, seen, .. } if object && seen <= 1 => id,
                Kind::Leaf(_) => child.field().text(),
                _ => None,
            };
        }
        _ => {}
    }
}

fn deliver_to_app(app: &mut AppXml, slot: Slot, child: Frame) {
    match slot {
        Slot::Name => {
            app.names = app.names.saturating_add(1);
            app.name = child.field().text();
        }
        Slot::Instance => {
            app.count += 1;
            let pos = app.count;
            if is_text(&child) {
                app.first_text |= pos == 1;
                app.instances.fail(InstanceError::NotObject(pos));
            } else if child.object()
                && let Kind::Instance(inst) = child.kind
            {
                app.instances.push(inst.finish(), pos);
            }
        }
        _ => {}
    }
}

fn deliver_field(inst: &mut InstanceXml, key: Key, child: Frame) {
    if inst.seen & bit(key) != 0 {
        inst.repeated |= bit(key);
    }
    inst.seen |= bit(key);
    let object = child.object();
    let raw = &mut inst.raw;
    match (key, child.kind) {
        (Key::Port | Key::SecurePort, Kind::Port { enabled, text }) => {
            let value = if object && child.children {
                None
            } else {
                Field::Str(text).unsigned()
            };
            let enabled = if object { enabled } else { None };
            let port = Port { value, enabled };
            *if key == Key::Port {
                &mut raw.port
            } else {
                &mut raw.secure_port
            } = port;
        }
        (Key::Metadata, Kind::Generic(open)) => {
            raw.metadata = super::json::metadata(&open.finish().1);
        }
        (Key::DataCenterInfo, Kind::DataCenter { id, seen, .. }) => {
            raw.amazon_id = if object && seen <= 1 { id } else { None };
        }
        (Key::LeaseInfo | Key::LeaseInfoSnake, Kind::Lease(nums, _, repeated)) => {
            let lease = object.then(|| strip_repeated(nums, repeated));
            *if key == Key::LeaseInfo {
                &mut raw.lease_info
            } else {
                &mut raw.lease_info_snake
            } = Some(lease);
        }
        (_, kind) => raw.set(key, Frame { kind, ..child }.field()),
    }
}

/// Lease numbers whose key came twice (a list) count as absent.
fn strip_repeated(mut n: LeaseNums, repeated: u8) -> LeaseNums {
    let slots = [
        &mut n.last_renewal,
        &mut n.renewal,
        &mut n.duration,
        &mut n.interval,
    ];
    for (i, slot) in slots.into_iter().enumerate() {
        if repeated & (1 << i) != 0 {
            *slot = None;
        }
    }
    n
}

impl InstanceXml {
    /// The instance read so far; keys that came twice (a list) count as absent.
    fn finish(self) -> RawInstance {
        let mut raw = self.raw;
        for key in ALL_KEYS {
            if self.repeated & bit(key) != 0 {
                raw.set(key, Field::Compound);
            }
        }
        raw
    }
}

const ALL_KEYS: [Key; 18] = [
    Key::InstanceId,
    Key::App,
    Key::HostName,
    Key::IpAddr,
    Key::Status,
    Key::HealthCheckUrl,
    Key::HomePageUrl,
    Key::StatusPageUrl,
    Key::Overridden,
    Key::OverriddenLower,
    Key::ActionType,
    Key::Port,
    Key::SecurePort,
    Key::Metadata,
    Key::DataCenterInfo,
    Key::LeaseInfo,
    Key::LeaseInfoSnake,
    Key::LastUpdated,
];

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
        let name = start.local_name().as_ref().to_string();
        let mut fields = Map::new();
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
    fn add(&mut self, (name, value): (String, Value)) {
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
    for attr in start.attributes() {
        let name = || start.local_name().as_ref().to_string();
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
