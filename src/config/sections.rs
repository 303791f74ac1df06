//! The singleton sections: `[server]`, `[storage]` and `[defaults]`.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::policy::{Layer, POLICY_KEYS};
use super::reader::{Entry, ListItem, Node, Reader};
use super::types::{Secret, ServerConfig, StorageConfig, TlsConfig};

/// The section `key` of the root as a table; `None` when absent or not a table.
fn section<'t>(r: &mut Reader<'_>, root: &Node<'t>, key: &str) -> Option<Node<'t>> {
    let entry = r.entry(root, key)?;
    r.table(&entry)
}

/// Reads `[server]`; `None` when it has errors (all recorded).
pub(super) fn server(r: &mut Reader<'_>, root: &Node<'_>) -> Option<ServerConfig> {
    let mut server = ServerConfig::default();
    let Some(node) = section(r, root, "server") else {
        return (!root.table.contains_key("server")).then_some(server);
    };
    r.check_keys(&node, &["listen", "admin_token", "allowed_origins", "tls"]);
    let listen = r.entry(&node, "listen").map(|e| listen(r, &e));
    let token = r.entry(&node, "admin_token").map(|e| token(r, &e));
    let origins = r.entry(&node, "allowed_origins").map(|e| origins(r, &e));
    let tls = r.entry(&node, "tls").map(|e| tls(r, &e));
    if let Some(listen) = listen {
        server.listen = listen?;
    }
    if let Some(token) = token {
        server.admin_token = Some(token?).filter(|t| !t.is_empty()).map(Secret::new);
    }
    if let Some(origins) = origins {
        server.allowed_origins = origins?;
    }
    if let Some(tls) = tls {
        server.tls = Some(tls?);
    }
    Some(server)
}

/// The shortest admin token accepted without a warning.
const STRONG_TOKEN_CHARS: usize = 16;

/// `admin_token`: empty turns the admin API off, blank (only spaces) is refused,
/// shorter than 16 characters is a warning. The value is never shown.
fn token(r: &mut Reader<'_>, entry: &Entry<'_>) -> Option<String> {
    let token = r.string(entry)?;
    let line = entry.line;
    if !token.is_empty() && token.trim().is_empty() {
        let message = "is blank; give a random secret of at least 16 characters, \
                       or \"\" to turn the admin API off";
        r.error(line, entry.path.clone(), message);
        return None;
    }
    let chars = token.chars().count();
    if (1..STRONG_TOKEN_CHARS).contains(&chars) {
        let message = format!(
            "is only {chars} characters long and easy to guess; use a random secret \
             of at least {STRONG_TOKEN_CHARS} characters (e.g. `openssl rand -hex 24`)"
        );
        r.warn(line, entry.path.clone(), message);
    }
    Some(token)
}

/// Warns when the API listens beyond this machine without an admin token: anyone
/// who can reach the port reads the state and the event log.
pub(super) fn warn_exposure(r: &mut Reader<'_>, root: &Node<'_>, server: &ServerConfig) {
    if server.listen.ip().is_loopback() || server.admin_token.is_some() {
        return;
    }
    let line = section(r, root, "server")
        .and_then(|node| r.entry(&node, "listen"))
        .map_or(0, |e| e.line);
    let message = format!(
        "{} is reachable from other machines and there is no admin_token: the API is \
         open to anyone who can reach it; listen on 127.0.0.1, or set admin_token and \
         put `[server] tls` or an authenticating proxy in front (docs/configuration.md)",
        server.listen
    );
    r.warn(line, "server.listen", message);
}

/// `tls = { cert = "...", key = "..." }`: both paths are required. The files are
/// read when the daemon starts (and by `check-config`).
fn tls(r: &mut Reader<'_>, entry: &Entry<'_>) -> Option<TlsConfig> {
    let node = r.table(entry)?;
    r.check_keys(&node, &["cert", "key"]);
    let mut path = |key: &str, hint: &str| match r.entry(&node, key) {
        Some(e) => r.non_empty_string(&e).map(PathBuf::from),
        None => {
            r.missing(&node, key, hint);
            None
        }
    };
    let cert = path(
        "cert",
        "the PEM file of the certificate chain, e.g. \"/etc/watchpost/cert.pem\"",
    );
    let key = path(
        "key",
        "the PEM file of the private key, e.g. \"/etc/watchpost/key.pem\"",
    );
    Some(TlsConfig {
        cert: cert?,
        key: key?,
    })
}

fn listen(r: &mut Reader<'_>, entry: &Entry<'_>) -> Option<SocketAddr> {
    let text = r.string(entry)?;
    match text.trim().parse() {
        Ok(address) => Some(address),
        Err(_) => {
            let message = format!(
                "{} is not a socket address; write an IP address and a port, \
                 such as \"127.0.0.1:8080\" or \"[::1]:8080\"",
                entry.shown()
            );
            r.error(entry.line, entry.path.clone(), message);
            None
        }
    }
}

/// Browser origins, normalised to `scheme://host[:port]`.
fn origins(r: &mut Reader<'_>, entry: &Entry<'_>) -> Option<Vec<String>> {
    let items = r.string_list(entry)?.all()?;
    let origins: Vec<Option<String>> = items.into_iter().map(|i| origin(r, i)).collect();
    origins.into_iter().collect()
}

fn origin(r: &mut Reader<'_>, item: ListItem) -> Option<String> {
    let shown = &item.shown;
    let problem = match reqwest::Url::parse(item.value.trim()) {
        Err(e) => format!("{shown} is not a valid origin ({e})"),
        Ok(u) if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() => {
            format!("{shown} is not an http or https origin with a host")
        }
        Ok(u) if u.path() != "/" || u.query().is_some() || u.fragment().is_some() => {
            format!("{shown} has a path; an origin is only scheme://host[:port]")
        }
        Ok(u) => return Some(u.origin().ascii_serialization()),
    };
    let message = format!("{problem}; write e.g. \"http://127.0.0.1:8080\"");
    r.error(item.line, item.path, message);
    None
}

/// Reads `[storage]`; `None` when it has errors (all recorded).
pub(super) fn storage(r: &mut Reader<'_>, root: &Node<'_>) -> Option<StorageConfig> {
    let mut storage = StorageConfig::default();
    let Some(node) = section(r, root, "storage") else {
        return (!root.table.contains_key("storage")).then_some(storage);
    };
    r.check_keys(&node, &["path", "event_retention"]);
    let path = r.entry(&node, "path").map(|e| r.non_empty_string(&e));
    let retention = r.entry(&node, "event_retention").map(|e| retention(r, &e));
    if let Some(path) = path {
        storage.path = PathBuf::from(path?);
    }
    if let Some(retention) = retention {
        storage.event_retention = retention?;
    }
    Some(storage)
}

fn retention(r: &mut Reader<'_>, entry: &Entry<'_>) -> Option<u64> {
    let n = r.integer(entry)?;
    match u64::try_from(n) {
        Ok(n) if n >= 1 => Some(n),
        _ => {
            let message = format!("{n} events cannot be kept; keep at least 1 (default 100000)");
            r.error(entry.line, entry.path.clone(), message);
            None
        }
    }
}

/// Reads `[defaults]` and checks it on its own, so a broken default is
/// reported once, at its own line.
pub(super) fn defaults(r: &mut Reader<'_>, root: &Node<'_>) -> Layer {
    let Some(node) = section(r, root, "defaults") else {
        return Layer::default();
    };
    let allowed: Vec<&str> = POLICY_KEYS.iter().copied().chain(["drift_for"]).collect();
    r.check_keys(&node, &allowed);
    let layer = Layer::read(r, &node);
    layer.check(r);
    layer
}
