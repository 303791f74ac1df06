//! The tree-based JSON parser (a `serde_json::Value` walked): the reference for
//! the streaming one. Parser for the native Eureka REST API in JSON (`GET {base}/apps`, `apps/delta`,
//! `apps/{APP}`), tolerant of every codec variation real servers and clients write
//! (single object or list, strings or numbers, both `overriddenStatus` spellings,
//! EmptyMap metadata, nulls), plus the registry's reconciliation hashcode.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::model::{AppSample, InstanceSample};
use crate::sources::eureka::Document;
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
    let root = read_root(body)?;
    let hashcode = hashcode_of(&root);
    Ok(Document {
        apps: apps_of(&root)?,
        hashcode,
    })
}

/// The applications of a document already read as a JSON object (the XML parser
/// hands its documents over in this form).
pub(crate) fn apps_of(root: &Map<String, Value>) -> Result<Vec<AppSample>, String> {
    let Some(container) = applications_container(root)? else {
        return Ok(Vec::new());
    };
    let list = container.get("application");
    if !is_one_or_many(list) {
        return Err(
            "Eureka answer is unusable: \"application\" is neither an object nor a list".into(),
        );
    }
    let mut apps = Vec::new();
    for (pos, app) in one_or_many(list).enumerate() {
        match app {
            Value::Null => {}
            Value::Object(app) => apps.push(app_sample(app, pos + 1)?),
            _ => {
                return Err(format!(
                    "Eureka answer is unusable: application #{} is not a JSON object",
                    pos + 1
                ));
            }
        }
    }
    Ok(apps)
}

/// The `apps__hashcode` a Eureka document announces, if it has one.
pub fn apps_hashcode(body: &[u8]) -> Option<String> {
    let root: Value = serde_json::from_slice(trim_bom(body)).ok()?;
    hashcode_of(root.as_object()?)
}

fn hashcode_of(root: &Map<String, Value>) -> Option<String> {
    let container = match root.get("applications") {
        Some(Value::Object(inner)) => inner,
        _ => root,
    };
    match container.get("apps__hashcode")? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => scalar_text(other),
    }
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
        let upper = inst.status.trim().to_ascii_uppercase();
        let status = KNOWN_STATUSES
            .into_iter()
            .find(|s| *s == upper)
            .unwrap_or("UNKNOWN");
        *counts.entry(status).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(status, n)| format!("{status}_{n}_"))
        .collect()
}

/// The document as a JSON object, or why it is not one.
fn read_root(body: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice(trim_bom(body)) {
        Ok(Value::Object(root)) => Ok(root),
        Ok(_) => Err(format!(
            "Eureka answer is not a JSON object{}",
            body_snippet(body)
        )),
        Err(e) => Err(format!(
            "Eureka answer is not valid JSON: {e}{}",
            body_snippet(body)
        )),
    }
}

/// The object holding `application`: the `applications` value, or the root itself
/// for bare content. `None` for an explicitly empty (`null`) registry.
fn applications_container(
    root: &Map<String, Value>,
) -> Result<Option<&Map<String, Value>>, String> {
    match root.get("applications") {
        Some(Value::Object(inner)) => Ok(Some(inner)),
        Some(Value::Null) => Ok(None),
        Some(_) => Err("Eureka answer is unusable: \"applications\" is not a JSON object".into()),
        None if root.contains_key("application") => Ok(Some(root)),
        None => Err(format!(
            "Eureka answer has neither \"applications\" nor \"application\" at its root{}",
            key_list(root)
        )),
    }
}

/// `" (it has: a, b, c)"` naming up to five keys of an unexpected root object.
fn key_list(root: &Map<String, Value>) -> String {
    if root.is_empty() {
        return " (it is an empty object)".to_string();
    }
    let keys: Vec<String> = root
        .keys()
        .take(5)
        .map(|k| k.chars().take(40).collect())
        .collect();
    let more = if root.len() > 5 { ", ..." } else { "" };
    format!(" (it has: {}{more})", keys.join(", "))
}

/// A value that codecs write either as one object or as a list of them.
fn one_or_many(v: Option<&Value>) -> std::slice::Iter<'_, Value> {
    match v {
        Some(Value::Array(items)) => items.iter(),
        Some(single @ Value::Object(_)) => std::slice::from_ref(single).iter(),
        _ => <&[Value]>::default().iter(),
    }
}

/// Whether a value can hold objects for [`one_or_many`]: absent, null, blank text
/// (what some converters write for an empty element), one object or a list.
fn is_one_or_many(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null | Value::Array(_) | Value::Object(_)) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(_) => false,
    }
}

/// One application with its instances, or the application's own error.
fn app_sample(app: &Map<String, Value>, pos: usize) -> Result<AppSample, String> {
    let name = text(app, "name")
        .or_else(|| first_instance_app(app))
        .ok_or_else(|| format!("Eureka answer is unusable: application #{pos} has no name"))?;
    let instances = instances_of(app, &name);
    Ok(AppSample { name, instances })
}

/// The `app` of an application's first instance, for an application without a name.
fn first_instance_app(app: &Map<String, Value>) -> Option<String> {
    one_or_many(app.get("instance"))
        .filter_map(Value::as_object)
        .find_map(|inst| text(inst, "app"))
}

/// Every instance of one application, or why the application cannot be used.
fn instances_of(app: &Map<String, Value>, name: &str) -> Result<Vec<InstanceSample>, String> {
    if !is_one_or_many(app.get("instance")) {
        return Err(format!(
            "application {name}: \"instance\" is neither an object nor a list"
        ));
    }
    let mut out = Vec::new();
    for (i, inst) in one_or_many(app.get("instance")).enumerate() {
        match inst {
            Value::Null => {}
            Value::Object(inst) => out.push(instance_sample(inst, name, i + 1)?),
            _ => {
                return Err(format!(
                    "application {name}: instance #{} is not an object",
                    i + 1
                ));
            }
        }
    }
    Ok(out)
}

/// One instance, or the error that fails its application.
fn instance_sample(
    inst: &Map<String, Value>,
    app: &str,
    pos: usize,
) -> Result<InstanceSample, String> {
    let instance_id = instance_id(inst).ok_or_else(|| {
        format!(
            "application {app}: instance #{pos} has no instanceId, no dataCenterInfo \
             instance-id and no hostName, so it cannot be identified"
        )
    })?;
    let ip_addr = text(inst, "ipAddr");
    Ok(InstanceSample {
        instance_id,
        app: text(inst, "app").unwrap_or_else(|| app.to_string()),
        host_name: text(inst, "hostName"),
        endpoint: super::lease::endpoint(ip_addr.as_deref(), inst),
        lease: super::lease::lease(inst),
        last_updated_at: super::lease::last_updated(inst),
        ip_addr,
        port: inst.get("port").and_then(port),
        status: status(inst),
        health_check_url: text(inst, "healthCheckUrl"),
        home_page_url: text(inst, "homePageUrl"),
        status_page_url: text(inst, "statusPageUrl"),
        metadata: inst.get("metadata").map(metadata).unwrap_or_default(),
        overridden_status: text(inst, "overriddenStatus")
            .or_else(|| text(inst, "overriddenstatus")),
        action_type: text(inst, "actionType"),
    })
}

/// Eureka's instance identity: `instanceId`, else the AmazonInfo `instance-id`,
/// else `hostName`.
fn instance_id(inst: &Map<String, Value>) -> Option<String> {
    let amazon_id = || {
        let dc = inst.get("dataCenterInfo")?.get("metadata")?.as_object()?;
        text(dc, "instance-id")
    };
    text(inst, "instanceId")
        .or_else(amazon_id)
        .or_else(|| text(inst, "hostName"))
}

/// The status as Eureka wrote it, `UNKNOWN` when it is missing or blank.
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
