//! Eureka sources: the native REST API and FAgent.
pub mod agent;
pub mod json;
