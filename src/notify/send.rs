//! Sending one message to a receiver: HTTP POSTs for webhook, Slack and Alertmanager
//! (every peer), SMTP through `lettre` for email. A receiver has accepted when it
//! answers 2xx (SMTP: 250); anything else is a [`SendError`] that says whether a
//! retry may help.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::batch::Message;
use super::payload;
use super::smtp::{Mailer, build_email};
use crate::config::{EmailConfig, NotifierKind, NotifyConfig};
use crate::model::Ts;
use crate::sources::{FetchError, FetchErrorKind};

/// A delivery attempt that was not accepted: the same kinds as a failed fetch
/// (retries and the breaker decide on the kind), with a message for operators.
pub type SendError = FetchError;

/// What the receiver answered to an accepted message, e.g. `200 OK` or `250 Ok`.
pub type Answer = String;

/// Sends to one notifier's receiver.
pub struct Sender {
    config: NotifyConfig,
    http: reqwest::Client,
    mailer: Option<Mailer>,
    dashboard: String,
}

impl Sender {
    /// A sender for `config`; `dashboard` is the link put in every message.
    pub fn new(config: &NotifyConfig, dashboard: String) -> Result<Sender, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .timeout(config.timeout)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("watchpost/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let mailer = match &config.kind {
            NotifierKind::Email(e) => Some(Mailer::new(e, config.timeout)?),
            _ => None,
        };
        Ok(Sender {
            config: config.clone(),
            http,
            mailer,
            dashboard,
        })
    }

    /// The dashboard link messages carry.
    pub fn dashboard(&self) -> &str {
        &self.dashboard
    }

    /// Sends `messages` (one, except for `alertmanager`, which takes them in one
    /// post) and returns the receiver's answer.
    pub async fn send(&self, messages: &[Message], now: Ts) -> Result<Answer, SendError> {
        let name = &self.config.name;
        let Some(first) = messages.first() else {
            return Ok(String::new());
        };
        match &self.config.kind {
            NotifierKind::Webhook { url, secret } => {
                let body = payload::webhook_body(name, first, &self.dashboard);
                let mut req = self
                    .post(url, first)
                    .header("content-type", "application/json");
                if let Some(secret) = secret {
                    let unix = unix_now();
                    let sig = payload::signature(secret.expose(), unix, &body);
                    req = req.header("Watchpost-Signature", sig);
                }
                answer(req.body(body).send().await).await
            }
            NotifierKind::Slack { url } => {
                let body = payload::slack_body(first, &self.dashboard);
                let req = self
                    .post(url, first)
                    .header("content-type", "application/json");
                answer(req.body(body.to_string()).send().await).await
            }
            NotifierKind::Email(e) => self.mail(e, first).await,
            NotifierKind::Alertmanager { urls, resend } => {
                let body = payload::alertmanager_body(messages, now, *resend, &self.dashboard);
                self.alertmanager(urls, &body).await
            }
        }
    }

    fn post(&self, url: &str, m: &Message) -> reqwest::RequestBuilder {
        self.http
            .post(url)
            .header("Watchpost-Delivery", m.delivery_id.as_str())
    }

    /// Posts to every peer; accepted when at least one peer accepted (the cluster
    /// shares alerts between its peers).
    async fn alertmanager(
        &self,
        urls: &[String],
        body: &serde_json::Value,
    ) -> Result<Answer, SendError> {
        let mut accepted = Vec::new();
        let mut errors = Vec::new();
        for url in urls {
            let endpoint = format!("{url}/api/v2/alerts");
            let req = self
                .http
                .post(&endpoint)
                .header("content-type", "application/json");
            match answer(req.body(body.to_string()).send().await).await {
                Ok(a) => accepted.push(format!("{url}: {a}")),
                Err(e) => errors.push((url, e)),
            }
        }
        for (url, e) in &errors {
            tracing::warn!(notifier = %self.config.name, peer = %url, error = %e, "Alertmanager peer did not accept");
        }
        if accepted.is_empty() {
            let all: Vec<String> = errors.iter().map(|(u, e)| format!("{u}: {e}")).collect();
            let kind = errors
                .iter()
                .map(|(_, e)| e.kind)
                .find(|k| k.is_transient())
                .or(errors.first().map(|(_, e)| e.kind))
                .unwrap_or(FetchErrorKind::Invalid);
            return Err(FetchError::new(kind, all.join("; ")));
        }
        Ok(accepted.join("; "))
    }

    async fn mail(&self, e: &EmailConfig, m: &Message) -> Result<Answer, SendError> {
        let Some(mailer) = &self.mailer else {
            return Err(FetchError::new(
                FetchErrorKind::Invalid,
                "no SMTP transport",
            ));
        };
        let email = build_email(e, m, &self.dashboard)
            .map_err(|m| FetchError::new(FetchErrorKind::Invalid, m))?;
        mailer.send(&email).await
    }
}

/// The kind of an HTTP request that got no answer.
fn request_kind(e: &reqwest::Error) -> FetchErrorKind {
    if e.is_timeout() {
        FetchErrorKind::Timeout
    } else if e.is_connect() {
        FetchErrorKind::Connect
    } else {
        FetchErrorKind::Transport
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// 2xx is accepted; 5xx and 429 may pass with a retry, other answers will not.
async fn answer(result: reqwest::Result<reqwest::Response>) -> Result<Answer, SendError> {
    let resp = match result {
        Ok(r) => r,
        Err(e) => return Err(FetchError::new(request_kind(&e), error_chain(&e))),
    };
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    let body: String = body.chars().take(200).collect();
    let text = format!("{status} {}", body.trim()).trim().to_string();
    if status.is_success() {
        return Ok(text);
    }
    let kind = match status.as_u16() {
        429 => FetchErrorKind::Unavailable,
        code => FetchErrorKind::HttpStatus(code),
    };
    Err(FetchError::new(kind, format!("receiver answered {text}")))
}
