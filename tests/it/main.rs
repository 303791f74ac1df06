//! Integration tests, compiled as one binary: the daemon in-process on 127.0.0.1:0
//! against the simulated sources, and the `watchpost` binary itself.

mod admin;
mod alerts;
mod common;
mod dashboard;
mod drift;
mod drift_alerts;
mod eureka;
mod eureka_proto;
mod haproxy;
mod history;
mod limits;
mod metrics;
mod notify;
mod openapi;
mod polite;
mod polling;
mod process;
mod reload;
mod schema;
mod tls;
mod ws;
