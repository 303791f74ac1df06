//! Tests of the FAgent HAProxy parsers, with server rows taken from the real HAProxy
//! CSV captures in `tests/fixtures/haproxy` (FAgent passes those columns through
//! as strings, `lastchg` renamed `last_chg`).

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

const STAT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/haproxy/cli_show_stat.csv"
));
const STAT_AFTER_ADMIN: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/haproxy/cli_show_stat_after_admin_actions.csv"
));
const STAT_FLAP: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/haproxy/cli_show_stat_be_flap_transitions.csv"
));

/// Splits one CSV line, honouring double-quoted fields (no embedded quotes needed).
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            _ => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

/// The server rows (`type == 2`) of a `show stat` capture, as column-name maps.
fn server_rows(csv: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut lines = csv.lines();
    let header = split_csv(lines.next().unwrap().trim_start_matches("# "));
    let rows: Vec<_> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| header.iter().cloned().zip(split_csv(l)).collect())
        .filter(|r: &std::collections::HashMap<String, String>| r["type"] == "2")
        .collect();
    assert!(!rows.is_empty());
    rows
}

/// The FAgent server object for one CSV row: every value a string.
fn agent_server(row: &std::collections::HashMap<String, String>) -> Value {
    json!({
        "name": row["svname"], "status": row["status"], "weight": row["weight"],
        "check_status": row["check_status"], "check_duration": row["check_duration"],
        "last_chg": row["lastchg"], "downtime": row["downtime"],
        "addr": row["addr"], "cookie": row["cookie"],
    })
}

fn servers_envelope(backend: &str, servers: Vec<Value>) -> Vec<u8> {
    let doc = json!({"success": true, "status_code": 200,
        "data": {"backend": backend, "servers": servers}});
    serde_json::to_vec(&doc).unwrap()
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// Every row of a capture, one envelope per row, comes back field for field.
fn assert_capture_round_trips(csv: &str) -> Vec<ServerSample> {
    let mut seen = Vec::new();
    for row in server_rows(csv) {
        let body = servers_envelope(&row["pxname"], vec![agent_server(&row)]);
        let parsed = parse_servers(&body).unwrap();
        assert_eq!(parsed.len(), 1, "row {row:?}");
        let s = &parsed[0];
        assert_eq!(s.name, row["svname"]);
        assert_eq!(
            &*s.status, row["status"],
            "status must come through unchanged"
        );
        assert_eq!(s.weight, Some(row["weight"].parse().unwrap()));
        assert_eq!(
            s.check_status.as_deref().map(str::to_string),
            opt(&row["check_status"])
        );
        assert_eq!(s.last_change_s, Some(row["lastchg"].parse().unwrap()));
        assert_eq!(s.addr, opt(&row["addr"]));
        seen.push(s.clone());
    }
    seen
}

fn statuses(samples: &[ServerSample]) -> Vec<&str> {
    samples.iter().map(|s| &*s.status).collect()
}

#[test]
fn show_stat_rows_come_through_unchanged() {
    let all = assert_capture_round_trips(STAT);
    let st = statuses(&all);
    for want in [
        "UP",
        "DOWN",
        "NOLB",
        "DRAIN (agent)",
        "DOWN (agent)",
        "no check",
    ] {
        assert!(st.contains(&want), "missing {want}");
    }
    assert!(st.contains(&"MAINT"));
    let hana = all.iter().find(|s| s.name == "hana1").unwrap();
    assert_eq!(hana.check_status.as_deref(), Some("HANA"));
    assert_eq!(hana.addr.as_deref(), Some("127.0.0.1:18120"));
}

#[test]
fn admin_action_rows_come_through_unchanged() {
    let all = assert_capture_round_trips(STAT_AFTER_ADMIN);
    let st = statuses(&all);
    for want in [
        "MAINT",
        "DRAIN",
        "MAINT (via be_app/app1)",
        "no check",
        "NOLB",
    ] {
        assert!(st.contains(&want), "missing {want}");
    }
    let app1 = all.iter().find(|s| s.name == "app1").unwrap();
    assert_eq!(app1.check_status, None, "empty check_status is None");
}

#[test]
fn flap_transition_rows_come_through_unchanged() {
    let all = assert_capture_round_trips(STAT_FLAP);
    let st = statuses(&all);
    for want in ["DOWN", "DOWN 1/3", "DOWN 2/3", "UP", "UP 2/3", "UP 1/3"] {
        assert!(st.contains(&want), "missing {want}");
    }
    let running = all
        .iter()
        .filter(|s| s.check_status.as_deref() == Some("* L7OK"));
    assert_eq!(running.count(), 1, "the check-running prefix is kept");
}

#[test]
fn a_whole_backend_parses_in_one_envelope() {
    let rows: Vec<_> = server_rows(STAT)
        .into_iter()
        .filter(|r| r["pxname"] == "be_app")
        .collect();
    let body = servers_envelope("be_app", rows.iter().map(agent_server).collect());
    let names: Vec<_> = parse_servers(&body)
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["app1", "app2", "app3", "app4"]);
}

#[test]
fn u64_max_check_duration_does_not_fail_the_fetch() {
    for duration in [
        json!("18446744073709551615"),
        json!(18446744073709551615u64),
        json!(1e300),
    ] {
        let row = json!({"name": "hana1", "status": "DOWN", "check_duration": duration});
        let parsed = parse_servers(&servers_envelope("be_hana", vec![row])).unwrap();
        assert_eq!(&*parsed[0].status, "DOWN");
    }
}

#[test]
fn numbers_are_accepted_where_strings_are_documented() {
    let row = json!({"name": "s1", "status": "UP", "weight": 100, "last_chg": 42,
        "check_status": "L4OK", "addr": "10.0.0.1:80"});
    let s = &parse_servers(&servers_envelope("b", vec![row])).unwrap()[0];
    assert_eq!((s.weight, s.last_change_s), (Some(100), Some(42)));
    let row = json!({"name": 7, "status": "UP", "weight": 100.0, "lastchg": "5"});
    let s = &parse_servers(&servers_envelope("b", vec![row])).unwrap()[0];
    assert_eq!(
        (s.name.as_str(), s.weight, s.last_change_s),
        ("7", Some(100), Some(5))
    );
}

#[test]
fn bad_field_values_become_none() {
    let row = json!({"name": "s1", "status": "UP", "weight": "abc",
        "last_chg": "99999999999999999999", "check_status": "", "addr": ""});
    let s = &parse_servers(&servers_envelope("b", vec![row])).unwrap()[0];
    assert_eq!(s.weight, None);
    assert_eq!(s.last_change_s, None);
    assert_eq!((s.check_status.as_ref(), s.addr.as_ref()), (None, None));
    for weight in [
        json!("4294967296"),
        json!(-1),
        json!(1.5),
        json!(null),
        json!([1]),
    ] {
        let row = json!({"name": "s1", "status": "UP", "weight": weight});
        let s = &parse_servers(&servers_envelope("b", vec![row])).unwrap()[0];
        assert_eq!(s.weight, None, "weight {weight}");
    }
}

#[test]
fn rows_without_a_name_are_skipped() {
    let rows = vec![
        json!({"status": "UP"}),
        json!({"name": "", "status": "UP"}),
        json!({"name": "  ", "status": "UP"}),
        json!({"name": null, "status": "UP"}),
        json!("not a row"),
        json!({"name": "ok", "status": "UP"}),
    ];
    let parsed = parse_servers(&servers_envelope("b", rows)).unwrap();
    assert_eq!(parsed.len(), 1);
    assert_eq!(parsed[0].name, "ok");
}

#[test]
fn a_missing_status_reads_as_unknown() {
    let parsed = parse_servers(&servers_envelope("b", vec![json!({"name": "s"})])).unwrap();
    assert_eq!(&*parsed[0].status, "UNKNOWN");
}

#[test]
fn null_servers_is_an_empty_backend_and_missing_servers_is_malformed() {
    let body = br#"{"success":true,"status_code":200,"data":{"backend":"b","servers":null}}"#;
    assert_eq!(parse_servers(body).unwrap(), Vec::new());
    let body = br#"{"success":true,"status_code":200,"data":{"backend":"b"}}"#;
    let err = parse_servers(body).unwrap_err();
    assert!(
        matches!(&err, AgentError::Malformed(m) if m.contains("data.servers")),
        "{err}"
    );
}

#[test]
fn backends_are_listed_in_order_without_blanks_or_repeats() {
    let body = br#"{"success":true,"status_code":200,
        "data":{"instance":"default","backends":["myapp","other","","myapp",7,null],"count":6}}"#;
    assert_eq!(parse_backends(body).unwrap(), ["myapp", "other", "7"]);
    let body = br#"{"success":true,"data":{"backends":[],"count":0}}"#;
    assert!(parse_backends(body).unwrap().is_empty());
}

#[test]
fn backends_missing_is_malformed() {
    let body = br#"{"success":true,"status_code":200,"data":{"instance":"default"}}"#;
    let err = parse_backends(body).unwrap_err();
    assert!(
        matches!(&err, AgentError::Malformed(m) if m.contains("data.backends")),
        "{err}"
    );
}

#[test]
fn a_failed_envelope_carries_its_status_and_error() {
    let body = br#"{"success":false,"status_code":503,"error":"HAProxy is unavailable"}"#;
    let want = AgentError::Envelope {
        status_code: Some(503),
        error: "HAProxy is unavailable".to_string(),
    };
    assert_eq!(parse_servers(body).unwrap_err(), want);
    assert_eq!(parse_backends(body).unwrap_err(), want);
    let body = br#"{"success":"false","status_code":"404","error":"backend not found"}"#;
    assert!(matches!(parse_servers(body).unwrap_err(),
        AgentError::Envelope { status_code: Some(404), error } if error == "backend not found"));
}

#[test]
fn a_failed_envelope_without_error_text_gets_a_clear_default() {
    let err = parse_backends(br#"{"success":false}"#).unwrap_err();
    let AgentError::Envelope { status_code, error } = err else {
        panic!("{err:?}")
    };
    assert_eq!(status_code, None);
    assert!(error.contains("without an error message"), "{error}");
    let err = parse_backends(br#"{"status_code":500,"error":{"message":"boom"}}"#).unwrap_err();
    assert!(
        matches!(err, AgentError::Envelope { status_code: Some(500), error } if error == "boom")
    );
}

#[test]
fn not_json_is_malformed_with_a_short_clean_snippet() {
    let err = parse_servers(b"").unwrap_err();
    let AgentError::Malformed(msg) = err else {
        panic!("{err:?}")
    };
    assert!(msg.starts_with("agent answer is not JSON: EOF"), "{msg}");
    assert!(msg.ends_with("(empty body)"), "{msg}");
    let html = format!("<html>\r\n\t<body>{}</body></html>", "x".repeat(500));
    let AgentError::Malformed(msg) = parse_backends(html.as_bytes()).unwrap_err() else {
        panic!()
    };
    assert!(msg.contains("expected value at line 1 column 1"), "{msg}");
    assert!(msg.contains("<html>"), "{msg}");
    assert!(!msg.chars().any(char::is_control), "{msg:?}");
    assert!(msg.len() < 200, "{msg}");
}

#[test]
fn wrong_shapes_are_malformed() {
    for body in [
        &b"[1,2]"[..],
        b"\"ok\"",
        b"{\"success\":true}",
        b"{\"success\":true,\"data\":[]}",
    ] {
        let err = parse_servers(body).unwrap_err();
        assert!(matches!(err, AgentError::Malformed(_)), "{err:?}");
    }
}

#[test]
fn a_byte_order_mark_is_ignored() {
    let body = b"\xEF\xBB\xBF{\"success\":true,\"data\":{\"backends\":[\"a\"]}}";
    assert_eq!(parse_backends(body).unwrap(), ["a"]);
}

/// JSON values built from the keys and values this API uses, nested a few levels.
fn agentish_json() -> impl Strategy<Value = Value> {
    crate::testkit::json_with_keys(&[
        "success",
        "status_code",
        "data",
        "error",
        "backends",
        "servers",
        "name",
        "status",
        "weight",
        "last_chg",
        "check_status",
        "addr",
    ])
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_backends(&body);
        let _ = parse_servers(&body);
    }

    #[test]
    fn arbitrary_agent_json_never_panics(v in agentish_json()) {
        let body = serde_json::to_vec(&v).unwrap();
        let _ = parse_backends(&body);
        if let Ok(servers) = parse_servers(&body) {
            prop_assert!(servers.iter().all(|s| !s.name.trim().is_empty()));
        }
        let wrapped = serde_json::to_vec(&json!({"success": true, "data": v})).unwrap();
        if let Ok(names) = parse_backends(&wrapped) {
            prop_assert!(names.iter().all(|n| !n.is_empty()));
        }
        let _ = parse_servers(&wrapped);
    }
}
