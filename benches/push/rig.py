"""The processes of the push bench, all on 127.0.0.1: a real HAProxy with N backends
and an event ring, watchpost polling it (with or without `events_ring`), and
prometheus-haproxy-exporter with a scrape loop that stands in for Prometheus.
Every process is a child of the bench and is stopped by it."""
import os, random, signal, socket, subprocess, sys, threading, time, urllib.request, json


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cli(sock, cmd):
    """One Runtime API command; its answer."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    s.sendall(cmd.encode() + b"\n")
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    return out.decode()


def cpu_s(pid):
    """utime + stime of a process, seconds."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loadavg():
    return float(open("/proc/loadavg").read().split()[0])


def get(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def wait(what, f, deadline):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        v = f()
        if v:
            return v
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {deadline:.0f} s waiting for {what}")


def stop(proc):
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_haproxy(d, n):
    """HAProxy (`nbthread 1`) with backends b0000.. of one server each, no checks, and
    a ring `watchpost` that every backend logs to; returns (process, admin socket)."""
    lines = [f"global\n    nbthread 1\n    stats socket {d}/admin.sock level admin\n",
             "ring watchpost\n    size 1048576\n    format timed\n",
             "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n"
             "    timeout server 5s\n    log ring@watchpost local0\n"]
    lines += [f"backend b{i:04}\n    server s 127.0.0.1:9\n" for i in range(n)]
    cfg = f"{d}/haproxy.cfg"
    open(cfg, "w").write("\n".join(lines))
    ha = subprocess.Popen(["haproxy", "-db", "-f", cfg],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sock = f"{d}/admin.sock"
    wait("HAProxy's admin socket", lambda: os.path.exists(sock) or ha.poll() is not None, 30)
    if ha.poll() is not None:
        sys.exit(f"haproxy exited with {ha.returncode} (config {cfg})")
    return ha, sock


def start_watchpost(binary, d, sock, interval, ring, n):
    """watchpost polling every backend through the Runtime API, with a fresh store;
    returns (process, base URL) once every backend has been polled."""
    port = free_port()
    name = "ring" if ring else "poll"
    cfg = f"{d}/wp-{name}.toml"
    open(cfg, "w").write(
        f'[server]\nlisten = "127.0.0.1:{port}"\n[storage]\npath = "{d}/wp-{name}.redb"\n'
        f'[[haproxy]]\nname = "lb"\nsource = "socket"\nsocket = "{sock}"\nbackends = "*"\n'
        f'interval = "{interval}"\n' + ('events_ring = "watchpost"\n' if ring else ""))
    log = open(f"{d}/wp-{name}.log", "w")
    wp = subprocess.Popen([binary, "run", "--config", cfg], stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"

    def all_polled():
        if wp.poll() is not None:
            tail = open(f"{d}/wp-{name}.log").read()[-2000:]
            sys.exit(f"watchpost exited with {wp.returncode}:\n{tail}")
        try:
            t = json.loads(get(f"{base}/api/targets"))["targets"]
        except (OSError, ValueError):
            return False
        return len(t) == n and all(x["last_fetch_status"] == "success" for x in t)
    try:
        wait("every backend polled by watchpost", all_polled, 300)
    except BaseException:
        stop(wp)
        raise
    return wp, base


class Exporter:
    """prometheus-haproxy-exporter on the admin socket, scraped every `interval`
    at a fixed random phase (a scrape that overruns skips its missed slots, as
    Prometheus does). Each scrape is kept as (start, end, backends whose server's
    `haproxy_server_up` is not 1), monotonic times."""

    def __init__(self, d, sock, interval):
        self.port = free_port()
        log = open(f"{d}/exporter.log", "w")
        self.proc = subprocess.Popen(
            ["prometheus-haproxy-exporter", f"--web.listen-address=127.0.0.1:{self.port}",
             f"--haproxy.scrape-uri=unix:{sock}", "--haproxy.timeout=30s"],
            stdout=log, stderr=log)
        self.url = f"http://127.0.0.1:{self.port}/metrics"
        self.interval = interval
        self.scrapes = []
        self.cond = threading.Condition()
        self.stopping = threading.Event()
        try:
            wait("the exporter reading HAProxy", self._up, 60)
        except BaseException:
            stop(self.proc)
            raise
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _up(self):
        if self.proc.poll() is not None:
            sys.exit(f"prometheus-haproxy-exporter exited with {self.proc.returncode}")
        try:
            return b"\nhaproxy_up 1" in get(self.url)
        except OSError:
            return False

    @staticmethod
    def _not_up(page):
        out = set()
        for line in page.decode().splitlines():
            if line.startswith("haproxy_server_up{"):
                labels, value = line.rsplit(" ", 1)
                if float(value) != 1.0:
                    out.add(labels.split('backend="', 1)[1].split('"', 1)[0])
        return out

    def _loop(self):
        slot = time.monotonic() + random.uniform(0, self.interval)
        while not self.stopping.wait(max(0.0, slot - time.monotonic())):
            start = time.monotonic()
            try:
                down = self._not_up(get(self.url, timeout=120))
            except (OSError, ValueError):
                down = None
            end = time.monotonic()
            with self.cond:
                self.scrapes.append((start, end, down))
                self.cond.notify_all()
            while slot <= time.monotonic():
                slot += self.interval

    def wait_not_up(self, backend, after, deadline):
        """End of the first scrape started at or after `after` that shows
        `backend`'s server not UP; None at `deadline`."""
        with self.cond:
            while True:
                for start, end, down in self.scrapes:
                    if start >= after and down and backend in down:
                        return end
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 1.0))

    def close(self):
        self.stopping.set()
        stop(self.proc)
