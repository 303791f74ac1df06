//! HAProxy instances: one task per `[[haproxy]]` section that reads `show info`
//! (socket sources) with the section's interval, retries and breaker, raises
//! `haproxy_restarted` when the process changes, and keeps what it read on the
//! [`InstanceBoard`] beside the push subscription's state (`push.rs`). The stats
//! page and FAgent do not serve `show info`: their instances show `info: null`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::Rng;
use serde::Serialize;

use super::status::StatusHandle;
use crate::breaker::Breaker;
use crate::config::{HaproxyConfig, HaproxySourceKind};
use crate::model::{
    CircuitState, EventData, FetchStatus, HaproxyRestart, Observation, ObservationKind, SourceKind,
    Ts,
};
use crate::retry::{self, RetryPolicy};
use crate::sources::haproxy::info::{self, InstanceInfo};
use crate::sources::haproxy::socket::{RuntimeAddr, RuntimeApi};
use crate::sources::{FetchError, FetchErrorKind};

/// Whether the push subscription of an instance is up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PushState {
    Connected,
    Disconnected,
    /// No `events_ring`, or a source that cannot follow one.
    Off,
}

/// What is known of one HAProxy instance.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = HaproxyInstanceView)]
pub struct InstanceView {
    pub name: String,
    pub source: SourceKind,
    pub push: PushState,
    pub push_error: Option<String>,
    /// Ring lines that asked for a poll, since the daemon started.
    pub push_lines: u64,
    pub fetched_at: Option<Ts>,
    pub last_fetch_status: FetchStatus,
    pub last_fetch_error: Option<String>,
    pub circuit_state: CircuitState,
    pub info: Option<InstanceInfo>,
}

impl InstanceView {
    fn new(h: &HaproxyConfig) -> InstanceView {
        let push = match h.push_ring() {
            Some(_) => PushState::Disconnected,
            None => PushState::Off,
        };
        InstanceView {
            name: h.name.clone(),
            source: h.source.into(),
            push,
            push_error: None,
            push_lines: 0,
            fetched_at: None,
            last_fetch_status: FetchStatus::Unknown,
            last_fetch_error: None,
            circuit_state: CircuitState::Closed,
            info: None,
        }
    }
}

/// The instances, by name; written by their tasks, read by the HTTP API.
#[derive(Debug, Default)]
pub struct InstanceBoard {
    views: Mutex<BTreeMap<String, InstanceView>>,
}

impl InstanceBoard {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, InstanceView>> {
        self.views.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every instance, by name.
    pub fn list(&self) -> Vec<InstanceView> {
        self.lock().values().cloned().collect()
    }

    /// Changes the view of `name`, if it is still configured.
    pub fn update(&self, name: &str, f: impl FnOnce(&mut InstanceView)) {
        if let Some(v) = self.lock().get_mut(name) {
            f(v);
        }
    }

    /// Makes the board list exactly these sections; kept views keep what was read.
    pub fn configure(&self, sections: &[HaproxyConfig]) {
        let mut views = self.lock();
        views.retain(|name, _| sections.iter().any(|h| &h.name == name));
        for h in sections {
            let fresh = InstanceView::new(h);
            let v = views.entry(h.name.clone()).or_insert_with(|| fresh.clone());
            v.source = fresh.source;
            if fresh.push == PushState::Off {
                v.push = PushState::Off;
                v.push_error = None;
            } else if v.push == PushState::Off {
                v.push = PushState::Disconnected;
            }
        }
    }
}

/// The id under which instance-level events are recorded.
pub fn instance_id(name: &str) -> String {
    format!("haproxy/{name}")
}

/// The Runtime API of a socket section.
pub fn runtime_api(h: &HaproxyConfig) -> Option<RuntimeApi> {
    match (h.source, h.socket.as_deref()) {
        (HaproxySourceKind::Socket, Some(s)) => {
            Some(RuntimeApi::new(&h.name, RuntimeAddr::parse(s)))
        }
        _ => None,
    }
}

/// Reads `show info` of a socket section every interval until aborted.
pub async fn watch_info(h: Arc<HaproxyConfig>, board: Arc<InstanceBoard>, status: StatusHandle) {
    let Some(api) = runtime_api(&h) else {
        return;
    };
    let breaker = Breaker::new(&h.policy.circuit);
    let policy = RetryPolicy {
        retry: h.policy.retry.clone(),
        timeout: h.policy.timeout,
        interval: h.policy.interval,
    };
    let mut last: Option<InstanceInfo> = None;
    loop {
        if breaker.permit() {
            let result = retry::run(&policy, || read_info(&api, policy.timeout)).await;
            match &result {
                Ok(_) => breaker.success(),
                Err(_) => breaker.failure(),
            }
            record(
                &h.name,
                &board,
                &status,
                &mut last,
                result,
                breaker.state().0,
            )
            .await;
        }
        let jitter = rand::thread_rng().gen_range(0.9..=1.1);
        let delay = breaker
            .wait_left(Ts::now())
            .map(|d| d + Duration::from_millis(5))
            .unwrap_or_else(|| h.policy.interval.mul_f64(jitter));
        tokio::time::sleep(delay).await;
    }
}

async fn read_info(api: &RuntimeApi, timeout: Duration) -> Result<InstanceInfo, FetchError> {
    let answer = api.command("show info", timeout).await?;
    info::parse(&String::from_utf8_lossy(&answer)).map_err(|e| {
        FetchError::new(
            FetchErrorKind::Protocol,
            format!("{} sent an unreadable `show info`: {e}", api.label),
        )
    })
}

async fn record(
    name: &str,
    board: &InstanceBoard,
    status: &StatusHandle,
    last: &mut Option<InstanceInfo>,
    result: Result<InstanceInfo, FetchError>,
    circuit: CircuitState,
) {
    let now = Ts::now();
    let restart = match (&result, last.as_ref()) {
        (Ok(new), Some(old)) => restart_event(name, old, new, now),
        _ => None,
    };
    board.update(name, |v| {
        v.fetched_at = Some(now);
        v.circuit_state = circuit;
        match &result {
            Ok(i) => {
                v.last_fetch_status = FetchStatus::Success;
                v.last_fetch_error = None;
                v.info = Some(i.clone());
            }
            Err(e) => {
                v.last_fetch_status = FetchStatus::Failed;
                v.last_fetch_error = Some(e.message.clone());
            }
        }
    });
    if let Ok(i) = result {
        *last = Some(i);
    }
    if let Some(obs) = restart
        && let Err(e) = status.observe(vec![obs]).await
    {
        tracing::warn!(instance = name, error = %e, "haproxy_restarted not recorded");
    }
}

/// The `haproxy_restarted` observation when `new` is another process than `old`.
fn restart_event(
    name: &str,
    old: &InstanceInfo,
    new: &InstanceInfo,
    at: Ts,
) -> Option<Observation> {
    if !info::restarted(old, new) {
        return None;
    }
    let data = HaproxyRestart {
        pid: new.pid,
        previous_pid: old.pid,
        previous_uptime_s: old.uptime_s,
        uptime_s: new.uptime_s,
        version: new.version.clone(),
    };
    Some(Observation {
        target: instance_id(name),
        at,
        kind: ObservationKind::Instance(Box::new(EventData::HaproxyRestarted(data))),
    })
}
