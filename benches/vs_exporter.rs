//! Side by side on a real HAProxy (Debian package): watchpost (`socket` or `stats`
//! source) and `prometheus-haproxy-exporter` read the same HAProxy at the same
//! interval. Prints CPU per 1,000 server rows and RSS for each, HAProxy's CPU for
//! our polling against one full stats dump, and the time from HAProxy marking a
//! real server DOWN to (a) our WebSocket event and (b) the exporter's
//! `haproxy_server_up` turning 0 in a scrape.
//!
//! ```text
//! cargo build --release && cargo bench --bench vs_exporter -- --backends 1000
//! scripts/bench haproxy --backends 1000 --source socket   # the same
//! ```
//! Needs `haproxy` and `prometheus-haproxy-exporter` (apt-get install -y
//! --no-install-recommends haproxy prometheus-haproxy-exporter). See
//! docs/PERFORMANCE.md.

mod common;
#[path = "vs_exporter/exporter.rs"]
mod exporter;
#[path = "vs_exporter/measure.rs"]
mod measure;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// How our daemon reads HAProxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    Socket,
    Stats,
}

/// watchpost vs prometheus-haproxy-exporter on one HAProxy (see docs/PERFORMANCE.md).
#[derive(Parser, Debug, Clone)]
#[command(
    name = "vs_exporter",
    after_help = "Push detection (events_ring) beside polling alone and this exporter, flip \
                  by flip: scripts/bench haproxy --push --help (benches/push/latency.py)."
)]
pub struct Args {
    /// HAProxy backends.
    #[arg(long, default_value_t = 1000)]
    pub backends: usize,
    /// Servers per backend.
    #[arg(long, default_value_t = 4)]
    pub servers: usize,
    /// Our source; the exporter reads the same (`unix:` socket or the stats page CSV).
    #[arg(long, value_enum, default_value_t = Source::Socket)]
    pub source: Source,
    /// Poll interval of watchpost and scrape interval of the exporter.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub interval: Duration,
    /// Length of each CPU window (watchpost alone, then both).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub window: Duration,
    /// Times a real server is taken DOWN (and back UP) per run.
    #[arg(long, default_value_t = 3)]
    pub reps: usize,
    /// Complete runs; the table shows the median and the range.
    #[arg(long, default_value_t = 1)]
    pub runs: usize,
    /// Before each run, wait up to `--quiet-wait` for the 1-min load average to drop below this.
    #[arg(long, default_value_t = 1.5)]
    pub max_load: f64,
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub quiet_wait: Duration,
    /// The daemon binary (default: target/release/watchpost).
    #[arg(long)]
    pub bin: Option<PathBuf>,
    /// The exporter binary.
    #[arg(long, default_value = "prometheus-haproxy-exporter")]
    pub exporter: PathBuf,
    /// Passed by `cargo bench`; without it nothing runs (keeps `cargo test --all-targets` quick).
    #[arg(long, hide = true)]
    pub bench: bool,
}

fn main() {
    let args = Args::parse();
    let runs = common::Runs {
        count: args.runs,
        max_load: args.max_load,
        quiet_wait: args.quiet_wait,
    };
    common::main_of(
        "vs_exporter",
        "`cargo bench --bench vs_exporter -- ...` or scripts/bench haproxy",
        args.bench,
        runs,
        async || measure::run(&args).await,
        |runs| measure::print(&args, runs),
    );
}
