//! Starting and stopping the whole daemon: store, status actor, fleet and HTTP
//! server. Used by `watchpost run`, `watchpost demo` and the integration tests.
//! Must be called inside an actix `System`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Addr};
use actix_web::dev::ServerHandle;
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
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: SocketAddr, reason: String },
    #[error("{0}")]
    Other(String),
}

/// A running daemon.
pub struct Daemon {
    pub status: StatusHandle,
    pub fleet: Addr<Fleet>,
    /// The configuration in force.
    pub config: Arc<LiveConfig>,
    /// The address the HTTP server listens on (useful with port 0).
    pub addr: SocketAddr,
    server: ServerHandle,
    server_task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Daemon {
    /// Opens the store, loads the committed state, starts the pollers and the HTTP
    /// server.
    pub async fn start(config: Config) -> Result<Daemon, StartError> {
        let store = Store::open(&config.storage.path, config.storage.event_retention)?;
        let status = StatusHandle::start(store)?;
        let client = http_client().map_err(StartError::Other)?;
        let config = Arc::new(config);
        let fleet = Fleet::new(config.clone(), status.clone(), client).start();
        let live = Arc::new(LiveConfig::new(config.clone()));
        let state = AppState {
            status: status.clone(),
            fleet: fleet.clone(),
            config: live.clone(),
        };
        let listen = config.server.listen;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .configure(http::configure)
        })
        .workers(2)
        .shutdown_timeout(2)
        .disable_signals()
        .bind(listen)
        .map_err(|e| StartError::Listen {
            addr: listen,
            reason: e.to_string(),
        })?;
        let addr = server.addrs().first().copied().unwrap_or(listen);
        let server = server.run();
        let handle = server.handle();
        let server_task = actix_web::rt::spawn(server);
        tracing::info!(%addr, "watchpost listening");
        Ok(Daemon {
            status,
            fleet,
            config: live,
            addr,
            server: handle,
            server_task,
        })
    }

    /// Reloads the configuration file (as `POST /api/admin/reload` and SIGHUP do).
    pub async fn reload(&self) -> Result<ReloadReport, ReloadError> {
        reload(&self.fleet, &self.config).await
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
        tracing::info!("watchpost stopped");
    }
}
