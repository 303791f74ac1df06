//! Built-in defaults (docs/configuration.md), in-memory configs and the one-line summary.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::types::{
    Backends, CircuitConfig, Config, Limits, Policy, RetryConfig, ServerConfig, StorageConfig,
};

/// Default `[server] listen`.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 8080);
/// Default `[storage] path`, relative to the working directory.
pub const DEFAULT_STORAGE_PATH: &str = "data/watchpost.redb";
/// Default `[storage] event_retention`.
pub const DEFAULT_EVENT_RETENTION: u64 = 100_000;
/// Default `recover.timeout`.
pub const DEFAULT_RECOVER_TIMEOUT: Duration = Duration::from_secs(30);

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: DEFAULT_LISTEN,
            admin_token: None,
            allowed_origins: Vec::new(),
            tls: None,
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            path: PathBuf::from(DEFAULT_STORAGE_PATH),
            event_retention: DEFAULT_EVENT_RETENTION,
        }
    }
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(2),
            multiplier: 2.0,
            max_elapsed: Duration::from_secs(5),
        }
    }
}

impl Default for CircuitConfig {
    fn default() -> Self {
        CircuitConfig {
            failure_threshold: 3,
            open_base: Duration::from_secs(5),
            open_max: Duration::from_secs(300),
        }
    }
}

/// Default `max_servers`.
pub const DEFAULT_MAX_SERVERS: usize = 10_000;
/// Default `max_instances`.
pub const DEFAULT_MAX_INSTANCES: usize = 50_000;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_servers: DEFAULT_MAX_SERVERS,
            max_instances: DEFAULT_MAX_INSTANCES,
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(3),
            retry: RetryConfig::default(),
            circuit: CircuitConfig::default(),
            auto_recover: false,
            limits: Limits::default(),
        }
    }
}

impl Config {
    /// A configuration with no sources, listening on `listen` and storing state
    /// in `storage_path`; everything else has its default. Sources can be
    /// pushed onto `haproxy` and `eureka` afterwards.
    pub fn new_in_memory(listen: SocketAddr, storage_path: impl Into<PathBuf>) -> Config {
        Config {
            file: PathBuf::from(super::IN_MEMORY),
            server: ServerConfig {
                listen,
                ..ServerConfig::default()
            },
            storage: StorageConfig {
                path: storage_path.into(),
                ..StorageConfig::default()
            },
            haproxy: Vec::new(),
            eureka: Vec::new(),
            links: Vec::new(),
            drift_for: super::links::DEFAULT_DRIFT_FOR,
            notify: Vec::new(),
            alerts: crate::alerts::AlertsConfig::default(),
            parse_warnings: Vec::new(),
        }
    }

    /// Settings that are accepted but should be looked at (a weak token, an open
    /// listen address, one that has no effect), for `check-config` and the log.
    pub fn warnings(&self) -> Vec<String> {
        let found = self.parse_warnings.iter().map(ToString::to_string);
        let ignored = self
            .haproxy
            .iter()
            .filter(|h| h.events_ring.is_some() && h.push_ring().is_none())
            .map(|h| {
                format!(
                    "haproxy {}: events_ring is ignored: source = \"{}\" cannot follow HAProxy's event ring; only source = \"socket\" (the Runtime API) can",
                    h.name,
                    h.source.as_str()
                )
            });
        found.chain(ignored).collect()
    }

    /// One line for `watchpost check-config`, e.g. `config/watchpost.toml:
    /// 2 HAProxy sources (3 backends, 1 discovering all), 1 Eureka server;
    /// listening on 127.0.0.1:8080; admin API enabled`.
    pub fn summary(&self) -> String {
        let admin = match self.server.admin_token {
            Some(_) => "admin API enabled",
            None => "admin API disabled (no admin_token)",
        };
        format!(
            "{}: {} ({}), {}; listening on {}{}; {}",
            self.file.display(),
            plural(self.haproxy.len(), "HAProxy source"),
            self.backend_summary(),
            plural(self.eureka.len(), "Eureka server"),
            self.server.listen,
            if self.server.tls.is_some() {
                " (HTTPS)"
            } else {
                ""
            },
            admin
        )
    }

    fn backend_summary(&self) -> String {
        let named: usize = self
            .haproxy
            .iter()
            .map(|h| match &h.backends {
                Backends::Named(names) => names.len(),
                Backends::All => 0,
            })
            .sum();
        let all = self
            .haproxy
            .iter()
            .filter(|h| h.backends == Backends::All)
            .count();
        if all == 0 {
            plural(named, "backend")
        } else {
            format!("{}, {all} discovering all", plural(named, "backend"))
        }
    }
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}
