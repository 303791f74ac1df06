//! `watchpost demo`: it serves the four demo backends and the Eureka applications,
//! opens the `billing` circuit on its schedule, and exits 0 on SIGTERM, removing its
//! temporary storage.

use serde_json::Value;
use std::time::Duration;

use super::{Deadline, Proc, events, find, free_port};

const BACKENDS: [&str; 4] = ["jurws", "billing", "auth", "static"];

fn ids(list: &Value, field: &str) -> Vec<String> {
    let all = list.as_array().map(Vec::as_slice).unwrap_or_default();
    all.iter()
        .filter_map(|v| v[field].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_its_fleet_opens_a_circuit_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let env = [("TMPDIR", tmp.to_str().unwrap())];
    let mut d = Proc::spawn(
        dir.path(),
        "demo",
        &["demo", "--listen", &listen],
        &env,
        port,
    );
    d.wait_healthy().await;

    let deadline = Deadline::new(
        "the demo backends and applications",
        Duration::from_secs(30),
    );
    loop {
        let backends = d.json("/api/haproxy/backends").await["backends"].clone();
        let apps = d.json("/api/eureka/applications").await["applications"].clone();
        let mut names = ids(&backends, "backend_name");
        names.sort();
        let mut want: Vec<String> = BACKENDS.iter().map(|b| b.to_string()).collect();
        want.sort();
        let read = |b: &str| {
            find(&backends, "backend_name", b).is_some_and(|b| b["last_fetch_status"] != "unknown")
        };
        let agent_apps = ["JURWS-API", "BILLING-SVC"]
            .iter()
            .all(|a| find(&apps, "name", a).is_some());
        if names == want && BACKENDS.iter().all(|b| read(b)) && agent_apps {
            let jurws = find(&backends, "backend_name", "jurws").unwrap();
            assert_eq!(jurws["servers"].as_array().unwrap().len(), 3, "{jurws:#}");
            assert!(
                ids(&jurws["servers"], "name").contains(&"app1".to_string()),
                "{jurws:#}"
            );
            break;
        }
        deadline.tick(&(backends, apps)).await;
    }
    assert!(
        tmp.read_dir().unwrap().next().is_some(),
        "the demo keeps its storage in TMPDIR"
    );

    let deadline = Deadline::new(
        "the billing circuit to open (6 s to 26 s into the schedule)",
        Duration::from_secs(45),
    );
    loop {
        let all = events(&mut d).await;
        let opened = all
            .iter()
            .any(|e| e["type"] == "circuit_opened" && e["target"] == "haproxy/fdmz01/billing");
        if opened {
            break;
        }
        deadline.tick(&all.last()).await;
    }

    d.term();
    let status = d.wait_exit(30).await;
    let (stdout, stderr) = d.output();
    assert_eq!(status.code(), Some(0), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains(&format!("http://{listen}/")),
        "the banner names the dashboard: {stdout}"
    );
    let left: Vec<_> = tmp.read_dir().unwrap().collect();
    assert!(left.is_empty(), "the demo left files behind: {left:?}");
}

/// Runs `watchpost args` with `TMPDIR=tmp` to its end: exit code, stdout, stderr.
fn run_to_end(args: &[&str], tmp: &std::path::Path) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(super::bin())
        .args(args)
        .env("TMPDIR", tmp)
        .env_remove("RUST_LOG")
        .output()
        .expect("run watchpost");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// `demo` on a taken port: the one-line error of `run`, exit 1, nothing left in the
/// temp directory (it used to panic after the message and leave its storage).
#[test]
fn demo_on_a_taken_port_fails_like_run_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let want = format!(
        "watchpost: cannot start: cannot listen on {addr}: Address already in use (os error 98)\n"
    );
    let (code, stdout, stderr) = run_to_end(&["demo", "--listen", &addr], &tmp);
    assert_eq!((code, stdout.as_str()), (Some(1), ""), "{stderr}");
    assert_eq!(stderr, want);
    let left: Vec<_> = tmp.read_dir().unwrap().collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");

    let config = dir.path().join("watchpost.toml");
    let storage = dir.path().join("state.redb");
    let text = format!("[server]\nlisten = \"{addr}\"\n\n[storage]\npath = {storage:?}\n");
    std::fs::write(&config, text).unwrap();
    let (code, _, stderr) = run_to_end(&["run", "--config", config.to_str().unwrap()], &tmp);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stderr, want, "run and demo say the same");
    assert!(!storage.exists(), "run opened no storage");
}
