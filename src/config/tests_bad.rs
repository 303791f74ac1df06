//! Tests of invalid configurations: each reports the exact line and key.

use super::tests::{PASSWORD, TOKEN, env};
use super::*;

/// A bad config (after a prefix), the line and key of its one error, and a
/// fragment of the message.
pub(super) type Case = (&'static str, usize, &'static str, &'static str);

/// Parses `text`, which must be invalid, and returns its errors.
pub(super) fn errors(text: &str) -> Vec<ConfigError> {
    match parse(text, "bad.toml", &env) {
        Ok(config) => panic!("expected errors, got {config:?}\nfor:\n{text}"),
        Err(errors) => errors.0,
    }
}

/// Asserts that `text` yields exactly one error, at `line` and `key`, whose
/// message contains `fragment` and no secret.
pub(super) fn one(text: &str, line: usize, key: &str, fragment: &str) {
    let errors = errors(text);
    let found: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 1, "for:\n{text}\ngot:\n{}", found.join("\n"));
    let e = &errors[0];
    let context = format!("for:\n{text}\ngot: {e}");
    assert_eq!((e.line, e.key.as_str()), (line, key), "{context}");
    assert!(
        e.message.contains(fragment),
        "`{fragment}` not in: {context}"
    );
    assert!(!e.message.contains(TOKEN), "{context}");
    assert!(!e.message.contains(PASSWORD), "{context}");
}

/// Runs `one` on `prefix` followed by each case's text.
pub(super) fn check(prefix: &str, cases: &[Case]) {
    for (text, line, key, fragment) in cases {
        one(&format!("{prefix}{text}"), *line, key, fragment);
    }
}

const SECTIONS: &[Case] = &[
    (
        "foo = 1",
        1,
        "foo",
        "allowed keys here: server, storage, defaults, haproxy, eureka",
    ),
    (
        "server = \"x\"",
        1,
        "server",
        "expected a table, found string",
    ),
    (
        "[server]\nlisten = 8080",
        2,
        "server.listen",
        "expected a string, found integer",
    ),
    (
        "[server]\nlisten = \"localhost:80\"",
        2,
        "server.listen",
        "not a socket address",
    ),
    (
        "[server]\nport = 1",
        2,
        "server.port",
        "allowed keys here: listen, admin_token",
    ),
    (
        "[server]\nallowed_origins = [\"http://a/x\"]",
        2,
        "server.allowed_origins[0]",
        "has a path",
    ),
    (
        "[server]\ntls = { cert = \"c.pem\" }",
        2,
        "server.tls.key",
        "required key is missing; the PEM file of the private key",
    ),
    (
        "[server]\ntls = { cert = \"c.pem\", key = \"k.pem\", ca = \"x\" }",
        2,
        "server.tls.ca",
        "allowed keys here: cert, key",
    ),
    (
        "[server]\ntls = \"on\"",
        2,
        "server.tls",
        "expected a table",
    ),
    (
        "[server]\nallowed_origins = \"http://a\"",
        2,
        "server.allowed_origins",
        "expected an array",
    ),
    (
        "[storage]\nevent_retention = 0",
        2,
        "storage.event_retention",
        "keep at least 1",
    ),
    (
        "[storage]\nevent_retention = \"1\"",
        2,
        "storage.event_retention",
        "expected an integer",
    ),
    (
        "[storage]\npath = \"\"",
        2,
        "storage.path",
        "must not be empty",
    ),
    (
        "[defaults]\nintervall = \"5s\"",
        2,
        "defaults.intervall",
        "did you mean `interval`?",
    ),
    (
        "[defaults]\ninterval = \"10 parsecs\"",
        2,
        "defaults.interval",
        "is not a duration",
    ),
    (
        "[defaults]\ntimeout = 3",
        2,
        "defaults.timeout",
        "expected a duration string",
    ),
    (
        "[defaults]\ntimeout = \"0s\"",
        2,
        "defaults.timeout",
        "must be between 100ms and 1day",
    ),
    (
        "[defaults]\ninterval = \"2ns\"",
        2,
        "defaults.interval",
        "2ns is not a usable interval; it must be between 100ms and 1day",
    ),
    (
        "[defaults]\ninterval = \"1000years\"",
        2,
        "defaults.interval",
        "is not a usable interval",
    ),
    (
        "[defaults]\ntimeout = \"99ms\"",
        2,
        "defaults.timeout",
        "99ms is not a usable timeout",
    ),
    (
        "[defaults]\nmax_servers = 0",
        2,
        "defaults.max_servers",
        "0 is not a usable limit",
    ),
    (
        "[defaults]\nmax_instances = -5",
        2,
        "defaults.max_instances",
        "-5 is not a usable limit",
    ),
    (
        "[server]\nadmin_token = \"   \"",
        2,
        "server.admin_token",
        "is blank",
    ),
    (
        "[defaults]\nauto_recover = \"yes\"",
        2,
        "defaults.auto_recover",
        "expected true or false",
    ),
    (
        "[defaults]\nretry = 1",
        2,
        "defaults.retry",
        "expected a table, found integer",
    ),
    ("haproxy = 5", 1, "haproxy", "expected an array of tables"),
    (
        "[haproxy]\nname = \"a\"",
        1,
        "haproxy",
        "expected an array of tables",
    ),
];

#[test]
fn sections_and_types() {
    check("", SECTIONS);
}

const POLICY: &[Case] = &[
    (
        "interval = \"2s\"\ntimeout = \"2s\"",
        3,
        "defaults.timeout",
        "2s must be shorter than interval 2s",
    ),
    (
        "interval = \"1s\"",
        2,
        "defaults.interval",
        "timeout 3s (built-in default)",
    ),
    (
        "retry = { initial = \"3s\" }",
        2,
        "defaults.retry.initial",
        "at most retry.max 2s (built-in",
    ),
    (
        "retry.multiplier = 0.5",
        2,
        "defaults.retry.multiplier",
        "at least 1",
    ),
    (
        "retry.multiplier = \"2\"",
        2,
        "defaults.retry.multiplier",
        "expected a number",
    ),
    (
        "retry.jitter = 1",
        2,
        "defaults.retry.jitter",
        "allowed keys here: initial, max",
    ),
    (
        "circuit = { failure_threshold = 0 }",
        2,
        "defaults.circuit.failure_threshold",
        "between 1",
    ),
    (
        "circuit = { open_base = \"10m\" }",
        2,
        "defaults.circuit.open_base",
        "at most circuit.open_max 5m",
    ),
];

#[test]
fn policy_values_and_relations() {
    check("[defaults]\n", POLICY);
}

const AGENT: &str = "[[haproxy]]\nname = \"a\"\nsource = \"agent\"\nurl = \"http://h:1\"\n";

#[test]
fn relations_through_inheritance_are_reported_at_the_override() {
    let text =
        format!("[defaults]\ntimeout = \"4s\"\n{AGENT}backends = \"*\"\ninterval = \"4s\"\n");
    one(
        &text,
        8,
        "haproxy[0].interval",
        "timeout 4s (from defaults.timeout, line 2)",
    );
    let text = format!("{AGENT}backends = \"*\"\ncircuit = {{ open_max = \"1s\" }}\n");
    one(
        &text,
        6,
        "haproxy[0].circuit.open_max",
        "open_base 5s (built-in default)",
    );
    let broken_default = format!("[defaults]\ninterval = \"1s\"\n{AGENT}backends = \"*\"\n");
    one(
        &broken_default,
        2,
        "defaults.interval",
        "must be shorter than interval 1s",
    );
}

const VARIABLES: &[Case] = &[
    (
        "\"${NOPE}\"",
        2,
        "server.admin_token",
        "environment variable NOPE is not set",
    ),
    ("\"${NOPE\"", 2, "server.admin_token", "has no closing `}`"),
    (
        "\"${1X}\"",
        2,
        "server.admin_token",
        "not a valid variable reference",
    ),
];

#[test]
fn unset_and_malformed_variables_are_named() {
    check("[server]\nadmin_token = ", VARIABLES);
    let text = format!("{AGENT}backends = [\"${{A}}\", \"${{B}}\"]");
    let errors = errors(&text);
    let found: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.key.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[1].0, "haproxy[0].backends[1]");
    assert!(
        found[1].1.starts_with("environment variable B is not set"),
        "{found:?}"
    );
}

#[test]
fn substituted_values_are_not_echoed() {
    let text = "[server]\nlisten = \"${WATCHPOST_ADMIN_TOKEN}\"";
    let shown = "\"${WATCHPOST_ADMIN_TOKEN}\" (after variable substitution)";
    one(text, 2, "server.listen", shown);
}

const SEVERAL: &str = r#"[server]
listen = "nowhere"
colour = "blue"

[defaults]
interval = "1s"

[[haproxy]]
name = "a"
source = "agent"
url = "http://h:1"
backends = ["x", "x"]

[[haproxy]]
name = "a"
source = "sockets"
backends = "*"

[[eureka]]
name = "e"
url = "http://e:8761/eureka"
password = "${MISSING_PW}"
"#;

#[test]
fn several_mistakes_are_reported_together_in_line_order() {
    let errors = ConfigErrors(errors(SEVERAL));
    let found: Vec<(usize, &str)> = errors.iter().map(|e| (e.line, e.key.as_str())).collect();
    let expected = [
        (2, "server.listen"),
        (3, "server.colour"),
        (6, "defaults.interval"),
        (12, "haproxy[0].backends[1]"),
        (15, "haproxy[1].name"),
        (16, "haproxy[1].source"),
        (22, "eureka[0].password"),
        (22, "eureka[0].password"),
    ];
    assert_eq!(found, expected, "\n{errors}");
    let display = errors.to_string();
    assert_eq!(display.lines().count(), expected.len());
    let first = "bad.toml:2: server.listen: \"nowhere\" is not a socket address";
    assert!(display.starts_with(first), "{display}");
}

const SYNTAX: &[Case] = &[
    (
        "[server]\nlisten = \"127.0.0.1:1\"\nadmin_token = oops\n",
        3,
        "(syntax)",
        "invalid TOML",
    ),
    (
        "[server]\nlisten = \"127.0.0.1:1\"\n\nlisten = \"x\"\n",
        4,
        "(syntax)",
        "duplicate key (at `listen`)",
    ),
    ("[[haproxy]\nname = \"a\"\n", 1, "(syntax)", "invalid TOML"),
    ("a = 1\n\n\nb = [1,\n", 4, "(syntax)", "unclosed array"),
];

#[test]
fn syntax_errors_report_their_line() {
    check("", SYNTAX);
}
