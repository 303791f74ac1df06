//! What a load run measured, the figures derived from it, and the table that shows
//! the median and range of each figure over the runs.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Args;
use crate::common::ws::{Fleet, Key, Receipt};
use crate::common::{ProcSample, Res, cpu_s, quantile};

/// One injected change: what event it should cause, and when it was made.
pub struct Injection {
    pub key: Key,
    pub at: Instant,
}

/// The first receipt of an injection's event and the end of the poll that saw it.
pub struct PollSide {
    pub first: Option<Receipt>,
    /// The target's `last_fetch_at` read right after the first receipt, epoch ms.
    pub fetch_end_ms: Option<u64>,
}

/// Everything one run recorded.
pub struct Run {
    pub startup: (Duration, ProcSample),
    /// Window length, process samples and `/metrics` counters at both ends.
    pub window: (Duration, ProcSample, ProcSample, [f64; 4], [f64; 4]),
    pub injections: Vec<Injection>,
    pub sides: Vec<PollSide>,
    pub clients: usize,
    pub closed: usize,
    pub fsyncs: Option<u64>,
    pub tck: u64,
    /// Per injection: every client's receipt (filled by `with_receipts`).
    pub receipts: Vec<Vec<Receipt>>,
    /// Commit → notifier of the window's alert transitions, ms; and those missing.
    pub notified: (Vec<f64>, usize),
    pub storm: Option<crate::storm::Storm>,
    /// wrk on the API after the window, and the events in the log then.
    pub readers: Vec<crate::wrk::Readers>,
    pub seq: f64,
    /// VmHWM after the storm (or the window), KiB.
    pub peak_after_storm: u64,
    /// Messages the notifiers' receivers got in all.
    pub hook_messages: u64,
}

impl Run {
    /// Takes the receipts of every injection from the clients.
    pub fn with_receipts(mut self, fleet: &Fleet) -> Run {
        self.receipts = self
            .injections
            .iter()
            .map(|i| fleet.receipts(&i.key))
            .collect();
        self
    }

    /// The figures of this run, in table order: (name, value).
    fn figures(&self) -> Vec<(String, f64)> {
        let (len, p0, p1, c0, c1) = &self.window;
        let secs = len.as_secs_f64();
        let polls = c1[0] - c0[0];
        let commits = c1[1] - c0[1];
        let cpu = cpu_s(p0, p1, self.tck);
        let mut f: Vec<(String, f64)> = vec![
            ("polls per second".into(), polls / secs),
            ("daemon CPU, % of one core".into(), 100.0 * cpu / secs),
            ("CPU s per 1,000 polls".into(), 1e3 * cpu / polls.max(1.0)),
            ("peak RSS (VmHWM), MiB".into(), p1.hwm_kb as f64 / 1024.0),
            ("RSS at the end, MiB".into(), p1.rss_kb as f64 / 1024.0),
            ("redb commits per second".into(), commits / secs),
            (
                "mean commit time (fsync included), ms".into(),
                (c1[2] - c0[2]) / 1000.0 / commits.max(1.0),
            ),
        ];
        if let Some(n) = self.fsyncs {
            f.push((
                "fsync+fdatasync per second (strace)".into(),
                n as f64 / secs,
            ));
        }
        f.push((
            "startup: all targets read after, s".into(),
            self.startup.0.as_secs_f64(),
        ));
        f.push((
            "startup: daemon CPU, s".into(),
            self.startup.1.ticks as f64 / self.tck as f64,
        ));
        self.latency_figures(&mut f);
        self.notify_figures(&mut f);
        f
    }

    fn notify_figures(&self, f: &mut Vec<(String, f64)>) {
        let (got, missing) = &self.notified;
        if !got.is_empty() || *missing > 0 {
            push3(f, "alert commit → notifier (window)", got);
            f.push(("  alert deliveries missing".into(), *missing as f64));
            f.push((
                "  notifier messages received".into(),
                self.hook_messages as f64,
            ));
        }
        for r in &self.readers {
            let name = format!("readers: GET {} (wrk, 50 connections)", r.path);
            f.push((format!("{name}: requests/s"), r.requests_per_s));
            f.push((format!("{name}: p50, ms"), r.p50_ms));
            f.push((format!("{name}: p99, ms"), r.p99_ms));
            f.push((format!("{name}: polls per second meanwhile"), r.polls_per_s));
        }
        if !self.readers.is_empty() {
            f.push(("readers: events in the log (last seq)".into(), self.seq));
        }
        let Some(s) = &self.storm else { return };
        f.push((
            "storm: servers put in MAINT at once".into(),
            s.servers as f64,
        ));
        push3(f, "storm: commit → every WebSocket client", &s.to_clients);
        if !s.to_notifiers.is_empty() {
            push3(
                f,
                "storm: backend_down commit → every notifier",
                &s.to_notifiers,
            );
        }
        f.push(("storm: deliveries missing".into(), s.missing as f64));
        f.push((
            "peak RSS after the storm, MiB".into(),
            self.peak_after_storm as f64 / 1024.0,
        ));
    }

    fn latency_figures(&self, f: &mut Vec<(String, f64)>) {
        let mut all = Vec::new();
        let mut by_kind: HashMap<&str, Vec<f64>> = HashMap::new();
        let (mut spread, mut to_all) = (Vec::new(), Vec::new());
        for (inj, rs) in self.injections.iter().zip(&self.receipts) {
            let ms: Vec<f64> = rs.iter().map(|r| ms_between(inj.at, r.at)).collect();
            by_kind.entry(kind_label(&inj.key)).or_default().extend(&ms);
            all.extend(&ms);
            if let (Some(lo), Some(hi)) =
                (rs.iter().map(|r| r.at).min(), rs.iter().map(|r| r.at).max())
            {
                spread.push(ms_between(lo, hi));
                let ts = rs[0].ts_ms;
                to_all.push(
                    rs.iter()
                        .map(|r| r.wall_ms)
                        .max()
                        .unwrap_or(ts)
                        .saturating_sub(ts) as f64,
                );
            }
        }
        push3(f, "fault → WebSocket receipt, every client", &all);
        let mut kinds: Vec<_> = by_kind.into_iter().collect();
        kinds.sort_by(|a, b| a.0.cmp(b.0));
        for (k, v) in kinds {
            f.push((format!("  {k}: fault → receipt p50, ms"), quantile(&v, 0.5)));
        }
        let (mut beyond, mut to_commit, mut delivery) = (Vec::new(), Vec::new(), Vec::new());
        for s in &self.sides {
            let (Some(r), Some(end)) = (s.first, s.fetch_end_ms) else {
                continue;
            };
            if end > r.ts_ms {
                continue; // a later poll ended before we asked: not the observing one
            }
            beyond.push(r.wall_ms.saturating_sub(end) as f64);
            to_commit.push((r.ts_ms - end) as f64);
            delivery.push(r.wall_ms.saturating_sub(r.ts_ms) as f64);
        }
        push3(
            f,
            "beyond the observing poll (fetch end → first receipt)",
            &beyond,
        );
        f.push((
            "  fetch end → commit ts p99, ms".into(),
            quantile(&to_commit, 0.99),
        ));
        f.push((
            "  commit ts → first receipt p99, ms".into(),
            quantile(&delivery, 0.99),
        ));
        push3(f, "fan-out: first → last client, per event", &spread);
        f.push((
            "  commit ts → last client p99, ms".into(),
            quantile(&to_all, 0.99),
        ));
        let got: usize = self.receipts.iter().map(Vec::len).sum();
        f.push((
            "events observed (injections)".into(),
            self.injections.len() as f64,
        ));
        f.push((
            "receipts / (events × clients), %".into(),
            100.0 * got as f64 / (self.injections.len() * self.clients).max(1) as f64,
        ));
        f.push((
            "observing poll identified, events".into(),
            beyond.len() as f64,
        ));
        f.push(("clients disconnected".into(), self.closed as f64));
    }
}

fn push3(f: &mut Vec<(String, f64)>, name: &str, v: &[f64]) {
    for (q, label) in [(0.5, "p50"), (0.99, "p99"), (1.0, "max")] {
        f.push((format!("{name}: {label}, ms"), quantile(v, q)));
    }
}

fn ms_between(a: Instant, b: Instant) -> f64 {
    b.saturating_duration_since(a).as_secs_f64() * 1000.0
}

fn kind_label(k: &Key) -> &'static str {
    match k.kind.as_str() {
        "server_state_changed" => "server state (HAProxy)",
        "instance_state_changed" => "instance state (Eureka)",
        _ => "fetch failed / recovered",
    }
}

/// Prints the setup and one table row per figure: the median, min and max over runs.
pub fn print(args: &Args, runs: &[Run]) {
    let per_run: Vec<Vec<(String, f64)>> = runs.iter().map(Run::figures).collect();
    if per_run.is_empty() {
        return;
    }
    println!();
    println!(
        "watchpost load: source {:?}, {} backends × {} servers, {} Eureka × {} instances, {} WebSocket clients, \
         interval {:?}, window {:?}, {} faults (+ undo), {} run(s)",
        args.source,
        args.backends,
        args.servers,
        args.eureka,
        args.instances,
        args.clients,
        args.interval,
        args.duration,
        args.faults,
        runs.len()
    );
    println!("machine: {}", crate::common::machine());
    println!();
    crate::common::print_figures(&per_run);
}

/// `strace -c` attached to the daemon, counting fsync calls.
pub struct Strace {
    child: Child,
    out: std::path::PathBuf,
}

impl Strace {
    pub fn attach(pid: u32, dir: &Path) -> Res<Strace> {
        let out = dir.join("strace.txt");
        let child = Command::new("strace")
            .args([
                "-f",
                "-c",
                "-e",
                "trace=fsync,fdatasync,sync_file_range",
                "-o",
            ])
            .arg(&out)
            .args(["-p", &pid.to_string()])
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start strace (apt-get install strace): {e}"))?;
        std::thread::sleep(Duration::from_millis(500));
        Ok(Strace { child, out })
    }

    /// Detaches and returns the number of sync calls seen.
    pub fn finish(mut self) -> Res<u64> {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let text = std::fs::read_to_string(&self.out).map_err(|e| e.to_string())?;
        let calls = text
            .lines()
            .filter(|l| {
                l.ends_with("fsync") || l.ends_with("fdatasync") || l.ends_with("sync_file_range")
            })
            .filter_map(|l| {
                l.split_whitespace()
                    .nth(3)
                    .and_then(|v| v.parse::<u64>().ok())
            })
            .sum();
        Ok(calls)
    }
}
