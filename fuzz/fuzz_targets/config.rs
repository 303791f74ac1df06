//! The configuration file, with `${VAR}` references resolved to a fixed value.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = |name: &str| (name.len() < 8).then(|| "value".to_string());
    let _ = watchpost::config::parse(text, "fuzz.toml", &env);
});
