//! One poll of a Eureka server's REST API: `GET {base}/apps`, or with deltas
//! `GET {base}/apps/delta` applied to the local copy with a full fetch whenever the
//! delta is refused, unreadable or disagrees with the server's hashcode. Answers are
//! read as JSON or XML, whatever the server chose to send.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_TYPE};

use super::delta::{DeltaOutcome, DeltaState};
use super::{Document, ParseError, parse_document_within};
use crate::model::AppSample;
use crate::sources::client::{Endpoint, off_thread, read_body, status_error, transport_error};
use crate::sources::{FetchError, FetchErrorKind};

/// Everything one poll needs.
pub struct NativeFetch<'a> {
    pub client: &'a reqwest::Client,
    pub server: &'a Endpoint,
    /// Basic auth: user name and password.
    pub auth: Option<(&'a str, Option<&'a str>)>,
    pub timeout: Duration,
    pub state: &'a DeltaState,
    /// `max_instances`: a registry with more fails the poll as too large.
    pub max_instances: usize,
}

/// One answer of the server.
struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl NativeFetch<'_> {
    /// Polls once: the registry as it is now.
    pub async fn run(&self) -> Result<Vec<AppSample>, FetchError> {
        if self.state.wants_delta()
            && let Some(apps) = self.delta().await?
        {
            self.within_limit(&apps)?;
            return Ok(apps);
        }
        let doc = self.full().await?;
        Ok(self.state.replace(doc.apps))
    }

    /// Refuses a registry (after a delta) of more than `max_instances` instances.
    fn within_limit(&self, apps: &[AppSample]) -> Result<(), FetchError> {
        let count: usize = apps
            .iter()
            .map(|a| a.instances.as_ref().map_or(0, Vec::len))
            .sum();
        if count <= self.max_instances {
            return Ok(());
        }
        Err(self.too_large())
    }

    fn too_large(&self) -> FetchError {
        let why = crate::sources::too_many("instances", self.max_instances, "max_instances");
        let message = format!("{} sent a registry that is {why}", self.server.label);
        FetchError::new(FetchErrorKind::TooLarge, message)
    }

    /// Parses an answer on the blocking pool (see [`off_thread`]), counting its
    /// instances against `limit` while reading.
    async fn parse(
        &self,
        answer: Answer,
        limit: usize,
    ) -> Result<Result<Document, ParseError>, FetchError> {
        let Answer {
            body, content_type, ..
        } = answer;
        off_thread(self.server, move || {
            parse_document_within(&body, content_type.as_deref(), limit)
        })
        .await
    }

    /// `GET apps`: any failure is the poll's failure.
    async fn full(&self) -> Result<Document, FetchError> {
        let answer = self.get(&["apps"]).await?;
        if !answer.status.is_success() {
            return Err(self.status_error(answer.status));
        }
        match self.parse(answer, self.max_instances).await? {
            Ok(doc) => Ok(doc),
            Err(ParseError::TooLarge) => Err(self.too_large()),
            Err(ParseError::Unreadable(why)) => {
                let message = format!("{} sent an unreadable registry: {why}", self.server.label);
                Err(FetchError::new(FetchErrorKind::Protocol, message))
            }
        }
    }

    /// `GET apps/delta` applied to the local copy; `None` when a full fetch is due.
    /// Only a failure to reach the server fails the poll.
    async fn delta(&self) -> Result<Option<Vec<AppSample>>, FetchError> {
        let answer = self.get(&["apps", "delta"]).await?;
        let outcome = if answer.status != StatusCode::OK {
            self.state.count_fallback();
            DeltaOutcome::Refetch(format!("the server answered HTTP {}", answer.status))
        } else {
            match self.parse(answer, self.max_instances).await? {
                Ok(doc) => self.state.apply(&doc),
                Err(why) => {
                    let why = why.into_message();
                    self.state.count_fallback();
                    DeltaOutcome::Refetch(format!("unreadable delta: {why}"))
                }
            }
        };
        match outcome {
            DeltaOutcome::Applied(apps) => Ok(Some(apps)),
            DeltaOutcome::Refetch(why) => {
                tracing::debug!(source = %self.server.label, reason = %why, "full registry fetch instead of a delta");
                Ok(None)
            }
        }
    }

    async fn get(&self, path: &[&str]) -> Result<Answer, FetchError> {
        let mut req = self
            .client
            .get(self.server.url(path))
            .timeout(self.timeout)
            .header(ACCEPT, "application/json")
            .header(ACCEPT_ENCODING, "gzip");
        if let Some((user, pass)) = self.auth {
            req = req.basic_auth(user, pass);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| transport_error(self.server, &e, self.timeout))?;
        let status = resp.status();
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = read_body(resp, self.server, self.timeout).await?;
        self.state.count_bytes(body.len());
        Ok(Answer {
            status,
            content_type,
            body,
        })
    }

    /// A refused full fetch, with a hint at the credentials for 401.
    fn status_error(&self, status: StatusCode) -> FetchError {
        if status != StatusCode::UNAUTHORIZED {
            return status_error(self.server, status);
        }
        let hint = match self.auth {
            Some((user, _)) => format!(
                "the server refused the credentials of user {user:?}: check username and password"
            ),
            None => "the server requires credentials: set username and password".to_string(),
        };
        let message = format!("{} answered HTTP {status}: {hint}", self.server.label);
        FetchError::new(FetchErrorKind::Auth, message)
    }
}
