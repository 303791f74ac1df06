//! The streaming reader against the whole-answer parser: same backends, servers,
//! statuses, discovery and errors, however the answer is cut into chunks.

use super::*;
use crate::model::{Payload, TargetState};
use crate::sources::haproxy::csv::{MAX_COLUMNS, backends, parse, servers_by_backend};
use proptest::prelude::*;

const DIR: &str = "tests/fixtures/haproxy/";

/// What the whole-answer parser makes of `body`: the index and the discovered
/// backends, or its error.
fn whole(body: &[u8]) -> Result<(HashMap<String, BackendSample>, Vec<String>), String> {
    let table = parse(body)?;
    Ok((servers_by_backend(&table), backends(&table)))
}

/// The same through the reader, fed the chunks `body` is cut into at `cuts`.
fn streamed(
    body: &[u8],
    cuts: &[usize],
) -> Result<(HashMap<String, BackendSample>, Vec<String>), String> {
    let mut index = Reader::new(BackendIndex::new(usize::MAX));
    let mut discovery = Reader::new(Discovery::default());
    let mut from = 0;
    for &cut in cuts.iter().chain([&body.len()]) {
        let cut = cut.clamp(from, body.len());
        index.feed(&body[from..cut]);
        discovery.feed(&body[from..cut]);
        from = cut;
    }
    let index = index.finish()?.into_map();
    let index = index
        .into_iter()
        .map(|(k, v)| (k.to_string(), Arc::unwrap_or_clone(v)))
        .collect();
    Ok((index, discovery.finish()?.names()))
}

/// Every position in the first rows (header and the first backends: every kind of
/// row cut at every byte), then every 41st.
fn cuts_of(len: usize) -> impl Iterator<Item = usize> {
    (0..len.min(1500)).chain((1500..=len).step_by(41))
}

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(DIR).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "csv") {
            out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    assert!(out.len() >= 10, "fixtures not found");
    out
}

#[test]
fn every_capture_reads_the_same_whole_and_in_two_chunks_cut_anywhere() {
    for (name, body) in fixtures() {
        let expected = whole(&body).unwrap();
        assert!(!expected.0.is_empty() || name.contains("nomatch"), "{name}");
        for cut in cuts_of(body.len()) {
            assert_eq!(
                streamed(&body, &[cut]),
                Ok(expected.clone()),
                "{name} cut at {cut}"
            );
        }
    }
}

#[test]
fn byte_by_byte_and_with_crlf_line_ends() {
    let body = std::fs::read(format!("{DIR}cli_show_stat.csv")).unwrap();
    let every: Vec<usize> = (0..body.len()).collect();
    assert_eq!(streamed(&body, &every), whole(&body));
    let crlf = String::from_utf8(body).unwrap().replace('\n', "\r\n");
    let expected = whole(crlf.as_bytes()).unwrap();
    assert!(expected.0["be_app"].servers.len() > 1);
    for cut in cuts_of(crlf.len()) {
        assert_eq!(streamed(crlf.as_bytes(), &[cut]), Ok(expected.clone()));
    }
}

#[test]
fn quoted_cells_with_commas_newlines_and_quotes_cut_anywhere() {
    let body = "\u{feff}# pxname,svname,type,status,check_status,\r\n\
        be,\"s,1\",2,UP,\"L7 \"\"OK\"\"\nsecond line\",\r\n\
        be,s2,2,\"DOWN\",x\"y,\n\
        \n  \t\n\
        be,BACKEND,1,\"UP (1/2)\",,\n\
        be,bad,2\n\
        \"be\",s3,2,MAINT,,\"unterminated, to the end";
    let expected = whole(body.as_bytes()).unwrap();
    let be = &expected.0["be"];
    assert_eq!(be.status.as_deref(), Some("UP"));
    let names: Vec<&str> = be.servers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["s,1", "s2", "s3"]);
    assert_eq!(
        be.servers[0].check_status.as_deref(),
        Some("L7 \"OK\"\nsecond line")
    );
    for a in 0..=body.len() {
        for b in (a..=body.len()).step_by(7) {
            let got = streamed(body.as_bytes(), &[a, b]);
            assert_eq!(got, Ok(expected.clone()), "cut at {a} and {b}");
        }
    }
}

#[test]
fn rows_of_the_wrong_width_are_skipped_and_counted() {
    let mut reader = Reader::new(BackendIndex::new(usize::MAX));
    reader.feed(b"# pxname,svname,type,status,\nbe,s1,2,UP,\nbe,s2,2,UP,extra,\nbe,s3\n");
    assert_eq!(reader.skipped_rows(), 2);
    let index = reader.finish().unwrap().into_map();
    assert_eq!(index["be"].servers.len(), 1);
}

#[test]
fn what_is_not_a_stats_csv_is_refused_with_the_parsers_words() {
    let wide = format!("# pxname,svname{}\n", ",x".repeat(MAX_COLUMNS));
    let html = format!("<html>{}</html>\n", "garbage ".repeat(100_000));
    let bodies: [&[u8]; 7] = [
        b"",
        b"\n\r\n  \n",
        b"No such proxy.\n\n",
        b"# svname,status\nbe,UP\n",
        b"\xEF\xBB",
        wide.as_bytes(),
        html.as_bytes(),
    ];
    for body in bodies {
        let expected = whole(body).expect_err("refused");
        for cut in [0, 1, 2, 3, body.len() / 2, body.len()] {
            assert_eq!(streamed(body, &[cut]), Err(expected.clone()));
        }
    }
}

#[test]
fn a_backend_keeps_one_server_past_the_limit() {
    let mut body = String::from("# pxname,svname,type,status,\nsmall,s1,2,UP,\n");
    for i in 0..50 {
        body.push_str(&format!("big,s{i},2,UP,\n"));
    }
    body.push_str("big,BACKEND,1,UP,\n");
    let mut reader = Reader::new(BackendIndex::new(3));
    for chunk in body.as_bytes().chunks(10) {
        reader.feed(chunk);
    }
    let index = reader.finish().unwrap().into_map();
    assert_eq!(index["big"].servers.len(), 4);
    assert_eq!(index["big"].status.as_deref(), Some("UP"));
    assert_eq!(index["small"].servers.len(), 1);
}

#[test]
fn a_long_line_in_small_chunks_is_searched_once() {
    // Quadratic searching would take minutes here; each byte is looked at once.
    let mut reader = Reader::new(BackendIndex::new(usize::MAX));
    reader.feed(b"# pxname,svname,type,status,check_status\nbe,s1,2,UP,\"");
    let chunk = vec![b'x'; 1024];
    for _ in 0..16 * 1024 {
        reader.feed(&chunk);
    }
    reader.feed(b"\"\n");
    let index = reader.finish().unwrap().into_map();
    assert_eq!(
        index["be"].servers[0]
            .check_status
            .as_ref()
            .map(|s| s.len()),
        Some(16 << 20)
    );
}

proptest! {
    #[test]
    fn any_text_reads_the_same_whole_and_in_chunks(
        body in "(# pxname,svname,type,status,weight,\n)?[a-c,\"\r\n 0-2BACKEND#]{0,200}",
        cuts in proptest::collection::vec(0usize..220, 0..4),
    ) {
        let mut cuts = cuts;
        cuts.sort_unstable();
        prop_assert_eq!(streamed(body.as_bytes(), &cuts), whole(body.as_bytes()));
    }

    #[test]
    fn any_bytes_read_the_same_whole_and_in_chunks(
        body in proptest::collection::vec(any::<u8>(), 0..300),
        cut in 0usize..300,
    ) {
        prop_assert_eq!(streamed(&body, &[cut]), whole(&body));
    }
}

/// What the reader makes of `body` (cut into chunks of 7 bytes) with `bases`.
fn reads(body: &str, bases: Bases) -> FastMap<Arc<str>, Payload> {
    let mut reader = Reader::new(BackendIndex::with_bases(usize::MAX, bases));
    for chunk in body.as_bytes().chunks(7) {
        reader.feed(chunk);
    }
    reader.finish().unwrap().into_reads()
}

/// A read with its servers in full.
fn in_full(read: &Payload) -> BackendSample {
    match read {
        Payload::Servers(sample) => (**sample).clone(),
        Payload::Same(same) => same.sample(),
        Payload::Applications(_) => panic!("not a backend's read"),
    }
}

/// The committed state of a backend that read `sample`.
fn committed(sample: &BackendSample) -> Arc<TargetState> {
    use crate::model::{Observation, ObservationKind, TargetKind, TargetMeta, Ts};
    let meta = TargetMeta {
        id: "t".into(),
        kind: TargetKind::HaproxyBackend,
        group: "lb".into(),
        source: crate::model::SourceKind::Socket,
        backend_name: Some("be".into()),
        failure_threshold: 3,
    };
    let obs = Observation {
        target: "t".into(),
        at: Ts(1),
        kind: ObservationKind::Fetched(Payload::Servers(Arc::new(sample.clone()))),
    };
    let next = crate::diff::diff(Some(&TargetState::new(&meta)), &obs).next;
    Arc::new(next.expect("a state"))
}

#[test]
fn a_backend_read_as_committed_is_the_same_and_any_difference_is_a_full_read() {
    let base = "# pxname,svname,type,status,weight,check_status,lastchg,addr,\n\
        be,s1,2,UP,1,L4OK,10,10.0.0.1:80,\nbe,s2,2,UP,1,L4OK,20,10.0.0.2:80,\n\
        be,BACKEND,1,UP,2,,5,,\nother,s1,2,UP,1,L4OK,7,10.0.0.9:80,\nother,BACKEND,1,UP,1,,5,,\n";
    let Payload::Servers(sample) = &reads(base, Bases::default())["be"] else {
        panic!("no basis, a full read");
    };
    let basis = committed(sample);
    let bases: Bases = Arc::new([("be".into(), basis.clone())].into_iter().collect());

    let moved = base.replace(",10,10.0.0.1", ",11,10.0.0.1");
    let got = reads(&moved, bases.clone());
    let Payload::Same(same) = &got["be"] else {
        panic!("only lastchg moved: {:?}", got["be"]);
    };
    assert!(Arc::ptr_eq(&same.basis, &basis));
    assert_eq!(&*same.last_change_s, &[Some(11), Some(20)]);
    let (key, _) = got.get_key_value("be").unwrap();
    let (given, _) = bases.get_key_value("be").unwrap();
    assert!(
        Arc::ptr_eq(key, given),
        "the basis's name is the read's, not a copy"
    );
    let Payload::Servers(plain) = &reads(&moved, Bases::default())["be"] else {
        panic!("no basis, a full read");
    };
    assert_eq!(same.sample(), **plain, "the same read, given back in full");
    assert!(matches!(got["other"], Payload::Servers(_)), "no basis");

    let changes = [
        base.replace("be,s2,2,UP", "be,s2,2,DOWN"),
        base.replace("be,s2,2,UP,1,", "be,s2,2,UP,0,"),
        base.replace("L4OK,20", "L4TOUT,20"),
        base.replace("10.0.0.2", "10.0.0.3"),
        base.replace("be,s2", "be,s9"),
        base.replace("be,BACKEND,1,UP", "be,BACKEND,1,DOWN"),
        base.replace("be,s2,2,UP,1,L4OK,20,10.0.0.2:80,\n", ""),
        base.replace("be,BACKEND", "be,s3,2,UP,1,L4OK,1,10.0.0.4:80,\nbe,BACKEND"),
        base.replace(
            "be,s1,2,UP,1,L4OK,10,10.0.0.1:80,\n",
            "be,s1,2,UP,1,L4OK,10,10.0.0.1:80,\nbe,,2,UP,,,,,\n",
        ),
    ];
    for (i, changed) in changes.iter().enumerate() {
        let got = reads(changed, bases.clone());
        let plain = reads(changed, Bases::default());
        assert_eq!(in_full(&got["be"]), in_full(&plain["be"]), "change {i}");
        let full = matches!(got["be"], Payload::Servers(_));
        // A row without a name is no server: skipped the same either way.
        assert_eq!(full, i != 8, "change {i}: {:?}", got["be"]);
    }
}
