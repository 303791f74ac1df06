//! The actors: the fleet supervisor, one poller per target, and the status actor
//! with its redb store.

pub mod alert_store;
mod batch;
pub mod cycle;
pub mod drift_table;
pub mod fleet;
pub mod fleet_haproxy;
pub mod hub;
pub mod instance;
pub mod liveness;
pub mod outcome;
pub mod poll_times;
pub mod poller;
pub mod push;
pub mod reload;
pub mod server_action;
pub mod specs;
pub mod status;
pub mod status_alerts;
pub mod store;
pub mod told;
pub mod transaction;
pub mod transaction_run;
#[cfg(test)]
mod transaction_tests;
pub mod txlog;
pub mod validate;
