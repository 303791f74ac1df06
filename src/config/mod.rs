//! Configuration: the TOML file (docs/configuration.md) read into a validated [`Config`].
//!
//! [`parse`] walks the TOML tree (kept with its spans, so every problem has a
//! line), substitutes `${VAR}` references in string values, fills in the
//! defaults and checks every rule. It reports every problem at once as
//! [`ConfigErrors`], each naming file, line and key such as
//! `haproxy[1].retry.initial`. Secret values never appear in errors or in
//! `Debug` output.
//!
//! Per-source policy keys (`interval`, `timeout`, `retry.*`, `circuit.*`,
//! `auto_recover`) override `[defaults]` key by key, which override the
//! built-in defaults.

mod alerts;
mod common;
mod defaults;
mod env;
mod error;
mod eureka;
mod haproxy;
mod links;
mod live;
mod notify;
mod notify_types;
mod policy;
mod reader;
mod sections;
mod types;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_alerts;
#[cfg(test)]
mod tests_bad;
#[cfg(test)]
mod tests_links;
#[cfg(test)]
mod tests_notify;
#[cfg(test)]
mod tests_sources;
#[cfg(test)]
mod tests_warnings;

use std::path::{Path, PathBuf};

use toml_edit::{Document, TomlError};

pub use defaults::{
    DEFAULT_EVENT_RETENTION, DEFAULT_LISTEN, DEFAULT_MAX_INSTANCES, DEFAULT_MAX_SERVERS,
    DEFAULT_RECOVER_TIMEOUT, DEFAULT_STORAGE_PATH,
};
pub use error::{ConfigError, ConfigErrors, ConfigWarning};
pub use live::LiveConfig;
pub use notify_types::{
    CaFile, DEFAULT_MAX_AGE, DEFAULT_RESEND, EmailConfig, NotifierKind, NotifyConfig, SmtpSecurity,
};
pub use types::{
    Backends, CircuitConfig, Config, EurekaConfig, EurekaSourceKind, HaproxyConfig,
    HaproxySourceKind, Limits, LinkConfig, Policy, RecoverAction, RetryConfig, Secret,
    ServerConfig, StorageConfig, TlsConfig,
};

use common::Names;
use policy::Layer;
use reader::{Node, Reader};

/// The `file` of a configuration built in code rather than read from a file.
pub const IN_MEMORY: &str = "(in memory)";

/// The default location of the configuration file.
pub const DEFAULT_CONFIG_PATH: &str = "config/watchpost.toml";

const ROOT_KEYS: [&str; 8] = [
    "server", "storage", "defaults", "haproxy", "eureka", "notify", "alerts", "link",
];

/// Reads and validates the file at `path`, taking `${VAR}` values from the
/// process environment.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: file.clone(),
        line: 0,
        key: "(file)".to_string(),
        message: format!("cannot read the configuration file: {e}"),
    })?;
    let mut config = parse(&text, &file, &|name| std::env::var(name).ok())?;
    config.file = path.to_path_buf();
    Ok(config)
}

/// Validates configuration `text` that came from `file`, looking up `${VAR}`
/// references with `env`. Returns every problem found.
pub fn parse(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let document = Document::parse(text).map_err(|e| syntax_error(text, file, &e))?;
    let mut r = Reader::new(text, file, env);
    let root = r.root(document.as_table());
    r.check_keys(&root, &ROOT_KEYS);
    let server = sections::server(&mut r, &root);
    let storage = sections::storage(&mut r, &root);
    let defaults = sections::defaults(&mut r, &root);
    let haproxy = sources(&mut r, &root, "haproxy", &defaults, haproxy::read);
    let eureka = sources(&mut r, &root, "eureka", &defaults, eureka::read);
    let drift_for = links::drift_for(&mut r, &root);
    let links = links::links(&mut r, &root, haproxy.as_deref(), eureka.as_deref());
    let notify = sources(&mut r, &root, "notify", &defaults, notify::read);
    let alerts = alerts::read(&mut r, &root);
    if let Some(server) = &server {
        sections::warn_exposure(&mut r, &root, server);
    }
    let (errors, warnings) = r.into_findings();
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    let assemble = || {
        Some(Config {
            file: PathBuf::from(file),
            server: server?,
            storage: storage?,
            haproxy: haproxy?,
            eureka: eureka?,
            links: links?,
            drift_for: drift_for?,
            notify: notify?,
            alerts: alerts?,
            parse_warnings: warnings,
        })
    };
    assemble().ok_or_else(|| unexplained(file))
}

/// Guards the invariant that every rejected part recorded an error.
fn unexplained(file: &str) -> ConfigErrors {
    ConfigErrors(vec![ConfigError {
        file: file.to_string(),
        line: 0,
        key: "(file)".to_string(),
        message: "the configuration was rejected without a specific reason".to_string(),
    }])
}

type ReadSource<T> = fn(&mut Reader<'_>, &Node<'_>, &Layer, &mut Names) -> Option<T>;

/// Reads the list of source tables under `key`; empty when absent.
fn sources<T>(
    r: &mut Reader<'_>,
    root: &Node<'_>,
    key: &str,
    defaults: &Layer,
    read: ReadSource<T>,
) -> Option<Vec<T>> {
    let Some(entry) = r.entry(root, key) else {
        return Some(Vec::new());
    };
    let nodes = r.tables(&entry)?;
    let mut names = Names::default();
    let read: Vec<Option<T>> = nodes
        .iter()
        .map(|node| read(r, node, defaults, &mut names))
        .collect();
    read.into_iter().collect()
}

fn syntax_error(text: &str, file: &str, error: &TomlError) -> ConfigErrors {
    let reader = Reader::new(text, file, &|_| None);
    let detail = error.message().trim().replace('\n', "; ");
    let mut message = format!("invalid TOML: {detail}");
    // When the error points at a key (one set twice), name it; a value is never
    // quoted, it may be a secret.
    let key = error.span().and_then(|span| {
        let after = text.get(span.end..)?.trim_start_matches([' ', '\t']);
        let key = reader.snippet(Some(span))?;
        let is_key = after.starts_with('=') && !key.is_empty() && !key.contains('\n');
        is_key.then_some(key)
    });
    if let Some(key) = key {
        message.push_str(&format!(" (at `{key}`)"));
    }
    ConfigErrors(vec![ConfigError {
        file: file.to_string(),
        line: reader.line(error.span()),
        key: "(syntax)".to_string(),
        message,
    }])
}
