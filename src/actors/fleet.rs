//! The fleet: the supervisor actor. It registers the configured targets with the
//! status actor, starts one poller per target, restarts a poller that stops or
//! panics (counting the restart), follows `backends = "*"` sources by discovery, and
//! routes admin commands to the right poller.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use actix::prelude::*;

use super::cycle::{Shared, TargetSpec};
use super::fleet_haproxy::InstanceTasks;
use super::outcome::AdminOutcome;
#[cfg(any(test, feature = "fault-injection"))]
use super::poller::InjectPanic;
use super::poller::{PollNow, Poller, PollerEnv, PollerExited, ResetCircuit, SetPolling, Stop};
use super::reload::{self, ReloadReport};
use super::specs;
use super::status::StatusHandle;
use crate::config::{Backends, Config, HaproxyConfig};
use crate::model::AdminState;
use crate::model::{Observation, ObservationKind, Ts};
use crate::sources::haproxy::registry::StatsRegistry;

/// An admin command for one target.
#[derive(Clone, Debug)]
pub enum AdminCmd {
    ResetCircuit,
    Recover,
    SetPolling(bool),
    /// Change a server's admin state through the backend's source.
    ServerState {
        server: String,
        state: AdminState,
    },
    /// Makes the target's next fetch panic, to test supervision (test builds only).
    #[cfg(any(test, feature = "fault-injection"))]
    InjectPanic,
}

/// Why an admin command could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("unknown target {0}")]
    UnknownTarget(String),
    /// The source cannot do this (e.g. the stats page cannot change server state).
    #[error("{0}")]
    Conflict(String),
    /// The source refused or failed the request.
    #[error("{0}")]
    Source(String),
    #[error("{0}")]
    Failed(String),
}

/// An admin command; answers what was done.
#[derive(Message)]
#[rtype(result = "Result<AdminOutcome, AdminError>")]
pub struct Admin {
    pub target: String,
    pub cmd: AdminCmd,
}

/// Stop every poller (shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopAll;

pub(super) struct Entry {
    pub(super) addr: Addr<Poller>,
    pub(super) spec: Arc<TargetSpec>,
    pub(super) shared: Arc<Shared>,
    generation: u64,
}

/// The supervisor.
pub struct Fleet {
    pub(super) config: Arc<Config>,
    pub(super) status: StatusHandle,
    pub(super) client: reqwest::Client,
    pub(super) pollers: HashMap<String, Entry>,
    /// The `show info` readers and event ring subscriptions of HAProxy sections.
    pub(super) instances: InstanceTasks,
    discovery: HashMap<String, SpawnHandle>,
    /// Sources whose last discovery failed (logged once per outage).
    discovery_failing: BTreeSet<String>,
    /// The shared readers of `stats`/`socket` HAProxy instances.
    stats: StatsRegistry,
    /// What every poller holds the same (set once the fleet's address is known).
    env: std::sync::OnceLock<Arc<PollerEnv>>,
}

/// Applies a new, already validated configuration; answers what changed.
#[derive(Message)]
#[rtype(result = "ReloadReport")]
pub struct Reload(pub Arc<Config>);

impl Fleet {
    pub fn new(config: Arc<Config>, status: StatusHandle, client: reqwest::Client) -> Fleet {
        Fleet {
            config,
            status,
            client,
            pollers: HashMap::new(),
            discovery: HashMap::new(),
            discovery_failing: BTreeSet::new(),
            instances: InstanceTasks::default(),
            stats: StatsRegistry::default(),
            env: std::sync::OnceLock::new(),
        }
    }

    fn spawn_poller(
        &self,
        spec: Arc<TargetSpec>,
        shared: Arc<Shared>,
        generation: u64,
        me: &Addr<Fleet>,
    ) -> Addr<Poller> {
        let env = self.env.get_or_init(|| {
            Arc::new(PollerEnv {
                status: self.status.clone(),
                client: self.client.clone(),
                fleet: me.clone().recipient(),
            })
        });
        Poller::new(spec, shared, env.clone(), generation).start()
    }

    /// Registers targets (committed first), then starts their pollers.
    fn add_targets(&mut self, specs: Vec<Arc<TargetSpec>>, ctx: &mut Context<Self>) {
        let specs: Vec<_> = specs
            .into_iter()
            .filter(|s| !self.pollers.contains_key(&s.meta.id))
            .collect();
        if specs.is_empty() {
            return;
        }
        let obs = specs
            .iter()
            .map(|s| Observation {
                target: s.meta.id.clone(),
                at: Ts::now(),
                kind: ObservationKind::Registered(Box::new(s.meta.clone())),
            })
            .collect();
        let status = self.status.clone();
        let fut = async move { status.observe(obs).await };
        ctx.wait(fut.into_actor(self).map(move |res, act, ctx| {
            if let Err(e) = res {
                tracing::error!(error = %e, "cannot register targets");
            }
            let snap = act.status.snapshot();
            let mut restored = Vec::new();
            for spec in specs {
                let (shared, obs) = Shared::restored(
                    &spec,
                    snap.targets.get(spec.meta.id.as_str()).map(|t| t.as_ref()),
                );
                restored.extend(obs);
                let shared = Arc::new(shared);
                let addr = act.spawn_poller(spec.clone(), shared.clone(), 0, &ctx.address());
                act.pollers.insert(
                    spec.meta.id.clone(),
                    Entry {
                        addr,
                        spec,
                        shared,
                        generation: 0,
                    },
                );
            }
            act.record(restored);
        }));
    }

    /// Stops pollers and removes their targets, with a reason.
    fn remove_targets(&mut self, ids: Vec<String>, reason: &str) {
        let mut obs = Vec::new();
        for id in ids {
            if let Some(e) = self.pollers.remove(&id) {
                e.addr.do_send(Stop);
            }
            let kind = ObservationKind::Removed {
                reason: reason.to_string(),
            };
            obs.push(Observation {
                target: id,
                at: Ts::now(),
                kind,
            });
        }
        self.record(obs);
    }

    /// Stored targets that the config no longer has (discovered ones are left to
    /// their discovery).
    fn stale_targets(&self, fixed: &[Arc<TargetSpec>]) -> Vec<String> {
        let wanted: BTreeSet<&str> = fixed.iter().map(|s| s.meta.id.as_str()).collect();
        let discovering: Vec<&HaproxyConfig> = self
            .config
            .haproxy
            .iter()
            .filter(|h| h.backends == Backends::All)
            .collect();
        let snap = self.status.snapshot();
        snap.targets
            .values()
            .filter(|t| !wanted.contains(t.id.as_str()))
            .filter(|t| {
                !discovering
                    .iter()
                    .any(|h| h.name == *t.group && t.id.starts_with("haproxy/"))
            })
            .map(|t| t.id.clone())
            .collect()
    }

    fn start_discovery(&mut self, h: &HaproxyConfig, ctx: &mut Context<Self>) {
        let h = Arc::new(h.clone());
        self.discover_now(h.clone(), ctx);
        let name = h.name.clone();
        let handle = ctx.run_interval(h.policy.interval, move |act, ctx| {
            act.discover_now(h.clone(), ctx)
        });
        if let Some(old) = self.discovery.insert(name, handle) {
            ctx.cancel_future(old);
        }
    }

    fn reload(&mut self, new: Arc<Config>, ctx: &mut Context<Self>) -> ReloadReport {
        let running = self
            .pollers
            .iter()
            .map(|(id, e)| (id.clone(), e.spec.clone()))
            .collect();
        let plan = reload::plan(&self.config, &new, &running, &self.stats);
        let mut report = ReloadReport {
            added: reload::ids(&plan.add),
            changed: reload::ids(&plan.restart),
            removed: plan.remove.clone(),
            unchanged: plan.unchanged,
            warnings: reload::restart_warnings(&self.config, &new),
        };
        report.removed.sort();
        self.config = new;
        let me = ctx.address().recipient();
        self.instances
            .configure(&self.config.haproxy, &self.status, me);
        for name in &plan.stop_discovery {
            if let Some(handle) = self.discovery.remove(name) {
                ctx.cancel_future(handle);
            }
        }
        self.remove_targets(plan.remove, "removed from the configuration");
        for spec in plan.restart {
            self.replace(spec, ctx);
        }
        self.add_targets(plan.add, ctx);
        for h in plan.discover {
            self.start_discovery(&h, ctx);
        }
        report
    }

    /// Restarts one poller with a new spec, keeping its polling flag and state.
    fn replace(&mut self, spec: Arc<TargetSpec>, ctx: &mut Context<Self>) {
        let Some(old) = self.pollers.remove(&spec.meta.id) else {
            return;
        };
        old.addr.do_send(Stop);
        let snap = self.status.snapshot();
        let (shared, circuit) = Shared::restored(
            &spec,
            snap.targets.get(spec.meta.id.as_str()).map(|t| t.as_ref()),
        );
        let shared = Arc::new(shared);
        let generation = old.generation + 1;
        let addr = self.spawn_poller(spec.clone(), shared.clone(), generation, &ctx.address());
        let registered = ObservationKind::Registered(Box::new(spec.meta.clone()));
        let mut obs = vec![Observation {
            target: spec.meta.id.clone(),
            at: Ts::now(),
            kind: registered,
        }];
        obs.extend(circuit);
        self.pollers.insert(
            spec.meta.id.clone(),
            Entry {
                addr,
                spec,
                shared,
                generation,
            },
        );
        self.record(obs);
    }

    /// Commits observations in the background.
    fn record(&self, obs: Vec<Observation>) {
        if obs.is_empty() {
            return;
        }
        let status = self.status.clone();
        actix::spawn(async move {
            if let Err(e) = status.observe(obs).await {
                tracing::error!(error = %e, "cannot record observations");
            }
        });
    }

    fn discover_now(&self, h: Arc<HaproxyConfig>, ctx: &mut Context<Self>) {
        let (client, h2, stats) = (self.client.clone(), h.clone(), self.stats.clone());
        let fut = async move { specs::list_backends(&h2, &client, &stats).await };
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| match res {
            Ok(list) => {
                if act.discovery_failing.remove(&h.name) {
                    tracing::info!(source = h.name, "backend discovery works again");
                }
                act.discovered(&h, list, ctx)
            }
            Err(e) => {
                if act.discovery_failing.insert(h.name.clone()) {
                    tracing::warn!(source = h.name, error = %e, "backend discovery failed; keeping the current backends");
                }
            }
        }));
    }

    fn discovered(&mut self, h: &HaproxyConfig, list: Vec<String>, ctx: &mut Context<Self>) {
        let prefix = specs::haproxy_id(&h.name, "");
        let snap = self.status.snapshot();
        let current: BTreeSet<String> = self
            .pollers
            .keys()
            .map(String::as_str)
            .chain(snap.targets.keys().map(|k| &**k))
            .filter(|id| id.starts_with(&prefix))
            .map(str::to_string)
            .collect();
        let listed: BTreeSet<String> = list.iter().map(|b| specs::haproxy_id(&h.name, b)).collect();
        let running = |id: &String| self.pollers.contains_key(id);
        let targets = specs::HaproxyTargets::new(h, &self.stats);
        let new: Vec<_> = list
            .iter()
            .filter(|b| !running(&specs::haproxy_id(&h.name, b)))
            .map(|b| Arc::new(targets.target(b)))
            .collect();
        let gone: Vec<String> = current.difference(&listed).cloned().collect();
        self.remove_targets(gone, "backend no longer reported by the source");
        self.add_targets(new, ctx);
    }

    fn restart(&mut self, msg: PollerExited, ctx: &mut Context<Self>) {
        let Some(entry) = self.pollers.get(&msg.id) else {
            return;
        };
        if entry.generation != msg.generation {
            return;
        }
        let (spec, shared, generation) = (
            entry.spec.clone(),
            entry.shared.clone(),
            entry.generation + 1,
        );
        tracing::warn!(target_id = %msg.id, reason = %msg.reason, restart = generation, "restarting poller");
        let addr = self.spawn_poller(spec.clone(), shared.clone(), generation, &ctx.address());
        self.pollers.insert(
            msg.id.clone(),
            Entry {
                addr,
                spec,
                shared,
                generation,
            },
        );
        let obs = Observation {
            target: msg.id,
            at: Ts::now(),
            kind: ObservationKind::Restarted { reason: msg.reason },
        };
        self.record(vec![obs]);
    }
}

impl Actor for Fleet {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let fixed = specs::fixed_targets(&self.config, &self.stats);
        let stale = self.stale_targets(&fixed);
        self.remove_targets(stale, "no longer in the configuration");
        self.add_targets(fixed, ctx);
        let me = ctx.address().recipient();
        self.instances
            .configure(&self.config.haproxy, &self.status, me);
        let config = self.config.clone();
        for h in config
            .haproxy
            .iter()
            .filter(|h| h.backends == Backends::All)
        {
            self.start_discovery(h, ctx);
        }
    }
}

impl Handler<PollerExited> for Fleet {
    type Result = ();
    fn handle(&mut self, msg: PollerExited, ctx: &mut Context<Self>) {
        self.restart(msg, ctx);
    }
}

impl Handler<Reload> for Fleet {
    type Result = MessageResult<Reload>;
    fn handle(&mut self, msg: Reload, ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(self.reload(msg.0, ctx))
    }
}

impl Handler<StopAll> for Fleet {
    type Result = ();
    fn handle(&mut self, _: StopAll, ctx: &mut Context<Self>) {
        for (_, e) in self.pollers.drain() {
            e.addr.do_send(Stop);
        }
        self.instances.stop_all();
        ctx.stop();
    }
}

impl Handler<Admin> for Fleet {
    type Result = ResponseFuture<Result<AdminOutcome, AdminError>>;

    fn handle(&mut self, msg: Admin, _: &mut Context<Self>) -> Self::Result {
        let Some(entry) = self.pollers.get(&msg.target) else {
            return Box::pin(async move { Err(AdminError::UnknownTarget(msg.target)) });
        };
        let (addr, spec, status) = (entry.addr.clone(), entry.spec.clone(), self.status.clone());
        if let AdminCmd::ServerState { server, state } = msg.cmd {
            let client = self.client.clone();
            return Box::pin(super::server_action::run(
                addr, spec, status, client, server, state, None,
            ));
        }
        Box::pin(admin(addr, spec, status, msg.cmd))
    }
}

pub(super) fn mailbox(e: MailboxError) -> AdminError {
    AdminError::Failed(format!("the poller did not answer: {e}"))
}

async fn admin(
    addr: Addr<Poller>,
    spec: Arc<TargetSpec>,
    status: StatusHandle,
    cmd: AdminCmd,
) -> Result<AdminOutcome, AdminError> {
    match cmd {
        AdminCmd::SetPolling(on) => {
            addr.send(SetPolling(on)).await.map_err(mailbox)?;
            Ok(AdminOutcome::Polling { enable_polling: on })
        }
        AdminCmd::ServerState { .. } => Err(AdminError::Failed("routed elsewhere".into())),
        #[cfg(any(test, feature = "fault-injection"))]
        AdminCmd::InjectPanic => {
            addr.send(InjectPanic).await.map_err(mailbox)?;
            Ok(AdminOutcome::Injected {})
        }
        AdminCmd::ResetCircuit => {
            addr.send(ResetCircuit).await.map_err(mailbox)?;
            let poll = addr
                .send(PollNow)
                .await
                .map_err(mailbox)?
                .map_err(AdminError::Failed)?;
            Ok(AdminOutcome::CircuitReset { poll })
        }
        AdminCmd::Recover => {
            let outcome =
                super::validate::recovery(&spec, crate::model::RecoveryTrigger::Admin, &status)
                    .await;
            let obs = Observation {
                target: spec.meta.id.clone(),
                at: Ts::now(),
                kind: ObservationKind::Recovery {
                    outcome: Box::new(outcome.clone()),
                },
            };
            status
                .observe(vec![obs])
                .await
                .map_err(|e| AdminError::Failed(e.to_string()))?;
            addr.send(ResetCircuit).await.map_err(mailbox)?;
            let poll = addr
                .send(PollNow)
                .await
                .map_err(mailbox)?
                .map_err(AdminError::Failed)?;
            Ok(AdminOutcome::Recovered {
                poll,
                recovery: outcome,
            })
        }
    }
}
