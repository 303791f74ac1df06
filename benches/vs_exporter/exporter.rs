//! `prometheus-haproxy-exporter` as a child process, and the scrape loop that stands
//! in for a Prometheus server: one `GET /metrics` per interval, each remembered with
//! its start, end and the value of `haproxy_server_up` for the watched server.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{Res, free_port, stop_child};

/// One scrape.
#[derive(Clone, Copy, Debug)]
pub struct Scrape {
    pub start: Instant,
    pub end: Instant,
    /// `haproxy_server_up` of the watched server, `None` if absent or failed.
    pub up: Option<f64>,
}

/// The running exporter and its scrape loop.
pub struct Exporter {
    child: Child,
    pub scrapes: Arc<Mutex<Vec<Scrape>>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Exporter {
    /// Starts the exporter on `scrape_uri` and waits until it reads HAProxy.
    pub async fn start(bin: &Path, scrape_uri: &str, dir: &Path) -> Res<(Exporter, String)> {
        let port = free_port()?;
        let log = std::fs::File::create(dir.join("exporter.log")).map_err(|e| e.to_string())?;
        let child = Command::new(bin)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!("--haproxy.scrape-uri={scrape_uri}"))
            .arg("--haproxy.timeout=30s")
            .stdout(Stdio::from(log.try_clone().map_err(|e| e.to_string())?))
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start {} (apt-get install prometheus-haproxy-exporter): {e}",
                    bin.display()
                )
            })?;
        let exp = Exporter {
            child,
            scrapes: Arc::default(),
            task: None,
        };
        let url = format!("http://127.0.0.1:{port}/metrics");
        let http = crate::common::http_client(Duration::from_secs(60));
        crate::common::wait_for(
            "the exporter",
            Duration::from_secs(60),
            Duration::from_millis(200),
            async || {
                let page = crate::common::get_text(&http, &url).await.ok()?;
                (crate::common::metric(&page, "haproxy_up") == Some(1.0)).then_some(())
            },
        )
        .await?;
        Ok((exp, url))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Scrapes `url` every `interval` (start to start; a slow scrape delays the next),
    /// reading `haproxy_server_up` of `backend`/`server`.
    pub fn scrape_every(&mut self, url: String, interval: Duration, backend: &str, server: &str) {
        let needle = format!("haproxy_server_up{{backend=\"{backend}\",server=\"{server}\"}} ");
        let scrapes = self.scrapes.clone();
        self.task = Some(tokio::spawn(async move {
            let http = crate::common::http_client(Duration::from_secs(120));
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let start = Instant::now();
                let page = crate::common::get_text(&http, &url)
                    .await
                    .unwrap_or_default();
                let end = Instant::now();
                let up = page.find(&needle).and_then(|at| {
                    let rest = &page[at + needle.len()..];
                    rest.split_whitespace().next().and_then(|v| v.parse().ok())
                });
                scrapes.lock().unwrap().push(Scrape { start, end, up });
            }
        }));
    }

    /// Scrapes so far.
    pub fn count(&self) -> usize {
        self.scrapes.lock().unwrap().len()
    }

    /// The last scrape.
    pub fn last(&self) -> Option<Scrape> {
        self.scrapes.lock().unwrap().last().copied()
    }

    /// The first scrape that started after `after` and saw the server down.
    pub fn first_down_after(&self, after: Instant) -> Option<Scrape> {
        let all = self.scrapes.lock().unwrap();
        all.iter()
            .find(|s| s.start >= after && s.up == Some(0.0))
            .copied()
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
        stop_child(&mut self.child);
    }
}
