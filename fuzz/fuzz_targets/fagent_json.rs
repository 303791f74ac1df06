//! FAgent's JSON answers: backend lists, server lists and Eureka applications.
#![no_main]
use libfuzzer_sys::fuzz_target;
use watchpost::sources::{eureka, haproxy};

fuzz_target!(|data: &[u8]| {
    let _ = haproxy::agent::parse_backends(data);
    let _ = haproxy::agent::parse_servers(data);
    let _ = eureka::agent::parse_apps(data);
});
