//! TEMPORARY (in-process tests' author): compiles tests/it without `process` while
//! tests/it/process.rs and tests/it/process/mod.rs both exist. Will be deleted.
#[path = "it/common.rs"]
mod common;
#[path = "it/admin.rs"]
mod admin;
#[path = "it/eureka.rs"]
mod eureka;
#[path = "it/polling.rs"]
mod polling;
