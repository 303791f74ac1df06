//! The sources of a load run and the daemon's config for them: simulated FAgent and
//! Eureka servers (on an actix `System` thread of their own), or a real HAProxy for
//! `--source socket|stats`, and the faults the run injects into them.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use watchpost::sim::{AgentSim, EurekaSim, Fault, SimBackend, SimInstance, SimServer};

use crate::common::Res;
use crate::common::haproxy::{Haproxy, backend_name};
use crate::common::ws::Key;

/// Where HAProxy backends come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceKind {
    /// The simulated FAgent (one HTTP request per backend per poll).
    Agent,
    /// A real HAProxy through its Runtime API socket (one `show stat` per round).
    Socket,
    /// A real HAProxy through its stats page CSV (one request per round).
    Stats,
}

/// What the run injects, and undoes.
#[derive(Clone, Debug)]
pub enum FaultKind {
    /// A server of backend `b` goes DOWN (agent) or into MAINT (real HAProxy).
    Server(usize),
    /// The agent answers garbage for backend `b`: a failed fetch.
    Fetch(usize),
    /// Instance `j` of Eureka server `k` goes DOWN.
    Instance(usize, usize),
}

/// The running sources.
pub struct Sources {
    pub kind: SourceKind,
    pub agent: Option<Arc<AgentSim>>,
    pub eurekas: Vec<Arc<EurekaSim>>,
    pub haproxy: Option<Haproxy>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

type Sims = (Option<Arc<AgentSim>>, Vec<Arc<EurekaSim>>);

impl Sources {
    /// Starts `backends` × `servers` (simulated or in HAProxy) and `eurekas` Eureka
    /// servers with `instances` instances each.
    pub fn start(
        kind: SourceKind,
        dir: &Path,
        backends: usize,
        servers: usize,
        eurekas: usize,
        instances: usize,
    ) -> Res<Sources> {
        let sim_backends = if kind == SourceKind::Agent {
            backends
        } else {
            0
        };
        let (tx, rx) = std::sync::mpsc::channel::<Res<Sims>>();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                match start_sims(sim_backends, servers, eurekas, instances).await {
                    Ok(sims) => {
                        let _ = tx.send(Ok(sims));
                        let _ = stopped.await;
                    }
                    Err(e) => {
                        drop(tx.send(Err(format!("cannot start the simulated sources: {e}"))))
                    }
                }
            })
        });
        let (agent, eurekas) = rx
            .recv()
            .map_err(|_| "the simulator thread died".to_string())??;
        let haproxy = match kind {
            SourceKind::Agent => None,
            _ if backends == 0 => None,
            _ => Some(Haproxy::start(dir, backends, servers, None)?),
        };
        Ok(Sources {
            kind,
            agent,
            eurekas,
            haproxy,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Makes a fault happen (`on`) or go away, and returns the event it should cause.
    pub fn apply(&self, fault: &FaultKind, on: bool) -> Res<Key> {
        match (fault, &self.agent, &self.haproxy) {
            (FaultKind::Server(b), Some(agent), _) => {
                let (be, status) = (backend_name(*b), if on { "DOWN" } else { "UP" });
                agent.set_server_status(&be, "s1", status);
                Ok(Key::new(
                    "server_state_changed",
                    &format!("haproxy/sim/{be}"),
                    "s1",
                    &status.to_lowercase(),
                ))
            }
            (FaultKind::Server(b), None, Some(ha)) => {
                let (be, state) = (backend_name(*b), if on { "maint" } else { "ready" });
                let answer = ha.cli(&format!("set server {be}/s1 state {state}"))?;
                if !answer.trim().is_empty() {
                    return Err(format!(
                        "HAProxy refused `set server {be}/s1 state {state}`: {answer}"
                    ));
                }
                Ok(Key::new(
                    "server_state_changed",
                    &format!("haproxy/lb/{be}"),
                    "s1",
                    if on { "maint" } else { "up" },
                ))
            }
            (FaultKind::Fetch(b), Some(agent), _) => {
                let be = backend_name(*b);
                agent.set_backend_fault(&be, on.then_some(Fault::Garbage));
                let kind = if on {
                    "fetch_failed"
                } else {
                    "fetch_recovered"
                };
                Ok(Key::new(kind, &format!("haproxy/sim/{be}"), "", ""))
            }
            (FaultKind::Instance(k, j), _, _) => {
                let sim = self.eurekas.get(*k).ok_or("no such Eureka server")?;
                let (id, status) = (instance(*k, *j).instance_id, if on { "DOWN" } else { "UP" });
                sim.set_instance_status(&id, status);
                Ok(Key::new(
                    "instance_state_changed",
                    &eureka_target(*k),
                    &id,
                    &status.to_lowercase(),
                ))
            }
            _ => Err(format!("fault {fault:?} does not apply to this source")),
        }
    }

    /// The faults of a run: `count` of them, cycling through the kinds the sources
    /// support, each on a backend or instance of its own.
    pub fn faults(&self, count: usize, backends: usize, instances: usize) -> Vec<FaultKind> {
        let mut kinds: Vec<u8> = Vec::new();
        if backends > 0 {
            kinds.push(0);
            if self.agent.is_some() {
                kinds.push(1);
            }
        }
        if !self.eurekas.is_empty() && instances > 0 {
            kinds.push(2);
        }
        let mut out = Vec::new();
        for n in 0..count.min(backends.max(instances)) {
            let Some(kind) = kinds.get(n % kinds.len().max(1)) else {
                break;
            };
            // Spread over the fleet with a stride prime to its size.
            let b = 1 + (n * 7919) % backends.max(1);
            out.push(match kind {
                0 => FaultKind::Server(b),
                1 => FaultKind::Fetch(b),
                _ => FaultKind::Instance(n % self.eurekas.len(), (n * 31) % instances),
            });
        }
        out
    }

    /// The config of a daemon polling these sources, with `extra` features on.
    pub fn config(
        &self,
        dir: &Path,
        port: u16,
        interval: Duration,
        backends: usize,
        extra: &Extra,
    ) -> String {
        let ms = interval.as_millis() as u64;
        let timeout = (ms / 2).clamp(100, 3000);
        let mut c = format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\n\n[storage]\npath = \"{}\"\nevent_retention = 100000\n\n\
             [defaults]\ninterval = \"{ms}ms\"\ntimeout = \"{timeout}ms\"\n\
             retry = {{ initial = \"50ms\", max = \"200ms\", max_elapsed = \"{}ms\" }}\n\n",
            dir.join("watchpost.redb").display(),
            timeout * 8 / 10
        );
        let names: Vec<String> = (1..=backends)
            .map(|b| format!("\"{}\"", backend_name(b)))
            .collect();
        let list = names.join(", ");
        if let Some(agent) = &self.agent {
            c += &format!(
                "[[haproxy]]\nname = \"sim\"\nsource = \"agent\"\nurl = \"{}\"\nbackends = [{list}]\n\n",
                agent.url()
            );
        }
        if let Some(ha) = &self.haproxy {
            let how = match self.kind {
                SourceKind::Socket => {
                    format!("source = \"socket\"\nsocket = \"{}\"", ha.socket.display())
                }
                _ => format!("source = \"stats\"\nurl = \"{}\"", ha.stats_url()),
            };
            let ring = match (extra.ring, self.kind) {
                (true, SourceKind::Socket) => "events_ring = \"watchpost\"\n",
                _ => "",
            };
            c += &format!("[[haproxy]]\nname = \"lb\"\n{how}\n{ring}backends = [{list}]\n\n");
        }
        for (k, e) in self.eurekas.iter().enumerate() {
            c += &format!(
                "[[eureka]]\nname = \"e{:02}\"\nsource = \"eureka\"\nurl = \"{}\"\n\n",
                k + 1,
                e.url()
            );
        }
        c + &extra.sections(self.agent.is_some(), self.eurekas.len())
    }
}

/// Features switched on beside polling: notifiers, links for drift, the event ring.
#[derive(Debug, Default)]
pub struct Extra {
    /// Webhook receivers, one `[[notify]]` each (no grouping delay).
    pub hooks: Vec<String>,
    /// `[[link]]` sections: Eureka application k of server 1 ↔ backend k.
    pub links: usize,
    /// Follow HAProxy's event ring (`--source socket` only).
    pub ring: bool,
    /// Every alert rule disabled (to measure what evaluating them costs).
    pub no_alerts: bool,
}

const RULES: [&str; 11] = [
    "target_unreachable",
    "circuit_open",
    "server_down",
    "backend_down",
    "backend_degraded",
    "instance_down",
    "instance_removed",
    "flapping",
    "lease_expired",
    "eureka_self_preservation",
    "drift",
];

impl Extra {
    fn sections(&self, agent: bool, eurekas: usize) -> String {
        let mut c = String::new();
        if self.no_alerts {
            c += "[alerts]\n";
            for rule in RULES {
                c += &format!("{rule} = {{ enabled = false }}\n");
            }
            c += "\n";
        } else if !self.hooks.is_empty() {
            // Every injected fault fires its alert at once, so each reaches the notifiers.
            c += "[alerts]\nserver_down = { for = \"0s\" }\ninstance_down = { for = \"0s\" }\n\n";
        }
        for (k, url) in self.hooks.iter().enumerate() {
            c += &format!(
                "[[notify]]\nname = \"hook{k}\"\nkind = \"webhook\"\nurl = \"{url}\"\n\
                 group_wait = \"0s\"\ngroup_interval = \"100ms\"\n\n"
            );
        }
        let group = if agent { "sim" } else { "lb" };
        for k in 0..self.links.min(if eurekas > 0 { usize::MAX } else { 0 }) {
            c += &format!(
                "[[link]]\neureka = \"e01/app{k:03}\"\nhaproxy = [\"{group}/{}\"]\n\n",
                backend_name(k + 1)
            );
        }
        c
    }
}

impl Drop for Sources {
    fn drop(&mut self) {
        self.haproxy = None;
        (self.agent, self.eurekas) = (None, Vec::new());
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn start_sims(
    backends: usize,
    servers: usize,
    eurekas: usize,
    instances: usize,
) -> std::io::Result<Sims> {
    let local: SocketAddr = ([127, 0, 0, 1], 0).into();
    let agent = if backends > 0 {
        let list = (1..=backends)
            .map(|b| SimBackend {
                name: backend_name(b),
                servers: (1..=servers)
                    .map(|s| SimServer::up(&format!("s{s}"), &format!("10.0.{}.{s}:8080", b % 250)))
                    .collect(),
            })
            .collect();
        Some(Arc::new(AgentSim::start(local, list, vec![]).await?))
    } else {
        None
    };
    let mut sims = Vec::new();
    for k in 0..eurekas {
        let list = (0..instances).map(|j| instance(k, j)).collect();
        sims.push(Arc::new(EurekaSim::start(local, list).await?));
    }
    Ok((agent, sims))
}

/// Instance `j` of Eureka server `k`: ten instances per application.
fn instance(k: usize, j: usize) -> SimInstance {
    let app = format!("app{:03}", j / 10);
    SimInstance::up(
        &app,
        &format!("h{k}-{j}.sim.local"),
        &format!("10.1.{}.{}", j / 250, j % 250),
        8080,
    )
}

/// The target id of Eureka server `k`.
pub fn eureka_target(k: usize) -> String {
    format!("eureka/e{:02}", k + 1)
}
