//! `GET /metrics`: the per-target and per-server families follow the committed
//! state, and the live page of a running daemon passes `promtool check metrics`
//! (Debian package `prometheus`, installed by scripts/test).

use std::io::Write;
use std::process::{Command, Stdio};

use watchpost::sim::Fault;

use crate::common::*;

const A: &str = "haproxy/fdmz01/a";
const B: &str = "haproxy/fdmz01/b";

fn has(text: &str, line: String) {
    assert!(
        text.lines().any(|l| l == line),
        "missing {line:?} in\n{text}"
    );
}

/// Runs `promtool check metrics` on `page`: its exit status and what it said.
fn promtool_check(page: &str) -> (bool, String) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = child.unwrap_or_else(|e| {
        panic!("cannot run promtool ({e}): install the Debian package prometheus (scripts/test does)")
    });
    let mut stdin = child.stdin.take().expect("promtool stdin");
    stdin.write_all(page.as_bytes()).expect("write to promtool");
    drop(stdin);
    let out = child.wait_with_output().expect("promtool output");
    let said = String::from_utf8_lossy(&out.stdout).into_owned()
        + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), said)
}

async fn page(td: &TestDaemon) -> String {
    let resp = client().get(td.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let kind = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    resp.text().await.unwrap()
}

#[actix_web::test]
async fn metrics_expose_fetch_and_server_state() {
    let (sim, td) = agent_daemon(&["a", "b"], fast_policy()).await;
    let text = page(&td).await;
    has(&text, "# TYPE watchpost_target_fetch_success gauge".into());
    has(
        &text,
        format!("watchpost_target_fetch_success{{target=\"{A}\"}} 1"),
    );
    has(
        &text,
        format!("watchpost_server_up{{target=\"{A}\",server=\"app1\"}} 1"),
    );
    has(
        &text,
        format!("watchpost_target_circuit_open{{target=\"{B}\"}} 0"),
    );

    sim.set_backend_fault("a", Some(Fault::Garbage));
    td.wait_target(A, "a failed fetch", |t| fetch_is(t, "failed"))
        .await;
    let text = page(&td).await;
    has(
        &text,
        format!("watchpost_target_fetch_success{{target=\"{A}\"}} 0"),
    );
    has(
        &text,
        format!("watchpost_server_up{{target=\"{A}\",server=\"app1\"}} 0"),
    );
    has(
        &text,
        format!("watchpost_target_fetch_success{{target=\"{B}\"}} 1"),
    );
}

#[actix_web::test]
async fn the_live_page_passes_promtool_check_metrics() {
    let (sim, td) = agent_daemon(&["a", "b"], fast_policy()).await;
    sim.set_backend_fault("b", Some(Fault::Status(503)));
    td.wait_target(B, "b failed fetch", |t| fetch_is(t, "failed"))
        .await;
    let text = page(&td).await;
    for name in [
        "watchpost_build_info",
        "watchpost_commit_seconds_total",
        "watchpost_last_event_sequence",
        "watchpost_storage_ok",
    ] {
        let help = format!("# HELP {name} ");
        assert!(text.contains(&help), "no {help:?} in\n{text}");
    }
    let (ok, said) = promtool_check(&text);
    assert!(ok, "promtool check metrics failed:\n{said}\non\n{text}");
    assert_eq!(said.trim(), "", "promtool found problems:\n{said}");
}
