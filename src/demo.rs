//! `watchpost demo`: the simulated sources of [`crate::sim::demo`], a configuration
//! that polls them every 2 s, and the daemon itself, all in one process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{
    Backends, CircuitConfig, Config, EurekaConfig, EurekaSourceKind, HaproxyConfig,
    HaproxySourceKind, Policy, RetryConfig, Secret,
};
use crate::sim::demo::DemoSources;

/// The admin token of the demo.
pub const DEMO_TOKEN: &str = "demo";

/// The polling policy of the demo: fast enough to see every state within a minute.
pub fn demo_policy() -> Policy {
    Policy {
        interval: Duration::from_secs(2),
        timeout: Duration::from_millis(1000),
        retry: RetryConfig {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(400),
            multiplier: 2.0,
            max_elapsed: Duration::from_millis(800),
        },
        circuit: CircuitConfig {
            failure_threshold: 3,
            open_base: Duration::from_secs(5),
            open_max: Duration::from_secs(20),
        },
        auto_recover: false,
        limits: crate::config::Limits::default(),
    }
}

/// The demo's configuration, pointing at the simulated sources.
pub fn demo_config(sources: &DemoSources, listen: SocketAddr, storage: PathBuf) -> Config {
    let mut config = Config::new_in_memory(listen, storage);
    config.server.admin_token = Some(Secret::new(DEMO_TOKEN));
    config.haproxy.push(HaproxyConfig {
        name: "fdmz01".into(),
        source: HaproxySourceKind::Agent,
        url: Some(sources.agent.url()),
        agent_instance: None,
        username: None,
        password: None,
        socket: None,
        backends: Backends::All,
        policy: demo_policy(),
        recover: None,
        events_ring: None,
        validate: None,
    });
    let eureka = |name: &str, source, url: String| EurekaConfig {
        name: name.into(),
        source,
        url,
        delta: false,
        username: None,
        password: None,
        policy: demo_policy(),
        recover: None,
    };
    config.eureka.push(eureka(
        "main",
        EurekaSourceKind::Eureka,
        sources.eureka.url(),
    ));
    config.eureka.push(eureka(
        "fdmz01",
        EurekaSourceKind::Agent,
        sources.agent.url(),
    ));
    config
}

/// Where the demo keeps its state: a fresh file under the system temp directory.
pub fn demo_storage() -> PathBuf {
    std::env::temp_dir()
        .join(format!("watchpost-demo-{}", std::process::id()))
        .join("demo.redb")
}
