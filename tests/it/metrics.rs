//! `GET /metrics`: the per-target and per-server families follow the committed
//! state, and the live page of a running daemon passes `promtool check metrics`
//! (Debian package `prometheus`, installed by scripts/test); the rules in
//! docs/prometheus and the dashboard in docs/grafana use only names on that page.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

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

/// Runs `promtool ARGS` with `input` on its standard input: its exit status and
/// what it said.
fn promtool(args: &[&str], input: &str) -> (bool, String) {
    let child = Command::new("promtool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = child.unwrap_or_else(|e| {
        panic!(
            "cannot run promtool ({e}): install the Debian package prometheus (scripts/test does)"
        )
    });
    let mut stdin = child.stdin.take().expect("promtool stdin");
    stdin
        .write_all(input.as_bytes())
        .expect("write to promtool");
    drop(stdin);
    let out = child.wait_with_output().expect("promtool output");
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
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
    let (ok, said) = promtool(&["check", "metrics"], &text);
    assert!(ok, "promtool check metrics failed:\n{said}\non\n{text}");
    assert_eq!(said.trim(), "", "promtool found problems:\n{said}");
}

/// Metrics of the notifiers: the rules and the dashboard use them, and a daemon
/// shows them only when notifiers are configured.
const NOTIFIER_METRICS: [&str; 2] = [
    "watchpost_notifier_up",
    "watchpost_notifier_failed_attempts_total",
];

/// Every `watchpost_*` name in `text`.
fn names(text: &str) -> Vec<String> {
    let mut found: Vec<String> = text
        .match_indices("watchpost_")
        .map(|(at, _)| {
            let rest = &text[at..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            rest[..end].to_string()
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

/// Every `expr` of the dashboard's panels.
fn exprs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => map.iter().for_each(|(k, v)| match (k.as_str(), v) {
            ("expr", Value::String(e)) => out.push(e.clone()),
            _ => exprs(v, out),
        }),
        Value::Array(items) => items.iter().for_each(|v| exprs(v, out)),
        _ => {}
    }
}

#[actix_web::test]
async fn rules_and_dashboard_use_the_names_on_the_page() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let rules = std::fs::read_to_string(docs.join("prometheus/watchpost.rules.yml")).unwrap();
    let dashboard = std::fs::read_to_string(docs.join("grafana/watchpost.json")).unwrap();
    let (_sim, td) = agent_daemon(&["a"], fast_policy()).await;
    let text = page(&td).await;
    let used = names(&(rules + &dashboard));
    assert!(used.len() >= 10, "{used:?}");
    for name in used {
        let on_page = text.contains(&format!("# TYPE {name} "));
        assert!(
            on_page || NOTIFIER_METRICS.contains(&name.as_str()),
            "{name} is used in docs/ but not on /metrics:\n{text}"
        );
    }

    // Each dashboard query must be valid PromQL: promtool checks them as
    // recording rules (JSON strings are YAML strings).
    let mut queries = Vec::new();
    exprs(&serde_json::from_str(&dashboard).unwrap(), &mut queries);
    assert!(queries.len() >= 10, "{queries:?}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dashboard.rules.yml");
    let mut yaml = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, q) in queries.iter().enumerate() {
        let q = serde_json::to_string(q).unwrap();
        yaml += &format!("      - record: dashboard:query_{i}\n        expr: {q}\n");
    }
    std::fs::write(&file, yaml).unwrap();
    let (ok, said) = promtool(&["check", "rules", file.to_str().unwrap()], "");
    assert!(ok, "a dashboard query is not valid PromQL:\n{said}");
}
