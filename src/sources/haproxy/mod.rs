//! HAProxy sources.
pub mod agent;
