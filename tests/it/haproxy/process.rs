//! A real `haproxy -db` for one test: its config, log and admin socket in the test's
//! temp dir, its ports picked free on 127.0.0.1, killed (with every process an
//! earlier reload left) when the guard is dropped.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::try_wait_for;

/// The stats page credentials (`stats auth`).
pub const USER: &str = "watch";
pub const PASSWORD: &str = "s3cret-pw";

/// How long HAProxy may take to answer on its socket after a start or a reload.
const START_DEADLINE: Duration = Duration::from_secs(15);

/// One `backend` section (or a `listen` section when it has a port to bind): its
/// name and its servers (name, port on 127.0.0.1).
#[derive(Clone, Debug)]
pub struct Backend {
    pub name: String,
    pub servers: Vec<(String, u16)>,
    pub listen: Option<u16>,
}

/// `backend name` with `servers`, each checked with `GET /` every 200 ms.
pub fn backend(name: &str, servers: &[(&str, u16)]) -> Backend {
    let servers = servers.iter().map(|(s, p)| (s.to_string(), *p)).collect();
    Backend {
        name: name.into(),
        servers,
        listen: None,
    }
}

/// `listen name`, bound to a free port, with `servers`: a frontend and a backend.
pub fn listen(name: &str, servers: &[(&str, u16)]) -> Backend {
    let [port] = free_ports();
    Backend {
        listen: Some(port),
        ..backend(name, servers)
    }
}

/// The `haproxy` executable, or a failure that says how to install it.
pub fn haproxy_bin() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain(["/usr/sbin".into(), "/usr/local/sbin".into()]);
    for dir in dirs {
        let candidate = dir.join("haproxy");
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "HAProxy is not installed (no `haproxy` in PATH, /usr/sbin or /usr/local/sbin). \
         The tests in tests/it/haproxy need it: run scripts/test, which installs the \
         Debian package `haproxy`, or `apt-get install haproxy`."
    );
}

/// `N` distinct free ports on 127.0.0.1 (all held until every one is picked).
pub fn free_ports<const N: usize>() -> [u16; N] {
    let held: Vec<_> = (0..N)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port"))
        .collect();
    std::array::from_fn(|i| held[i].local_addr().expect("local addr").port())
}

/// A running HAProxy and the guard that stops it.
pub struct Haproxy {
    dir: TempDir,
    /// The stats page (`listen stats`).
    pub stats_port: u16,
    /// The Runtime API on `ipv4@127.0.0.1:<tcp_port>`.
    pub tcp_port: u16,
    /// `frontend fe_main`.
    pub fe_port: u16,
    backends: Vec<Backend>,
    child: Option<Child>,
    starts: u32,
    /// Whether the config has `ring watchpost` fed by `log ring@watchpost`.
    pub ring: bool,
}

impl Haproxy {
    /// Starts HAProxy with these backends; returns once its socket answers.
    pub async fn start(backends: Vec<Backend>) -> Haproxy {
        Haproxy::start_ring(backends, false).await
    }

    /// [`Haproxy::start`], with the event ring `watchpost` when `ring`.
    pub async fn start_ring(backends: Vec<Backend>, ring: bool) -> Haproxy {
        let bin = haproxy_bin();
        let dir = tempfile::tempdir().expect("temp dir");
        let [stats_port, tcp_port, fe_port] = free_ports();
        let mut ha = Haproxy {
            dir,
            stats_port,
            tcp_port,
            fe_port,
            backends,
            child: None,
            starts: 0,
            ring,
        };
        // A port picked free can be taken by someone else before HAProxy binds it:
        // then pick new ones.
        for _ in 0..3 {
            match ha.try_launch(&bin, None).await {
                Ok(()) => return ha,
                Err(e) if e.contains("cannot bind") => {
                    [ha.stats_port, ha.tcp_port, ha.fe_port] = free_ports();
                }
                Err(e) => panic!("{e}"),
            }
        }
        panic!(
            "HAProxy could not bind its ports three times\n{}",
            ha.logs()
        );
    }

    /// The configuration file of the running process.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join(format!("haproxy-{}.cfg", self.starts))
    }

    /// The unix socket of the Runtime API.
    pub fn socket_path(&self) -> PathBuf {
        self.dir.path().join("admin.sock")
    }

    /// The stats page URL, for `source = "stats"`.
    pub fn stats_url(&self) -> String {
        format!("http://127.0.0.1:{}/stats", self.stats_port)
    }

    /// The pid of the running process.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("HAProxy is running").id()
    }

    /// Kills HAProxy (SIGKILL, as a crash would) and waits for it to be gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts HAProxy again with the same config and ports.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "restart after stop");
        if let Err(e) = self.try_launch(&haproxy_bin(), None).await {
            panic!("{e}");
        }
    }

    /// A reload with new backends: a new process takes over with `-sf <old pid>`;
    /// returns once the new one answers and the old one has exited.
    pub async fn reload(&mut self, backends: Vec<Backend>) {
        self.backends = backends;
        let mut old = self.child.take().expect("HAProxy is running");
        if let Err(e) = self.try_launch(&haproxy_bin(), Some(old.id())).await {
            let _ = old.kill();
            let _ = old.wait();
            panic!("{e}");
        }
        let gone = try_wait_for(START_DEADLINE, async || old.try_wait().ok().flatten()).await;
        if gone.is_none() {
            let _ = old.kill();
            let _ = old.wait();
            panic!(
                "the old HAProxy did not exit after the reload\n{}",
                self.logs()
            );
        }
    }

    async fn try_launch(&mut self, bin: &Path, replaces: Option<u32>) -> Result<(), String> {
        self.starts += 1;
        let cfg = self.dir.path().join(format!("haproxy-{}.cfg", self.starts));
        std::fs::write(&cfg, self.render()).expect("write haproxy.cfg");
        let log = File::create(self.log_path(self.starts)).expect("log file");
        let mut cmd = Command::new(bin);
        cmd.arg("-db").arg("-f").arg(&cfg);
        if let Some(pid) = replaces {
            cmd.arg("-sf").arg(pid.to_string());
        }
        let stderr = log.try_clone().expect("log file");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        let pid = child.id();
        self.child = Some(child);
        self.wait_ready(pid).await
    }

    /// Waits until `show info` on the unix socket is answered by process `pid`.
    async fn wait_ready(&mut self, pid: u32) -> Result<(), String> {
        let want = format!("Pid: {pid}\n");
        let ready = try_wait_for(START_DEADLINE, async || {
            if let Some(status) = self.child.as_mut()?.try_wait().ok().flatten() {
                return Some(Err(status));
            }
            let info = self.try_command("show info").await.ok()?;
            info.contains(&want).then_some(Ok(()))
        })
        .await;
        match ready {
            Some(Ok(())) => Ok(()),
            Some(Err(status)) => {
                self.child = None;
                Err(format!(
                    "HAProxy exited ({status}) at start\n{}",
                    self.logs()
                ))
            }
            None => Err(format!(
                "HAProxy did not answer within {START_DEADLINE:?}\n{}",
                self.logs()
            )),
        }
    }

    fn log_path(&self, start: u32) -> PathBuf {
        self.dir.path().join(format!("haproxy-{start}.log"))
    }

    /// Everything every HAProxy process of this guard logged, for failure messages.
    pub fn logs(&self) -> String {
        (1..=self.starts)
            .map(|n| {
                let text = std::fs::read_to_string(self.log_path(n)).unwrap_or_default();
                format!("--- haproxy log of start {n}:\n{text}")
            })
            .collect()
    }

    fn render(&self) -> String {
        let sock = self.socket_path();
        let mut cfg = format!(
            "global\n    nbthread 1\n    stats socket {} level admin\n    \
             stats socket ipv4@127.0.0.1:{} level admin\n\n\
             defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    \
             timeout server 5s\n\n\
             listen stats\n    bind 127.0.0.1:{}\n    stats enable\n    stats uri /stats\n    \
             stats auth {USER}:{PASSWORD}\n\n",
            sock.display(),
            self.tcp_port,
            self.stats_port,
        );
        if self.ring {
            cfg = cfg.replace(
                "defaults\n",
                "ring watchpost\n    size 65536\n    format timed\n\n\
                 defaults\n    log ring@watchpost local0\n",
            );
        }
        if let Some(first) = self.backends.first() {
            let fe = format!(
                "frontend fe_main\n    bind 127.0.0.1:{}\n    default_backend {}\n\n",
                self.fe_port, first.name
            );
            cfg.push_str(&fe);
        }
        for b in &self.backends {
            let section = match b.listen {
                Some(port) => format!("listen {}\n    bind 127.0.0.1:{port}\n", b.name),
                None => format!("backend {}\n", b.name),
            };
            cfg.push_str(&section);
            cfg.push_str("    option httpchk GET /\n");
            for (server, port) in &b.servers {
                let line =
                    format!("    server {server} 127.0.0.1:{port} check inter 200 fall 2 rise 2\n");
                cfg.push_str(&line);
            }
            cfg.push('\n');
        }
        cfg
    }

    /// One Runtime API command on the unix socket; the whole answer.
    pub async fn command(&self, cmd: &str) -> String {
        self.try_command(cmd)
            .await
            .unwrap_or_else(|e| panic!("`{cmd}` on the HAProxy socket: {e}\n{}", self.logs()))
    }

    async fn try_command(&self, cmd: &str) -> std::io::Result<String> {
        let exchange = async {
            let mut stream = tokio::net::UnixStream::connect(self.socket_path()).await?;
            stream.write_all(format!("{cmd}\n").as_bytes()).await?;
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await?;
            Ok(answer)
        };
        let timeout = Duration::from_secs(5);
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
    }

    /// HAProxy's own `status` of `backend/server` (`show stat`), if it has that row.
    pub async fn status(&self, backend: &str, server: &str) -> Option<String> {
        let csv = self.command(&format!("show stat {backend} 4 -1")).await;
        stat_rows(&csv)
            .into_iter()
            .find(|r| r.get("svname") == Some(server))
            .and_then(|r| r.get("status").map(str::to_string))
    }

    /// Waits until HAProxy itself reports `backend/server` with status `want`.
    pub async fn wait_status(&self, backend: &str, server: &str, want: &str) {
        let mut last = None;
        let seen = try_wait_for(crate::common::DEADLINE, async || {
            last = self.status(backend, server).await;
            (last.as_deref() == Some(want)).then_some(())
        })
        .await;
        if seen.is_none() {
            panic!("HAProxy never showed {backend}/{server} as {want:?} (last: {last:?})");
        }
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The rows of a stats CSV as `column name → cell` (quote-aware, independent of the
/// parser under test).
pub fn stat_rows(csv: &str) -> Vec<Row> {
    let mut lines = csv.lines().filter(|l| !l.trim().is_empty());
    let header = lines
        .next()
        .and_then(|l| l.strip_prefix("# "))
        .map(split_cells)
        .unwrap_or_else(|| panic!("not a stats CSV: {csv:?}"));
    lines
        .map(|l| Row {
            header: header.clone(),
            cells: split_cells(l),
        })
        .collect()
}

/// One CSV row.
pub struct Row {
    header: Vec<String>,
    cells: Vec<String>,
}

impl Row {
    /// The cell of column `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        let at = self.header.iter().position(|h| h == name)?;
        self.cells.get(at).map(String::as_str)
    }
}

fn split_cells(line: &str) -> Vec<String> {
    let (mut cells, mut cell, mut quoted) = (Vec::new(), String::new(), false);
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => cells.push(std::mem::take(&mut cell)),
            _ => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}
