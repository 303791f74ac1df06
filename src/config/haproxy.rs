//! One `[[haproxy]]` entry: source kind, endpoint, backends and policy.

use std::collections::HashMap;

use super::common::{self, Names};
use super::policy::{Layer, POLICY_KEYS};
use super::reader::{Entry, ListItem, Node, Reader};
use super::types::{Backends, HaproxyConfig, HaproxySourceKind};

const KEYS: [&str; 11] = [
    "name",
    "source",
    "url",
    "agent_instance",
    "username",
    "password",
    "socket",
    "backends",
    "recover",
    "events_ring",
    "validate",
];

/// Where an instance is reached; which fields are set depends on the source.
struct Endpoint {
    url: Option<String>,
    agent_instance: Option<String>,
    socket: Option<String>,
}

/// Reads one `[[haproxy]]` table; `None` when it has errors (all recorded).
pub(super) fn read(
    r: &mut Reader<'_>,
    node: &Node<'_>,
    defaults: &Layer,
    names: &mut Names,
) -> Option<HaproxyConfig> {
    let allowed: Vec<&str> = KEYS.iter().chain(POLICY_KEYS.iter()).copied().collect();
    r.check_keys(node, &allowed);
    let name = common::name(r, node, names);
    let source = source(r, node);
    let endpoint = endpoint(r, node, source);
    let stats = source.is_none_or(|s| s == HaproxySourceKind::Stats);
    let credentials = common::credentials(r, node, (stats, "source = \"stats\""));
    let backends = backends(r, node);
    let policy = common::policy(r, node, defaults);
    let recover = common::recover(r, node);
    let validate = common::command_action(r, node, "validate");
    let events_ring = common::optional(r, node, "events_ring", (true, ""), ring_name);
    let (username, password) = credentials?;
    let endpoint = endpoint?;
    Some(HaproxyConfig {
        name: name?,
        source: source?,
        url: endpoint.url,
        agent_instance: endpoint.agent_instance,
        username,
        password,
        socket: endpoint.socket,
        backends: backends?,
        policy,
        recover: recover?,
        events_ring: events_ring?,
        validate: validate?,
    })
}

fn source(r: &mut Reader<'_>, node: &Node<'_>) -> Option<HaproxySourceKind> {
    let Some(entry) = r.entry(node, "source") else {
        r.missing(
            node,
            "source",
            "set source = \"agent\", \"stats\" or \"socket\"",
        );
        return None;
    };
    let text = r.string(&entry)?;
    let kind = HaproxySourceKind::ALL
        .into_iter()
        .find(|k| k.as_str() == text);
    if kind.is_none() {
        let message = format!(
            "unknown source {}; allowed: agent, stats, socket",
            entry.shown()
        );
        r.error(entry.line, entry.path, message);
    }
    kind
}

/// Reads `url`, `agent_instance` and `socket` as the source requires. With an
/// unknown source only the values themselves are checked.
fn endpoint(
    r: &mut Reader<'_>,
    node: &Node<'_>,
    source: Option<HaproxySourceKind>,
) -> Option<Endpoint> {
    use HaproxySourceKind::{Agent, Socket, Stats};
    let is = |kinds: &[HaproxySourceKind]| source.is_none_or(|s| kinds.contains(&s));
    let url_gate = (is(&[Agent, Stats]), "source = \"agent\" or \"stats\"");
    let url = common::optional(r, node, "url", url_gate, common::url);
    let instance_gate = (is(&[Agent]), "source = \"agent\"");
    let agent_instance = common::optional(r, node, "agent_instance", instance_gate, agent_instance);
    let socket = common::optional(
        r,
        node,
        "socket",
        (is(&[Socket]), "source = \"socket\""),
        socket,
    );
    let required = match source {
        Some(Agent | Stats) => Some((
            "url",
            "agent and stats sources need a base URL or stats page URL",
        )),
        Some(Socket) => Some(("socket", "write a unix socket path or \"tcp://host:port\"")),
        None => None,
    };
    let missing = required.filter(|(key, _)| !has(node, key));
    if let Some((key, hint)) = missing {
        r.missing(node, key, hint);
    }
    let url = url?.map(|u| trim_agent_url(u, source));
    let endpoint = Endpoint {
        url,
        agent_instance: agent_instance?,
        socket: socket?,
    };
    missing.is_none().then_some(endpoint)
}

fn has(node: &Node<'_>, key: &str) -> bool {
    node.table.contains_key(key)
}

/// Agent paths are appended to the base URL, so a trailing `/` is dropped;
/// a stats URL is used as written.
fn trim_agent_url(url: String, source: Option<HaproxySourceKind>) -> String {
    match source {
        Some(HaproxySourceKind::Agent) => url.trim_end_matches('/').to_string(),
        _ => url,
    }
}

fn agent_instance(r: &mut Reader<'_>, entry: &Entry<'_>) -> Option<String> {
    let value = r.non_empty_string(entry)?;
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        return Some(value);
    }
    let message = format!(
        "{} cannot be used as a URL path segment; use only letters, digits, `_`, `.` and `-`",
        entry.shown()
    );
    r.error(entry.line, entry.path.clone(), message);
    None
}

/// A unix socket path or `tcp://host:port`.
fn socket(r: &mut Reader<'_>, entry: &Entry<'_>) -> Option<String> {
    let value = r.non_empty_string(entry)?;
    let problem = match value.split_once("://") {
        None => return Some(value),
        Some(("tcp", address)) => match address.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0) => {
                return Some(value);
            }
            _ => format!(
                "{} is not a valid TCP address; write \"tcp://host:port\"",
                entry.shown()
            ),
        },
        Some((scheme, _)) => format!(
            "socket scheme `{scheme}` is not supported; write a unix socket path or \"tcp://host:port\""
        ),
    };
    r.error(entry.line, entry.path.clone(), problem);
    None
}

/// The name of an HAProxy `ring` section.
fn ring_name(r: &mut Reader<'_>, entry: &Entry<'_>) -> Option<String> {
    let value = r.non_empty_string(entry)?;
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        return Some(value);
    }
    let message = format!(
        "{} is not an HAProxy ring name; names use letters, digits, `_`, `.` and `-`",
        entry.shown()
    );
    r.error(entry.line, entry.path.clone(), message);
    None
}

/// `backends = ["a", "b"]` or `backends = "*"`.
fn backends(r: &mut Reader<'_>, node: &Node<'_>) -> Option<Backends> {
    let Some(entry) = r.entry(node, "backends") else {
        r.missing(
            node,
            "backends",
            "list backend names, e.g. [\"jurws\"], or write \"*\" for all",
        );
        return None;
    };
    if entry.item.is_str() {
        let text = r.string(&entry)?;
        if text == "*" {
            return Some(Backends::All);
        }
        let message = format!(
            "{} is not allowed; write \"*\" for all backends or an array of names such as [\"web\"]",
            entry.shown()
        );
        r.error(entry.line, entry.path, message);
        return None;
    }
    if !entry.item.is_array() {
        r.wrong_type(&entry, "an array of backend names or \"*\"");
        return None;
    }
    let list = r.string_list(&entry)?;
    if list.complete && list.items.is_empty() {
        let message = "lists no backends; name at least one or write \"*\" for all";
        r.error(entry.line, entry.path, message);
        return None;
    }
    let names = backend_names(r, list.items)?;
    list.complete.then_some(names)
}

fn backend_names(r: &mut Reader<'_>, items: Vec<ListItem>) -> Option<Backends> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut names = Vec::new();
    let mut ok = true;
    for item in items {
        let valid = item
            .value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c))
            && !crate::sources::client::is_dot_segment(&item.value);
        if !valid {
            let message = format!(
                "{} is not an HAProxy backend name; names use letters, digits, `_`, `.`, `:` and `-` (and are not `.` or `..`)",
                item.shown
            );
            r.error(item.line, item.path, message);
            ok = false;
        } else if let Some(first) = seen.get(&item.value) {
            let message = format!(
                "backend {} is listed twice (first on line {first})",
                item.shown
            );
            r.error(item.line, item.path, message);
            ok = false;
        } else {
            seen.insert(item.value.clone(), item.line);
            names.push(item.value);
        }
    }
    ok.then_some(Backends::Named(names))
}
