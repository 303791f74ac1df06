//! One `[[eureka]]` entry: source kind, URL, delta mode, credentials and policy.

use super::common::{self, Names};
use super::policy::{Layer, POLICY_KEYS};
use super::reader::{Node, Reader};
use super::types::{EurekaConfig, EurekaSourceKind};

const KEYS: [&str; 7] = [
    "name", "source", "url", "delta", "username", "password", "recover",
];

/// Reads one `[[eureka]]` table; `None` when it has errors (all recorded).
pub(super) fn read(
    r: &mut Reader<'_>,
    node: &Node<'_>,
    defaults: &Layer,
    names: &mut Names,
) -> Option<EurekaConfig> {
    let allowed: Vec<&str> = KEYS.iter().chain(POLICY_KEYS.iter()).copied().collect();
    r.check_keys(node, &allowed);
    let name = common::name(r, node, names);
    let source = source(r, node);
    let url = url(r, node);
    let eureka_only = (
        source.is_none_or(|s| s == EurekaSourceKind::Eureka),
        "source = \"eureka\"",
    );
    let delta = common::optional(r, node, "delta", eureka_only, |r, e| r.boolean(e));
    let credentials = common::credentials(r, node, eureka_only);
    let policy = common::policy(r, node, defaults);
    let recover = common::recover(r, node);
    let (username, password) = credentials?;
    Some(EurekaConfig {
        name: name?,
        source: source?,
        url: url?,
        delta: delta?.unwrap_or(false),
        username,
        password,
        policy,
        recover: recover?,
    })
}

/// `source`, `eureka` when absent.
fn source(r: &mut Reader<'_>, node: &Node<'_>) -> Option<EurekaSourceKind> {
    let Some(entry) = r.entry(node, "source") else {
        return Some(EurekaSourceKind::Eureka);
    };
    let text = r.string(&entry)?;
    let kind = EurekaSourceKind::ALL
        .into_iter()
        .find(|k| k.as_str() == text);
    if kind.is_none() {
        let message = format!("unknown source {}; allowed: eureka, agent", entry.shown());
        r.error(entry.line, entry.path, message);
    }
    kind
}

/// The required base URL, without a trailing `/` since paths are appended.
fn url(r: &mut Reader<'_>, node: &Node<'_>) -> Option<String> {
    let Some(entry) = r.entry(node, "url") else {
        let hint = "write the registry base URL, e.g. \"http://127.0.0.1:8761/eureka\"";
        r.missing(node, "url", hint);
        return None;
    };
    let url = common::url(r, &entry)?;
    Some(url.trim_end_matches('/').to_string())
}
