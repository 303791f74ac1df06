//! Helpers shared by the load tools (`load`, `vs_exporter`): process figures from
//! /proc, percentiles, free ports, waiting with a deadline, the daemon as a child
//! process, and the machine description printed above each table.
#![allow(dead_code)]

pub mod haproxy;
pub mod ws;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A fatal error of a load tool: a message for the operator.
pub type Res<T> = Result<T, String>;

/// CPU and memory of one process at one instant.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcSample {
    /// utime + stime of every thread, dead ones included, in clock ticks.
    pub ticks: u64,
    /// On-CPU time of the live threads (`/proc/PID/task/*/schedstat`), in ns.
    pub sched_ns: u64,
    /// Resident set now, in KiB.
    pub rss_kb: u64,
    /// Peak resident set (VmHWM), in KiB.
    pub hwm_kb: u64,
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 on Linux).
pub fn clk_tck() -> u64 {
    let out = Command::new("getconf").arg("CLK_TCK").output();
    out.ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100)
}

/// Reads the CPU and memory figures of `pid`.
pub fn sample(pid: u32) -> Res<ProcSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("cannot read /proc/{pid}/stat (did the process exit?): {e}"))?;
    let after = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the `) `.
    let ticks = num(11) + num(12);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok(ProcSample {
        ticks,
        sched_ns: sched_ns(pid),
        rss_kb: kb("VmRSS:"),
        hwm_kb: kb("VmHWM:"),
    })
}

fn sched_ns(pid: u32) -> u64 {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    dir.flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| {
            s.split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum()
}

/// CPU seconds between two samples (from ticks).
pub fn cpu_s(a: &ProcSample, b: &ProcSample, tck: u64) -> f64 {
    b.ticks.saturating_sub(a.ticks) as f64 / tck as f64
}

/// How many complete runs a load tool makes, and how long it waits before each for
/// the 1-minute load average to fall below `max_load` (not at all when zero).
pub struct Runs {
    pub count: usize,
    pub max_load: f64,
    pub quiet_wait: Duration,
}

/// The body of a load tool's `main`. Without `--bench` (as `cargo test --all-targets`
/// runs it) it only says how to run the tool; otherwise it makes the runs, one after
/// the other on a 2-thread runtime, and gives them to `report`. An error ends the
/// process with status 1.
pub fn main_of<R>(
    tool: &str,
    how: &str,
    bench: bool,
    runs: Runs,
    mut one: impl AsyncFnMut() -> Res<R>,
    report: impl FnOnce(&[R]),
) {
    if !bench {
        eprintln!("{tool}: run through {how}");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string());
    let all = async {
        let mut out = Vec::new();
        for r in 1..=runs.count {
            if !runs.quiet_wait.is_zero() {
                wait_for_quiet(runs.max_load, runs.quiet_wait);
            }
            eprintln!("run {r}/{}: {}", runs.count, machine());
            out.push(one().await?);
        }
        Ok(out)
    };
    match rt.and_then(|rt| rt.block_on(all)) {
        Ok(out) => report(&out),
        Err(e) => {
            eprintln!("{tool}: {e}");
            std::process::exit(1);
        }
    }
}

/// Prints the table of figures: one row per figure with its median, min and max over
/// the runs (`n/a` where a run has no value).
pub fn print_figures(runs: &[Vec<(String, f64)>]) {
    let Some(first) = runs.first() else { return };
    println!("| figure | median | min | max |");
    println!("|---|---:|---:|---:|");
    let fmt = |x: f64| {
        if x.is_nan() {
            "n/a".to_string()
        } else {
            format!("{x:.2}")
        }
    };
    for (i, (name, _)) in first.iter().enumerate() {
        let v: Vec<f64> = runs.iter().filter_map(|r| r.get(i).map(|x| x.1)).collect();
        println!(
            "| {name} | {} | {} | {} |",
            fmt(quantile(&v, 0.5)),
            fmt(quantile(&v, 0.0)),
            fmt(quantile(&v, 1.0))
        );
    }
}

/// The value at quantile `q` (0..=1, nearest rank) of `v`; NaN when empty.
pub fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let rank = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len());
    s[rank - 1]
}

/// `p50 / p99 / max` of millisecond figures, as text.
pub fn p50_p99_max(v: &[f64]) -> String {
    if v.is_empty() {
        return "n/a".into();
    }
    format!(
        "{:.1} / {:.1} / {:.1}",
        quantile(v, 0.5),
        quantile(v, 0.99),
        quantile(v, 1.0)
    )
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> Res<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// Milliseconds since the Unix epoch, the unit of event `ts`.
pub fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Parses an RFC 3339 time (`2026-11-21T10:00:00.123Z`) to epoch milliseconds.
pub fn parse_ts(text: &str) -> Option<u64> {
    let t = humantime::parse_rfc3339(text).ok()?;
    t.duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_millis() as u64)
}

/// Calls `f` every `tick` until it gives a value or `limit` passes.
pub async fn wait_for<T>(
    what: &str,
    limit: Duration,
    tick: Duration,
    f: impl AsyncFnMut() -> Option<T>,
) -> Res<T> {
    let found = watchpost::testkit::poll_until(limit, tick, f).await;
    found.ok_or_else(|| format!("timed out after {limit:?} waiting for {what}"))
}

/// Waits (at most `limit`) for the 1-minute load average to drop below `max`.
pub fn wait_for_quiet(max: f64, limit: Duration) {
    let end = Instant::now() + limit;
    loop {
        let load = load_avg();
        if load < max || Instant::now() >= end {
            eprintln!(
                "load average (1 min): {load:.2}{}",
                if load < max { "" } else { " (gave up waiting)" }
            );
            return;
        }
        std::thread::sleep(Duration::from_secs(5));
    }
}

/// The 1-minute load average.
pub fn load_avg() -> f64 {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// One line on the machine: cores, CPU model, memory, load.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_string());
    let mem = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let total_kb: u64 = mem
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!(
        "{cores} cores, {}, {:.1} GiB RAM, load average {:.2}",
        model.unwrap_or_else(|| "unknown CPU".into()),
        total_kb as f64 / 1048576.0,
        load_avg()
    )
}

/// `target/release/watchpost` next to this bench binary's `target/release/deps/`.
pub fn default_daemon_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let release = exe
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    release.join("watchpost")
}

/// `watchpost run --config <config>` as a child process, logging to `<dir>/watchpost.log`.
pub struct DaemonProc {
    pub child: Child,
    pub base: String,
}

impl DaemonProc {
    pub fn spawn(bin: &Path, config: &Path, dir: &Path, port: u16) -> Res<DaemonProc> {
        if !bin.exists() {
            return Err(format!(
                "{} not found: run `cargo build --release` first (scripts/bench does)",
                bin.display()
            ));
        }
        let log = std::fs::File::create(dir.join("watchpost.log")).map_err(|e| e.to_string())?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(bin)
            .args(["run", "--config"])
            .arg(config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        Ok(DaemonProc {
            child,
            base: format!("http://127.0.0.1:{port}"),
        })
    }

    /// Picks a free port, writes the configuration `write` gives for it to
    /// `config` and starts the daemon; when the daemon exits because another
    /// process took the port between the pick and its bind, does it again on a new
    /// port (three tries). Returns once the daemon answers on its port.
    pub async fn start(
        bin: &Path,
        config: &Path,
        dir: &Path,
        write: impl Fn(u16) -> String,
    ) -> Res<(DaemonProc, u16)> {
        const TRIES: usize = 3;
        let http = http_client(Duration::from_secs(5));
        for _ in 0..TRIES {
            let port = free_port()?;
            std::fs::write(config, write(port)).map_err(|e| e.to_string())?;
            let mut daemon = DaemonProc::spawn(bin, config, dir, port)?;
            if daemon.listening(&http, dir).await? {
                return Ok((daemon, port));
            }
        }
        Err(format!(
            "the daemon could not listen on a free port in {TRIES} tries (taken each time)"
        ))
    }

    /// Waits until the daemon answers as watchpost on its port (true), or exits
    /// because the port was taken (false); any other exit, or no answer within a
    /// minute, is an error with the end of its log.
    async fn listening(&mut self, http: &reqwest::Client, dir: &Path) -> Res<bool> {
        let end = Instant::now() + Duration::from_secs(60);
        let log = || std::fs::read_to_string(dir.join("watchpost.log")).unwrap_or_default();
        let url = format!("{}/api/openapi.json", self.base);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let text = log();
                if text.contains("Address already in use") {
                    return Ok(false);
                }
                let last: Vec<&str> = text.lines().rev().take(20).collect();
                let last: Vec<&str> = last.into_iter().rev().collect();
                return Err(format!(
                    "the daemon exited ({status}) before it listened; its log ends:\n{}",
                    last.join("\n")
                ));
            }
            // Another program may hold the port: only watchpost's own answer counts.
            if let Ok(doc) = get_json(http, &url).await
                && doc["info"]["title"] == "watchpost"
            {
                return Ok(true);
            }
            if Instant::now() > end {
                return Err(format!(
                    "the daemon did not answer on {} within a minute",
                    self.base
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then wait (SIGKILL after 10 s).
    pub fn stop(&mut self) {
        stop_child(&mut self.child);
    }
}

impl Drop for DaemonProc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Stops a child this tool started: SIGTERM by its pid, SIGKILL after 10 s.
pub fn stop_child(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A loopback HTTP client with a bounded time.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .unwrap_or_default()
}

/// `GET url` as text.
pub async fn get_text(client: &reqwest::Client, url: &str) -> Res<String> {
    let resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    resp.text().await.map_err(|e| format!("GET {url}: {e}"))
}

/// `GET url` as JSON.
pub async fn get_json(client: &reqwest::Client, url: &str) -> Res<serde_json::Value> {
    let text = get_text(client, url).await?;
    serde_json::from_str(&text).map_err(|e| format!("GET {url}: not JSON: {e}"))
}

/// The value of an unlabelled sample `name` in a Prometheus text page.
pub fn metric(page: &str, name: &str) -> Option<f64> {
    page.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
}

/// Waits until the daemon's `/api/health` counts `n` successful targets.
pub async fn wait_all_success(
    client: &reqwest::Client,
    base: &str,
    n: usize,
    limit: Duration,
) -> Res<()> {
    let url = format!("{base}/api/health");
    wait_for(
        &format!("{n} targets read successfully"),
        limit,
        Duration::from_millis(250),
        async || {
            let v = get_json(client, &url).await.ok()?;
            (v["targets"]["success"].as_u64()? as usize >= n).then_some(())
        },
    )
    .await
}

/// The daemon's counters from `/metrics`: (polls, commits, commit µs, last seq).
pub async fn counters(client: &reqwest::Client, base: &str) -> Res<[f64; 4]> {
    let page = get_text(client, &format!("{base}/metrics")).await?;
    let m = |n: &str| metric(&page, n).unwrap_or(f64::NAN);
    Ok([
        m("watchpost_polls_total"),
        m("watchpost_commits_total"),
        m("watchpost_commit_seconds_total") * 1e6,
        m("watchpost_last_event_sequence"),
    ])
}
