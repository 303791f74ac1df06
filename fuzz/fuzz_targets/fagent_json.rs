//! FAgent's JSON answers: backend lists, server lists and Eureka applications, each
//! also under a small limit (the first byte, 0 to 7), where the count that stops
//! early (`sources::count`) must agree with the full parse.
#![no_main]
use libfuzzer_sys::fuzz_target;
use watchpost::sources::{eureka, haproxy};

fuzz_target!(|data: &[u8]| {
    let _ = haproxy::agent::parse_backends(data);
    let limit = data.first().map_or(0, |b| usize::from(b % 8));
    let servers = haproxy::agent::parse_servers(data);
    let within = haproxy::agent::parse_servers_within(data, limit);
    if let Ok(few) = &within {
        assert_eq!(Ok(few), servers.as_ref(), "servers under the limit");
    }
    if servers.as_ref().is_ok_and(|all| all.len() > limit) {
        assert!(
            within.is_err(),
            "{} servers pass a limit of {limit}",
            servers.unwrap().len()
        );
    }
    let apps = eureka::agent::parse_apps(data);
    let within = eureka::agent::parse_apps_within(data, limit);
    if let Ok(few) = &within {
        assert_eq!(Ok(few), apps.as_ref(), "applications under the limit");
    }
});
