//! The load harness: simulated (or real HAProxy) sources with N backends × S servers
//! and E Eureka servers × I instances, `watchpost run` as a separate process, C
//! WebSocket clients, faults injected at known instants, and a table of polls per
//! second, CPU per 1,000 polls, peak RSS, commits per second and event latencies.
//!
//! ```text
//! cargo build --release && cargo bench --bench load -- --backends 1000 --clients 100
//! scripts/bench load --backends 1000 --clients 100        # the same
//! ```
//! See docs/PERFORMANCE.md for what each figure measures.

mod common;
#[path = "load/hooks.rs"]
mod hooks;
#[path = "load/prefill.rs"]
mod prefill;
#[path = "load/report.rs"]
mod report;
#[path = "load/setup.rs"]
mod setup;
#[path = "load/storm.rs"]
mod storm;
#[path = "load/wrk.rs"]
mod wrk;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;

use common::ws::{Fleet, Key};
use common::{DaemonProc, Res, counters, sample, wait_all_success};
use report::{Injection, PollSide, Run};
use setup::{SourceKind, Sources};

/// Load harness for watchpost (see docs/PERFORMANCE.md).
#[derive(Parser, Debug, Clone)]
#[command(name = "load")]
pub struct Args {
    /// HAProxy backends.
    #[arg(long, default_value_t = 1000)]
    backends: usize,
    /// Servers per backend.
    #[arg(long, default_value_t = 4)]
    servers: usize,
    /// Eureka servers.
    #[arg(long, default_value_t = 4)]
    eureka: usize,
    /// Instances per Eureka server (ten per application).
    #[arg(long, default_value_t = 500)]
    instances: usize,
    /// WebSocket clients.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Poll interval of every target.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    interval: Duration,
    /// Length of the measured window (faults are injected during it).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Faults injected (each one undone 1.5 intervals later: two events).
    #[arg(long, default_value_t = 12)]
    faults: usize,
    /// Where HAProxy backends come from: the simulated FAgent or a real HAProxy.
    #[arg(long, value_enum, default_value_t = SourceKind::Agent)]
    source: SourceKind,
    /// Complete runs; the table shows the median and the range.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Before each run, wait up to `--quiet-wait` for the 1-min load average to drop below this.
    #[arg(long, default_value_t = 1.5)]
    max_load: f64,
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    quiet_wait: Duration,
    /// The daemon binary (default: target/release/watchpost).
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Webhook notifiers (receivers on loopback; every injected fault fires an alert).
    #[arg(long, default_value_t = 0)]
    notifiers: usize,
    /// `[[link]]` sections for drift (Eureka application k ↔ backend k).
    #[arg(long, default_value_t = 0)]
    links: usize,
    /// Follow HAProxy's event ring (`events_ring`, `--source socket` only).
    #[arg(long)]
    ring: bool,
    /// Disable every alert rule (to measure what evaluating them costs).
    #[arg(long)]
    no_alerts: bool,
    /// After the window, put every server of this % of the backends into MAINT at
    /// once (real HAProxy only) and measure commit → clients and → notifiers.
    #[arg(long, default_value_t = 0.0)]
    storm: f64,
    /// After the window (and the storm), run `wrk -c 50` this long on `GET
    /// /api/targets` and on `GET /api/events?target=…&limit=100` (0: not at all).
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    wrk: Duration,
    /// Before the daemon starts, commit this many events to its state file (on
    /// the first backends, see benches/load/prefill.rs), so `wrk` reads a full log.
    #[arg(long, default_value_t = 0)]
    prefill: usize,
    /// Count fsync calls with strace during the window (slows the daemon; off by default).
    #[arg(long)]
    strace: bool,
    /// Passed by `cargo bench`; without it the harness does nothing (so `cargo test
    /// --all-targets` never starts a load run).
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() {
    let args = Args::parse();
    let runs = common::Runs {
        count: args.runs,
        max_load: args.max_load,
        quiet_wait: args.quiet_wait,
    };
    common::main_of(
        "load",
        "`cargo bench --bench load -- ...` or scripts/bench load",
        args.bench,
        runs,
        async || one_run(&args).await,
        |runs| report::print(&args, runs),
    );
}

async fn one_run(args: &Args) -> Res<Run> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let sources = Sources::start(
        args.source,
        dir.path(),
        args.backends,
        args.servers,
        args.eureka,
        args.instances,
    )?;
    let cfg = dir.path().join("watchpost.toml");
    let hooks = hooks::start(args.notifiers)?;
    let extra = setup::Extra {
        hooks: hooks.iter().map(|h| h.url.clone()).collect(),
        links: args.links,
        ring: args.ring,
        no_alerts: args.no_alerts,
    };
    if args.prefill > 0 {
        let prefix = match args.source {
            SourceKind::Agent => "haproxy/sim",
            _ => "haproxy/lb",
        };
        let targets: Vec<String> = (1..=prefill::TARGETS.min(args.backends.max(1)))
            .map(|b| format!("{prefix}/{}", common::haproxy::backend_name(b)))
            .collect();
        let path = dir.path().join("watchpost.redb");
        prefill::run(&path, args.prefill, 100_000, &targets)?;
    }
    let bin = args.bin.clone().unwrap_or_else(common::default_daemon_bin);
    let started = Instant::now();
    // The port is picked after everything else of the run has bound its own, and
    // picked again if another process takes it before the daemon binds it.
    let config = |port| sources.config(dir.path(), port, args.interval, args.backends, &extra);
    let (mut daemon, port) = DaemonProc::start(&bin, &cfg, dir.path(), config).await?;
    let http = common::http_client(Duration::from_secs(30));
    let targets = args.backends + args.eureka;
    let limit = args.interval * 3 + Duration::from_secs(60 + targets as u64 / 100);
    if let Err(e) = wait_all_success(&http, &daemon.base, targets, limit).await {
        let log = std::fs::read_to_string(dir.path().join("watchpost.log")).unwrap_or_default();
        let health = common::get_json(&http, &format!("{}/api/targets", daemon.base))
            .await
            .unwrap_or_default();
        let list = health["targets"].as_array().cloned().unwrap_or_default();
        let failed: Vec<String> = list
            .iter()
            .filter(|t| t["last_fetch_status"] != "success")
            .take(5)
            .map(|t| format!("{}: {}", t["id"], t["last_fetch_error"]))
            .collect();
        let health = failed.join("\n");
        return Err(format!(
            "{e}\nnot read (first five):\n{health}\nlast lines of the daemon log:\n{}",
            tail(&log, 20)
        ));
    }
    let startup = (started.elapsed(), sample(daemon.pid())?);
    let seq = counters(&http, &daemon.base).await?[3];
    let url = format!("ws://127.0.0.1:{port}/ws?since={seq}");
    let fleet = Arc::new(Fleet::connect(&url, args.clients).await?);
    tokio::time::sleep(args.interval).await;

    let (p0, c0, t0) = (
        sample(daemon.pid())?,
        counters(&http, &daemon.base).await?,
        Instant::now(),
    );
    let strace = args
        .strace
        .then(|| report::Strace::attach(daemon.pid(), dir.path()))
        .transpose()?;
    let (injections, sides) = inject(args, &sources, &fleet, &http, &daemon.base).await?;
    let fsyncs = strace.map(|s| s.finish()).transpose()?;
    let (p1, c1, t1) = (
        sample(daemon.pid())?,
        counters(&http, &daemon.base).await?,
        Instant::now(),
    );
    let notified = notified(&fleet, &hooks, args.interval * 3 + Duration::from_secs(10)).await;
    let run = Run {
        startup,
        window: (t1 - t0, p0, p1, c0, c1),
        injections,
        sides,
        clients: fleet.size,
        closed: fleet.closed(),
        fsyncs,
        tck: common::clk_tck(),
        receipts: Vec::new(),
        notified,
        storm: None,
        readers: Vec::new(),
        seq: 0.0,
        peak_after_storm: 0,
        hook_messages: 0,
    };
    // The window's receipts are taken before the storm, which may hit the same servers.
    let mut run = run.with_receipts(&fleet);
    if let (Some(ha), true) = (&sources.haproxy, args.storm > 0.0) {
        let shape = (args.backends, args.servers, args.storm);
        let deadline = args.interval * 4 + Duration::from_secs(30);
        run.storm = Some(storm::run(ha, shape, &fleet, &hooks, deadline).await?);
    }
    if !args.wrk.is_zero() {
        let prefilled = (args.prefill > 0).then(|| {
            let prefix = match args.source {
                SourceKind::Agent => "haproxy%2Fsim",
                _ => "haproxy%2Flb",
            };
            format!("{prefix}%2F{}", common::haproxy::backend_name(1))
        });
        let target = prefilled.or_else(|| {
            run.injections
                .first()
                .map(|i| i.key.target.replace('/', "%2F"))
        });
        let mut paths = vec!["/api/targets".to_string()];
        paths.extend(target.map(|t| format!("/api/events?target={t}&limit=100")));
        run.readers = wrk::run(&daemon.base, &paths, args.wrk).await?;
        run.seq = counters(&http, &daemon.base).await?[3];
    }
    run.peak_after_storm = sample(daemon.pid())?.hwm_kb;
    run.hook_messages = hooks.iter().map(hooks::Hook::messages).sum();
    daemon.stop();
    drop(sources);
    Ok(run)
}

/// Injects the faults on schedule and waits for their events; returns the
/// injections and, per fault, what the daemon's API said about the observing poll.
async fn inject(
    args: &Args,
    sources: &Sources,
    fleet: &Arc<Fleet>,
    http: &reqwest::Client,
    base: &str,
) -> Res<(Vec<Injection>, Vec<PollSide>)> {
    let faults = sources.faults(args.faults, args.backends, args.instances);
    let spacing = args.duration / (faults.len() as u32 + 1);
    let undo_after = args.interval.mul_f64(1.5);
    let start = tokio::time::Instant::now();
    let mut plan: Vec<(Duration, usize, bool)> = Vec::new();
    for (i, _) in faults.iter().enumerate() {
        let at = spacing * (i as u32 + 1);
        plan.push((at, i, true));
        plan.push((at + undo_after, i, false));
    }
    plan.sort_by_key(|p| p.0);
    let sides = Arc::new(Mutex::new(Vec::new()));
    let mut injections = Vec::new();
    let mut watchers = Vec::new();
    for (at, i, on) in plan {
        tokio::time::sleep_until(start + at).await;
        let key = sources.apply(&faults[i], on)?;
        let inj = Injection {
            key: key.clone(),
            at: Instant::now(),
        };
        injections.push(inj);
        let deadline = args.interval * 3 + Duration::from_secs(5);
        let (fleet, http, base, sides) =
            (fleet.clone(), http.clone(), base.to_string(), sides.clone());
        watchers.push(tokio::spawn(async move {
            let side = observe(&fleet, &http, &base, &key, deadline).await;
            sides.lock().unwrap().push(side);
        }));
    }
    for w in watchers {
        let _ = w.await;
    }
    let sides = std::mem::take(&mut *sides.lock().unwrap());
    Ok((injections, sides))
}

/// Waits for the first receipt of `key`, reads the target's `last_fetch_at` (the end
/// of the poll that observed the change), then waits for every client to have it.
async fn observe(
    fleet: &Fleet,
    http: &reqwest::Client,
    base: &str,
    key: &Key,
    deadline: Duration,
) -> PollSide {
    let end = Instant::now() + deadline;
    let mut first = fleet.first(key);
    while first.is_none() && Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(2)).await;
        first = fleet.first(key);
    }
    let mut fetch_end_ms = None;
    if first.is_some() {
        let url = format!("{base}/api/targets/{}", key.target.replace('/', "%2F"));
        let t = common::get_json(http, &url).await.ok();
        fetch_end_ms = t
            .as_ref()
            .and_then(|t| t["last_fetch_at"].as_str())
            .and_then(common::parse_ts);
    }
    while fleet.count(key) < fleet.size && Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    PollSide {
        first,
        fetch_end_ms,
    }
}

/// Commit → receiver of every alert transition the clients saw, per notifier,
/// once each has arrived (or the deadline passed); and how many never arrived.
async fn notified(fleet: &Fleet, hooks: &[hooks::Hook], deadline: Duration) -> (Vec<f64>, usize) {
    if hooks.is_empty() {
        return (Vec::new(), 0);
    }
    let end = Instant::now() + deadline;
    loop {
        let (got, missing) = notify_figures(fleet, hooks);
        if missing == 0 || Instant::now() > end {
            return (got, missing);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn notify_figures(fleet: &Fleet, hooks: &[hooks::Hook]) -> (Vec<f64>, usize) {
    let mut all = fleet.all_of("alert_firing");
    all.extend(fleet.all_of("alert_resolved"));
    hooks::latencies(&all, hooks)
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
