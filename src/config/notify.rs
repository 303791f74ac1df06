//! One `[[notify]]` entry: kind, endpoint, grouping, filter and delivery policy.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::common::{self, Names};
use super::notify_types::*;
use super::policy::Layer;
use super::reader::{Entry, Node, Reader};
use super::types::Secret;

const KEYS: [&str; 24] = [
    "name",
    "kind",
    "url",
    "secret",
    "urls",
    "resend",
    "smtp",
    "starttls",
    "ca",
    "username",
    "password",
    "from",
    "to",
    "group_by",
    "group_wait",
    "group_interval",
    "repeat_interval",
    "send_resolved",
    "timeout",
    "retry",
    "circuit",
    "match",
    "max_age",
    "dashboard_url",
];
const KINDS: [&str; 4] = ["webhook", "slack", "email", "alertmanager"];

/// Reads one `[[notify]]` table; `None` when it has errors (all recorded).
pub(super) fn read(
    r: &mut Reader<'_>,
    node: &Node<'_>,
    _defaults: &Layer,
    names: &mut Names,
) -> Option<NotifyConfig> {
    r.check_keys(node, &KEYS);
    let name = common::name(r, node, names);
    let kind = kind(r, node);
    let policy = Layer::read(r, node).policy();
    let mut c = NotifyConfig::new("", NotifierKind::Slack { url: String::new() });
    c.retry = policy.retry;
    c.circuit = policy.circuit;
    if node.table.contains_key("timeout") {
        c.timeout = policy.timeout;
    }
    let group_by = read_group_by(r, node);
    let ok = timing(r, node, &mut c);
    let matchers = matchers(r, node);
    let dashboard = match r.entry(node, "dashboard_url") {
        Some(e) => Some(common::url(r, &e)?),
        None => None,
    };
    c.name = name?;
    c.kind = kind?;
    c.group_by = group_by?;
    c.matchers = matchers?;
    c.dashboard_url = dashboard;
    ok.then_some(c)
}

/// The grouping durations, `max_age` and `send_resolved`; false when one is bad.
fn timing(r: &mut Reader<'_>, node: &Node<'_>, c: &mut NotifyConfig) -> bool {
    let durations = [
        ("group_wait", &mut c.group_wait, true),
        ("group_interval", &mut c.group_interval, false),
        ("repeat_interval", &mut c.repeat_interval, false),
        ("max_age", &mut c.max_age, false),
    ];
    let mut ok = true;
    for (key, slot, zero_ok) in durations {
        ok &= duration(r, node, key, slot, zero_ok);
    }
    if let Some(e) = r.entry(node, "send_resolved") {
        c.send_resolved = r.boolean(&e).unwrap_or_else(|| {
            ok = false;
            true
        });
    }
    ok
}

fn duration(
    r: &mut Reader<'_>,
    node: &Node<'_>,
    key: &str,
    slot: &mut Duration,
    zero_ok: bool,
) -> bool {
    let Some(entry) = r.entry(node, key) else {
        return true;
    };
    match r.duration(&entry) {
        Some(d) if d.is_zero() && !zero_ok => {
            r.error(entry.line, entry.path, "must be longer than 0");
            false
        }
        Some(d) => {
            *slot = d;
            true
        }
        None => false,
    }
}

fn read_group_by(r: &mut Reader<'_>, node: &Node<'_>) -> Option<Vec<String>> {
    let Some(entry) = r.entry(node, "group_by") else {
        return Some(vec![DEFAULT_GROUP_BY.to_string()]);
    };
    let items = r.string_list(&entry)?.all()?;
    Some(items.into_iter().map(|i| i.value).collect())
}

/// `match = { label = "pattern" | ["pattern", ...] }`.
fn matchers(r: &mut Reader<'_>, node: &Node<'_>) -> Option<BTreeMap<String, Vec<String>>> {
    let Some(entry) = r.entry(node, "match") else {
        return Some(BTreeMap::new());
    };
    let table = r.table(&entry)?;
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (label, _) in table.table.iter() {
        let Some(e) = r.entry(&table, label) else {
            continue;
        };
        let values = if e.item.is_str() {
            r.non_empty_string(&e).map(|v| vec![v])
        } else {
            r.string_list(&e)
                .and_then(|l| l.all())
                .map(|items| items.into_iter().map(|i| i.value).collect())
        };
        match values {
            Some(v) => {
                out.insert(label.to_string(), v);
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn kind(r: &mut Reader<'_>, node: &Node<'_>) -> Option<NotifierKind> {
    let Some(entry) = r.entry(node, "kind") else {
        r.missing(
            node,
            "kind",
            "set kind = \"webhook\", \"slack\", \"email\" or \"alertmanager\"",
        );
        return None;
    };
    let text = r.string(&entry)?;
    let only = |r: &mut Reader<'_>, keys: &[&str]| forbid_others(r, node, &text, keys);
    match text.as_str() {
        "webhook" => {
            only(r, &["url", "secret"]);
            webhook(r, node)
        }
        "slack" => {
            only(r, &["url"]);
            Some(NotifierKind::Slack {
                url: required_url(r, node, "url")?,
            })
        }
        "email" => {
            only(r, &EMAIL_KEYS);
            email(r, node).map(NotifierKind::Email)
        }
        "alertmanager" => {
            only(r, &["urls", "resend"]);
            alertmanager(r, node)
        }
        _ => {
            let message = format!(
                "unknown kind {}; allowed: {}",
                entry.shown(),
                KINDS.join(", ")
            );
            r.error(entry.line, entry.path, message);
            None
        }
    }
}

const EMAIL_KEYS: [&str; 7] = [
    "smtp", "starttls", "ca", "username", "password", "from", "to",
];
const KIND_KEYS: [&str; 11] = [
    "url", "secret", "urls", "resend", "smtp", "starttls", "ca", "username", "password", "from",
    "to",
];

fn webhook(r: &mut Reader<'_>, node: &Node<'_>) -> Option<NotifierKind> {
    let url = required_url(r, node, "url")?;
    let secret = r.entry(node, "secret").and_then(|e| r.non_empty_string(&e));
    let secret = secret.map(Secret::new);
    Some(NotifierKind::Webhook { url, secret })
}

/// Reports endpoint keys that belong to another kind.
fn forbid_others(r: &mut Reader<'_>, node: &Node<'_>, kind: &str, allowed: &[&str]) {
    for key in KIND_KEYS.iter().filter(|k| !allowed.contains(k)) {
        if let Some(e) = r.entry(node, key) {
            let message = format!("not used by kind \"{kind}\"; remove it or change `kind`");
            r.error(e.line, e.path, message);
        }
    }
}

fn required_url(r: &mut Reader<'_>, node: &Node<'_>, key: &str) -> Option<String> {
    match r.entry(node, key) {
        Some(e) => common::url(r, &e),
        None => {
            r.missing(
                node,
                key,
                "write e.g. url = \"https://hooks.example/watchpost\"",
            );
            None
        }
    }
}

fn alertmanager(r: &mut Reader<'_>, node: &Node<'_>) -> Option<NotifierKind> {
    let mut resend = DEFAULT_RESEND;
    let resend_ok = duration(r, node, "resend", &mut resend, false);
    let Some(entry) = r.entry(node, "urls") else {
        r.missing(
            node,
            "urls",
            "list every Alertmanager peer, e.g. urls = [\"http://127.0.0.1:9093\"]",
        );
        return None;
    };
    let urls = url_list(r, &entry)?;
    resend_ok.then_some(NotifierKind::Alertmanager { urls, resend })
}

fn url_list(r: &mut Reader<'_>, entry: &Entry<'_>) -> Option<Vec<String>> {
    let items = r.string_list(entry)?.all()?;
    if items.is_empty() {
        r.error(entry.line, entry.path.clone(), "must list at least one URL");
        return None;
    }
    let mut out = Vec::new();
    for item in items {
        match reqwest::Url::parse(item.value.trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                out.push(item.value.trim().trim_end_matches('/').to_string())
            }
            _ => {
                let message = "not an http or https URL with a host";
                r.error(item.line, item.path, message);
                return None;
            }
        }
    }
    Some(out)
}

fn email(r: &mut Reader<'_>, node: &Node<'_>) -> Option<EmailConfig> {
    let starttls = match r.entry(node, "starttls") {
        Some(e) => r.boolean(&e)?,
        None => false,
    };
    let smtp = match r.entry(node, "smtp") {
        Some(e) => smtp_url(r, &e, starttls),
        None => {
            r.missing(
                node,
                "smtp",
                "write e.g. smtp = \"smtp://mail.example:587\"",
            );
            None
        }
    };
    let username = r
        .entry(node, "username")
        .and_then(|e| r.non_empty_string(&e));
    let password = r.entry(node, "password").and_then(|e| r.string(&e));
    let ca = ca_file(r, node);
    let from = address(r, node, "from");
    let to = match r.entry(node, "to") {
        Some(e) => r.string_list(&e).and_then(|l| l.all()),
        None => {
            r.missing(node, "to", "write e.g. to = [\"ops@example.org\"]");
            None
        }
    };
    let (host, port, security) = smtp?;
    Some(EmailConfig {
        host,
        port,
        security,
        username,
        password: password.map(Secret::new),
        from: from?,
        to: to?.into_iter().map(|i| i.value).collect(),
        ca: ca?,
    })
}

/// `ca = "/path/ca.pem"`: read now, so a missing or empty file is an error of the
/// configuration (also for `check-config` and a reload).
fn ca_file(r: &mut Reader<'_>, node: &Node<'_>) -> Option<Option<CaFile>> {
    let Some(entry) = r.entry(node, "ca") else {
        return Some(None);
    };
    let path = PathBuf::from(r.non_empty_string(&entry)?);
    let problem = match std::fs::read(&path) {
        Ok(pem) if pem.windows(BEGIN.len()).any(|w| w == BEGIN) => {
            return Some(Some(CaFile { path, pem }));
        }
        Ok(_) => format!(
            "{} holds no PEM certificate (a \"-----BEGIN CERTIFICATE-----\" block)",
            path.display()
        ),
        Err(e) => format!("cannot read {}: {e}", path.display()),
    };
    r.error(entry.line, entry.path, problem);
    None
}

const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";

fn address(r: &mut Reader<'_>, node: &Node<'_>, key: &str) -> Option<String> {
    match r.entry(node, key) {
        Some(e) => r.non_empty_string(&e),
        None => {
            r.missing(node, key, "write e.g. from = \"watchpost@example.org\"");
            None
        }
    }
}

fn smtp_url(
    r: &mut Reader<'_>,
    entry: &Entry<'_>,
    starttls: bool,
) -> Option<(String, u16, SmtpSecurity)> {
    let text = r.non_empty_string(entry)?;
    let url = reqwest::Url::parse(text.trim()).ok();
    let parsed = url.as_ref().and_then(|u| {
        let host = u.host_str().filter(|h| !h.is_empty())?.to_string();
        let (security, port) = match (u.scheme(), starttls) {
            ("smtps", _) => (SmtpSecurity::Tls, 465),
            ("smtp", true) => (SmtpSecurity::StartTlsRequired, 587),
            ("smtp", false) => (SmtpSecurity::StartTlsOpportunistic, 587),
            _ => return None,
        };
        Some((host, u.port().unwrap_or(port), security))
    });
    if parsed.is_none() {
        let message = "not an SMTP URL; write smtp://host:port (STARTTLS) or smtps://host:port";
        r.error(entry.line, entry.path.clone(), message);
    }
    parsed
}
