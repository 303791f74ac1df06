#!/usr/bin/env python3
"""Detection latency of a server flip on a real HAProxy with N backends, three ways
on the same HAProxy with the same flip procedure: watchpost polling alone, watchpost
following HAProxy's event ring (`events_ring`), and prometheus-haproxy-exporter
scraped every interval as Prometheus would.

A flip is `set server bNNNN/s state maint` on HAProxy's Runtime API, on a random
backend, after a uniform random pause of up to one interval (so it falls at a random
phase of the polls or scrapes). HAProxy applies it before it answers, so the command
is HAProxy's flip. The latency runs from sending it to:
  - watchpost: the receipt of the `server_state_changed` event (to `maint`) on a
    WebSocket client connected to `/ws` (benches/push/wsclient.py);
  - exporter: the end of the first scrape, started after the flip, whose
    `haproxy_server_up` of that server is not 1.
The server is then set `ready` again (and, for watchpost, that event awaited) before
the next flip. Per column: median, p99 (nearest rank), HAProxy's CPU (utime + stime)
over the column, the daemon's or exporter's CPU, and the 1-minute load average.
Everything runs on 127.0.0.1, each wait is bounded, and every process is stopped at
the end. Figures go to docs/PERFORMANCE.md.

    scripts/bench haproxy --push --backends 1000 --interval 10s --flips 20
    python3 benches/push/latency.py --bin target/release/watchpost \\
        --backends 1000 --interval 10s --flips 20 [--columns poll,ring,exporter]
"""
import argparse, json, math, random, shutil, signal, statistics, sys, tempfile, time

sys.dont_write_bytecode = True  # no __pycache__ beside the bench
import rig  # noqa: E402
from wsclient import WsClient  # noqa: E402

COLUMNS = {"poll": "polling only", "ring": "with events_ring", "exporter": "exporter"}


def seconds(text):
    for unit, factor in (("ms", 0.001), ("s", 1), ("m", 60)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


def flips(args, sock, detect, restore):
    """`args.flips` flips; the latencies in ms. `detect(backend, sent)` returns the
    monotonic detection time or None; `restore(backend, sent)` waits for the
    server to read up again where the column needs it."""
    interval, lat = seconds(args.interval), []
    deadline = 3 * interval + 60
    for i in range(args.flips):
        time.sleep(random.uniform(0, interval))
        b = f"b{random.randrange(args.backends):04}"
        sent = time.monotonic()
        rig.cli(sock, f"set server {b}/s state maint")
        got = detect(b, sent, sent + deadline)
        if got is None:
            raise TimeoutError(f"flip {i + 1}: {b} not detected within {deadline:.0f} s")
        lat.append((got - sent) * 1000)
        sent = time.monotonic()
        rig.cli(sock, f"set server {b}/s state ready")
        if restore(b, sent, sent + deadline) is None:
            raise TimeoutError(f"flip {i + 1}: {b} not back up within {deadline:.0f} s")
        print(f"  flip {i + 1:>2}/{args.flips}: {b} {lat[-1]:8.0f} ms", file=sys.stderr)
    return lat


def measured(args, ha, pid, sock, detect, restore):
    """Runs the flips; the column's figures."""
    load0, t0 = rig.loadavg(), time.monotonic()
    ha0, own0 = rig.cpu_s(ha.pid), rig.cpu_s(pid)
    lat = flips(args, sock, detect, restore)
    took = time.monotonic() - t0
    return {"lat": lat, "took": took, "load": (load0, rig.loadavg()),
            "ha_cpu": rig.cpu_s(ha.pid) - ha0, "own_cpu": rig.cpu_s(pid) - own0}


def watchpost_column(args, d, ha, sock, ring):
    wp, base = rig.start_watchpost(args.bin, d, sock, args.interval, ring, args.backends)
    ws = None
    try:
        last = json.loads(rig.get(f"{base}/api/health"))["last_seq"]
        port = int(base.rsplit(":", 1)[1])
        ws = WsClient("127.0.0.1", port, f"/ws?since={last}")

        def detect(b, after, deadline):
            return ws.wait_state(f"haproxy/lb/{b}", "maint", after, deadline)

        def restore(b, after, deadline):
            return ws.wait_state(f"haproxy/lb/{b}", "up", after, deadline)
        return measured(args, ha, wp.pid, sock, detect, restore)
    finally:
        if ws:
            ws.close()
        rig.stop(wp)


def exporter_column(args, d, ha, sock):
    exp = rig.Exporter(d, sock, seconds(args.interval))
    try:
        out = measured(args, ha, exp.proc.pid, sock, exp.wait_not_up,
                       lambda b, after, deadline: True)
        out["scrape_s"] = statistics.median(end - start for start, end, _ in exp.scrapes)
        return out
    finally:
        exp.close()


def p99(sorted_ms):
    """Nearest rank: of 20 values, the largest."""
    return sorted_ms[max(0, math.ceil(0.99 * len(sorted_ms)) - 1)]


def report(args, cols):
    print(f"\nbackends={args.backends} interval={args.interval} flips={args.flips} per column")
    row = lambda name, cells: print(f"| {name} | " + " | ".join(cells) + " |")
    row("figure", [COLUMNS[c] for c in cols])
    row("---", ["---:" for _ in cols])
    lats = [sorted(r["lat"]) for r in cols.values()]
    row("flip → detection, median ms", [f"{statistics.median(l):,.0f}" for l in lats])
    row("flip → detection, p99 ms", [f"{p99(l):,.0f}" for l in lats])
    row("flip → detection, min ms", [f"{l[0]:,.0f}" for l in lats])
    row("flip → detection, mean ms", [f"{statistics.mean(l):,.0f}" for l in lats])
    rs = list(cols.values())
    row("column length, s", [f"{r['took']:.0f}" for r in rs])
    row("HAProxy CPU, s (ms per s)",
        [f"{r['ha_cpu']:.2f} ({1000 * r['ha_cpu'] / r['took']:.1f})" for r in rs])
    row("watchpost / exporter CPU, s (% of a core)",
        [f"{r['own_cpu']:.2f} ({100 * r['own_cpu'] / r['took']:.1f})" for r in rs])
    row("exporter: one scrape, median s",
        [f"{r['scrape_s']:.2f}" if "scrape_s" in r else "" for r in rs])
    row("1-min load average, start → end", [f"{r['load'][0]:.1f} → {r['load'][1]:.1f}" for r in rs])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default="target/release/watchpost")
    p.add_argument("--backends", type=int, default=1000)
    p.add_argument("--interval", default="10s", help="poll and scrape interval")
    p.add_argument("--flips", type=int, default=20, help="flips per column")
    p.add_argument("--columns", default="poll,ring,exporter",
                   help="which columns, in order: poll, ring, exporter")
    p.add_argument("--seed", type=int, help="random seed of the flips and phases")
    args = p.parse_args()
    cols = [c.strip() for c in args.columns.split(",") if c.strip()]
    if not cols or any(c not in COLUMNS for c in cols):
        p.error(f"--columns: a list of {', '.join(COLUMNS)}")
    random.seed(args.seed)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped by SIGTERM"))
    d = tempfile.mkdtemp(prefix="wp-push-")
    ha = None
    try:
        ha, sock = rig.start_haproxy(d, args.backends)
        out = {}
        for c in cols:
            print(f"{COLUMNS[c]}: {args.flips} flips", file=sys.stderr)
            out[c] = exporter_column(args, d, ha, sock) if c == "exporter" else \
                watchpost_column(args, d, ha, sock, ring=(c == "ring"))
        report(args, out)
    finally:
        rig.stop(ha)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
