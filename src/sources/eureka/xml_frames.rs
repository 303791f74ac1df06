//! The elements of a Eureka XML document being read, each typed by what it is
//! (the registry, an application, an instance, one of its fields, or content that
//! does not matter), and what each hands its parent when it closes. An element
//! counts as the JSON codec would write it: null when empty, text when it has only
//! text, an object when it has attributes or children, a list when repeated.

use std::borrow::Cow;

use super::json_apps::Apps;
use super::raw::{
    AppError, Field, InstanceError, Key, LeaseNums, Port, RawInstance, RawInstances, app_sample,
    trimmed,
};
use super::xml_names::Open;
use super::xml_reader::Text;
use crate::model::AppSample;

/// What an element is; text borrowed from the document (`'b`) where it can be.
pub(crate) enum Kind<'b> {
    /// Content that does not matter (it still makes its parent an object).
    Skip,
    /// A scalar: its text.
    Leaf(Cow<'b, str>),
    Port {
        enabled: Option<bool>,
        text: Cow<'b, str>,
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
pub(crate) struct Frame<'b> {
    pub kind: Kind<'b>,
    pub slot: Slot,
    pub attrs: bool,
    pub children: bool,
    /// Whether it has text that is not blank.
    pub text: bool,
}

impl<'b> Frame<'b> {
    pub(crate) fn new(kind: Kind<'b>, slot: Slot, attrs: bool) -> Frame<'b> {
        Frame {
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

    /// Whether its text is kept (not only whether it is blank).
    pub(crate) fn keeps_text(&self) -> bool {
        matches!(
            self.kind,
            Kind::Leaf(_) | Kind::Port { .. } | Kind::Generic(_)
        )
    }

    /// Adds text to the element.
    pub(crate) fn add_text(&mut self, t: Cow<'b, str>) {
        if let Kind::Skip = self.kind {
            return;
        }
        if !self.text && t.chars().any(|c| !c.is_whitespace()) {
            self.text = true;
        }
        match &mut self.kind {
            Kind::Leaf(s) | Kind::Port { text: s, .. } => append(s, t),
            Kind::Generic(open) => open.text.push_str(&t),
            _ => {}
        }
    }

    /// The element as a scalar field.
    fn field(self) -> Field {
        if self.object() {
            return Field::Compound;
        }
        match self.kind {
            Kind::Leaf(s) => owned_trimmed(s).map_or(Field::Null, Field::Str),
            _ => Field::Null,
        }
    }

    /// The element as a non-negative whole number (what `field().unsigned()`
    /// gives, read from its text where it is).
    fn unsigned(&self) -> Option<u64> {
        match &self.kind {
            Kind::Leaf(s) if !self.object() => s.trim().parse().ok(),
            _ => None,
        }
    }
}

/// Appends text; the first piece (usually the only one) is kept as it comes,
/// borrowed from the document when it reads as written.
fn append<'b>(s: &mut Cow<'b, str>, t: Cow<'b, str>) {
    if s.is_empty() {
        *s = t;
    } else {
        s.to_mut().push_str(&t);
    }
}

/// Text trimmed and owned, `None` when blank.
fn owned_trimmed(s: Cow<'_, str>) -> Option<String> {
    match s {
        Cow::Owned(s) => trimmed(s),
        Cow::Borrowed(s) => {
            let t = s.trim();
            (!t.is_empty()).then(|| t.to_owned())
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
    pub(crate) fn add_app(&mut self, app: Option<Frame<'_>>) {
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
pub(crate) fn finish_app(frame: Frame<'_>, pos: usize) -> Option<Result<AppSample, AppError>> {
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
pub(crate) fn is_text(frame: &Frame<'_>) -> bool {
    !frame.object() && frame.text
}

/// Hands a closed element to its parent.
pub(crate) fn deliver<'b>(parent: &mut Frame<'b>, child: Frame<'b>) {
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
            deliver_lease(nums, i, child);
        }
        (Kind::DataCenter { id, seen, .. }, Slot::DataCenter) => {
            *seen = seen.saturating_add(1);
            *id = data_center_id(child);
        }
        _ => {}
    }
}

/// Hands a parent the text of a child that holds text alone and has no
/// attributes: what [`deliver`] does with the child's frame, without one.
pub(crate) fn deliver_text(parent: &mut Frame<'_>, slot: Slot, text: Text<'_>) {
    match (&mut parent.kind, slot) {
        (Kind::Instance(inst), Slot::Field(key)) => {
            inst.mark(key);
            let text = text.decoded();
            match key {
                Key::LastUpdated => inst.raw.last_updated = text.trim().parse().ok(),
                _ => inst
                    .raw
                    .set(key, owned_trimmed(text).map_or(Field::Null, Field::Str)),
            }
        }
        (Kind::Lease(nums, seen, repeated), Slot::Lease(i)) => {
            *repeated |= *seen & (1 << i);
            *seen |= 1 << i;
            set_lease(nums, i, text.decoded().trim().parse().ok());
        }
        _ => {}
    }
}

fn deliver_lease(nums: &mut LeaseNums, i: u8, child: Frame<'_>) {
    set_lease(nums, i, child.unsigned());
}

fn set_lease(nums: &mut LeaseNums, i: u8, value: Option<u64>) {
    match i {
        0 => nums.last_renewal = value,
        1 => nums.renewal = value,
        2 => nums.duration = value,
        _ => nums.interval = value,
    }
}

/// The AmazonInfo id in `dataCenterInfo.metadata` or in its `instance-id`.
fn data_center_id(child: Frame<'_>) -> Option<String> {
    let object = child.object();
    match child.kind {
        Kind::DataCenter { id, seen, .. } if object && seen <= 1 => id,
        Kind::Leaf(_) => child.field().text(),
        _ => None,
    }
}

fn deliver_to_app(app: &mut AppXml, slot: Slot, child: Frame<'_>) {
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

fn deliver_field(inst: &mut InstanceXml, key: Key, child: Frame<'_>) {
    inst.mark(key);
    let object = child.object();
    let raw = &mut inst.raw;
    match (key, child.kind) {
        (Key::Port | Key::SecurePort, Kind::Port { enabled, text }) => {
            let value = if object && child.children {
                None
            } else {
                text.trim().parse().ok()
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
        (Key::LastUpdated, kind) => raw.last_updated = Frame { kind, ..child }.unsigned(),
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
    /// Notes that `key` came (twice makes it a list).
    fn mark(&mut self, key: Key) {
        if self.seen & bit(key) != 0 {
            self.repeated |= bit(key);
        }
        self.seen |= bit(key);
    }

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
