//! Tests of the simulated servers over real HTTP on the loopback interface.

mod agent;
mod eureka;
mod eureka_delta;
mod lifecycle;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;

use super::{SimBackend, SimInstance, SimServer};

/// Port 0 on the loopback interface.
fn local() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A client that never uses a proxy, with a timeout that bounds every test.
fn client() -> reqwest::Client {
    client_with_timeout(Duration::from_secs(10))
}

fn client_with_timeout(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .unwrap()
}

/// GET `url`: the status and the body parsed as JSON.
async fn get_json(url: &str) -> (u16, Value) {
    let response = client().get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (status, json)
}

/// GET `url`: the status, the content type and the body.
async fn get_text(url: &str, accept: Option<&str>) -> (u16, String, String) {
    let mut request = client().get(url);
    if let Some(accept) = accept {
        request = request.header("Accept", accept);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

/// Waits until `cond` holds, for at most five seconds.
async fn until(what: &str, cond: impl Fn() -> bool) {
    let limit = Duration::from_secs(5);
    let held = crate::testkit::poll_until(limit, Duration::from_millis(10), async || {
        cond().then_some(())
    });
    if held.await.is_none() {
        panic!("timed out waiting for {what}");
    }
}

/// Runs `fut` in the background and returns its handle.
fn background<F>(fut: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(fut)
}

fn fixture(name: &str) -> String {
    // Relative to the package root, where cargo runs tests.
    let dir = "tests/fixtures/eureka/";
    std::fs::read_to_string(format!("{dir}{name}")).unwrap()
}

fn backends() -> Vec<SimBackend> {
    let servers = vec![
        SimServer::up("app1", "10.0.0.1:8080"),
        SimServer::up("app2", "10.0.0.2:8080"),
    ];
    let web = SimBackend {
        name: "web".to_string(),
        servers,
    };
    let api = SimBackend {
        name: "api".to_string(),
        servers: vec![SimServer::up("api1", "10.0.0.3:8080")],
    };
    vec![web, api]
}

fn instances() -> Vec<SimInstance> {
    vec![
        SimInstance::up("foo", "foo-1.local", "192.168.56.1", 8080),
        SimInstance::up("foo", "foo-2.local", "192.168.56.2", 8080),
        SimInstance::up("bar", "bar-1.local", "192.168.56.3", 9090),
    ]
}
