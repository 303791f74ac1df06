//! Push detection: one Runtime API connection per instance following
//! `show events <ring> -w`. Each server state line asks the fleet to poll that
//! backend now (the state itself always comes from the stats table); the pollers
//! and the instance's shared reader coalesce a storm of lines into few reads.
//!
//! HAProxy closes an idle CLI connection after its `stats timeout` (10 s by
//! default): the subscription is then opened again at once, and the lines the
//! ring replays are skipped by their timestamp. When the ring says the process is
//! stopping (a reload), the subscription leaves it at once and follows the new
//! process: an old process waits for its CLI connections before it exits. A connection that cannot be made or
//! is refused marks the instance `push: disconnected` with the error, and is tried
//! again with a growing delay; polling goes on unchanged meanwhile. When the
//! subscription comes back after such a failure, every backend of the instance is
//! polled once, since changes in between were not seen.

use std::sync::Arc;
use std::time::Duration;

use actix::Recipient;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::instance::{InstanceBoard, PushState, runtime_api};
use crate::config::HaproxyConfig;
use crate::sources::haproxy::events::{self, RingLine};
use crate::sources::haproxy::runtime;
use crate::sources::haproxy::socket::RuntimeApi;
use crate::sources::{FetchError, FetchErrorKind};

/// Asks the fleet to poll backends of an instance now (`None`: all of them).
#[derive(actix::Message, Debug)]
#[rtype(result = "()")]
pub struct PushPoll {
    pub group: String,
    pub backends: Option<Vec<String>>,
}

/// A connection that ends sooner than this after it was opened counts as failed.
const SHORTEST_HEALTHY: Duration = Duration::from_secs(1);

/// How one subscription ended.
enum End {
    /// Ended after working for a while (HAProxy's idle timeout, a reload).
    Closed,
    Failed(FetchError),
}

/// Follows the ring of `h` until aborted.
pub async fn follow(h: Arc<HaproxyConfig>, board: Arc<InstanceBoard>, fleet: Recipient<PushPoll>) {
    let (Some(api), Some(ring)) = (runtime_api(&h), h.push_ring().map(str::to_string)) else {
        return;
    };
    let first_delay = h.policy.retry.initial.max(Duration::from_millis(50));
    let max_delay = h.policy.circuit.open_max.max(first_delay);
    let mut delay = first_delay;
    let mut seen: Option<String> = None;
    let mut missed = true;
    // Warned of the current outage already (one warning per outage).
    let mut warned = false;
    loop {
        let sub = Subscription {
            h: &h,
            board: &board,
            fleet: &fleet,
            api: &api,
        };
        match sub.run(&ring, &mut seen, &mut missed).await {
            End::Closed => {
                delay = first_delay;
                warned = false;
            }
            End::Failed(e) => {
                if warned && missed {
                    tracing::debug!(instance = h.name, error = %e.message, "event ring subscription still down");
                } else {
                    tracing::warn!(instance = h.name, error = %e.message, "event ring subscription lost; polling goes on");
                }
                board.update(&h.name, |v| {
                    v.push = PushState::Disconnected;
                    v.push_error = Some(e.message.clone());
                });
                missed = true;
                warned = true;
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(max_delay);
            }
        }
    }
}

struct Subscription<'a> {
    h: &'a HaproxyConfig,
    board: &'a InstanceBoard,
    fleet: &'a Recipient<PushPoll>,
    api: &'a RuntimeApi,
}

impl Subscription<'_> {
    async fn run(&self, ring: &str, seen: &mut Option<String>, missed: &mut bool) -> End {
        let cmd = format!("show events {ring} -w");
        let stream = match self.api.open(&cmd, self.h.policy.timeout).await {
            Ok(s) => s,
            Err(e) => return End::Failed(e),
        };
        let opened = tokio::time::Instant::now();
        let mut lines = BufReader::new(stream).lines();
        // An error answer comes at once; a subscription that is quiet is working.
        match tokio::time::timeout(self.h.policy.timeout, lines.next_line()).await {
            Err(_) => self.connected(missed),
            Ok(Ok(Some(line))) => {
                if let Some(err) = runtime::error_line(format!("{line}\n").as_bytes()) {
                    let msg =
                        format!("answered \"{err}\" to `{cmd}` (is the ring `{ring}` configured?)");
                    return End::Failed(self.error(msg));
                }
                self.connected(missed);
                if self.line(&line, seen) {
                    return End::Closed;
                }
            }
            Ok(Ok(None)) => {
                return End::Failed(self.error("closed the event subscription at once".into()));
            }
            Ok(Err(e)) => return End::Failed(self.error(format!("event subscription: {e}"))),
        }
        loop {
            match lines.next_line().await {
                Ok(Some(line)) if self.line(&line, seen) => return End::Closed,
                Ok(Some(_)) => {}
                Ok(None) if opened.elapsed() >= SHORTEST_HEALTHY => return End::Closed,
                Ok(None) => {
                    return End::Failed(self.error("closed the event subscription at once".into()));
                }
                Err(e) => return End::Failed(self.error(format!("event subscription: {e}"))),
            }
        }
    }

    fn connected(&self, missed: &mut bool) {
        self.board.update(&self.h.name, |v| {
            v.push = PushState::Connected;
            v.push_error = None;
        });
        if std::mem::take(missed) {
            tracing::info!(instance = self.h.name, "event ring subscription connected");
            self.fleet.do_send(PushPoll {
                group: self.h.name.clone(),
                backends: None,
            });
        }
    }

    /// Handles one line; whether the process is stopping (leave it: a process
    /// that is reloaded waits for its CLI connections before it exits).
    fn line(&self, line: &str, seen: &mut Option<String>) -> bool {
        let Some(read) = events::read(line) else {
            return false;
        };
        let stamp = match &read {
            RingLine::Server(l) => l.stamp,
            RingLine::Stopping { stamp } => *stamp,
        };
        if !events::is_new(stamp, seen.as_deref()) {
            return false;
        }
        if let Some(s) = stamp {
            *seen = Some(s.to_string());
        }
        let RingLine::Server(l) = read else {
            tracing::info!(
                instance = self.h.name,
                "HAProxy is stopping; following the new process"
            );
            return true;
        };
        self.board.update(&self.h.name, |v| v.push_lines += 1);
        self.fleet.do_send(PushPoll {
            group: self.h.name.clone(),
            backends: Some(vec![l.backend.to_string()]),
        });
        false
    }

    fn error(&self, what: String) -> FetchError {
        FetchError::new(
            FetchErrorKind::Transport,
            format!("{} {what}", self.api.label),
        )
    }
}
