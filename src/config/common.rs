//! Keys shared by `[[haproxy]]` and `[[eureka]]`: names, URLs, credentials,
//! `recover` and the policy overrides.

use std::collections::HashMap;

use super::defaults::DEFAULT_RECOVER_TIMEOUT;
use super::policy::Layer;
use super::reader::{Entry, Node, Reader};
use super::types::{Policy, RecoverAction, Secret};

/// Names already used in one list of sources, for duplicate detection.
#[derive(Default)]
pub(super) struct Names {
    seen: HashMap<String, (String, usize)>,
}

/// Reads the required `name`: `[A-Za-z0-9_.-]+`, unique within its list.
pub(super) fn name(r: &mut Reader<'_>, node: &Node<'_>, names: &mut Names) -> Option<String> {
    let Some(entry) = r.entry(node, "name") else {
        r.missing(
            node,
            "name",
            "give each source a unique name such as \"fdmz01\"",
        );
        return None;
    };
    let name = r.non_empty_string(&entry)?;
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        let message = format!(
            "{} cannot be used as a name: names become part of target ids \
             (such as haproxy/<name>/<backend>), so use only letters, digits, `_`, `.` and `-`",
            entry.shown()
        );
        r.error(entry.line, entry.path, message);
        return None;
    }
    if let Some((path, line)) = names.seen.get(&name) {
        let message = format!(
            "duplicate name {}: already used by {path} (line {line})",
            entry.shown()
        );
        r.error(entry.line, entry.path, message);
        return None;
    }
    names
        .seen
        .insert(name.clone(), (node.path.clone(), node.line));
    Some(name)
}

/// Reads an optional `key` with `read`: `Some(None)` when absent, `None`
/// when invalid or present but not `allowed` for this source (`who` says
/// which sources use it).
pub(super) fn optional<T>(
    r: &mut Reader<'_>,
    node: &Node<'_>,
    key: &str,
    (allowed, who): (bool, &str),
    read: impl FnOnce(&mut Reader<'_>, &Entry<'_>) -> Option<T>,
) -> Option<Option<T>> {
    let Some(entry) = r.entry(node, key) else {
        return Some(None);
    };
    if !allowed {
        let message = format!("only used with {who}; remove it or change `source`");
        r.error(entry.line, entry.path, message);
        return None;
    }
    read(r, &entry).map(Some)
}

/// Validates an `http`/`https` URL with a host. The value is not echoed in
/// errors since URLs may carry credentials.
pub(super) fn url(r: &mut Reader<'_>, entry: &Entry<'_>) -> Option<String> {
    let text = r.non_empty_string(entry)?;
    let problem = match reqwest::Url::parse(text.trim()) {
        Err(e) => format!("not a valid URL ({e}); write e.g. \"http://127.0.0.1:11011\""),
        Ok(u) if !matches!(u.scheme(), "http" | "https") => {
            format!(
                "URL scheme `{}` is not supported; use http or https",
                u.scheme()
            )
        }
        Ok(u) if u.host_str().is_none_or(str::is_empty) => "URL has no host".to_string(),
        Ok(_) => return Some(text.trim().to_string()),
    };
    r.error(entry.line, entry.path.clone(), problem);
    None
}

/// HTTP Basic credentials, allowed only when `allowed`. `None` when invalid.
pub(super) fn credentials(
    r: &mut Reader<'_>,
    node: &Node<'_>,
    gate: (bool, &str),
) -> Option<(Option<String>, Option<Secret>)> {
    let username = optional(r, node, "username", gate, |r, e| r.non_empty_string(e));
    let password = optional(r, node, "password", gate, |r, e| {
        r.string(e).map(Secret::new)
    });
    if !node.table.contains_key("username")
        && let Some(e) = r.entry(node, "password").filter(|_| gate.0)
    {
        r.error(e.line, e.path, "a password needs a `username` as well");
        return None;
    }
    Some((username?, password?))
}

/// The optional `recover = { command = [...], timeout = "30s" }`.
/// `None` when it is present but invalid.
pub(super) fn recover(r: &mut Reader<'_>, node: &Node<'_>) -> Option<Option<RecoverAction>> {
    command_action(r, node, "recover")
}

/// An optional `key = { command = [...], timeout = "30s" }` (`recover`, `validate`).
/// `None` when it is present but invalid.
pub(super) fn command_action(
    r: &mut Reader<'_>,
    node: &Node<'_>,
    key: &str,
) -> Option<Option<RecoverAction>> {
    let Some(entry) = r.entry(node, key) else {
        return Some(None);
    };
    let table = r.table(&entry)?;
    r.check_keys(&table, &["command", "timeout"]);
    let timeout = match r.entry(&table, "timeout") {
        None => Some(DEFAULT_RECOVER_TIMEOUT),
        Some(e) => r.duration(&e).filter(|d| {
            let ok = !d.is_zero();
            if !ok {
                r.error(e.line, e.path.clone(), "must be longer than 0");
            }
            ok
        }),
    };
    let command = match r.entry(&table, "command") {
        None => {
            r.missing(
                &table,
                "command",
                "write e.g. command = [\"systemctl\", \"reload\", \"haproxy\"]",
            );
            None
        }
        Some(e) => command(r, &e),
    };
    Some(Some(RecoverAction {
        command: command?,
        timeout: timeout?,
    }))
}

fn command(r: &mut Reader<'_>, entry: &Entry<'_>) -> Option<Vec<String>> {
    let list = r.string_list(entry)?;
    if list.complete && list.items.is_empty() {
        let message = "is empty; give the program and its arguments, e.g. [\"systemctl\", \"reload\", \"haproxy\"]";
        r.error(entry.line, entry.path.clone(), message);
        return None;
    }
    Some(list.all()?.into_iter().map(|i| i.value).collect())
}

/// The effective policy of a source: its own keys over `defaults`.
pub(super) fn policy(r: &mut Reader<'_>, node: &Node<'_>, defaults: &Layer) -> Policy {
    let layer = Layer::read(r, node).over(defaults);
    layer.check(r);
    layer.policy()
}
