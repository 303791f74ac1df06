//! Tests of the `show servers state` parser against the captures in
//! `tests/fixtures/haproxy`, and of the status reconstruction against the
//! `show stat` captures taken at the same moments.

use proptest::prelude::*;

use super::*;
use crate::model::ServerState;
use crate::sources::haproxy::csv;

/// Read at run time, relative to the package root (where cargo runs tests).
const DIR: &str = "tests/fixtures/haproxy/";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{DIR}{name}")).unwrap()
}

fn rows(name: &str) -> Vec<ServerStateRow> {
    parse(fixture(name).as_bytes()).unwrap()
}

fn row<'a>(rows: &'a [ServerStateRow], be: &str, srv: &str) -> &'a ServerStateRow {
    let found = rows.iter().find(|r| r.be_name == be && r.srv_name == srv);
    found.unwrap_or_else(|| panic!("{be}/{srv}"))
}

/// A server whose reconstructed status differs: (server, ours, HAProxy's).
type Difference = (&'static str, &'static str, &'static str);

/// Each servers-state capture, the `show stat` capture taken with it, and the servers
/// whose reconstructed status text differs from HAProxy's: (server, ours, HAProxy's).
const PAIRS: [(&str, &str, &[Difference]); 3] = [
    (
        "cli_show_servers_state.txt",
        "cli_show_stat.csv",
        &[("track1", "no check", "UP")],
    ),
    (
        "cli_show_servers_state_be_app.txt",
        "cli_show_stat_proxy_be_app.csv",
        &[],
    ),
    (
        "cli_show_servers_state_after_admin_actions.txt",
        "cli_show_stat_after_admin_actions.csv",
        &[("track1", "MAINT", "MAINT (via be_app/app1)")],
    ),
];

#[test]
fn every_servers_state_capture_parses() {
    let mut seen = 0;
    for entry in std::fs::read_dir(DIR).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.starts_with("cli_show_servers_state") {
            continue;
        }
        let result = parse(fixture(&name).as_bytes());
        match name.as_str() {
            "cli_show_servers_state.txt" => assert_eq!(result.unwrap().len(), 21),
            "cli_show_servers_state_after_admin_actions.txt" => {
                assert_eq!(result.unwrap().len(), 21)
            }
            "cli_show_servers_state_be_app.txt" => assert_eq!(result.unwrap().len(), 4),
            "cli_show_servers_state_unknown_backend.txt" => {
                assert_eq!(result.unwrap_err(), "Can't find backend.")
            }
            other => panic!("{other} has no expectation"),
        }
        seen += 1;
    }
    assert_eq!(seen, 4);
}

#[test]
fn fields_are_read_by_column_name() {
    let all = rows("cli_show_servers_state.txt");
    let app1 = row(&all, "be_app", "app1");
    let want = ServerStateRow {
        be_id: Some(4),
        be_name: "be_app".into(),
        srv_id: Some(1),
        srv_name: "app1".into(),
        srv_addr: Some("127.0.0.1".into()),
        op_state: 2,
        admin_state: 0,
        uweight: Some(100),
        iweight: Some(100),
        time_since_last_change: Some(8),
        check_status_code: Some(15),
        check_status: Some("L7OK"),
        check_result: Some(3),
        check_health: Some(4),
        check_state: 6,
        agent_state: 0,
        srv_port: Some(18101),
    };
    assert_eq!(app1, &want);
    let agent1 = row(&all, "be_agent", "agent1");
    assert_eq!(
        (agent1.uweight, agent1.iweight, agent1.agent_state),
        (Some(75), Some(100), 22)
    );
    assert_eq!(row(&all, "be_agent", "agent2").admin_state, 8);
    assert_eq!(row(&all, "be_nocheck", "disabled1").admin_state, 5);
    assert_eq!(row(&all, "be_nolb", "nolb1").op_state, 3);
    assert_eq!(row(&all, "be_nolb", "nolb1").check_result, Some(4));
    let codes: Vec<_> = all.iter().map(|r| r.check_status.unwrap_or("-")).collect();
    for text in [
        "L7OK", "L4CON", "L7OKC", "L7STS", "L7TOUT", "L7RSP", "L4OK", "INI", "HANA",
    ] {
        assert!(codes.contains(&text), "{text}");
    }
}

#[test]
fn admin_actions_show_in_the_bitmasks() {
    let after = rows("cli_show_servers_state_after_admin_actions.txt");
    assert_eq!(row(&after, "be_track", "track1").admin_state, 2);
    assert_eq!(
        row(&after, "be_app", "app1").check_state,
        14,
        "paused in MAINT"
    );
    assert_eq!(row(&after, "be_tcp", "tcp1").uweight, Some(7));
    assert_eq!(row(&after, "be_agent", "agent2").agent_state, 18);
}

/// For every server: the normalised state of our text equals that of HAProxy's own
/// `show stat` status, and the text itself is equal except for the listed cases.
#[test]
fn reconstructed_status_matches_show_stat() {
    for (state_file, stat_file, differences) in PAIRS {
        let state_rows = rows(state_file);
        let table = csv::parse(fixture(stat_file).as_bytes()).unwrap();
        let mut found = Vec::new();
        for r in &state_rows {
            let theirs = csv::servers_of(&table, &r.be_name).unwrap();
            let theirs = theirs.iter().find(|s| s.name == r.srv_name).unwrap();
            let ours = status_text(r);
            assert_eq!(
                ServerState::from_haproxy_status(&ours),
                ServerState::from_haproxy_status(&theirs.status),
                "{state_file}: {}/{}: {ours} vs {}",
                r.be_name,
                r.srv_name,
                theirs.status
            );
            if *ours != *theirs.status {
                found.push((r.srv_name.as_str(), ours, theirs.status.to_string()));
            }
        }
        let want: Vec<_> = differences
            .iter()
            .map(|(s, o, t)| (*s, o.to_string(), t.to_string()))
            .collect();
        assert_eq!(found, want, "{state_file}");
    }
}

/// Weight, last change, address and check status agree with `show stat` too (the
/// check status up to the `* ` of a check running at one moment and not the other).
#[test]
fn samples_match_show_stat_fields() {
    for (state_file, stat_file, _) in PAIRS {
        let state_rows = rows(state_file);
        let table = csv::parse(fixture(stat_file).as_bytes()).unwrap();
        for backend in csv::backends(&table) {
            let ours = to_samples(&state_rows, &backend);
            let theirs = csv::servers_of(&table, &backend).unwrap();
            assert_eq!(ours.len(), theirs.len(), "{backend}");
            for (o, t) in ours.iter().zip(&theirs) {
                let star = |s: &Option<crate::model::Shared>| {
                    s.as_deref().map(|c| c.trim_start_matches("* ").to_string())
                };
                assert_eq!(o.name, t.name);
                assert_eq!(o.weight, t.weight, "{backend}/{}", o.name);
                assert_eq!(o.last_change_s, t.last_change_s, "{backend}/{}", o.name);
                assert_eq!(o.addr, t.addr, "{backend}/{}", o.name);
                assert_eq!(
                    star(&o.check_status),
                    star(&t.check_status),
                    "{backend}/{}",
                    o.name
                );
            }
        }
    }
}

#[test]
fn exact_statuses_of_the_captures() {
    let text = |all: &[ServerStateRow], be: &str, srv: &str| status_text(row(all, be, srv));
    let all = rows("cli_show_servers_state.txt");
    assert_eq!(text(&all, "be_agent", "agent2"), "DRAIN (agent)");
    assert_eq!(text(&all, "be_agent", "agent3"), "DOWN (agent)");
    assert_eq!(text(&all, "be_nolb", "nolb1"), "NOLB");
    assert_eq!(text(&all, "be_nocheck", "nochk1"), "no check");
    assert_eq!(text(&all, "be_nocheck", "disabled1"), "MAINT");
    assert_eq!(text(&all, "be_hana", "hana1"), "DOWN");
    let after = rows("cli_show_servers_state_after_admin_actions.txt");
    assert_eq!(text(&after, "be_app", "app1"), "MAINT");
    assert_eq!(text(&after, "be_app", "app2"), "DRAIN");
    assert_eq!(
        text(&after, "be_agent", "agent2"),
        "DRAIN",
        "agent disabled"
    );
    assert_eq!(text(&after, "be_app_canary", "canary1"), "no check");
    assert_eq!(text(&after, "be_nocheck", "nochk1"), "DOWN");
}

#[test]
fn to_samples_filters_the_exact_backend() {
    let all = rows("cli_show_servers_state.txt");
    let app = to_samples(&all, "be_app");
    let names: Vec<_> = app.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["app1", "app2", "app3", "app4"]);
    assert_eq!(to_samples(&all, "be_app_canary").len(), 1);
    assert!(to_samples(&all, "be_ap").is_empty());
    assert_eq!(app[0].addr.as_deref(), Some("127.0.0.1:18101"));
    assert_eq!(app[0].check_status.as_deref(), Some("L7OK"));
    let single = rows("cli_show_servers_state_be_app.txt");
    assert_eq!(to_samples(&single, "be_app"), app);
}

fn synthetic(op_state: u8, admin_state: u16, check_state: u8, agent_state: u8) -> ServerStateRow {
    ServerStateRow {
        be_name: "be".into(),
        srv_name: "s".into(),
        op_state,
        admin_state,
        check_state,
        agent_state,
        check_health: Some(0),
        ..ServerStateRow::default()
    }
}

#[test]
fn status_text_covers_every_state() {
    let text = |op, adm, chk, agt| status_text(&synthetic(op, adm, chk, agt));
    assert_eq!(
        text(2, admin::RMAINT | admin::FMAINT, 6, 0),
        "MAINT (resolution)"
    );
    assert_eq!(text(0, admin::IMAINT, 0, 0), "MAINT");
    assert_eq!(text(0, admin::CMAINT, 6, 0), "MAINT");
    assert_eq!(text(2, admin::IDRAIN, 6, 0), "DRAIN");
    assert_eq!(text(1, 0, 6, 0), "UP", "slowstart is up");
    assert_eq!(text(1, 0, 0, 0), "no check");
    assert_eq!(text(3, admin::FDRAIN, 6, 0), "NOLB");
    assert_eq!(text(0, 0, 6, 0), "DOWN");
    assert_eq!(
        text(0, 0, 0, 0x16),
        "DOWN (agent)",
        "agent is the only check"
    );
    assert_eq!(text(0, 0, 6, 0x16), "DOWN", "check has no health left");
    assert_eq!(text(7, 0, 6, 0), "UNKNOWN");
}

#[test]
fn check_status_codes_match_format_table() {
    let want = [
        (0, "UNK"),
        (1, "INI"),
        (3, "CHECKED"),
        (4, "HANA"),
        (5, "SOCKERR"),
        (6, "L4OK"),
        (7, "L4TOUT"),
        (8, "L4CON"),
        (9, "L6OK"),
        (10, "L6TOUT"),
        (11, "L6RSP"),
        (12, "L7TOUT"),
        (13, "L7RSP"),
        (15, "L7OK"),
        (16, "L7OKC"),
        (17, "L7STS"),
        (18, "PROCERR"),
        (19, "PROCTOUT"),
        (20, "PROCOK"),
    ];
    for (code, text) in want {
        assert_eq!(check_status_text(code), Some(text));
    }
    for code in [2, 14, 21, 255] {
        assert_eq!(check_status_text(code), None);
    }
}

#[test]
fn addresses_checks_and_dashes() {
    let body = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state \
        srv_check_state srv_check_status srv_port\n\
        1 be 1 a ::1 2 0 7 15 80\n\
        1 be 2 b - 2 0 6 99 -\n\
        1 be 3 c 10.0.0.1 2 0 - - -\n\
        1 be 4 - 10.0.0.1 2 0 6 15 80\n\
        1 be 5 d 10.0.0.1 x 0 6 15 80\n\
        garbage\n";
    let all = parse(body.as_bytes()).unwrap();
    let samples = to_samples(&all, "be");
    assert_eq!(
        samples.len(),
        3,
        "rows without name or op_state are skipped"
    );
    assert_eq!(samples[0].addr.as_deref(), Some("[::1]:80"));
    assert_eq!(samples[0].check_status.as_deref(), Some("* L7OK"));
    assert_eq!(
        (
            samples[1].addr.as_deref(),
            samples[1].check_status.as_deref()
        ),
        (None, None)
    );
    assert_eq!(samples[2].addr.as_deref(), Some("10.0.0.1"));
    assert_eq!(&*samples[2].status, "no check");
}

#[test]
fn answers_without_version_or_header() {
    let rows_only =
        "1\n4 be_app 1 app1 127.0.0.1 2 0 100 100 8 15 3 4 6 0 0 0 - 18101 - 0 0 - - 0\n";
    let parsed = parse(rows_only.as_bytes()).unwrap();
    assert_eq!(parsed[0].srv_name, "app1", "version 1 columns by default");
    assert_eq!(parsed[0].srv_port, Some(18101));
    let text = fixture("cli_show_servers_state_be_app.txt");
    let no_version = text.split_once('\n').unwrap().1;
    assert_eq!(parse(no_version.as_bytes()).unwrap().len(), 4);
    assert_eq!(parse(b"1\n").unwrap(), vec![]);
    assert!(parse(b"").is_err());
    assert_eq!(
        parse(b"No such backend.\n\n").unwrap_err(),
        "No such backend."
    );
}

proptest! {
    #[test]
    fn parse_never_panics(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(all) = parse(&body) {
            let _ = to_samples(&all, "be");
        }
    }

    #[test]
    fn numeric_rows_never_panic(body in "1\n([0-9a-z\\- ]{0,60}\n){0,8}") {
        let all = parse(body.as_bytes()).unwrap();
        for r in &all {
            let _ = status_text(r);
        }
        let _ = to_samples(&all, "a");
    }
}
