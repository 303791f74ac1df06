//! The JSON bodies of the admin calls: each handler's own parser
//! (`watchpost::http::bodies`), fed the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use watchpost::http::bodies;
use watchpost::model::Ts;

fuzz_target!(|data: &[u8]| {
    let _ = bodies::parse_server_state(data);
    let _ = bodies::parse_polling(data);
    let _ = bodies::parse_silence(data, "0123456789abcdef".into(), Ts(1_700_000_000_000));
    let _ = bodies::parse_transaction(data);
});
