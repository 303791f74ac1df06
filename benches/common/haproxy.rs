//! A real HAProxy (the Debian package) for the load tools: `N` backends `be_00001..`
//! with `S` servers each, a stats page, a Runtime API socket, and optionally one
//! health-checked "probe" server (`be_00001/s1`) whose listener the tool can close
//! and reopen to make HAProxy mark it DOWN and UP for real.
//!
//! Every other server points at one closed port with no health check (status
//! `no check`), so HAProxy spends CPU only on the stats it is asked for.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use watchpost::sources::haproxy::csv;

use super::{Res, free_port, stop_child};

/// Name of backend `i` (1-based).
pub fn backend_name(i: usize) -> String {
    format!("be_{i:05}")
}

/// A running HAProxy.
pub struct Haproxy {
    child: Child,
    pub socket: PathBuf,
    pub stats_port: u16,
    pub backends: usize,
}

impl Haproxy {
    /// Writes the config into `dir`, starts `haproxy -db` and waits for its socket.
    /// `probe_port`: the listener `be_00001/s1` checks (`check inter 500ms fall 3 rise 2`).
    pub fn start(
        dir: &Path,
        backends: usize,
        servers: usize,
        probe_port: Option<u16>,
    ) -> Res<Haproxy> {
        let bin = ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy"]
            .into_iter()
            .find(|p| Path::new(p).exists());
        let bin = bin.ok_or("haproxy not found: apt-get install -y haproxy")?;
        let socket = dir.join("haproxy.sock");
        let stats_port = free_port()?;
        let cfg = dir.join("haproxy.cfg");
        std::fs::write(
            &cfg,
            config(
                &socket,
                stats_port,
                free_port()?,
                backends,
                servers,
                probe_port,
            ),
        )
        .map_err(|e| format!("cannot write {}: {e}", cfg.display()))?;
        let log = std::fs::File::create(dir.join("haproxy.log")).map_err(|e| e.to_string())?;
        let child = Command::new(bin)
            .args(["-db", "-f"])
            .arg(&cfg)
            .stdout(Stdio::from(log.try_clone().map_err(|e| e.to_string())?))
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("cannot start haproxy: {e}"))?;
        let mut ha = Haproxy {
            child,
            socket,
            stats_port,
            backends,
        };
        let end = Instant::now() + Duration::from_secs(60 + backends as u64 / 500);
        while ha
            .cli("show info")
            .map(|a| !a.contains("Pid:"))
            .unwrap_or(true)
        {
            if Instant::now() > end || matches!(ha.child.try_wait(), Ok(Some(_))) {
                let log = std::fs::read_to_string(dir.join("haproxy.log")).unwrap_or_default();
                return Err(format!("haproxy did not come up:\n{log}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(ha)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:PORT/stats`, the stats page (no auth).
    pub fn stats_url(&self) -> String {
        format!("http://127.0.0.1:{}/stats", self.stats_port)
    }

    /// One Runtime API command and its whole answer.
    pub fn cli(&self, cmd: &str) -> Res<String> {
        let mut s = UnixStream::connect(&self.socket)
            .map_err(|e| format!("{}: {e}", self.socket.display()))?;
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        s.write_all(format!("{cmd}\n").as_bytes())
            .map_err(|e| e.to_string())?;
        let mut out = String::new();
        s.read_to_string(&mut out)
            .map_err(|e| format!("reading the answer to {cmd}: {e}"))?;
        Ok(out)
    }

    /// The `status` HAProxy shows for one server (`UP`, `DOWN`, `DOWN 1/2`, ...).
    pub fn server_status(&self, backend: &str, server: &str) -> Res<String> {
        let answer = self.cli(&format!("show stat {backend} -1 -1"))?;
        let table = csv::parse(answer.as_bytes())?;
        let servers =
            csv::servers_of(&table, backend).ok_or_else(|| format!("no backend {backend}"))?;
        let s = servers
            .into_iter()
            .find(|s| s.name == server)
            .ok_or_else(|| format!("no server {backend}/{server}"))?;
        Ok(s.status.to_string())
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        stop_child(&mut self.child);
    }
}

fn config(
    socket: &Path,
    stats: u16,
    closed: u16,
    backends: usize,
    servers: usize,
    probe: Option<u16>,
) -> String {
    use std::fmt::Write as _;
    let mut c = String::with_capacity(backends * (40 + servers * 40));
    let _ = write!(
        c,
        "global\n    nbthread 1\n    maxconn 4096\n    stats socket {} level admin\n    stats timeout 1m\n\n\
         ring watchpost\n    size 1048576\n    format timed\n\n\
         defaults\n    mode http\n    timeout connect 1s\n    timeout client 30s\n    timeout server 30s\n    log ring@watchpost local0\n\n\
         listen stats\n    bind 127.0.0.1:{stats}\n    stats enable\n    stats uri /stats\n\n",
        socket.display()
    );
    for b in 1..=backends {
        let _ = writeln!(c, "backend {}", backend_name(b));
        for s in 1..=servers {
            match probe {
                Some(p) if b == 1 && s == 1 => {
                    let _ = writeln!(
                        c,
                        "    server s1 127.0.0.1:{p} check inter 500ms fall 3 rise 2"
                    );
                }
                _ => {
                    let _ = writeln!(c, "    server s{s} 127.0.0.1:{closed}");
                }
            }
        }
    }
    c
}

/// A TCP listener HAProxy's check connects to; closing it makes the check fail.
pub struct Probe {
    pub port: u16,
    running: Option<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>,
}

impl Probe {
    pub fn new() -> Res<Probe> {
        let mut p = Probe {
            port: free_port()?,
            running: None,
        };
        p.open()?;
        Ok(p)
    }

    /// Listens (again) on the port, accepting and closing every connection.
    pub fn open(&mut self) -> Res<()> {
        if self.running.is_some() {
            return Ok(());
        }
        let l = std::net::TcpListener::bind(("127.0.0.1", self.port))
            .map_err(|e| format!("probe port {}: {e}", self.port))?;
        l.set_nonblocking(true).map_err(|e| e.to_string())?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((conn, _)) => drop(conn),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        self.running = Some((stop, thread));
        Ok(())
    }

    /// Closes the listener: connections are refused from now on.
    pub fn close(&mut self) {
        if let Some((stop, thread)) = self.running.take() {
            stop.store(true, Ordering::SeqCst);
            let _ = thread.join();
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.close();
    }
}
