//! Starting and stopping the whole daemon: store, status actor, fleet and HTTP
//! server. Used by `watchpost run`, `watchpost demo` and the integration tests.
//! Must be called inside an actix `System`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Addr};
use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, HttpServer, web};

use crate::actors::fleet::{Fleet, StopAll};
use crate::actors::reload::{ReloadError, ReloadReport, reload};
use crate::actors::status::StatusHandle;
use crate::actors::store::{Store, StoreError};
use crate::config::{Config, LiveConfig};
use crate::http::{self, AppState};
use crate::sources::client::http_client;

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Tls(#[from] http::tls::TlsError),
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: SocketAddr, reason: String },
    #[error("{0}")]
    Other(String),
}

/// The HTTP server on `listener` (HTTPS with `tls`), not yet spawned.
fn serve(
    state: AppState,
    listener: std::net::TcpListener,
    addr: SocketAddr,
    tls: Option<rustls::ServerConfig>,
) -> Result<Server, StartError> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .configure(http::configure)
    })
    .workers(2)
    .shutdown_timeout(2)
    .disable_signals();
    let https = tls.is_some();
    let server = match tls {
        Some(tls) => server.listen_rustls_0_23(listener, tls),
        None => server.listen(listener),
    }
    .map_err(|e| StartError::Listen {
        addr,
        reason: e.to_string(),
    })?;
    tracing::info!(%addr, tls = https, "watchpost listening");
    Ok(server.run())
}

/// A running daemon.
pub struct Daemon {
    pub status: StatusHandle,
    pub fleet: Addr<Fleet>,
    /// The configuration in force.
    pub config: Arc<LiveConfig>,
    /// The address the HTTP server listens on (useful with port 0).
    pub addr: SocketAddr,
    /// The notifiers (`GET /api/notifiers`), changed by a reload.
    pub notifiers: Arc<crate::notify::Registry>,
    server: ServerHandle,
    server_task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Daemon {
    /// Binds the HTTP address, then opens the store, loads the committed state and
    /// starts the pollers and the HTTP server. A taken address fails first, before
    /// anything is opened or started.
    pub async fn start(config: Config) -> Result<Daemon, StartError> {
        let listener = Daemon::bind(config.server.listen)?;
        Daemon::start_on(listener, config).await
    }

    /// Binds `addr` for the HTTP server (address reuse, a backlog of 1024), so that a
    /// caller can find out that the port is taken before it starts anything else.
    pub fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, StartError> {
        let listen = |addr| {
            let socket = match addr {
                SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
                SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
            };
            socket.set_reuseaddr(true)?;
            socket.bind(addr)?;
            socket.listen(1024)?.into_std()
        };
        listen(addr).map_err(|e: std::io::Error| StartError::Listen {
            addr,
            reason: e.to_string(),
        })
    }

    /// As [`Daemon::start`], serving HTTP on `listener` (from [`Daemon::bind`]).
    pub async fn start_on(
        listener: std::net::TcpListener,
        config: Config,
    ) -> Result<Daemon, StartError> {
        let tls = config.server.tls.as_ref().map(http::tls::server_config);
        let tls = tls.transpose()?;
        let store = Store::open(&config.storage.path, config.storage.event_retention)?;
        let config = Arc::new(config);
        let live = Arc::new(LiveConfig::new(config.clone()));
        let db = store.database()?;
        let instance_id: Arc<str> = crate::ha::instance_id(&db)?.into();
        drop(db);
        let status = StatusHandle::start(store, live.clone())?;
        let notifiers = Arc::new(crate::notify::Registry::default());
        let client = http_client().map_err(StartError::Other)?;
        let fleet = Fleet::new(config.clone(), status.clone(), client).start();
        let state = AppState {
            status: status.clone(),
            fleet: fleet.clone(),
            config: live.clone(),
            notifiers: notifiers.clone(),
            instance_id: instance_id.clone(),
        };
        let addr = listener.local_addr().unwrap_or(config.server.listen);
        let server = serve(state, listener, addr, tls)?;
        notifiers.start(&config.notify, &status, addr).await;
        let handle = server.handle();
        let server_task = actix_web::rt::spawn(server);
        tracing::info!(%instance_id, "instance id of this state file");
        Ok(Daemon {
            status,
            fleet,
            config: live,
            addr,
            notifiers,
            server: handle,
            server_task,
        })
    }

    /// Reloads the configuration file (as `POST /api/admin/reload` and SIGHUP do).
    pub async fn reload(&self) -> Result<ReloadReport, ReloadError> {
        reload(&self.fleet, &self.config, &self.notifiers, false).await
    }

    /// Stops polling, stops the HTTP server, and waits until everything observed so
    /// far is committed.
    pub async fn shutdown(self) {
        let _ = self.fleet.send(StopAll).await;
        self.status.hub().close();
        self.server.stop(true).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.server_task).await;
        if let Err(e) = self.status.observe(Vec::new()).await {
            tracing::error!(error = %e, "final flush failed");
        }
        // Closing the database marks the file clean: the next start does not need
        // a full repair pass.
        self.status.store().close();
        tracing::info!("watchpost stopped");
    }
}
