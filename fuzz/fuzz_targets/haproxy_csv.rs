//! The stats CSV (stats page and `show stat`): parsing, discovery, the two ways
//! of listing a backend's servers, which must agree, and the streaming reader
//! (fed in two chunks cut where the first byte says), which must agree with them.
#![no_main]
use libfuzzer_sys::fuzz_target;
use watchpost::sources::haproxy::csv;
use watchpost::sources::haproxy::csv::stream::{BackendIndex, Discovery, Reader};

fuzz_target!(|data: &[u8]| {
    let cut = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let mut index = Reader::new(BackendIndex::new(usize::MAX));
    let mut discovery = Reader::new(Discovery::default());
    for chunk in [&data[..cut], &data[cut..]] {
        index.feed(chunk);
        discovery.feed(chunk);
    }
    let (streamed, found) = (index.finish(), discovery.finish());
    let Ok(table) = csv::parse(data) else {
        assert!(streamed.is_err() && found.is_err(), "the reader took what the parser refused");
        return;
    };
    let index = csv::servers_by_backend(&table);
    let streamed = streamed.expect("the reader refused what the parser took").into_map();
    assert_eq!(streamed.len(), index.len(), "the reader and the parser index differently");
    for (backend, sample) in streamed.iter().take(16) {
        assert_eq!(Some(&**sample), index.get(&**backend), "{backend:?} read differently");
    }
    let discovered = csv::backends(&table);
    assert_eq!(found.expect("discovery refused").names(), discovered);
    for backend in discovered.iter().take(16) {
        // Every discovered backend has a BACKEND row, so both listings know it.
        assert!(index.contains_key(backend.as_str()), "{backend:?} discovered but not indexed");
    }
    for (backend, sample) in index.iter().take(16) {
        let one = csv::backend_of(&table, backend).expect("indexed backend must be found");
        assert_eq!(&one, sample, "backend_of and servers_by_backend disagree on {backend:?}");
    }
    for row in table.rows().iter().take(64) {
        let _ = (row.pxname(), row.svname(), row.kind(), row.get_u64("weight"));
    }
});
