//! HAProxy sources.
pub mod agent;
pub mod csv;
pub mod registry;
pub mod runtime;
pub mod servers_state;
pub mod socket;
pub mod stats;
