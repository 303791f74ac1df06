//! The validated `[[notify]]` sections: one notifier each, where it sends and how it
//! groups, retries and gives up.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::types::{CircuitConfig, RetryConfig, Secret};

/// Default `group_by`.
pub const DEFAULT_GROUP_BY: &str = "group";
/// Default `group_wait`.
pub const DEFAULT_GROUP_WAIT: Duration = Duration::from_secs(10);
/// Default `group_interval`.
pub const DEFAULT_GROUP_INTERVAL: Duration = Duration::from_secs(60);
/// Default `repeat_interval`.
pub const DEFAULT_REPEAT_INTERVAL: Duration = Duration::from_secs(4 * 3600);
/// Default `max_age`: how long a message is retried before it is given up.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// Default `resend` of the `alertmanager` kind.
pub const DEFAULT_RESEND: Duration = Duration::from_secs(60);
/// Default `timeout` of one delivery attempt.
pub const DEFAULT_NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);

/// One `[[notify]]` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct NotifyConfig {
    /// Unique name, `[A-Za-z0-9_.-]+`; the key of its delivery cursor.
    pub name: String,
    /// Where and how it sends.
    pub kind: NotifierKind,
    /// Labels whose values form a group; one message per group.
    pub group_by: Vec<String>,
    /// How long a new group waits for more alerts before its first message.
    pub group_wait: Duration,
    /// Least time between two messages of one group.
    pub group_interval: Duration,
    /// A group that is still firing is sent again after this long.
    pub repeat_interval: Duration,
    /// Whether resolutions are sent.
    pub send_resolved: bool,
    /// Timeout of one delivery attempt.
    pub timeout: Duration,
    /// Retries of one delivery attempt.
    pub retry: RetryConfig,
    /// The notifier's own circuit breaker.
    pub circuit: CircuitConfig,
    /// Label filter: every label listed must match one of its patterns (exact or
    /// glob with `*`). Empty: every alert.
    pub matchers: BTreeMap<String, Vec<String>>,
    /// A message not accepted within this long is given up (`notification_failed`).
    pub max_age: Duration,
    /// Base URL of the dashboard for links; default `http://<listen>/`.
    pub dashboard_url: Option<String>,
}

/// The kind of a notifier and its endpoint.
#[derive(Clone, Debug, PartialEq)]
pub enum NotifierKind {
    /// JSON POST, signed with HMAC-SHA256 when `secret` is set.
    Webhook { url: String, secret: Option<Secret> },
    /// Slack incoming webhook.
    Slack { url: String },
    /// SMTP.
    Email(EmailConfig),
    /// Prometheus Alertmanager API v2, every peer of a cluster.
    Alertmanager { urls: Vec<String>, resend: Duration },
}

impl NotifierKind {
    /// The config spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            NotifierKind::Webhook { .. } => "webhook",
            NotifierKind::Slack { .. } => "slack",
            NotifierKind::Email(_) => "email",
            NotifierKind::Alertmanager { .. } => "alertmanager",
        }
    }
}

/// How the SMTP connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtps://`: TLS from the first byte.
    Tls,
    /// `smtp://` with `starttls = true`: STARTTLS or fail.
    StartTlsRequired,
    /// `smtp://`: STARTTLS when the server offers it.
    StartTlsOpportunistic,
}

/// An `email` notifier.
#[derive(Clone, Debug, PartialEq)]
pub struct EmailConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub from: String,
    pub to: Vec<String>,
    /// CA certificates the server's certificate may chain to, besides the public
    /// roots (`ca = "/path/ca.pem"`, for an internal CA).
    pub ca: Option<CaFile>,
}

/// A PEM file of CA certificates, read when the configuration is loaded (so a
/// reload notices a changed file).
#[derive(Clone, PartialEq)]
pub struct CaFile {
    pub path: PathBuf,
    /// The file's content: one or more `-----BEGIN CERTIFICATE-----` blocks.
    pub pem: Vec<u8>,
}

impl std::fmt::Debug for CaFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaFile").field("path", &self.path).finish()
    }
}

impl NotifyConfig {
    /// A notifier of `kind` with every default, for code and tests.
    pub fn new(name: &str, kind: NotifierKind) -> NotifyConfig {
        NotifyConfig {
            name: name.to_string(),
            kind,
            group_by: vec![DEFAULT_GROUP_BY.to_string()],
            group_wait: DEFAULT_GROUP_WAIT,
            group_interval: DEFAULT_GROUP_INTERVAL,
            repeat_interval: DEFAULT_REPEAT_INTERVAL,
            send_resolved: true,
            timeout: DEFAULT_NOTIFY_TIMEOUT,
            retry: RetryConfig::default(),
            circuit: CircuitConfig::default(),
            matchers: BTreeMap::new(),
            max_age: DEFAULT_MAX_AGE,
            dashboard_url: None,
        }
    }
}
