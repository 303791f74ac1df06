//! What a WebSocket client sends: the query of `/ws`, then the bytes after the
//! handshake (input split at its first NUL byte), read as a live session reads them
//! (`watchpost::http::ws::read_client`).
#![no_main]
use libfuzzer_sys::fuzz_target;

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
}

fuzz_target!(|data: &[u8]| {
    let (query, frames) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&data[..0], data),
    };
    let query = String::from_utf8_lossy(query);
    let frames = frames.to_vec().into();
    RUNTIME.with(|rt| {
        let _ = rt.block_on(watchpost::http::ws::read_client(&query, frames));
    });
});
