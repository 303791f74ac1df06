//! Tests of valid configurations, defaults, merging and the summary.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::*;

pub(super) const TOKEN: &str = "tok-3f9a1c";
pub(super) const PASSWORD: &str = "pw-hunter2";

/// The environment seen by the tests.
pub(super) fn env(name: &str) -> Option<String> {
    match name {
        "WATCHPOST_ADMIN_TOKEN" => Some(TOKEN.to_string()),
        "STATS_PASSWORD" => Some(PASSWORD.to_string()),
        "EMPTY" => Some(String::new()),
        "AGENT_HOST" => Some("10.1.2.3".to_string()),
        "HAPROXY_STATS_PASSWORD" | "EUREKA_PASSWORD" | "WATCHPOST_WEBHOOK_SECRET" => {
            Some(PASSWORD.to_string())
        }
        _ => None,
    }
}

fn ok(text: &str) -> Config {
    match parse(text, "test.toml", &env) {
        Ok(config) => config,
        Err(errors) => panic!("expected a valid config, got:\n{errors}"),
    }
}

const EXAMPLE: &str = include_str!("../../config/watchpost.toml");

#[test]
fn example_config_parses_with_a_sensible_summary() {
    let config = match parse(EXAMPLE, "config/watchpost.toml", &env) {
        Ok(config) => config,
        Err(errors) => panic!("config/watchpost.toml is invalid:\n{errors}"),
    };
    assert_eq!(config.server.admin_token, Some(Secret::new(TOKEN)));
    assert_eq!(config.server.allowed_origins, ["http://127.0.0.1:8080"]);
    assert_eq!(config.storage, StorageConfig::default());
    assert_eq!(config.haproxy.len(), 1);
    assert_eq!(config.haproxy[0].source, HaproxySourceKind::Agent);
    assert_eq!(config.haproxy[0].policy, Policy::default());
    assert_eq!(config.eureka[0].url, "http://127.0.0.1:8761/eureka");
    assert_eq!(
        config.summary(),
        "config/watchpost.toml: 1 HAProxy source (2 backends), 1 Eureka server; \
         listening on 127.0.0.1:8080; admin API enabled"
    );
}

#[test]
fn example_config_commented_examples_are_valid_when_uncommented() {
    let uncommented: Vec<&str> = EXAMPLE
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest)
                if rest.starts_with("[[")
                    || rest.split_once(" = ").is_some_and(|(k, _)| {
                        k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    }) =>
            {
                rest
            }
            _ => line,
        })
        .collect();
    let text = uncommented.join("\n");
    let config = parse(&text, "full.toml", &env).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(config.notify.len(), 2, "the example notifiers");
    let agent = &config.haproxy[0];
    assert_eq!(agent.agent_instance.as_deref(), Some("prod"));
    assert_eq!(agent.policy.interval, Duration::from_secs(5));
    assert_eq!(agent.policy.retry.max_elapsed, Duration::from_secs(3));
    assert!(agent.recover.is_some());
    assert_eq!(
        config.haproxy[1].password.as_ref().map(Secret::expose),
        Some(PASSWORD)
    );
    assert_eq!(
        config.haproxy[2].socket.as_deref(),
        Some("/run/haproxy/admin.sock")
    );
    assert_eq!(config.haproxy[2].push_ring(), Some("watchpost"));
    assert!(config.haproxy[2].validate.is_some());
    assert!(config.eureka[0].delta && config.eureka[0].username.is_some());
    assert_eq!(
        config.summary(),
        "full.toml: 3 HAProxy sources (3 backends, 1 discovering all), 1 Eureka server; \
         listening on 127.0.0.1:8080 (HTTPS); admin API enabled"
    );
    let tls = config.server.tls.expect("the tls example");
    assert_eq!(tls.cert, PathBuf::from("/etc/watchpost/cert.pem"));
}

#[test]
fn example_config_without_token_disables_admin_api() {
    let no_token = |name: &str| (name == "WATCHPOST_ADMIN_TOKEN").then(String::new);
    let result = parse(EXAMPLE, "config/watchpost.toml", &no_token);
    let config = result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.server.admin_token, None);
    assert!(
        config
            .summary()
            .ends_with("admin API disabled (no admin_token)")
    );
}

#[test]
fn empty_file_gives_all_defaults() {
    let config = ok("");
    let expected = Config {
        file: PathBuf::from("test.toml"),
        ..Config::new_in_memory("127.0.0.1:8080".parse().unwrap(), "data/watchpost.redb")
    };
    assert_eq!(config, expected);
    assert_eq!(config.storage.event_retention, 100_000);
    assert_eq!(
        config.summary(),
        "test.toml: 0 HAProxy sources (0 backends), 0 Eureka servers; \
         listening on 127.0.0.1:8080; admin API disabled (no admin_token)"
    );
}

#[test]
fn builtin_policy_defaults_match_the_spec() {
    let p = Policy::default();
    assert_eq!(
        (p.interval, p.timeout),
        (Duration::from_secs(10), Duration::from_secs(3))
    );
    assert_eq!(p.retry.initial, Duration::from_millis(200));
    assert_eq!(p.retry.max, Duration::from_secs(2));
    assert_eq!(p.retry.multiplier, 2.0);
    assert_eq!(p.retry.max_elapsed, Duration::from_secs(5));
    assert_eq!(p.circuit.failure_threshold, 3);
    assert_eq!(p.circuit.open_base, Duration::from_secs(5));
    assert_eq!(p.circuit.open_max, Duration::from_secs(300));
    assert!(!p.auto_recover);
}

const MERGE: &str = r#"
[defaults]
interval = "20s"
retry = { initial = "100ms", multiplier = 3 }
circuit.failure_threshold = 5
auto_recover = true

[[haproxy]]
name = "a"
source = "agent"
url = "http://agent:11011/"
backends = ["web"]
timeout = "1s"
retry = { max = "4s" }
[haproxy.circuit]
open_max = "1m"

[[haproxy]]
name = "b"
source = "socket"
socket = "tcp://127.0.0.1:9999"
backends = "*"
auto_recover = false
"#;

#[test]
fn overrides_merge_key_by_key_with_defaults() {
    let config = ok(MERGE);
    let a = &config.haproxy[0].policy;
    assert_eq!(a.interval, Duration::from_secs(20));
    assert_eq!(a.timeout, Duration::from_secs(1));
    assert_eq!(a.retry.initial, Duration::from_millis(100));
    assert_eq!(a.retry.max, Duration::from_secs(4));
    assert_eq!(a.retry.multiplier, 3.0);
    assert_eq!(a.retry.max_elapsed, Duration::from_secs(5));
    assert_eq!(a.circuit.failure_threshold, 5);
    assert_eq!(a.circuit.open_base, Duration::from_secs(5));
    assert_eq!(a.circuit.open_max, Duration::from_secs(60));
    assert!(a.auto_recover);
    let b = &config.haproxy[1].policy;
    assert_eq!(
        (b.interval, b.timeout),
        (Duration::from_secs(20), Duration::from_secs(3))
    );
    assert_eq!(b.retry.max, Duration::from_secs(2));
    assert!(!b.auto_recover);
}

#[test]
fn sources_read_every_field() {
    let config = ok(MERGE);
    let a = &config.haproxy[0];
    assert_eq!(a.url.as_deref(), Some("http://agent:11011"));
    assert_eq!(a.backends, Backends::Named(vec!["web".to_string()]));
    let b = &config.haproxy[1];
    assert_eq!(
        (b.source, b.url.as_deref()),
        (HaproxySourceKind::Socket, None)
    );
    assert_eq!(b.socket.as_deref(), Some("tcp://127.0.0.1:9999"));
    assert_eq!(b.backends, Backends::All);
    assert_eq!(
        config.summary(),
        "test.toml: 2 HAProxy sources (1 backend, 1 discovering all), 0 Eureka servers; \
         listening on 127.0.0.1:8080; admin API disabled (no admin_token)"
    );
}

#[test]
fn stats_and_eureka_sources_with_credentials_and_recover() {
    let config = ok(r#"
        [[haproxy]]
        name = "edge.01"
        source = "stats"
        url = "http://${AGENT_HOST}:8404/stats/"
        username = "admin"
        password = "${STATS_PASSWORD}"
        backends = ["be:1", "be-2"]
        recover = { command = ["systemctl", "reload", "haproxy"] }

        [[eureka]]
        name = "main"
        url = "https://eureka.example:8761/eureka/"
        delta = true
        username = "u"
        password = "p"

        [[eureka]]
        name = "via-agent"
        source = "agent"
        url = "http://127.0.0.1:11011"
        recover = { command = ["/bin/true"], timeout = "5s" }
    "#);
    let h = &config.haproxy[0];
    assert_eq!(h.url.as_deref(), Some("http://10.1.2.3:8404/stats/"));
    assert_eq!(h.username.as_deref(), Some("admin"));
    assert_eq!(h.password.as_ref().map(Secret::expose), Some(PASSWORD));
    let recover = h.recover.as_ref().unwrap();
    assert_eq!(recover.command, ["systemctl", "reload", "haproxy"]);
    assert_eq!(recover.timeout, DEFAULT_RECOVER_TIMEOUT);
    let e = &config.eureka[0];
    assert_eq!((e.source, e.delta), (EurekaSourceKind::Eureka, true));
    assert_eq!(e.url, "https://eureka.example:8761/eureka");
    let agent = &config.eureka[1];
    assert_eq!(
        (agent.source, agent.delta),
        (EurekaSourceKind::Agent, false)
    );
    assert_eq!(
        agent.recover.as_ref().unwrap().timeout,
        Duration::from_secs(5)
    );
}

#[test]
fn env_references_are_substituted_and_empty_token_disables_admin() {
    let config = ok(r#"
        [server]
        admin_token = "${EMPTY}"
        listen = "0.0.0.0:9090"
        allowed_origins = ["https://ops.example/", "http://${AGENT_HOST}:80"]
        tls = { cert = "/etc/${AGENT_HOST}/cert.pem", key = "key.pem" }
        [storage]
        path = "/var/lib/${AGENT_HOST}/w.redb"
        event_retention = 10
    "#);
    assert_eq!(config.server.admin_token, None);
    assert_eq!(
        config.server.listen,
        "0.0.0.0:9090".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(
        config.server.allowed_origins,
        ["https://ops.example", "http://10.1.2.3"]
    );
    let tls = config.server.tls.expect("tls");
    assert_eq!(tls.cert, PathBuf::from("/etc/10.1.2.3/cert.pem"));
    assert_eq!(tls.key, PathBuf::from("key.pem"));
    assert_eq!(
        config.storage.path,
        PathBuf::from("/var/lib/10.1.2.3/w.redb")
    );
    assert_eq!(config.storage.event_retention, 10);
}

#[test]
fn inline_array_of_tables_is_accepted() {
    let config = ok(
        r#"eureka = [{ name = "a", url = "http://h:1/eureka" }, { name = "b", url = "http://h:2" }]"#,
    );
    let names: Vec<&str> = config.eureka.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
}

#[test]
fn secrets_never_show_in_debug_or_display() {
    let config = ok(&format!(
        "[server]\nadmin_token = \"${{WATCHPOST_ADMIN_TOKEN}}\"\n{}",
        "[[haproxy]]\nname = \"s\"\nsource = \"stats\"\nurl = \"http://h\"\nusername = \"u\"\npassword = \"${STATS_PASSWORD}\"\nbackends = \"*\"\n"
    ));
    let debug = format!("{config:?}");
    assert!(
        !debug.contains(TOKEN) && !debug.contains(PASSWORD),
        "{debug}"
    );
    assert!(debug.contains("***"));
    assert_eq!(Secret::new("x").to_string(), "***");
    assert_eq!(Secret::new("x").expose(), "x");
}

#[test]
fn source_kinds_spell_as_in_the_config() {
    let haproxy: Vec<&str> = HaproxySourceKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(haproxy, ["agent", "stats", "socket"]);
    let eureka: Vec<&str> = EurekaSourceKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(eureka, ["eureka", "agent"]);
}

#[test]
fn load_reads_a_file_and_reports_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.toml");
    std::fs::write(&path, "[server]\nlisten = \"127.0.0.1:0\"\n").unwrap();
    let config = load(&path).unwrap();
    assert_eq!(config.file, path);
    assert_eq!(config.server.listen.port(), 0);
    let missing = dir.path().join("nope.toml");
    let errors = load(&missing).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors.0[0].line, 0);
    assert!(
        errors
            .to_string()
            .contains("cannot read the configuration file"),
        "{errors}"
    );
}
