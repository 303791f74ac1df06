//! The dashboard (docs/dashboard.md) in headless Chromium, driven through chromedriver with a
//! small WebDriver client (`webdriver`): the page against the running sims
//! (`fleet`), failures, toasts and escaping (`failures`), reconnecting across a
//! daemon restart (`restart`), the response headers (`headers`), admin actions
//! (`admin`), a notifier's "send test" (`notifiers`), the availability strip's
//! intervals (`strip`), the page's reducer against the server's state rules
//! (`rules`), and the demo screenshot with figures for a 5,000-backend fleet
//! (`demo`).
//!
//! The page is polled with small scripts (`wait_js`) under an overall deadline; the
//! page exposes read-only diagnostics as `window.watchpost`.

mod admin;
mod alerts;
mod demo;
mod drift;
mod failures;
mod fleet;
mod headers;
mod notifiers;
mod restart;
mod rules;
mod strip;
mod webdriver;

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::try_wait_for;
pub use webdriver::Browser;

/// How long the page may take to show something.
pub const PAGE_DEADLINE: Duration = Duration::from_secs(60);

/// What a script answered counts as "yes": not null, false, 0 or "".
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

/// What the page says about itself, for failure messages.
const DIAGNOSE: &str = "const w = window.watchpost; return {
    connection: w ? w.connection() : 'no window.watchpost', seq: w ? w.seq() : null,
    text: document.body ? document.body.innerText.slice(0, 3000) : '' };";

impl Browser {
    /// Runs `body` with `args` every 25 ms until it answers something truthy; fails
    /// the test after [`PAGE_DEADLINE`] with the page's state.
    pub async fn wait_js(&self, what: &str, body: &str, args: Vec<Value>) -> Value {
        let found = try_wait_for(PAGE_DEADLINE, async || {
            let v = self.eval(body, args.clone()).await;
            truthy(&v).then_some(v)
        })
        .await;
        match found {
            Some(v) => v,
            None => {
                let state = self.eval(DIAGNOSE, vec![]).await;
                panic!("timed out after {PAGE_DEADLINE:?} waiting for {what}; page: {state:#}")
            }
        }
    }

    /// Opens the dashboard at `base_url` and waits until it is live and rendered.
    pub async fn open_dashboard(base_url: &str) -> Browser {
        let b = Browser::launch().await;
        b.goto(&format!("{base_url}/")).await;
        let ready = "const w = window.watchpost;
            return w && w.connection() === 'live' && w.metrics.firstRenderMs !== null && w.idle();";
        b.wait_js("the dashboard to connect and render", ready, vec![])
            .await;
        b
    }

    /// Waits until the page has applied every event up to `seq` and rendered it.
    pub async fn caught_up(&self, seq: u64) {
        let body = "const w = window.watchpost; return w.seq() >= arguments[0] && w.idle();";
        self.wait_js(
            &format!("the page to apply event {seq}"),
            body,
            vec![json!(seq)],
        )
        .await;
    }
}

/// A loopback address whose port was free a moment ago.
pub fn free_addr() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local address")
}

/// The daemon's last committed event.
pub async fn last_seq(td: &crate::common::TestDaemon) -> u64 {
    let (_, health) = td.get("/api/health").await;
    health["last_seq"].as_u64().expect("last_seq")
}

/// JS: the card or block of target `arguments[0]`.
pub const CARD: &str =
    "const card = document.querySelector(`[data-target-id=\"${CSS.escape(arguments[0])}\"]`);";
