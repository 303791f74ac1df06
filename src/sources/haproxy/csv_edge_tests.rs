//! Edge cases of the stats CSV parser on synthetic input: quoting, odd rows, missing
//! columns, the stats-listener rule of `backends`, and arbitrary bytes.

use proptest::prelude::*;

use super::*;

fn names(samples: &[ServerSample]) -> Vec<&str> {
    samples.iter().map(|s| s.name.as_str()).collect()
}

#[test]
fn quoted_cells_and_mismatched_rows() {
    let body = "# pxname,svname,status,last_chk,type,\n\
        be,s1,UP,\"say \"\"hi\"\", twice\",2,\n\
        be,s2,DOWN,\"two\nlines\",2,\n\
        be,short,UP,2,\n\
        be,BACKEND,UP,,1,\n";
    let t = parse(body.as_bytes()).unwrap();
    assert_eq!(t.skipped_rows, 1);
    assert_eq!(t.rows()[0].get("last_chk"), Some("say \"hi\", twice"));
    assert_eq!(t.rows()[1].get("last_chk"), Some("two\nlines"));
    assert_eq!(t.rows()[2].get("last_chk"), None);
    assert_eq!(t.rows()[2].get("no_such_column"), None);
    let servers = servers_of(&t, "be").unwrap();
    assert_eq!(names(&servers), ["s1", "s2"]);
    assert_eq!(servers[0].weight, None, "no weight column");
}

#[test]
fn without_type_column_kind_comes_from_svname() {
    let t = parse(b"# pxname,svname,status\nbe,a,UP\nbe,BACKEND,UP\nfe,FRONTEND,OPEN\n").unwrap();
    let kinds: Vec<_> = t.rows().iter().map(Row::kind).collect();
    assert_eq!(
        kinds,
        [RowKind::Server, RowKind::Backend, RowKind::Frontend]
    );
    assert_eq!(backends(&t), ["be"]);
    let odd = parse(b"# pxname,svname,type\nbe,x,7\nbe,y,\nbe,BACKEND,\n").unwrap();
    let kinds: Vec<_> = odd.rows().iter().map(Row::kind).collect();
    assert_eq!(kinds, [RowKind::Other, RowKind::Other, RowKind::Backend]);
}

#[test]
fn values_that_do_not_fit_never_fail() {
    let body = "# pxname,svname,status,weight,lastchg,type,\n\
        be,a,,99999999999,-1,2,\n\
        be,,UP,1,1,2,\n\
        be,BACKEND,UP,1,1,1,\n";
    let servers = servers_of(&parse(body.as_bytes()).unwrap(), "be").unwrap();
    assert_eq!(servers.len(), 1, "the nameless row is dropped");
    assert_eq!(&*servers[0].status, "UNKNOWN");
    assert_eq!((servers[0].weight, servers[0].last_change_s), (None, None));
}

/// `listen` sections, internal proxies and the stats-listener rule of [`backends`].
#[test]
fn backends_skip_stats_listen_and_internal_proxies() {
    let body = "# pxname,svname,status,downtime,type,mode,\n\
        stats,FRONTEND,OPEN,,0,http,\n\
        stats,BACKEND,UP,,1,http,\n\
        web,FRONTEND,OPEN,,0,http,\n\
        web,w1,UP,0,2,http,\n\
        web,BACKEND,UP,0,1,http,\n\
        tcpl,FRONTEND,OPEN,,0,tcp,\n\
        tcpl,BACKEND,UP,,1,tcp,\n\
        hidden,FRONTEND,OPEN,,0,http,\n\
        hidden,BACKEND,DOWN (0/2),,1,http,\n\
        nodown,FRONTEND,OPEN,,0,http,\n\
        nodown,BACKEND,DOWN,0,1,http,\n\
        empty_be,BACKEND,UP,,1,http,\n\
        GLOBAL,BACKEND,UP,,1,http,\n\
        MASTER,BACKEND,UP,,1,tcp,\n\
        <HTTPCLIENT>,BACKEND,UP,,1,http,\n\
        web,BACKEND,UP,0,1,http,\n";
    let t = parse(body.as_bytes()).unwrap();
    assert_eq!(
        backends(&t),
        ["web", "tcpl", "hidden", "nodown", "empty_be"]
    );
    assert_eq!(servers_of(&t, "stats"), Some(vec![]));
}

proptest! {
    #[test]
    fn parse_never_panics(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(t) = parse(&body) {
            let _ = backends(&t);
            let _ = servers_of(&t, "be");
            for row in t.rows() {
                let _ = (row.kind(), row.pxname(), row.svname());
            }
        }
    }

    #[test]
    fn csv_like_text_never_panics(body in "[#a-z,\"\r\n 0-9/()]{0,300}") {
        if let Ok(t) = parse(body.as_bytes()) {
            let _ = backends(&t);
            let _ = servers_of(&t, "a");
        }
    }

    #[test]
    fn quoted_cells_round_trip(cells in proptest::collection::vec("[a-z\",\n ]{0,12}", 1..6)) {
        let header: Vec<String> = (0..cells.len()).map(|i| format!("c{i}")).collect();
        let encoded: Vec<String> = cells
            .iter()
            .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
            .collect();
        let body = format!("# pxname,svname,{},\nbe,s,{},\n", header.join(","), encoded.join(","));
        let t = parse(body.as_bytes()).unwrap();
        prop_assert_eq!(t.rows().len(), 1);
        for (name, cell) in header.iter().zip(&cells) {
            let want = (!cell.is_empty()).then_some(cell.as_str());
            prop_assert_eq!(t.rows()[0].get(name), want);
        }
    }
}

#[test]
fn a_header_far_wider_than_haproxys_is_refused_before_it_is_read() {
    let wide = (0..MAX_COLUMNS)
        .map(|i| format!(",x{i}"))
        .collect::<String>();
    let body = format!("# pxname,svname,status,type{wide}\n");
    let err = parse(body.as_bytes()).expect_err("refused");
    assert!(
        err.contains(&format!("{} columns", MAX_COLUMNS + 4)),
        "says how wide: {err}"
    );
    let fits = (0..MAX_COLUMNS - 4)
        .map(|i| format!(",x{i}"))
        .collect::<String>();
    let body = format!("# pxname,svname,status,type{fits}\n");
    assert!(
        parse(body.as_bytes()).is_ok(),
        "{MAX_COLUMNS} columns are read"
    );
}

#[test]
fn a_quoted_row_far_wider_than_the_header_is_skipped() {
    let extra = ",\"x\"".repeat(100_000);
    let body = format!("# pxname,svname,status,type\nbe,s1,\"UP\",2{extra}\nbe,s2,UP,2\n");
    let t = parse(body.as_bytes()).unwrap();
    assert_eq!(t.skipped_rows, 1);
    assert_eq!(names(&servers_of(&t, "be").unwrap()), ["s2"]);
}
