//! The fleet's part for HAProxy instances: it starts and stops each section's
//! `show info` reader and event ring subscription (on start and reload), turns ring
//! lines into pokes of the named backends' pollers, lists the instances, and runs
//! `validate` on request.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use actix::prelude::*;
use serde::Serialize;

use super::cycle::TargetSpec;
use super::fleet::{AdminError, Fleet};
use super::instance::{self, InstanceBoard, InstanceView};
use super::poller::{Poke, Poller};
use super::push::{self, PushPoll};
use super::specs;
use super::status::StatusHandle;
use super::validate;
use crate::config::{HaproxyConfig, HaproxySourceKind};
use crate::model::{ConfigValidation, RecoveryTrigger, SourceKind, TargetState};

/// The running tasks of every `[[haproxy]]` section and their board.
#[derive(Default)]
pub struct InstanceTasks {
    pub board: Arc<InstanceBoard>,
    tasks: HashMap<String, (HaproxyConfig, Vec<tokio::task::JoinHandle<()>>)>,
}

impl Drop for InstanceTasks {
    fn drop(&mut self) {
        self.stop_all();
    }
}

impl InstanceTasks {
    /// Runs exactly the tasks `sections` need: unchanged sections keep theirs.
    pub fn configure(
        &mut self,
        sections: &[HaproxyConfig],
        status: &StatusHandle,
        fleet: Recipient<PushPoll>,
    ) {
        self.board.configure(sections);
        self.tasks.retain(|name, (old, handles)| {
            let keep = sections.iter().any(|h| h == old && &h.name == name);
            if !keep {
                handles.iter().for_each(|t| t.abort());
            }
            keep
        });
        for h in sections {
            if self.tasks.contains_key(&h.name) {
                continue;
            }
            let shared = Arc::new(h.clone());
            let mut handles = Vec::new();
            if h.source == HaproxySourceKind::Socket {
                let info = instance::watch_info(shared.clone(), self.board.clone(), status.clone());
                handles.push(actix::spawn(info));
            }
            if h.push_ring().is_some() {
                let follow = push::follow(shared, self.board.clone(), fleet.clone());
                handles.push(actix::spawn(follow));
            }
            self.tasks.insert(h.name.clone(), (h.clone(), handles));
        }
    }

    /// Stops every task (shutdown).
    pub fn stop_all(&mut self) {
        for (_, (_, handles)) in self.tasks.drain() {
            handles.iter().for_each(|t| t.abort());
        }
    }
}

/// Every instance as `GET /api/haproxy/instances` shows it.
#[derive(Message)]
#[rtype(result = "Vec<InstanceSummary>")]
pub struct ListInstances;

/// One instance of `GET /api/haproxy/instances`: what the board knows, and its
/// pollers' counts. For sources without `show info`, the fetch fields are those of
/// the instance's latest backend fetch.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct InstanceSummary {
    #[serde(flatten)]
    pub view: InstanceView,
    pub polls: PollCounts,
}

/// Polls of an instance's backends since the daemon started.
#[derive(Clone, Copy, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct PollCounts {
    /// Polls made on schedule.
    pub scheduled: u64,
    /// Polls asked for by the event ring.
    pub push: u64,
}

/// The pollers of every HAProxy backend and the HTTP client, for a transaction.
#[derive(Message)]
#[rtype(result = "AdminReach")]
pub struct GetAdminReach;

/// What [`GetAdminReach`] answers.
pub struct AdminReach {
    pub pollers: HashMap<String, (Addr<Poller>, Arc<TargetSpec>)>,
    pub client: reqwest::Client,
}

impl Handler<GetAdminReach> for Fleet {
    type Result = MessageResult<GetAdminReach>;
    fn handle(&mut self, _: GetAdminReach, _: &mut Context<Self>) -> Self::Result {
        let pollers = self
            .pollers
            .iter()
            .filter(|(id, _)| id.starts_with("haproxy/"))
            .map(|(id, e)| (id.clone(), (e.addr.clone(), e.spec.clone())))
            .collect();
        MessageResult(AdminReach {
            pollers,
            client: self.client.clone(),
        })
    }
}

/// Runs the `validate` command of an instance.
#[derive(Message)]
#[rtype(result = "Result<ConfigValidation, AdminError>")]
pub struct ValidateInstance(pub String);

impl Handler<PushPoll> for Fleet {
    type Result = ();
    fn handle(&mut self, msg: PushPoll, _: &mut Context<Self>) {
        match msg.backends {
            Some(list) => {
                for b in list {
                    if let Some(e) = self.pollers.get(&specs::haproxy_id(&msg.group, &b)) {
                        e.addr.do_send(Poke);
                    }
                }
            }
            None => self
                .pollers
                .values()
                .filter(|e| {
                    *e.spec.meta.group == *msg.group && e.spec.meta.id.starts_with("haproxy/")
                })
                .for_each(|e| e.addr.do_send(Poke)),
        }
    }
}

impl Handler<ListInstances> for Fleet {
    type Result = MessageResult<ListInstances>;
    fn handle(&mut self, _: ListInstances, _: &mut Context<Self>) -> Self::Result {
        let snap = self.status.snapshot();
        let views = self.instances.board.list();
        let list = views
            .into_iter()
            .map(|v| {
                let group: Vec<&TargetState> = snap
                    .targets
                    .values()
                    .filter(|t| *t.group == *v.name && t.id.starts_with("haproxy/"))
                    .map(|t| t.as_ref())
                    .collect();
                self.instance_summary(v, &group)
            })
            .collect();
        MessageResult(list)
    }
}

impl Fleet {
    fn instance_summary(
        &self,
        mut view: InstanceView,
        targets: &[&TargetState],
    ) -> InstanceSummary {
        let mut polls = PollCounts::default();
        for e in self
            .pollers
            .values()
            .filter(|e| *e.spec.meta.group == *view.name)
        {
            polls.scheduled += e.shared.scheduled.load(Ordering::Relaxed);
            polls.push += e.shared.pushed.load(Ordering::Relaxed);
        }
        if view.source != SourceKind::Socket {
            // No `show info` here: the instance's fetch status is its backends' latest.
            if let Some(t) = targets.iter().max_by_key(|t| t.last_fetch_at.get()) {
                view.fetched_at = t.last_fetch_at.get();
                view.last_fetch_status = t.last_fetch_status;
                view.last_fetch_error = t.last_fetch_error.clone();
            }
        }
        InstanceSummary { view, polls }
    }
}

impl Handler<ValidateInstance> for Fleet {
    type Result = ResponseFuture<Result<ConfigValidation, AdminError>>;
    fn handle(&mut self, msg: ValidateInstance, _: &mut Context<Self>) -> Self::Result {
        let section = self
            .config
            .haproxy
            .iter()
            .find(|h| h.name == msg.0)
            .cloned();
        let status = self.status.clone();
        Box::pin(async move {
            let h = section
                .ok_or_else(|| AdminError::UnknownTarget(format!("haproxy instance {}", msg.0)))?;
            let action = h.validate.ok_or_else(|| {
                AdminError::Conflict(format!(
                    "haproxy {} has no validate command; set validate = {{ command = [\"haproxy\", \"-c\", \"-f\", \"/etc/haproxy/haproxy.cfg\"] }}",
                    h.name
                ))
            })?;
            Ok(validate::run_recorded(&h.name, &action, RecoveryTrigger::Admin, &status).await)
        })
    }
}
