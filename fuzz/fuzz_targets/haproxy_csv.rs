//! The stats CSV (stats page and `show stat`): parsing, discovery, and the two
//! ways of listing a backend's servers, which must agree.
#![no_main]
use libfuzzer_sys::fuzz_target;
use watchpost::sources::haproxy::csv;

fuzz_target!(|data: &[u8]| {
    let Ok(table) = csv::parse(data) else {
        return;
    };
    let index = csv::servers_by_backend(&table);
    for backend in csv::backends(&table).iter().take(16) {
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
