//! Parser for the native Eureka REST API in JSON (`GET {base}/apps`, `apps/delta`,
//! `apps/{APP}`), tolerant of every codec variation real servers and clients write
//! (single object or list, strings or numbers, both `overriddenStatus` spellings,
//! EmptyMap metadata, nulls), plus the registry's reconciliation hashcode.
//!
//! The document is read in one pass straight into the model (serde visitors in
//! `json_apps` and `json_fields`, the rules in `raw`); no JSON tree is built.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::json_apps::{AppListSeed, Apps, Ctx};
use super::json_fields::{KeyStr, scalars_as_field};
use super::raw::Field;
use super::{Document, ParseError};
use crate::model::AppSample;
use crate::sources::fagent::{body_snippet, scalar_text, trim_bom, unsigned};

/// The statuses Eureka knows; any other text counts as `UNKNOWN` in the hashcode.
const KNOWN_STATUSES: [&str; 5] = ["UP", "DOWN", "STARTING", "OUT_OF_SERVICE", "UNKNOWN"];

/// Parses a Eureka `applications` document, or the bare content of one (a root
/// object with an `application` key, as `GET apps/{APP}` answers).
///
/// The whole document fails only when it cannot be read at all. An application
/// whose instances cannot be used (an instance with no identity) carries its own
/// error in [`AppSample::instances`]; the other applications are unaffected.
pub fn parse_apps(body: &[u8]) -> Result<Vec<AppSample>, String> {
    parse_document(body).map(|doc| doc.apps)
}

/// Parses a document once into its applications and the hashcode it announces.
pub fn parse_document(body: &[u8]) -> Result<Document, String> {
    parse_document_within(body, usize::MAX).map_err(ParseError::into_message)
}

/// [`parse_document`] refusing a document of more than `max_instances` instance
/// objects: reading stops at the first one past the limit.
pub fn parse_document_within(body: &[u8], max_instances: usize) -> Result<Document, ParseError> {
    let ctx = Ctx::new(max_instances);
    let root = read(
        body,
        RootSeed {
            ctx: &ctx,
            hash_only: false,
        },
    );
    if ctx.over.get() {
        return Err(ParseError::TooLarge);
    }
    let root = root.map_err(ParseError::Unreadable)?;
    let hashcode = root.hashcode();
    Ok(Document {
        apps: root.apps().map_err(ParseError::Unreadable)?,
        hashcode,
    })
}

/// The `apps__hashcode` a Eureka document announces, if it has one.
pub fn apps_hashcode(body: &[u8]) -> Option<String> {
    let ctx = Ctx::new(usize::MAX);
    read(
        body,
        RootSeed {
            ctx: &ctx,
            hash_only: true,
        },
    )
    .ok()?
    .hashcode()
}

/// The reconciliation hashcode of a registry (`Applications.getReconcileHashCode`):
/// instances counted by status, statuses in alphabetical order, each written
/// `STATUS_count_`. Applications whose instances could not be read count for nothing.
pub fn reconcile_hashcode(apps: &[AppSample]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let instances = apps
        .iter()
        .filter_map(|a| a.instances.as_ref().ok())
        .flatten();
    for inst in instances {
        let status = inst.status.trim();
        let status = KNOWN_STATUSES
            .into_iter()
            .find(|s| s.eq_ignore_ascii_case(status))
            .unwrap_or("UNKNOWN");
        *counts.entry(status).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(status, n)| format!("{status}_{n}_"))
        .collect()
}

/// Reads the whole body with `seed`: the root, or why the body is not JSON or
/// not an object.
fn read(body: &[u8], seed: RootSeed<'_>) -> Result<Root, String> {
    let text = trim_bom(body);
    let mut de = serde_json::Deserializer::from_slice(text);
    let root = seed
        .deserialize(&mut de)
        .and_then(|root| de.end().map(|()| root));
    match root {
        Ok(Some(root)) => Ok(root),
        Ok(None) => Err(format!(
            "Eureka answer is not a JSON object{}",
            body_snippet(body)
        )),
        Err(e) => {
            let what = if cut_in_a_number(&e, text) {
                format!(
                    "EOF while parsing a value at line {} column {}",
                    e.line(),
                    e.column()
                )
            } else {
                e.to_string()
            };
            Err(format!(
                "Eureka answer is not valid JSON: {what}{}",
                body_snippet(body)
            ))
        }
    }
}

/// Whether `e` is serde_json's "invalid number" at the very end of `text`: a
/// number cut by the end of the body. serde_json words it so when it skips the
/// value (a key this parser does not read) and "EOF while parsing a value" when it
/// reads it; a cut answer is named as such either way.
fn cut_in_a_number(e: &serde_json::Error, text: &[u8]) -> bool {
    if e.classify() != serde_json::error::Category::Syntax
        || !e.to_string().starts_with("invalid number")
    {
        return false;
    }
    let line = 1 + memchr::memchr_iter(b'\n', text).count();
    let column = text.len() - text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    (e.line(), e.column()) == (line, column)
}

/// The value of `applications`.
enum Wrapper {
    Object(Container),
    Null,
    Other,
}

/// An object holding `application` (the `applications` value, or the root of bare
/// content) and `apps__hashcode`.
#[derive(Default)]
struct Container {
    /// `None` when the key is absent.
    application: Option<Apps>,
    hashcode: Option<String>,
}

/// The root object as read: its container fields, `applications`, and its first
/// keys in order (for the error that names them).
#[derive(Default)]
struct Root {
    own: Container,
    applications: Option<Wrapper>,
    keys: BTreeSet<String>,
}

/// How many root keys the error for an unexpected root names.
const NAMED_KEYS: usize = 5;

impl Root {
    fn hashcode(&self) -> Option<String> {
        match &self.applications {
            Some(Wrapper::Object(c)) => c.hashcode.clone(),
            _ => self.own.hashcode.clone(),
        }
    }

    /// The applications: of `applications`, or of the root for bare content.
    fn apps(self) -> Apps {
        match self.applications {
            Some(Wrapper::Object(c)) => c.application.unwrap_or(Ok(Vec::new())),
            Some(Wrapper::Null) => Ok(Vec::new()),
            Some(Wrapper::Other) => {
                Err("Eureka answer is unusable: \"applications\" is not a JSON object".into())
            }
            None => match self.own.application {
                Some(apps) => apps,
                None => Err(format!(
                    "Eureka answer has neither \"applications\" nor \"application\" at its root{}",
                    key_list(&self.keys)
                )),
            },
        }
    }
}

/// `" (it has: a, b, c)"` naming up to five keys of an unexpected root object (the
/// first in sorted order; `keys` holds at most one more).
fn key_list(keys: &BTreeSet<String>) -> String {
    if keys.is_empty() {
        return " (it is an empty object)".to_string();
    }
    let named: Vec<&str> = keys.iter().take(NAMED_KEYS).map(String::as_str).collect();
    let more = if keys.len() > NAMED_KEYS { ", ..." } else { "" };
    format!(" (it has: {}{more})", named.join(", "))
}

/// The root of a document: `Some` when it is an object. With `hash_only`, the
/// applications are skipped.
#[derive(Clone, Copy)]
struct RootSeed<'c> {
    ctx: &'c Ctx,
    hash_only: bool,
}

impl<'de> DeserializeSeed<'de> for RootSeed<'_> {
    type Value = Option<Root>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RootSeed<'_> {
    type Value = Option<Root>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    scalars_as_field!('de, |_| None);
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut root = Root::default();
        while let Some(KeyStr(key)) = map.next_key()? {
            remember(&mut root.keys, &key);
            match &*key {
                "applications" => root.applications = Some(map.next_value_seed(WrapperSeed(self))?),
                _ => container_field(self, &mut root.own, &key, &mut map)?,
            }
        }
        Ok(Some(root))
    }
}

/// Keeps the first keys in sorted order, one more than are named.
fn remember(keys: &mut BTreeSet<String>, key: &str) {
    let cut: String = key.chars().take(40).collect();
    keys.insert(cut);
    if keys.len() > NAMED_KEYS + 1 {
        keys.pop_last();
    }
}

/// Reads one field of a container: `application` and `apps__hashcode` are kept.
fn container_field<'de, A: MapAccess<'de>>(
    seed: RootSeed<'_>,
    c: &mut Container,
    key: &str,
    map: &mut A,
) -> Result<(), A::Error> {
    match key {
        "application" if !seed.hash_only => {
            c.application = Some(map.next_value_seed(AppListSeed(seed.ctx))?);
        }
        "apps__hashcode" => c.hashcode = map.next_value::<Field>()?.hashcode(),
        _ => drop(map.next_value::<IgnoredAny>()?),
    }
    Ok(())
}

/// The value of `applications`, read with the root's context.
#[derive(Clone, Copy)]
struct WrapperSeed<'c>(RootSeed<'c>);

impl<'de> DeserializeSeed<'de> for WrapperSeed<'_> {
    type Value = Wrapper;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Wrapper, D::Error> {
        d.deserialize_any(self)
    }
}

fn wrapper_of(f: Field) -> Wrapper {
    match f {
        Field::Null => Wrapper::Null,
        _ => Wrapper::Other,
    }
}

impl<'de> Visitor<'de> for WrapperSeed<'_> {
    type Value = Wrapper;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    scalars_as_field!('de, wrapper_of);
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Wrapper, A::Error> {
        let mut c = Container::default();
        while let Some(KeyStr(key)) = map.next_key()? {
            container_field(self.0, &mut c, &key, &mut map)?;
        }
        Ok(Wrapper::Object(c))
    }
}

/// The status as Eureka wrote it, `UNKNOWN` when it is missing or blank (for
/// documents already read as JSON objects, such as FAgent's).
pub(crate) fn status(inst: &Map<String, Value>) -> String {
    inst.get("status")
        .and_then(scalar_text)
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "UNKNOWN".to_string())
}

/// A non-blank scalar field as text, trimmed.
pub(crate) fn text(obj: &Map<String, Value>, key: &str) -> Option<String> {
    let t = scalar_text(obj.get(key)?)?;
    let t = t.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// A port written `{"$": 8080, "@enabled": "true"}` (number or string), or bare.
pub(crate) fn port(v: &Value) -> Option<u16> {
    let raw = match v {
        Value::Object(o) => o.get("$")?,
        other => other,
    };
    unsigned(raw).and_then(|p| u16::try_from(p).ok())
}

/// Instance metadata as text: the codec's `@class` marker and null values dropped,
/// other scalars as their text, nested values as compact JSON.
pub(crate) fn metadata(v: &Value) -> BTreeMap<String, String> {
    let Value::Object(map) = v else {
        return BTreeMap::new();
    };
    map.iter()
        .filter(|(k, _)| k.as_str() != "@class")
        .filter_map(|(k, v)| {
            let text = match v {
                Value::Null => return None,
                Value::String(s) => s.clone(),
                Value::Array(_) | Value::Object(_) => v.to_string(),
                scalar => scalar_text(scalar)?,
            };
            Some((k.clone(), text))
        })
        .collect()
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "json_edge_tests.rs"]
mod edge_tests;
