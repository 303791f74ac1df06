//! The validated configuration: what the rest of the daemon reads.
//!
//! Every field is public so tests and the demo can build a [`Config`] in code;
//! [`Config::new_in_memory`] and the `Default` impls give the documented defaults.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The whole, validated configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The file this configuration was read from.
    pub file: PathBuf,
    /// `[server]`: HTTP listener and admin access.
    pub server: ServerConfig,
    /// `[storage]`: the redb file and event retention.
    pub storage: StorageConfig,
    /// `[[haproxy]]`: HAProxy instances, each with one poller per backend.
    pub haproxy: Vec<HaproxyConfig>,
    /// `[[eureka]]`: Eureka servers, each with one poller.
    pub eureka: Vec<EurekaConfig>,
    /// `[[notify]]`: where alerts are sent.
    pub notify: Vec<super::NotifyConfig>,
    /// `[alerts]`: the rules' hold times, severities and anti-flap.
    pub alerts: crate::alerts::AlertsConfig,
    /// Findings of the reading of the file that `check-config` and `run` print
    /// as warnings (see [`Config::warnings`]); the file is used anyway.
    pub parse_warnings: Vec<super::ConfigWarning>,
    /// `[[link]]`: which Eureka application feeds which HAProxy backends.
    pub links: Vec<LinkConfig>,
    /// `[defaults] drift_for`: how long HAProxy and Eureka must disagree about an
    /// endpoint before it is reported as drift; default 60 s.
    pub drift_for: Duration,
}

/// One `[[link]]`: the instances of a Eureka application are the servers of these
/// HAProxy backends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkConfig {
    /// The `[[eureka]]` name.
    pub eureka_server: String,
    /// The application, compared without regard to case (Eureka upper-cases it).
    pub app: String,
    /// `(haproxy name, backend)` pairs.
    pub haproxy: Vec<(String, String)>,
}

/// `[server]`: where the HTTP API listens and who may use it.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerConfig {
    /// Socket address of the HTTP server; default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// Bearer token for `/api/admin/*`; `None` disables the admin API.
    pub admin_token: Option<Secret>,
    /// Browser origins allowed to open `/ws`, in ASCII serialisation
    /// (`scheme://host[:port]`, no trailing slash); empty by default.
    pub allowed_origins: Vec<String>,
    /// HTTPS instead of HTTP for the API, `/metrics` and `/ws`; `None`: plain HTTP.
    pub tls: Option<TlsConfig>,
}

/// `[server] tls`: the PEM files of the server's certificate and private key.
#[derive(Clone, Debug, PartialEq)]
pub struct TlsConfig {
    /// The certificate chain, leaf first; relative paths start at the working
    /// directory.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// `[storage]`: the state file.
#[derive(Clone, Debug, PartialEq)]
pub struct StorageConfig {
    /// The redb file; relative paths are relative to the working directory.
    pub path: PathBuf,
    /// How many events are kept; at least 1.
    pub event_retention: u64,
}

/// How one target is polled: the effective `[defaults]` plus per-source overrides.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// Time between polls; always longer than `timeout`.
    pub interval: Duration,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Retries inside one poll.
    pub retry: RetryConfig,
    /// The circuit breaker around polls.
    pub circuit: CircuitConfig,
    /// Run the source's `recover` action when its circuit opens.
    pub auto_recover: bool,
    /// The largest answer accepted from the source.
    pub limits: Limits,
}

/// How large one answer may be (`max_servers`, `max_instances`); past these the
/// fetch fails with [`crate::sources::FetchErrorKind::TooLarge`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Servers in one backend.
    pub max_servers: usize,
    /// Instances (of all applications together) in one Eureka answer.
    pub max_instances: usize,
}

/// Exponential backoff of retries inside one poll.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryConfig {
    /// First delay; not longer than `max`.
    pub initial: Duration,
    /// Longest delay.
    pub max: Duration,
    /// Growth factor of the delay; at least 1.
    pub multiplier: f64,
    /// Total time spent retrying in one poll; 0 disables retries. It is not
    /// checked against `interval`: the poller bounds it below the interval.
    pub max_elapsed: Duration,
}

/// Circuit breaker settings.
#[derive(Clone, Debug, PartialEq)]
pub struct CircuitConfig {
    /// Consecutive failed polls that open the circuit; at least 1.
    pub failure_threshold: u32,
    /// First open period; doubles up to `open_max`.
    pub open_base: Duration,
    /// Longest open period.
    pub open_max: Duration,
}

/// How an HAProxy instance is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HaproxySourceKind {
    /// The FAgent v1 HTTP API.
    Agent,
    /// HAProxy's CSV stats page.
    Stats,
    /// HAProxy's Runtime API over a unix or TCP socket.
    Socket,
}

/// How a Eureka registry is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EurekaSourceKind {
    /// The Eureka REST API.
    Eureka,
    /// The FAgent v1 HTTP API.
    Agent,
}

/// Which backends of an HAProxy instance are polled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backends {
    /// Exactly these backends (non-empty, no duplicates).
    Named(Vec<String>),
    /// Every backend, discovered and kept current (`backends = "*"`).
    All,
}

/// A fixed command run to recover a source (`recover = { command = [...] }`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoverAction {
    /// Program and arguments, run without a shell; never empty.
    pub command: Vec<String>,
    /// How long the command may run; default 30 s.
    pub timeout: Duration,
}

/// One `[[haproxy]]` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct HaproxyConfig {
    /// Instance name, `[A-Za-z0-9_.-]+`; part of target ids `haproxy/<name>/<backend>`.
    pub name: String,
    /// How the instance is reached.
    pub source: HaproxySourceKind,
    /// Agent base URL or stats page URL (agent and stats only). Agent URLs
    /// have no trailing `/`; stats URLs are kept exactly as written.
    pub url: Option<String>,
    /// Agent only: the instance segment in `/api/v1/haproxy/{instance}/...`.
    pub agent_instance: Option<String>,
    /// Stats only: HTTP Basic user.
    pub username: Option<String>,
    /// Stats only: HTTP Basic password.
    pub password: Option<Secret>,
    /// Socket only: a unix socket path or `tcp://host:port`.
    pub socket: Option<String>,
    /// The backends polled.
    pub backends: Backends,
    /// Effective polling policy.
    pub policy: Policy,
    /// Optional recovery command.
    pub recover: Option<RecoverAction>,
    /// Socket only: the HAProxy `ring` followed with `show events <ring> -w` to
    /// poll a backend as soon as one of its servers changes state.
    pub events_ring: Option<String>,
    /// Optional command that checks HAProxy's configuration (`haproxy -c -f ...`);
    /// with `recover`, every recovery runs it first.
    pub validate: Option<RecoverAction>,
}

impl HaproxyConfig {
    /// The ring followed for push detection, when this source can follow one.
    pub fn push_ring(&self) -> Option<&str> {
        match self.source {
            HaproxySourceKind::Socket => self.events_ring.as_deref(),
            _ => None,
        }
    }
}

/// One `[[eureka]]` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct EurekaConfig {
    /// Server name, `[A-Za-z0-9_.-]+`; part of the target id `eureka/<name>`.
    pub name: String,
    /// How the registry is reached.
    pub source: EurekaSourceKind,
    /// Eureka base URL (e.g. `http://host:8761/eureka`) or agent base URL,
    /// without a trailing `/`.
    pub url: String,
    /// Eureka source only: poll `/apps/delta` with hashcode reconciliation.
    pub delta: bool,
    /// Eureka source only: HTTP Basic user.
    pub username: Option<String>,
    /// Eureka source only: HTTP Basic password.
    pub password: Option<Secret>,
    /// Effective polling policy.
    pub policy: Policy,
    /// Optional recovery command.
    pub recover: Option<RecoverAction>,
}

/// A secret string (token, password). Debug and Display print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value; use it only where it is needed (auth headers, comparisons).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl HaproxySourceKind {
    /// Every kind, in the order the config documents them.
    pub const ALL: [HaproxySourceKind; 3] = [Self::Agent, Self::Stats, Self::Socket];

    /// The config spelling: `agent`, `stats` or `socket`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Stats => "stats",
            Self::Socket => "socket",
        }
    }
}

impl EurekaSourceKind {
    /// Every kind, in the order the config documents them.
    pub const ALL: [EurekaSourceKind; 2] = [Self::Eureka, Self::Agent];

    /// The config spelling: `eureka` or `agent`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eureka => "eureka",
            Self::Agent => "agent",
        }
    }
}

impl fmt::Display for HaproxySourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for EurekaSourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
