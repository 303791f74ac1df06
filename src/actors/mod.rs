//! The actors: the fleet supervisor, one poller per target, and the status actor
//! with its redb store.

pub mod alert_store;
mod batch;
pub mod cycle;
pub mod drift_table;
pub mod fleet;
pub mod hub;
pub mod liveness;
pub mod outcome;
pub mod poll_times;
pub mod poller;
pub mod reload;
pub mod server_action;
pub mod specs;
pub mod status;
pub mod status_alerts;
pub mod store;
