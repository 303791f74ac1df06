//! From the validated config to one [`TargetSpec`] per target.

use std::sync::Arc;

use reqwest::Url;

use super::cycle::TargetSpec;
use crate::config::{
    Backends, Config, EurekaConfig, EurekaSourceKind, HaproxyConfig, HaproxySourceKind, Policy,
    RecoverAction,
};
use crate::model::{TargetKind, TargetMeta};
use crate::sources::client::{self, Endpoint, SourceSpec};
use crate::sources::eureka::delta::DeltaState;
use crate::sources::haproxy::registry::StatsRegistry;
use crate::sources::haproxy::socket::{RuntimeAddr, RuntimeApi};
use crate::sources::haproxy::stats::{StatsSource, Transport};
use crate::sources::{FetchError, FetchErrorKind};

/// The id of an HAProxy backend target.
pub fn haproxy_id(group: &str, backend: &str) -> String {
    format!("haproxy/{group}/{backend}")
}

/// The id of a Eureka server target.
pub fn eureka_id(server: &str) -> String {
    format!("eureka/{server}")
}

/// Every target with a fixed identity: named backends and Eureka servers. Backends
/// of `backends = "*"` sources come from discovery.
pub fn fixed_targets(config: &Config, stats: &StatsRegistry) -> Vec<Arc<TargetSpec>> {
    let mut out = Vec::new();
    for h in &config.haproxy {
        if let Backends::Named(names) = &h.backends {
            let targets = HaproxyTargets::new(h, stats);
            out.extend(names.iter().map(|b| Arc::new(targets.target(b))));
        }
    }
    out.extend(config.eureka.iter().map(|e| Arc::new(eureka_target(e))));
    out
}

fn endpoint(what: &str, name: &str, url: Option<&str>) -> Result<Endpoint, String> {
    match url.map(Url::parse) {
        Some(Ok(base)) => Ok(Endpoint::new(what, name, base)),
        _ => Err(format!("{what} {name} has no valid URL")),
    }
}

/// The agent endpoint of an HAProxy source.
pub fn agent_endpoint(h: &HaproxyConfig) -> Result<Endpoint, String> {
    endpoint("agent", &h.name, h.url.as_deref())
}

/// The shared reader of a `stats` or `socket` HAProxy source.
pub fn stats_source(h: &HaproxyConfig, stats: &StatsRegistry) -> Result<Arc<StatsSource>, String> {
    let transport = match h.source {
        HaproxySourceKind::Stats => Transport::Http {
            page: endpoint("haproxy", &h.name, h.url.as_deref())?,
            username: h.username.clone(),
            password: h.password.clone(),
        },
        HaproxySourceKind::Socket => {
            let socket = h
                .socket
                .as_deref()
                .ok_or_else(|| format!("haproxy {} has no socket", h.name))?;
            Transport::Runtime(RuntimeApi::new(&h.name, RuntimeAddr::parse(socket)))
        }
        HaproxySourceKind::Agent => {
            return Err(format!("haproxy {} is read through FAgent", h.name));
        }
    };
    Ok(stats.shared(transport))
}

/// The targets of the backends of one HAProxy source: what they share (the
/// policy, the commands, the reader of the instance) is built once and shared.
pub struct HaproxyTargets<'a> {
    h: &'a HaproxyConfig,
    /// The shared reader, the agent, or why the source cannot be polled.
    reach: Result<Reach, String>,
    group: TargetMeta,
    policy: Arc<Policy>,
    recover: Option<Arc<RecoverAction>>,
    validate: Option<Arc<RecoverAction>>,
}

enum Reach {
    Agent(Arc<Endpoint>),
    Stats(Arc<StatsSource>),
}

impl<'a> HaproxyTargets<'a> {
    /// The shared parts of the targets of `h`.
    pub fn new(h: &'a HaproxyConfig, stats: &StatsRegistry) -> HaproxyTargets<'a> {
        let reach = match h.source {
            HaproxySourceKind::Agent => agent_endpoint(h).map(|a| Reach::Agent(Arc::new(a))),
            HaproxySourceKind::Stats | HaproxySourceKind::Socket => {
                stats_source(h, stats).map(Reach::Stats)
            }
        };
        let group = TargetMeta {
            id: String::new(),
            kind: TargetKind::HaproxyBackend,
            group: h.name.as_str().into(),
            source: h.source.into(),
            backend_name: None,
            failure_threshold: h.policy.circuit.failure_threshold,
        };
        HaproxyTargets {
            h,
            reach,
            group,
            policy: Arc::new(h.policy.clone()),
            recover: h.recover.clone().map(Arc::new),
            validate: h.validate.clone().map(Arc::new),
        }
    }

    /// The target of `backend`.
    pub fn target(&self, backend: &str) -> TargetSpec {
        let backend_name = backend.to_string();
        let source = match &self.reach {
            Ok(Reach::Agent(agent)) => SourceSpec::HaproxyAgent {
                agent: agent.clone(),
                instance: self.h.agent_instance.clone(),
                backend: backend_name,
            },
            Ok(Reach::Stats(source)) => SourceSpec::HaproxyStats {
                source: source.clone(),
                backend: backend_name.into(),
            },
            Err(message) => SourceSpec::Invalid {
                message: message.clone(),
            },
        };
        TargetSpec {
            meta: TargetMeta {
                id: haproxy_id(&self.h.name, backend),
                backend_name: Some(backend.to_string()),
                ..self.group.clone()
            },
            source,
            policy: self.policy.clone(),
            recover: self.recover.clone(),
            validate: self.validate.clone(),
        }
    }
}

/// The target of one backend of an HAProxy source (one of many: build them with
/// [`HaproxyTargets`], which shares what they have in common).
pub fn haproxy_target(h: &HaproxyConfig, backend: &str, stats: &StatsRegistry) -> TargetSpec {
    HaproxyTargets::new(h, stats).target(backend)
}

/// The target of one `[[eureka]]` source.
pub fn eureka_target(e: &EurekaConfig) -> TargetSpec {
    let what = match e.source {
        EurekaSourceKind::Eureka => "eureka",
        EurekaSourceKind::Agent => "agent",
    };
    let source = match (endpoint(what, &e.name, Some(&e.url)), e.source) {
        (Err(message), _) => SourceSpec::Invalid { message },
        (Ok(server), EurekaSourceKind::Eureka) => SourceSpec::EurekaNative {
            server: Arc::new(server),
            username: e.username.clone(),
            password: e.password.clone(),
            state: Arc::new(DeltaState::new(e.delta)),
        },
        (Ok(agent), EurekaSourceKind::Agent) => SourceSpec::EurekaAgent {
            agent: Arc::new(agent),
        },
    };
    TargetSpec {
        meta: TargetMeta {
            id: eureka_id(&e.name),
            kind: TargetKind::EurekaServer,
            group: e.name.as_str().into(),
            source: e.source.into(),
            backend_name: None,
            failure_threshold: e.policy.circuit.failure_threshold,
        },
        source,
        policy: Arc::new(e.policy.clone()),
        recover: e.recover.clone().map(Arc::new),
        validate: None,
    }
}

/// The backends an HAProxy source has now (for `backends = "*"`).
pub async fn list_backends(
    h: &HaproxyConfig,
    http: &reqwest::Client,
    stats: &StatsRegistry,
) -> Result<Vec<String>, FetchError> {
    let timeout = h.policy.timeout;
    let invalid = |message: String| FetchError::new(FetchErrorKind::Invalid, message);
    match h.source {
        HaproxySourceKind::Agent => {
            let agent = agent_endpoint(h).map_err(invalid)?;
            client::agent_backends(http, &agent, &h.agent_instance, timeout).await
        }
        HaproxySourceKind::Stats | HaproxySourceKind::Socket => {
            stats_source(h, stats)
                .map_err(invalid)?
                .backends(http, timeout)
                .await
        }
    }
}
