//! `validate` runs `haproxy -c` on a configuration: a good one is valid, a broken one
//! is not (with HAProxy's error), both are `config_validated` events, and a
//! recovery refuses to run the recover command while the configuration is invalid.

use std::time::Duration;

use watchpost::config::RecoverAction;

use super::process::haproxy_bin;
use super::*;
use crate::common::enc;

#[actix_web::test]
async fn validate_tells_good_from_broken_and_recovery_refuses_an_invalid_config() {
    let listeners = Listener::start_many(1).await;
    let ha = Haproxy::start(vec![backend("be_app", &[("app1", listeners[0].port)])]).await;
    let dir = tempfile::tempdir().unwrap();
    let checked = dir.path().join("haproxy.cfg");
    let good = std::fs::read_to_string(ha.config_path()).unwrap();
    std::fs::write(&checked, &good).unwrap();
    let marker = dir.path().join("recovered");
    let mut h = source(&ha, "unix", Via::Unix, &["be_app"]);
    let argv = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let bin = haproxy_bin().display().to_string();
    h.validate = Some(RecoverAction {
        command: argv(&[&bin, "-c", "-f", &checked.display().to_string()]),
        timeout: Duration::from_secs(10),
    });
    h.recover = crate::common::recover(&["touch", &marker.display().to_string()]);
    let td = daemon(vec![h]).await;
    let id = id("unix", "be_app");
    td.wait_success(&id).await;

    let (status, ok) = td.admin("/api/admin/haproxy/unix/validate", "").await;
    assert_eq!(status, 200, "{ok}");
    assert_eq!(
        (ok["valid"].clone(), ok["exit_code"].clone()),
        (true.into(), 0.into()),
        "{ok}"
    );
    assert!(ok["duration_ms"].is_u64());

    std::fs::write(
        &checked,
        format!("{good}\nbackend broken\n    no_such_keyword here\n"),
    )
    .unwrap();
    let (status, bad) = td.admin("/api/admin/haproxy/unix/validate", "").await;
    assert_eq!(status, 200, "{bad}");
    assert_eq!(bad["valid"], false, "{bad}");
    assert_ne!(bad["exit_code"], 0, "{bad}");
    assert!(
        bad["output"]
            .as_str()
            .unwrap_or_default()
            .contains("no_such_keyword"),
        "{bad}"
    );
    let events = td.events(Some("haproxy/unix")).await;
    let valid: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "config_validated")
        .map(|e| e["data"]["valid"].clone())
        .collect();
    assert_eq!(valid, [true, false]);

    let path = format!("/api/admin/targets/{}/recover", enc(&id));
    let (status, refused) = td.admin(&path, "").await;
    assert_eq!(status, 200, "{refused}");
    assert_eq!(refused["recovery"]["refused"], true, "{refused}");
    assert_ne!(refused["recovery"]["ok"], true, "{refused}");
    assert_eq!(
        refused["recovery"]["validation"]["valid"], false,
        "{refused}"
    );
    assert!(
        !marker.exists(),
        "the recover command must not run on an invalid config"
    );

    std::fs::write(&checked, &good).unwrap();
    let (_, done) = td.admin(&path, "").await;
    assert_eq!(done["recovery"]["ok"], true, "{done}");
    assert!(
        marker.exists(),
        "the recover command runs on a valid config"
    );
    let (status, _) = td.admin("/api/admin/haproxy/nope/validate", "").await;
    assert_eq!(status, 404);
}
