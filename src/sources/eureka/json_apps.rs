//! serde visitors for the applications of a Eureka JSON document and their
//! instances, each written as one object or a list of them: read straight into
//! [`AppSample`]s, counting instances as they come so that a registry past the
//! limit stops being read at its first instance too many.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::json_fields::{
    DataCenterSeed, KeyStr, LeaseSeed, MetadataSeed, PortSeed, drain_seq, scalars_as_field,
};
use super::raw::{AppError, Field, InstanceError, Key, RawInstance, RawInstances, app_sample};
use crate::model::AppSample;

/// What the visitors share: the instance limit and the count so far.
pub(crate) struct Ctx {
    pub limit: usize,
    pub count: Cell<usize>,
    pub over: Cell<bool>,
}

impl Ctx {
    pub(crate) fn new(limit: usize) -> Ctx {
        Ctx {
            limit,
            count: Cell::new(0),
            over: Cell::new(false),
        }
    }

    /// Counts one instance; an error past the limit ends the reading.
    fn count<E: de::Error>(&self) -> Result<(), E> {
        let n = self.count.get() + 1;
        self.count.set(n);
        if n > self.limit {
            self.over.set(true);
            return Err(E::custom("more instances than the limit"));
        }
        Ok(())
    }
}

/// The applications of a document, or the message that makes it unusable.
pub(crate) type Apps = Result<Vec<AppSample>, String>;

/// An `application` value: one object, a list, null or blank text.
#[derive(Clone, Copy)]
pub(crate) struct AppListSeed<'c>(pub &'c Ctx);

impl<'de> DeserializeSeed<'de> for AppListSeed<'_> {
    type Value = Apps;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Apps, D::Error> {
        d.deserialize_any(self)
    }
}

fn not_a_list(f: Field) -> Apps {
    match f {
        Field::Null => Ok(Vec::new()),
        Field::Str(s) if s.trim().is_empty() => Ok(Vec::new()),
        _ => {
            Err("Eureka answer is unusable: \"application\" is neither an object nor a list".into())
        }
    }
}

impl<'de> Visitor<'de> for AppListSeed<'_> {
    type Value = Apps;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("applications")
    }
    fn visit_str<E>(self, s: &str) -> Result<Apps, E> {
        Ok(not_a_list(Field::Str(s.to_string())))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Apps, E> {
        Ok(not_a_list(Field::Compound))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Apps, E> {
        Ok(not_a_list(Field::Compound))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Apps, E> {
        Ok(not_a_list(Field::Compound))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Apps, E> {
        Ok(not_a_list(Field::Compound))
    }
    fn visit_unit<E>(self) -> Result<Apps, E> {
        Ok(Ok(Vec::new()))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Apps, A::Error> {
        let (name, instances) = read_app(self.0, map)?;
        Ok(app_sample(name, instances, 1)
            .map(|app| vec![app])
            .map_err(AppError::message))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Apps, A::Error> {
        let mut apps = Vec::new();
        let mut pos = 0;
        while let Some(item) = seq.next_element_seed(AppSeed(self.0))? {
            pos += 1;
            let app = match item {
                Item::Null => continue,
                Item::Other => Err(AppError::NotObject(pos)),
                Item::Object((name, instances)) => app_sample(name, instances, pos),
            };
            match app {
                Ok(app) => apps.push(app),
                Err(e) => return drain_seq(seq).map(|()| Err(e.message())),
            }
        }
        Ok(Ok(apps))
    }
}

/// An element of a list of objects.
enum Item<T> {
    Null,
    Object(T),
    Other,
}

type RawApp = (Option<String>, RawInstances);

/// One element of an `application` list.
struct AppSeed<'c>(&'c Ctx);

impl<'de> DeserializeSeed<'de> for AppSeed<'_> {
    type Value = Item<RawApp>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

fn item<T>(f: Field) -> Item<T> {
    match f {
        Field::Null => Item::Null,
        _ => Item::Other,
    }
}

impl<'de> Visitor<'de> for AppSeed<'_> {
    type Value = Item<RawApp>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an application")
    }
    scalars_as_field!('de, item);
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        read_app(self.0, map).map(Item::Object)
    }
}

/// An application object: its name and its instances.
fn read_app<'de, A: MapAccess<'de>>(ctx: &Ctx, mut map: A) -> Result<RawApp, A::Error> {
    let mut name = None;
    let mut instances = RawInstances::default();
    while let Some(KeyStr(key)) = map.next_key()? {
        match &*key {
            "name" => name = map.next_value::<Field>()?.text(),
            "instance" => instances = map.next_value_seed(InstancesSeed(ctx))?,
            _ => drop(map.next_value::<IgnoredAny>()?),
        }
    }
    Ok((name, instances))
}

/// An `instance` value: one object, a list, null or blank text.
struct InstancesSeed<'c>(&'c Ctx);

impl<'de> DeserializeSeed<'de> for InstancesSeed<'_> {
    type Value = RawInstances;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

fn instances_of_scalar(f: Field) -> RawInstances {
    let mut out = RawInstances::default();
    match f {
        Field::Null => {}
        Field::Str(s) if s.trim().is_empty() => {}
        _ => out.fail(InstanceError::Shape),
    }
    out
}

impl<'de> Visitor<'de> for InstancesSeed<'_> {
    type Value = RawInstances;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("instances")
    }
    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(instances_of_scalar(Field::Str(s.to_string())))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(instances_of_scalar(Field::Compound))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(instances_of_scalar(Field::Compound))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(instances_of_scalar(Field::Compound))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(instances_of_scalar(Field::Compound))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(RawInstances::default())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let mut out = RawInstances::default();
        out.push(read_instance(self.0, map)?, 1);
        Ok(out)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = RawInstances::default();
        let mut pos = 0;
        while let Some(item) = seq.next_element_seed(InstanceSeed(self.0))? {
            pos += 1;
            match item {
                Item::Null => {}
                Item::Other => out.fail(InstanceError::NotObject(pos)),
                Item::Object(raw) => out.push(raw, pos),
            }
        }
        Ok(out)
    }
}

/// One element of an `instance` list.
struct InstanceSeed<'c>(&'c Ctx);

impl<'de> DeserializeSeed<'de> for InstanceSeed<'_> {
    type Value = Item<RawInstance>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for InstanceSeed<'_> {
    type Value = Item<RawInstance>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an instance")
    }
    scalars_as_field!('de, item);
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        read_instance(self.0, map).map(Item::Object)
    }
}

/// An instance object, counted against the limit.
fn read_instance<'de, A: MapAccess<'de>>(ctx: &Ctx, mut map: A) -> Result<RawInstance, A::Error> {
    ctx.count()?;
    let mut raw = RawInstance::default();
    while let Some(KeyStr(key)) = map.next_key()? {
        let Some(key) = Key::of(&key) else {
            map.next_value::<IgnoredAny>()?;
            continue;
        };
        match key {
            Key::Port => raw.port = map.next_value_seed(PortSeed)?,
            Key::SecurePort => raw.secure_port = map.next_value_seed(PortSeed)?,
            Key::Metadata => raw.metadata = map.next_value_seed(MetadataSeed)?,
            Key::DataCenterInfo => {
                raw.amazon_id = map.next_value_seed(DataCenterSeed { outer: true })?;
            }
            Key::LeaseInfo => raw.lease_info = Some(map.next_value_seed(LeaseSeed)?),
            Key::LeaseInfoSnake => raw.lease_info_snake = Some(map.next_value_seed(LeaseSeed)?),
            scalar => raw.set(scalar, map.next_value::<Field>()?),
        }
    }
    Ok(raw)
}
