//! serde visitors for the values inside a Eureka instance in JSON: scalars of any
//! type ([`Field`]), ports, `leaseInfo`, `dataCenterInfo` and metadata, each read
//! straight from the document into its typed form. A value of an unexpected type is
//! consumed and counts as absent; only malformed JSON is an error.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::raw::{Field, LeaseNums, Port, flag_text};

/// Drains a list, for visitors that ignore lists.
pub(crate) fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Drains an object, for visitors that ignore objects.
pub(crate) fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// An object key, borrowed from the document when it has no escapes.
pub(crate) struct KeyStr<'de>(pub std::borrow::Cow<'de, str>);

impl<'de> de::Deserialize<'de> for KeyStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<KeyStr<'de>, E> {
                Ok(KeyStr(s.into()))
            }
            fn visit_str<E>(self, s: &str) -> Result<KeyStr<'de>, E> {
                Ok(KeyStr(s.to_string().into()))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> de::Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FieldVisitor)
    }
}

pub(crate) struct FieldVisitor;

/// A JSON number that fits `u64`.
pub(crate) fn unsigned_field(n: u64) -> Field {
    Field::Num(n.to_string(), Some(n))
}

/// A negative JSON number (serde_json reads non-negative ones as `u64`).
pub(crate) fn signed_field(n: i64) -> Field {
    Field::Num(n.to_string(), u64::try_from(n).ok())
}

/// serde_json's text of a number, as `Value::to_string` writes it.
pub(crate) fn float(f: f64) -> Field {
    let whole = f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < u64::MAX as f64;
    match serde_json::Number::from_f64(f) {
        Some(n) => Field::Num(n.to_string(), whole.then_some(f as u64)),
        None => Field::Null,
    }
}

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_str<E>(self, s: &str) -> Result<Field, E> {
        Ok(Field::Str(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Field, E> {
        Ok(Field::Str(s))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Field, E> {
        Ok(unsigned_field(n))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Field, E> {
        Ok(signed_field(n))
    }
    fn visit_f64<E>(self, f: f64) -> Result<Field, E> {
        Ok(float(f))
    }
    fn visit_bool<E>(self, b: bool) -> Result<Field, E> {
        Ok(Field::Bool(b))
    }
    fn visit_unit<E>(self) -> Result<Field, E> {
        Ok(Field::Null)
    }
    fn visit_none<E>(self) -> Result<Field, E> {
        Ok(Field::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Field, A::Error> {
        drain_seq(seq).map(|()| Field::Compound)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Field, A::Error> {
        drain_map(map).map(|()| Field::Compound)
    }
}

/// Implements the scalar callbacks of a visitor through [`FieldVisitor`], for
/// visitors that read objects and treat any other value as a [`Field`].
macro_rules! scalars_as_field {
    ($de:lifetime, $conv:expr) => {
        fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
            Ok($conv($crate::sources::eureka::raw::Field::Str(
                s.to_string(),
            )))
        }
        fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
            Ok($conv($crate::sources::eureka::json_fields::unsigned_field(
                n,
            )))
        }
        fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
            Ok($conv($crate::sources::eureka::json_fields::signed_field(n)))
        }
        fn visit_f64<E>(self, f: f64) -> Result<Self::Value, E> {
            Ok($conv($crate::sources::eureka::json_fields::float(f)))
        }
        fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
            Ok($conv($crate::sources::eureka::raw::Field::Bool(b)))
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($conv($crate::sources::eureka::raw::Field::Null))
        }
        fn visit_seq<A: serde::de::SeqAccess<$de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            $crate::sources::eureka::json_fields::drain_seq(seq)
                .map(|()| $conv($crate::sources::eureka::raw::Field::Compound))
        }
    };
}
pub(crate) use scalars_as_field;

/// A port: `{"$": 8080, "@enabled": "true"}` or a bare number or string.
pub(crate) struct PortSeed;

impl<'de> DeserializeSeed<'de> for PortSeed {
    type Value = Port;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Port, D::Error> {
        d.deserialize_any(self)
    }
}

fn bare_port(f: Field) -> Port {
    Port {
        value: f.unsigned(),
        enabled: None,
    }
}

impl<'de> Visitor<'de> for PortSeed {
    type Value = Port;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a port")
    }
    scalars_as_field!('de, bare_port);
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Port, A::Error> {
        let mut port = Port::default();
        while let Some(KeyStr(key)) = map.next_key()? {
            match &*key {
                "$" => port.value = map.next_value::<Field>()?.unsigned(),
                "@enabled" => {
                    port.enabled = match map.next_value::<Field>()? {
                        Field::Bool(b) => Some(b),
                        Field::Str(s) => flag_text(&s),
                        _ => None,
                    }
                }
                _ => drop(map.next_value::<IgnoredAny>()?),
            }
        }
        Ok(port)
    }
}

/// `leaseInfo`: its numbers when it is an object.
pub(crate) struct LeaseSeed;

impl<'de> DeserializeSeed<'de> for LeaseSeed {
    type Value = Option<LeaseNums>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LeaseSeed {
    type Value = Option<LeaseNums>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a lease")
    }
    scalars_as_field!('de, |_| None);
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut n = LeaseNums::default();
        while let Some(KeyStr(key)) = map.next_key()? {
            let slot = match &*key {
                "lastRenewalTimestamp" => &mut n.last_renewal,
                "renewalTimestamp" => &mut n.renewal,
                "durationInSecs" => &mut n.duration,
                "renewalIntervalInSecs" => &mut n.interval,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = map.next_value::<Field>()?.unsigned();
        }
        Ok(Some(n))
    }
}

/// `dataCenterInfo` (`outer`) or its `metadata`: the AmazonInfo `instance-id`.
#[derive(Clone, Copy)]
pub(crate) struct DataCenterSeed {
    pub outer: bool,
}

impl<'de> DeserializeSeed<'de> for DataCenterSeed {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DataCenterSeed {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    scalars_as_field!('de, |_| None);
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut id = None;
        while let Some(KeyStr(key)) = map.next_key()? {
            match (&*key, self.outer) {
                ("metadata", true) => id = map.next_value_seed(DataCenterSeed { outer: false })?,
                ("instance-id", false) => id = map.next_value::<Field>()?.text(),
                _ => drop(map.next_value::<IgnoredAny>()?),
            }
        }
        Ok(id)
    }
}

/// Instance metadata as text: the codec's `@class` marker and null values dropped,
/// other scalars as their text, nested values as compact JSON.
pub(crate) struct MetadataSeed;

impl<'de> DeserializeSeed<'de> for MetadataSeed {
    type Value = BTreeMap<String, String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MetadataSeed {
    type Value = BTreeMap<String, String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    scalars_as_field!('de, |_| BTreeMap::new());
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(KeyStr(key)) = map.next_key()? {
            if key == "@class" {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            match map.next_value_seed(MetaValue)? {
                Some(text) => out.insert(key.into_owned(), text),
                None => out.remove(&*key),
            };
        }
        Ok(out)
    }
}

/// One metadata value as text; `None` for null.
struct MetaValue;

impl<'de> DeserializeSeed<'de> for MetaValue {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MetaValue {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value")
    }
    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Some(s.to_string()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
        Ok(Some(n.to_string()))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
        Ok(Some(n.to_string()))
    }
    fn visit_f64<E>(self, f: f64) -> Result<Self::Value, E> {
        Ok(float(f).text())
    }
    fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
        Ok(Some(b.to_string()))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let v: Value = de::Deserialize::deserialize(SeqAccessDeserializer::new(seq))?;
        Ok(Some(v.to_string()))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let v: Value = de::Deserialize::deserialize(MapAccessDeserializer::new(map))?;
        Ok(Some(v.to_string()))
    }
}
