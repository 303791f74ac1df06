//! The `watchpost` binary's logs: `--log-format json` writes one object per line
//! with `ts`, `level`, `target` and `message`; no colour codes when standard error
//! is not a terminal; `--log-level` is checked; and no secret (admin token,
//! passwords, credentials in URLs) is ever written, even at `trace`, while
//! sources refuse the credentials and clients send wrong tokens.

use std::process::Command;

use serde_json::Value;
use watchpost::sim::EurekaSim;

use super::{Deadline, Proc, bin, client, find, free_port};

const SECRETS: [&str; 5] = [
    "admin-secret-5",
    "wrong-token-6",
    "url-secret-2",
    "env-secret-3",
    "url-secret-4",
];

fn config(port: u16, dir: &std::path::Path, eureka: &str, closed: u16) -> String {
    let with_user = eureka.replace("http://", "http://eu:url-secret-2@");
    format!(
        r#"[server]
listen = "127.0.0.1:{port}"
admin_token = "${{WATCHPOST_ADMIN_TOKEN}}"

[storage]
path = {storage:?}

[defaults]
interval = "300ms"
timeout = "200ms"
retry = {{ max_elapsed = "0s" }}

[[eureka]]
name = "inurl"
url = "{with_user}"

[[eureka]]
name = "keys"
url = "{eureka}"
username = "eu"
password = "${{EUREKA_PASSWORD}}"

[[haproxy]]
name = "edge"
source = "stats"
url = "http://admin:url-secret-4@127.0.0.1:{closed}/stats"
backends = ["web"]
"#,
        storage = dir.join("state.redb"),
    )
}

/// Waits until every target has failed at least once.
async fn until_all_failed(d: &mut Proc) -> Value {
    let deadline = Deadline::new("every target to fail", std::time::Duration::from_secs(30));
    let ids = ["eureka/inurl", "eureka/keys", "haproxy/edge/web"];
    loop {
        let body = d.json("/api/targets").await;
        let failed = |id: &str| {
            find(&body["targets"], "id", id).is_some_and(|t| t["last_fetch_status"] == "failed")
        };
        if ids.iter().all(|id| failed(id)) {
            return body;
        }
        deadline.tick(&body).await;
    }
}

async fn admin_calls(port: u16) {
    let url = format!("http://127.0.0.1:{port}/api/admin/reload");
    let http = client();
    for (token, want) in [("wrong-token-6", 401), ("admin-secret-5", 200)] {
        let answer = http.post(&url).bearer_auth(token).send().await.unwrap();
        assert_eq!(answer.status().as_u16(), want, "token {token}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_at_trace_carry_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let eureka = EurekaSim::start(crate::common::local(), Vec::new())
        .await
        .unwrap()
        .with_basic_auth("eu", "the-right-one");
    let port = free_port();
    let path = dir.path().join("watchpost.toml");
    std::fs::write(&path, config(port, dir.path(), &eureka.url(), free_port())).unwrap();
    let args = [
        "run",
        "--config",
        path.to_str().unwrap(),
        "--log-format",
        "json",
        "--log-level",
        "trace",
    ];
    let env = [
        ("WATCHPOST_ADMIN_TOKEN", "admin-secret-5"),
        ("EUREKA_PASSWORD", "env-secret-3"),
    ];
    let mut d = Proc::spawn(dir.path(), "wp", &args, &env, port);
    d.wait_healthy().await;
    let targets = until_all_failed(&mut d).await.to_string();
    admin_calls(port).await;
    let events = d.json("/api/events?since=0").await.to_string();
    d.term();
    assert!(d.wait_exit(20).await.success());

    let (stdout, stderr) = d.output();
    for secret in SECRETS {
        for (what, text) in [("stderr", &stderr), ("stdout", &stdout)] {
            assert!(!text.contains(secret), "{secret} in {what}:\n{text}");
        }
        assert!(
            !targets.contains(secret) && !events.contains(secret),
            "{secret} in the API"
        );
    }
    assert!(!stderr.contains('\u{1b}'), "colour codes in a file");
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for l in &lines {
        for key in ["ts", "level", "target", "message"] {
            assert!(l[key].is_string(), "no {key}: {l}");
        }
    }
    let logged = |needle: &str| lines.iter().any(|l| l.to_string().contains(needle));
    assert!(
        logged("HTTP 401"),
        "the refused credentials are logged as such"
    );
    assert!(
        logged("connection refused"),
        "the closed stats port is logged"
    );
    assert!(logged("configuration reloaded"));
    assert!(
        lines.iter().any(|l| l["level"] == "TRACE"),
        "trace lines were written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_logs_to_a_file_have_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let path = dir.path().join("watchpost.toml");
    let storage = dir.path().join("state.redb");
    let text = format!("[server]\nlisten = \"127.0.0.1:{port}\"\n[storage]\npath = {storage:?}\n");
    std::fs::write(&path, text).unwrap();
    let args = ["run", "--config", path.to_str().unwrap()];
    let mut d = Proc::spawn(dir.path(), "wp", &args, &[], port);
    d.wait_healthy().await;
    d.term();
    assert!(d.wait_exit(20).await.success());
    let (_, stderr) = d.output();
    assert!(stderr.contains("INFO watchpost listening"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "colour codes in a file: {stderr:?}"
    );
}

#[test]
fn a_bad_log_level_is_refused_with_the_reason() {
    let out = Command::new(bin())
        .args(["check-config", "--log-level", "watchpost=loud"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not a log filter"), "{stderr}");
}
