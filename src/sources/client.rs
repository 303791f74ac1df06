//! The HTTP side of every source: building requests, bounding answers, and turning
//! every failure into a [`FetchError`] that names the source and the cause.

use std::error::Error as _;
use std::time::Duration;

use reqwest::{StatusCode, Url};

use std::sync::Arc;

use super::eureka::delta::DeltaState;
use super::eureka::native::NativeFetch;
use super::haproxy::stats::StatsSource;
use super::{AgentError, FetchError, FetchErrorKind, eureka, haproxy};
use crate::config::{Limits, Secret};
use crate::model::Payload;

/// Largest answer read from any source; a larger one is a fetch error.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// One source endpoint, fully resolved from the config.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceSpec {
    /// One backend through FAgent.
    HaproxyAgent {
        agent: Arc<Endpoint>,
        instance: Option<String>,
        backend: String,
    },
    /// A Eureka server's REST API, with the state it keeps between polls (the local
    /// registry copy when `delta = true`, byte counters).
    EurekaNative {
        server: Arc<Endpoint>,
        username: Option<String>,
        password: Option<Secret>,
        state: Arc<DeltaState>,
    },
    /// Eureka through FAgent.
    EurekaAgent { agent: Arc<Endpoint> },
    /// One backend of an HAProxy instance read through its stats page or Runtime
    /// API, shared with the other backends of that instance.
    HaproxyStats {
        source: Arc<StatsSource>,
        /// Shared with the rounds the backend's polls wait in.
        backend: Arc<str>,
    },
    /// A source this version cannot poll; every fetch fails with `message`.
    Invalid { message: String },
}

/// A backend's read from a shared stats round as a poll's payload: a backend with
/// more servers than `max_servers` is a fetch error.
pub fn stats_payload(
    source: &StatsSource,
    read: Payload,
    limits: Limits,
) -> Result<Payload, FetchError> {
    let servers = match &read {
        Payload::Servers(sample) => sample.servers.len(),
        Payload::Same(same) => same.last_change_s.len(),
        Payload::Applications(_) => 0,
    };
    if servers > limits.max_servers {
        let why = super::too_many("servers in the backend", limits.max_servers, "max_servers");
        let message = format!("{} sent stats that are {why}", source.transport.label());
        return Err(FetchError::new(FetchErrorKind::TooLarge, message));
    }
    Ok(read)
}

/// A base URL and the words used to name it in errors.
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    /// e.g. `agent fdmz01 (127.0.0.1:11011)`.
    pub label: String,
    pub base: Url,
}

impl Endpoint {
    /// `what` is `agent` or `eureka`, `name` the config name.
    pub fn new(what: &str, name: &str, base: Url) -> Endpoint {
        let host = base.host_str().unwrap_or("?");
        let port = base
            .port_or_known_default()
            .map(|p| format!(":{p}"))
            .unwrap_or_default();
        Endpoint {
            label: format!("{what} {name} ({host}{port})"),
            base,
        }
    }

    /// The base URL with path segments appended (each one percent-encoded, so a
    /// `/` or `?` in a name stays inside its segment). Names that are
    /// [`is_dot_segment`] are refused before they get here.
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }
}

/// `.` and `..`: names a URL cannot carry as a segment of their own (they would be
/// resolved away, changing the request), so they are refused as server and backend
/// names.
pub fn is_dot_segment(name: &str) -> bool {
    name == "." || name == ".."
}

impl SourceSpec {
    /// Fetches once (no retries).
    ///
    /// Each kind of source is fetched by a future of its own on the heap: a poll's
    /// task then weighs what its own source needs, not what the largest one (an
    /// HTTP request with its response) would. 10,000 backend pollers waiting on a
    /// shared stats round keep 10,000 of these alive at once.
    pub async fn fetch(
        &self,
        client: &reqwest::Client,
        timeout: Duration,
    ) -> Result<Payload, FetchError> {
        self.fetch_within(client, timeout, Limits::default()).await
    }

    /// [`SourceSpec::fetch`] failing with [`FetchErrorKind::TooLarge`] when the
    /// answer is past `limits`.
    pub async fn fetch_within(
        &self,
        client: &reqwest::Client,
        timeout: Duration,
        limits: Limits,
    ) -> Result<Payload, FetchError> {
        match self {
            SourceSpec::HaproxyAgent {
                agent,
                instance,
                backend,
            } => {
                let ask = (&**agent, instance, backend.as_str());
                Box::pin(fetch_agent_servers(
                    client,
                    ask,
                    timeout,
                    limits.max_servers,
                ))
                .await
            }
            SourceSpec::EurekaAgent { agent } => {
                Box::pin(fetch_agent_apps(
                    client,
                    agent,
                    timeout,
                    limits.max_instances,
                ))
                .await
            }
            SourceSpec::Invalid { message } => {
                Err(FetchError::new(FetchErrorKind::Invalid, message.clone()))
            }
            SourceSpec::HaproxyStats { source, backend } => {
                let servers = source.servers(client, backend, timeout, limits.max_servers);
                let servers = Box::pin(servers).await?;
                stats_payload(source, Payload::Servers(servers), limits)
            }
            SourceSpec::EurekaNative {
                server,
                username,
                password,
                state,
            } => {
                let auth = basic_auth(username, password);
                let fetch = NativeFetch {
                    client,
                    server,
                    auth,
                    timeout,
                    state,
                    max_instances: limits.max_instances,
                };
                Box::pin(fetch.run()).await.map(Payload::Applications)
            }
        }
    }
}

async fn fetch_agent_servers(
    client: &reqwest::Client,
    (agent, instance, backend): (&Endpoint, &Option<String>, &str),
    timeout: Duration,
    max_servers: usize,
) -> Result<Payload, FetchError> {
    let url = agent.url(&agent_path(instance, &["backends", backend, "servers"]));
    let (status, body) = get(client, agent, url, timeout, None, true).await?;
    let parse = move || haproxy::agent::parse_servers_within(&body, max_servers);
    let servers = off_thread(agent, parse)
        .await?
        .map_err(|e| agent_error(agent, status, e))?;
    Ok(Payload::Servers(Arc::new(servers.into())))
}

async fn fetch_agent_apps(
    client: &reqwest::Client,
    agent: &Endpoint,
    timeout: Duration,
    max_instances: usize,
) -> Result<Payload, FetchError> {
    let url = agent.url(&["api", "v1", "eureka", "apps"]);
    let (status, body) = get(client, agent, url, timeout, None, true).await?;
    let parse = move || eureka::agent::parse_apps_within(&body, max_instances);
    let apps = off_thread(agent, parse)
        .await?
        .map_err(|e| agent_error(agent, status, e))?;
    Ok(Payload::Applications(apps))
}

/// Runs the parse of an answer on the blocking pool, so a large answer never holds
/// the thread that every poller and the status actor share.
pub(crate) async fn off_thread<T: Send + 'static>(
    ep: &Endpoint,
    parse: impl FnOnce() -> T + Send + 'static,
) -> Result<T, FetchError> {
    tokio::task::spawn_blocking(parse).await.map_err(|e| {
        let message = format!("the answer of {} could not be read: {e}", ep.label);
        FetchError::new(FetchErrorKind::Protocol, message)
    })
}

/// Asks an agent to change a server's admin state
/// (`POST .../backends/{b}/servers/{s}/action` with `{"action": ...}`).
pub async fn agent_server_action(
    client: &reqwest::Client,
    agent: &Endpoint,
    instance: &Option<String>,
    target: (&str, &str),
    action: &str,
    timeout: Duration,
) -> Result<(), FetchError> {
    let (backend, server) = target;
    let url = agent.url(&agent_path(
        instance,
        &["backends", backend, "servers", server, "action"],
    ));
    let body = serde_json::json!({ "action": action }).to_string();
    let req = client
        .post(url)
        .timeout(timeout)
        .header("Content-Type", "application/json")
        .body(body);
    let resp = req
        .send()
        .await
        .map_err(|e| transport_error(agent, &e, timeout))?;
    let status = resp.status();
    let body = read_body(resp, agent, timeout).await?;
    if !status.is_success() && !looks_like_envelope(&body) {
        return Err(status_error(agent, status));
    }
    super::fagent::envelope_ok(&body).map_err(|e| agent_error(agent, status, e))
}

/// Lists the backends an agent knows (for `backends = "*"`).
pub async fn agent_backends(
    client: &reqwest::Client,
    agent: &Endpoint,
    instance: &Option<String>,
    timeout: Duration,
) -> Result<Vec<String>, FetchError> {
    let url = agent.url(&agent_path(instance, &["backends"]));
    let (status, body) = get(client, agent, url, timeout, None, true).await?;
    haproxy::agent::parse_backends(&body).map_err(|e| agent_error(agent, status, e))
}

fn agent_path<'a>(instance: &'a Option<String>, rest: &[&'a str]) -> Vec<&'a str> {
    let mut path = vec!["api", "v1", "haproxy"];
    if let Some(i) = instance {
        path.push(i.as_str());
    }
    path.extend_from_slice(rest);
    path
}

/// The HTTP client shared by every poller: explicit timeouts, no proxies from the
/// environment, no redirects.
pub fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("watchpost/", env!("CARGO_PKG_VERSION")))
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

fn agent_error(agent: &Endpoint, http: StatusCode, err: AgentError) -> FetchError {
    match err {
        AgentError::Envelope { status_code, error } => {
            let code = status_code.map(|c| format!(" {c}")).unwrap_or_default();
            let kind = match status_code {
                Some(502 | 503) => FetchErrorKind::Unavailable,
                _ if http.is_server_error() => FetchErrorKind::Unavailable,
                Some(404) => FetchErrorKind::NotFound,
                code => FetchErrorKind::Reported { code },
            };
            let message = format!("{} reported error{code}: {error}", agent.label);
            FetchError::new(kind, message)
        }
        AgentError::Malformed(why) => FetchError::new(
            FetchErrorKind::Protocol,
            format!("{} sent an unreadable answer: {why}", agent.label),
        ),
        AgentError::TooLarge(why) => FetchError::new(
            FetchErrorKind::TooLarge,
            format!("{} sent an answer that is {why}", agent.label),
        ),
    }
}

/// GETs `url` and returns the body of a 2xx answer; anything else is a
/// [`FetchError`] naming `ep`.
pub async fn get_body(
    client: &reqwest::Client,
    ep: &Endpoint,
    url: Url,
    timeout: Duration,
    auth: Option<(&str, Option<&str>)>,
) -> Result<Vec<u8>, FetchError> {
    get(client, ep, url, timeout, auth, false)
        .await
        .map(|(_, body)| body)
}

async fn get(
    client: &reqwest::Client,
    ep: &Endpoint,
    url: Url,
    timeout: Duration,
    auth: Option<(&str, Option<&str>)>,
    envelopes: bool,
) -> Result<(StatusCode, Vec<u8>), FetchError> {
    let mut req = client
        .get(url)
        .timeout(timeout)
        .header("Accept", "application/json");
    if let Some((user, pass)) = auth {
        req = req.basic_auth(user, pass);
    }
    let resp = req
        .send()
        .await
        .map_err(|e| transport_error(ep, &e, timeout))?;
    let status = resp.status();
    let body = read_body(resp, ep, timeout).await?;
    if status.is_success() || (envelopes && looks_like_envelope(&body)) {
        return Ok((status, body));
    }
    Err(status_error(ep, status))
}

fn looks_like_envelope(body: &[u8]) -> bool {
    let head = &body[..body.len().min(256)];
    head.windows(9).any(|w| w == b"\"success\"")
}

/// HTTP Basic credentials as the GET helpers take them: a user name, and its
/// password if one is set.
pub(crate) fn basic_auth<'a>(
    username: &'a Option<String>,
    password: &'a Option<Secret>,
) -> Option<(&'a str, Option<&'a str>)> {
    username
        .as_deref()
        .map(|u| (u, password.as_ref().map(|p| p.expose())))
}

pub(crate) fn status_error(ep: &Endpoint, status: StatusCode) -> FetchError {
    let hint = match status.as_u16() {
        401 | 403 => ": check the credentials",
        300..=399 => " (redirects are not followed: fix the URL)",
        _ => "",
    };
    let kind = match status.as_u16() {
        401 | 403 => FetchErrorKind::Auth,
        code => FetchErrorKind::HttpStatus(code),
    };
    FetchError::new(kind, format!("{} answered HTTP {status}{hint}", ep.label))
}

pub(crate) async fn read_body(
    mut resp: reqwest::Response,
    ep: &Endpoint,
    timeout: Duration,
) -> Result<Vec<u8>, FetchError> {
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| transport_error(ep, &e, timeout))?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            let mib = MAX_BODY_BYTES / (1024 * 1024);
            let message = format!("{} sent an answer larger than {mib} MiB", ep.label);
            return Err(FetchError::new(FetchErrorKind::TooLarge, message));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

pub(crate) fn transport_error(
    ep: &Endpoint,
    err: &reqwest::Error,
    timeout: Duration,
) -> FetchError {
    let (kind, message) = if err.is_timeout() {
        let t = humantime::format_duration(timeout);
        let message = format!("timeout after {t} waiting for {}", ep.label);
        (FetchErrorKind::Timeout, message)
    } else if err.is_connect() && is_refused(err) {
        let message = format!("connection refused to {}", ep.label);
        (FetchErrorKind::Refused, message)
    } else if err.is_connect() {
        let message = format!("cannot connect to {}: {}", ep.label, root_cause(err));
        (FetchErrorKind::Connect, message)
    } else {
        let message = format!("request to {} failed: {}", ep.label, root_cause(err));
        (FetchErrorKind::Transport, message)
    };
    FetchError::new(kind, message)
}

fn is_refused(err: &reqwest::Error) -> bool {
    let mut source = err.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        source = s.source();
    }
    false
}

fn root_cause(err: &reqwest::Error) -> String {
    let mut last: &dyn std::error::Error = err;
    while let Some(s) = last.source() {
        last = s;
    }
    last.to_string()
}
