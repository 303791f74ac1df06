//! Simulated FAgent and Eureka HTTP servers for `watchpost demo`, the integration
//! tests and the benchmarks.
//!
//! Both servers speak the real wire formats (see docs/protocols/fagent.md and
//! docs/protocols/eureka.md), bind `127.0.0.1`, and are driven through synchronous
//! control methods: change a server's or an instance's status, inject a [`Fault`],
//! stop the listener so the port refuses connections, and resume on the same port.
//!
//! - [`AgentSim`]: FAgent v1, its HAProxy part (`/api/v1/haproxy/...`) and its Eureka
//!   part (`/api/v1/eureka/apps`).
//! - [`EurekaSim`]: the native Eureka REST API with the Spring Cloud layout
//!   (`GET /eureka/apps`, also under `/eureka/v2`), JSON or XML by the `Accept`
//!   header, deltas (`GET /eureka/apps/delta`), gzip and optional Basic auth.
//! - [`demo::DemoSources`]: a small fleet of both that fails and recovers on a
//!   one-minute schedule.
//!
//! The servers run actix-web workers on their own threads; `start`, `stop` and
//! `resume` need a Tokio runtime (an actix `System` is one too).

mod agent;
mod agent_routes;
pub mod demo;
mod eureka;
mod eureka_delta;
mod eureka_doc;
mod eureka_routes;
mod http;
mod registry;
mod server;

#[cfg(test)]
mod tests;

pub use agent::{AGENT_INSTANCE, AgentSim};
pub use eureka::EurekaSim;

/// How an endpoint misbehaves instead of answering normally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A plain HTTP status with a short text body (e.g. `503`).
    Status(u16),
    /// FAgent only: HTTP 200 with `{"success":false,"status_code":..,"error":..}`.
    /// FAgent uses the codes 400, 404, 500, 502 and 503.
    Envelope {
        /// The `status_code` written in the envelope.
        status_code: u16,
        /// The `error` text written in the envelope.
        error: String,
    },
    /// HTTP 200 with a body that is not JSON (an HTML error page).
    Garbage,
    /// Accept the request and never answer, until the fault is cleared (then the
    /// request is answered normally) or the server stops (then the connection drops).
    Hang,
}

/// One HAProxy server of a simulated backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimServer {
    /// Server name (`svname`), e.g. `app1`.
    pub name: String,
    /// HAProxy status text, e.g. `UP`, `DOWN 1/3`, `MAINT`, `DRAIN`.
    pub status: String,
    /// HAProxy check status, e.g. `L7OK`, `L4CON`, or empty.
    pub check_status: String,
    /// Configured weight.
    pub weight: u32,
    /// `host:port` of the server.
    pub addr: String,
}

impl SimServer {
    /// A server that is `UP` with a passing layer-7 check and weight 1.
    pub fn up(name: &str, addr: &str) -> SimServer {
        SimServer {
            name: name.to_string(),
            status: "UP".to_string(),
            check_status: "L7OK".to_string(),
            weight: 1,
            addr: addr.to_string(),
        }
    }
}

/// One simulated HAProxy backend and its servers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimBackend {
    /// Backend (proxy) name.
    pub name: String,
    /// Its servers, in the order HAProxy would list them.
    pub servers: Vec<SimServer>,
}

/// One simulated Eureka instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimInstance {
    /// Application name; served upper-cased as Eureka does.
    pub app: String,
    /// Instance id, e.g. `host:app:8080`.
    pub instance_id: String,
    /// Host name.
    pub host_name: String,
    /// IP address.
    pub ip_addr: String,
    /// Non-secure port.
    pub port: u16,
    /// Eureka status: `UP`, `DOWN`, `STARTING`, `OUT_OF_SERVICE` or `UNKNOWN`.
    pub status: String,
}

impl SimInstance {
    /// An `UP` instance of `app` on `host`, with the id `host:app:port`.
    pub fn up(app: &str, host: &str, ip: &str, port: u16) -> SimInstance {
        SimInstance {
            app: app.to_string(),
            instance_id: format!("{host}:{}:{port}", app.to_lowercase()),
            host_name: host.to_string(),
            ip_addr: ip.to_string(),
            port,
            status: "UP".to_string(),
        }
    }
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it.
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Milliseconds since the Unix epoch, as Eureka writes timestamps.
fn epoch_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
