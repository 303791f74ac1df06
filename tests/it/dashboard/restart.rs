//! The page survives a daemon restart: it shows "disconnected — reconnecting" while
//! the daemon is gone, reconnects by itself to the new daemon on the same port and
//! storage with `since=<last seq>`, and shows what happened meanwhile.

use std::net::SocketAddr;
use std::path::Path;

use serde_json::json;
use watchpost::config::Config;
use watchpost::daemon::Daemon;
use watchpost::sim::{AgentSim, Fault};

use super::Browser;
use crate::common::*;

/// A daemon config on `addr` storing in `dir`, polling backends `a` and `b`.
fn restart_config(addr: SocketAddr, dir: &Path, url: &str) -> Config {
    let mut c = config();
    c.server.listen = addr;
    c.storage.path = dir.join("watchpost.redb");
    let mut h = haproxy("fdmz01", url, &["a", "b"]);
    h.policy.circuit.failure_threshold = 1_000_000;
    c.haproxy.push(h);
    c
}

/// Starts a daemon, retrying while the previous one still holds the storage file.
async fn start_again(config: &Config) -> Daemon {
    let started = try_wait_for(DEADLINE, async || Daemon::start(config.clone()).await.ok());
    started
        .await
        .expect("the daemon starts again on the same port and storage")
}

/// An agent sim and the config of a daemon on a fixed port and storage.
struct Setup {
    sim: AgentSim,
    config: Config,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Setup {
    async fn new() -> Setup {
        let sim = AgentSim::start(local(), vec![backend("a"), backend("b")], vec![]);
        let sim = sim.await.expect("sim");
        let dir = tempfile::tempdir().expect("temp dir");
        let port = super::free_addr();
        let config = restart_config(port, dir.path(), &sim.url());
        let base = format!("http://{port}");
        Setup {
            sim,
            config,
            base,
            http: client(),
            _dir: dir,
        }
    }

    async fn target(&self, id: &str) -> serde_json::Value {
        let url = format!("{}/api/targets/{}", self.base, enc(id));
        get_json(&self.http, &url).await.1
    }

    /// Waits until backend `b` has this fetch status; answers its state.
    async fn b_is(&self, status: &str) -> serde_json::Value {
        wait_for(&format!("b {status}"), async || {
            let t = self.target(&hid("b")).await;
            fetch_is(&t, status).then_some(t)
        })
        .await
    }

    async fn last_seq(&self) -> u64 {
        let (_, health) = get_json(&self.http, &format!("{}/api/health", self.base)).await;
        health["last_seq"].as_u64().expect("last_seq")
    }
}

const DISCONNECTED: &str = "const c = document.getElementById('conn');
    return c.dataset.state === 'disconnected' && c.textContent.includes('reconnecting');";

const LIVE_AGAIN: &str = "return document.getElementById('conn').dataset.state === 'live'
    && watchpost.seq() >= arguments[0] && watchpost.idle();";

#[actix_web::test]
async fn the_page_reconnects_after_a_restart_and_catches_up() {
    let s = Setup::new().await;
    let first = Daemon::start(s.config.clone())
        .await
        .expect("the daemon starts");
    s.b_is("success").await;
    let b = Browser::open_dashboard(&s.base).await;
    b.eval("window.__loaded = 'once'; return true;", vec![])
        .await;

    first.shutdown().await;
    b.wait_js("the disconnected indicator", DISCONNECTED, vec![])
        .await;
    s.sim.set_backend_fault("b", Some(Fault::Status(503)));
    let second = start_again(&s.config).await;
    let failed = s.b_is("failed").await;
    let seq = s.last_seq().await;
    b.wait_js(
        "the page to reconnect and catch up",
        LIVE_AGAIN,
        vec![json!(seq)],
    )
    .await;
    let error = failed["last_fetch_error"].as_str().expect("error");
    let shows = format!(
        "{} return card && card.dataset.fetch === 'failed'
            && card.querySelector('.fetch-error-text').textContent;",
        super::CARD
    );
    let shown = b
        .wait_js("b's failure on the page", &shows, vec![json!(hid("b"))])
        .await;
    assert_eq!(shown, error);
    let same = b.eval("return window.__loaded;", vec![]).await;
    assert_eq!(same, "once", "reconnected without a reload");
    b.close().await;
    second.shutdown().await;
}
