//! Tests of the stats CSV parser against every CSV capture in
//! `tests/fixtures/haproxy` (HAProxy 2.6.12); synthetic cases are in `csv_edge_tests.rs`.

use super::*;
use crate::model::ServerState;

/// Read at run time, relative to the package root (where cargo runs tests).
const DIR: &str = "tests/fixtures/haproxy/";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{DIR}{name}")).unwrap()
}

fn table(name: &str) -> CsvTable {
    parse(fixture(name).as_bytes()).unwrap()
}

fn names(samples: &[ServerSample]) -> Vec<&str> {
    samples.iter().map(|s| s.name.as_str()).collect()
}

fn statuses(samples: &[ServerSample]) -> Vec<&str> {
    samples.iter().map(|s| &*s.status).collect()
}

fn server<'a>(samples: &'a [ServerSample], name: &str) -> &'a ServerSample {
    samples.iter().find(|s| s.name == name).unwrap()
}

const ALL_BACKENDS: [&str; 12] = [
    "be_app",
    "be_app_canary",
    "be_nolb",
    "be_l7sts",
    "be_l7",
    "be_tcp",
    "be_agent",
    "be_nocheck",
    "be_track",
    "be_down",
    "be_flap",
    "be_hana",
];

/// Rows expected in each CSV capture; the test fails when a capture is missing here.
const ROWS: [(&str, usize); 14] = [
    ("cli_show_stat.csv", 37),
    ("cli_show_stat_after_admin_actions.csv", 37),
    ("cli_show_stat_backends_only.csv", 12),
    ("cli_show_stat_be_app_servers_up.csv", 3),
    ("cli_show_stat_be_flap_transitions.csv", 16),
    ("cli_show_stat_proxy_be_app.csv", 5),
    ("cli_show_stat_servers_only.csv", 21),
    ("http_stats.csv", 37),
    ("http_stats_after_admin_actions.csv", 37),
    ("http_stats_norefresh.csv", 37),
    ("http_stats_scope_be_app.csv", 7),
    ("http_stats_scope_be_tcp.csv", 3),
    ("http_stats_scope_nomatch.csv", 0),
    ("http_stats_up.csv", 26),
];

#[test]
fn every_csv_capture_parses_with_every_row() {
    let mut seen = 0;
    for entry in std::fs::read_dir(DIR).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.ends_with(".csv") {
            continue;
        }
        let want = ROWS.iter().find(|(n, _)| *n == name);
        let (_, rows) = want.unwrap_or_else(|| panic!("{name} has no expectation"));
        let t = table(&name);
        assert_eq!(t.rows().len(), *rows, "{name}");
        assert_eq!(t.skipped_rows, 0, "{name}");
        assert_eq!(t.columns().len(), 129, "{name}: 128 names + trailing empty");
        assert_eq!(t.columns()[0], "pxname");
        assert_eq!(t.columns()[103], "-");
        assert!(t.has_column("h1_spliced_bytes_out") && t.has_column("agg_check_status"));
        seen += 1;
    }
    assert_eq!(seen, ROWS.len());
}

#[test]
fn show_stat_servers_per_backend() {
    let t = table("cli_show_stat.csv");
    let counts = [4, 1, 1, 1, 2, 2, 3, 2, 1, 2, 1, 1];
    for (backend, count) in ALL_BACKENDS.iter().zip(counts) {
        let servers = servers_of(&t, backend).unwrap();
        assert_eq!(servers.len(), count, "{backend}");
        assert!(servers.iter().all(|s| s.addr.is_some()), "{backend}");
    }
    let app = servers_of(&t, "be_app").unwrap();
    assert_eq!(names(&app), ["app1", "app2", "app3", "app4"]);
    assert_eq!(statuses(&app), ["UP", "UP", "DOWN", "UP"]);
    let app1 = server(&app, "app1");
    assert_eq!(app1.weight, Some(100));
    assert_eq!(app1.check_status.as_deref(), Some("L7OK"));
    assert_eq!(app1.last_change_s, Some(8));
    assert_eq!(app1.addr.as_deref(), Some("127.0.0.1:18101"));
    let agent = servers_of(&t, "be_agent").unwrap();
    assert_eq!(statuses(&agent), ["UP", "DRAIN (agent)", "DOWN (agent)"]);
    assert_eq!(agent[0].weight, Some(75));
    let nocheck = servers_of(&t, "be_nocheck").unwrap();
    assert_eq!(statuses(&nocheck), ["no check", "MAINT"]);
    assert_eq!(nocheck[0].check_status, None);
    let nolb = servers_of(&t, "be_nolb").unwrap();
    assert_eq!(statuses(&nolb), ["NOLB"]);
    assert_eq!(nolb[0].check_status.as_deref(), Some("L7OKC"));
    let l7 = servers_of(&t, "be_l7").unwrap();
    assert_eq!(l7[0].check_status.as_deref(), Some("L7TOUT"));
    assert_eq!(l7[1].check_status.as_deref(), Some("L7RSP"));
}

#[test]
fn hana_row_with_u64_max_check_duration_parses() {
    for name in [
        "cli_show_stat.csv",
        "http_stats.csv",
        "http_stats_norefresh.csv",
    ] {
        let t = table(name);
        let row = t.rows().iter().find(|r| r.svname() == "hana1").unwrap();
        assert_eq!(row.get_u64("check_duration"), Some(u64::MAX), "{name}");
        assert_eq!(
            row.get("last_chk"),
            Some("Detected 2 consecutive errors, last one was: Wrong http response")
        );
        assert_eq!(row.get("check_desc"), Some("Health analyze"));
        let hana = servers_of(&t, "be_hana").unwrap();
        assert_eq!(statuses(&hana), ["DOWN"]);
        assert_eq!(hana[0].check_status.as_deref(), Some("HANA"));
    }
}

#[test]
fn after_admin_actions_statuses_are_kept_as_written() {
    for name in [
        "cli_show_stat_after_admin_actions.csv",
        "http_stats_after_admin_actions.csv",
    ] {
        let t = table(name);
        let app = servers_of(&t, "be_app").unwrap();
        assert_eq!(
            statuses(&app),
            ["MAINT", "DRAIN", "DOWN", "MAINT"],
            "{name}"
        );
        assert_eq!(app[0].check_status, None, "no check status while in MAINT");
        let track = servers_of(&t, "be_track").unwrap();
        assert_eq!(statuses(&track), ["MAINT (via be_app/app1)"]);
        let canary = servers_of(&t, "be_app_canary").unwrap();
        assert_eq!(statuses(&canary), ["no check"]);
        assert_eq!(servers_of(&t, "be_tcp").unwrap()[0].weight, Some(7));
        let agent = servers_of(&t, "be_agent").unwrap();
        assert_eq!(statuses(&agent), ["UP", "DRAIN", "DOWN (agent)"]);
        let nocheck = servers_of(&t, "be_nocheck").unwrap();
        assert_eq!(statuses(&nocheck), ["DOWN", "MAINT"]);
        assert_eq!(&*servers_of(&t, "be_nolb").unwrap()[0].status, "NOLB");
    }
}

#[test]
fn http_stats_page_has_no_addresses() {
    let t = table("http_stats.csv");
    let app = servers_of(&t, "be_app").unwrap();
    assert!(app.iter().all(|s| s.addr.is_none()));
    assert_eq!(statuses(&app), ["UP", "UP", "DOWN", "UP"]);
    let l7 = servers_of(&t, "be_l7").unwrap();
    assert_eq!(
        l7[0].check_status.as_deref(),
        Some("* L7TOUT"),
        "check running"
    );
}

#[test]
fn scope_substring_match_is_filtered_to_the_exact_backend() {
    let t = table("http_stats_scope_be_app.csv");
    let app = servers_of(&t, "be_app").unwrap();
    assert_eq!(names(&app), ["app1", "app2", "app3", "app4"]);
    let canary = servers_of(&t, "be_app_canary").unwrap();
    assert_eq!(names(&canary), ["canary1"]);
    assert_eq!(servers_of(&t, "BE_APP"), None, "names match exactly");
    assert_eq!(servers_of(&t, "be_ap"), None);
    assert_eq!(backends(&t), ["be_app", "be_app_canary"]);
    let tcp = table("http_stats_scope_be_tcp.csv");
    assert_eq!(
        statuses(&servers_of(&tcp, "be_tcp").unwrap()),
        ["UP", "DOWN"]
    );
}

#[test]
fn unknown_backends_and_frontends_are_none() {
    let t = table("cli_show_stat.csv");
    for name in ["nosuch", "fe_web", "stats", "FRONTEND", ""] {
        assert_eq!(servers_of(&t, name), None, "{name}");
    }
    let nomatch = table("http_stats_scope_nomatch.csv");
    assert_eq!(servers_of(&nomatch, "be_app"), None);
    assert!(backends(&nomatch).is_empty());
}

#[test]
fn flap_transitions_keep_every_status_and_the_running_check_marker() {
    let t = table("cli_show_stat_be_flap_transitions.csv");
    let flap = servers_of(&t, "be_flap").expect("server rows alone are enough");
    let want = [
        "DOWN", "DOWN 1/3", "DOWN 1/3", "DOWN 2/3", "UP", "UP", "UP", "UP", "UP", "UP 2/3",
        "UP 2/3", "UP 1/3", "DOWN", "DOWN 1/3", "DOWN 2/3", "DOWN",
    ];
    assert_eq!(statuses(&flap), want);
    assert_eq!(flap[2].check_status.as_deref(), Some("* L7OK"));
    assert_eq!(flap[1].check_status.as_deref(), Some("L7OK"));
    let throttle: Vec<_> = t.rows().iter().map(|r| r.get_u64("throttle")).collect();
    assert_eq!(throttle[4], Some(7));
    assert_eq!(throttle[8], Some(32));
    assert_eq!(throttle[0], None);
    for s in &flap {
        assert_ne!(
            ServerState::from_haproxy_status(&s.status),
            ServerState::Unknown
        );
    }
}

#[test]
fn up_only_and_filtered_outputs() {
    let up = table("http_stats_up.csv");
    assert_eq!(
        names(&servers_of(&up, "be_app").unwrap()),
        ["app1", "app2", "app4"]
    );
    assert_eq!(
        servers_of(&up, "be_l7"),
        Some(vec![]),
        "BACKEND row, servers hidden"
    );
    assert_eq!(backends(&up), ALL_BACKENDS);
    let be_up = table("cli_show_stat_be_app_servers_up.csv");
    let app = servers_of(&be_up, "be_app").unwrap();
    assert_eq!(names(&app), ["app1", "app2", "app4"]);
    let proxy = table("cli_show_stat_proxy_be_app.csv");
    assert_eq!(servers_of(&proxy, "be_app").unwrap().len(), 4);
    assert_eq!(backends(&proxy), ["be_app"]);
    let servers_only = table("cli_show_stat_servers_only.csv");
    assert_eq!(servers_of(&servers_only, "be_agent").unwrap().len(), 3);
    assert!(backends(&servers_only).is_empty(), "no BACKEND rows");
}

#[test]
fn backends_exclude_frontends_and_the_stats_frontend() {
    for name in [
        "cli_show_stat.csv",
        "cli_show_stat_after_admin_actions.csv",
        "cli_show_stat_backends_only.csv",
        "http_stats.csv",
        "http_stats_norefresh.csv",
    ] {
        assert_eq!(backends(&table(name)), ALL_BACKENDS, "{name}");
    }
}

#[test]
fn row_kinds_come_from_the_type_column() {
    let t = table("cli_show_stat.csv");
    let kind = |px: &str, sv: &str| {
        let row = t
            .rows()
            .iter()
            .find(|r| r.pxname() == px && r.svname() == sv);
        row.unwrap().kind()
    };
    assert_eq!(kind("stats", "FRONTEND"), RowKind::Frontend);
    assert_eq!(kind("fe_web", "web_plain"), RowKind::Listener);
    assert_eq!(kind("be_app", "app1"), RowKind::Server);
    assert_eq!(kind("be_app", "BACKEND"), RowKind::Backend);
}

#[test]
fn multi_command_answer_parses_its_csv_block() {
    let text = fixture("cli_multi_command_show_info_show_stat.txt");
    let (info, stat) = text.split_once("\n\n").unwrap();
    assert!(
        parse(info.as_bytes())
            .unwrap_err()
            .contains("Name: HAProxy")
    );
    let t = parse(stat.as_bytes()).unwrap();
    assert_eq!(t.rows().len(), 12);
    assert_eq!(backends(&t), ALL_BACKENDS);
}

#[test]
fn answers_that_are_not_csv_are_clear_errors() {
    let html = parse(fixture("http_stats_401_body.html").as_bytes()).unwrap_err();
    assert!(html.contains("not HAProxy stats CSV") && html.contains("401 Unauthorized"));
    let proxy = parse(fixture("cli_show_stat_unknown_proxy.txt").as_bytes()).unwrap_err();
    assert!(proxy.contains("No such proxy."), "{proxy}");
    assert!(parse(b"").unwrap_err().contains("empty"));
    assert!(parse(b"\n\n").unwrap_err().contains("empty"));
    let map = parse(b"# id (file) description\n4 (/srv/hafix/routes.map) x\n\n").unwrap_err();
    assert!(map.contains("pxname"), "{map}");
    let long = "x".repeat(500);
    assert!(parse(long.as_bytes()).unwrap_err().len() < 200);
}

#[test]
fn crlf_line_ends_give_the_same_table() {
    let lf = fixture("http_stats.csv");
    let crlf = lf.replace('\n', "\r\n");
    assert_eq!(
        parse(crlf.as_bytes()).unwrap(),
        parse(lf.as_bytes()).unwrap()
    );
}
/// Columns are found by name: the same capture with its columns reversed gives the
/// same servers.
#[test]
fn columns_are_found_by_name_not_position() {
    let t = table("cli_show_stat.csv");
    let quote = |c: &str| {
        if c.contains(',') || c.contains('"') {
            format!("\"{}\"", c.replace('"', "\"\""))
        } else {
            c.to_string()
        }
    };
    let mut out = String::from("# ");
    let line = |cells: Vec<String>| cells.into_iter().rev().collect::<Vec<_>>().join(",");
    out += &line(t.columns().to_vec());
    for row in t.rows() {
        let cells = t.columns().iter().map(|c| quote(row.get(c).unwrap_or("")));
        out += &format!("\n{}", line(cells.collect()));
    }
    let reversed = parse(out.as_bytes()).unwrap();
    assert_eq!(reversed.skipped_rows, 0);
    for backend in ALL_BACKENDS {
        assert_eq!(servers_of(&reversed, backend), servers_of(&t, backend));
    }
    assert_eq!(backends(&reversed), ALL_BACKENDS);
}

#[test]
fn the_one_pass_index_matches_servers_of_for_every_backend() {
    for name in [
        "cli_show_stat.csv",
        "http_stats.csv",
        "cli_show_stat_after_admin_actions.csv",
    ] {
        let t = table(name);
        let index = servers_by_backend(&t);
        for b in backends(&t) {
            assert_eq!(index.get(&b), backend_of(&t, &b).as_ref(), "{name} {b}");
        }
        assert!(
            !index.contains_key("stats") && !index.contains_key("fe_main"),
            "{name}"
        );
    }
}

#[test]
fn the_backend_row_gives_the_backend_status_without_its_count() {
    let status = |name: &str, b: &str| backend_of(&table(name), b).and_then(|s| s.status);
    assert_eq!(status("cli_show_stat.csv", "be_app").as_deref(), Some("UP"));
    assert_eq!(
        status("cli_show_stat.csv", "be_down").as_deref(),
        Some("DOWN")
    );
    let after = "cli_show_stat_after_admin_actions.csv";
    assert_eq!(status(after, "be_app").as_deref(), Some("DOWN"));
    assert_eq!(status("http_stats_up.csv", "be_app").as_deref(), Some("UP"));
    assert_eq!(
        status("http_stats_up.csv", "be_l7").as_deref(),
        Some("DOWN")
    );
    let index = servers_by_backend(&table("http_stats_up.csv"));
    assert_eq!(index["be_tcp"].status.as_deref(), Some("UP"));
    let servers_only = table("cli_show_stat_servers_only.csv");
    let sample = backend_of(&servers_only, "be_app").expect("server rows alone");
    assert_eq!(sample.status, None, "no BACKEND row, no status");
}
