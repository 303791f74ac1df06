//! The `watchpost` command: `run`, `check-config`, `notify-test` and `demo`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::filter::Targets;

use watchpost::config;
use watchpost::daemon::Daemon;
use watchpost::demo;
use watchpost::logging::{self, LogFormat};
use watchpost::sim::demo::DemoSources;

/// Where every help text points for what does not fit in it.
const MORE_HELP: &str = "\
Logging: RUST_LOG sets the log filter (default `info`; e.g. RUST_LOG=debug or
RUST_LOG=watchpost=debug). Logs go to stderr.
Signals: SIGHUP reloads the configuration file (like POST /api/admin/reload);
SIGTERM or SIGINT stop polling, commit the state and exit 0.
Documentation: docs/operations.md (running it), docs/configuration.md (the file),
docs/api.md (HTTP API), docs/websocket.md (live events), in the repository.";

#[derive(Parser)]
#[command(
    name = "watchpost",
    version,
    about = "Resilient polling of HAProxy backends and Eureka registries",
    after_help = MORE_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How log lines are written to standard error.
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Which log lines are written, as in RUST_LOG (which it overrides): a level
    /// (error, warn, info, debug, trace, off) and TARGET=LEVEL entries, e.g.
    /// "info,watchpost=debug".
    #[arg(long, global = true, value_name = "FILTER", value_parser = logging::parse_filter)]
    log_level: Option<Targets>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: poll every configured target, keep state and events in the
    /// storage file, serve the API, the live events and the dashboard.
    #[command(after_help = MORE_HELP)]
    Run {
        /// The configuration file (TOML; see docs/configuration.md). The HTTP
        /// address, storage file, targets and policies are all read from it.
        #[arg(long, value_name = "PATH", default_value = "config/watchpost.toml")]
        config: PathBuf,
    },
    /// Validate a configuration file: exit 0 with a summary, or 2 with every error.
    #[command(after_help = MORE_HELP)]
    CheckConfig {
        /// The configuration file to check (TOML; see docs/configuration.md).
        /// `${VAR}` references are read from the environment, as `run` does.
        #[arg(long, value_name = "PATH", default_value = "config/watchpost.toml")]
        config: PathBuf,
    },
    /// Salvage a damaged state file: each target's newest readable state and every
    /// readable event go into a fresh file at the configured path; the damaged file
    /// is kept beside it as `<path>.damaged-<ms>`. Stop watchpost first.
    #[command(after_help = MORE_HELP)]
    Repair {
        /// The configuration file whose `[storage] path` names the state file.
        #[arg(long, value_name = "PATH", default_value = "config/watchpost.toml")]
        config: PathBuf,
    },
    /// Send a test message through every notifier (or one) and print each
    /// receiver's answer; exit 1 if any did not accept it.
    #[command(after_help = MORE_HELP)]
    NotifyTest {
        /// The configuration file with the `[[notify]]` sections.
        #[arg(long, value_name = "PATH", default_value = "config/watchpost.toml")]
        config: PathBuf,
        /// Only the notifier with this name.
        #[arg(long, value_name = "NAME")]
        notifier: Option<String>,
    },
    /// Run a self-contained demo: simulated FAgent and Eureka servers that fail and
    /// recover on a schedule, and the daemon polling them. Needs no configuration;
    /// state goes to a temporary directory that is removed on exit.
    #[command(after_help = MORE_HELP)]
    Demo {
        /// The address of the dashboard and the API (use another port, or port 0
        /// for any free one, when 8080 is taken). The simulated sources take free
        /// ports of 127.0.0.1.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    logging::init(cli.log_format, cli.log_level);
    let say = Say(cli.log_format);
    match cli.command {
        Command::CheckConfig { config } => check_config(&config, say),
        Command::Run { config } => {
            let Some(cfg) = load(&config, say) else {
                return ExitCode::from(2);
            };
            finish(actix_web::rt::System::new().block_on(run(cfg)), say)
        }
        Command::Repair { config } => repair(&config, say),
        Command::NotifyTest { config, notifier } => {
            let Some(cfg) = load(&config, say) else {
                return ExitCode::from(2);
            };
            actix_web::rt::System::new().block_on(notify_test(cfg, notifier))
        }
        Command::Demo { listen } => {
            finish(actix_web::rt::System::new().block_on(run_demo(listen)), say)
        }
    }
}

/// Large buffers (a stats table of 10,000 backends is an 11 MB answer, read and
/// indexed once per interval) are given their own mappings and returned to the
/// system when freed. glibc's default raises that threshold after the first such
/// buffer is freed, after which they stay in the heap and the daemon keeps the
/// memory of its largest round for good.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    const MMAP_THRESHOLD: libc::c_int = 256 * 1024;
    // SAFETY: mallopt only sets an allocator parameter; it is called once, first
    // thing in main, before any other thread exists.
    let ok = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
    if ok != 1 {
        eprintln!("watchpost: could not set the allocator's mmap threshold; continuing");
    }
    // Two heaps at most: the pollers' thread, the status thread and the HTTP
    // workers share them instead of keeping one each (memory freed in one heap is
    // not reused by another).
    // SAFETY: as above.
    if unsafe { libc::mallopt(libc::M_ARENA_MAX, 2) } != 1 {
        eprintln!("watchpost: could not limit the allocator's heaps; continuing");
    }
    watchpost::memory::set_trim(trim);
}

/// Returns the free memory of every heap to the system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only releases free pages; it takes the allocator's locks.
    unsafe { libc::malloc_trim(0) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

/// `watchpost notify-test`: one test message per notifier, no retries.
async fn notify_test(cfg: config::Config, only: Option<String>) -> ExitCode {
    let chosen: Vec<_> = cfg
        .notify
        .iter()
        .filter(|n| only.as_ref().is_none_or(|o| *o == n.name))
        .collect();
    if chosen.is_empty() {
        let what = only.map_or("no [[notify]] section".to_string(), |o| {
            format!("no notifier named {o:?}")
        });
        eprintln!("watchpost: {}: {what}", cfg.file.display());
        return ExitCode::from(2);
    }
    let mut failed = false;
    for n in chosen {
        match watchpost::notify::send_test(&cfg, n).await {
            Ok(answer) => println!("{} ({}): accepted: {answer}", n.name, n.kind.as_str()),
            Err(e) => {
                failed = true;
                println!("{} ({}): NOT accepted: {e}", n.name, n.kind.as_str());
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// How the commands report outside the daemon's own logs (configuration
/// errors, the `check-config` summary, a failed start): plain lines with
/// `--log-format text`, log lines like every other with `--log-format json`, so
/// the journal of the unit (which runs `check-config` before `run`) holds only
/// JSON objects from watchpost.
#[derive(Clone, Copy)]
struct Say(LogFormat);

impl Say {
    fn error(self, text: &str) {
        match self.0 {
            LogFormat::Text => eprintln!("{text}"),
            LogFormat::Json => tracing::error!("{text}"),
        }
    }

    fn warning(self, text: &str) {
        match self.0 {
            LogFormat::Text => eprintln!("warning: {text}"),
            LogFormat::Json => tracing::warn!("{text}"),
        }
    }

    /// The result of a command (standard output in text).
    fn result(self, text: &str) {
        match self.0 {
            LogFormat::Text => println!("{text}"),
            LogFormat::Json => tracing::info!("{text}"),
        }
    }
}

fn finish(result: anyhow::Result<()>, say: Say) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say.error(&format!("watchpost: {e:#}"));
            ExitCode::FAILURE
        }
    }
}

fn load(path: &Path, say: Say) -> Option<config::Config> {
    match config::load(path) {
        Ok(cfg) => Some(cfg),
        Err(errors) => {
            for error in &errors.0 {
                say.error(&error.to_string());
            }
            say.error(&format!("{} error(s) in {}", errors.len(), path.display()));
            None
        }
    }
}

/// Validates the file and, with `[server] tls`, reads the certificate and key.
fn check_config(path: &Path, say: Say) -> ExitCode {
    let Some(cfg) = load(path, say) else {
        return ExitCode::from(2);
    };
    if let Some(tls) = &cfg.server.tls
        && let Err(e) = watchpost::http::tls::server_config(tls)
    {
        say.error(&e.to_string());
        return ExitCode::from(2);
    }
    for w in cfg.warnings() {
        say.warning(&w);
    }
    say.result(&cfg.summary());
    ExitCode::SUCCESS
}

fn repair(path: &Path, say: Say) -> ExitCode {
    let Some(cfg) = load(path, say) else {
        return ExitCode::from(2);
    };
    let storage = &cfg.storage;
    match watchpost::actors::store::repair::repair(&storage.path, storage.event_retention) {
        Ok(report) => {
            say.result(&format!("{}: {report}", storage.path.display()));
            ExitCode::SUCCESS
        }
        Err(e) => {
            say.error(&format!(
                "watchpost: cannot repair {}: {e}",
                storage.path.display()
            ));
            ExitCode::FAILURE
        }
    }
}

async fn run(cfg: config::Config) -> anyhow::Result<()> {
    for w in cfg.warnings() {
        tracing::warn!("{w}");
    }
    let daemon = Daemon::start(cfg).await.context("cannot start")?;
    let live = daemon.status.clone();
    let stopped = tokio::select! {
        r = wait_for_shutdown(Some(&daemon)) => { r?; false }
        _ = live.liveness().wait_stopped() => true,
    };
    daemon.shutdown().await;
    match (stopped, live.liveness().stop_reason()) {
        (true, reason) => Err(anyhow::anyhow!(
            "the status actor stopped ({}); nothing more can be recorded, exiting so that the service manager restarts watchpost",
            reason.unwrap_or_default()
        )),
        _ => Ok(()),
    }
}

async fn run_demo(listen: SocketAddr) -> anyhow::Result<()> {
    // The port first: when it is taken, nothing else is started or created.
    let listener = Daemon::bind(listen).context("cannot start")?;
    let sources = DemoSources::start()
        .await
        .context("cannot start the simulated sources")?;
    let storage = demo::demo_storage();
    let cfg = demo::demo_config(&sources, listen, storage.clone());
    let daemon = match Daemon::start_on(listener, cfg).await {
        Ok(daemon) => daemon,
        Err(e) => {
            remove_demo_storage(&storage);
            return Err(e).context("cannot start the demo");
        }
    };
    print_demo_banner(&daemon, &sources);
    let schedule = actix_web::rt::spawn(async move { sources.run_schedule().await });
    wait_for_shutdown(None).await?;
    schedule.abort();
    daemon.shutdown().await;
    remove_demo_storage(&storage);
    Ok(())
}

/// Removes the demo's temporary storage directory.
fn remove_demo_storage(storage: &Path) {
    if let Some(dir) = storage.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn print_demo_banner(daemon: &Daemon, sources: &DemoSources) {
    let a = daemon.addr;
    println!(
        "watchpost demo running: dashboard on http://{a}/, API under http://{a}/api/, live events on ws://{a}/ws"
    );
    println!(
        "  simulated FAgent: {}   simulated Eureka: {}",
        sources.agent.url(),
        sources.eureka.url()
    );
    println!("  try: curl -s http://{a}/api/haproxy/backends");
    println!("       curl -s http://{a}/api/eureka/applications");
    println!("       curl -s http://{a}/api/events?since=0");
    println!("  admin token: {}   e.g.", demo::DEMO_TOKEN);
    println!(
        "       curl -s -X POST -H 'Authorization: Bearer {}' http://{a}/api/admin/targets/haproxy%2Ffdmz01%2Fbilling/reset-circuit",
        demo::DEMO_TOKEN
    );
    println!("  Ctrl-C to stop.");
}

/// Waits for SIGTERM or SIGINT; reloads the configuration on SIGHUP.
async fn wait_for_shutdown(daemon: Option<&Daemon>) -> anyhow::Result<()> {
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut hup = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => match daemon {
                Some(d) => match d.reload().await {
                    Ok(_) => {}
                    Err(e) => tracing::error!("SIGHUP reload: {e}"),
                },
                None => tracing::warn!("SIGHUP: the demo has no configuration file to reload"),
            },
        }
    }
    tracing::info!("shutting down");
    Ok(())
}
