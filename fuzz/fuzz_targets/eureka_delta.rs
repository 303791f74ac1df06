//! Delta fetches: a full registry, then a delta applied to the local copy. The
//! input is split at its first NUL byte (full document, then the delta).
#![no_main]
use libfuzzer_sys::fuzz_target;
use watchpost::sources::eureka::{self, delta::DeltaState};

fuzz_target!(|data: &[u8]| {
    let (full, delta) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let Ok(full) = eureka::parse_document(full, None) else {
        return;
    };
    let state = DeltaState::new(true);
    state.replace(full.apps);
    if let Ok(delta) = eureka::parse_document(delta, None) {
        let _ = state.apply(&delta);
    }
});
