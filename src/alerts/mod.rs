//! Alerting: which conditions deserve a human. Pure code beside [`crate::diff`]:
//! the committed state of a target in, its alerts and their transitions
//! (`alert_firing`, `alert_resolved`) out. The status actor runs it inside the
//! commit that carries the state, so an alert and its cause are durable together.
//!
//! - [`model`]: rules, severities, labels, alerts, silences.
//! - [`config`]: `[alerts]` settings and their defaults.
//! - [`conditions`]: which rule conditions hold for a state; what has no data.
//! - [`flap`]: state changes per subject and anti-flap.
//! - [`eval`]: the lifecycle pending → firing → resolved.
//! - [`silences`]: checking and applying silences and maintenance windows.

pub mod conditions;
pub mod config;
pub mod eval;
pub mod flap;
pub mod model;
pub mod silences;

pub use config::AlertsConfig;
pub use eval::{TargetAlerts, evaluate};
pub use model::{Alert, AlertState, AlertTransition, Labels, Rule, Severity, Silence};
