//! Parser for the FAgent Eureka API (`GET /api/v1/eureka/apps`): a flat list of
//! instances in the FAgent envelope, grouped here into applications by `app_name`.
//! Bytes in, [`AppSample`]s or [`AgentError`] out.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::model::{AppSample, InstanceSample};
use crate::sources::count::exceeds;
use crate::sources::eureka::json::{metadata, port, status, text};
use crate::sources::fagent::envelope_data;
use crate::sources::{AgentError, too_many};

/// Parses `GET /api/v1/eureka/apps`. Applications keep the order in which the agent
/// first lists them. Entries without an application name are skipped; an instance
/// without an id fails its own application only.
pub fn parse_apps(body: &[u8]) -> Result<Vec<AppSample>, AgentError> {
    parse_apps_within(body, usize::MAX)
}

/// [`parse_apps`] refusing an answer with more than `max_instances` entries before
/// any instance is built.
pub fn parse_apps_within(body: &[u8], max_instances: usize) -> Result<Vec<AppSample>, AgentError> {
    let too_large = || too_many("instances", max_instances, "max_instances");
    if exceeds(body, &["data", "applications"], max_instances) {
        return Err(too_large());
    }
    let mut data = envelope_data(body)?;
    let entries = match data.remove("applications") {
        Some(Value::Array(entries)) => entries,
        Some(Value::Null) => Vec::new(),
        _ => {
            return Err(AgentError::Malformed(
                "agent answer has no usable \"data.applications\" (expected a list of instances)"
                    .to_string(),
            ));
        }
    };
    if entries.len() > max_instances {
        return Err(too_large());
    }
    let mut apps: Vec<AppSample> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for entry in entries.iter().filter_map(Value::as_object) {
        let Some(name) = app_name(entry) else {
            continue;
        };
        let slot = *index.entry(name.clone()).or_insert_with(|| {
            apps.push(AppSample {
                name: name.clone(),
                instances: Ok(Vec::new()),
            });
            apps.len() - 1
        });
        add_instance(&mut apps[slot], entry);
    }
    Ok(apps)
}

/// The application an entry belongs to.
fn app_name(entry: &Map<String, Value>) -> Option<String> {
    text(entry, "app_name")
        .or_else(|| text(entry, "app"))
        .or_else(|| text(entry, "appName"))
}

/// Adds one entry to its application, or turns the application into an error when
/// the entry has no id. An application that already failed stays failed.
fn add_instance(app: &mut AppSample, entry: &Map<String, Value>) {
    let Ok(list) = &mut app.instances else {
        return;
    };
    let pos = list.len() + 1;
    match instance_sample(entry, &app.name) {
        Some(inst) => list.push(inst),
        None => {
            app.instances = Err(format!(
                "application {}: instance #{pos} reported by the agent has no instance_id, \
                 so it cannot be identified",
                app.name
            ));
        }
    }
}

/// One instance, or `None` when it has no id.
fn instance_sample(entry: &Map<String, Value>, app: &str) -> Option<InstanceSample> {
    let first = |keys: &[&str]| keys.iter().find_map(|k| text(entry, k));
    let ip_addr = first(&["ip", "ip_addr", "ipAddr"]);
    Some(InstanceSample {
        instance_id: first(&["instance_id", "instanceId"])?,
        endpoint: super::lease::endpoint(ip_addr.as_deref(), entry),
        lease: super::lease::lease(entry),
        app: app.to_string(),
        host_name: first(&["host_name", "hostName"]),
        ip_addr,
        port: entry.get("port").and_then(port),
        status: status(entry),
        health_check_url: first(&["health_check_url", "healthCheckUrl"]),
        home_page_url: first(&["home_page_url", "homePageUrl"]),
        status_page_url: first(&["status_page_url", "statusPageUrl"]),
        metadata: entry.get("metadata").map(metadata).unwrap_or_default(),
        ..InstanceSample::default()
    })
}

#[cfg(test)]
#[path = "agent_tests.rs"]
mod tests;
