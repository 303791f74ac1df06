//! Events keep the JSON form the store and the API have always had, and docs/api.md
//! names every event type and every field of its `data`.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

/// Events as earlier versions wrote them to the store and the wire (object keys of
/// `data` in alphabetical order), one or more per event type.
const STORED: &[&str] = &[
    r#"{"seq":1,"ts":"2026-01-01T00:00:00.000Z","type":"target_added","target":"haproxy/lb/be","data":{"backend":"be","group":"lb","kind":"haproxy_backend","source":"agent"}}"#,
    r#"{"seq":2,"ts":"2026-01-01T00:00:00.000Z","type":"target_added","target":"eureka/main","data":{"backend":null,"group":"main","kind":"eureka_server","source":"eureka"}}"#,
    r#"{"seq":3,"ts":"2026-01-01T00:00:00.000Z","type":"target_removed","target":"haproxy/lb/be","data":{"reason":"removed from the configuration"}}"#,
    r#"{"seq":4,"ts":"2026-01-01T00:00:00.000Z","type":"fetch_failed","target":"haproxy/lb/be","data":{"consecutive_failures":1,"error":"connection refused to agent lb (127.0.0.1:1)"}}"#,
    r#"{"seq":5,"ts":"2026-01-01T00:00:00.000Z","type":"fetch_failed","target":"eureka/main","data":{"application":"A","error":"bad instance"}}"#,
    r#"{"seq":6,"ts":"2026-01-01T00:00:00.000Z","type":"fetch_recovered","target":"haproxy/lb/be","data":{"consecutive_failures":2,"previous_error":"timeout"}}"#,
    r#"{"seq":7,"ts":"2026-01-01T00:00:00.000Z","type":"fetch_recovered","target":"eureka/main","data":{"application":"A","previous_error":null}}"#,
    r#"{"seq":8,"ts":"2026-01-01T00:00:00.000Z","type":"circuit_opened","target":"haproxy/lb/be","data":{"consecutive_failures":3,"from":"closed","next_attempt_at":"2026-01-01T00:00:30.000Z"}}"#,
    r#"{"seq":9,"ts":"2026-01-01T00:00:00.000Z","type":"circuit_half_open","target":"haproxy/lb/be","data":{"consecutive_failures":3,"from":"open","next_attempt_at":null}}"#,
    r#"{"seq":10,"ts":"2026-01-01T00:00:00.000Z","type":"circuit_closed","target":"haproxy/lb/be","data":{"consecutive_failures":0,"from":"half_open","next_attempt_at":null}}"#,
    r#"{"seq":11,"ts":"2026-01-01T00:00:00.000Z","type":"server_state_changed","target":"haproxy/lb/be","data":{"from":"up","previous_status":"UP 1/3","server":"s1","status":"DOWN","to":"down"}}"#,
    r#"{"seq":12,"ts":"2026-01-01T00:00:00.000Z","type":"server_state_changed","target":"haproxy/lb/be","data":{"from":null,"previous_status":null,"server":"s2","status":"UP","to":"up"}}"#,
    r#"{"seq":13,"ts":"2026-01-01T00:00:00.000Z","type":"server_state_changed","target":"haproxy/lb/be","data":{"from":"up","previous_status":"UP","removed":true,"server":"s1","status":null,"to":null}}"#,
    r#"{"seq":14,"ts":"2026-01-01T00:00:00.000Z","type":"instance_state_changed","target":"eureka/main","data":{"app":"A","from":"up","instance_id":"i1","previous_status":"UP","state":"out_of_service","status":"OUT_OF_SERVICE","to":"out_of_service"}}"#,
    r#"{"seq":15,"ts":"2026-01-01T00:00:00.000Z","type":"instance_added","target":"eureka/main","data":{"app":"A","instance_id":"i2","state":"up","status":"UP"}}"#,
    r#"{"seq":16,"ts":"2026-01-01T00:00:00.000Z","type":"instance_removed","target":"eureka/main","data":{"app":"A","instance_id":"i2","state":"up","status":"UP"}}"#,
    r#"{"seq":17,"ts":"2026-01-01T00:00:00.000Z","type":"polling_disabled","target":"haproxy/lb/be","data":{}}"#,
    r#"{"seq":18,"ts":"2026-01-01T00:00:00.000Z","type":"polling_enabled","target":"haproxy/lb/be","data":{}}"#,
    r#"{"seq":19,"ts":"2026-01-01T00:00:00.000Z","type":"recovery_attempted","target":"haproxy/lb/be","data":{"action":null,"detail":"no recover command configured; circuit reset only","trigger":"admin"}}"#,
    r#"{"seq":20,"ts":"2026-01-01T00:00:00.000Z","type":"recovery_attempted","target":"haproxy/lb/be","data":{"action":["systemctl","restart","x"],"detail":"done","duration_ms":12,"exit_code":0,"ok":true,"trigger":"circuit_opened"}}"#,
    r#"{"seq":21,"ts":"2026-01-01T00:00:00.000Z","type":"recovery_attempted","target":"haproxy/lb/be","data":{"action":["sleep","9"],"detail":"timed out after 1s","duration_ms":1000,"exit_code":null,"ok":false,"trigger":"admin"}}"#,
    r#"{"seq":22,"ts":"2026-01-01T00:00:00.000Z","type":"server_admin_action","target":"haproxy/lb/be","data":{"error":null,"ok":true,"server":"s1","state":"drain","via":"runtime_api"}}"#,
    r#"{"seq":23,"ts":"2026-01-01T00:00:00.000Z","type":"server_admin_action","target":"haproxy/lb/be","data":{"error":"No such server.","ok":false,"server":"zz","state":"maint","via":"agent"}}"#,
    r#"{"seq":24,"ts":"2026-01-01T00:00:00.000Z","type":"server_admin_action","target":"haproxy/lb/be","data":{"error":null,"ok":true,"server":"s1","state":"drain","transaction":"tx-1767225600000-00ff","via":"runtime_api"}}"#,
    r#"{"seq":25,"ts":"2026-01-01T00:00:00.000Z","type":"haproxy_restarted","target":"haproxy/lb","data":{"pid":4242,"previous_pid":4100,"previous_uptime_s":8120,"uptime_s":2,"version":"2.6.12-1+deb12u4"}}"#,
    r#"{"seq":26,"ts":"2026-01-01T00:00:00.000Z","type":"config_validated","target":"haproxy/lb","data":{"command":["haproxy","-c","-f","/etc/haproxy/haproxy.cfg"],"duration_ms":40,"exit_code":1,"output":"[ALERT] unknown keyword","trigger":"admin","valid":false}}"#,
    r#"{"seq":27,"ts":"2026-01-01T00:00:00.000Z","type":"recovery_attempted","target":"haproxy/lb/be","data":{"action":["systemctl","reload","haproxy"],"detail":"the recover command was not run: the configuration is invalid: [ALERT] unknown keyword","refused":true,"trigger":"admin","validation":{"command":["haproxy","-c","-f","/etc/haproxy/haproxy.cfg"],"duration_ms":40,"exit_code":1,"output":"[ALERT] unknown keyword","trigger":"admin","valid":false}}}"#,
    r#"{"seq":28,"ts":"2026-01-01T00:00:00.000Z","type":"transaction_started","target":"transaction/tx-1","data":{"comment":"deploy 4711","finished_at":null,"id":"tx-1","started_at":"2026-01-01T00:00:00.000Z","state":"running","steps":[]}}"#,
    r#"{"seq":29,"ts":"2026-01-01T00:00:00.000Z","type":"transaction_committed","target":"transaction/tx-1","data":{"comment":null,"finished_at":"2026-01-01T00:00:01.000Z","id":"tx-1","started_at":"2026-01-01T00:00:00.000Z","state":"committed","steps":[]}}"#,
    r#"{"seq":30,"ts":"2026-01-01T00:00:00.000Z","type":"transaction_rolled_back","target":"transaction/tx-2","data":{"comment":null,"finished_at":"2026-01-01T00:00:01.000Z","id":"tx-2","started_at":"2026-01-01T00:00:00.000Z","state":"rolled_back","steps":[{"error":null,"instance":"lb","outcome":"verified","previous":"ready","server":"s1","state":"drain","target":"haproxy/lb/be"},{"error":"connection refused to haproxy lb2 (/run/lb2.sock)","instance":"lb2","outcome":"failed","previous":null,"server":"s1","state":"drain","target":"haproxy/lb2/be"}]}}"#,
    r#"{"seq":24,"ts":"2026-01-01T00:00:00.000Z","type":"backend_state_changed","target":"haproxy/lb/be","data":{"from":"up","to":"down","total":2,"up":0}}"#,
    r#"{"seq":25,"ts":"2026-01-01T00:00:00.000Z","type":"alert_firing","target":"haproxy/lb/be","data":{"fired_at":"2026-01-01T00:00:15.000Z","flapping":false,"id":"5c0e6f2a4f1d9b37","labels":{"backend":"be","group":"lb","server":"s1","target":"haproxy/lb/be"},"resolved_at":null,"rule":"server_down","severity":"critical","silenced_by":[],"since":"2026-01-01T00:00:00.000Z","state":"firing","summary":"haproxy/lb/be server s1 is DOWN"}}"#,
    r#"{"seq":26,"ts":"2026-01-01T00:00:00.000Z","type":"alert_resolved","target":"haproxy/lb/be","data":{"error":"connection refused","fired_at":"2026-01-01T00:00:30.000Z","flapping":false,"id":"0b1c2d3e4f506172","labels":{"backend":"be","group":"lb","target":"haproxy/lb/be"},"resolved_at":"2026-01-01T00:01:00.000Z","rule":"target_unreachable","severity":"critical","silenced_by":["00ab"],"since":"2026-01-01T00:00:00.000Z","state":"resolved","summary":"haproxy/lb/be unreachable: connection refused"}}"#,
    r#"{"seq":27,"ts":"2026-01-01T00:00:00.000Z","type":"silence_created","target":"","data":{"comment":"disk","created_at":"2026-01-01T00:00:00.000Z","created_by":"ops","ends_at":"2026-01-01T02:00:00.000Z","id":"00ab","matchers":{"server":"s1","target":"haproxy/lb/*"},"starts_at":"2026-01-01T00:00:00.000Z"}}"#,
    r#"{"seq":29,"ts":"2026-01-01T00:00:00.000Z","type":"notification_failed","target":"notify/ops-hook","data":{"alerts":["5c0e6f2a4f1d9b37"],"delivery_id":"0b6f2c1e-4d0a-6b8e-93f1-5c2a7d9e0f13","error":"receiver answered 503 Service Unavailable","first_attempt_at":"2025-12-31T00:00:00.000Z","group":{"group":"lb"},"kind":"webhook","notifier":"ops-hook"}}"#,
    r#"{"seq":28,"ts":"2026-01-01T00:00:00.000Z","type":"silence_ended","target":"","data":{"comment":"disk","created_at":"2026-01-01T00:00:00.000Z","created_by":"ops","ends_at":"2026-01-01T00:10:00.000Z","id":"00ab","matchers":{"rule":"server_down"},"starts_at":"2026-01-01T00:00:00.000Z"}}"#,
    r#"{"seq":29,"ts":"2026-01-01T00:00:00.000Z","type":"instance_lease_expired","target":"eureka/main","data":{"age_s":200,"app":"A","duration_s":90,"instance_id":"i1","last_renewal_at":"2026-01-01T00:00:00.000Z","status":"UP"}}"#,
    r#"{"seq":30,"ts":"2026-01-01T00:00:00.000Z","type":"instance_lease_renewed","target":"eureka/main","data":{"age_s":null,"app":"A","duration_s":null,"instance_id":"i1","last_renewal_at":null,"status":"UP"}}"#,
    r#"{"seq":31,"ts":"2026-01-01T00:00:00.000Z","type":"eureka_self_preservation","target":"eureka/main","data":{"expired":3,"instances":10,"suspected":true,"threshold_pct":15}}"#,
    r#"{"seq":32,"ts":"2026-01-01T00:00:00.000Z","type":"drift_detected","target":"haproxy/lb/be","data":{"endpoint":"10.0.0.1:80","eureka":{"app":"A","fetched_at":"2026-01-01T00:00:00.000Z","instance_id":"i1","status":"UP","target":"eureka/main"},"haproxy":{"backend":"be","fetched_at":"2026-01-01T00:00:00.000Z","server":"s1","status":"DOWN","target":"haproxy/lb/be"},"id":"registered_not_serving:haproxy/lb/be/s1|eureka/main/A/i1","kind":"registered_not_serving","since":"2026-01-01T00:00:00.000Z","state":"active"}}"#,
    r#"{"seq":33,"ts":"2026-01-01T00:00:00.000Z","type":"drift_resolved","target":"haproxy/lb/be","data":{"endpoint":"10.0.0.1:80","eureka":{"app":"A","fetched_at":"2026-01-01T00:00:00.000Z","instance_id":"i1","status":"UP","target":"eureka/main"},"haproxy":{"backend":"be","fetched_at":"2026-01-01T00:00:00.000Z","server":"s1","status":"DOWN","target":"haproxy/lb/be"},"id":"registered_not_serving:haproxy/lb/be/s1|eureka/main/A/i1","kind":"registered_not_serving","reason":"agreed","since":"2026-01-01T00:00:00.000Z","state":"active"}}"#,
    r#"{"seq":34,"ts":"2026-01-01T00:00:00.000Z","type":"fetch_failed","target":"haproxy/lb/be","data":{"consecutive_failures":1,"error":"agent lb (127.0.0.1:1) answered HTTP 503","kind":"http_status"}}"#,
];

fn stored() -> Vec<Event> {
    STORED
        .iter()
        .map(|text| serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}")))
        .collect()
}

#[test]
fn stored_events_read_back_and_write_byte_for_byte_the_same() {
    for (text, event) in STORED.iter().zip(stored()) {
        assert_eq!(serde_json::to_string(&event).unwrap(), *text);
    }
}

#[test]
fn the_type_comes_from_the_payload_variant() {
    let events = stored();
    assert_eq!(events[0].kind(), EventType::TargetAdded);
    assert_eq!(events[4].kind(), EventType::FetchFailed);
    let EventData::FetchFailed(f) = &events[4].data else {
        panic!("not a fetch_failed: {:?}", events[4]);
    };
    assert_eq!(f.application.as_deref(), Some("A"));
    assert_eq!(events[19].kind().as_str(), "recovery_attempted");
    let EventData::RecoveryAttempted(r) = &events[18].data else {
        panic!("not a recovery: {:?}", events[18]);
    };
    assert_eq!(r.run, None);
    let EventData::RecoveryAttempted(r) = &events[20].data else {
        panic!("not a recovery: {:?}", events[20]);
    };
    assert_eq!(r.run.as_ref().map(|r| r.exit_code), Some(None));
}

#[test]
fn every_event_type_is_covered_by_the_stored_samples() {
    let seen: BTreeSet<String> = stored().iter().map(|e| e.kind().as_str()).collect();
    let all: BTreeSet<String> = EventType::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(seen, all);
}

#[test]
fn a_stored_event_of_unknown_type_or_shape_is_an_error_not_a_panic() {
    let bad = [
        r#"{"seq":1,"ts":"2026-01-01T00:00:00.000Z","type":"nope","target":"t","data":{}}"#,
        r#"{"seq":1,"ts":"2026-01-01T00:00:00.000Z","type":"target_removed","target":"t","data":{}}"#,
        r#"{"seq":1,"ts":"2026-01-01T00:00:00.000Z","type":"fetch_failed","target":"t"}"#,
    ];
    for text in bad {
        assert!(serde_json::from_str::<Event>(text).is_err(), "{text}");
    }
}

/// The backticked words of the `data` column of docs/api.md's event table, per type.
fn documented_fields() -> BTreeMap<String, BTreeSet<String>> {
    let doc = include_str!("../../docs/api.md");
    let table = doc
        .split("### Event types and their `data`")
        .nth(1)
        .expect("docs/api.md has the event table");
    let mut fields: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current: Vec<String> = Vec::new();
    for row in table.lines().take_while(|l| !l.starts_with("##")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        if cells.len() < 5 || cells[1].starts_with("type") || cells[1].starts_with("---") {
            continue;
        }
        if !cells[1].is_empty() {
            current = backticked(cells[1]).collect();
        }
        for kind in &current {
            fields
                .entry(kind.clone())
                .or_default()
                .extend(backticked(cells[3]));
        }
    }
    fields
}

fn backticked(cell: &str) -> impl Iterator<Item = String> + '_ {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(|w| w.split(':').next().unwrap_or(w).to_string())
}

#[test]
fn docs_api_names_every_event_type_and_every_data_field() {
    let documented = documented_fields();
    for kind in EventType::ALL {
        assert!(
            documented.contains_key(&kind.as_str()),
            "{kind:?} is not in docs/api.md"
        );
    }
    for event in stored() {
        let value = serde_json::to_value(&event).unwrap();
        let kind = event.kind().as_str();
        let keys = value["data"].as_object().expect("data is an object").keys();
        for key in keys {
            assert!(
                documented[&kind].contains(key),
                "{kind}.{key} is not in docs/api.md"
            );
        }
    }
}
