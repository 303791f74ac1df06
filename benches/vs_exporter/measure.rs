//! One side-by-side run: HAProxy with a real health-checked probe server, watchpost
//! alone for one CPU window, then watchpost and the exporter together for another,
//! then `--reps` real DOWN flips of the probe server; and the table over the runs.

use std::time::{Duration, Instant};

use rand::Rng;

use crate::common::haproxy::{Haproxy, Probe, backend_name};
use crate::common::ws::{Fleet, Key};
use crate::common::{
    DaemonProc, ProcSample, Res, counters, quantile, sample, wait_all_success, wait_for,
};
use crate::exporter::Exporter;
use crate::{Args, Source};

/// Named figures of one run, in table order.
pub type Figures = Vec<(String, f64)>;

pub async fn run(args: &Args) -> Res<Figures> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut probe = Probe::new()?;
    let ha = Haproxy::start(dir.path(), args.backends, args.servers, Some(probe.port))?;
    let be = backend_name(1);
    wait_ha(&ha, &be, |s| s == "UP", Duration::from_secs(30)).await?;
    let mut f: Figures = Vec::new();
    let tck = crate::common::clk_tck();
    let idle = ha_idle(&ha, Duration::from_secs(5)).await?;
    let (dump_ms, dump_bytes) = one_dump(&ha, args.source).await?;
    f.push(("HAProxy: one full stats dump, CPU ms".into(), dump_ms));
    f.push((
        "HAProxy: one full stats dump, MB".into(),
        dump_bytes as f64 / 1e6,
    ));

    let cfg = dir.path().join("watchpost.toml");
    let bin = args
        .bin
        .clone()
        .unwrap_or_else(crate::common::default_daemon_bin);
    let write = |port| config(args, &ha, dir.path(), port);
    let (mut daemon, port) = DaemonProc::start(&bin, &cfg, dir.path(), write).await?;
    let http = crate::common::http_client(Duration::from_secs(60));
    let limit = args.interval * 3 + Duration::from_secs(60 + args.backends as u64 / 100);
    wait_all_success(&http, &daemon.base, args.backends, limit).await?;
    let seq = counters(&http, &daemon.base).await?[3];
    let fleet = Fleet::connect(&format!("ws://127.0.0.1:{port}/ws?since={seq}"), 1).await?;
    tokio::time::sleep(args.interval).await;

    // Window A: watchpost alone, for HAProxy's CPU spent on our polling.
    let (h0, t0) = (sample(ha.pid())?, Instant::now());
    tokio::time::sleep(args.window).await;
    let (h1, secs_a) = (sample(ha.pid())?, t0.elapsed().as_secs_f64());
    let per_interval = args.interval.as_secs_f64() / secs_a;
    let ha_ours = (cpu_ms(&h0, &h1, tck) - idle * secs_a) * per_interval;
    f.push((
        "HAProxy CPU for our polling, ms per interval".into(),
        ha_ours,
    ));
    f.push(("  ÷ one full dump (target ≤ 1.5)".into(), ha_ours / dump_ms));

    // Window B: both.
    let uri = match args.source {
        Source::Socket => format!("unix:{}", ha.socket.display()),
        Source::Stats => format!("{};csv", ha.stats_url()),
    };
    let (mut exp, exp_url) = Exporter::start(&args.exporter, &uri, dir.path()).await?;
    exp.scrape_every(exp_url, args.interval, &be, "s1");
    tokio::time::sleep(args.interval * 2).await;
    let (w0, e0, h0, c0, n0, t0) = (
        sample(daemon.pid())?,
        sample(exp.pid())?,
        sample(ha.pid())?,
        counters(&http, &daemon.base).await?,
        exp.count(),
        Instant::now(),
    );
    tokio::time::sleep(args.window).await;
    let (w1, e1, h1, c1, n1) = (
        sample(daemon.pid())?,
        sample(exp.pid())?,
        sample(ha.pid())?,
        counters(&http, &daemon.base).await?,
        exp.count(),
    );
    let secs = t0.elapsed().as_secs_f64();
    let rows_ours = (c1[0] - c0[0]) * args.servers as f64;
    let rows_exp = (n1 - n0) as f64 * (args.backends * args.servers) as f64;
    let (ours, theirs) = (cpu_ms(&w0, &w1, tck), cpu_ms(&e0, &e1, tck));
    f.push((
        "watchpost: polls of the whole fleet in the window".into(),
        (c1[0] - c0[0]) / args.backends as f64,
    ));
    f.push(("exporter: scrapes in the window".into(), (n1 - n0) as f64));
    f.push((
        "watchpost: CPU ms per 1,000 server rows".into(),
        1000.0 * ours / rows_ours.max(1.0),
    ));
    // HAProxy's own cost to produce the rows: its CPU for one full dump (above).
    let dump_per_1000 = 1000.0 * dump_ms / (args.backends * args.servers) as f64;
    f.push((
        "HAProxy: CPU ms per 1,000 server rows (one full dump)".into(),
        dump_per_1000,
    ));
    f.push((
        "  watchpost ÷ HAProxy's own (target ≤ 1)".into(),
        (1000.0 * ours / rows_ours.max(1.0)) / dump_per_1000.max(f64::MIN_POSITIVE),
    ));
    f.push((
        "exporter: CPU ms per 1,000 server rows".into(),
        1000.0 * theirs / rows_exp.max(1.0),
    ));
    f.push((
        "  exporter ÷ watchpost".into(),
        (theirs / rows_exp.max(1.0)) / (ours / rows_ours.max(1.0)),
    ));
    f.push((
        "watchpost: CPU, % of one core".into(),
        100.0 * ours / 1000.0 / secs,
    ));
    f.push((
        "exporter: CPU, % of one core".into(),
        100.0 * theirs / 1000.0 / secs,
    ));
    f.push((
        "HAProxy: CPU, % of one core (both polling)".into(),
        100.0 * cpu_ms(&h0, &h1, tck) / 1000.0 / secs,
    ));
    f.push(("watchpost: peak RSS, MiB".into(), w1.hwm_kb as f64 / 1024.0));
    f.push(("exporter: peak RSS, MiB".into(), e1.hwm_kb as f64 / 1024.0));
    f.push(("HAProxy: peak RSS, MiB".into(), h1.hwm_kb as f64 / 1024.0));

    let detected = detection(args, &ha, &mut probe, &fleet, &exp, &http, &daemon.base).await;
    let (ours_d, exp_d) = detected.unwrap_or_else(|e| {
        eprintln!("  the DOWN measurement failed (the figures above stand): {e}");
        (Vec::new(), Vec::new())
    });
    for (name, v) in [
        ("watchpost WebSocket event", &ours_d),
        ("exporter metric (scrape end)", &exp_d),
    ] {
        f.push((format!("DOWN → {name}: median, ms"), quantile(v, 0.5)));
        f.push((format!("DOWN → {name}: min, ms"), quantile(v, 0.0)));
        f.push((format!("DOWN → {name}: max, ms"), quantile(v, 1.0)));
    }
    f.push((
        "  median exporter ÷ median watchpost".into(),
        quantile(&exp_d, 0.5) / quantile(&ours_d, 0.5),
    ));
    daemon.stop();
    Ok(f)
}

/// CPU in ms between two samples: the per-thread ns figure when it agrees with the
/// tick count (threads that exited are only in the ticks), else the ticks.
fn cpu_ms(a: &ProcSample, b: &ProcSample, tck: u64) -> f64 {
    let ticks = 1000.0 * crate::common::cpu_s(a, b, tck);
    let ns = b.sched_ns.saturating_sub(a.sched_ns) as f64 / 1e6;
    if (ns - ticks).abs() <= 2.0 * 1000.0 / tck as f64 + 0.1 * ticks {
        ns
    } else {
        ticks
    }
}

/// HAProxy's CPU while nobody polls it (its probe health check only), ms per second.
async fn ha_idle(ha: &Haproxy, d: Duration) -> Res<f64> {
    let a = sample(ha.pid())?;
    tokio::time::sleep(d).await;
    let b = sample(ha.pid())?;
    Ok(b.sched_ns.saturating_sub(a.sched_ns) as f64 / 1e6 / d.as_secs_f64())
}

/// HAProxy's CPU for one full dump the way the exporter asks for it (`show stat`, or
/// the `;csv` page): median of 10, from its threads' on-CPU time.
async fn one_dump(ha: &Haproxy, source: Source) -> Res<(f64, usize)> {
    let http = crate::common::http_client(Duration::from_secs(60));
    let (mut ms, mut bytes) = (Vec::new(), 0);
    for _ in 0..10 {
        let a = sample(ha.pid())?;
        bytes = match source {
            Source::Socket => ha.cli("show stat")?.len(),
            Source::Stats => {
                crate::common::get_text(&http, &format!("{};csv;norefresh", ha.stats_url()))
                    .await?
                    .len()
            }
        };
        let b = sample(ha.pid())?;
        ms.push(b.sched_ns.saturating_sub(a.sched_ns) as f64 / 1e6);
    }
    Ok((quantile(&ms, 0.5), bytes))
}

fn config(args: &Args, ha: &Haproxy, dir: &std::path::Path, port: u16) -> String {
    let ms = args.interval.as_millis() as u64;
    // Half an interval: a full 10,000-backend answer can take seconds to read while the
    // exporter competes for the same 2 cores.
    let timeout = (ms / 2).clamp(100, 15_000);
    let how = match args.source {
        Source::Socket => format!("source = \"socket\"\nsocket = \"{}\"", ha.socket.display()),
        Source::Stats => format!("source = \"stats\"\nurl = \"{}\"", ha.stats_url()),
    };
    let names: Vec<String> = (1..=args.backends)
        .map(|b| format!("\"{}\"", backend_name(b)))
        .collect();
    format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\n\n[storage]\npath = \"{}\"\n\n[defaults]\ninterval = \"{ms}ms\"\n\
         timeout = \"{timeout}ms\"\nretry = {{ max_elapsed = \"{}ms\" }}\n\n[[haproxy]]\nname = \"lb\"\n{how}\nbackends = [{}]\n",
        dir.join("watchpost.redb").display(),
        timeout * 8 / 10,
        names.join(", ")
    )
}

async fn wait_ha(
    ha: &Haproxy,
    be: &str,
    ok: impl Fn(&str) -> bool,
    limit: Duration,
) -> Res<Instant> {
    wait_for(
        &format!("HAProxy's {be}/s1 status"),
        limit,
        Duration::from_millis(50),
        async || {
            ha.server_status(be, "s1")
                .ok()
                .filter(|s| ok(s))
                .map(|_| Instant::now())
        },
    )
    .await
}

/// Takes the probe server DOWN `reps` times (after a random part of an interval, so
/// the flip falls anywhere in both pollers' cycles), and returns the delays in ms
/// from HAProxy's flip to our WebSocket event and to the exporter's scrape end.
async fn detection(
    args: &Args,
    ha: &Haproxy,
    probe: &mut Probe,
    fleet: &Fleet,
    exp: &Exporter,
    http: &reqwest::Client,
    base: &str,
) -> Res<(Vec<f64>, Vec<f64>)> {
    let be = backend_name(1);
    let target = format!("haproxy/lb/{be}");
    let limit = args.interval * 4 + Duration::from_secs(10);
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for rep in 0..args.reps {
        probe.open()?;
        wait_ha(ha, &be, |s| s == "UP", limit).await?;
        let url = format!("{base}/api/targets/{}", target.replace('/', "%2F"));
        let mut last = serde_json::Value::Null;
        let up = wait_for(
            "our state up",
            limit,
            Duration::from_millis(100),
            async || {
                last = crate::common::get_json(http, &url).await.ok()?;
                (last["servers"][0]["state"] == "up").then_some(())
            },
        )
        .await;
        let (status, error) = (&last["last_fetch_status"], &last["last_fetch_error"]);
        up.map_err(|e| format!("{e}: {target} fetch {status}, error {error}"))?;
        wait_for(
            "the exporter's up",
            limit,
            Duration::from_millis(100),
            async || (exp.last()?.up == Some(1.0)).then_some(()),
        )
        .await?;
        let pause = args
            .interval
            .mul_f64(rand::thread_rng().gen_range(0.0..1.0));
        tokio::time::sleep(pause).await;
        let closed = Instant::now();
        probe.close();
        let flip = wait_ha(ha, &be, |s| s == "DOWN", limit).await?;
        let key = Key::new("server_state_changed", &target, "s1", "down");
        let before = fleet.count(&key);
        let ws = wait_for(
            "our DOWN event",
            limit,
            Duration::from_millis(5),
            async || {
                let r = fleet.receipts(&key);
                (r.len() > before)
                    .then(|| r.iter().map(|r| r.at).max())
                    .flatten()
            },
        )
        .await?;
        let scrape = wait_for(
            "the exporter's DOWN",
            limit,
            Duration::from_millis(20),
            async || exp.first_down_after(closed),
        )
        .await?;
        ours.push(signed_ms(flip, ws));
        theirs.push(signed_ms(flip, scrape.end));
        eprintln!(
            "  rep {}: HAProxy DOWN {:.0} ms after the listener closed; watchpost +{:.0} ms, exporter +{:.0} ms",
            rep + 1,
            (flip - closed).as_secs_f64() * 1000.0,
            ours[rep],
            theirs[rep]
        );
    }
    probe.open()?;
    Ok((ours, theirs))
}

/// `to - from` in ms, negative when `to` is earlier (a scrape can end between
/// HAProxy's flip and our 50 ms poll that sees it).
fn signed_ms(from: Instant, to: Instant) -> f64 {
    match to.checked_duration_since(from) {
        Some(d) => d.as_secs_f64() * 1000.0,
        None => -(from - to).as_secs_f64() * 1000.0,
    }
}

/// Prints one row per figure: median, min and max over the runs.
pub fn print(args: &Args, runs: &[Figures]) {
    if runs.is_empty() {
        return;
    }
    println!();
    println!(
        "watchpost ({:?} source) vs prometheus-haproxy-exporter: HAProxy {} backends × {} servers, interval {:?}, \
         CPU windows {:?}, {} DOWN flips per run, {} run(s)",
        args.source,
        args.backends,
        args.servers,
        args.interval,
        args.window,
        args.reps,
        runs.len()
    );
    println!("machine: {}", crate::common::machine());
    println!();
    crate::common::print_figures(runs);
}
