//! Runtime API answers: completeness, HAProxy's one-line errors, and
//! `show servers state`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use watchpost::sources::haproxy::{runtime, servers_state};

fuzz_target!(|data: &[u8]| {
    let _ = runtime::answer_complete(data);
    let _ = runtime::error_line(data);
    let _ = servers_state::parse(data);
});
