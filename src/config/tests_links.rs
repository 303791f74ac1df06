//! Tests of `[[link]]` and `[defaults] drift_for`.

use std::time::Duration;

use super::tests::env;
use super::tests_bad::{Case, check};
use super::*;

const SOURCES: &str = "[[haproxy]]\nname = \"edge\"\nsource = \"agent\"\nurl = \"http://h\"\n\
backends = [\"jurws\"]\n[[haproxy]]\nname = \"all\"\nsource = \"agent\"\nurl = \"http://h\"\n\
backends = \"*\"\n[[eureka]]\nname = \"main\"\nurl = \"http://e/eureka\"\n";

#[test]
fn links_and_drift_for_are_read() {
    let text = format!(
        "[defaults]\ndrift_for = \"90s\"\n{SOURCES}[[link]]\neureka = \"main/JURWS\"\n\
         haproxy = [\"edge/jurws\", \"all/anything\"]\n"
    );
    let config = parse(&text, "ok.toml", &env).unwrap();
    assert_eq!(config.drift_for, Duration::from_secs(90));
    let want = LinkConfig {
        eureka_server: "main".into(),
        app: "JURWS".into(),
        haproxy: vec![
            ("edge".into(), "jurws".into()),
            ("all".into(), "anything".into()),
        ],
    };
    assert_eq!(config.links, vec![want]);
    let plain = parse(SOURCES, "ok.toml", &env).unwrap();
    assert_eq!(
        (plain.drift_for, plain.links.len()),
        (Duration::from_secs(60), 0)
    );
}

const LINKS: &[Case] = &[
    (
        "eureka = \"main\"\nhaproxy = [\"edge/jurws\"]",
        15,
        "link[0].eureka",
        "is not \"<eureka name>/<APP>\"",
    ),
    (
        "eureka = \"other/A\"\nhaproxy = [\"edge/jurws\"]",
        15,
        "link[0].eureka",
        "no [[eureka]] entry called \"other\"",
    ),
    (
        "eureka = \"main/A\"\nhaproxy = [\"edge/other\"]",
        16,
        "link[0].haproxy[0]",
        "does not poll",
    ),
    (
        "eureka = \"main/A\"\nhaproxy = [\"nope/x\"]",
        16,
        "link[0].haproxy[0]",
        "no [[haproxy]] entry called \"nope\"",
    ),
    (
        "eureka = \"main/A\"\nhaproxy = [\"edge\"]",
        16,
        "link[0].haproxy[0]",
        "is not \"<haproxy name>/<backend>\"",
    ),
    (
        "eureka = \"main/A\"\nhaproxy = []",
        16,
        "link[0].haproxy",
        "at least one backend",
    ),
    (
        "haproxy = [\"edge/jurws\"]",
        14,
        "link[0].eureka",
        "required key is missing",
    ),
    (
        "eureka = \"main/A\"\nhaproxy = [\"edge/jurws\"]\nweight = 1",
        17,
        "link[0].weight",
        "unknown key",
    ),
];

#[test]
fn bad_links_are_reported_with_line_and_key() {
    check(&format!("{SOURCES}[[link]]\n"), LINKS);
    check(
        &format!("[defaults]\ndrift_for = \"soon\"\n{SOURCES}"),
        &[("", 2, "defaults.drift_for", "not a duration")],
    );
}
