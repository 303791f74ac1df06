//! The command line without sources: `check-config` (the example file, every error
//! of a bad file, a missing file, both as JSON log lines with `--log-format
//! json`), `run` with an invalid config, and the single-instance guard on the
//! storage file.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use super::{Deadline, Proc, bin, free_port};

/// The example configuration, relative to the package root (where cargo runs tests).
const EXAMPLE: &str = "config/watchpost.toml";

fn check_config(path: &Path, token: Option<&str>) -> Output {
    check_config_with(path, token, &[])
}

fn check_config_with(path: &Path, token: Option<&str>, extra: &[&str]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(["check-config", "--config", path.to_str().unwrap()]);
    cmd.args(extra);
    match token {
        Some(t) => cmd.env("WATCHPOST_ADMIN_TOKEN", t),
        None => cmd.env_remove("WATCHPOST_ADMIN_TOKEN"),
    };
    cmd.output().expect("run watchpost check-config")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_config_accepts_the_example_with_a_one_line_summary() {
    let example = Path::new(EXAMPLE);
    let out = check_config(example, Some("s3cret-token"));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {stdout:?}");
    assert!(
        lines[0].contains("127.0.0.1:8080"),
        "the summary names the listen address: {stdout}"
    );
    assert!(
        !stdout.contains("s3cret-token") && !stderr.contains("s3cret-token"),
        "token leaked"
    );
}

#[test]
fn check_config_names_an_unset_environment_variable() {
    let example = Path::new(EXAMPLE);
    let out = check_config(example, None);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("WATCHPOST_ADMIN_TOKEN") && stderr.contains("admin_token"),
        "{stderr}"
    );
}

const BAD: &str = r#"[server]
listen = "127.0.0.1:8080"
colour = "blue"

[defaults]
interval = "1s"
timeout = "2s"

[[haproxy]]
name = "edge"
source = "agent"
url = "not a url"
backends = ["web"]

[[haproxy]]
name = "edge"
source = "agent"
url = "http://127.0.0.1:1"
backends = ["api"]
"#;

#[test]
fn check_config_reports_every_error_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, BAD).unwrap();
    let out = check_config(&path, None);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let file = path.display().to_string();
    let expected = [(3, "colour"), (7, "timeout"), (12, "url"), (16, "name")];
    for (line, key) in expected {
        let at = format!("{file}:{line}:");
        let found = stderr.lines().any(|l| l.contains(&at) && l.contains(key));
        assert!(found, "no error naming {at} and {key}:\n{stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Each line of `text` as a JSON log object (`level`, `message`).
fn json_lines(text: &str) -> Vec<(String, String)> {
    let field = |v: &serde_json::Value, k: &str| {
        v[k].as_str()
            .unwrap_or_else(|| panic!("no {k}: {v}"))
            .to_owned()
    };
    text.lines()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
            (field(&v, "level"), field(&v, "message"))
        })
        .collect()
}

/// What the Debian unit runs before `run`: its lines in the journal are JSON too.
#[test]
fn check_config_with_json_logs_writes_json_lines_only() {
    let json = ["--log-format", "json"];
    let out = check_config_with(Path::new(EXAMPLE), Some("s3cret-token"), &json);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let lines = json_lines(&text(&out.stderr));
    let summary = lines
        .iter()
        .find(|(l, m)| l == "INFO" && m.contains("127.0.0.1:8080"));
    assert!(summary.is_some(), "no summary line: {lines:?}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, BAD).unwrap();
    let out = check_config_with(&path, None, &json);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let lines = json_lines(&text(&out.stderr));
    for line in [3, 7, 12, 16] {
        let at = format!("{}:{line}:", path.display());
        let found = lines.iter().any(|(l, m)| l == "ERROR" && m.contains(&at));
        assert!(found, "no ERROR line naming {at}: {lines:?}");
    }
}

#[test]
fn check_config_of_a_missing_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nowhere.toml");
    let out = check_config(&path, None);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&path.display().to_string()),
        "names the file: {stderr}"
    );
    assert!(stderr.contains("No such file"), "says why: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_with_an_invalid_config_exits_2_without_starting() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let storage = dir.path().join("state.redb");
    let bad = BAD
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"))
        .replace(
            "[defaults]",
            &format!("[storage]\npath = {storage:?}\n\n[defaults]"),
        );
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, bad).unwrap();
    let mut p = Proc::spawn(
        dir.path(),
        "run",
        &["run", "--config", path.to_str().unwrap()],
        &[],
        port,
    );
    let status = p.wait_exit(30).await;
    let (stdout, stderr) = p.output();
    assert_eq!(status.code(), Some(2), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stderr.contains("colour") && stderr.contains("timeout"),
        "{stderr}"
    );
    assert!(!storage.exists(), "the storage file was created");
    assert!(!stdout.contains("listening"), "it started: {stdout}");
}

fn config(dir: &Path, port: u16) -> std::path::PathBuf {
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\n\n[storage]\npath = {:?}\n\n\
         [defaults]\ninterval = \"300ms\"\ntimeout = \"100ms\"\n\
         retry = {{ max_elapsed = \"150ms\" }}\ncircuit = {{ failure_threshold = 1000 }}\n\n\
         [[haproxy]]\nname = \"gone\"\nsource = \"agent\"\nurl = \"http://127.0.0.1:1\"\nbackends = [\"web\"]\n",
        dir.join("state.redb"),
    );
    let path = dir.join(format!("{port}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_on_the_same_storage_is_refused_and_the_first_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut first = Proc::run(dir.path(), "first", &config(dir.path(), port), port).await;
    let deadline = Deadline::new(
        "the first daemon to record a failed fetch",
        Duration::from_secs(30),
    );
    loop {
        let body = first.json("/api/events?since=0").await;
        if body["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "fetch_failed")
        {
            break;
        }
        deadline.tick(&body).await;
    }

    let port2 = free_port();
    let second_config = config(dir.path(), port2);
    let args = ["run", "--config", second_config.to_str().unwrap()];
    let mut second = Proc::spawn(dir.path(), "second", &args, &[], port2);
    let status = second.wait_exit(30).await;
    let (stdout, stderr) = second.output();
    assert!(
        !status.success(),
        "the second daemon ran: {stdout}\n{stderr}"
    );
    let storage = dir.path().join("state.redb").display().to_string();
    assert!(
        stderr.contains("already in use") && stderr.contains(&storage),
        "stderr: {stderr}\nstdout: {stdout}"
    );

    let (_, health) = first.get("/api/health").await;
    assert_eq!(health["storage"], "ok", "{health}");
    let targets = first.json("/api/targets").await;
    assert_eq!(targets["targets"][0]["id"], "haproxy/gone/web", "{targets}");
    let attempt = targets["targets"][0]["last_fetch_at"].clone();
    let deadline = Deadline::new(
        "the first daemon to commit another poll",
        Duration::from_secs(30),
    );
    loop {
        let now = first.json("/api/targets").await;
        if now["targets"][0]["last_fetch_at"] != attempt {
            break;
        }
        deadline.tick(&now).await;
    }
}
