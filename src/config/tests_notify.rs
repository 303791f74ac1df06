//! Tests of `[[notify]]`: every kind with its defaults, and the errors.

use std::time::Duration;

use super::tests::{PASSWORD, env};
use super::tests_bad::{Case, check};
use super::*;

const ALL: &str = r#"
[[notify]]
name = "ops-hook"
kind = "webhook"
url = "https://hooks.example/watchpost"
secret = "${STATS_PASSWORD}"

[[notify]]
name = "ops-slack"
kind = "slack"
url = "https://hooks.slack.example/x"
match = { severity = ["critical"], target = "haproxy/*" }
group_wait = "0s"

[[notify]]
name = "ops-mail"
kind = "email"
smtp = "smtp://mail.example"
starttls = true
username = "watchpost"
password = "${STATS_PASSWORD}"
from = "watchpost@example.org"
to = ["ops@example.org"]
group_by = ["group", "rule"]
retry = { initial = "1s", max = "10s" }
circuit = { failure_threshold = 5 }
timeout = "20s"
max_age = "2h"
send_resolved = false

[[notify]]
name = "am"
kind = "alertmanager"
urls = ["http://127.0.0.1:9093/", "http://127.0.0.1:9094"]
resend = "30s"
"#;

#[test]
fn every_kind_reads_with_its_defaults() {
    let c = parse(ALL, "n.toml", &env).unwrap();
    let [hook, slack, mail, am] = c.notify.as_slice() else {
        panic!("{:?}", c.notify);
    };
    assert_eq!(hook.group_by, vec!["group"]);
    assert_eq!(hook.group_wait, Duration::from_secs(10));
    assert_eq!(hook.repeat_interval, Duration::from_secs(4 * 3600));
    assert_eq!(hook.max_age, Duration::from_secs(24 * 3600));
    assert!(hook.send_resolved);
    match &hook.kind {
        NotifierKind::Webhook { secret, .. } => {
            assert_eq!(secret.as_ref().unwrap().expose(), PASSWORD)
        }
        other => panic!("{other:?}"),
    }
    assert!(!format!("{hook:?}").contains(PASSWORD));
    assert_eq!(slack.group_wait, Duration::ZERO);
    assert_eq!(slack.matchers["severity"], vec!["critical"]);
    assert_eq!(slack.matchers["target"], vec!["haproxy/*"]);
    let NotifierKind::Email(e) = &mail.kind else {
        panic!("{mail:?}")
    };
    assert_eq!((e.port, e.security), (587, SmtpSecurity::StartTlsRequired));
    assert_eq!(mail.group_by, vec!["group", "rule"]);
    assert_eq!(mail.retry.initial, Duration::from_secs(1));
    assert_eq!(mail.circuit.failure_threshold, 5);
    assert_eq!(mail.timeout, Duration::from_secs(20));
    assert!(!mail.send_resolved);
    assert_eq!(
        am.kind,
        NotifierKind::Alertmanager {
            urls: vec![
                "http://127.0.0.1:9093".into(),
                "http://127.0.0.1:9094".into()
            ],
            resend: Duration::from_secs(30),
        }
    );
}

#[test]
fn smtps_defaults_to_port_465_with_tls() {
    let text = "[[notify]]\nname = \"m\"\nkind = \"email\"\nsmtp = \"smtps://mail.example\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]\n";
    let c = parse(text, "n.toml", &env).unwrap();
    let NotifierKind::Email(e) = &c.notify[0].kind else {
        panic!()
    };
    assert_eq!((e.port, e.security), (465, SmtpSecurity::Tls));
}

#[test]
fn bad_notifiers_are_reported_at_their_line_and_key() {
    let cases: &[Case] = &[
        (
            "[[notify]]\nname = \"x\"\nkind = \"pager\"\n",
            3,
            "notify[0].kind",
            "unknown kind",
        ),
        (
            "[[notify]]\nname = \"x\"\n",
            1,
            "notify[0].kind",
            "required key is missing",
        ),
        (
            "[[notify]]\nname = \"x\"\nkind = \"slack\"\nurl = \"ftp://x\"\n",
            4,
            "notify[0].url",
            "not supported",
        ),
        (
            "[[notify]]\nname = \"x\"\nkind = \"slack\"\nurl = \"http://x\"\nsmtp = \"smtp://y\"\n",
            5,
            "notify[0].smtp",
            "not used by kind \"slack\"",
        ),
        (
            "[[notify]]\nname = \"x\"\nkind = \"alertmanager\"\nurls = []\n",
            4,
            "notify[0].urls",
            "at least one URL",
        ),
        (
            "[[notify]]\nname = \"x\"\nkind = \"webhook\"\nurl = \"http://x\"\ngroup_interval = \"0s\"\n",
            5,
            "notify[0].group_interval",
            "longer than 0",
        ),
        (
            "[[notify]]\nname = \"x\"\nkind = \"email\"\nsmtp = \"http://x\"\nfrom = \"a@b\"\nto = [\"c@d\"]\n",
            4,
            "notify[0].smtp",
            "not an SMTP URL",
        ),
        (
            "[[notify]]\nname = \"x\"\nkind = \"webhook\"\nurl = \"http://x\"\nca = \"/x.pem\"\n",
            5,
            "notify[0].ca",
            "not used by kind \"webhook\"",
        ),
        (
            "[[notify]]\nname = \"x\"\nkind = \"email\"\nsmtp = \"smtp://x\"\nfrom = \"a@b\"\nto = [\"c@d\"]\nca = \"/nonexistent/ca.pem\"\n",
            7,
            "notify[0].ca",
            "cannot read /nonexistent/ca.pem",
        ),
        (
            "[[notify]]\nname = \"x\"\nkind = \"webhook\"\nurl = \"http://x\"\ngroup = 1\n",
            5,
            "notify[0].group",
            "unknown key",
        ),
    ];
    check("", cases);
}

#[test]
fn ca_is_read_when_the_configuration_is_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let (good, empty) = (dir.path().join("ca.pem"), dir.path().join("empty.pem"));
    let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    std::fs::write(&good, pem).unwrap();
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let text = |ca: &std::path::Path| {
        format!(
            "[[notify]]\nname = \"m\"\nkind = \"email\"\nsmtp = \"smtp://mail.example\"\n\
             from = \"a@b.c\"\nto = [\"d@e.f\"]\nca = \"{}\"\n",
            ca.display()
        )
    };
    let c = parse(&text(&good), "n.toml", &env).unwrap();
    let NotifierKind::Email(e) = &c.notify[0].kind else {
        panic!()
    };
    let ca = e.ca.as_ref().unwrap();
    assert_eq!(
        (ca.path.as_path(), ca.pem.as_slice()),
        (good.as_path(), pem.as_bytes())
    );
    let errors = parse(&text(&empty), "n.toml", &env).unwrap_err();
    let shown = errors.to_string();
    assert!(
        shown.contains("notify[0].ca") && shown.contains("holds no PEM certificate"),
        "{shown}"
    );
}
