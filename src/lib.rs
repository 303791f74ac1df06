//! watchpost: a resilient polling daemon for HAProxy backends and Eureka registries.
//!
//! The flow of data:
//!
//! ```text
//! config ─► Fleet (supervisor) ─► one Poller per target ─► Source::fetch
//!                                         │ Observation
//!                                         ▼
//!                              Status actor: diff ─► redb commit ─► publish
//!                                                                 ├─► snapshot (HTTP reads)
//!                                                                 └─► event hub (WebSocket)
//! ```
//!
//! - [`config`]: the TOML file, validated with every error at once.
//! - [`sources`]: protocol code, bytes in, typed samples or a typed error out.
//! - [`diff`]: the pure state-transition function.
//! - [`drift`]: HAProxy ↔ Eureka drift and Eureka leases (pure, run inside each commit).
//! - [`alerts`]: the pure alert rules beside it (pending → firing → resolved, silences).
//! - [`actors`]: the fleet supervisor, pollers and the status actor with its store.
//! - [`http`]: the REST API.
//! - [`logging`]: text or JSON log lines on standard error.
//! - [`notify`]: notifiers reading committed alert transitions with a durable cursor.
//! - [`sim`]: simulated FAgent and Eureka servers for the demo and the tests.

#![forbid(unsafe_code)]

pub mod actors;
pub mod alerts;
pub mod breaker;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod diff;
pub mod drift;
pub mod ha;
pub mod http;
pub mod logging;
pub mod memory;
pub mod model;
pub mod notify;
pub mod retry;
pub mod sim;
pub mod sources;
#[doc(hidden)]
pub mod testkit;
