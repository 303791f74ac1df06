//! The running notifiers: one task per `[[notify]]`, started with the daemon and
//! changed by a reload. A removed notifier's task stops; an added one starts (from
//! its stored cursor when the state file knows its name, else at the end of the
//! log); a changed one stops and starts again with its new settings from its
//! stored cursor, so what it had not delivered yet goes out with the new settings.
//! Unchanged notifiers keep running untouched. The list is what `GET /api/notifiers`
//! and `/metrics` show.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use actix::ArbiterHandle;
use tokio::sync::oneshot;

use super::dashboard_url;
use super::send::Sender;
use super::status::{NotifierStatus, NotifierView};
use super::task::Task;
use crate::actors::status::StatusHandle;
use crate::config::NotifyConfig;
use crate::model::Ts;

/// What the tasks need besides their configuration.
struct Context {
    status: StatusHandle,
    listen: SocketAddr,
    /// Where the tasks run (the daemon's main arbiter), whichever thread asks
    /// for a reload.
    arbiter: ArbiterHandle,
}

/// One notifier and its task.
struct Running {
    config: NotifyConfig,
    me: Arc<NotifierStatus>,
    /// `None` when it could not start (a reload tries again).
    task: Option<Stopper>,
}

/// Stops a task and waits until it has stopped.
struct Stopper {
    stop: oneshot::Sender<()>,
    done: oneshot::Receiver<()>,
}

impl Stopper {
    async fn stop(self) {
        // The task drops its end of `done` when it ends, or never started.
        let _ = self.stop.send(());
        let _ = self.done.await;
    }
}

/// What a reload changed, by notifier name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotifyChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    /// Not started before (their settings, their stored cursor) and tried again.
    pub retried: Vec<String>,
}

/// Every configured notifier, running or not.
#[derive(Default)]
pub struct Registry {
    context: OnceLock<Context>,
    /// Views for the HTTP API, in configuration order.
    list: Mutex<Vec<Arc<NotifierStatus>>>,
    /// The tasks; one change at a time.
    running: tokio::sync::Mutex<Vec<Running>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

impl Registry {
    /// The rows of `GET /api/notifiers`.
    pub fn views(&self) -> Vec<NotifierView> {
        let list = self.list.lock().unwrap_or_else(|p| p.into_inner()).clone();
        list.iter().map(|s| s.view()).collect()
    }

    /// Starts one task per notifier on the current arbiter (which later ones use
    /// too). A notifier that cannot start is logged and shown as failing.
    pub async fn start(&self, notify: &[NotifyConfig], status: &StatusHandle, listen: SocketAddr) {
        let context = Context {
            status: status.clone(),
            listen,
            arbiter: actix::Arbiter::current(),
        };
        if self.context.set(context).is_err() {
            tracing::error!("notifiers started twice; the second start is ignored");
            return;
        }
        self.apply(notify).await;
    }

    /// Brings the running notifiers in line with `notify` (see the module doc).
    pub async fn apply(&self, notify: &[NotifyConfig]) -> NotifyChanges {
        let Some(context) = self.context.get() else {
            return NotifyChanges::default();
        };
        let mut running = self.running.lock().await;
        let mut old: BTreeMap<String, Running> = running
            .drain(..)
            .map(|r| (r.config.name.clone(), r))
            .collect();
        let mut changes = NotifyChanges::default();
        let mut next = Vec::new();
        for n in notify {
            let me = match old.remove(&n.name) {
                Some(r) if r.config == *n && r.task.is_some() => {
                    next.push(r);
                    continue;
                }
                Some(r) => {
                    let list = match r.task {
                        Some(_) => &mut changes.changed,
                        None => &mut changes.retried,
                    };
                    list.push(n.name.clone());
                    reuse(r, n).await
                }
                None => {
                    changes.added.push(n.name.clone());
                    NotifierStatus::new(&n.name, n.kind.as_str())
                }
            };
            next.push(launch(context, n, me));
        }
        for (name, r) in old {
            if let Some(task) = r.task {
                task.stop().await;
            }
            tracing::info!(notifier = %name, "notifier removed");
            changes.removed.push(name);
        }
        *self.list.lock().unwrap_or_else(|p| p.into_inner()) =
            next.iter().map(|r| r.me.clone()).collect();
        *running = next;
        changes
    }
}

/// Stops `r`'s task; its status carries on (counters stay monotonic) unless the
/// kind changed.
async fn reuse(r: Running, n: &NotifyConfig) -> Arc<NotifierStatus> {
    if let Some(task) = r.task {
        task.stop().await;
    }
    if r.me.kind == n.kind.as_str() {
        r.me.restarted();
        r.me
    } else {
        NotifierStatus::new(&n.name, n.kind.as_str())
    }
}

/// Builds the task of `n` here and runs it on the context's arbiter.
fn launch(context: &Context, n: &NotifyConfig, me: Arc<NotifierStatus>) -> Running {
    let built = Sender::new(n, dashboard_url(context.listen, n))
        .and_then(|sender| Task::new(n.clone(), sender, context.status.clone(), me.clone()));
    let task = match built {
        Ok(task) => task,
        Err(e) => {
            tracing::error!(notifier = %n.name, error = %e, "notifier not started");
            me.failed(Ts::now(), &e);
            return Running {
                config: n.clone(),
                me,
                task: None,
            };
        }
    };
    let (stop, stop_rx) = oneshot::channel();
    let (done_tx, done) = oneshot::channel::<()>();
    context.arbiter.spawn_fn(move || {
        actix_web::rt::spawn(async move {
            let _done = done_tx;
            task.run(stop_rx).await;
        });
    });
    Running {
        config: n.clone(),
        me,
        task: Some(Stopper { stop, done }),
    }
}
