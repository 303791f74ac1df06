//! Eureka registry documents, JSON and XML, as the native source reads them.
#![no_main]
use libfuzzer_sys::fuzz_target;
use watchpost::sources::eureka;

fuzz_target!(|data: &[u8]| {
    let _ = eureka::parse_document(data, None);
    let _ = eureka::json::parse_document(data);
    let _ = eureka::xml::parse_document(data);
    let _ = eureka::json::apps_hashcode(data);
});
