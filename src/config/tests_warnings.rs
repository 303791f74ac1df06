//! Tests of the warnings a usable configuration carries, and of the limits.

use super::tests::env;
use super::*;

fn warnings(text: &str) -> Vec<ConfigWarning> {
    match parse(text, "w.toml", &env) {
        Ok(config) => {
            let shown: Vec<String> = config
                .parse_warnings
                .iter()
                .map(ToString::to_string)
                .collect();
            assert_eq!(config.warnings(), shown, "printed by check-config and run");
            config.parse_warnings
        }
        Err(errors) => panic!("expected a usable config, got:\n{errors}"),
    }
}

#[test]
fn a_short_admin_token_is_used_with_a_warning_that_hides_it() {
    let found = warnings("[server]\nadmin_token = \"short-secret\"");
    assert_eq!(found.len(), 1, "{found:?}");
    let w = &found[0];
    assert_eq!((w.line, w.key.as_str()), (2, "server.admin_token"));
    assert!(w.message.contains("only 12 characters"), "{w}");
    assert!(!w.to_string().contains("short-secret"), "{w}");
}

#[test]
fn a_long_token_on_loopback_gives_no_warning() {
    let text = "[server]\nlisten = \"127.0.0.1:9000\"\nadmin_token = \"0123456789abcdef\"";
    assert_eq!(warnings(text), Vec::new());
    assert_eq!(warnings(""), Vec::new());
}

#[test]
fn an_open_listen_address_without_a_token_is_a_warning() {
    let found = warnings("[server]\nlisten = \"0.0.0.0:8080\"");
    assert_eq!(found.len(), 1, "{found:?}");
    let w = &found[0];
    assert_eq!((w.line, w.key.as_str()), (2, "server.listen"));
    assert!(w.message.contains("the API is open"), "{w}");
    assert!(w.message.contains("docs/configuration.md"), "{w}");
    let guarded = "[server]\nlisten = \"[::]:8080\"\nadmin_token = \"0123456789abcdef\"";
    assert_eq!(warnings(guarded), Vec::new());
}

#[test]
fn limits_come_from_defaults_and_sources_override_them() {
    let text = r#"
        [defaults]
        max_servers = 500
        max_instances = 700
        [[haproxy]]
        name = "a"
        source = "agent"
        url = "http://127.0.0.1:1"
        backends = ["web"]
        [[haproxy]]
        name = "b"
        source = "agent"
        url = "http://127.0.0.1:1"
        backends = ["web"]
        max_servers = 3
    "#;
    let config = parse(text, "w.toml", &env).unwrap_or_else(|e| panic!("{e}"));
    let limits: Vec<Limits> = config.haproxy.iter().map(|h| h.policy.limits).collect();
    let inherited = Limits {
        max_servers: 500,
        max_instances: 700,
    };
    let own = Limits {
        max_servers: 3,
        ..inherited
    };
    assert_eq!(limits, vec![inherited, own]);
    assert_eq!(Policy::default().limits.max_servers, DEFAULT_MAX_SERVERS);
}
