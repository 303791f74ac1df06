//! Email over TLS against a real aiosmtpd with a certificate made by `openssl` (the
//! test's own CA, trusted through the notifier's `ca`): `smtp://` with STARTTLS
//! (required, and when offered — the server refuses mail before STARTTLS, so a
//! delivery proves the upgrade), `smtps://` from the first byte, an untrusted
//! certificate refused, and `starttls = true` against a server without STARTTLS
//! failing as a TLS error with nothing sent in plain text.

use std::path::Path;

use watchpost::config::{CaFile, NotifierKind, NotifyConfig, SmtpSecurity};
use watchpost::model::Ts;
use watchpost::notify::send::Sender;
use watchpost::sources::{FetchError, FetchErrorKind};

use super::email::{header, mail_to, maildir, start_smtp};
use super::{alert, commit, quick, wait_notifier};
use crate::common::{config, start_daemon, wait_for};
use crate::tls::self_signed;

/// An email notifier to 127.0.0.1:`port`, trusting the PEM file `ca` when given.
fn notifier(name: &str, port: u16, security: SmtpSecurity, ca: Option<&Path>) -> NotifyConfig {
    let mut mail = mail_to(port, security);
    mail.ca = ca.map(|path| CaFile {
        path: path.to_path_buf(),
        pem: std::fs::read(path).unwrap(),
    });
    quick(name, NotifierKind::Email(mail))
}

/// One test message sent directly, without the daemon: the typed outcome.
async fn send_once(n: &NotifyConfig) -> Result<String, FetchError> {
    let sender = Sender::new(n, "http://127.0.0.1/".into()).expect("a sender");
    let now = Ts::now();
    let message = watchpost::notify::test_message(&n.name, now);
    sender.send(&[message], now).await
}

#[actix_web::test]
async fn starttls_required_and_when_offered_deliver_with_the_configured_ca() {
    let dir = tempfile::tempdir().unwrap();
    let tls = self_signed(dir.path());
    let (cert, key) = (tls.cert.to_str().unwrap(), tls.key.to_str().unwrap());
    // aiosmtpd refuses MAIL before STARTTLS when it has a certificate.
    let (_smtp, port) = start_smtp(dir.path(), &["--tlscert", cert, "--tlskey", key]).await;
    let mut c = config();
    let required = notifier(
        "required",
        port,
        SmtpSecurity::StartTlsRequired,
        Some(&tls.cert),
    );
    let offered = notifier(
        "offered",
        port,
        SmtpSecurity::StartTlsOpportunistic,
        Some(&tls.cert),
    );
    c.notify.extend([required, offered]);
    let td = start_daemon(c).await;
    commit(&td, &[alert("fdmz01", "jurws", "app2", true)]).await;
    for name in ["required", "offered"] {
        wait_notifier(&td, name, "the email to be accepted over TLS", |n| {
            n["delivered_total"] == 1
        })
        .await;
    }
    let mails = wait_for("both messages in the maildir", async || {
        let m = maildir(dir.path());
        (m.len() == 2).then_some(m)
    })
    .await;
    for raw in &mails {
        assert_eq!(
            header(raw, "Subject"),
            "[watchpost] FIRING critical: server_down haproxy/fdmz01/jurws app2",
            "{raw}"
        );
    }
    td.daemon.shutdown().await;
}

#[actix_web::test]
async fn smtps_delivers_with_tls_from_the_first_byte() {
    let dir = tempfile::tempdir().unwrap();
    let tls = self_signed(dir.path());
    let (cert, key) = (tls.cert.to_str().unwrap(), tls.key.to_str().unwrap());
    let (_smtp, port) = start_smtp(dir.path(), &["--smtpscert", cert, "--smtpskey", key]).await;
    let n = notifier("smtps", port, SmtpSecurity::Tls, Some(&tls.cert));
    let answer = send_once(&n).await.expect("accepted over smtps");
    assert!(answer.starts_with("250 "), "{answer}");
    let mails = wait_for("the message in the maildir", async || {
        let m = maildir(dir.path());
        (!m.is_empty()).then_some(m)
    })
    .await;
    assert!(
        header(&mails[0], "Subject").contains("watchpost_test"),
        "{}",
        mails[0]
    );

    // The same server without `ca`: its certificate is not trusted.
    let untrusted = notifier("smtps", port, SmtpSecurity::Tls, None);
    let e = send_once(&untrusted)
        .await
        .expect_err("an untrusted certificate");
    assert_eq!(e.kind, FetchErrorKind::Tls, "{e}");
    assert!(e.message.contains("127.0.0.1:"), "{e}");
    assert_eq!(maildir(dir.path()).len(), 1, "nothing more was delivered");
}

#[actix_web::test]
async fn an_untrusted_certificate_over_starttls_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let tls = self_signed(dir.path());
    let (cert, key) = (tls.cert.to_str().unwrap(), tls.key.to_str().unwrap());
    let args = ["--tlscert", cert, "--tlskey", key, "--no-requiretls"];
    let (_smtp, port) = start_smtp(dir.path(), &args).await;
    // The server would take plain text; an upgrade that fails must not fall back.
    for security in [
        SmtpSecurity::StartTlsRequired,
        SmtpSecurity::StartTlsOpportunistic,
    ] {
        let n = notifier("untrusted", port, security, None);
        let e = send_once(&n).await.expect_err("an untrusted certificate");
        assert_eq!(e.kind, FetchErrorKind::Tls, "{security:?}: {e}");
    }
    assert_eq!(maildir(dir.path()), Vec::<String>::new());
}

#[actix_web::test]
async fn starttls_true_without_starttls_on_the_server_fails_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // No certificate: the server does not offer STARTTLS, and takes plain text.
    let (_smtp, port) = start_smtp(dir.path(), &[]).await;
    let n = notifier("strict", port, SmtpSecurity::StartTlsRequired, None);
    let e = send_once(&n).await.expect_err("no STARTTLS offered");
    assert_eq!(e.kind, FetchErrorKind::Tls, "{e}");

    let mut c = config();
    c.notify.push(n);
    let td = start_daemon(c).await;
    commit(&td, &[alert("fdmz01", "jurws", "app2", true)]).await;
    let row = wait_notifier(&td, "strict", "the failure in /api/notifiers", |n| {
        n["last_error"].is_string()
    })
    .await;
    let error = row["last_error"].as_str().unwrap();
    assert_eq!(
        error,
        format!(
            "SMTP 127.0.0.1:{port} does not offer STARTTLS, which starttls = true requires; \
             nothing was sent"
        ),
        "{row}"
    );
    assert_ne!(row["state"], "ok", "{row}");
    assert_eq!(row["delivered_total"], 0, "{row}");
    assert_eq!(row["pending"], 1, "{row}");
    assert_eq!(
        maildir(dir.path()),
        Vec::<String>::new(),
        "sent in plain text"
    );
    td.daemon.shutdown().await;
}
