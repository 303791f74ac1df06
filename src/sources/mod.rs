//! Protocol clients and parsers for every kind of source.

pub mod client;
mod count;
pub mod eureka;
pub mod fagent;
pub mod haproxy;

/// Why a fetch failed: a [`FetchErrorKind`] that decisions (retry, admin answers) are
/// made on, and a message an operator can act on, which nothing reads back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FetchError {
    pub kind: FetchErrorKind,
    /// Names the source and the cause, e.g.
    /// `connection refused to agent fdmz01 (127.0.0.1:11011)`.
    pub message: String,
}

impl FetchError {
    /// An error of `kind` described by `message`.
    pub fn new(kind: FetchErrorKind, message: impl Into<String>) -> FetchError {
        FetchError {
            kind,
            message: message.into(),
        }
    }

    /// Worth retrying within the same poll.
    pub fn is_transient(&self) -> bool {
        self.kind.is_transient()
    }
}

/// What kind of failure a fetch (or a command to a source) met.
///
/// To add a kind: add the variant here with its doc, decide in
/// [`FetchErrorKind::is_transient`] whether a retry may help, and build it where the
/// failure is detected (`sources/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchErrorKind {
    /// No (complete) answer within the timeout.
    Timeout,
    /// The connection was refused.
    Refused,
    /// Any other failure to connect: name resolution, unreachable, missing socket,
    /// permission denied on the socket.
    Connect,
    /// The connection failed during the exchange, or closed before the end of the
    /// answer.
    Transport,
    /// The source answered with an HTTP status other than 2xx, 401 and 403.
    HttpStatus(u16),
    /// The source refused the credentials, or asked for some (HTTP 401 / 403).
    Auth,
    /// The source says it is temporarily unable to answer (FAgent's `502`/`503`, or
    /// an FAgent error envelope sent with an HTTP 5xx).
    Unavailable,
    /// The source says what was asked for does not exist (FAgent's `404`, the Runtime
    /// API's `No such ...`, a backend missing from the stats).
    NotFound,
    /// The source reported an error of its own (an FAgent error envelope with its
    /// `status_code`, a Runtime API error line).
    Reported { code: Option<u16> },
    /// The answer is not in the documented format.
    Protocol,
    /// The answer is larger than watchpost accepts.
    TooLarge,
    /// The source cannot be used as configured.
    Invalid,
    /// The shared fetch this poll waited for was abandoned.
    Abandoned,
    /// The connection could not be secured as configured: the TLS handshake failed
    /// (e.g. an untrusted certificate), or the peer does not offer TLS where the
    /// configuration requires it (SMTP `starttls = true`). Nothing was sent in the
    /// clear.
    Tls,
}

impl FetchErrorKind {
    /// Whether retrying within the same poll may succeed: connection problems,
    /// timeouts, HTTP 5xx and a source that says it is unavailable.
    pub fn is_transient(self) -> bool {
        match self {
            FetchErrorKind::Timeout
            | FetchErrorKind::Refused
            | FetchErrorKind::Connect
            | FetchErrorKind::Transport
            | FetchErrorKind::Unavailable
            | FetchErrorKind::Abandoned => true,
            FetchErrorKind::HttpStatus(code) => (500..600).contains(&code),
            FetchErrorKind::Auth
            | FetchErrorKind::NotFound
            | FetchErrorKind::Reported { .. }
            | FetchErrorKind::Protocol
            | FetchErrorKind::TooLarge
            | FetchErrorKind::Invalid
            | FetchErrorKind::Tls => false,
        }
    }
}

impl FetchErrorKind {
    /// The kind without its details, as events and the history report it.
    pub fn failure_kind(self) -> FailureKind {
        match self {
            FetchErrorKind::Timeout => FailureKind::Timeout,
            FetchErrorKind::Refused => FailureKind::Refused,
            FetchErrorKind::Connect => FailureKind::Connect,
            FetchErrorKind::Transport => FailureKind::Transport,
            FetchErrorKind::HttpStatus(_) => FailureKind::HttpStatus,
            FetchErrorKind::Auth => FailureKind::Auth,
            FetchErrorKind::Unavailable => FailureKind::Unavailable,
            FetchErrorKind::NotFound => FailureKind::NotFound,
            FetchErrorKind::Reported { .. } => FailureKind::Reported,
            FetchErrorKind::Protocol => FailureKind::Protocol,
            FetchErrorKind::TooLarge => FailureKind::TooLarge,
            FetchErrorKind::Invalid => FailureKind::Invalid,
            FetchErrorKind::Abandoned => FailureKind::Abandoned,
            FetchErrorKind::Tls => FailureKind::Tls,
        }
    }
}

/// What kind of failure a fetch met, without its details (the HTTP status or the
/// code a source reported are in the error text): the `kind` of a `fetch_failed`
/// event and the `error_kind` of an outage in `GET /api/history`.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    Timeout,
    Refused,
    Connect,
    Transport,
    HttpStatus,
    Auth,
    Unavailable,
    NotFound,
    Reported,
    Protocol,
    TooLarge,
    Invalid,
    Abandoned,
    Tls,
}

impl FailureKind {
    /// The snake_case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Timeout => "timeout",
            FailureKind::Refused => "refused",
            FailureKind::Connect => "connect",
            FailureKind::Transport => "transport",
            FailureKind::HttpStatus => "http_status",
            FailureKind::Auth => "auth",
            FailureKind::Unavailable => "unavailable",
            FailureKind::NotFound => "not_found",
            FailureKind::Reported => "reported",
            FailureKind::Protocol => "protocol",
            FailureKind::TooLarge => "too_large",
            FailureKind::Invalid => "invalid",
            FailureKind::Abandoned => "abandoned",
            FailureKind::Tls => "tls",
        }
    }
}

/// A failure reported by, or while reading, an FAgent answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    /// The envelope said `"success": false`.
    #[error("agent error {status_code:?}: {error}")]
    Envelope {
        status_code: Option<u16>,
        error: String,
    },
    /// The body is not the documented JSON shape.
    #[error("{0}")]
    Malformed(String),
    /// The answer holds more entries than the configured limit allows; says which
    /// limit.
    #[error("{0}")]
    TooLarge(String),
}

/// The error for an answer with more than `limit` entries of `what` (`servers in
/// backend web`, `instances`), naming the key that sets the limit.
pub(crate) fn too_many(what: &str, limit: usize, key: &str) -> AgentError {
    AgentError::TooLarge(format!(
        "too large: more than {limit} {what} (the limit set by `{key}`)"
    ))
}
