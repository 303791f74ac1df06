#!/usr/bin/env python3
"""Detection latency of a server flip with and without push (HAProxy's event ring),
against a real HAProxy with N backends, and HAProxy's CPU time in each run.

A flip is `set server bNNNN/s state maint` on HAProxy's Runtime API (HAProxy knows it
at once and logs it to the ring); the latency is from that command to watchpost's
committed `server_state_changed` event (up -> maint), read from /api/events. Flips
are spread at random phases of the poll interval. Everything runs on 127.0.0.1 and
stops by itself. Figures go to docs/PERFORMANCE.md.

    python3 benches/push/latency.py --bin target/release/watchpost \
        --backends 1000 --interval 10s --flips 20
"""
import argparse, json, os, random, socket, statistics, subprocess, sys, tempfile, time, urllib.request


def seconds(text):
    units = {"ms": 0.001, "s": 1, "m": 60}
    for u in ("ms", "s", "m"):
        if text.endswith(u):
            return float(text[: -len(u)]) * units[u]
    return float(text)


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def cli(sock, cmd):
    s = socket.socket(socket.AF_UNIX); s.connect(sock); s.sendall(cmd.encode() + b"\n")
    out = b""
    while True:
        d = s.recv(65536)
        if not d: break
        out += d
    return out.decode()


def cpu_s(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def wait(what, f, deadline=120):
    end = time.time() + deadline
    while time.time() < end:
        v = f()
        if v: return v
        time.sleep(0.02)
    sys.exit(f"timed out waiting for {what}")


def haproxy_cfg(d, n):
    lines = [f"global\n    nbthread 1\n    stats socket {d}/admin.sock level admin\n",
             "ring watchpost\n    size 1048576\n    format timed\n",
             "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n"
             "    log ring@watchpost local0\n"]
    lines += [f"backend b{i:04}\n    server s 127.0.0.1:9\n" for i in range(n)]
    path = f"{d}/haproxy.cfg"; open(path, "w").write("\n".join(lines)); return path


def run(args, push):
    d = tempfile.mkdtemp(prefix="wp-push-")
    ha = subprocess.Popen(["haproxy", "-db", "-f", haproxy_cfg(d, args.backends)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sock = f"{d}/admin.sock"
    wait("haproxy", lambda: os.path.exists(sock))
    port = free_port()
    ring = 'events_ring = "watchpost"\n' if push else ""
    open(f"{d}/wp.toml", "w").write(
        f'[server]\nlisten = "127.0.0.1:{port}"\n[storage]\npath = "{d}/wp.redb"\n'
        f'[[haproxy]]\nname = "lb"\nsource = "socket"\nsocket = "{sock}"\nbackends = "*"\n'
        f'interval = "{args.interval}"\n{ring}')
    wp = subprocess.Popen([args.bin, "run", "--config", f"{d}/wp.toml"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        def all_polled():
            try:
                t = get(f"{base}/api/targets")["targets"]
            except Exception:
                return False
            return len(t) == args.backends and all(x["last_fetch_status"] == "success" for x in t)
        wait("every backend polled", all_polled, deadline=300)
        last = get(f"{base}/api/health")["last_seq"]
        cpu0, t0 = cpu_s(ha.pid), time.time()
        lat = []
        for _ in range(args.flips):
            # A random phase of the interval: a flip right after the previous one's
            # detection would always land just after a poll.
            time.sleep(random.uniform(0, seconds(args.interval)))
            b = f"b{random.randrange(args.backends):04}"
            for state, want in (("maint", "maint"), ("ready", "up")):
                sent = time.time()
                cli(sock, f"set server {b}/s state {state}")
                def seen():
                    nonlocal last
                    evs = get(f"{base}/api/events?since={last}&limit=10000")["events"]
                    for e in evs:
                        last = max(last, e["seq"])
                        if e["type"] == "server_state_changed" and e["target"] == f"haproxy/lb/{b}" \
                                and e["data"]["to"] == want:
                            return time.time()
                    return None
                got = wait(f"{b} {want}", seen, deadline=120)
                if state == "maint":
                    lat.append((got - sent) * 1000)
        cpu = cpu_s(ha.pid) - cpu0
        return lat, cpu, time.time() - t0
    finally:
        wp.kill(); ha.kill(); wp.wait(); ha.wait()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", default="target/release/watchpost")
    p.add_argument("--backends", type=int, default=1000)
    p.add_argument("--interval", default="10s")
    p.add_argument("--flips", type=int, default=20)
    args = p.parse_args()
    for push in (False, True):
        lat, cpu, took = run(args, push)
        lat.sort()
        p99 = lat[min(len(lat) - 1, int(round(0.99 * (len(lat) - 1))))]
        print(f"push={'on ' if push else 'off'} backends={args.backends} interval={args.interval} "
              f"flips={len(lat)} median={statistics.median(lat):.0f}ms p99={p99:.0f}ms "
              f"max={lat[-1]:.0f}ms haproxy_cpu={cpu:.2f}s over {took:.0f}s")


if __name__ == "__main__":
    main()
