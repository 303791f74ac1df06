//! Readers under load: after the window, `wrk` (Debian package) hammers one API
//! path at a time with 50 connections while polling goes on; the figures are wrk's
//! requests per second and latency percentiles, and the polls per second the
//! daemon kept meanwhile.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{Res, counters};

/// What one wrk run gave.
#[derive(Debug, Default)]
pub struct Readers {
    pub path: String,
    pub requests_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Polls per second of the daemon while wrk ran.
    pub polls_per_s: f64,
}

/// Runs wrk on each path for `each`.
pub async fn run(base: &str, paths: &[String], each: Duration) -> Res<Vec<Readers>> {
    let http = crate::common::http_client(Duration::from_secs(30));
    let mut out = Vec::new();
    for path in paths {
        let c0 = counters(&http, base).await?;
        let t0 = Instant::now();
        let url = format!("{base}{path}");
        let secs = format!("{}s", each.as_secs().max(1));
        let wrk = tokio::task::spawn_blocking(move || {
            Command::new("wrk")
                .args(["-t", "2", "-c", "50", "-d", &secs, "--latency", &url])
                .output()
        });
        let done = wrk.await.map_err(|e| e.to_string())?;
        let output = done.map_err(|e| format!("cannot run wrk (Debian package wrk): {e}"))?;
        let c1 = counters(&http, base).await?;
        let text = String::from_utf8_lossy(&output.stdout).to_string();
        out.push(Readers {
            path: path.clone(),
            requests_per_s: field(&text, "Requests/sec:").unwrap_or(0.0),
            p50_ms: percentile(&text, "50%").unwrap_or(0.0),
            p99_ms: percentile(&text, "99%").unwrap_or(0.0),
            polls_per_s: (c1[0] - c0[0]) / t0.elapsed().as_secs_f64(),
        });
    }
    Ok(out)
}

fn field(text: &str, name: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.trim_start().starts_with(name))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A line of wrk's latency distribution (`     99%   12.34ms`), in milliseconds.
fn percentile(text: &str, name: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.trim_start().starts_with(name))?;
    ms(line.split_whitespace().nth(1)?)
}

fn ms(v: &str) -> Option<f64> {
    let (num, scale) = if let Some(n) = v.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (v, 1.0)
    };
    num.parse::<f64>().ok().map(|x| x * scale)
}
