//! The harness of the in-process tests: a daemon on 127.0.0.1:0 with its own temp
//! dir, configs for the simulated sources, HTTP helpers and `wait_for`.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;
use watchpost::config::{
    Backends, CircuitConfig, Config, EurekaConfig, EurekaSourceKind, HaproxyConfig,
    HaproxySourceKind, Policy, RecoverAction, RetryConfig, Secret,
};
use watchpost::daemon::Daemon;
use watchpost::sim::{AgentSim, SimBackend, SimInstance, SimServer};

/// The admin token of test daemons that have one.
pub const TOKEN: &str = "test-token";
/// How long any awaited condition may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);
/// How often `wait_for` looks again.
const TICK: Duration = Duration::from_millis(25);

/// `127.0.0.1:0`, for the daemon and the sims.
pub fn local() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Polls every 500 ms with a 400 ms timeout and little retrying; the circuit opens
/// after 3 failed polls and stays open 30 s (long enough to check it sends nothing).
pub fn fast_policy() -> Policy {
    Policy {
        interval: Duration::from_millis(500),
        timeout: Duration::from_millis(400),
        retry: RetryConfig {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(20),
            multiplier: 2.0,
            max_elapsed: Duration::from_millis(200),
        },
        circuit: CircuitConfig {
            failure_threshold: 3,
            open_base: Duration::from_secs(30),
            open_max: Duration::from_secs(60),
        },
        auto_recover: false,
        limits: watchpost::config::Limits::default(),
    }
}

/// `fast_policy` with a short open period, for tests of the half-open probe.
pub fn short_open_policy() -> Policy {
    let mut p = fast_policy();
    p.circuit.open_base = Duration::from_millis(300);
    p.circuit.open_max = Duration::from_millis(600);
    p
}

/// A config with no sources and the admin token [`TOKEN`]; `start_daemon` fills in
/// the listen address and the storage path.
pub fn config() -> Config {
    let mut c = Config::new_in_memory(local(), "unused.redb");
    c.server.admin_token = Some(Secret::new(TOKEN));
    c
}

/// An `[[haproxy]]` agent source polling `backends` (empty: discover all).
pub fn haproxy(name: &str, url: &str, backends: &[&str]) -> HaproxyConfig {
    let backends = match backends {
        [] => Backends::All,
        names => Backends::Named(names.iter().map(|b| b.to_string()).collect()),
    };
    HaproxyConfig {
        name: name.into(),
        source: HaproxySourceKind::Agent,
        url: Some(url.into()),
        agent_instance: None,
        username: None,
        password: None,
        socket: None,
        backends,
        policy: fast_policy(),
        recover: None,
        events_ring: None,
        validate: None,
    }
}

/// An `[[eureka]]` source.
pub fn eureka(name: &str, source: EurekaSourceKind, url: &str) -> EurekaConfig {
    EurekaConfig {
        name: name.into(),
        source,
        url: url.into(),
        delta: false,
        username: None,
        password: None,
        policy: fast_policy(),
        recover: None,
    }
}

/// A recovery command with a 10 s timeout.
pub fn recover(argv: &[&str]) -> Option<RecoverAction> {
    let command = argv.iter().map(|s| s.to_string()).collect();
    Some(RecoverAction {
        command,
        timeout: Duration::from_secs(10),
    })
}

/// A backend with two `UP` servers, `app1` and `app2`.
pub fn backend(name: &str) -> SimBackend {
    let servers = vec![
        SimServer::up("app1", "10.0.0.1:80"),
        SimServer::up("app2", "10.0.0.2:80"),
    ];
    SimBackend {
        name: name.into(),
        servers,
    }
}

/// `UP` instances of `app` on `hosts`, port 8080.
pub fn instances(app: &str, hosts: &[&str]) -> Vec<SimInstance> {
    hosts
        .iter()
        .map(|h| SimInstance::up(app, h, "10.1.0.1", 8080))
        .collect()
}

/// The id of backend `name` of the HAProxy group `fdmz01`.
pub fn hid(name: &str) -> String {
    format!("haproxy/fdmz01/{name}")
}

/// An agent sim serving `backends` and a daemon whose group `fdmz01` polls them with
/// `policy`; returns once every backend has been polled successfully.
pub async fn agent_daemon(backends: &[&str], policy: Policy) -> (AgentSim, TestDaemon) {
    agent_daemon_in(config(), backends, policy).await
}

/// [`agent_daemon`] with `config` as the base configuration.
pub async fn agent_daemon_in(
    mut config: Config,
    backends: &[&str],
    policy: Policy,
) -> (AgentSim, TestDaemon) {
    let served = backends.iter().map(|b| backend(b)).collect();
    let sim = AgentSim::start(local(), served, vec![])
        .await
        .expect("agent sim");
    let mut h = haproxy("fdmz01", &sim.url(), backends);
    h.policy = policy;
    config.haproxy.push(h);
    let td = start_daemon(config).await;
    for b in backends {
        td.wait_success(&hid(b)).await;
    }
    (sim, td)
}

/// A target id as it goes into a path: `haproxy%2Ffdmz01%2Fjurws`.
pub fn enc(id: &str) -> String {
    id.replace('/', "%2F")
}

/// A daemon started in-process with its own storage.
pub struct TestDaemon {
    pub base_url: String,
    pub daemon: Daemon,
    client: reqwest::Client,
    _dir: TempDir,
}

/// Starts the daemon on `127.0.0.1:0` with a fresh temp dir for its storage.
pub async fn start_daemon(mut config: Config) -> TestDaemon {
    let dir = tempfile::tempdir().expect("temp dir");
    config.server.listen = local();
    config.storage.path = dir.path().join("watchpost.redb");
    let daemon = Daemon::start(config).await.expect("the daemon starts");
    let base_url = format!("http://{}", daemon.addr);
    TestDaemon {
        base_url,
        daemon,
        client: client(),
        _dir: dir,
    }
}

/// A loopback client: no proxies, bounded time.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("HTTP client")
}

/// `GET url`: the status and the body as JSON (`Value::String` if it is not JSON).
pub async fn get_json(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let resp = client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    answer(resp).await
}

/// `POST url` with an optional bearer token and body.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let mut req = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    answer(resp).await
}

async fn answer(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("response body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// Calls `f` every 25 ms until it gives a value; `None` after `deadline`.
pub async fn try_wait_for<T>(deadline: Duration, f: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    watchpost::testkit::poll_until(deadline, TICK, f).await
}

/// Calls `f` every 25 ms until it gives a value; fails the test after [`DEADLINE`].
pub async fn wait_for<T>(what: &str, f: impl AsyncFnMut() -> Option<T>) -> T {
    match try_wait_for(DEADLINE, f).await {
        Some(v) => v,
        None => panic!("timed out after {DEADLINE:?} waiting for {what}"),
    }
}

/// The `type` of every event.
pub fn types(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("?"))
        .collect()
}

impl TestDaemon {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        get_json(&self.client, &self.url(path)).await
    }

    /// `POST path` with the admin token.
    pub async fn admin(&self, path: &str, body: &str) -> (u16, Value) {
        post(&self.client, &self.url(path), Some(TOKEN), body).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
        post(&self.client, &self.url(path), token, body).await
    }

    /// `GET /api/targets/{id}`, `Value::Null` if unknown.
    pub async fn target(&self, id: &str) -> Value {
        match self.get(&format!("/api/targets/{}", enc(id))).await {
            (200, t) => t,
            (404, _) => Value::Null,
            other => panic!("GET target {id}: {other:?}"),
        }
    }

    /// Waits until target `id` satisfies `pred`; on timeout shows its last state.
    pub async fn wait_target(&self, id: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let mut last = Value::Null;
        let found = try_wait_for(DEADLINE, async || {
            last = self.target(id).await;
            pred(&last).then(|| last.clone())
        })
        .await;
        found.unwrap_or_else(|| panic!("timed out waiting for {id}: {what}; last state: {last:#}"))
    }

    /// Waits until target `id` has had a successful fetch.
    pub async fn wait_success(&self, id: &str) -> Value {
        self.wait_target(id, "a successful fetch", |t| fetch_is(t, "success"))
            .await
    }

    /// Waits until target `id` has been polled `n` more times (its `last_fetch_at`
    /// moved `n` times): proof that time passed and pollers ran.
    pub async fn wait_polls(&self, id: &str, n: usize) {
        let mut seen = self.target(id).await["last_fetch_at"].clone();
        for _ in 0..n {
            let t = self
                .wait_target(id, "another poll", |t| t["last_fetch_at"] != seen)
                .await;
            seen = t["last_fetch_at"].clone();
        }
    }

    /// Every event of `target` (all events if `None`), oldest first.
    pub async fn events(&self, target: Option<&str>) -> Vec<Value> {
        let filter = target
            .map(|t| format!("&target={}", enc(t)))
            .unwrap_or_default();
        let (status, body) = self.get(&format!("/api/events?limit=10000{filter}")).await;
        assert_eq!(status, 200, "{body}");
        body["events"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until `target` has an event of type `kind`, and returns it.
    pub async fn wait_event(&self, target: &str, kind: &str) -> Value {
        let what = format!("a {kind} event of {target}");
        wait_for(&what, async || {
            let events = self.events(Some(target)).await;
            events.into_iter().find(|e| e["type"] == kind)
        })
        .await
    }

    /// The entry of `/api/haproxy/backends` with this id.
    pub async fn backend(&self, id: &str) -> Value {
        let (_, body) = self.get("/api/haproxy/backends").await;
        let list = body["backends"].as_array().cloned().unwrap_or_default();
        list.into_iter()
            .find(|b| b["id"] == id)
            .unwrap_or(Value::Null)
    }
}

/// `v` is an object with every one of `keys` (a `null` value counts).
pub fn assert_keys(v: &Value, keys: &[&str]) {
    for k in keys {
        assert!(v.get(k).is_some(), "missing key {k:?} in {v:#}");
    }
}

/// `t` has finished a fetch with this status (`success`, `failed`).
pub fn fetch_is(t: &Value, status: &str) -> bool {
    t["last_fetch_status"] == status
}

/// The `type` of every event whose type starts with `prefix`.
pub fn types_with<'a>(events: &'a [Value], prefix: &str) -> Vec<&'a str> {
    types(events)
        .into_iter()
        .filter(|k| k.starts_with(prefix))
        .collect()
}

/// The string `key` of every element of the array `list`.
pub fn column<'a>(list: &'a Value, key: &str) -> Vec<&'a str> {
    let items = list.as_array().map(Vec::as_slice).unwrap_or_default();
    items
        .iter()
        .map(|v| v[key].as_str().unwrap_or("?"))
        .collect()
}

/// Every field of the object `want` has the same value in `v`.
pub fn assert_fields(v: &Value, want: Value) {
    for (k, w) in want.as_object().expect("an object of expected fields") {
        assert_eq!(&v[k], w, "field {k:?} of {v:#}");
    }
}
