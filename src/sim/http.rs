//! HTTP plumbing shared by both simulators: a listener that stops (the port refuses
//! connections) and resumes on the same port, request counting, and the answers for
//! injected faults.

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Mutex;

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, HttpServer, web};
use serde::Serialize;
use tokio::sync::watch;

use super::{Fault, lock};

/// Registers a simulator's routes on an actix `App`.
pub(crate) type Routes = fn(&mut web::ServiceConfig);

/// A running actix server and the task that drives it.
struct Running {
    handle: ServerHandle,
    task: tokio::task::JoinHandle<io::Result<()>>,
}

/// An HTTP listener on a fixed address that can be stopped and resumed.
pub(crate) struct Host<T> {
    addr: SocketAddr,
    data: web::Data<T>,
    routes: Routes,
    running: Mutex<Option<Running>>,
}

impl<T: Send + Sync + 'static> Host<T> {
    /// Binds `addr` (port 0 picks a free port) and starts serving `routes`.
    pub(crate) fn start(addr: SocketAddr, data: web::Data<T>, routes: Routes) -> io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        let host = Host {
            addr: listener.local_addr()?,
            data,
            routes,
            running: Mutex::new(None),
        };
        let running = host.serve(listener)?;
        *lock(&host.running) = Some(running);
        Ok(host)
    }

    /// The bound address, stable across stop and resume.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn serve(&self, listener: TcpListener) -> io::Result<Running> {
        let data = self.data.clone();
        let routes = self.routes;
        let server = HttpServer::new(move || App::new().app_data(data.clone()).configure(routes))
            .workers(1)
            .shutdown_timeout(0)
            .disable_signals()
            .listen(listener)?
            .run();
        let handle = server.handle();
        let task = tokio::spawn(server);
        Ok(Running { handle, task })
    }

    /// Closes the listener and drops every open connection, hanging ones included.
    /// Returns once the port refuses connections. Does nothing when already stopped.
    pub(crate) async fn stop(&self) {
        let running = lock(&self.running).take();
        if let Some(running) = running {
            running.handle.stop(false).await;
            // The task only ends with the server; its result carries nothing to act on.
            let _ = running.task.await;
        }
    }

    /// Listens again on the same address. Does nothing when already running.
    pub(crate) fn resume(&self) -> io::Result<()> {
        let mut running = lock(&self.running);
        if running.is_none() {
            let listener = TcpListener::bind(self.addr)?;
            *running = Some(self.serve(listener)?);
        }
        Ok(())
    }
}

impl<T> Drop for Host<T> {
    fn drop(&mut self) {
        if let Some(running) = lock(&self.running).take() {
            // The stop command is sent when `stop` is called; nothing waits for it here.
            drop(running.handle.stop(false));
        }
    }
}

/// Request counters and the wake-up signal for requests held by [`Fault::Hang`].
pub(crate) struct Gate {
    changes: watch::Sender<u64>,
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    total: u64,
    by_path: HashMap<String, u64>,
}

impl Gate {
    pub(crate) fn new() -> Gate {
        Gate {
            changes: watch::Sender::new(0),
            counts: Mutex::new(Counts::default()),
        }
    }

    /// Wakes hanging requests so they look at the faults again.
    pub(crate) fn faults_changed(&self) {
        self.changes.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Requests answered or accepted so far.
    pub(crate) fn total(&self) -> u64 {
        lock(&self.counts).total
    }

    /// Requests whose path contains `needle`.
    pub(crate) fn matching(&self, needle: &str) -> u64 {
        let counts = lock(&self.counts);
        let hits = counts
            .by_path
            .iter()
            .filter(|(path, _)| path.contains(needle));
        hits.map(|(_, n)| n).sum()
    }

    /// Counts the request, then applies the fault that `fault` reports, if any: the
    /// answer to send instead of the normal one, or `None` to answer normally. A hang
    /// waits until `fault` reports something else.
    pub(crate) async fn admit(
        &self,
        path: &str,
        fault: impl Fn() -> Option<Fault>,
    ) -> Option<HttpResponse> {
        {
            let mut counts = lock(&self.counts);
            counts.total += 1;
            *counts.by_path.entry(path.to_string()).or_insert(0) += 1;
        }
        let mut changes = self.changes.subscribe();
        loop {
            match fault() {
                None => return None,
                Some(Fault::Hang) => {}
                Some(other) => return Some(fault_response(&other)),
            }
            if changes.changed().await.is_err() {
                return Some(fault_response(&Fault::Status(503)));
            }
        }
    }
}

/// The answer that stands for a fault.
pub(crate) fn fault_response(fault: &Fault) -> HttpResponse {
    match fault {
        Fault::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let text = format!(
                "{} {}",
                status.as_str(),
                status.canonical_reason().unwrap_or("")
            );
            HttpResponse::build(status)
                .content_type("text/plain; charset=utf-8")
                .body(text.trim_end().to_string())
        }
        Fault::Envelope { status_code, error } => {
            envelope_error(StatusCode::OK, *status_code, error)
        }
        Fault::Garbage => HttpResponse::Ok()
            .content_type("text/html")
            .body(GARBAGE_PAGE),
        Fault::Hang => fault_response(&Fault::Status(504)),
    }
}

/// An HTML error page from a proxy in front of the real server.
const GARBAGE_PAGE: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n\
<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n\
</body>\r\n</html>\r\n";

#[derive(Serialize)]
struct ErrorEnvelope<'a> {
    success: bool,
    status_code: u16,
    error: &'a str,
}

#[derive(Serialize)]
struct OkEnvelope<'a, D> {
    success: bool,
    status_code: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    data: D,
}

/// FAgent's failure envelope, sent with the HTTP status `http`.
pub(crate) fn envelope_error(http: StatusCode, status_code: u16, error: &str) -> HttpResponse {
    HttpResponse::build(http).json(ErrorEnvelope {
        success: false,
        status_code,
        error,
    })
}

/// FAgent's success envelope around `data`, with an optional `message`.
pub(crate) fn envelope_ok<D: Serialize>(data: D, message: Option<&str>) -> HttpResponse {
    HttpResponse::Ok().json(OkEnvelope {
        success: true,
        status_code: 200,
        message,
        data,
    })
}
