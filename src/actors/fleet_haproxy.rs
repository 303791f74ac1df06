//! The fleet's part for HAProxy instances: it starts and stops each section's
//! `show info` reader and event ring subscription (on start and reload), turns ring
//! lines into pokes of the named backends' pollers, lists the instances, and runs
//! `validate` on request.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use actix::prelude::*;
use serde_json::{Value, json};

use super::cycle::TargetSpec;
use super::fleet::{AdminError, Fleet};
use super::instance::{self, InstanceBoard, InstanceView};
use super::poller::{Poke, Poller};
use super::push::{self, PushPoll};
use super::specs;
use super::status::StatusHandle;
use super::validate;
use crate::config::{HaproxyConfig, HaproxySourceKind};
use crate::model::{ConfigValidation, RecoveryTrigger, TargetState};

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
#[rtype(result = "Vec<Value>")]
pub struct ListInstances;

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
                    e.spec.meta.group == msg.group && e.spec.meta.id.starts_with("haproxy/")
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
                    .filter(|t| t.group == v.name && t.id.starts_with("haproxy/"))
                    .map(|t| t.as_ref())
                    .collect();
                self.instance_json(v, &group)
            })
            .collect();
        MessageResult(list)
    }
}

impl Fleet {
    fn instance_json(&self, v: InstanceView, targets: &[&TargetState]) -> Value {
        let (mut scheduled, mut pushed) = (0, 0);
        for e in self
            .pollers
            .values()
            .filter(|e| e.spec.meta.group == v.name)
        {
            scheduled += e.shared.scheduled.load(Ordering::Relaxed);
            pushed += e.shared.pushed.load(Ordering::Relaxed);
        }
        let mut out = json!({
            "name": v.name, "source": v.source, "push": v.push, "push_error": v.push_error,
            "push_lines": v.push_lines,
            "fetched_at": v.fetched_at, "last_fetch_status": v.last_fetch_status,
            "last_fetch_error": v.last_fetch_error, "circuit_state": v.circuit_state,
            "info": v.info, "polls": {"scheduled": scheduled, "push": pushed},
        });
        if v.source != HaproxySourceKind::Socket.as_str() {
            // No `show info` here: the instance's fetch status is its backends' latest.
            if let Some(t) = targets.iter().max_by_key(|t| t.last_fetch_at) {
                out["fetched_at"] = json!(t.last_fetch_at);
                out["last_fetch_status"] = json!(t.last_fetch_status);
                out["last_fetch_error"] = json!(t.last_fetch_error);
            }
        }
        out
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
