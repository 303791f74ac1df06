//! Protocol clients and parsers for every kind of source.

pub mod client;
pub mod eureka;
pub mod fagent;
pub mod haproxy;

/// Why a fetch failed, in words an operator can act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FetchError {
    /// Names the source and the cause, e.g.
    /// `connection refused to agent fdmz01 (127.0.0.1:11011)`.
    pub message: String,
    /// Worth retrying within the same poll (connect failure, timeout, 5xx, agent 502/503).
    pub transient: bool,
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
}
