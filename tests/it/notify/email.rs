//! The email notifier against a real SMTP server (Debian `python3-aiosmtpd`) that
//! stores what it receives in a maildir: the message is read back and checked.

use std::path::Path;
use std::process::Stdio;

use watchpost::config::{EmailConfig, NotifierKind, SmtpSecurity};

use super::{alert, commit, quick, wait_notifier};
use crate::common::{config, start_daemon, wait_for};
use crate::process::free_port;

/// Starts aiosmtpd on a free port with `args` (e.g. `--tlscert`), storing messages
/// in `dir/mail`, once it accepts connections.
pub(super) async fn start_smtp(dir: &Path, args: &[&str]) -> (tokio::process::Child, u16) {
    let port = free_port();
    let child = tokio::process::Command::new("/usr/bin/python3")
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .args(args)
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(dir.join("mail"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("smtp.log")).unwrap())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 -m aiosmtpd (Debian python3-aiosmtpd)");
    wait_for("the SMTP server to listen", async || {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()
            .map(|_| ())
    })
    .await;
    (child, port)
}

/// An email notifier config for 127.0.0.1:`port`.
pub(super) fn mail_to(port: u16, security: SmtpSecurity) -> EmailConfig {
    EmailConfig {
        host: "127.0.0.1".into(),
        port,
        security,
        username: None,
        password: None,
        from: "watchpost@example.org".into(),
        to: vec!["ops@example.org".into(), "oncall@example.org".into()],
        ca: None,
    }
}

/// The messages in the maildir of `dir`.
pub(super) fn maildir(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir.join("mail/new")) else {
        return Vec::new();
    };
    let read = entries.flatten().map(|e| std::fs::read_to_string(e.path()));
    read.collect::<Result<_, _>>().unwrap_or_default()
}

/// The headers of a message, continuation lines unfolded.
pub(super) fn header(raw: &str, name: &str) -> String {
    let head = raw.split("\n\n").next().unwrap_or("").replace("\r\n", "\n");
    let unfolded = head.replace("\n ", " ").replace("\n\t", " ");
    let prefix = format!("{}:", name.to_lowercase());
    unfolded
        .lines()
        .find(|l| l.to_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim().to_string())
        .unwrap_or_default()
}

#[actix_web::test]
async fn an_smtp_server_receives_the_alert_as_plain_text_and_html() {
    let dir = tempfile::tempdir().unwrap();
    let (_smtp, port) = start_smtp(dir.path(), &[]).await;
    let mut c = config();
    let mail = mail_to(port, SmtpSecurity::StartTlsOpportunistic);
    c.notify.push(quick("ops-mail", NotifierKind::Email(mail)));
    let td = start_daemon(c).await;
    commit(&td, &[alert("fdmz01", "jurws", "app2", true)]).await;
    wait_notifier(&td, "ops-mail", "the email to be accepted", |n| {
        n["delivered_total"] == 1
    })
    .await;
    let raw = wait_for("the message in the maildir", async || {
        maildir(dir.path()).into_iter().next()
    })
    .await;
    assert_eq!(
        header(&raw, "Subject"),
        "[watchpost] FIRING critical: server_down haproxy/fdmz01/jurws app2",
        "{raw}"
    );
    assert_eq!(header(&raw, "From"), "watchpost@example.org");
    assert!(header(&raw, "To").contains("oncall@example.org"), "{raw}");
    let id = header(&raw, "Message-ID");
    assert!(
        id.starts_with('<') && id.ends_with("@watchpost>") && id.len() == 48,
        "{id}"
    );
    assert!(
        header(&raw, "Content-Type").starts_with("multipart/alternative"),
        "{raw}"
    );
    assert!(raw.contains("Content-Type: text/plain"), "{raw}");
    assert!(raw.contains("Content-Type: text/html"), "{raw}");
    assert!(raw.contains("server app2 of jurws is down"), "{raw}");
    td.daemon.shutdown().await;
}
