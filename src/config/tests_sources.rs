//! Tests of invalid `[[haproxy]]` and `[[eureka]]` entries.

use super::tests::env;
use super::tests_bad::{Case, check, errors};
use super::*;

const HAPROXY: &[Case] = &[
    (
        "backends = \"*\"",
        1,
        "haproxy[0].source",
        "set source = \"agent\", \"stats\" or \"socket\"",
    ),
    (
        "source = \"tcp\"\nbackends = \"*\"",
        3,
        "haproxy[0].source",
        "allowed: agent, stats, socket",
    ),
    (
        "source = \"agent\"\nbackends = \"*\"",
        1,
        "haproxy[0].url",
        "required key is missing",
    ),
    (
        "source = \"socket\"\nbackends = \"*\"",
        1,
        "haproxy[0].socket",
        "unix socket path",
    ),
    (
        "source = \"socket\"\nsocket = \"/s\"\nurl = \"http://h\"\nbackends = \"*\"",
        5,
        "haproxy[0].url",
        "only used with source = \"agent\" or \"stats\"",
    ),
    (
        "source = \"socket\"\nsocket = \"tcp://h\"\nbackends = \"*\"",
        4,
        "haproxy[0].socket",
        "not a valid TCP",
    ),
    (
        "source = \"socket\"\nsocket = \"udp://h:1\"\nbackends = \"*\"",
        4,
        "haproxy[0].socket",
        "scheme `udp`",
    ),
    (
        "source = \"stats\"\nurl = \"http://h\"\nagent_instance = \"p\"\nbackends = \"*\"",
        5,
        "haproxy[0].agent_instance",
        "only used with source = \"agent\"",
    ),
    (
        "source = \"agent\"\nurl = \"http://h\"\nusername = \"u\"\nbackends = \"*\"",
        5,
        "haproxy[0].username",
        "only used with source = \"stats\"",
    ),
    (
        "source = \"agent\"\nurl = \"http://h\"\nagent_instance = \"a/b\"\nbackends = \"*\"",
        5,
        "haproxy[0].agent_instance",
        "URL path segment",
    ),
    (
        "source = \"stats\"\nurl = \"http://h\"\npassword = \"${STATS_PASSWORD}\"\nbackends = \"*\"",
        5,
        "haproxy[0].password",
        "needs a `username`",
    ),
    (
        "source = \"agent\"\nurl = \"not a url\"\nbackends = \"*\"",
        4,
        "haproxy[0].url",
        "not a valid URL",
    ),
    (
        "source = \"agent\"\nurl = \"ftp://h\"\nbackends = \"*\"",
        4,
        "haproxy[0].url",
        "scheme `ftp`",
    ),
    (
        "source = \"agent\"\nurl = \"http://h\"\nbackends = \"*\"\nbakends = 1",
        6,
        "haproxy[0].bakends",
        "mean `backends`?",
    ),
];

#[test]
fn haproxy_sources() {
    check("[[haproxy]]\nname = \"a\"\n", HAPROXY);
}

const BACKENDS: &[Case] = &[
    ("", 1, "haproxy[0].backends", "required key is missing"),
    (
        "backends = []",
        5,
        "haproxy[0].backends",
        "lists no backends",
    ),
    (
        "backends = \"all\"",
        5,
        "haproxy[0].backends",
        "write \"*\" for all backends",
    ),
    (
        "backends = 3",
        5,
        "haproxy[0].backends",
        "expected an array of backend names or \"*\"",
    ),
    (
        "backends = [\n  \"a\",\n  1,\n]",
        7,
        "haproxy[0].backends[1]",
        "expected a string, found integer",
    ),
    (
        "backends = [\"a\",\n \"a\"]",
        6,
        "haproxy[0].backends[1]",
        "listed twice (first on line 5)",
    ),
    (
        "backends = [\"a\", \"\"]",
        5,
        "haproxy[0].backends[1]",
        "must not be an empty string",
    ),
    (
        "backends = [\"a/b\"]",
        5,
        "haproxy[0].backends[0]",
        "not an HAProxy backend name",
    ),
];

const AGENT: &str = "[[haproxy]]\nname = \"a\"\nsource = \"agent\"\nurl = \"http://h:1\"\n";

#[test]
fn backends() {
    check(AGENT, BACKENDS);
}

const RECOVER: &[Case] = &[
    (
        "{ command = [] }",
        6,
        "haproxy[0].recover.command",
        "is empty",
    ),
    (
        "{ timeout = \"5s\" }",
        6,
        "haproxy[0].recover.command",
        "required key is missing",
    ),
    (
        "{ command = \"x y\" }",
        6,
        "haproxy[0].recover.command",
        "expected an array of strings",
    ),
    (
        "{ command = [\"x\"], sh = 1 }",
        6,
        "haproxy[0].recover.sh",
        "allowed keys here: command, timeout",
    ),
    (
        "{ command = [\"x\"], timeout = \"0s\" }",
        6,
        "haproxy[0].recover.timeout",
        "longer than 0",
    ),
    (
        "{ command = [\"x\", \"\"] }",
        6,
        "haproxy[0].recover.command[1]",
        "empty string",
    ),
    ("\"systemctl\"", 6, "haproxy[0].recover", "expected a table"),
];

#[test]
fn recover_actions() {
    check(&format!("{AGENT}backends = \"*\"\nrecover = "), RECOVER);
}

const EUREKA: &[Case] = &[
    ("", 1, "eureka[0].url", "registry base URL"),
    (
        "url = \"http://h\"\nsource = \"consul\"",
        4,
        "eureka[0].source",
        "allowed: eureka, agent",
    ),
    (
        "url = \"http://h\"\nsource = \"agent\"\ndelta = true",
        5,
        "eureka[0].delta",
        "only used with source = \"eureka\"",
    ),
    (
        "url = \"http://h\"\nsource = \"agent\"\npassword = \"x\"",
        5,
        "eureka[0].password",
        "only used with",
    ),
    (
        "url = \"http://h\"\ndelta = 1",
        4,
        "eureka[0].delta",
        "expected true or false",
    ),
    (
        "url = \"http://\"",
        3,
        "eureka[0].url",
        "not a valid URL (empty host)",
    ),
    (
        "url = \"http://h\"\nsocket = \"/s\"",
        4,
        "eureka[0].socket",
        "allowed keys here: name, source, url",
    ),
];

#[test]
fn eureka_sources() {
    check("[[eureka]]\nname = \"m\"\n", EUREKA);
}

#[test]
fn names_must_be_valid_and_unique_per_list() {
    let source = "url = \"http://h\"\n";
    let text = format!(
        "[[eureka]]\nname = \"x\"\n{source}[[eureka]]\nname = \"x\"\n{source}\
         [[eureka]]\nname = \"fd mz\"\n{source}"
    );
    let errors = errors(&text);
    let found: Vec<(usize, &str)> = errors.iter().map(|e| (e.line, e.key.as_str())).collect();
    assert_eq!(found, [(5, "eureka[1].name"), (8, "eureka[2].name")]);
    assert!(
        errors[0]
            .message
            .contains("already used by eureka[0] (line 1)"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].message.contains("cannot be used as a name"),
        "{}",
        errors[1]
    );
    let other_list = format!("{AGENT}backends = \"*\"\n[[eureka]]\nname = \"a\"\n{source}");
    assert!(parse(&other_list, "ok.toml", &env).is_ok());
}

#[test]
fn events_ring_and_validate() {
    let socket = "[[haproxy]]\nname = \"s\"\nsource = \"socket\"\nsocket = \"/run/h.sock\"\nbackends = \"*\"\n";
    let text = format!(
        "{socket}events_ring = \"watchpost\"\nvalidate = {{ command = [\"haproxy\", \"-c\", \"-f\", \"/etc/haproxy/haproxy.cfg\"], timeout = \"10s\" }}\n\
         {AGENT}backends = \"*\"\nevents_ring = \"watchpost\"\n"
    );
    let config = match parse(&text, "test.toml", &env) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let (s, a) = (&config.haproxy[0], &config.haproxy[1]);
    assert_eq!(s.push_ring(), Some("watchpost"));
    let validate = s.validate.as_ref().unwrap();
    assert_eq!(validate.command[1], "-c");
    assert_eq!(validate.timeout, std::time::Duration::from_secs(10));
    assert_eq!(
        (a.events_ring.as_deref(), a.push_ring()),
        (Some("watchpost"), None)
    );
    let warnings = config.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("haproxy a: events_ring is ignored: source = \"agent\""),
        "{warnings:?}"
    );
    let bad = format!("{socket}events_ring = \"a b\"\nvalidate = {{ timeout = \"1s\" }}\n");
    let e = errors(&bad);
    assert!(
        e.iter()
            .any(|e| e.key == "haproxy[0].events_ring"
                && e.message.contains("not an HAProxy ring name")),
        "{e:?}"
    );
    assert!(
        e.iter().any(|e| e.key == "haproxy[0].validate.command"),
        "{e:?}"
    );
}
