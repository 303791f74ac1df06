//! `[[link]]` (which Eureka application feeds which HAProxy backends) and
//! `[defaults] drift_for` (how long HAProxy and Eureka may disagree before it is
//! reported as drift). See `docs/drift.md`.

use std::time::Duration;

use super::reader::{Entry, ListItem, Node, Reader};
use super::types::{Backends, EurekaConfig, HaproxyConfig, LinkConfig};

/// `drift_for` when `[defaults]` does not set it.
pub const DEFAULT_DRIFT_FOR: Duration = Duration::from_secs(60);

/// `[defaults] drift_for`; the default when absent, `None` when invalid (recorded).
pub(super) fn drift_for(r: &mut Reader<'_>, root: &Node<'_>) -> Option<Duration> {
    let Some(defaults) = r
        .entry(root, "defaults")
        .and_then(|e| e.item.as_table_like())
    else {
        return Some(DEFAULT_DRIFT_FOR);
    };
    let node = Node {
        table: defaults,
        path: "defaults".to_string(),
        line: 0,
    };
    match r.entry(&node, "drift_for") {
        Some(entry) => r.duration(&entry),
        None => Some(DEFAULT_DRIFT_FOR),
    }
}

/// Every `[[link]]`, checked against the configured sources; empty when absent.
pub(super) fn links(
    r: &mut Reader<'_>,
    root: &Node<'_>,
    haproxy: Option<&[HaproxyConfig]>,
    eureka: Option<&[EurekaConfig]>,
) -> Option<Vec<LinkConfig>> {
    let Some(entry) = r.entry(root, "link") else {
        return Some(Vec::new());
    };
    let nodes = r.tables(&entry)?;
    let read: Vec<Option<LinkConfig>> = nodes
        .iter()
        .map(|node| link(r, node, haproxy, eureka))
        .collect();
    read.into_iter().collect()
}

fn link(
    r: &mut Reader<'_>,
    node: &Node<'_>,
    haproxy: Option<&[HaproxyConfig]>,
    eureka: Option<&[EurekaConfig]>,
) -> Option<LinkConfig> {
    r.check_keys(node, &["eureka", "haproxy"]);
    let app = match r.entry(node, "eureka") {
        Some(e) => eureka_app(r, &e, eureka),
        None => {
            r.missing(
                node,
                "eureka",
                "write \"<eureka name>/<APP>\", e.g. \"main/JURWS\"",
            );
            None
        }
    };
    let backends = match r.entry(node, "haproxy") {
        Some(e) => backends(r, &e, haproxy),
        None => {
            let hint = "write a list of \"<haproxy name>/<backend>\", e.g. [\"edge01/jurws\"]";
            r.missing(node, "haproxy", hint);
            None
        }
    };
    let (eureka_server, app) = app?;
    Some(LinkConfig {
        eureka_server,
        app,
        haproxy: backends?,
    })
}

/// `"<eureka name>/<APP>"`, the name being a configured `[[eureka]]`.
fn eureka_app(
    r: &mut Reader<'_>,
    entry: &Entry<'_>,
    eureka: Option<&[EurekaConfig]>,
) -> Option<(String, String)> {
    let text = r.non_empty_string(entry)?;
    let split = text
        .split_once('/')
        .filter(|(s, a)| !s.is_empty() && !a.is_empty());
    let Some((server, app)) = split else {
        let message = format!("{} is not \"<eureka name>/<APP>\"", entry.shown());
        r.error(entry.line, entry.path.clone(), message);
        return None;
    };
    if eureka.is_some_and(|list| !list.iter().any(|e| e.name == server)) {
        let message = format!(
            "{} names no [[eureka]] entry called \"{server}\"",
            entry.shown()
        );
        r.error(entry.line, entry.path.clone(), message);
        return None;
    }
    Some((server.to_string(), app.to_string()))
}

/// The list of `"<haproxy name>/<backend>"`, each a polled backend.
fn backends(
    r: &mut Reader<'_>,
    entry: &Entry<'_>,
    haproxy: Option<&[HaproxyConfig]>,
) -> Option<Vec<(String, String)>> {
    let items = r.string_list(entry)?.all()?;
    if items.is_empty() {
        r.error(entry.line, entry.path.clone(), "name at least one backend");
        return None;
    }
    let checked: Vec<Option<(String, String)>> =
        items.into_iter().map(|i| backend(r, i, haproxy)).collect();
    checked.into_iter().collect()
}

fn backend(
    r: &mut Reader<'_>,
    item: ListItem,
    haproxy: Option<&[HaproxyConfig]>,
) -> Option<(String, String)> {
    let split = item
        .value
        .split_once('/')
        .filter(|(h, b)| !h.is_empty() && !b.is_empty());
    let Some((name, backend)) = split else {
        let message = format!("{} is not \"<haproxy name>/<backend>\"", item.shown);
        r.error(item.line, item.path, message);
        return None;
    };
    let Some(list) = haproxy else {
        return Some((name.to_string(), backend.to_string()));
    };
    let problem = match list.iter().find(|h| h.name == name) {
        None => Some(format!("names no [[haproxy]] entry called \"{name}\"")),
        Some(h) => match &h.backends {
            Backends::Named(named) if !named.iter().any(|b| b == backend) => Some(format!(
                "names backend \"{backend}\", which haproxy \"{name}\" does not poll"
            )),
            _ => None,
        },
    };
    if let Some(problem) = problem {
        r.error(item.line, item.path, format!("{} {problem}", item.shown));
        return None;
    }
    Some((name.to_string(), backend.to_string()))
}
