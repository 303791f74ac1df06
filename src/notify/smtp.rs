//! Email over SMTP through lettre's connection API, one step at a time: connect
//! (with TLS from the first byte for `smtps://`), secure the connection (STARTTLS
//! when offered, or required with `starttls = true`), authenticate, send, quit.
//! Each step's failure gets its own kind; STARTTLS required but not offered is a
//! [`FetchErrorKind::Tls`] failure before anything is sent, never a fall-back to
//! plain text.

use std::error::Error as _;
use std::io::ErrorKind;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;

use super::batch::Message;
use super::payload;
use super::send::{Answer, SendError};
use crate::config::{EmailConfig, SmtpSecurity};
use crate::sources::{FetchError, FetchErrorKind};

/// Sends the emails of one notifier; a new connection per message.
pub struct Mailer {
    host: String,
    port: u16,
    security: SmtpSecurity,
    tls: TlsParameters,
    credentials: Option<Credentials>,
    timeout: Duration,
    hello: ClientId,
}

/// The step of an SMTP exchange that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Connect,
    StartTls,
    Auth,
    Send,
}

impl Mailer {
    /// A mailer for `e`: its TLS parameters trust the public roots and, with `ca`,
    /// the certificates of that file.
    pub fn new(e: &EmailConfig, timeout: Duration) -> Result<Mailer, String> {
        let mut tls = TlsParameters::builder(e.host.clone());
        if let Some(ca) = &e.ca {
            let cert = Certificate::from_pem(&ca.pem)
                .map_err(|err| format!("CA file {}: {err}", ca.path.display()))?;
            tls = tls.add_root_certificate(cert);
        }
        let tls = tls
            .build_rustls()
            .map_err(|err| format!("SMTP TLS for {}: {err}", e.host))?;
        let credentials = match (&e.username, &e.password) {
            (Some(user), Some(pass)) => {
                Some(Credentials::new(user.clone(), pass.expose().to_string()))
            }
            _ => None,
        };
        Ok(Mailer {
            host: e.host.clone(),
            port: e.port,
            security: e.security,
            tls,
            credentials,
            timeout,
            hello: ClientId::default(),
        })
    }

    /// Sends `email`; the answer is the server's reply to the message (`250 ...`).
    pub async fn send(&self, email: &lettre::Message) -> Result<Answer, SendError> {
        let wrapper = (self.security == SmtpSecurity::Tls).then(|| self.tls.clone());
        let server = (self.host.as_str(), self.port);
        let mut conn = AsyncSmtpConnection::connect_tokio1(
            server,
            Some(self.timeout),
            &self.hello,
            wrapper,
            None,
        )
        .await
        .map_err(|e| self.error(Step::Connect, &e))?;
        self.secure(&mut conn).await?;
        if let Some(credentials) = &self.credentials {
            let auth = conn.auth(DEFAULT_MECHANISMS, credentials).await;
            auth.map_err(|e| self.error(Step::Auth, &e))?;
        }
        let sent = conn.send(email.envelope(), &email.formatted()).await;
        let resp = sent.map_err(|e| self.error(Step::Send, &e))?;
        // The message is accepted; a failed goodbye changes nothing.
        let _ = conn.quit().await;
        let text: Vec<&str> = resp.message().collect();
        Ok(format!("{} {}", resp.code(), text.join(" ")))
    }

    /// STARTTLS as configured; `Ok` when the connection may carry the message.
    async fn secure(&self, conn: &mut AsyncSmtpConnection) -> Result<(), SendError> {
        let offered = conn.can_starttls();
        match self.security {
            SmtpSecurity::Tls => Ok(()),
            SmtpSecurity::StartTlsOpportunistic if !offered => Ok(()),
            SmtpSecurity::StartTlsRequired if !offered => {
                // QUIT; the connection is intact. (After a failed upgrade it is
                // not, and lettre must not be asked to write to it again.)
                conn.abort().await;
                Err(FetchError::new(
                    FetchErrorKind::Tls,
                    format!(
                        "SMTP {}:{} does not offer STARTTLS, which starttls = true \
                         requires; nothing was sent",
                        self.host, self.port
                    ),
                ))
            }
            _ => conn
                .starttls(self.tls.clone(), &self.hello)
                .await
                .map_err(|e| self.error(Step::StartTls, &e)),
        }
    }

    fn error(&self, step: Step, e: &lettre::transport::smtp::Error) -> SendError {
        let what = match step {
            Step::Connect => "connecting to",
            Step::StartTls => "STARTTLS with",
            Step::Auth => "logging in to",
            Step::Send => "sending to",
        };
        // lettre's errors print their sources themselves.
        let message = format!("SMTP {what} {}:{}: {e}", self.host, self.port);
        FetchError::new(kind(step, e), message)
    }
}

/// The kind of a failed step: decided on lettre's error kinds, the I/O error kind
/// underneath and the step, never on the text.
fn kind(step: Step, e: &lettre::transport::smtp::Error) -> FetchErrorKind {
    let io = io_kind(e);
    if e.is_timeout() || io == Some(ErrorKind::TimedOut) {
        return FetchErrorKind::Timeout;
    }
    if e.is_tls() || io == Some(ErrorKind::InvalidData) {
        // rustls reports a refused handshake or certificate as invalid data.
        return FetchErrorKind::Tls;
    }
    if e.is_permanent() {
        let code = e.status().map(u16::from);
        return match step {
            Step::Auth => FetchErrorKind::Auth,
            _ => FetchErrorKind::Reported { code },
        };
    }
    match (step, io) {
        (_, _) if e.is_transient() => FetchErrorKind::Unavailable,
        (Step::Connect, Some(ErrorKind::ConnectionRefused)) => FetchErrorKind::Refused,
        (Step::Connect, _) => FetchErrorKind::Connect,
        (Step::StartTls, _) if !e.is_response() => FetchErrorKind::Tls,
        _ => FetchErrorKind::Transport,
    }
}

/// The kind of the first I/O error under `e`.
fn io_kind(e: &lettre::transport::smtp::Error) -> Option<ErrorKind> {
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = s.source();
    }
    None
}

/// The email of a message: subject, plain text and HTML, `Message-ID` from the
/// delivery id (so a re-sent message is recognisably the same).
pub fn build_email(
    e: &EmailConfig,
    m: &Message,
    dashboard: &str,
) -> Result<lettre::Message, String> {
    let from: Mailbox = e
        .from
        .parse()
        .map_err(|err| format!("from address {:?}: {err}", e.from))?;
    let mut builder = lettre::Message::builder()
        .from(from)
        .subject(payload::subject(m))
        .message_id(Some(format!("<{}@watchpost>", m.delivery_id)));
    for to in &e.to {
        let mailbox: Mailbox = to
            .parse()
            .map_err(|err| format!("to address {to:?}: {err}"))?;
        builder = builder.to(mailbox);
    }
    let body =
        MultiPart::alternative_plain_html(payload::text(m, dashboard), payload::html(m, dashboard));
    builder
        .multipart(body)
        .map_err(|err| format!("cannot build the email: {err}"))
}
